/* F and D: rounding modes, fflags, canonical NaNs, NaN-boxing, min/max,
 * compares, conversions, fused multiply-add, fclass, sign injection,
 * dynamic rounding mode, illegal rounding modes, mstatus.FS. */
#include "common.h"

#define M32 0xffffffffUL
#define ALL ~0UL

#define FPOP(pre, insn, post, a, b, c, mask, exp, fl) do { u64 __r, __f; asm volatile( \
    pre "\ncsrw fflags, x0\n" insn "\n" post "\ncsrr %1, fflags" \
    : "=&r"(__r), "=&r"(__f) : "r"((u64)(a)), "r"((u64)(b)), "r"((u64)(c)) \
    : "ft0", "ft1", "ft2", "ft3", "memory"); \
    CHECK_EQ(__r & (mask), (u64)(exp)); CHECK_EQ(__f, (u64)(fl)); } while (0)

#define PRE_S "fmv.w.x ft0, %2\nfmv.w.x ft1, %3\nfmv.w.x ft2, %4"
#define PRE_D "fmv.d.x ft0, %2\nfmv.d.x ft1, %3\nfmv.d.x ft2, %4"
#define POST_S "fmv.x.w %0, ft3"
#define POST_D "fmv.x.d %0, ft3"

#define FP2_S(op, rm, a, b, e, fl) FPOP(PRE_S, op " ft3, ft0, ft1, " rm, POST_S, a, b, 0, M32, e, fl)
#define FP2_D(op, rm, a, b, e, fl) FPOP(PRE_D, op " ft3, ft0, ft1, " rm, POST_D, a, b, 0, ALL, e, fl)
#define FP1_S(op, rm, a, e, fl) FPOP(PRE_S, op " ft3, ft0, " rm, POST_S, a, 0, 0, M32, e, fl)
#define FP1_D(op, rm, a, e, fl) FPOP(PRE_D, op " ft3, ft0, " rm, POST_D, a, 0, 0, ALL, e, fl)
#define FP3_S(op, a, b, c, e, fl) FPOP(PRE_S, op " ft3, ft0, ft1, ft2, rne", POST_S, a, b, c, M32, e, fl)
#define FP3_D(op, a, b, c, e, fl) FPOP(PRE_D, op " ft3, ft0, ft1, ft2, rne", POST_D, a, b, c, ALL, e, fl)
/* no rounding-mode operand */
#define FPN_S(op, a, b, e, fl) FPOP(PRE_S, op " ft3, ft0, ft1", POST_S, a, b, 0, M32, e, fl)
#define FPN_D(op, a, b, e, fl) FPOP(PRE_D, op " ft3, ft0, ft1", POST_D, a, b, 0, ALL, e, fl)
/* integer results */
#define FCMP_S(op, a, b, e, fl) FPOP(PRE_S, op " %0, ft0, ft1", "", a, b, 0, ALL, e, fl)
#define FCMP_D(op, a, b, e, fl) FPOP(PRE_D, op " %0, ft0, ft1", "", a, b, 0, ALL, e, fl)
#define FCLASS_S(a, e) FPOP(PRE_S, "fclass.s %0, ft0", "", a, 0, 0, ALL, e, 0)
#define FCLASS_D(a, e) FPOP(PRE_D, "fclass.d %0, ft0", "", a, 0, 0, ALL, e, 0)
#define FCVT_XS(op, rm, a, e, fl) FPOP(PRE_S, op " %0, ft0, " rm, "", a, 0, 0, ALL, e, fl)
#define FCVT_XD(op, rm, a, e, fl) FPOP(PRE_D, op " %0, ft0, " rm, "", a, 0, 0, ALL, e, fl)
/* integer sources */
#define FCVT_SX(op, rm, x, e, fl) FPOP("", op " ft3, %2, " rm, POST_S, x, 0, 0, M32, e, fl)
#define FCVT_DX(op, rm, x, e, fl) FPOP("", op " ft3, %2, " rm, POST_D, x, 0, 0, ALL, e, fl)

#define NX 1
#define UF 2
#define OF 4
#define DZ 8
#define NV 16

/* single */
#define S_ONE 0x3f800000
#define S_TWO 0x40000000
#define S_HALF 0x3f000000
#define S_MONE 0xbf800000
#define S_PZ 0x00000000
#define S_NZ 0x80000000
#define S_INF 0x7f800000
#define S_NINF 0xff800000
#define S_QNAN 0x7fc00000
#define S_SNAN 0x7f800001
#define S_MAX 0x7f7fffff
#define S_MIN 0x00800000
/* double */
#define D_ONE 0x3ff0000000000000UL
#define D_TWO 0x4000000000000000UL
#define D_MONE 0xbff0000000000000UL
#define D_PZ 0UL
#define D_NZ 0x8000000000000000UL
#define D_INF 0x7ff0000000000000UL
#define D_NINF 0xfff0000000000000UL
#define D_QNAN 0x7ff8000000000000UL
#define D_SNAN 0x7ff0000000000001UL
#define D_MAX 0x7fefffffffffffffUL
#define D_MIN 0x0010000000000000UL

#include "fp_cases.h"

static void flag_cases(void) {
    /* overflow: rounding mode decides between inf and max finite */
    FP2_S("fmul.s", "rne", S_MAX, S_TWO, S_INF, OF | NX);
    FP2_S("fmul.s", "rtz", S_MAX, S_TWO, S_MAX, OF | NX);
    FP2_S("fmul.s", "rdn", S_MAX, S_TWO, S_MAX, OF | NX);
    FP2_S("fmul.s", "rup", S_MAX, S_TWO, S_INF, OF | NX);
    FP2_S("fmul.s", "rmm", S_MAX, S_TWO, S_INF, OF | NX);
    FP2_S("fmul.s", "rdn", S_MAX | 0x80000000, S_TWO, S_NINF, OF | NX);
    FP2_S("fmul.s", "rup", S_MAX | 0x80000000, S_TWO, S_MAX | 0x80000000, OF | NX);
    FP2_D("fmul.d", "rne", D_MAX, D_TWO, D_INF, OF | NX);
    FP2_D("fmul.d", "rtz", D_MAX, D_TWO, D_MAX, OF | NX);
    FP2_D("fadd.d", "rne", D_MAX, D_MAX, D_INF, OF | NX);
    /* underflow: tiny and inexact */
    FP2_S("fmul.s", "rne", S_MIN, S_MIN, S_PZ, UF | NX);
    FP2_S("fmul.s", "rup", S_MIN, S_MIN, 0x00000001, UF | NX);
    FP2_S("fmul.s", "rdn", S_MIN | 0x80000000, S_MIN, 0x80000001, UF | NX);
    FP2_S("fmul.s", "rne", S_MIN, S_HALF, 0x00400000, 0); /* exact subnormal: no UF */
    FP2_D("fmul.d", "rne", D_MIN, D_MIN, D_PZ, UF | NX);
    FP2_D("fmul.d", "rup", D_MIN, D_MIN, 1, UF | NX);
    /* divide by zero */
    FP2_S("fdiv.s", "rne", S_ONE, S_PZ, S_INF, DZ);
    FP2_S("fdiv.s", "rne", S_MONE, S_PZ, S_NINF, DZ);
    FP2_S("fdiv.s", "rne", S_ONE, S_NZ, S_NINF, DZ);
    FP2_D("fdiv.d", "rne", D_ONE, D_PZ, D_INF, DZ);
    FP2_D("fdiv.d", "rne", D_MONE, D_NZ, D_INF, DZ);
    /* invalid: canonical NaN results */
    FP1_S("fsqrt.s", "rne", S_MONE, S_QNAN, NV);
    FP1_D("fsqrt.d", "rne", D_MONE, D_QNAN, NV);
    FP1_S("fsqrt.s", "rne", S_NZ, S_NZ, 0); /* sqrt(-0) = -0 */
    FP1_S("fsqrt.s", "rne", S_INF, S_INF, 0);
    FP2_S("fdiv.s", "rne", S_PZ, S_PZ, S_QNAN, NV);
    FP2_D("fdiv.d", "rne", D_PZ, D_NZ, D_QNAN, NV);
    FP2_S("fsub.s", "rne", S_INF, S_INF, S_QNAN, NV);
    FP2_D("fadd.d", "rne", D_INF, D_NINF, D_QNAN, NV);
    FP2_S("fmul.s", "rne", S_PZ, S_INF, S_QNAN, NV);
    FP2_D("fmul.d", "rne", D_INF, D_NZ, D_QNAN, NV);
    FP2_S("fdiv.s", "rne", S_INF, S_NINF, S_QNAN, NV);
    /* NaN propagation: always the canonical NaN; sNaN raises NV */
    FP2_S("fadd.s", "rne", S_SNAN, S_ONE, S_QNAN, NV);
    FP2_S("fadd.s", "rne", S_QNAN, S_ONE, S_QNAN, 0);
    FP2_S("fadd.s", "rne", 0xffc12345, S_ONE, S_QNAN, 0); /* payload and sign dropped */
    FP2_S("fmul.s", "rne", S_ONE, 0x7f812345, S_QNAN, NV);
    FP2_D("fadd.d", "rne", D_SNAN, D_ONE, D_QNAN, NV);
    FP2_D("fsub.d", "rne", 0xfff8000000001234UL, D_ONE, D_QNAN, 0);
    FP2_D("fdiv.d", "rne", D_ONE, 0x7ff4000000000000UL, D_QNAN, NV);
    FP1_S("fsqrt.s", "rne", S_SNAN, S_QNAN, NV);
    FP1_D("fsqrt.d", "rne", 0xfff8000000000001UL, D_QNAN, 0);
    /* inexact */
    FP2_S("fdiv.s", "rne", S_ONE, 0x40400000, 0x3eaaaaab, NX);
    FP2_D("fdiv.d", "rne", D_ONE, 0x4008000000000000UL, 0x3fd5555555555555UL, NX);
    FP2_D("fadd.d", "rne", D_ONE, D_ONE, D_TWO, 0);
    /* x - x = +0 except in rdn, where it is -0 */
    FP2_S("fsub.s", "rne", S_ONE, S_ONE, S_PZ, 0);
    FP2_S("fsub.s", "rdn", S_ONE, S_ONE, S_NZ, 0);
    FP2_D("fsub.d", "rdn", D_ONE, D_ONE, D_NZ, 0);
    FP2_D("fadd.d", "rne", D_NZ, D_NZ, D_NZ, 0);

    /* accrual: flags stay set until cleared by writing fflags */
    {
        u64 f1, f2, f3, f4, frm;
        asm volatile("csrw fflags, x0\n"
                     "fmv.w.x ft0, %5\nfmv.w.x ft1, x0\n"
                     "fdiv.s ft2, ft0, ft1\n"   /* DZ */
                     "csrr %0, fflags\n"
                     "fmv.w.x ft1, %6\n"
                     "fdiv.s ft2, ft0, ft1\n"   /* NX */
                     "csrr %1, fflags\n"
                     "fsqrt.s ft2, ft1\n"       /* exact: nothing new */
                     "csrr %2, fflags\n"
                     "csrw fflags, x0\n"
                     "csrr %3, fflags\n"
                     "csrr %4, frm\n"
                     : "=&r"(f1), "=&r"(f2), "=&r"(f3), "=&r"(f4), "=&r"(frm)
                     : "r"((u64)S_ONE), "r"((u64)0x40400000) : "ft0", "ft1", "ft2");
        CHECK_EQ(f1, DZ);
        CHECK_EQ(f2, DZ | NX);
        CHECK_EQ(f3, DZ | NX | 0);
        CHECK_EQ(f4, 0);
        CHECK_EQ(frm, 0);
    }
    /* fcsr = frm << 5 | fflags */
    csr_write(fcsr, 0xff);
    CHECK_EQ(csr_read(fflags), 0x1f);
    CHECK_EQ(csr_read(frm), 7);
    CHECK_EQ(csr_read(fcsr), 0xff);
    csr_write(frm, 2);
    CHECK_EQ(csr_read(fcsr), 0x5f);
    csr_write(fflags, 0x3); /* upper bits of a fflags write ignored */
    CHECK_EQ(csr_read(fcsr), 0x43);
    csr_write(fflags, 0xffffffe0UL);
    CHECK_EQ(csr_read(fflags), 0);
    csr_write(fcsr, 0);
    CHECK_EQ(csr_read(fcsr), 0);
}

static void nanbox_cases(void) {
    static volatile u32 sval = S_ONE;
    static volatile u64 dval;
    u64 r;
    /* flw and fmv.w.x box the value with ones */
    asm volatile("flw ft0, 0(%1)\nfmv.x.d %0, ft0" : "=r"(r) : "r"(&sval) : "ft0", "memory");
    CHECK_EQ(r, 0xffffffff3f800000UL);
    asm volatile("fmv.w.x ft0, %1\nfmv.x.d %0, ft0" : "=r"(r) : "r"(0x12345678UL) : "ft0");
    CHECK_EQ(r, 0xffffffff12345678UL);
    /* single-precision arithmetic results are boxed too */
    asm volatile("fmv.d.x ft0, %1\nfadd.s ft1, ft0, ft0\nfmv.x.d %0, ft1"
                 : "=r"(r) : "r"(0xffffffff3f800000UL) : "ft0", "ft1");
    CHECK_EQ(r, 0xffffffff40000000UL);
    asm volatile("fcvt.s.w ft0, %1\nfmv.x.d %0, ft0" : "=r"(r) : "r"(3UL) : "ft0");
    CHECK_EQ(r, 0xffffffff40400000UL);
    /* fsw stores only the low 32 bits */
    asm volatile("fmv.d.x ft0, %1\nfsw ft0, 0(%0)" :: "r"(&dval), "r"(0x1122334455667788UL) : "ft0", "memory");
    CHECK_EQ(dval, 0x55667788UL);
    /* improperly boxed inputs are treated as the canonical NaN */
    FPOP("fmv.d.x ft0, %2\nfmv.d.x ft1, %3", "fadd.s ft3, ft0, ft1, rne", POST_D,
         0x000000003f800000UL, 0xffffffff3f800000UL, 0, ALL, 0xffffffff7fc00000UL, 0);
    FPOP("fmv.d.x ft0, %2\nfmv.d.x ft1, %3", "fsgnj.s ft3, ft0, ft1", POST_D,
         0xfffffffe3f800000UL, 0xffffffff3f800000UL, 0, ALL, 0xffffffff7fc00000UL, 0);
    FPOP("fmv.d.x ft0, %2\nfmv.d.x ft1, %3", "fsgnjn.s ft3, ft1, ft0", POST_D,
         0x7fffffffbf800000UL, 0xffffffff3f800000UL, 0, ALL, 0xffffffffbf800000UL, 0);
    FPOP("fmv.d.x ft0, %2", "fclass.s %0, ft0", "", 0x00000000ff800000UL, 0, 0, ALL, 0x200, 0);
    FPOP("fmv.d.x ft0, %2", "fcvt.d.s ft3, ft0", POST_D, 0x4000000000000000UL, 0, 0, ALL, D_QNAN, 0);
    FPOP("fmv.d.x ft0, %2\nfmv.d.x ft1, %3", "feq.s %0, ft0, ft1", "",
         0x000000003f800000UL, 0x000000003f800000UL, 0, ALL, 0, 0);
    FPOP("fmv.d.x ft0, %2\nfmv.d.x ft1, %3", "fmin.s ft3, ft0, ft1", POST_D,
         0x000000003f800000UL, 0xffffffff40000000UL, 0, ALL, 0xffffffff40000000UL, 0);
}

static void minmax_cmp_cases(void) {
    FPN_S("fmin.s", S_NZ, S_PZ, S_NZ, 0);
    FPN_S("fmin.s", S_PZ, S_NZ, S_NZ, 0);
    FPN_S("fmax.s", S_NZ, S_PZ, S_PZ, 0);
    FPN_S("fmax.s", S_PZ, S_NZ, S_PZ, 0);
    FPN_S("fmin.s", S_ONE, S_TWO, S_ONE, 0);
    FPN_S("fmax.s", S_MONE, 0xc0000000, S_MONE, 0);
    FPN_S("fmin.s", S_QNAN, S_ONE, S_ONE, 0);
    FPN_S("fmax.s", S_ONE, S_QNAN, S_ONE, 0);
    FPN_S("fmin.s", S_SNAN, S_ONE, S_ONE, NV);
    FPN_S("fmax.s", S_ONE, S_SNAN, S_ONE, NV);
    FPN_S("fmin.s", S_QNAN, S_QNAN, S_QNAN, 0);
    FPN_S("fmax.s", 0xffc00001, 0x7fc00002, S_QNAN, 0);
    FPN_S("fmax.s", S_SNAN, S_SNAN, S_QNAN, NV);
    FPN_S("fmin.s", S_NINF, S_MAX, S_NINF, 0);
    FPN_D("fmin.d", D_NZ, D_PZ, D_NZ, 0);
    FPN_D("fmax.d", D_NZ, D_PZ, D_PZ, 0);
    FPN_D("fmin.d", D_QNAN, D_MONE, D_MONE, 0);
    FPN_D("fmax.d", D_SNAN, D_MONE, D_MONE, NV);
    FPN_D("fmin.d", D_SNAN, D_QNAN, D_QNAN, NV);
    FPN_D("fmax.d", D_INF, D_MAX, D_INF, 0);
    /* compares: feq is quiet, flt/fle signal on any NaN */
    FCMP_S("feq.s", S_ONE, S_ONE, 1, 0);
    FCMP_S("feq.s", S_NZ, S_PZ, 1, 0);
    FCMP_S("flt.s", S_NZ, S_PZ, 0, 0);
    FCMP_S("fle.s", S_NZ, S_PZ, 1, 0);
    FCMP_S("flt.s", S_ONE, S_TWO, 1, 0);
    FCMP_S("flt.s", S_TWO, S_ONE, 0, 0);
    FCMP_S("fle.s", S_TWO, S_TWO, 1, 0);
    FCMP_S("flt.s", S_NINF, S_MONE, 1, 0);
    FCMP_S("feq.s", S_QNAN, S_ONE, 0, 0);
    FCMP_S("feq.s", S_QNAN, S_QNAN, 0, 0);
    FCMP_S("feq.s", S_SNAN, S_ONE, 0, NV);
    FCMP_S("flt.s", S_QNAN, S_ONE, 0, NV);
    FCMP_S("fle.s", S_ONE, S_QNAN, 0, NV);
    FCMP_S("fle.s", S_QNAN, S_QNAN, 0, NV);
    FCMP_D("feq.d", D_ONE, D_ONE, 1, 0);
    FCMP_D("feq.d", D_PZ, D_NZ, 1, 0);
    FCMP_D("flt.d", D_MONE, D_ONE, 1, 0);
    FCMP_D("fle.d", D_ONE, D_MONE, 0, 0);
    FCMP_D("feq.d", D_QNAN, D_QNAN, 0, 0);
    FCMP_D("feq.d", D_SNAN, D_QNAN, 0, NV);
    FCMP_D("flt.d", D_QNAN, D_ONE, 0, NV);
    FCMP_D("fle.d", D_SNAN, D_ONE, 0, NV);
}

static void cvt_cases(void) {
    /* float -> int with rounding */
    FCVT_XS("fcvt.w.s", "rtz", 0x406ccccd, 3, NX);         /* 3.7 */
    FCVT_XS("fcvt.w.s", "rne", 0x406ccccd, 4, NX);
    FCVT_XS("fcvt.w.s", "rne", 0xc0600000, (u64)-4L, NX);  /* -3.5 ties to even */
    FCVT_XS("fcvt.w.s", "rmm", 0xc0600000, (u64)-4L, NX);
    FCVT_XS("fcvt.w.s", "rup", 0xc0600000, (u64)-3L, NX);
    FCVT_XS("fcvt.w.s", "rdn", 0xc0600000, (u64)-4L, NX);
    FCVT_XS("fcvt.w.s", "rtz", 0xc0600000, (u64)-3L, NX);
    FCVT_XS("fcvt.w.s", "rne", 0x40200000, 2, NX);         /* 2.5 -> 2 */
    FCVT_XS("fcvt.w.s", "rmm", 0x40200000, 3, NX);
    FCVT_XD("fcvt.w.d", "rne", 0xc004000000000000UL, (u64)-2L, NX); /* -2.5 */
    FCVT_XD("fcvt.l.d", "rmm", 0xc004000000000000UL, (u64)-3L, NX);
    /* saturation and NV */
    FCVT_XS("fcvt.w.s", "rtz", 0x501502f9, 0x7fffffffUL, NV);           /* 1e10 */
    FCVT_XS("fcvt.w.s", "rtz", 0xd01502f9, 0xffffffff80000000UL, NV);   /* -1e10 */
    FCVT_XS("fcvt.w.s", "rtz", S_QNAN, 0x7fffffffUL, NV);
    FCVT_XS("fcvt.w.s", "rtz", 0xffc00000, 0x7fffffffUL, NV);           /* -NaN: still max */
    FCVT_XS("fcvt.w.s", "rtz", S_INF, 0x7fffffffUL, NV);
    FCVT_XS("fcvt.w.s", "rtz", S_NINF, 0xffffffff80000000UL, NV);
    FCVT_XS("fcvt.w.s", "rtz", 0xcf000000, 0xffffffff80000000UL, 0);    /* -2^31 exact */
    FCVT_XS("fcvt.wu.s", "rtz", S_MONE, 0, NV);
    FCVT_XS("fcvt.wu.s", "rtz", 0xbf000000, 0, NX);                     /* -0.5 -> 0 */
    FCVT_XS("fcvt.wu.s", "rtz", S_QNAN, ALL, NV);                       /* 0xffffffff, sign-extended */
    FCVT_XS("fcvt.wu.s", "rtz", 0x4f9502f9, ALL, NV);                   /* 5e9 */
    FCVT_XS("fcvt.wu.s", "rtz", 0x4f32d05e, 0xffffffffb2d05e00UL, 0);   /* 3e9: result sign-extended */
    FCVT_XS("fcvt.l.s", "rtz", 0x5f000000, 0x7fffffffffffffffUL, NV);   /* 2^63 */
    FCVT_XS("fcvt.l.s", "rtz", 0xdf000000, 0x8000000000000000UL, 0);    /* -2^63 */
    FCVT_XS("fcvt.l.s", "rtz", S_NINF, 0x8000000000000000UL, NV);
    FCVT_XS("fcvt.lu.s", "rtz", 0x5f000000, 0x8000000000000000UL, 0);
    FCVT_XS("fcvt.lu.s", "rtz", 0x5f800000, ALL, NV);                   /* 2^64 */
    FCVT_XS("fcvt.lu.s", "rtz", S_NINF, 0, NV);
    FCVT_XD("fcvt.w.d", "rtz", 0x41dfffffffc00000UL, 0x7fffffffUL, 0);
    FCVT_XD("fcvt.w.d", "rtz", 0x41e0000000000000UL, 0x7fffffffUL, NV);
    FCVT_XD("fcvt.w.d", "rtz", 0xc1e0000000100000UL, 0xffffffff80000000UL, NX); /* -2^31 - 0.5 */
    FCVT_XD("fcvt.w.d", "rne", D_SNAN, 0x7fffffffUL, NV);
    FCVT_XD("fcvt.wu.d", "rtz", 0x41efffffffe00000UL, ALL, 0);          /* 4294967295.0 */
    FCVT_XD("fcvt.wu.d", "rtz", D_MONE, 0, NV);
    FCVT_XD("fcvt.l.d", "rtz", D_QNAN, 0x7fffffffffffffffUL, NV);
    FCVT_XD("fcvt.l.d", "rtz", D_NINF, 0x8000000000000000UL, NV);
    FCVT_XD("fcvt.lu.d", "rtz", D_QNAN, ALL, NV);
    FCVT_XD("fcvt.lu.d", "rtz", D_MONE, 0, NV);
    FCVT_XD("fcvt.lu.d", "rtz", 0x43f0000000000000UL, ALL, NV);         /* 2^64 */
    FCVT_XD("fcvt.l.d", "rtz", 0x4340000000000000UL, 1UL << 53, 0);
    /* int -> float rounding */
    FCVT_SX("fcvt.s.l", "rne", 0x7fffffffffffffffUL, 0x5f000000, NX);
    FCVT_SX("fcvt.s.l", "rtz", 0x7fffffffffffffffUL, 0x5effffff, NX);
    FCVT_SX("fcvt.s.w", "rne", 16777217, 0x4b800000, NX);
    FCVT_SX("fcvt.s.w", "rup", 16777217, 0x4b800001, NX);
    FCVT_SX("fcvt.s.w", "rne", (u64)-1L, S_MONE, 0);
    FCVT_SX("fcvt.s.w", "rne", 0x12345678ffffffffUL, S_MONE, 0);       /* upper bits ignored */
    FCVT_SX("fcvt.s.wu", "rne", 0xffffffffUL, 0x4f800000, NX);
    FCVT_SX("fcvt.s.wu", "rtz", 0xffffffffUL, 0x4f7fffff, NX);
    FCVT_SX("fcvt.s.lu", "rne", ALL, 0x5f800000, NX);
    FCVT_DX("fcvt.d.l", "rne", (1UL << 53) + 1, 0x4340000000000000UL, NX);
    FCVT_DX("fcvt.d.l", "rup", (1UL << 53) + 1, 0x4340000000000001UL, NX);
    FPOP("", "fcvt.d.wu ft3, %2", POST_D, 0xffffffffUL, 0, 0, ALL, 0x41efffffffe00000UL, 0);
    FPOP("", "fcvt.d.w ft3, %2", POST_D, 0xffffffff80000000UL, 0, 0, ALL, 0xc1e0000000000000UL, 0);
    FCVT_DX("fcvt.d.lu", "rne", ALL, 0x43f0000000000000UL, NX);
    FCVT_DX("fcvt.d.l", "rne", 0, 0, 0);
    /* double <-> single */
    FPOP(PRE_D, "fcvt.s.d ft3, ft0, rne", POST_S, 0x3fd5555555555555UL, 0, 0, M32, 0x3eaaaaab, NX);
    FPOP(PRE_D, "fcvt.s.d ft3, ft0, rtz", POST_S, 0x3fd5555555555555UL, 0, 0, M32, 0x3eaaaaaa, NX);
    FPOP(PRE_D, "fcvt.s.d ft3, ft0, rne", POST_S, 0x7e37e43c8800759cUL, 0, 0, M32, S_INF, OF | NX);
    FPOP(PRE_D, "fcvt.s.d ft3, ft0, rtz", POST_S, 0x7e37e43c8800759cUL, 0, 0, M32, S_MAX, OF | NX);
    FPOP(PRE_D, "fcvt.s.d ft3, ft0, rne", POST_S, D_SNAN, 0, 0, M32, S_QNAN, NV);
    FPOP(PRE_D, "fcvt.s.d ft3, ft0, rne", POST_S, 0xfff8000000000123UL, 0, 0, M32, S_QNAN, 0);
    FPOP(PRE_D, "fcvt.s.d ft3, ft0, rne", POST_S, D_MONE, 0, 0, M32, S_MONE, 0);
    FPOP(PRE_S, "fcvt.d.s ft3, ft0", POST_D, S_SNAN, 0, 0, ALL, D_QNAN, NV);
    FPOP(PRE_S, "fcvt.d.s ft3, ft0", POST_D, 0x3eaaaaab, 0, 0, ALL, 0x3fd5555560000000UL, 0);
    FPOP(PRE_S, "fcvt.d.s ft3, ft0", POST_D, 0x00000001, 0, 0, ALL, 0x36a0000000000000UL, 0);
    /* moves do not canonicalise */
    FPOP(PRE_S, "fmv.s ft3, ft0", POST_S, S_SNAN, 0, 0, M32, S_SNAN, 0);
    FPOP(PRE_D, "fmv.d ft3, ft0", POST_D, D_SNAN, 0, 0, ALL, D_SNAN, 0);
    FPOP(PRE_S, "fmv.x.w %0, ft0", "", 0x80000000, 0, 0, ALL, 0xffffffff80000000UL, 0); /* sign-extends */
}

static void fma_cases(void) {
    /* (1+2^-23)^2 - (1+2^-22) = 2^-46 exactly when fused, 0 when not */
    FP3_S("fmadd.s", 0x3f800001, 0x3f800001, 0xbf800002, 0x28800000, 0);
    FPOP(PRE_S, "fmul.s ft3, ft0, ft1, rne\nfadd.s ft3, ft3, ft2, rne", POST_S,
         0x3f800001, 0x3f800001, 0xbf800002, M32, 0, NX);
    FP3_S("fnmadd.s", 0x3f800001, 0x3f800001, 0xbf800002, 0xa8800000, 0);
    FP3_S("fmsub.s", 0x3f800001, 0x3f800001, 0xbf800002, 0x40000002, NX);
    FP3_S("fnmsub.s", 0x3f800001, 0x3f800001, 0xbf800002, 0xc0000002, NX);
    FP3_D("fmadd.d", 0x3ff0000000000001UL, 0x3ff0000000000001UL, 0xbff0000000000002UL,
          0x3970000000000000UL, 0);
    FP3_D("fnmsub.d", 0x3ff0000000000001UL, 0x3ff0000000000001UL, 0x3ff0000000000002UL,
          0xb970000000000000UL, 0);
    FP3_D("fmadd.d", D_TWO, 0x4008000000000000UL, D_ONE, 0x401c000000000000UL, 0); /* 2*3+1 */
    /* inf * 0 + qNaN is invalid */
    FP3_S("fmadd.s", S_INF, S_PZ, S_QNAN, S_QNAN, NV);
    FP3_D("fmadd.d", D_PZ, D_NINF, D_ONE, D_QNAN, NV);
    FP3_S("fmadd.s", S_ONE, S_ONE, S_SNAN, S_QNAN, NV);
    FP3_S("fmadd.s", S_INF, S_ONE, S_NINF, S_QNAN, NV);
}

static void class_sgnj_cases(void) {
    FCLASS_S(S_NINF, 1 << 0);
    FCLASS_S(S_MONE, 1 << 1);
    FCLASS_S(0x80000001, 1 << 2);
    FCLASS_S(S_NZ, 1 << 3);
    FCLASS_S(S_PZ, 1 << 4);
    FCLASS_S(0x007fffff, 1 << 5);
    FCLASS_S(S_MAX, 1 << 6);
    FCLASS_S(S_INF, 1 << 7);
    FCLASS_S(S_SNAN, 1 << 8);
    FCLASS_S(0xff800001, 1 << 8);
    FCLASS_S(S_QNAN, 1 << 9);
    FCLASS_S(0xffffffff, 1 << 9);
    FCLASS_D(D_NINF, 1 << 0);
    FCLASS_D(D_MONE, 1 << 1);
    FCLASS_D(0x800fffffffffffffUL, 1 << 2);
    FCLASS_D(D_NZ, 1 << 3);
    FCLASS_D(D_PZ, 1 << 4);
    FCLASS_D(1, 1 << 5);
    FCLASS_D(D_MIN, 1 << 6);
    FCLASS_D(D_INF, 1 << 7);
    FCLASS_D(D_SNAN, 1 << 8);
    FCLASS_D(D_QNAN, 1 << 9);
    FPN_S("fsgnj.s", S_ONE, 0xc0000000, S_MONE, 0);
    FPN_S("fsgnj.s", S_MONE, S_TWO, S_ONE, 0);
    FPN_S("fsgnjn.s", S_ONE, 0xc0000000, S_ONE, 0);
    FPN_S("fsgnjn.s", S_ONE, S_TWO, S_MONE, 0);
    FPN_S("fsgnjx.s", S_MONE, 0xc0000000, S_ONE, 0);
    FPN_S("fsgnjx.s", S_MONE, S_TWO, S_MONE, 0);
    FPN_S("fsgnjx.s", S_ONE, 0xc0000000, S_MONE, 0);
    FPN_S("fsgnjn.s", S_QNAN, S_QNAN, 0xffc00000, 0); /* NaN sign flipped, no NV */
    FPN_S("fsgnj.s", S_SNAN, S_NZ, 0xff800001, 0);
    FPN_D("fsgnj.d", D_ONE, D_MONE, D_MONE, 0);
    FPN_D("fsgnjn.d", D_MONE, D_MONE, D_ONE, 0);
    FPN_D("fsgnjx.d", D_MONE, D_MONE, D_ONE, 0);
    FPN_D("fsgnjx.d", D_SNAN, D_NZ, 0xfff0000000000001UL, 0);
}

static void dyn_rm_cases(void) {
    static const struct { u64 frm, pos, neg; } t[] = {
        {0, 0x3eaaaaab, 0xbeaaaaab}, /* rne */
        {1, 0x3eaaaaaa, 0xbeaaaaaa}, /* rtz */
        {2, 0x3eaaaaaa, 0xbeaaaaab}, /* rdn */
        {3, 0x3eaaaaab, 0xbeaaaaaa}, /* rup */
        {4, 0x3eaaaaab, 0xbeaaaaab}, /* rmm */
    };
    for (unsigned i = 0; i < 5; i++) {
        csr_write(frm, t[i].frm);
        FP2_S("fdiv.s", "dyn", S_ONE, 0x40400000, t[i].pos, NX);
        FP2_S("fdiv.s", "dyn", S_MONE, 0x40400000, t[i].neg, NX);
        CHECK_EQ(csr_read(frm), t[i].frm);
    }
    /* dynamic conversions follow frm too */
    csr_write(frm, 4);
    FCVT_XS("fcvt.w.s", "dyn", 0x40200000, 3, NX);
    csr_write(frm, 2);
    FCVT_XS("fcvt.w.s", "dyn", 0x40200000, 2, NX);
    FCVT_XS("fcvt.w.s", "dyn", 0xc0200000, (u64)-3L, NX);
    /* invalid frm values make dynamic-rm instructions illegal */
    for (u64 bad = 5; bad <= 7; bad++) {
        csr_write(frm, bad);
        trap_arm();
        asm volatile("fadd.s ft0, ft1, ft2, dyn" ::: "ft0");
        trap_disarm();
        CHECK_EQ(trap_count, 1);
        CHECK_EQ(trap_cause, CAUSE_ILLEGAL);
        /* instructions without a rounding mode still work */
        trap_arm();
        asm volatile("fsgnj.s ft0, ft1, ft2\nfmv.x.w t0, ft0\nfeq.s t0, ft0, ft1" ::: "ft0", "t0");
        trap_disarm();
        CHECK_EQ(trap_count, 0);
    }
    csr_write(frm, 0);
    /* invalid static rounding modes 5 and 6 (fadd.s ft0, ft1, ft2, rm) */
    trap_arm();
    asm volatile(".word 0x0020d053" ::: "ft0");
    trap_disarm();
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(trap_cause, CAUSE_ILLEGAL);
    CHECK_EQ(trap_tval, 0x0020d053);
    trap_arm();
    asm volatile(".word 0x0220e053" ::: "ft0"); /* fadd.d, rm = 6 */
    trap_disarm();
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(trap_cause, CAUSE_ILLEGAL);
    CHECK_EQ(trap_tval, 0x0220e053);
}

static void fs_cases(void) {
    /* FS = Off: every FP instruction and FP CSR access is illegal */
    csr_clear(mstatus, MSTATUS_FS);
    trap_arm();
    asm volatile("fadd.s ft0, ft1, ft2\nfmv.x.d t0, ft0\nfld ft0, 0(sp)\ncsrr t0, fflags\ncsrr t0, fcsr"
                 ::: "ft0", "t0", "memory");
    trap_disarm();
    CHECK_EQ(trap_count, 5);
    CHECK_EQ(trap_cause, CAUSE_ILLEGAL);
    /* FS = Initial, then an FP write makes it Dirty (and SD set) */
    csr_set(mstatus, 1UL << 13);
    CHECK_EQ((csr_read(mstatus) >> 13) & 3, 1);
    asm volatile("fmv.w.x ft0, x0" ::: "ft0");
    u64 ms = csr_read(mstatus);
    CHECK_EQ((ms >> 13) & 3, 3);
    CHECK_EQ(ms >> 63, 1);
    csr_set(mstatus, MSTATUS_FS);
}

int main(void) {
    fp_round_cases();
    flag_cases();
    nanbox_cases();
    minmax_cmp_cases();
    cvt_cases();
    fma_cases();
    class_sgnj_cases();
    dyn_rm_cases();
    fs_cases();
    return 0;
}
