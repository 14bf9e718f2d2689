/* Extensions rewind has beyond QEMU 7.2's rv64 (run with -cpu max; QEMU 7.2
 * lacks them, so expected values come from the specs): Zicond, Zicbom and
 * Zicboz with their envcfg controls, Svinval, Zcb, Zawrs, Zfa, Smstateen, the
 * full Sdtrig (match types, chains, icount, tcontrol), and the Zihintntl,
 * Zicbop and c.mv x0 hints. */
#include "../common.h"

#define TRY(insn, ...) ({ trap_arm(); asm volatile(insn :: __VA_ARGS__ : "t0", "memory"); trap_disarm(); trap_count; })
#define CBIE (3UL << 4)
#define CBCFE (1UL << 6)
#define CBZE (1UL << 7)
#define FIOM 1UL
/* Svinval by encoding (GCC 12 does not know the extension) */
#define SINVAL_VMA_ZERO ".insn r 0x73, 0, 0x0b, x0, x0, x0\n"
#define SFENCE_W_INVAL ".word 0x18000073\n"
#define SFENCE_INVAL_IR ".word 0x18100073\n"

static u64 czero_eqz(u64 a, u64 b) {
    u64 r;
    asm volatile(".insn r 0x33, 5, 7, %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
static u64 czero_nez(u64 a, u64 b) {
    u64 r;
    asm volatile(".insn r 0x33, 7, 7, %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static void zicond_cases(void) {
    const u64 vals[] = {0, 1, ~0UL, 0x8000000000000000UL, 0x123456789abcdefUL};
    for (unsigned i = 0; i < 5; i++)
        for (unsigned j = 0; j < 5; j++) {
            CHECK_EQ(czero_eqz(vals[i], vals[j]), vals[j] == 0 ? 0 : vals[i]);
            CHECK_EQ(czero_nez(vals[i], vals[j]), vals[j] != 0 ? 0 : vals[i]);
        }
    /* rd = rs2 and rd = x0 */
    u64 r = 5;
    asm volatile(".insn r 0x33, 5, 7, %0, %1, %0" : "+r"(r) : "r"(7UL));
    CHECK_EQ(r, 7);
    asm volatile(".insn r 0x33, 5, 7, x0, %0, %0" :: "r"(7UL));
}

static u64 block[24] __attribute__((aligned(64)));

static void cbo_cases(void) {
    for (unsigned i = 0; i < 24; i++)
        block[i] = 0xaaaaaaaaaaaaaaaaUL;
    /* cbo.zero on an address inside the second block zeros all of it and nothing else */
    CHECK_EQ(TRY("cbo.zero (%0)", "r"(&block[8 + 3])), 0);
    for (unsigned i = 0; i < 24; i++)
        CHECK_EQ(block[i], (i >= 8 && i < 16) ? 0 : 0xaaaaaaaaaaaaaaaaUL);
    /* management operations change no data */
    CHECK_EQ(TRY("cbo.clean (%0)\ncbo.flush (%0)\ncbo.inval (%0)", "r"(&block[1])), 0);
    CHECK_EQ(block[1], 0xaaaaaaaaaaaaaaaaUL);
    /* nothing at address 0x0: a store access fault with the effective address */
    CHECK_EQ(TRY("cbo.zero (%0)", "r"(0x18UL)), 1);
    CHECK_EQ(trap_cause, CAUSE_STORE_ACCESS);
    CHECK_EQ(trap_tval, 0x18);
    /* (cbo.clean there is allowed: translation and PMP permit it, and no
     * data moves, as in QEMU, which only probes the translation) */

    /* menvcfg: the controls are writable, CBIE's reserved value 2 is not */
    csr_write(menvcfg, CBIE | CBCFE | CBZE | FIOM);
    CHECK_EQ(csr_read(menvcfg) & 0xff, CBIE | CBCFE | CBZE | FIOM);
    csr_write(menvcfg, 2UL << 4);
    CHECK_EQ(csr_read(menvcfg) & CBIE, 0);
    csr_write(senvcfg, CBIE | CBCFE | CBZE);
    CHECK_EQ(csr_read(senvcfg) & 0xff, CBIE | CBCFE | CBZE);

    /* below M each operation needs its menvcfg field, and in U its senvcfg field too */
    int n;
    csr_write(menvcfg, 0);
    enter_mode(PRV_S);
    n = TRY("cbo.zero (%0)\ncbo.clean (%0)\ncbo.flush (%0)\ncbo.inval (%0)", "r"(&block[0]));
    enter_mmode();
    CHECK_EQ(n, 4);
    CHECK_EQ(trap_cause, CAUSE_ILLEGAL);
    csr_write(menvcfg, CBZE | CBCFE | (1UL << 4));
    enter_mode(PRV_S);
    n = TRY("cbo.zero (%0)\ncbo.clean (%0)\ncbo.flush (%0)\ncbo.inval (%0)", "r"(&block[0]));
    enter_mmode();
    CHECK_EQ(n, 0);
    CHECK_EQ(block[0], 0);
    csr_write(senvcfg, CBCFE);
    enter_mode(PRV_U);
    n = TRY("cbo.zero (%0)\ncbo.clean (%0)\ncbo.inval (%0)", "r"(&block[0]));
    enter_mmode();
    CHECK_EQ(n, 2); /* only cbo.clean */
    csr_write(menvcfg, 0);
    csr_write(senvcfg, 0);
}

static void svinval_cases(void) {
    CHECK_EQ(TRY(SINVAL_VMA_ZERO SFENCE_W_INVAL SFENCE_INVAL_IR ".insn r 0x73, 0, 0x0b, x0, %0, x0", "r"(0x1000UL)), 0);
    int n;
    enter_mode(PRV_S);
    n = TRY(SINVAL_VMA_ZERO SFENCE_W_INVAL SFENCE_INVAL_IR);
    enter_mmode();
    CHECK_EQ(n, 0);
    /* mstatus.TVM traps sinval.vma in S, as it does sfence.vma, but not the fences */
    csr_set(mstatus, MSTATUS_TVM);
    enter_mode(PRV_S);
    n = TRY(SINVAL_VMA_ZERO SFENCE_W_INVAL);
    enter_mmode();
    csr_clear(mstatus, MSTATUS_TVM);
    CHECK_EQ(n, 1);
    enter_mode(PRV_U);
    n = TRY(SINVAL_VMA_ZERO SFENCE_W_INVAL SFENCE_INVAL_IR);
    enter_mmode();
    CHECK_EQ(n, 3);
    CHECK_EQ(trap_cause, CAUSE_ILLEGAL);
}

static void hint_cases(void) {
    /* ntl.p1 .. ntl.all, c.ntl.all (c.add x0, x5), c.mv x0, x5 and the
     * prefetches (ori x0 forms) do nothing and do not trap */
    u64 before = 0x1234, t0v = 0x1234;
    CHECK_EQ(TRY("add x0, x0, x2\nadd x0, x0, x3\nadd x0, x0, x4\nadd x0, x0, x5\n"
                 ".half 0x9016\n.half 0x8016\n"
                 "ori x0, %0, 0\nori x0, %0, 1\nori x0, %0, 3", "r"(&block[0])), 0);
    asm volatile("mv t0, %1\n.half 0x9016\n.half 0x8016\nmv %0, t0" : "=r"(t0v) : "r"(before) : "t0");
    CHECK_EQ(t0v, before);
}

/* Zcb by encoding (binutils 2.40 does not know it): each form works on a0, a1
 * and a2 (x10-x12), which the compressed register fields can name. */
static volatile u8 zcb_data[8] __attribute__((aligned(8))) = {0x11, 0x82, 0x33, 0xf4};
#define ZCB(half, x, y)                                                                  \
    ({                                                                                   \
        register u64 a0 asm("a0") = (x);                                                 \
        register u64 a1 asm("a1") = (y);                                                 \
        register u64 a2 asm("a2") = 0xa5c3;                                              \
        asm volatile(".half " #half : "+r"(a0) : "r"(a1), "r"(a2) : "memory");           \
        a0;                                                                              \
    })

static void zcb_cases(void) {
    u64 data = (u64)zcb_data;
    CHECK_EQ(ZCB(0x81c8, 0, data), 0x82); /* c.lbu a0, 1(a1) */
    CHECK_EQ(ZCB(0x81e8, 0, data), 0xf4); /* c.lbu a0, 3(a1) */
    CHECK_EQ(ZCB(0x85a8, 0, data), 0xf433); /* c.lhu a0, 2(a1) */
    CHECK_EQ(ZCB(0x85e8, 0, data), 0xfffffffffffff433UL); /* c.lh a0, 2(a1) */
    ZCB(0x89d0, 0, data); /* c.sb a2, 1(a1) */
    CHECK_EQ(zcb_data[1], 0xc3);
    CHECK_EQ(zcb_data[0], 0x11);
    ZCB(0x8db0, 0, data); /* c.sh a2, 2(a1) */
    CHECK_EQ(zcb_data[2], 0xc3);
    CHECK_EQ(zcb_data[3], 0xa5);
    CHECK_EQ(zcb_data[4], 0);
    CHECK_EQ(ZCB(0x9d61, 0x12345687UL, 0), 0x87); /* c.zext.b a0 */
    CHECK_EQ(ZCB(0x9d65, 0x12345687UL, 0), 0xffffffffffffff87UL); /* c.sext.b a0 */
    CHECK_EQ(ZCB(0x9d69, 0x12348765UL, 0), 0x8765); /* c.zext.h a0 */
    CHECK_EQ(ZCB(0x9d6d, 0x12348765UL, 0), 0xffffffffffff8765UL); /* c.sext.h a0 */
    CHECK_EQ(ZCB(0x9d71, 0xffffffff80000001UL, 0), 0x80000001UL); /* c.zext.w a0 */
    CHECK_EQ(ZCB(0x9d75, 0x0f, 0), ~0x0fUL); /* c.not a0 */
    CHECK_EQ(ZCB(0x9d4d, 7, -3L), -21L); /* c.mul a0, a1 */
    /* the reserved encodings beside them */
    CHECK_EQ(TRY(".half 0x9d79\n.half 0x9d7d\n.half 0x8df0"), 3);
    CHECK_EQ(trap_cause, CAUSE_ILLEGAL);
}

#define WRS_NTO ".word 0x00d00073\n"
#define WRS_STO ".word 0x01d00073\n"
#define MIP_MTIP (1UL << 7)

static u64 mtime(void) { return *(volatile u64 *)CLINT_MTIME; }

static void zawrs_cases(void) {
    static u64 word;
    /* without a reservation both complete at once */
    CHECK_EQ(TRY(WRS_NTO WRS_STO), 0);
    /* with one, wrs.nto waits until an interrupt is pending, even one
     * mstatus.MIE keeps from being taken (as wfi does) */
    csr_clear(mstatus, MSTATUS_MIE);
    u64 start = mtime();
    *(volatile u64 *)CLINT_MTIMECMP = start + 20000; /* 2 ms at 10 MHz */
    csr_write(mie, MIP_MTIP);
    CHECK_EQ(csr_read(mip) & MIP_MTIP, 0);
    asm volatile("lr.d t0, (%0)\n" WRS_NTO :: "r"(&word) : "t0", "memory");
    u64 woke = mtime();
    CHECK(csr_read(mip) & MIP_MTIP);
    CHECK(woke >= start + 20000);
    csr_write(mie, 0);
    *(volatile u64 *)CLINT_MTIMECMP = ~0UL;
    /* mstatus.TW makes wrs.nto illegal below M (QEMU's rule), never wrs.sto */
    int n;
    csr_set(mstatus, MSTATUS_TW);
    enter_mode(PRV_S);
    n = TRY(WRS_NTO WRS_STO);
    enter_mmode();
    CHECK_EQ(n, 1);
    CHECK_EQ(trap_cause, CAUSE_ILLEGAL);
    enter_mode(PRV_U);
    n = TRY(WRS_NTO WRS_STO);
    enter_mmode();
    CHECK_EQ(n, 1);
    csr_clear(mstatus, MSTATUS_TW);
    enter_mode(PRV_U);
    n = TRY(WRS_NTO WRS_STO);
    enter_mmode();
    CHECK_EQ(n, 0);
}

/* Zfa by encoding, on fa0-fa2 (f10-f12) and a0: fli's rs1 field is the
 * constant's index, fcvtmod.w.d's rs2 field is 8. */
#define FLI(f7, idx) ({ u64 r; asm volatile(".insn r 0x53, 0, " #f7 ", f10, x" #idx ", x1\nfmv.x.d %0, f10" : "=r"(r) :: "f10"); r; })
#define FP2(rm, f7, x, y)                                                                                \
    ({                                                                                                   \
        u64 r;                                                                                           \
        asm volatile("fmv.d.x f11, %1\nfmv.d.x f12, %2\n.insn r 0x53, " #rm ", " #f7 ", f10, f11, f12\n" \
                     "fmv.x.d %0, f10" : "=r"(r) : "r"(x), "r"(y) : "f10", "f11", "f12");               \
        r;                                                                                               \
    })
#define FP_TO_X(rm, f7, rs2, x, y)                                                                       \
    ({                                                                                                   \
        u64 r;                                                                                           \
        asm volatile("fmv.d.x f11, %1\nfmv.d.x f12, %2\n.insn r 0x53, " #rm ", " #f7 ", %0, f11, " #rs2   \
                     : "=r"(r) : "r"(x), "r"(y) : "f11", "f12");                                         \
        r;                                                                                               \
    })
#define FROUND(rm, rs2, x)                                                                             \
    ({                                                                                                 \
        u64 r;                                                                                         \
        asm volatile("fmv.d.x f11, %1\n.insn r 0x53, " #rm ", 0x21, f10, f11, " #rs2 "\nfmv.x.d %0, f10" \
                     : "=r"(r) : "r"(x) : "f10", "f11");                                               \
        r;                                                                                             \
    })
#define ONE 0x3ff0000000000000UL
#define TWO 0x4000000000000000UL
#define QNAN 0x7ff8000000000000UL
#define D(v) ((union { double d; u64 u; }){.d = (v)}.u)
#define NX 1UL
#define NV 16UL

static u64 take_fflags(void) { return csr_swap(fflags, 0); }

static void zfa_cases(void) {
    csr_set(mstatus, MSTATUS_FS);
    take_fflags();
    CHECK_EQ(FLI(0x79, 0), D(-1.0));
    CHECK_EQ(FLI(0x79, 1), 0x0010000000000000UL); /* the smallest normal double */
    CHECK_EQ(FLI(0x79, 9), D(0.3125));
    CHECK_EQ(FLI(0x79, 16), ONE);
    CHECK_EQ(FLI(0x79, 29), D(65536.0));
    CHECK_EQ(FLI(0x79, 30), 0x7ff0000000000000UL);
    CHECK_EQ(FLI(0x79, 31), QNAN);
    CHECK_EQ(FLI(0x78, 8), 0xffffffff3e800000UL); /* fli.s 0.25, NaN-boxed */
    CHECK_EQ(take_fflags(), 0);
    /* fminm/fmaxm: a NaN operand wins; fmin prefers the number */
    CHECK_EQ(FP2(2, 0x15, ONE, TWO), ONE);
    CHECK_EQ(FP2(3, 0x15, ONE, TWO), TWO);
    CHECK_EQ(FP2(2, 0x15, ONE, QNAN | 5), QNAN);
    CHECK_EQ(FP2(0, 0x15, ONE, QNAN | 5), ONE);
    CHECK_EQ(FP2(3, 0x15, 0x7ff0000000000001UL, ONE), QNAN); /* a signaling NaN */
    CHECK_EQ(take_fflags(), NV);
    /* fround (no NX) and froundnx (NX when inexact), in the instruction's
     * rounding mode; rs2 = 4 and 5 */
    CHECK_EQ(FROUND(2, x4, D(-2.5)), D(-3.0));
    CHECK_EQ(FROUND(0, x4, D(2.5)), D(2.0));
    CHECK_EQ(take_fflags(), 0);
    CHECK_EQ(FROUND(0, x5, D(2.5)), D(2.0));
    CHECK_EQ(take_fflags(), NX);
    CHECK_EQ(FROUND(3, x5, D(-0.5)), D(-0.0)); /* rounded up to zero, its sign kept */
    CHECK_EQ(take_fflags(), NX);
    CHECK_EQ(FROUND(1, x5, D(1e300)), D(1e300));
    CHECK_EQ(take_fflags(), 0);
    /* fcvtmod.w.d: the integer part modulo 2^32 */
    CHECK_EQ(FP_TO_X(1, 0x61, x8, D(4294967301.75), 0), 5);
    CHECK_EQ(take_fflags(), NV);
    CHECK_EQ(FP_TO_X(1, 0x61, x8, D(-7.5), 0), (u64)-7L);
    CHECK_EQ(take_fflags(), NX);
    CHECK_EQ(FP_TO_X(1, 0x61, x8, D(-2147483648.0), 0), 0xffffffff80000000UL);
    CHECK_EQ(take_fflags(), 0);
    /* fltq/fleq: quiet on a quiet NaN, unlike flt */
    CHECK_EQ(FP_TO_X(4, 0x51, f12, ONE, TWO), 1);
    CHECK_EQ(FP_TO_X(5, 0x51, f12, TWO, TWO), 1);
    CHECK_EQ(FP_TO_X(4, 0x51, f12, ONE, QNAN), 0);
    CHECK_EQ(take_fflags(), 0);
    CHECK_EQ(FP_TO_X(1, 0x51, f12, ONE, QNAN), 0);
    CHECK_EQ(take_fflags(), NV);
    /* the RV32-only fmvh.x.d and a fcvtmod.w.d whose rm is not RTZ are illegal */
    CHECK_EQ(TRY(".insn r 0x53, 0, 0x71, t0, f11, x1\n.insn r 0x53, 0, 0x61, t0, f11, x8"), 2);
}

#define SE0 (1UL << 63)
#define ENVCFG (1UL << 62)

static void smstateen_cases(void) {
    /* what the mstateen registers keep: SE0 (and ENVCFG in mstateen0) */
    csr_write(mstateen0, ~0UL);
    CHECK_EQ(csr_read(mstateen0), SE0 | ENVCFG);
    csr_write(mstateen1, ~0UL);
    CHECK_EQ(csr_read(mstateen1), SE0);
    csr_write(sstateen0, ~0UL);
    CHECK_EQ(csr_read(sstateen0), 0); /* no bit guards anything rewind has */
    /* S mode reaches sstateenN through mstateenN.SE0, senvcfg through ENVCFG */
    int n;
    enter_mode(PRV_S);
    n = TRY("csrr t0, sstateen0\ncsrr t0, sstateen1\ncsrr t0, senvcfg\ncsrr t0, sstateen2");
    enter_mmode();
    CHECK_EQ(n, 1); /* sstateen2: mstateen2.SE0 is clear */
    csr_write(mstateen0, SE0);
    csr_write(mstateen1, 0);
    enter_mode(PRV_S);
    n = TRY("csrr t0, sstateen0\ncsrr t0, sstateen1\ncsrr t0, senvcfg\ncsrw senvcfg, zero");
    enter_mmode();
    CHECK_EQ(n, 3);
    CHECK_EQ(trap_cause, CAUSE_ILLEGAL);
    csr_write(mstateen0, 0);
    enter_mode(PRV_S);
    n = TRY("csrr t0, sstateen0");
    enter_mmode();
    CHECK_EQ(n, 1);
    /* M mode reaches everything whatever mstateen says */
    CHECK_EQ(TRY("csrr t0, sstateen3\ncsrr t0, senvcfg\ncsrr t0, mstateen3"), 0);
    csr_write(mstateen0, SE0 | ENVCFG);
}

#define TTYPE(t) ((u64)(t) << 60)
#define T_LOAD 1UL
#define T_STORE 2UL
#define T_M (1UL << 6)
#define T_CHAIN (1UL << 11)
#define T_MATCH(m) ((u64)(m) << 7)
#define T_HIT0 (1UL << 22)
#define MTE (1UL << 3)
#define MPTE (1UL << 7)
static volatile u64 watched[4] __attribute__((aligned(32)));

static void sdtrig_cases(void) {
    /* Sdtrig 1.0 in tinfo: types 2, 3, 6 and 15 */
    CHECK_EQ(csr_read(tinfo), (1UL << 24) | (1UL << 2) | (1UL << 3) | (1UL << 6) | (1UL << 15));
    csr_write(tcontrol, ~0UL);
    CHECK_EQ(csr_read(tcontrol), MTE | MPTE);
    /* match >= on stores: &watched[2] and above */
    csr_write(tselect, 0);
    csr_write(tdata2, (u64)&watched[2]);
    csr_write(tdata1, TTYPE(6) | T_MATCH(2) | T_M | T_STORE);
    CHECK_EQ(TRY("sd zero, 0(%0)", "r"(&watched[1])), 0);
    CHECK_EQ(TRY("sd zero, 0(%0)", "r"(&watched[3])), 1);
    CHECK_EQ(trap_cause, CAUSE_BREAKPOINT);
    CHECK(csr_read(tdata1) & T_HIT0);
    /* mte clear: M mode is not watched (mret from the handler restored it above) */
    csr_write(tcontrol, 0);
    CHECK_EQ(TRY("sd zero, 0(%0)", "r"(&watched[3])), 0);
    csr_write(tcontrol, MTE);
    /* a chain: loads at or above &watched[1] and below &watched[3] */
    csr_write(tdata2, (u64)&watched[1]);
    csr_write(tdata1, TTYPE(6) | T_CHAIN | T_MATCH(2) | T_M | T_LOAD);
    csr_write(tselect, 1);
    csr_write(tdata2, (u64)&watched[3]);
    csr_write(tdata1, TTYPE(6) | T_MATCH(3) | T_M | T_LOAD);
    CHECK_EQ(TRY("ld t0, 0(%0)", "r"(&watched[0])), 0);
    CHECK_EQ(TRY("ld t0, 0(%0)", "r"(&watched[3])), 0);
    CHECK_EQ(TRY("ld t0, 0(%0)", "r"(&watched[2])), 1);
    CHECK_EQ(csr_read(tdata1) & T_HIT0, T_HIT0);
    csr_write(tdata1, TTYPE(15));
    CHECK_EQ(csr_read(tdata1), TTYPE(15));
    /* NAPOT: tdata2 = base | (size / 2 - 1) watches size bytes; 16 at &watched[2] */
    csr_write(tselect, 0);
    csr_write(tdata2, (u64)&watched[2] | 7);
    csr_write(tdata1, TTYPE(6) | T_MATCH(1) | T_M | T_LOAD);
    CHECK_EQ(TRY("ld t0, 0(%0)\nld t0, 8(%0)\nld t0, 16(%0)\nld t0, -8(%0)", "r"(&watched[2])), 2);
    /* its negation (every load outside them), chained to a NAPOT match of all
     * of watched[]: loads of watched[0] and watched[1] only */
    csr_write(tdata1, TTYPE(6) | T_CHAIN | T_MATCH(9) | T_M | T_LOAD);
    csr_write(tselect, 1);
    csr_write(tdata2, (u64)&watched[0] | 15);
    csr_write(tdata1, TTYPE(6) | T_MATCH(1) | T_M | T_LOAD);
    CHECK_EQ(TRY("ld t0, 0(%0)\nld t0, 8(%0)\nld t0, 16(%0)\nld t0, -8(%0)\nld t0, -16(%0)", "r"(&watched[2])), 2);
    csr_write(tdata1, TTYPE(15));
    csr_write(tselect, 0);
    csr_write(tdata1, TTYPE(15));
    /* icount: 3 instructions in M mode, then a breakpoint before the 4th */
    u64 result, fourth;
    trap_arm();
    asm volatile("la %1, 1f\n"
                 "csrw tdata1, %2\n"
                 "li %0, 0\n"
                 "addi %0, %0, 1\n"
                 "addi %0, %0, 1\n"
                 "1: addi %0, %0, 100\n" /* the handler skips it */
                 "addi %0, %0, 1000\n"
                 : "=&r"(result), "=&r"(fourth)
                 : "r"(TTYPE(3) | (3UL << 10) | (1UL << 9)));
    trap_disarm();
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(trap_cause, CAUSE_BREAKPOINT);
    CHECK_EQ(trap_epc, fourth);
    CHECK_EQ(result, 1002);
    CHECK_EQ(csr_read(tdata1), TTYPE(3) | (1UL << 24) | (1UL << 9)); /* hit, count 0, not pending */
    csr_write(tdata1, TTYPE(15));
    csr_write(tselect, 1);
    csr_write(tdata1, TTYPE(15));
    csr_write(tcontrol, 0);
}

int main(void) {
    zicond_cases();
    cbo_cases();
    svinval_cases();
    hint_cases();
    zcb_cases();
    zawrs_cases();
    zfa_cases();
    smstateen_cases();
    sdtrig_cases();
    finish();
}
