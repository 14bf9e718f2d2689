/* Sstc: stimecmp and menvcfg.STCE. With STCE set, mip.STIP is the
 * comparison time >= stimecmp (software cannot write it), S mode reaches
 * stimecmp when mcounteren.TM also allows, and a delegated supervisor timer
 * interrupt arrives when time passes stimecmp. */
#include "common.h"

#define TRY(insn) ({ trap_arm(); asm volatile(insn ::: "t0", "memory"); trap_disarm(); trap_count; })
#define STCE (1UL << 63)
#define STIP (1UL << IRQ_STI)

static u64 mtime(void) { return MMIO64(CLINT_MTIME); }

static volatile int irq_count;
static volatile u64 irq_cause;

static int s_timer_hook(struct trapframe *tf) {
    if (!(tf->cause & CAUSE_INTR))
        return 0;
    irq_count++;
    irq_cause = tf->cause;
    csr_write(stimecmp, ~0UL); /* acknowledges: STIP falls */
    return 1;
}

static void comparison_cases(void) {
    /* STCE is writable, and stimecmp a plain register from M */
    csr_write(menvcfg, STCE);
    CHECK_EQ(csr_read(menvcfg) & STCE, STCE);
    csr_write(stimecmp, ~0UL);
    CHECK_EQ(csr_read(stimecmp), ~0UL);
    CHECK_EQ(csr_read(mip) & STIP, 0);
    /* STIP cannot be set by software while STCE is set */
    csr_set(mip, STIP);
    CHECK_EQ(csr_read(mip) & STIP, 0);
    /* a compare value in the past: pending at once */
    csr_write(stimecmp, 0);
    CHECK_EQ(csr_read(mip) & STIP, STIP);
    /* in the future: pending once time passes it */
    u64 when = mtime() + 500;
    csr_write(stimecmp, when);
    CHECK_EQ(csr_read(mip) & STIP, 0);
    long spins = 0;
    while (!(csr_read(mip) & STIP) && spins < 100000000)
        spins++;
    CHECK(mtime() >= when);
    CHECK_EQ(csr_read(mip) & STIP, STIP);
    /* nor cleared by software */
    csr_clear(mip, STIP);
    CHECK_EQ(csr_read(mip) & STIP, STIP);
    csr_write(stimecmp, ~0UL);
    CHECK_EQ(csr_read(mip) & STIP, 0);
    /* without STCE, STIP is M's to write again */
    csr_write(menvcfg, 0);
    csr_set(mip, STIP);
    CHECK_EQ(csr_read(mip) & STIP, STIP);
    csr_clear(mip, STIP);
    CHECK_EQ(csr_read(mip) & STIP, 0);
}

static void access_cases(void) {
    int n;
    /* S needs both mcounteren.TM and menvcfg.STCE */
    csr_write(menvcfg, STCE);
    csr_write(mcounteren, 0);
    enter_mode(PRV_S);
    n = TRY("csrr t0, stimecmp");
    enter_mmode();
    CHECK_EQ(n, 1);
    CHECK_EQ(trap_cause, CAUSE_ILLEGAL);
    csr_write(mcounteren, 2);
    csr_write(menvcfg, 0);
    enter_mode(PRV_S);
    n = TRY("csrr t0, stimecmp");
    enter_mmode();
    CHECK_EQ(n, 1);
    csr_write(menvcfg, STCE);
    enter_mode(PRV_S);
    n = TRY("csrr t0, stimecmp\ncsrw stimecmp, t0");
    enter_mmode();
    CHECK_EQ(n, 0);
    /* U never reaches it */
    csr_write(scounteren, 2);
    enter_mode(PRV_U);
    n = TRY("csrr t0, stimecmp");
    enter_mmode();
    CHECK_EQ(n, 1);
    csr_write(scounteren, 0);
}

static void interrupt_cases(void) {
    /* S programs its own timer and takes the interrupt */
    csr_write(menvcfg, STCE);
    csr_write(mcounteren, 2);
    csr_write(stvec, (u64)strap_entry);
    s_trap_hook = s_timer_hook;
    csr_write(mideleg, STIP);
    csr_write(mie, STIP);
    irq_count = 0;
    enter_mode(PRV_S);
    u64 when = csr_read(time) + 1000;
    csr_write(stimecmp, when);
    csr_set(sstatus, MSTATUS_SIE);
    for (long i = 0; i < 100000000 && irq_count == 0; i++)
        asm volatile("" ::: "memory");
    csr_clear(sstatus, MSTATUS_SIE);
    u64 at = csr_read(time);
    enter_mmode();
    CHECK_EQ(irq_count, 1);
    CHECK_EQ(irq_cause, CAUSE_INTR | IRQ_STI);
    CHECK(at >= when);
    CHECK_EQ(csr_read(mip) & STIP, 0);
    /* and wfi waits for it */
    irq_count = 0;
    enter_mode(PRV_S);
    csr_write(stimecmp, csr_read(time) + 1000);
    csr_set(sstatus, MSTATUS_SIE);
    while (irq_count == 0)
        asm volatile("wfi");
    csr_clear(sstatus, MSTATUS_SIE);
    enter_mmode();
    CHECK_EQ(irq_count, 1);
    csr_write(mie, 0);
    csr_write(mideleg, 0);
    csr_write(menvcfg, 0);
    csr_write(mcounteren, 0);
    s_trap_hook = 0;
}

int main(void) {
    comparison_cases();
    access_cases();
    interrupt_cases();
    finish();
}
