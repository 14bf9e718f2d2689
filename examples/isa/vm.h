/* Shared body of sv39.c / sv48.c: paging from S-mode.  Include after
 * defining LEVELS (3 = Sv39, 4 = Sv48). */
#include "common.h"

#define SATP_MODE (LEVELS == 3 ? 8UL : 9UL)
#define VA_BITS (12 + 9 * LEVELS)

#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_G (1UL << 5)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)

static u64 pt_pool[12][512] __attribute__((aligned(4096)));
static unsigned pt_used;
static u64 *root;
static u8 phys[8][4096] __attribute__((aligned(4096)));

#define VA_HI 0xffffffffc0000000UL /* top of the address space, any mode */
#define PAGE(n) (VA_HI + (u64)(n) * 4096)

static u64 mkpte(u64 pa, u64 flags) { return ((pa >> 12) << 10) | flags; }

/* PTE slot for va at `level` (0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB, 3 = 512 GiB),
 * creating intermediate tables. */
static volatile u64 *pte_for(u64 va, int level) {
    u64 *t = root;
    for (int l = LEVELS - 1; l > level; l--) {
        u64 idx = (va >> (12 + 9 * l)) & 511;
        if (!(t[idx] & PTE_V))
            t[idx] = mkpte((u64)pt_pool[pt_used++], PTE_V);
        t = (u64 *)((t[idx] >> 10) << 12);
    }
    return &t[(va >> (12 + 9 * level)) & 511];
}

static void map(u64 va, u64 pa, int level, u64 flags) {
    *pte_for(va, level) = mkpte(pa, flags);
}

#define LOAD64(va) ({ u64 __r; asm volatile("ld %0, 0(%1)" : "=r"(__r) : "r"(va) : "memory"); __r; })
#define STORE64(va, v) asm volatile("sd %1, 0(%0)" :: "r"(va), "r"((u64)(v)) : "memory")
#define SFENCE() asm volatile("sfence.vma" ::: "memory")
#define SFENCE_VA(va) asm volatile("sfence.vma %0, zero" :: "r"(va) : "memory")

static u64 *phys64(int n) { return (u64 *)phys[n]; }

static int fetch_hook(struct trapframe *tf) {
    if (tf->cause != CAUSE_FETCH_PAGE || !expect_trap)
        return 0;
    trap_count++;
    trap_cause = tf->cause;
    trap_epc = tf->epc;
    trap_tval = tf->tval;
    trap_level = 3;
    tf->epc = tf->x[1]; /* back to the caller */
    return 1;
}

#define EXPECT_FAULT(stmt, cause, va) do { \
    trap_arm(); stmt; trap_disarm(); \
    CHECK_EQ(trap_count, 1); CHECK_EQ(trap_cause, cause); CHECK_EQ(trap_tval, va); } while (0)
#define EXPECT_OK(stmt) do { trap_arm(); stmt; trap_disarm(); CHECK_EQ(trap_count, 0); } while (0)

static void build_tables(void) {
    root = pt_pool[pt_used++];
    /* identity: devices (0..1 GiB) and RAM (2..3 GiB) as gigapages */
    map(0x00000000UL, 0x00000000UL, 2, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
    map(0x80000000UL, 0x80000000UL, 2, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
    /* test pages in the top gigabyte (4 KiB leaves) */
    map(PAGE(0), (u64)phys[0], 0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
    map(PAGE(1), (u64)phys[1], 0, PTE_V | PTE_R | PTE_W);              /* A = D = 0 */
    *pte_for(PAGE(2), 0) = 0;                                          /* invalid */
    map(PAGE(3), (u64)phys[2], 0, PTE_V | PTE_R | PTE_A);              /* read-only */
    map(PAGE(4), (u64)phys[3], 0, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
    map(PAGE(5), (u64)phys[4], 0, PTE_V | PTE_X | PTE_A);              /* execute-only */
    map(PAGE(6), (u64)phys[5], 0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
    map(PAGE(7), (u64)phys[7], 0, PTE_V | PTE_R | PTE_X | PTE_A);      /* code */
    map(PAGE(8), (u64)phys[0], 0, PTE_V | PTE_W | PTE_A | PTE_D);      /* W without R: reserved */
    map(PAGE(9), (u64)phys[0], 0, PTE_R | PTE_W | PTE_A | PTE_D);      /* V = 0 but R/W set */
    /* 2 MiB superpages: aligned one aliasing the start of RAM, and a
     * misaligned one (PPN[0] != 0) */
    map(VA_HI + 0x200000, 0x80000000UL, 1, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
    map(VA_HI + 0x400000, 0x80001000UL, 1, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
    /* misaligned gigapage */
    map(VA_HI - 0x40000000UL, 0x80200000UL, 2, PTE_V | PTE_R | PTE_A);
}

#ifndef VM_NO_MAIN /* a program that brings its own cases uses only the helpers above */
static void vm_cases(void) {
    u64 va;
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 512; j++)
            phys64(i)[j] = 0x1000000000000000UL * (u64)(i + 1) + (u64)j;
    /* code page: li a0, 42; ret */
    ((u32 *)phys[7])[0] = 0x02a00513;
    ((u32 *)phys[7])[1] = 0x00008067;
    asm volatile("fence.i" ::: "memory");

    csr_write(satp, (SATP_MODE << 60) | ((u64)root >> 12));
    SFENCE();
    enter_mode(PRV_S);

    /* basic loads / stores through the high mapping */
    CHECK_EQ(LOAD64(PAGE(0)), 0x1000000000000000UL);
    CHECK_EQ(LOAD64(PAGE(0) + 8 * 100), 0x1000000000000064UL);
    STORE64(PAGE(0) + 16, 0xdeadbeefcafef00dUL);
    CHECK_EQ(phys64(0)[2], 0xdeadbeefcafef00dUL); /* same bytes via the identity map */
    CHECK_EQ(*(volatile u32 *)(PAGE(0) + 20), 0xdeadbeef);
    /* code fetch from a mapped R+X page */
    {
        u64 (*fn)(void) = (u64(*)(void))PAGE(7);
        CHECK_EQ(fn(), 42);
    }
    /* 2 MiB superpage alias of RAM */
    CHECK_EQ(LOAD64(VA_HI + 0x200000 + ((u64)phys[3] - 0x80000000UL)), phys64(3)[0]);

    /* A and D bits set by hardware */
    {
        volatile u64 *pte = pte_for(PAGE(1), 0);
        EXPECT_OK(va = LOAD64(PAGE(1) + 8));
        CHECK_EQ(va, 0x2000000000000001UL);
        CHECK(*pte & PTE_A);
        CHECK_EQ(*pte & PTE_D, 0);
        EXPECT_OK(STORE64(PAGE(1) + 8, 5));
        CHECK(*pte & PTE_D);
        CHECK_EQ(phys64(1)[1], 5);
    }

    /* invalid PTE: load / store / fetch page faults with the address */
    EXPECT_FAULT(LOAD64(PAGE(2) + 0x18), CAUSE_LOAD_PAGE, PAGE(2) + 0x18);
    EXPECT_FAULT(STORE64(PAGE(2) + 0x20, 1), CAUSE_STORE_PAGE, PAGE(2) + 0x20);
    EXPECT_FAULT(LOAD64(PAGE(9)), CAUSE_LOAD_PAGE, PAGE(9));
    /* W without R is reserved */
    EXPECT_FAULT(LOAD64(PAGE(8)), CAUSE_LOAD_PAGE, PAGE(8));
    EXPECT_FAULT(STORE64(PAGE(8), 1), CAUSE_STORE_PAGE, PAGE(8));
    /* read-only page */
    EXPECT_OK(va = LOAD64(PAGE(3)));
    CHECK_EQ(va, 0x3000000000000000UL);
    EXPECT_FAULT(STORE64(PAGE(3) + 8, 1), CAUSE_STORE_PAGE, PAGE(3) + 8);
    CHECK_EQ(phys64(2)[1], 0x3000000000000001UL);
    /* AMO on a read-only page is a store fault */
    EXPECT_FAULT(({ u64 __r; asm volatile("amoadd.d %0, %2, (%1)" : "=r"(__r) : "r"(PAGE(3)), "r"(1UL) : "memory"); }),
                 CAUSE_STORE_PAGE, PAGE(3));
    /* fetch from a non-executable page */
    m_trap_hook = fetch_hook;
    trap_arm();
    ((void (*)(void))PAGE(0))();
    trap_disarm();
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(trap_cause, CAUSE_FETCH_PAGE);
    CHECK_EQ(trap_tval, PAGE(0));
    CHECK_EQ(trap_epc, PAGE(0));
    m_trap_hook = 0;

    /* U page from S: faults without SUM, works with SUM */
    csr_clear(sstatus, MSTATUS_SUM);
    EXPECT_FAULT(LOAD64(PAGE(4)), CAUSE_LOAD_PAGE, PAGE(4));
    EXPECT_FAULT(STORE64(PAGE(4), 1), CAUSE_STORE_PAGE, PAGE(4));
    csr_set(sstatus, MSTATUS_SUM);
    EXPECT_OK(va = LOAD64(PAGE(4) + 8));
    CHECK_EQ(va, 0x4000000000000001UL);
    EXPECT_OK(STORE64(PAGE(4) + 8, 9));
    CHECK_EQ(phys64(3)[1], 9);
    csr_clear(sstatus, MSTATUS_SUM);

    /* MXR: execute-only page readable only with MXR */
    csr_clear(sstatus, MSTATUS_MXR);
    EXPECT_FAULT(LOAD64(PAGE(5) + 8), CAUSE_LOAD_PAGE, PAGE(5) + 8);
    csr_set(sstatus, MSTATUS_MXR);
    EXPECT_OK(va = LOAD64(PAGE(5) + 8));
    CHECK_EQ(va, 0x5000000000000001UL);
    EXPECT_FAULT(STORE64(PAGE(5), 1), CAUSE_STORE_PAGE, PAGE(5));
    csr_clear(sstatus, MSTATUS_MXR);

    /* sfence.vma makes a remapped page visible */
    CHECK_EQ(LOAD64(PAGE(6)), 0x6000000000000000UL);
    *pte_for(PAGE(6), 0) = mkpte((u64)phys[6], PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
    SFENCE_VA(PAGE(6));
    CHECK_EQ(LOAD64(PAGE(6)), 0x7000000000000000UL);
    *pte_for(PAGE(6), 0) = 0;
    SFENCE();
    EXPECT_FAULT(LOAD64(PAGE(6)), CAUSE_LOAD_PAGE, PAGE(6));
    *pte_for(PAGE(6), 0) = mkpte((u64)phys[5], PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
    SFENCE();
    CHECK_EQ(LOAD64(PAGE(6) + 8), 0x6000000000000001UL);

    /* misaligned superpages fault */
    EXPECT_FAULT(LOAD64(VA_HI + 0x400000), CAUSE_LOAD_PAGE, VA_HI + 0x400000);
    EXPECT_FAULT(STORE64(VA_HI + 0x400008, 1), CAUSE_STORE_PAGE, VA_HI + 0x400008);
    EXPECT_FAULT(LOAD64(VA_HI - 0x40000000UL + 0x10), CAUSE_LOAD_PAGE, VA_HI - 0x40000000UL + 0x10);

    /* non-canonical addresses fault (bits above VA_BITS-1 must match it) */
    va = 1UL << (VA_BITS - 1);
    EXPECT_FAULT(LOAD64(va), CAUSE_LOAD_PAGE, va);
    EXPECT_FAULT(STORE64(va, 1), CAUSE_STORE_PAGE, va);
    va = 0x8000000000000000UL;
    EXPECT_FAULT(LOAD64(va), CAUSE_LOAD_PAGE, va);
    va = ~0UL << (VA_BITS - 1);
    va ^= 1UL << 62; /* top half but one high bit clear */
    EXPECT_FAULT(LOAD64(va), CAUSE_LOAD_PAGE, va);
    /* unmapped but canonical address in the lower half */
    va = 0x40000000UL * 5;
    EXPECT_FAULT(LOAD64(va), CAUSE_LOAD_PAGE, va);

    enter_mmode();
    /* back in M: no translation */
    csr_write(satp, 0);
    CHECK_EQ(phys64(0)[2], 0xdeadbeefcafef00dUL);
}

int main(void) {
    build_tables();
    vm_cases();
    /* MPRV: M-mode loads with the S translation */
    csr_write(satp, (SATP_MODE << 60) | ((u64)root >> 12));
    SFENCE();
    csr_clear(mstatus, MSTATUS_MPP);
    csr_set(mstatus, (u64)PRV_S << 11);
    csr_set(mstatus, MSTATUS_MPRV);
    u64 v = LOAD64(PAGE(3) + 16);
    csr_clear(mstatus, MSTATUS_MPRV);
    CHECK_EQ(v, 0x3000000000000002UL);
    csr_write(satp, 0);
    return 0;
}
#endif
