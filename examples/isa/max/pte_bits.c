/* Svpbmt and Svnapot (with -cpu max; QEMU 7.2's, off by default, map PTEs
 * with memory type 3, or with a type while PBMTE is clear). Memory types NC and IO
 * map like PMA while menvcfg.PBMTE is set; type 3, a type without PBMTE, and
 * a type or N bit in a non-leaf entry are page faults; a 64 KiB NAPOT leaf
 * maps each 4 KiB page of its range to the matching page of the physical
 * range, and a NAPOT leaf of another size is a page fault. */
#define LEVELS 3
#define VM_NO_MAIN
#include "../vm.h"

/* vm.h's fetch-fault hook is for its own cases */
static int (*const unused_hook)(struct trapframe *) __attribute__((unused)) = fetch_hook;

#define PTE_PBMT(t) ((u64)(t) << 61)
#define PTE_N (1UL << 63)
#define PBMTE (1UL << 62)
#define RW (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
#define PAGE_T(n) PAGE(16 + (n)) /* beyond the pages vm.h maps */
#define VA_NONLEAF (VA_HI + 0x800000) /* in a 2 MiB region vm.h leaves alone */

static u8 napot_mem[65536] __attribute__((aligned(65536)));

int main(void) {
    build_tables();
    for (int i = 0; i < 16; i++)
        ((volatile u64 *)napot_mem)[i * 512] = 0xa000 + i;
    phys64(0)[0] = 0x1111;
    map(PAGE_T(0), (u64)phys[0], 0, RW | PTE_PBMT(1)); /* NC */
    map(PAGE_T(1), (u64)phys[0], 0, RW | PTE_PBMT(2)); /* IO */
    map(PAGE_T(2), (u64)phys[0], 0, RW | PTE_PBMT(3)); /* reserved */
    /* a 64 KiB NAPOT range (its VA is 64 KiB aligned): PPN's low bits 1000 */
    for (int i = 0; i < 16; i++)
        map(PAGE_T(16 + i), (u64)napot_mem | 0x8000, 0, RW | PTE_N);
    map(PAGE_T(32), (u64)napot_mem | 0x4000, 0, RW | PTE_N); /* no such size */
    map(VA_NONLEAF, (u64)phys[0], 0, RW);
    *pte_for(VA_NONLEAF, 1) |= PTE_PBMT(1);

    csr_write(menvcfg, PBMTE);
    CHECK_EQ(csr_read(menvcfg) & PBMTE, PBMTE);
    csr_write(satp, (SATP_MODE << 60) | ((u64)root >> 12));
    SFENCE();
    enter_mode(PRV_S);
    u64 v = 0;
    EXPECT_OK(v = LOAD64(PAGE_T(0)));
    CHECK_EQ(v, 0x1111);
    EXPECT_OK(STORE64(PAGE_T(1) + 8, 0x2222));
    CHECK_EQ(phys64(0)[1], 0x2222);
    EXPECT_FAULT(LOAD64(PAGE_T(2)), CAUSE_LOAD_PAGE, PAGE_T(2));
    EXPECT_FAULT(STORE64(PAGE_T(2), 1), CAUSE_STORE_PAGE, PAGE_T(2));
    for (int i = 0; i < 16; i++) {
        EXPECT_OK(v = LOAD64(PAGE_T(16 + i)));
        CHECK_EQ(v, 0xa000 + i);
    }
    EXPECT_OK(STORE64(PAGE_T(16 + 5) + 16, 0x5555));
    CHECK_EQ(((u64 *)napot_mem)[5 * 512 + 2], 0x5555);
    EXPECT_FAULT(LOAD64(PAGE_T(32)), CAUSE_LOAD_PAGE, PAGE_T(32));
    EXPECT_FAULT(LOAD64(VA_NONLEAF), CAUSE_LOAD_PAGE, VA_NONLEAF);
    enter_mmode();

    /* without PBMTE a memory type is a page fault */
    csr_write(menvcfg, 0);
    enter_mode(PRV_S);
    SFENCE();
    EXPECT_FAULT(LOAD64(PAGE_T(0)), CAUSE_LOAD_PAGE, PAGE_T(0));
    EXPECT_OK(v = LOAD64(PAGE_T(16)));
    enter_mmode();
    csr_write(satp, 0);
    return 0;
}
