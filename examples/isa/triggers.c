/* Sdtrig as QEMU 7.2's rv64 has it: two triggers of type 2 (mcontrol) or 6
 * (mcontrol6) whose execute, load and store matches raise a breakpoint
 * exception before the instruction runs (tval 0), in the modes the trigger
 * names; the fields QEMU keeps read back, the rest read as zero. */
#include "common.h"

#define TRY(insn, ...) ({ trap_arm(); asm volatile(insn :: __VA_ARGS__ : "t0", "ft0", "memory"); trap_disarm(); trap_count; })
#define TYPE(t) ((u64)(t) << 60)
#define LOAD 1UL
#define STORE 2UL
#define EXEC 4UL
#define U_MODE (1UL << 3)
#define S_MODE (1UL << 4)
#define M_MODE (1UL << 6)
#define SIZE1 (1UL << 16)

__attribute__((noinline)) int target(volatile int *x) { return *x * 3 + 1; }
static volatile int arg = 5;
static volatile u64 data[4];

static void register_cases(void) {
    CHECK_EQ(csr_read(tinfo), (1UL << 2) | (1UL << 6));
    csr_write(tselect, 0);
    CHECK_EQ(csr_read(tdata1), TYPE(2)); /* an mcontrol that matches nothing */
    csr_write(tselect, 1);
    CHECK_EQ(csr_read(tselect), 1);
    csr_write(tselect, 2); /* no third trigger: tselect keeps its value */
    CHECK_EQ(csr_read(tselect), 1);
    csr_write(tdata2, 0x1234);
    CHECK_EQ(csr_read(tdata2), 0x1234);
    csr_write(tselect, 0);
    CHECK(csr_read(tdata2) != 0x1234);
    /* what each type keeps */
    csr_write(tdata1, TYPE(2) | 0xfffff);
    CHECK_EQ(csr_read(tdata1), TYPE(2) | 0x3005f);
    csr_write(tdata1, TYPE(6) | 0x7ffffff);
    CHECK_EQ(csr_read(tdata1), TYPE(6) | 0x180005f);
    /* other types (icount, disabled) are not taken; dmode is not */
    csr_write(tdata1, TYPE(3) | 0x7ff);
    CHECK_EQ(csr_read(tdata1), TYPE(6) | 0x180005f);
    csr_write(tdata1, TYPE(2) | (1UL << 59) | M_MODE);
    CHECK_EQ(csr_read(tdata1), TYPE(2) | M_MODE);
    csr_write(tdata3, 5);
    CHECK_EQ(csr_read(tdata3), 0);
    CHECK_EQ(TRY("csrr t0, tinfo\ncsrw tinfo, x0"), 0); /* writes ignored */
    CHECK_EQ(TRY("csrr t0, tcontrol"), 1);
    CHECK_EQ(TRY("csrr t0, mcontext"), 1);
    csr_write(tdata1, TYPE(2));
}

static void execute_cases(void) {
    volatile int v = 0;
    csr_write(tselect, 0);
    csr_write(tdata2, (u64)target);
    csr_write(tdata1, TYPE(2) | M_MODE | EXEC);
    trap_arm();
    v = target(&arg);
    trap_disarm();
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(trap_cause, CAUSE_BREAKPOINT);
    CHECK_EQ(trap_epc, (u64)target);
    CHECK_EQ(trap_tval, 0);
    /* a trigger for S and U does not fire in M */
    csr_write(tdata1, TYPE(2) | S_MODE | U_MODE | EXEC);
    trap_arm();
    v = target(&arg);
    trap_disarm();
    CHECK_EQ(trap_count, 0);
    CHECK_EQ(v, 16);
    /* ...but does in S (the exception goes to M, not delegated) */
    enter_mode(PRV_S);
    trap_arm();
    v = target(&arg);
    trap_disarm();
    enter_mmode();
    CHECK_EQ(trap_count, 1);
    CHECK_EQ(trap_cause, CAUSE_BREAKPOINT);
    CHECK_EQ(trap_epc, (u64)target);
    csr_write(tdata1, TYPE(2));
}

static void data_cases(void) {
    csr_write(tselect, 0);
    csr_write(tdata2, (u64)&data[2]);
    data[2] = 1;
    /* a store trigger stops the store */
    csr_write(tdata1, TYPE(2) | M_MODE | STORE | SIZE1);
    CHECK_EQ(TRY("sd %0, 0(%1)", "r"(9UL), "r"(&data[2])), 1);
    CHECK_EQ(trap_cause, CAUSE_BREAKPOINT);
    CHECK_EQ(trap_tval, 0);
    CHECK_EQ(data[2], 1);
    /* size 1: only the first byte */
    CHECK_EQ(TRY("sb %0, 1(%1)", "r"(9UL), "r"(&data[2])), 0);
    /* any size: eight bytes from the address */
    csr_write(tdata1, TYPE(2) | M_MODE | STORE);
    CHECK_EQ(TRY("sb %0, 7(%1)", "r"(9UL), "r"(&data[2])), 1);
    CHECK_EQ(TRY("sb %0, 8(%1)", "r"(9UL), "r"(&data[2])), 0);
    CHECK_EQ(TRY("sb %0, -1(%1)", "r"(9UL), "r"(&data[2])), 0);
    CHECK_EQ(TRY("sw %0, 4(%1)", "r"(9UL), "r"(&data[2])), 1);
    CHECK_EQ(TRY("ld t0, 0(%0)", "r"(&data[2])), 0); /* loads do not match a store trigger */
    CHECK_EQ(TRY("amoadd.d zero, zero, (%0)", "r"(&data[2])), 1);
    /* a store-conditional that stores (after lr.d) matches; one that fails does not */
    CHECK_EQ(TRY("lr.d t0, (%0)\nsc.d t0, zero, (%0)", "r"(&data[2])), 1);
    CHECK_EQ(TRY("sc.d t0, zero, (%0)", "r"(&data[2])), 0);
    CHECK_EQ(TRY("fsd ft0, 0(%0)", "r"(&data[2])), 1);
    /* load triggers: every kind of load, and atomics */
    csr_write(tdata1, TYPE(6) | M_MODE | LOAD);
    CHECK_EQ(TRY("ld t0, 0(%0)", "r"(&data[2])), 1);
    CHECK_EQ(TRY("lbu t0, 3(%0)", "r"(&data[2])), 1);
    CHECK_EQ(TRY("lr.d t0, (%0)", "r"(&data[2])), 1);
    CHECK_EQ(TRY("fld ft0, 0(%0)", "r"(&data[2])), 1);
    CHECK_EQ(TRY("amoswap.d zero, zero, (%0)", "r"(&data[2])), 1);
    CHECK_EQ(TRY("sd zero, 0(%0)", "r"(&data[2])), 0);
    csr_write(tdata1, TYPE(2));
    CHECK_EQ(data[2], 0);
    /* the second trigger works on its own */
    csr_write(tdata1, TYPE(2));
    csr_write(tselect, 1);
    csr_write(tdata2, (u64)&data[3]);
    csr_write(tdata1, TYPE(6) | M_MODE | LOAD);
    CHECK_EQ(TRY("ld t0, 0(%0)", "r"(&data[3])), 1);
    CHECK_EQ(TRY("ld t0, 0(%0)", "r"(&data[2])), 0);
    csr_write(tdata1, TYPE(2));
    csr_write(tselect, 0);
}

int main(void) {
    register_cases();
    execute_cases();
    data_cases();
    finish();
}
