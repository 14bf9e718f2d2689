/* Zfh: prints every half-precision operation's results and flags over a
 * grid of operands (zeros, subnormals, normals, the largest, infinities,
 * NaNs) in every rounding mode, one checksum line per operation and first
 * operand, for tests that compare them with QEMU's (-cpu rv64,Zfh=true).
 * Without Zfh it prints "zfh: illegal" (and Zfhmin's conversions' status). */
#include "common.h"

#define TRY(insn) ({ trap_arm(); asm volatile(insn ::: "t0", "ft0", "memory"); trap_disarm(); trap_count; })

static const u16 vals[] = {0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x3555, 0x3c00, 0xbe00, 0x4100,
                           0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00, 0x7d01, 0x5bf8, 0x1400, 0xc880};
#define NVALS (sizeof vals / sizeof vals[0])

static u64 hash;
static void mix(u64 v) { hash = (hash ^ v) * 0x100000001b3UL; }
static u64 box(u16 h) { return 0xffffffffffff0000UL | h; }

static void line(const char *what, u64 a) {
    uart_puts(what);
    uart_puts(" ");
    uart_puthex(a);
    uart_puts(": ");
    uart_puthex(hash);
    uart_puts("\n");
}

/* Runs `insn` (fd = f0, fs1 = f1, fs2 = f2, fs3 = f3; integer result in t0)
 * with rounding mode rm (dynamic, via frm) and mixes result and flags. */
#define OP(insn, a, b, c) do { \
    u64 __f, __x; \
    asm volatile("fmv.d.x f1, %2\nfmv.d.x f2, %3\nfmv.d.x f3, %4\ncsrw fflags, zero\n" insn \
                 "\nfmv.x.d %0, f0\ncsrr %1, fflags" : "=&r"(__f), "=&r"(__x) : "r"(a), "r"(b), "r"(c) \
                 : "f0", "f1", "f2", "f3", "t0", "memory"); \
    mix(__f); mix(__x); \
} while (0)
#define IOP(insn, a) do { \
    u64 __r, __x; \
    asm volatile("fmv.d.x f1, %2\ncsrw fflags, zero\n" insn "\ncsrr %1, fflags" \
                 : "=&r"(__r), "=&r"(__x) : "r"(a) : "f1", "memory"); \
    mix(__r); mix(__x); \
} while (0)

int main(void) {
    csr_set(mstatus, MSTATUS_FS);
    int zfhmin = !TRY("fcvt.s.h ft0, ft0");
    uart_puts(zfhmin ? "zfhmin: ok\n" : "zfhmin: illegal\n");
    if (TRY("fadd.h ft0, ft0, ft0")) {
        uart_puts("zfh: illegal\n");
        finish();
    }
    uart_puts("zfh: ok\n");
    for (unsigned i = 0; i < NVALS; i++) {
        u64 a = box(vals[i]);
        const char *names[] = {"fadd.h", "fsub.h", "fmul.h", "fdiv.h", "fmadd.h", "fnmsub.h"};
        for (unsigned op = 0; op < 6; op++) {
            hash = 0xcbf29ce484222325UL;
            for (unsigned j = 0; j < NVALS; j++) {
                u64 b = box(vals[j]), c = box(vals[(i + j) % NVALS]);
                for (u64 rm = 0; rm < 5; rm++) {
                    csr_write(frm, rm);
                    switch (op) {
                    case 0: OP("fadd.h f0, f1, f2", a, b, c); break;
                    case 1: OP("fsub.h f0, f1, f2", a, b, c); break;
                    case 2: OP("fmul.h f0, f1, f2", a, b, c); break;
                    case 3: OP("fdiv.h f0, f1, f2", a, b, c); break;
                    case 4: OP("fmadd.h f0, f1, f2, f3", a, b, c); break;
                    default: OP("fnmsub.h f0, f1, f2, f3", a, b, c); break;
                    }
                }
            }
            line(names[op], vals[i]);
        }
        /* one-operand and comparison operations */
        hash = 0xcbf29ce484222325UL;
        for (u64 rm = 0; rm < 5; rm++) {
            csr_write(frm, rm);
            OP("fsqrt.h f0, f1", a, a, a);
            OP("fcvt.s.h f0, f1", a, a, a);
            OP("fcvt.d.h f0, f1", a, a, a);
            IOP("fcvt.w.h %0, f1", a);
            IOP("fcvt.wu.h %0, f1", a);
            IOP("fcvt.l.h %0, f1", a);
            IOP("fcvt.lu.h %0, f1", a);
        }
        IOP("fclass.h %0, f1", a);
        IOP("fmv.x.h %0, f1", a);
        line("unary", vals[i]);
        hash = 0xcbf29ce484222325UL;
        for (unsigned j = 0; j < NVALS; j++) {
            u64 b = box(vals[j]);
            OP("fmin.h f0, f1, f2", a, b, b);
            OP("fmax.h f0, f1, f2", a, b, b);
            OP("fsgnj.h f0, f1, f2", a, b, b);
            OP("fsgnjn.h f0, f1, f2", a, b, b);
            OP("fsgnjx.h f0, f1, f2", a, b, b);
            u64 r, x;
            asm volatile("fmv.d.x f1, %2\nfmv.d.x f2, %3\ncsrw fflags, zero\nfeq.h t0, f1, f2\nflt.h t1, f1, f2\n"
                         "fle.h %0, f1, f2\nslli t0, t0, 2\nslli t1, t1, 1\nor %0, %0, t0\nor %0, %0, t1\n"
                         "csrr %1, fflags" : "=&r"(r), "=&r"(x) : "r"(a), "r"(b) : "f1", "f2", "t0", "t1");
            mix(r); mix(x);
        }
        line("binary", vals[i]);
    }
    /* to half from single, double and integers, in every mode */
    const u64 singles[] = {0x3eaaaaab, 0x477fe000, 0x477ff000, 0x33800000, 0x33000001, 0x7f800001, 0xc2c80000};
    const u64 doubles[] = {0x3fd5555555555555, 0x40effe0000000000, 0x3e70000000000000, 0x7ff0000000000001};
    const u64 ints[] = {0, 1, 65504, 65520, 100000, (u64)-3, 0x7fffffffffffffff, 2049};
    hash = 0xcbf29ce484222325UL;
    for (u64 rm = 0; rm < 5; rm++) {
        csr_write(frm, rm);
        for (unsigned k = 0; k < 7; k++)
            OP("fcvt.h.s f0, f1", 0xffffffff00000000UL | singles[k], 0, 0);
        for (unsigned k = 0; k < 4; k++)
            OP("fcvt.h.d f0, f1", doubles[k], 0, 0);
        for (unsigned k = 0; k < 8; k++) {
            u64 r, x;
            asm volatile("csrw fflags, zero\nfcvt.h.l f0, %2\nfmv.x.d %0, f0\ncsrr %1, fflags\n"
                         "fcvt.h.wu f0, %2\nfmv.x.d t0, f0\nxor %0, %0, t0"
                         : "=&r"(r), "=&r"(x) : "r"(ints[k]) : "f0", "t0");
            mix(r); mix(x);
        }
    }
    line("to half", 0);
    /* NaN boxing: a half that is not boxed reads as the canonical NaN; flh boxes; fsh stores 16 bits */
    hash = 0xcbf29ce484222325UL;
    OP("fadd.h f0, f1, f2", 0x3c00, box(0x3c00), 0);
    OP("fmv.h.x f0, %2", 0x123456789abc3c00UL, 0, 0);
    static volatile u64 mem = 0x1111222233334444UL;
    u64 r;
    asm volatile("flh f0, 2(%1)\nfmv.x.d %0, f0\nfsh f0, 4(%1)" : "=r"(r) : "r"(&mem) : "f0", "memory");
    mix(r); mix(mem);
    line("boxing", 0);
    finish();
}
