/* Sscofpmf (rewind's -cpu max; QEMU 7.2's counters follow the host clock
 * without -icount, so the expected values come from the spec): a counter that
 * wraps sets its mhpmevent.OF and raises the local counter-overflow interrupt
 * (13) at the instruction after the one that wrapped it, once until OF is
 * cleared; scountovf shows the OF bits (in S mode those mcounteren lets
 * through); MINH/SINH/UINH stop a counter in their mode; the interrupt
 * delegates to S through mideleg. */
#include "../common.h"

#define OF (1UL << 63)
#define MINH (1UL << 62)
#define SINH (1UL << 61)
#define UINH (1UL << 60)
#define INSTRUCTIONS 2UL
#define LCOFIP (1UL << 13)
#define LCOFI (CAUSE_INTR | 13)

static volatile u64 irq_count, irq_epc, irq_level;

static int take_lcofi(struct trapframe *tf, u64 level) {
    if (tf->cause != LCOFI)
        return 0;
    irq_count++;
    irq_epc = tf->epc;
    irq_level = level;
    csr_clear(sip, LCOFIP);
    return 1;
}
static int m_hook(struct trapframe *tf) {
    if (tf->cause != LCOFI)
        return 0;
    csr_clear(mip, LCOFIP);
    return take_lcofi(tf, 3);
}
static int s_hook(struct trapframe *tf) { return take_lcofi(tf, 1); }

/* Counter 3 at -5: the five nops after the write wrap it, and the interrupt
 * comes before the instruction at label 2. */
static u64 overflow_five_nops(void) {
    u64 after;
    asm volatile("csrw mhpmcounter3, %1\n"
                 "nop\nnop\nnop\nnop\nnop\n"
                 "2: nop\nnop\nnop\n"
                 "la %0, 2b\n"
                 : "=r"(after)
                 : "r"(-5L)
                 : "memory");
    return after;
}

int main(void) {
    m_trap_hook = m_hook;
    s_trap_hook = s_hook;
    csr_write(mcounteren, ~0UL);
    csr_write(mhpmevent3, INSTRUCTIONS);
    csr_set(mie, LCOFIP);
    csr_set(mstatus, MSTATUS_MIE);
    u64 expected = overflow_five_nops();
    csr_clear(mstatus, MSTATUS_MIE);
    CHECK_EQ(irq_count, 1);
    CHECK_EQ(irq_epc, expected);
    CHECK_EQ(irq_level, 3);
    CHECK_EQ(csr_read(mhpmevent3), OF | INSTRUCTIONS);
    CHECK_EQ(csr_read(scountovf), 1UL << 3);
    CHECK(csr_read(mhpmcounter3) < 1000); /* wrapped and counting on */
    /* with OF set, wrapping again raises nothing */
    csr_set(mstatus, MSTATUS_MIE);
    overflow_five_nops();
    csr_clear(mstatus, MSTATUS_MIE);
    CHECK_EQ(irq_count, 1);
    CHECK_EQ(csr_read(mip) & LCOFIP, 0);

    /* scountovf in S mode: only the counters mcounteren lets through */
    csr_write(mcounteren, 1UL << 4);
    enter_mode(PRV_S);
    u64 seen = csr_read(scountovf);
    enter_mmode();
    CHECK_EQ(seen, 0);
    csr_write(mcounteren, ~0UL);

    /* MINH: no counting in M mode; counting again in S */
    csr_write(mhpmevent4, MINH | INSTRUCTIONS);
    csr_write(mhpmcounter4, 0);
    for (volatile int i = 0; i < 50; i++)
        ;
    CHECK_EQ(csr_read(mhpmcounter4), 0);
    enter_mode(PRV_S);
    for (volatile int i = 0; i < 50; i++)
        ;
    enter_mmode();
    u64 in_s = csr_read(mhpmcounter4);
    CHECK(in_s > 100 && in_s < 1000);
    /* SINH and UINH as well: counting in M only */
    csr_write(mhpmevent4, SINH | UINH | INSTRUCTIONS);
    csr_write(mhpmcounter4, 0);
    enter_mode(PRV_U);
    for (volatile int i = 0; i < 500; i++)
        ;
    enter_mmode();
    u64 after_u = csr_read(mhpmcounter4);
    /* only the M-mode instructions around the switch, not the loop's 3000 */
    CHECK(after_u > 0 && after_u < 1000);

    /* delegated to S: the overflow of a counter that counts in S only */
    csr_write(mhpmevent3, MINH | UINH | INSTRUCTIONS);
    csr_write(mhpmcounter3, -200L);
    csr_write(stvec, (u64)strap_entry);
    csr_set(mideleg, LCOFIP);
    CHECK_EQ(csr_read(mideleg) & LCOFIP, LCOFIP);
    irq_count = 0;
    enter_mode(PRV_S);
    csr_set(sie, LCOFIP);
    csr_set(sstatus, MSTATUS_SIE);
    for (volatile int i = 0; i < 100; i++)
        ;
    csr_clear(sstatus, MSTATUS_SIE);
    enter_mmode();
    CHECK_EQ(irq_count, 1);
    CHECK_EQ(irq_level, 1);
    CHECK_EQ(csr_read(mhpmevent3) & OF, OF);
    csr_write(mideleg, 0);
    csr_write(mie, 0);
    csr_write(mhpmevent3, 0);
    csr_write(mhpmevent4, 0);
    finish();
}
