/* A busy-wait on the timer, as firmware does it (U-Boot's autoboot countdown,
 * Linux's udelay): one second spinning on the time CSR, one on the CLINT's
 * mtime register. rewind speeds up the time of a hart that only polls the clock,
 * so this costs a fraction of the instructions it would at 1 ns each; the guest
 * still sees time pass monotonically, and a timer interrupt that falls due during
 * the wait arrives on time. */
#include "common.h"

#define TICKS_PER_SEC 10000000UL
#define MIE_MTIE (1UL << 7)
#define CAUSE_MTI (CAUSE_INTR | 7)

static volatile u64 timer_fired_at;

static int timer_interrupt(struct trapframe *tf) {
    if (tf->cause != CAUSE_MTI)
        return 0;
    timer_fired_at = MMIO64(CLINT_MTIME);
    MMIO64(CLINT_MTIMECMP) = ~0UL;
    return 1;
}

static u64 rdtime(void) { return csr_read(time); }
static u64 mtime(void) { return MMIO64(CLINT_MTIME); }

/* Spins until `now()` reaches start + ticks; checks it never goes backwards.
 * (Nothing is stored in the loop: a store near code would cost rewind a flush
 * of the code it translated, on every iteration.) */
static void wait_ticks(u64 (*now)(void), u64 ticks) {
    u64 start = now(), last = start, t;
    int monotonic = 1;
    while ((t = now()) - start < ticks) {
        monotonic &= t >= last;
        last = t;
    }
    CHECK(monotonic);
}

int main(void) {
    m_trap_hook = timer_interrupt;
    u64 start = rdtime();
    /* An interrupt due half-way through the first wait. */
    u64 due = start + TICKS_PER_SEC / 2;
    MMIO64(CLINT_MTIMECMP) = due;
    csr_set(mie, MIE_MTIE);
    csr_set(mstatus, MSTATUS_MIE);
    wait_ticks(rdtime, TICKS_PER_SEC);
    csr_clear(mstatus, MSTATUS_MIE);
    CHECK(timer_fired_at >= due);
    /* Soon after its time, however fast the wait ran (QEMU's comes within a
     * millisecond or so, depending on the host; tests/isa.rs holds rewind to
     * a millisecond). */
    CHECK(timer_fired_at - due < TICKS_PER_SEC / 20);
    u64 middle = rdtime();
    CHECK(middle - start >= TICKS_PER_SEC);
    wait_ticks(mtime, TICKS_PER_SEC);
    CHECK(rdtime() - middle >= TICKS_PER_SEC);
    uart_puts("waited ");
    uart_putdec((rdtime() - start) / (TICKS_PER_SEC / 1000));
    uart_puts(" ms; the timer interrupt came ");
    uart_putdec((timer_fired_at - due) / 10);
    uart_puts(" us late\n");
    finish();
}
