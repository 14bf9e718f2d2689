/* The bit-manipulation extensions of QEMU's default CPU: Zba, Zbb, Zbc, Zbs.
 * Each instruction runs on edge values and pseudo-random ones, against a plain
 * C model of its definition in the spec (compiled for rv64gc, so the model
 * uses none of the instructions it checks). */
#include "common.h"

#define ZB ".option push\n.option arch, +zba, +zbb, +zbc, +zbs\n"
#define R(name) static u64 name(u64 a, u64 b) { u64 r; \
    asm volatile(ZB #name " %0,%1,%2\n.option pop" : "=r"(r) : "r"(a), "r"(b)); return r; }
#define U(name, insn) static u64 name(u64 a) { u64 r; \
    asm volatile(ZB insn " %0,%1\n.option pop" : "=r"(r) : "r"(a)); return r; }
#define I(name, insn, sh) static u64 name(u64 a) { u64 r; \
    asm volatile(ZB insn " %0,%1," #sh "\n.option pop" : "=r"(r) : "r"(a)); return r; }

R(sh1add) R(sh2add) R(sh3add) R(andn) R(orn) R(xnor) R(max) R(maxu) R(min) R(minu)
R(rol) R(rolw) R(ror) R(rorw) R(clmul) R(clmulh) R(clmulr) R(bclr) R(bext) R(binv) R(bset)
#define add_uw(a, b) add_uw_(a, b)
static u64 add_uw_(u64 a, u64 b) { u64 r; asm volatile(ZB "add.uw %0,%1,%2\n.option pop" : "=r"(r) : "r"(a), "r"(b)); return r; }
static u64 sh1add_uw(u64 a, u64 b) { u64 r; asm volatile(ZB "sh1add.uw %0,%1,%2\n.option pop" : "=r"(r) : "r"(a), "r"(b)); return r; }
static u64 sh2add_uw(u64 a, u64 b) { u64 r; asm volatile(ZB "sh2add.uw %0,%1,%2\n.option pop" : "=r"(r) : "r"(a), "r"(b)); return r; }
static u64 sh3add_uw(u64 a, u64 b) { u64 r; asm volatile(ZB "sh3add.uw %0,%1,%2\n.option pop" : "=r"(r) : "r"(a), "r"(b)); return r; }
U(clz, "clz") U(clzw, "clzw") U(ctz, "ctz") U(ctzw, "ctzw") U(cpop, "cpop") U(cpopw, "cpopw")
U(sext_b, "sext.b") U(sext_h, "sext.h") U(zext_h, "zext.h") U(orc_b, "orc.b") U(rev8, "rev8")
I(slli_uw_5, "slli.uw", 5) I(rori_13, "rori", 13) I(roriw_7, "roriw", 7)
I(bclri_45, "bclri", 45) I(bexti_45, "bexti", 45) I(binvi_3, "binvi", 3) I(bseti_63, "bseti", 63)

/* The models. */
static u64 sx32(u64 v) { return (u64)(i64)(i32)(u32)v; }
static u64 m_clz(u64 a, int w) { u64 n = 0; for (int i = w - 1; i >= 0 && !((a >> i) & 1); i--) n++; return n; }
static u64 m_ctz(u64 a, int w) { u64 n = 0; for (int i = 0; i < w && !((a >> i) & 1); i++) n++; return n; }
static u64 m_cpop(u64 a) { u64 n = 0; for (int i = 0; i < 64; i++) n += (a >> i) & 1; return n; }
static u64 m_rotl(u64 a, unsigned s) { s &= 63; return s ? (a << s) | (a >> (64 - s)) : a; }
static u64 m_rotl32(u64 a, unsigned s) { u32 x = (u32)a; s &= 31; return sx32(s ? (x << s) | (x >> (32 - s)) : x); }
static u64 m_clmul(u64 a, u64 b) { u64 r = 0; for (int i = 0; i < 64; i++) if ((b >> i) & 1) r ^= a << i; return r; }
static u64 m_clmulh(u64 a, u64 b) { u64 r = 0; for (int i = 1; i < 64; i++) if ((b >> i) & 1) r ^= a >> (64 - i); return r; }
static u64 m_clmulr(u64 a, u64 b) { u64 r = 0; for (int i = 0; i < 64; i++) if ((b >> i) & 1) r ^= a >> (63 - i); return r; }
static u64 m_orc_b(u64 a) { u64 r = 0; for (int i = 0; i < 64; i += 8) if ((a >> i) & 0xff) r |= 0xffUL << i; return r; }
static u64 m_rev8(u64 a) { u64 r = 0; for (int i = 0; i < 8; i++) r |= ((a >> (8 * i)) & 0xff) << (56 - 8 * i); return r; }

static u64 state = 0x9e3779b97f4a7c15UL;
static u64 next(void) { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state; }

static const u64 edges[] = {0, 1, 2, 0x7f, 0x80, 0xff, 0x8000, 0xffff, 0x7fffffff, 0x80000000UL,
                            0xffffffffUL, 0x100000000UL, 0x7fffffffffffffffUL, 0x8000000000000000UL, ~0UL};
#define EDGES (sizeof(edges) / sizeof(edges[0]))

static void check_pair(u64 a, u64 b) {
    CHECK_EQ(sh1add(a, b), b + (a << 1));
    CHECK_EQ(sh2add(a, b), b + (a << 2));
    CHECK_EQ(sh3add(a, b), b + (a << 3));
    CHECK_EQ(add_uw(a, b), b + (u32)a);
    CHECK_EQ(sh1add_uw(a, b), b + ((u64)(u32)a << 1));
    CHECK_EQ(sh2add_uw(a, b), b + ((u64)(u32)a << 2));
    CHECK_EQ(sh3add_uw(a, b), b + ((u64)(u32)a << 3));
    CHECK_EQ(andn(a, b), a & ~b);
    CHECK_EQ(orn(a, b), a | ~b);
    CHECK_EQ(xnor(a, b), ~(a ^ b));
    CHECK_EQ(max(a, b), (i64)a > (i64)b ? a : b);
    CHECK_EQ(maxu(a, b), a > b ? a : b);
    CHECK_EQ(min(a, b), (i64)a < (i64)b ? a : b);
    CHECK_EQ(minu(a, b), a < b ? a : b);
    CHECK_EQ(rol(a, b), m_rotl(a, b & 63));
    CHECK_EQ(ror(a, b), m_rotl(a, (64 - (b & 63)) & 63));
    CHECK_EQ(rolw(a, b), m_rotl32(a, b & 31));
    CHECK_EQ(rorw(a, b), m_rotl32(a, (32 - (b & 31)) & 31));
    CHECK_EQ(clmul(a, b), m_clmul(a, b));
    CHECK_EQ(clmulh(a, b), m_clmulh(a, b));
    CHECK_EQ(clmulr(a, b), m_clmulr(a, b));
    CHECK_EQ(bclr(a, b), a & ~(1UL << (b & 63)));
    CHECK_EQ(bext(a, b), (a >> (b & 63)) & 1);
    CHECK_EQ(binv(a, b), a ^ (1UL << (b & 63)));
    CHECK_EQ(bset(a, b), a | (1UL << (b & 63)));
}

static void check_one(u64 a) {
    CHECK_EQ(clz(a), m_clz(a, 64));
    CHECK_EQ(clzw(a), m_clz((u32)a, 32));
    CHECK_EQ(ctz(a), m_ctz(a, 64));
    /* QEMU 7.2 answers 63 for ctzw of 0x8000000000000000 (its upper word leaks in);
     * the spec, and rewind, say 32. Left out so the program passes under both. */
    if ((u32)a != 0 || !(a >> 63))
        CHECK_EQ(ctzw(a), m_ctz((u32)a, 32));
    CHECK_EQ(cpop(a), m_cpop(a));
    CHECK_EQ(cpopw(a), m_cpop((u32)a));
    CHECK_EQ(sext_b(a), (u64)(i64)(int8_t)a);
    CHECK_EQ(sext_h(a), (u64)(i64)(int16_t)a);
    CHECK_EQ(zext_h(a), a & 0xffff);
    CHECK_EQ(orc_b(a), m_orc_b(a));
    CHECK_EQ(rev8(a), m_rev8(a));
    CHECK_EQ(slli_uw_5(a), (u64)(u32)a << 5);
    CHECK_EQ(rori_13(a), m_rotl(a, 64 - 13));
    CHECK_EQ(roriw_7(a), m_rotl32(a, 32 - 7));
    CHECK_EQ(bclri_45(a), a & ~(1UL << 45));
    CHECK_EQ(bexti_45(a), (a >> 45) & 1);
    CHECK_EQ(binvi_3(a), a ^ (1UL << 3));
    CHECK_EQ(bseti_63(a), a | (1UL << 63));
}

int main(void) {
    for (unsigned i = 0; i < EDGES; i++) {
        check_one(edges[i]);
        for (unsigned j = 0; j < EDGES; j++)
            check_pair(edges[i], edges[j]);
    }
    for (int n = 0; n < 300; n++) {
        u64 a = next(), b = next();
        check_one(a);
        check_pair(a, b);
        check_pair(a, b & 63);
    }
    finish();
}
