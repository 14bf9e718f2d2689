/* Zbkb, the bit manipulation of the scalar cryptography extensions: pack,
 * packh, packw and brev8, and the operations it shares with Zbb (rotations,
 * andn/orn/xnor, rev8, zext.h), against plain C models. Tests run it with
 * -cpu rv64,zbkb=on (and zbb=off); without Zbkb it prints "zbkb: illegal". */
#include "common.h"

#define ZBKB ".option push\n.option arch, +zbkb\n"
#define R(name) static u64 name(u64 a, u64 b) { u64 r; \
    asm volatile(ZBKB #name " %0,%1,%2\n.option pop" : "=r"(r) : "r"(a), "r"(b)); return r; }
#define U(name, insn) static u64 name(u64 a) { u64 r; \
    asm volatile(ZBKB insn " %0,%1\n.option pop" : "=r"(r) : "r"(a)); return r; }

R(pack) R(packh) R(packw) R(andn) R(orn) R(xnor) R(rol) R(ror) R(rolw) R(rorw)
#define I(name, insn, sh) static u64 name(u64 a) { u64 r; \
    asm volatile(ZBKB insn " %0,%1," #sh "\n.option pop" : "=r"(r) : "r"(a)); return r; }

U(brev8, "brev8") U(rev8, "rev8") I(rori_13, "rori", 13) I(roriw_7, "roriw", 7)
/* zext.h is packw with rs2 = x0 */
I(zext_h, "packw", x0)

static u64 sx32(u64 v) { return (u64)(i64)(i32)(u32)v; }
static u64 m_rotl(u64 a, unsigned s) { s &= 63; return s ? (a << s) | (a >> (64 - s)) : a; }
static u64 m_rotl32(u64 a, unsigned s) { u32 x = (u32)a; s &= 31; return sx32(s ? (x << s) | (x >> (32 - s)) : x); }
static u64 m_rev8(u64 a) { u64 r = 0; for (int i = 0; i < 8; i++) r |= ((a >> (8 * i)) & 0xff) << (56 - 8 * i); return r; }
static u64 m_brev8(u64 a) {
    u64 r = 0;
    for (int i = 0; i < 64; i++)
        if ((a >> i) & 1)
            r |= 1UL << ((i & ~7) | (7 - (i & 7)));
    return r;
}

static u64 state = 0x2545f4914f6cdd1dUL;
static u64 next(void) { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state; }

static const u64 edges[] = {0, 1, 0x80, 0xff, 0x8000, 0xffff, 0x7fffffff, 0x80000000UL, 0xffffffffUL,
                            0x100000000UL, 0x8000000000000000UL, ~0UL, 0x0123456789abcdefUL};
#define EDGES (sizeof(edges) / sizeof(edges[0]))

static void check_pair(u64 a, u64 b) {
    CHECK_EQ(pack(a, b), (u32)a | b << 32);
    CHECK_EQ(packh(a, b), (a & 0xff) | (b & 0xff) << 8);
    CHECK_EQ(packw(a, b), sx32((a & 0xffff) | (b & 0xffff) << 16));
    CHECK_EQ(andn(a, b), a & ~b);
    CHECK_EQ(orn(a, b), a | ~b);
    CHECK_EQ(xnor(a, b), ~(a ^ b));
    CHECK_EQ(rol(a, b), m_rotl(a, b & 63));
    CHECK_EQ(ror(a, b), m_rotl(a, (64 - (b & 63)) & 63));
    CHECK_EQ(rolw(a, b), m_rotl32(a, b & 31));
    CHECK_EQ(rorw(a, b), m_rotl32(a, (32 - (b & 31)) & 31));
}

static void check_one(u64 a) {
    CHECK_EQ(brev8(a), m_brev8(a));
    CHECK_EQ(rev8(a), m_rev8(a));
    CHECK_EQ(rori_13(a), m_rotl(a, 64 - 13));
    CHECK_EQ(roriw_7(a), m_rotl32(a, 32 - 7));
    CHECK_EQ(zext_h(a), a & 0xffff);
}

int main(void) {
    trap_arm();
    asm volatile(".insn r 0x33, 4, 0x04, t0, t1, t1" ::: "t0"); /* pack */
    trap_disarm();
    if (trap_count) {
        uart_puts("zbkb: illegal\n");
        finish();
    }
    for (unsigned i = 0; i < EDGES; i++) {
        check_one(edges[i]);
        for (unsigned j = 0; j < EDGES; j++)
            check_pair(edges[i], edges[j]);
    }
    for (int n = 0; n < 300; n++) {
        u64 a = next(), b = next();
        check_one(a);
        check_pair(a, b);
    }
    uart_puts("zbkb: ok\n");
    finish();
}
