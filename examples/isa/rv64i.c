/* RV64I: ALU (register, immediate, W-forms, shifts), lui/auipc, branches,
 * jal/jalr, loads/stores of every width, misaligned accesses, x0. */
#include "common.h"

#define RR(op, a, b) ({ u64 __r; asm volatile(op " %0, %1, %2" : "=r"(__r) : "r"((u64)(a)), "r"((u64)(b))); __r; })
#define RI(op, a, imm) ({ u64 __r; asm volatile(op " %0, %1, %2" : "=r"(__r) : "r"((u64)(a)), "i"(imm)); __r; })

#include "rv64i_alu.h"

/* taken forward: returns 1 if the branch is taken */
#define BRF(op, a, b) ({ u64 __t; asm volatile( \
    ".option push\n.option norvc\n" \
    "li %0, 1\n" op " %1, %2, 1f\nli %0, 0\n1:\n.option pop" \
    : "=&r"(__t) : "r"((u64)(a)), "r"((u64)(b))); __t; })
/* backward branch variant */
#define BRB(op, a, b) ({ u64 __t; asm volatile( \
    ".option push\n.option norvc\n" \
    "li %0, 0\nj 2f\n1: li %0, 1\nj 3f\n2: " op " %1, %2, 1b\n3:\n.option pop" \
    : "=&r"(__t) : "r"((u64)(a)), "r"((u64)(b))); __t; })

static const u64 bvals[] = {0, 1, 2, ~0UL, 0x7fffffffffffffffUL, 0x8000000000000000UL,
                            0x80000000UL, 0xffffffff80000000UL};
#define NB (sizeof(bvals) / sizeof(bvals[0]))

static void branch_cases(void) {
    for (unsigned i = 0; i < NB; i++)
        for (unsigned j = 0; j < NB; j++) {
            u64 a = bvals[i], b = bvals[j];
            i64 sa = (i64)a, sb = (i64)b;
            CHECK_EQ(BRF("beq", a, b), a == b);
            CHECK_EQ(BRF("bne", a, b), a != b);
            CHECK_EQ(BRF("blt", a, b), sa < sb);
            CHECK_EQ(BRF("bge", a, b), sa >= sb);
            CHECK_EQ(BRF("bltu", a, b), a < b);
            CHECK_EQ(BRF("bgeu", a, b), a >= b);
            CHECK_EQ(BRB("beq", a, b), a == b);
            CHECK_EQ(BRB("bne", a, b), a != b);
            CHECK_EQ(BRB("blt", a, b), sa < sb);
            CHECK_EQ(BRB("bge", a, b), sa >= sb);
            CHECK_EQ(BRB("bltu", a, b), a < b);
            CHECK_EQ(BRB("bgeu", a, b), a >= b);
        }
}

static void upper_cases(void) {
    u64 r, p1, p2;
    asm volatile("lui %0, 0x80000" : "=r"(r));
    CHECK_EQ(r, 0xffffffff80000000UL);
    asm volatile("lui %0, 0x7ffff" : "=r"(r));
    CHECK_EQ(r, 0x7ffff000UL);
    asm volatile("lui %0, 0xfffff" : "=r"(r));
    CHECK_EQ(r, 0xfffffffffffff000UL);
    asm volatile("lui %0, 0x12345" : "=r"(r));
    CHECK_EQ(r, 0x12345000UL);
    asm volatile("lui %0, 0" : "=r"(r));
    CHECK_EQ(r, 0);
    /* auipc: relative to its own pc */
    asm volatile(".option push\n.option norvc\n"
                 "auipc %0, 0\nauipc %1, 1\nauipc %2, 0x80000\n.option pop"
                 : "=r"(p1), "=r"(p2), "=r"(r));
    CHECK_EQ(p1 >> 31, 1);        /* running at 0x8000_0000+ */
    CHECK_EQ(p2, p1 + 4 + 0x1000);
    CHECK_EQ(r, p1 + 8 - 0x80000000UL);
    asm volatile(".option push\n.option norvc\n"
                 "auipc %0, 0\nauipc %1, 0xfffff\n.option pop"
                 : "=r"(p1), "=r"(p2));
    CHECK_EQ(p2, p1 + 4 - 0x1000);
    /* writes to x0 are discarded */
    asm volatile("addi x0, x0, 5\nlui x0, 0x12345\nmv %0, x0" : "=r"(r));
    CHECK_EQ(r, 0);
    asm volatile("li t0, 7\nadd x0, t0, t0\nmv %0, x0" : "=r"(r) : : "t0");
    CHECK_EQ(r, 0);
}

static void jump_cases(void) {
    u64 link, pc, t;
    /* jal: link = pc + 4 */
    asm volatile(".option push\n.option norvc\n"
                 "jal %0, 1f\n1: auipc %1, 0\n.option pop" : "=r"(link), "=r"(pc));
    CHECK_EQ(link, pc);
    /* jal forward skipping an instruction, and backward */
    asm volatile(".option push\n.option norvc\n"
                 "li %0, 0\n"
                 "j 2f\n"
                 "1: addi %0, %0, 10\n j 3f\n"
                 "2: addi %0, %0, 1\n jal x0, 1b\n"
                 "addi %0, %0, 100\n"
                 "3:\n.option pop" : "=&r"(t));
    CHECK_EQ(t, 11);
    /* jalr with odd target: lsb cleared; link = pc + 4 */
    asm volatile(".option push\n.option norvc\n"
                 "lla %1, 1f\n"
                 "addi %1, %1, -1\n"
                 "jalr %0, 2(%1)\n"         /* target = (1f + 1) & ~1 = 1f */
                 "nop\n"
                 "1: auipc %1, 0\n.option pop" : "=&r"(link), "=&r"(pc));
    CHECK_EQ(link, pc - 4);
    /* jalr with rd == rs1: target computed from the old value */
    asm volatile(".option push\n.option norvc\n"
                 "lla %0, 1f\n"
                 "jalr %0, 0(%0)\n"
                 "1: auipc %1, 0\n.option pop" : "=&r"(link), "=&r"(pc));
    CHECK_EQ(link, pc);
    /* jalr negative offset */
    asm volatile(".option push\n.option norvc\n"
                 "li %1, 0\n"
                 "j 2f\n"
                 "1: li %1, 42\n j 3f\n"
                 "2: lla %0, 1b\n"
                 "addi %0, %0, 16\n"
                 "jalr x0, -16(%0)\n"
                 "li %1, 99\n"
                 "3:\n.option pop" : "=&r"(t), "=&r"(link));
    CHECK_EQ(link, 42);
}

static u8 mem[64] __attribute__((aligned(16)));

#define LD(op, off) ({ u64 __r; asm volatile(op " %0, %1(%2)" : "=r"(__r) : "i"(off), "r"(mem) : "memory"); __r; })
#define LDP(op, p) ({ u64 __r; asm volatile(op " %0, 0(%1)" : "=r"(__r) : "r"(p) : "memory"); __r; })
#define STP(op, p, v) asm volatile(op " %1, 0(%0)" :: "r"(p), "r"((u64)(v)) : "memory")

static u64 le(unsigned off, unsigned n) {
    u64 v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (u64)mem[off + i] << (8 * i);
    return v;
}
static u64 sx(u64 v, unsigned bits) {
    return (u64)((i64)(v << (64 - bits)) >> (64 - bits));
}
static void fill(void) {
    static const u8 pat[16] = {0x81, 0x72, 0xe3, 0x14, 0xa5, 0x96, 0x07, 0xf8,
                               0x7f, 0x80, 0xff, 0x00, 0x01, 0xfe, 0x55, 0xaa};
    for (unsigned i = 0; i < sizeof(mem); i++)
        mem[i] = pat[i % 16] ^ (u8)(i / 16);
}

static void loadstore_cases(void) {
    fill();
    /* aligned loads with sign and zero extension, explicit values */
    CHECK_EQ(LD("lb", 0), 0xffffffffffffff81UL);
    CHECK_EQ(LD("lbu", 0), 0x81);
    CHECK_EQ(LD("lb", 1), 0x72);
    CHECK_EQ(LD("lh", 0), 0x7281);
    CHECK_EQ(LD("lh", 2), 0x14e3);
    CHECK_EQ(LD("lh", 8), 0xffffffffffff807fUL);
    CHECK_EQ(LD("lhu", 8), 0x807f);
    CHECK_EQ(LD("lw", 0), 0x14e37281);
    CHECK_EQ(LD("lw", 4), 0xfffffffff80796a5UL);
    CHECK_EQ(LD("lwu", 4), 0xf80796a5UL);
    CHECK_EQ(LD("ld", 0), 0xf80796a514e37281UL);
    CHECK_EQ(LD("ld", 8), 0xaa55fe0100ff807fUL);
    /* every offset, every width, aligned ones */
    for (unsigned off = 0; off < 32; off++) {
        CHECK_EQ(LDP("lb", mem + off), sx(le(off, 1), 8));
        CHECK_EQ(LDP("lbu", mem + off), le(off, 1));
        if (!(off & 1)) {
            CHECK_EQ(LDP("lh", mem + off), sx(le(off, 2), 16));
            CHECK_EQ(LDP("lhu", mem + off), le(off, 2));
        }
        if (!(off & 3)) {
            CHECK_EQ(LDP("lw", mem + off), sx(le(off, 4), 32));
            CHECK_EQ(LDP("lwu", mem + off), le(off, 4));
        }
        if (!(off & 7))
            CHECK_EQ(LDP("ld", mem + off), le(off, 8));
    }
    /* stores only touch their bytes */
    for (unsigned i = 0; i < 16; i++)
        mem[i] = 0;
    STP("sb", mem + 1, 0x123456789abcdeffUL);
    CHECK_EQ(LD("ld", 0), 0xff00UL);
    STP("sh", mem + 2, 0x123456789abcbeefUL);
    CHECK_EQ(LD("ld", 0), 0xbeefff00UL);
    STP("sw", mem + 4, 0x12345678cafef00dUL);
    CHECK_EQ(LD("ld", 0), 0xcafef00dbeefff00UL);
    STP("sd", mem + 8, 0x0123456789abcdefUL);
    CHECK_EQ(LD("ld", 8), 0x0123456789abcdefUL);
    CHECK_EQ(LD("ld", 0), 0xcafef00dbeefff00UL);
    STP("sw", mem + 12, 0);
    CHECK_EQ(LD("ld", 8), 0x0000000089abcdefUL);
    /* negative offsets */
    {
        u64 r;
        asm volatile("ld %0, -8(%1)" : "=r"(r) : "r"(mem + 16) : "memory");
        CHECK_EQ(r, 0x0000000089abcdefUL);
        asm volatile("sb %1, -1(%0)" :: "r"(mem + 16), "r"(0x77UL) : "memory");
        CHECK_EQ(LD("ld", 8), 0x7700000089abcdefUL);
    }
}

/* Misaligned loads/stores: must work (rewind and QEMU handle them in
 * hardware); if the platform traps instead, the test records a failure. */
static void misaligned_cases(void) {
    fill();
    for (unsigned off = 0; off < 24; off++) {
        if (off & 1) {
            CHECK_EQ(LDP("lh", mem + off), sx(le(off, 2), 16));
            CHECK_EQ(LDP("lhu", mem + off), le(off, 2));
        }
        if (off & 3) {
            CHECK_EQ(LDP("lw", mem + off), sx(le(off, 4), 32));
            CHECK_EQ(LDP("lwu", mem + off), le(off, 4));
        }
        if (off & 7)
            CHECK_EQ(LDP("ld", mem + off), le(off, 8));
    }
    for (unsigned off = 1; off < 8; off++) {
        for (unsigned i = 0; i < 24; i++)
            mem[i] = 0;
        STP("sd", mem + off, 0x1122334455667788UL);
        CHECK_EQ(le(off, 8), 0x1122334455667788UL);
        CHECK_EQ(le(0, off), 0);
        CHECK_EQ(le(off + 8, 8), 0);
        STP("sw", mem + off + 8, 0xdeadbeefUL);
        CHECK_EQ(le(off + 8, 4), 0xdeadbeefUL);
        CHECK_EQ(le(off + 12, 4), 0);
        STP("sh", mem + off + 1, 0xabcdUL);
        CHECK_EQ(le(off, 8), 0x1122334455abcd88UL);
    }
}

int main(void) {
    alu_cases();
    branch_cases();
    upper_cases();
    jump_cases();
    loadstore_cases();
    trap_arm(); /* any misaligned trap is recorded rather than fatal */
    misaligned_cases();
    trap_disarm();
    CHECK_EQ(trap_count, 0); /* misaligned accesses must not trap */
    return 0;
}
