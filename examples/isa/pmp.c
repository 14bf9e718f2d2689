/* Physical memory protection: S- and U-mode accesses get the permissions of
 * the lowest-numbered entry that matches (NAPOT, TOR, NA4); an access only
 * partly inside an entry fails; M-mode is bound by locked entries only, and
 * locked entries refuse writes; a change takes effect at once (no stale
 * cached translation lets an access through). */
#include "common.h"

#define PMP_R 1UL
#define PMP_W 2UL
#define PMP_X 4UL
#define PMP_TOR (1UL << 3)
#define PMP_NA4 (2UL << 3)
#define PMP_NAPOT (3UL << 3)
#define PMP_L 0x80UL
#define CFG(entry, bits) ((u64)(bits) << (8 * (entry)))

static u8 pages[4][4096] __attribute__((aligned(4096)));
static volatile u64 sink;

static u64 napot(u64 base, u64 size) { return (base >> 2) | ((size >> 3) - 1); }
static u64 load64(u64 a) { return *(volatile u64 *)a; }
static u32 load32(u64 a) { return *(volatile u32 *)a; }
static void store64(u64 a, u64 v) { *(volatile u64 *)a = v; }

#define EXPECT_FAULT(cause, addr, stmt) do { \
    trap_arm(); stmt; trap_disarm(); \
    CHECK_EQ(trap_count, 1); CHECK_EQ(trap_cause, cause); CHECK_EQ(trap_tval, addr); \
} while (0)

int main(void) {
    u64 p0 = (u64)pages[0], p1 = (u64)pages[1], p2 = (u64)pages[2], p3 = (u64)pages[3];
    store64(p0, 0x8082);              /* c.ret */
    store64(p2 + 0x100, 0x1111111122222222UL);
    store64(p2 + 0x108, 0x3333333344444444UL);
    store64(p3, 0x5555);

    /* 0: p0 read-only; 1-2: p1 no access (TOR); 3: 4 bytes of p2 no
     * access (NA4); 7: everything else allowed */
    csr_write(pmpaddr0, napot(p0, 4096));
    csr_write(pmpaddr1, p1 >> 2);
    csr_write(pmpaddr2, (p1 + 4096) >> 2);
    csr_write(pmpaddr3, (p2 + 0x100) >> 2);
    csr_write(pmpaddr4, napot(p3, 4096)); /* off for now */
    csr_write(pmpaddr7, -1UL);
    u64 cfg = CFG(0, PMP_NAPOT | PMP_R) | CFG(2, PMP_TOR) | CFG(3, PMP_NA4) |
              CFG(7, PMP_NAPOT | PMP_R | PMP_W | PMP_X);
    csr_write(pmpcfg0, cfg);
    CHECK_EQ(csr_read(pmpcfg0), cfg);

    enter_mode(PRV_S);
    CHECK_EQ(load64(p0), 0x8082);
    EXPECT_FAULT(CAUSE_STORE_ACCESS, p0 + 8, store64(p0 + 8, 1));
    EXPECT_FAULT(CAUSE_LOAD_ACCESS, p1 + 16, sink = load64(p1 + 16));
    EXPECT_FAULT(CAUSE_STORE_ACCESS, p1 + 4088, store64(p1 + 4088, 1));
    EXPECT_FAULT(CAUSE_LOAD_ACCESS, p2 + 0x100, sink = load32(p2 + 0x100));
    /* half inside the NA4 entry */
    EXPECT_FAULT(CAUSE_LOAD_ACCESS, p2 + 0x100, sink = load64(p2 + 0x100));
    CHECK_EQ(load32(p2 + 0x104), 0x11111111);
    CHECK_EQ(load64(p2 + 0x108), 0x3333333344444444UL);
    /* no X on p0 */
    m_trap_hook = fetch_fault_returns;
    trap_arm();
    asm volatile("jalr ra, 0(%0)" :: "r"(p0) : "ra", "memory");
    trap_disarm();
    m_trap_hook = 0;
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(trap_cause, CAUSE_FETCH_ACCESS);
    CHECK_EQ(trap_epc, p0);
    CHECK_EQ(trap_tval, p0);
    /* p3 is accessible: its translation may now be cached */
    CHECK_EQ(load64(p3), 0x5555);
    store64(p3 + 8, 7);
    enter_mmode();

    /* M-mode ignores unlocked entries */
    store64(p0 + 8, 5);
    CHECK_EQ(load64(p0 + 8), 5);
    CHECK_EQ(load64(p1 + 16), 0);

    /* turning on an entry in front of entry 7 takes p3 away at once */
    csr_set(pmpcfg0, CFG(4, PMP_NAPOT));
    enter_mode(PRV_S);
    EXPECT_FAULT(CAUSE_LOAD_ACCESS, p3, sink = load64(p3));
    EXPECT_FAULT(CAUSE_STORE_ACCESS, p3 + 8, store64(p3 + 8, 1));
    enter_mmode();
    enter_mode(PRV_U);
    EXPECT_FAULT(CAUSE_LOAD_ACCESS, p3, sink = load64(p3));
    CHECK_EQ(load64(p0), 0x8082);
    EXPECT_FAULT(CAUSE_STORE_ACCESS, p0, store64(p0, 1));
    enter_mmode();

    /* locked entries bind M-mode: with one in place (entry 5, behind the
     * TOR entries for p1, so it never decides), M-mode translations are
     * cached too, and a new lock must take effect at once */
    csr_write(pmpaddr5, napot(p1, 4096));
    csr_set(pmpcfg0, CFG(5, PMP_NAPOT | PMP_L));
    store64(p3 + 8, 9);
    CHECK_EQ(load64(p3 + 8), 9);
    csr_clear(pmpcfg0, CFG(4, 0xff));
    csr_set(pmpcfg0, CFG(4, PMP_NAPOT | PMP_R | PMP_L));
    CHECK_EQ(load64(p3), 0x5555);
    EXPECT_FAULT(CAUSE_STORE_ACCESS, p3, store64(p3, 1));
    csr_write(pmpaddr4, 0);
    CHECK_EQ(csr_read(pmpaddr4), napot(p3, 4096));
    csr_clear(pmpcfg0, CFG(4, 0xff));
    CHECK_EQ((csr_read(pmpcfg0) >> 32) & 0xff, PMP_NAPOT | PMP_R | PMP_L);
    CHECK_EQ(load64(p3), 0x5555);
    return 0;
}
