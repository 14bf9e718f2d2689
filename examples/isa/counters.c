/* Zicntr and Zihpm as QEMU 7.2's rv64 has them: writable mcycle/minstret,
 * mcountinhibit, 16 HPM counters (mhpmcounter3..18; 19..31 do not exist),
 * event selectors 1 (cycles) and 2 (instructions) that count, and
 * mcounteren gating of the HPM counters below M mode. Exact values are not
 * compared (QEMU's counters follow the host clock); what each access does
 * and which way the counts move are. */
#include "common.h"

#define TRY(insn) ({ trap_arm(); asm volatile(insn ::: "t0", "memory"); trap_disarm(); trap_count; })

static void spin(int n) {
    for (volatile int i = 0; i < n; i++)
        ;
}

static void existence_cases(void) {
    /* the first and last of the 16 that exist read and write */
    csr_write(mhpmcounter3, 5);
    CHECK_EQ(csr_read(mhpmcounter3), 5); /* event 0 counts nothing */
    csr_write(mhpmcounter18, 7);
    spin(100);
    CHECK_EQ(csr_read(mhpmcounter18), 7);
    /* beyond pmu-num they do not exist */
    CHECK_EQ(TRY("csrr t0, mhpmcounter19"), 1);
    CHECK_EQ(trap_cause, CAUSE_ILLEGAL);
    CHECK_EQ(TRY("csrw mhpmcounter31, x0"), 1);
    /* every event selector is accessible */
    CHECK_EQ(TRY("csrr t0, mhpmevent3\ncsrr t0, mhpmevent18\ncsrr t0, mhpmevent31"), 0);
    csr_write(mhpmevent4, 0x1234);
    CHECK_EQ(csr_read(mhpmevent4), 0x1234);
    csr_write(mhpmevent4, 0);
    csr_write(mhpmcounter3, 0);
    csr_write(mhpmcounter18, 0);
}

static void counting_cases(void) {
    /* minstret and mcycle take what is written and count on from it */
    csr_write(minstret, 1000000);
    spin(100);
    u64 i = csr_read(minstret);
    CHECK(i > 1000000 + 100 && i < 1000000 + 100000000);
    csr_write(mcycle, 1UL << 40);
    spin(100);
    u64 c = csr_read(mcycle);
    CHECK(c > (1UL << 40) && c < (1UL << 40) + (1UL << 36));
    /* (that instret and cycle show the written values too is not checked:
     * QEMU 7.2's unprivileged views ignore writes to the machine counters) */

    /* mcountinhibit freezes them: exactly the value written stays */
    csr_write(mcountinhibit, 5); /* CY and IR */
    CHECK_EQ(csr_read(mcountinhibit) & 7, 5);
    csr_write(minstret, 1000);
    csr_write(mcycle, 2000);
    spin(100);
    CHECK_EQ(csr_read(minstret), 1000);
    CHECK_EQ(csr_read(mcycle), 2000);
    csr_write(mcountinhibit, 0);
    spin(100);
    CHECK(csr_read(minstret) > 1000);
    CHECK(csr_read(mcycle) > 2000);

    /* HPM counters count cycles (event 1) and instructions (event 2) */
    csr_write(mhpmevent3, 1);
    csr_write(mhpmevent4, 2);
    csr_write(mhpmcounter3, 0);
    csr_write(mhpmcounter4, 0);
    spin(100);
    u64 h3 = csr_read(mhpmcounter3), h4 = csr_read(mhpmcounter4);
    CHECK(h3 > 100);
    CHECK(h4 > 100);
    /* and stop when inhibited */
    csr_write(mcountinhibit, 1UL << 4);
    csr_write(mhpmcounter4, 77);
    spin(100);
    CHECK_EQ(csr_read(mhpmcounter4), 77);
    csr_write(mcountinhibit, 0);
    /* event 0 again: the counter keeps its value */
    csr_write(mhpmevent3, 0);
    csr_write(mhpmcounter3, 42);
    spin(100);
    CHECK_EQ(csr_read(mhpmcounter3), 42);
    csr_write(mhpmevent4, 0);
    csr_write(mhpmcounter3, 0);
    csr_write(mhpmcounter4, 0);
}

static void gating_cases(void) {
    int n;
    /* S reads hpmcounter3 only with mcounteren bit 3 */
    csr_write(mcounteren, 0);
    enter_mode(PRV_S);
    n = TRY("csrr t0, hpmcounter3");
    enter_mmode();
    CHECK_EQ(n, 1);
    CHECK_EQ(trap_cause, CAUSE_ILLEGAL);
    csr_write(mcounteren, 1UL << 3);
    enter_mode(PRV_S);
    n = TRY("csrr t0, hpmcounter3");
    enter_mmode();
    CHECK_EQ(n, 0);
    /* U also needs scounteren */
    csr_write(scounteren, 0);
    enter_mode(PRV_U);
    n = TRY("csrr t0, hpmcounter3");
    enter_mmode();
    CHECK_EQ(n, 1);
    csr_write(scounteren, 1UL << 3);
    enter_mode(PRV_U);
    n = TRY("csrr t0, hpmcounter3");
    enter_mmode();
    CHECK_EQ(n, 0);
    /* S cannot write the counters, nor reach the machine ones */
    enter_mode(PRV_S);
    n = TRY("csrw hpmcounter3, x0\ncsrr t0, mhpmcounter3\ncsrr t0, mcountinhibit");
    enter_mmode();
    CHECK_EQ(n, 3);
    csr_write(mcounteren, 0);
    csr_write(scounteren, 0);
}

int main(void) {
    existence_cases();
    counting_cases();
    gating_cases();
    finish();
}
