/* RV64C: every compressed instruction, written with explicit c.
 * mnemonics, checking results.  Checks go through check_eq (common.c). */
#define CHK(reg, val) mv a0, reg; li a1, val; li a2, __LINE__; call check_eq
/* got must equal reg2 */
#define CHKR(reg, reg2) sub a0, reg, reg2; li a1, 0; li a2, __LINE__; call check_eq

    .option rvc
    .text
    .globl main
main:
    addi sp, sp, -576
    sd ra, 568(sp)
    sd s0, 560(sp)
    sd s1, 552(sp)

    /* c.li, c.lui */
    c.li s0, -32
    CHK(s0, -32)
    c.li s0, 31
    CHK(s0, 31)
    c.li a5, 0
    CHK(a5, 0)
    c.lui s0, 1
    CHK(s0, 0x1000)
    c.lui s0, 0x1f
    CHK(s0, 0x1f000)
    c.lui s0, 0xfffff
    CHK(s0, -4096)
    c.lui s1, 0xfffe0
    CHK(s1, 0xfffffffffffe0000)

    /* c.addi, c.addiw, c.nop */
    li s0, 100
    c.addi s0, -32
    CHK(s0, 68)
    c.addi s0, 31
    CHK(s0, 99)
    c.nop
    li s0, -1
    c.addi s0, 1
    CHK(s0, 0)
    li s0, 0x7fffffff
    c.addiw s0, 1
    CHK(s0, 0xffffffff80000000)
    li s0, 0x180000000
    c.addiw s0, 0        /* sext.w */
    CHK(s0, 0xffffffff80000000)
    li s0, 0x100000005
    c.addiw s0, -6
    CHK(s0, -1)

    /* c.addi16sp, c.addi4spn */
    mv s1, sp
    c.addi16sp sp, -64
    sub a0, s1, sp
    CHK(a0, 64)
    c.addi16sp sp, 496
    sub a0, sp, s1
    CHK(a0, 432)
    c.addi16sp sp, -512
    sub a0, s1, sp
    CHK(a0, 80)
    c.addi16sp sp, 80
    CHKR(sp, s1)
    c.addi4spn s0, sp, 8
    sub a0, s0, sp
    CHK(a0, 8)
    c.addi4spn a5, sp, 1020
    sub a0, a5, sp
    CHK(a0, 1020)

    /* shifts and c.andi */
    li s0, 1
    c.slli s0, 63
    CHK(s0, 0x8000000000000000)
    mv s1, s0
    c.srli s1, 63
    CHK(s1, 1)
    c.srai s0, 63
    CHK(s0, -1)
    li s0, 0x8000000000000000
    c.srai s0, 32
    CHK(s0, 0xffffffff80000000)
    li s0, 0x8000000000000000
    c.srli s0, 32
    CHK(s0, 0x80000000)
    li s0, 0x12345678
    c.slli s0, 32
    CHK(s0, 0x1234567800000000)
    li s0, -3
    c.srli s0, 1
    CHK(s0, 0x7ffffffffffffffe)
    li s0, 0x1234
    c.andi s0, -32
    CHK(s0, 0x1220)
    li s0, 0x1234
    c.andi s0, 31
    CHK(s0, 0x14)
    li s0, -1
    c.andi s0, -1
    CHK(s0, -1)
    c.andi s0, 0
    CHK(s0, 0)

    /* register-register ALU */
    li s0, 0x0ff0
    li s1, 0x00ff
    c.sub s0, s1
    CHK(s0, 0x0ef1)
    li s0, 0x0ff0
    c.xor s0, s1
    CHK(s0, 0x0f0f)
    li s0, 0x0ff0
    c.or s0, s1
    CHK(s0, 0x0fff)
    li s0, 0x0ff0
    c.and s0, s1
    CHK(s0, 0x00f0)
    li s0, 0x7fffffff
    li s1, 1
    c.addw s0, s1
    CHK(s0, 0xffffffff80000000)
    li s0, 0x100000000
    c.subw s0, s1
    CHK(s0, -1)
    li s0, 0xffffffff80000000
    c.subw s0, s1
    CHK(s0, 0x7fffffff)
    li s0, 5
    li a5, -7
    c.sub s0, a5
    CHK(s0, 12)
    /* c.mv / c.add with any registers */
    li t3, 0x123456789
    c.mv t0, t3
    CHK(t0, 0x123456789)
    c.add t0, t3
    CHK(t0, 0x2468acf12)
    li s1, -1
    c.mv t4, s1
    c.add t4, t4
    CHK(t4, -2)

    /* loads / stores relative to a register */
    lla s1, buf
    li s0, 0x80000000
    c.sw s0, 0(s1)
    c.lw a5, 0(s1)
    CHK(a5, 0xffffffff80000000)
    li s0, 0x7eadbeef
    c.sw s0, 124(s1)
    c.lw a4, 124(s1)
    CHK(a4, 0x7eadbeef)
    li s0, 0x0123456789abcdef
    c.sd s0, 248(s1)
    c.ld a3, 248(s1)
    CHK(a3, 0x0123456789abcdef)
    c.sd s0, 8(s1)
    c.lw a2, 8(s1)
    CHK(a2, 0xffffffff89abcdef)
    c.lw a2, 12(s1)
    CHK(a2, 0x01234567)
    li s0, 0x400921fb54442d18      /* pi */
    fmv.d.x fa0, s0
    c.fsd fa0, 16(s1)
    c.ld a5, 16(s1)
    CHK(a5, 0x400921fb54442d18)
    li s0, 0x3ff0000000000000
    c.sd s0, 240(s1)
    c.fld fa1, 240(s1)
    fmv.x.d a0, fa1
    li a1, 0x3ff0000000000000
    li a2, __LINE__
    call check_eq

    /* loads / stores relative to sp */
    li s0, 0xfedcba9876543210
    c.sdsp s0, 0(sp)
    c.sdsp s0, 504(sp)
    c.ldsp t0, 504(sp)
    CHK(t0, 0xfedcba9876543210)
    c.lwsp t1, 0(sp)
    CHK(t1, 0x76543210)
    c.lwsp t1, 4(sp)
    CHK(t1, 0xfffffffffedcba98)
    li s0, 0xcafe0001
    c.swsp s0, 252(sp)
    c.lwsp t2, 252(sp)
    CHK(t2, 0xffffffffcafe0001)
    li s0, 0xc000000000000000       /* -2.0 */
    fmv.d.x fa2, s0
    c.fsdsp fa2, 496(sp)
    c.ldsp t3, 496(sp)
    CHK(t3, 0xc000000000000000)
    c.fldsp fa3, 504(sp)
    fmv.x.d a0, fa3
    li a1, 0xfedcba9876543210
    li a2, __LINE__
    call check_eq

    /* c.j forward and backward */
    li s0, 0
    c.j 2f
1:  c.addi s0, 10
    c.j 3f
2:  c.addi s0, 1
    c.j 1b
    c.addi s0, 5        /* skipped */
3:  CHK(s0, 11)

    /* c.beqz / c.bnez, taken and not taken, both directions */
    li s0, 0
    li s1, 0
    c.beqz s1, 4f
    c.addi s0, 1        /* skipped */
4:  c.bnez s1, 5f
    c.addi s0, 2        /* executed */
5:  li s1, 3
    c.beqz s1, 6f
    c.addi s0, 4        /* executed */
6:  c.bnez s1, 7f
    c.addi s0, 8        /* skipped */
7:  CHK(s0, 6)
    li s0, 0
    li s1, 3
8:  c.addi s0, 1
    c.addi s1, -1
    c.bnez s1, 8b       /* backward loop, 3 iterations */
    CHK(s0, 3)
    li s1, 0
    li s0, 0
    c.j 10f
9:  c.addi s0, 7
    c.j 11f
10: c.beqz s1, 9b       /* backward taken */
11: CHK(s0, 7)

    /* c.jr, c.jalr: link = pc + 2 */
    li s0, 0
    lla t0, 12f
    c.jr t0
    c.li s0, 1          /* skipped */
12: CHK(s0, 0)
    lla t0, 14f
13: c.jalr t0
    c.li s0, 1          /* skipped */
14: lla t1, 13b
    addi t1, t1, 2
    CHKR(ra, t1)
    /* c.jalr as a real call/return pair */
    lla s1, rvc_leaf
    li a0, 20
    c.jalr s1
    CHK(a0, 82)

    /* c.ebreak: breakpoint trap, epc at the 2-byte instruction */
    lla t0, trap_count
    sw zero, 0(t0)
    lla t0, expect_trap
    li t1, 1
    sw t1, 0(t0)
    lla s1, 15f
15: c.ebreak
    lla t0, expect_trap
    sw zero, 0(t0)
    lla t0, trap_count
    lw a0, 0(t0)
    CHK(a0, 1)
    lla t0, trap_cause
    ld a0, 0(t0)
    CHK(a0, 3)
    lla t0, trap_epc
    ld a0, 0(t0)
    CHKR(a0, s1)

    /* a 4-byte instruction at a 2-byte aligned address after c. ops */
    .balign 4
    c.nop
    addi s0, zero, 0x123
    c.nop
    lui s1, 0x12345
    CHK(s0, 0x123)
    CHK(s1, 0x12345000)

    ld ra, 568(sp)
    ld s0, 560(sp)
    ld s1, 552(sp)
    addi sp, sp, 576
    li a0, 0
    ret

rvc_leaf:
    c.addi a0, 21
    c.add a0, a0
    c.jr ra

    .data
    .balign 16
buf:
    .zero 256
