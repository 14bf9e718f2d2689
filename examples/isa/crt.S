/* Minimal runtime for the rewind ISA tests: entry, stack, trap vectors. */
#define MAGIC_TO_M 0x4d4d
#define REGBYTES 8
#define FRAME (36 * REGBYTES)

    .section .text.init, "ax"
    .globl _start
_start:
    .option push
    .option norelax
    .option norvc
    la gp, __global_pointer$
    .option pop
    la sp, __stack_top
    /* clear bss */
    la t0, __bss_start
    la t1, __bss_end
1:  bgeu t0, t1, 2f
    sd zero, 0(t0)
    addi t0, t0, 8
    j 1b
2:  la t0, mtrap_entry
    csrw mtvec, t0
    csrw mie, zero
    csrw medeleg, zero
    csrw mideleg, zero
    csrw mscratch, zero
    /* PMP: allow S/U access to everything (a NAPOT entry covering the
     * whole address space).  PMP CSRs may be absent: skip if they trap. */
    la t0, 4f
    csrw mtvec, t0
    li t0, -1
    csrw pmpaddr0, t0
    li t0, 0x1f
    csrw pmpcfg0, t0
    j 5f
    .balign 4
4:  csrr t0, mepc
    addi t0, t0, 4
    csrw mepc, t0
    mret
5:  la t0, mtrap_entry
    csrw mtvec, t0
    /* enable the FPU so that C code may use FP registers (fp test relies on it) */
    li t0, (1 << 13)
    csrs mstatus, t0
    csrw fcsr, zero
    call main
    call finish
3:  j 3b

/* Trap frame layout (struct trapframe in common.h):
 *   x[0..31] (x0 slot unused), epc, cause, tval, status */
.macro SAVE_REGS
    addi sp, sp, -FRAME
    sd x1, 1*8(sp)
    sd x3, 3*8(sp)
    sd x4, 4*8(sp)
    sd x5, 5*8(sp)
    sd x6, 6*8(sp)
    sd x7, 7*8(sp)
    sd x8, 8*8(sp)
    sd x9, 9*8(sp)
    sd x10, 10*8(sp)
    sd x11, 11*8(sp)
    sd x12, 12*8(sp)
    sd x13, 13*8(sp)
    sd x14, 14*8(sp)
    sd x15, 15*8(sp)
    sd x16, 16*8(sp)
    sd x17, 17*8(sp)
    sd x18, 18*8(sp)
    sd x19, 19*8(sp)
    sd x20, 20*8(sp)
    sd x21, 21*8(sp)
    sd x22, 22*8(sp)
    sd x23, 23*8(sp)
    sd x24, 24*8(sp)
    sd x25, 25*8(sp)
    sd x26, 26*8(sp)
    sd x27, 27*8(sp)
    sd x28, 28*8(sp)
    sd x29, 29*8(sp)
    sd x30, 30*8(sp)
    sd x31, 31*8(sp)
    addi t0, sp, FRAME
    sd t0, 2*8(sp)
.endm

.macro RESTORE_REGS
    ld x1, 1*8(sp)
    ld x3, 3*8(sp)
    ld x4, 4*8(sp)
    ld x5, 5*8(sp)
    ld x6, 6*8(sp)
    ld x7, 7*8(sp)
    ld x8, 8*8(sp)
    ld x9, 9*8(sp)
    ld x10, 10*8(sp)
    ld x11, 11*8(sp)
    ld x12, 12*8(sp)
    ld x13, 13*8(sp)
    ld x14, 14*8(sp)
    ld x15, 15*8(sp)
    ld x16, 16*8(sp)
    ld x17, 17*8(sp)
    ld x18, 18*8(sp)
    ld x19, 19*8(sp)
    ld x20, 20*8(sp)
    ld x21, 21*8(sp)
    ld x22, 22*8(sp)
    ld x23, 23*8(sp)
    ld x24, 24*8(sp)
    ld x25, 25*8(sp)
    ld x26, 26*8(sp)
    ld x27, 27*8(sp)
    ld x28, 28*8(sp)
    ld x29, 29*8(sp)
    ld x30, 30*8(sp)
    ld x31, 31*8(sp)
    ld x2, 2*8(sp)
.endm

/* Machine-mode trap vector (direct mode; 4-byte aligned, also usable as
 * vector base: every vector entry jumps here in the vectored test). */
    .text
    .balign 256
    .globl mtrap_entry
mtrap_entry:
    SAVE_REGS
    csrr t0, mepc
    sd t0, 32*8(sp)
    csrr t0, mcause
    sd t0, 33*8(sp)
    csrr t0, mtval
    sd t0, 34*8(sp)
    csrr t0, mstatus
    sd t0, 35*8(sp)
    mv a0, sp
    call m_trap_dispatch
    ld t0, 32*8(sp)
    csrw mepc, t0
    ld t0, 35*8(sp)
    csrw mstatus, t0
    RESTORE_REGS
    mret

    .balign 256
    .globl strap_entry
strap_entry:
    SAVE_REGS
    csrr t0, sepc
    sd t0, 32*8(sp)
    csrr t0, scause
    sd t0, 33*8(sp)
    csrr t0, stval
    sd t0, 34*8(sp)
    csrr t0, sstatus
    sd t0, 35*8(sp)
    mv a0, sp
    call s_trap_dispatch
    ld t0, 32*8(sp)
    csrw sepc, t0
    ld t0, 35*8(sp)
    csrw sstatus, t0
    RESTORE_REGS
    sret

/* void enter_mode(int mode): return to the caller in privilege mode
 * `mode` (0 = U, 1 = S, 3 = M) via mret.  Must be called from M-mode. */
    .globl enter_mode
enter_mode:
    li t0, (3 << 11) | (1 << 7)     /* MPP and MPIE: M interrupts stay off */
    csrc mstatus, t0
    andi a0, a0, 3
    slli t1, a0, 11
    csrs mstatus, t1
    csrw mepc, ra
    mret

/* void enter_mmode(void): from S or U mode, ecall back into M-mode; the
 * default machine trap handler recognises a7 == MAGIC_TO_M. */
    .globl enter_mmode
enter_mmode:
    li a7, MAGIC_TO_M
    ecall
    ret

/* void enter_smode_from_u(void): from U, ecall (delegated to S) with
 * a7 == MAGIC_TO_S; the default S handler returns to S-mode. */
    .globl enter_smode_from_u
enter_smode_from_u:
    li a7, 0x5353
    ecall
    ret
