/* Traps and interrupts: synchronous exceptions in M, U and S (with
 * delegation), CLINT timer and software interrupts, supervisor software
 * interrupt via mideleg, wfi wake-up, vectored mtvec. */
#include "common.h"

/* address of the trapping instruction `insn` (after the optional `pre`) */
#define TRAP_AT(pre, insn) ({ u64 __pc; asm volatile( \
    ".option push\n.option norvc\n" pre "\nlla %0, 1f\n1: " insn "\n.option pop" \
    : "=&r"(__pc) :: "a7", "t0", "memory"); __pc; })

static void sync_cases(void) {
    u64 pc;
    /* ecall from M */
    trap_arm();
    pc = TRAP_AT("li a7, 0", "ecall");
    trap_disarm();
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(trap_cause, CAUSE_ECALL_M);
    CHECK_EQ(trap_epc, pc);
    CHECK_EQ(trap_level, 3);
    CHECK_EQ(csr_read(mcause), CAUSE_ECALL_M);
    CHECK_EQ(csr_read(mepc), pc + 4); /* written back by the handler */
    /* mret set MPP to the least-privileged mode (U) */
    CHECK_EQ((csr_read(mstatus) >> 11) & 3, 0);

    /* illegal instructions: mtval holds the instruction bits */
    trap_arm();
    pc = TRAP_AT("", "unimp"); /* csrrw x0, cycle, x0: write to read-only CSR */
    trap_disarm();
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(trap_cause, CAUSE_ILLEGAL);
    CHECK_EQ(trap_epc, pc);
    CHECK_EQ(trap_tval, 0xc0001073);
    trap_arm();
    pc = TRAP_AT("", "csrw mvendorid, t0"); /* read-only CSR */
    trap_disarm();
    CHECK_EQ(trap_cause, CAUSE_ILLEGAL);
    CHECK_EQ(trap_tval, 0xf1129073);
    trap_arm();
    pc = TRAP_AT("", ".word 0x0000007b"); /* reserved major opcode (custom-3 region, unused) */
    trap_disarm();
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(trap_cause, CAUSE_ILLEGAL);
    CHECK_EQ(trap_epc, pc);
    CHECK_EQ(trap_tval, 0x0000007b);
    trap_arm();
    pc = TRAP_AT("", ".hword 0x0000"); /* 16-bit all-zero: defined illegal */
    trap_disarm();
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(trap_cause, CAUSE_ILLEGAL);
    CHECK_EQ(trap_epc, pc);
    CHECK_EQ(trap_tval, 0);
    trap_arm();
    pc = TRAP_AT("", "csrr t0, 0x7ff"); /* nonexistent CSR (custom M r/w range is 0x7c0-0x7ff; 0x7ff unused) */
    trap_disarm();
    CHECK_EQ(trap_cause, CAUSE_ILLEGAL);
    CHECK_EQ(trap_tval, 0x7ff022f3);

    /* ebreak and c.ebreak */
    trap_arm();
    pc = TRAP_AT("", "ebreak");
    trap_disarm();
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(trap_cause, CAUSE_BREAKPOINT);
    CHECK_EQ(trap_epc, pc);
    trap_arm();
    asm volatile(".option push\n.option rvc\nlla %0, 1f\n1: c.ebreak\n.option pop" : "=&r"(pc) :: "memory");
    trap_disarm();
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(trap_cause, CAUSE_BREAKPOINT);
    CHECK_EQ(trap_epc, pc);

    /* access faults on unmapped physical addresses */
    trap_arm();
    pc = TRAP_AT("li t0, 0", "lb t0, 0(t0)");
    trap_disarm();
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(trap_cause, CAUSE_LOAD_ACCESS);
    CHECK_EQ(trap_epc, pc);
    CHECK_EQ(trap_tval, 0);
    trap_arm();
    pc = TRAP_AT("li t0, 8", "ld t0, 0(t0)");
    trap_disarm();
    CHECK_EQ(trap_cause, CAUSE_LOAD_ACCESS);
    CHECK_EQ(trap_tval, 8);
    trap_arm();
    pc = TRAP_AT("li t0, 0", "sw t0, 4(t0)");
    trap_disarm();
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(trap_cause, CAUSE_STORE_ACCESS);
    CHECK_EQ(trap_epc, pc);
    CHECK_EQ(trap_tval, 4);
    trap_arm();
    pc = TRAP_AT("li t0, 0x90000000", "sd t0, 0(t0)"); /* above 128 MiB RAM */
    trap_disarm();
    CHECK_EQ(trap_cause, CAUSE_STORE_ACCESS);
    CHECK_EQ(trap_tval, 0x90000000UL);
}

static void fetch_cases(void) {
    m_trap_hook = fetch_fault_returns;
    trap_arm();
    asm volatile("li t0, 0\njalr ra, 0(t0)" ::: "t0", "ra", "memory");
    trap_disarm();
    m_trap_hook = 0;
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(trap_cause, CAUSE_FETCH_ACCESS);
    CHECK_EQ(trap_epc, 0);
    CHECK_EQ(trap_tval, 0);
}

static void user_cases(void) {
    u64 pc;
    /* mret to U, ecall from U (cause 8), back to M */
    enter_mode(PRV_U);
    trap_arm();
    pc = TRAP_AT("li a7, 0", "ecall");
    trap_disarm();
    enter_mmode();
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(trap_cause, CAUSE_ECALL_U);
    CHECK_EQ(trap_epc, pc);
    CHECK_EQ(trap_level, 3);
    CHECK_EQ(csr_read(mcause), CAUSE_ECALL_U); /* the ecall back to M was also from U */

    /* in U: M CSRs, mret, sret, S CSRs are illegal */
    enter_mode(PRV_U);
    trap_arm();
    TRAP_AT("", "csrr t0, mstatus");
    TRAP_AT("", "csrr t0, sstatus");
    TRAP_AT("", "mret");
    TRAP_AT("", "sret");
    trap_disarm();
    enter_mmode();
    CHECK_EQ(trap_count, 4);
    CHECK_EQ(trap_cause, CAUSE_ILLEGAL);

    /* ecall from S: cause 9; S cannot read M CSRs or execute mret */
    enter_mode(PRV_S);
    trap_arm();
    pc = TRAP_AT("li a7, 0", "ecall");
    trap_disarm();
    enter_mmode();
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(trap_cause, CAUSE_ECALL_S);
    CHECK_EQ(trap_epc, pc);
    enter_mode(PRV_S);
    trap_arm();
    pc = TRAP_AT("", "csrr t0, mstatus");
    trap_disarm();
    enter_mmode();
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(trap_cause, CAUSE_ILLEGAL);
    CHECK_EQ(trap_epc, pc);
    enter_mode(PRV_S);
    trap_arm();
    pc = TRAP_AT("", "mret");
    trap_disarm();
    enter_mmode();
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(trap_cause, CAUSE_ILLEGAL);

    /* delegation: ecall from U handled by S through stvec */
    csr_write(stvec, (u64)strap_entry);
    csr_write(medeleg, 1UL << CAUSE_ECALL_U);
    CHECK_EQ(csr_read(medeleg), 1UL << CAUSE_ECALL_U);
    csr_write(mcause, 0);
    enter_mode(PRV_U);
    trap_arm();
    pc = TRAP_AT("li a7, 0", "ecall");
    trap_disarm();
    enter_smode_from_u(); /* delegated ecall: returns in S */
    {
        u64 scause = csr_read(scause), sepc = csr_read(sepc);
        u64 sstatus = csr_read(sstatus);
        enter_mmode();
        CHECK_EQ(trap_count, 1);
        CHECK_EQ(trap_cause, CAUSE_ECALL_U);
        CHECK_EQ(trap_level, 1);
        CHECK_EQ(trap_epc, pc);
        CHECK_EQ(scause, CAUSE_ECALL_U); /* the mode-switch ecall */
        CHECK_EQ(sepc & 0xffffffff00000000UL, 0);
        CHECK(sepc >= 0x80000000UL);
        CHECK_EQ(sstatus & MSTATUS_SPP, 0); /* SPP was reset by sret to... */
        CHECK_EQ(csr_read(mcause), CAUSE_ECALL_S); /* only the S->M ecall reached M */
    }
    /* delegated illegal instruction from S is handled in S */
    csr_write(medeleg, (1UL << CAUSE_ECALL_U) | (1UL << CAUSE_ILLEGAL));
    enter_mode(PRV_S);
    trap_arm();
    pc = TRAP_AT("", "unimp");
    trap_disarm();
    enter_mmode();
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(trap_cause, CAUSE_ILLEGAL);
    CHECK_EQ(trap_level, 1);
    CHECK_EQ(trap_tval, 0xc0001073);
    CHECK_EQ(csr_read(scause), CAUSE_ILLEGAL);
    CHECK_EQ(csr_read(sepc), pc + 4); /* advanced by the S handler */
    CHECK_EQ(csr_read(stval), 0xc0001073);
    /* an exception in M is never delegated */
    trap_arm();
    TRAP_AT("", "unimp");
    trap_disarm();
    CHECK_EQ(trap_level, 3);
    csr_write(medeleg, 0);
}

/* ---------------- interrupts ---------------- */
static volatile int irq_count;
static volatile u64 irq_cause, irq_epc, irq_status;

static int m_irq_hook(struct trapframe *tf) {
    if (!(tf->cause & CAUSE_INTR))
        return 0;
    irq_count++;
    irq_cause = tf->cause;
    irq_epc = tf->epc;
    irq_status = tf->status;
    u64 code = tf->cause & 0xff;
    if (code == IRQ_MTI)
        MMIO64(CLINT_MTIMECMP) = ~0UL;
    else if (code == IRQ_MSI)
        MMIO32(CLINT_MSIP) = 0;
    else
        csr_clear(mie, 1UL << code); /* unknown: mask it */
    return 1;
}

static int s_irq_hook(struct trapframe *tf) {
    if (!(tf->cause & CAUSE_INTR))
        return 0;
    irq_count++;
    irq_cause = tf->cause;
    irq_epc = tf->epc;
    irq_status = tf->status;
    if ((tf->cause & 0xff) == IRQ_SSI)
        csr_clear(sip, 1UL << IRQ_SSI);
    else
        csr_clear(sie, 1UL << (tf->cause & 0xff));
    return 1;
}

static u64 mtime(void) { return MMIO64(CLINT_MTIME); }

static int wait_irq(int n) {
    for (long i = 0; i < 20000000 && irq_count < n; i++)
        asm volatile("" ::: "memory");
    return irq_count;
}

static void timer_cases(void) {
    irq_count = 0;
    m_trap_hook = m_irq_hook;
    MMIO64(CLINT_MTIMECMP) = ~0UL;
    csr_write(mie, 1UL << IRQ_MTI);
    /* pending but masked by mstatus.MIE: nothing happens */
    MMIO64(CLINT_MTIMECMP) = mtime() + 1000; /* 100 us */
    for (long i = 0; i < 20000000 && !(csr_read(mip) & (1UL << IRQ_MTI)); i++)
        ;
    CHECK_EQ(irq_count, 0);
    CHECK(csr_read(mip) & (1UL << IRQ_MTI));
    CHECK(mtime() >= MMIO64(CLINT_MTIMECMP));
    csr_set(mstatus, MSTATUS_MIE);
    wait_irq(1);
    csr_clear(mstatus, MSTATUS_MIE);
    CHECK_EQ(irq_count, 1);
    CHECK_EQ(irq_cause, CAUSE_INTR | IRQ_MTI);
    CHECK(irq_status & MSTATUS_MPIE);     /* previous MIE saved */
    CHECK_EQ(irq_status & MSTATUS_MIE, 0); /* MIE cleared on entry */
    CHECK_EQ((irq_status >> 11) & 3, 3);
    CHECK(irq_epc >= 0x80000000UL && irq_epc < 0x88000000UL);
    CHECK_EQ(csr_read(mip) & (1UL << IRQ_MTI), 0); /* cleared by new mtimecmp */

    /* the timer interrupt also preempts U-mode even with MIE = 0 */
    irq_count = 0;
    MMIO64(CLINT_MTIMECMP) = mtime() + 1000;
    enter_mode(PRV_U);
    wait_irq(1);
    enter_mmode();
    CHECK_EQ(irq_count, 1);
    CHECK_EQ(irq_cause, CAUSE_INTR | IRQ_MTI);
    CHECK_EQ((irq_status >> 11) & 3, PRV_U);

    /* wfi wakes up on a pending (even globally disabled) interrupt */
    irq_count = 0;
    u64 cmp = mtime() + 2000;
    MMIO64(CLINT_MTIMECMP) = cmp;
    asm volatile("wfi");
    CHECK(mtime() >= cmp);
    CHECK(csr_read(mip) & (1UL << IRQ_MTI));
    CHECK_EQ(irq_count, 0);
    MMIO64(CLINT_MTIMECMP) = ~0UL;
    csr_write(mie, 0);

    /* machine software interrupt via CLINT msip */
    irq_count = 0;
    csr_write(mie, 1UL << IRQ_MSI);
    MMIO32(CLINT_MSIP) = 1;
    CHECK(csr_read(mip) & (1UL << IRQ_MSI));
    CHECK_EQ(irq_count, 0);
    csr_set(mstatus, MSTATUS_MIE);
    wait_irq(1);
    csr_clear(mstatus, MSTATUS_MIE);
    CHECK_EQ(irq_count, 1);
    CHECK_EQ(irq_cause, CAUSE_INTR | IRQ_MSI);
    CHECK_EQ(MMIO32(CLINT_MSIP), 0);
    CHECK_EQ(csr_read(mip) & (1UL << IRQ_MSI), 0);
    csr_write(mie, 0);

    /* supervisor software interrupt delegated to S */
    irq_count = 0;
    s_trap_hook = s_irq_hook;
    csr_write(stvec, (u64)strap_entry);
    csr_write(mideleg, 1UL << IRQ_SSI);
    CHECK(csr_read(mideleg) & (1UL << IRQ_SSI));
    csr_write(mie, 1UL << IRQ_SSI);
    enter_mode(PRV_S);
    csr_clear(sstatus, MSTATUS_SIE);
    csr_set(sie, 1UL << IRQ_SSI);
    csr_set(sip, 1UL << IRQ_SSI); /* S may set its own software interrupt */
    {
        u64 pending = csr_read(sip);
        int before = irq_count; /* SIE = 0: must not be taken yet */
        csr_set(sstatus, MSTATUS_SIE);
        wait_irq(1);
        csr_clear(sstatus, MSTATUS_SIE);
        u64 sc = csr_read(scause);
        enter_mmode();
        CHECK(pending & (1UL << IRQ_SSI));
        CHECK_EQ(before, 0);
        CHECK_EQ(irq_count, 1);
        CHECK_EQ(irq_cause, CAUSE_INTR | IRQ_SSI);
        CHECK_EQ(sc, CAUSE_INTR | IRQ_SSI);
        CHECK(irq_status & MSTATUS_SPIE);
        CHECK(irq_status & MSTATUS_SPP);
    }
    CHECK_EQ(csr_read(mip) & (1UL << IRQ_SSI), 0);
    /* SSIP set from M is also delivered to S */
    irq_count = 0;
    csr_set(mip, 1UL << IRQ_SSI);
    enter_mode(PRV_U); /* S interrupts are always enabled while in U */
    wait_irq(1);
    enter_mmode();
    CHECK_EQ(irq_count, 1);
    CHECK_EQ(irq_cause, CAUSE_INTR | IRQ_SSI);
    CHECK_EQ(irq_status & MSTATUS_SPP, 0);
    csr_write(mideleg, 0);
    csr_write(mie, 0);
    s_trap_hook = 0;
    m_trap_hook = 0;
}

/* ---------------- vectored mtvec ---------------- */
volatile u64 vec_hit;
extern char vec_table[];
asm(".text\n"
    ".balign 256\n"
    ".globl vec_table\n"
    "vec_table:\n"
    ".option push\n.option norvc\n"
    ".irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
    "j vec_\\n\n"
    ".endr\n"
    ".irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
    "vec_\\n:\n"
    "addi sp, sp, -16\n"
    "sd t0, 0(sp)\n"
    "sd t1, 8(sp)\n"
    "li t0, \\n\n"
    "lla t1, vec_hit\n"
    "sd t0, 0(t1)\n"
    "ld t0, 0(sp)\n"
    "ld t1, 8(sp)\n"
    "addi sp, sp, 16\n"
    "j mtrap_entry\n"
    ".endr\n"
    ".option pop\n");

static void vectored_cases(void) {
    csr_write(mtvec, (u64)vec_table | 1);
    u64 tv = csr_read(mtvec);
    if ((tv & 3) != 1) { /* vectored mode must be supported (QEMU and rewind do) */
        CHECK_EQ(tv & 3, 1);
        csr_write(mtvec, (u64)mtrap_entry);
        return;
    }
    /* exceptions go to the base */
    vec_hit = 99;
    trap_arm();
    asm volatile("li a7, 0\necall" ::: "a7", "memory");
    trap_disarm();
    CHECK_EQ(trap_cause, CAUSE_ECALL_M);
    CHECK_EQ(vec_hit, 0);
    /* interrupts go to base + 4 * cause */
    m_trap_hook = m_irq_hook;
    irq_count = 0;
    vec_hit = 99;
    csr_write(mie, (1UL << IRQ_MTI) | (1UL << IRQ_MSI));
    MMIO64(CLINT_MTIMECMP) = mtime() + 500;
    csr_set(mstatus, MSTATUS_MIE);
    wait_irq(1);
    csr_clear(mstatus, MSTATUS_MIE);
    CHECK_EQ(irq_count, 1);
    CHECK_EQ(irq_cause, CAUSE_INTR | IRQ_MTI);
    CHECK_EQ(vec_hit, 7);
    irq_count = 0;
    MMIO32(CLINT_MSIP) = 1;
    csr_set(mstatus, MSTATUS_MIE);
    wait_irq(1);
    csr_clear(mstatus, MSTATUS_MIE);
    CHECK_EQ(irq_count, 1);
    CHECK_EQ(irq_cause, CAUSE_INTR | IRQ_MSI);
    CHECK_EQ(vec_hit, 3);
    /* both pending: MSI has priority over MTI */
    irq_count = 0;
    MMIO32(CLINT_MSIP) = 1;
    MMIO64(CLINT_MTIMECMP) = 0;
    csr_set(mstatus, MSTATUS_MIE);
    wait_irq(1);
    csr_clear(mstatus, MSTATUS_MIE);
    CHECK(irq_count >= 1);
    CHECK_EQ(vec_hit, 7); /* the last one taken is MTI (MSI went first) */
    MMIO64(CLINT_MTIMECMP) = ~0UL;
    MMIO32(CLINT_MSIP) = 0;
    csr_write(mie, 0);
    m_trap_hook = 0;
    csr_write(mtvec, (u64)mtrap_entry);
}

int main(void) {
    sync_cases();
    fetch_cases();
    user_cases();
    timer_cases();
    vectored_cases();
    return 0;
}
