#include "common.h"

volatile unsigned case_count;
static volatile unsigned fail_count;
static volatile unsigned first_fail;
#define MAX_REC 32
static volatile struct { unsigned n; int line; u64 got, exp; } rec[MAX_REC];

volatile trap_hook_t m_trap_hook, s_trap_hook;
volatile int expect_trap;
volatile int trap_count;
volatile u64 trap_cause, trap_epc, trap_tval;
volatile int trap_level;

void uart_putc(char c) {
    volatile u8 *u = (volatile u8 *)UART_BASE;
    while (!(u[5] & 0x20))
        ;
    u[0] = (u8)c;
}
void uart_puts(const char *s) {
    while (*s) {
        if (*s == '\n')
            uart_putc('\r');
        uart_putc(*s++);
    }
}
void uart_puthex(u64 v) {
    uart_puts("0x");
    for (int i = 60; i >= 0; i -= 4)
        uart_putc("0123456789abcdef"[(v >> i) & 0xf]);
}
void uart_putdec(u64 v) {
    char buf[24];
    int i = 0;
    do {
        buf[i++] = '0' + v % 10;
        v /= 10;
    } while (v);
    while (i)
        uart_putc(buf[--i]);
}

void pass(void) {
    uart_puts("PASS " TEST_NAME " (");
    uart_putdec(case_count);
    uart_puts(" cases)\n");
    MMIO32(TEST_DEV) = 0x5555;
    for (;;)
        asm volatile("wfi");
}

void fail(unsigned n) {
    uart_puts("FAIL " TEST_NAME " case ");
    uart_putdec(n);
    uart_puts("\n");
    unsigned code = (n >= 1 && n <= 255) ? n : 255;
    MMIO32(TEST_DEV) = (code << 16) | 0x3333;
    for (;;)
        asm volatile("wfi");
}

void check_eq(u64 got, u64 exp, int line) {
    unsigned n = ++case_count;
    if (got == exp)
        return;
    if (fail_count < MAX_REC) {
        rec[fail_count].n = n;
        rec[fail_count].line = line;
        rec[fail_count].got = got;
        rec[fail_count].exp = exp;
    }
    if (!fail_count)
        first_fail = n;
    fail_count++;
}

static void dump_failures(void) {
    unsigned k = fail_count < MAX_REC ? fail_count : MAX_REC;
    for (unsigned i = 0; i < k; i++) {
        uart_puts("  case ");
        uart_putdec(rec[i].n);
        uart_puts(" (" TEST_NAME " line ");
        uart_putdec(rec[i].line);
        uart_puts("): got ");
        uart_puthex(rec[i].got);
        uart_puts(" expected ");
        uart_puthex(rec[i].exp);
        uart_puts("\n");
    }
}

void finish(void) {
    if (fail_count) {
        dump_failures();
        fail(first_fail);
    }
    pass();
}

int insn_len_at(u64 epc) {
    u16 h = *(volatile u16 *)epc;
    return (h & 3) == 3 ? 4 : 2;
}

static void unexpected(struct trapframe *tf, const char *lvl) {
    uart_puts("unexpected trap in ");
    uart_puts(lvl);
    uart_puts(": cause ");
    uart_puthex(tf->cause);
    uart_puts(" epc ");
    uart_puthex(tf->epc);
    uart_puts(" tval ");
    uart_puthex(tf->tval);
    uart_puts(" after case ");
    uart_putdec(case_count);
    uart_puts("\n");
    dump_failures();
    fail(first_fail ? first_fail : case_count + 1);
}

int fetch_fault_returns(struct trapframe *tf) {
    if (tf->cause != CAUSE_FETCH_ACCESS)
        return 0;
    trap_count++;
    trap_cause = tf->cause;
    trap_epc = tf->epc;
    trap_tval = tf->tval;
    tf->epc = tf->x[1];
    return 1;
}

void m_trap_dispatch(struct trapframe *tf) {
    if (m_trap_hook && m_trap_hook(tf))
        return;
    u64 c = tf->cause;
    if ((c == CAUSE_ECALL_U || c == CAUSE_ECALL_S) && tf->x[17] == 0x4d4d) {
        tf->status |= MSTATUS_MPP; /* return to M, with MIE = 0 */
        tf->status &= ~MSTATUS_MPIE;
        tf->epc += 4;
        return;
    }
    if (expect_trap && !(c & CAUSE_INTR)) {
        trap_count++;
        trap_cause = c;
        trap_epc = tf->epc;
        trap_tval = tf->tval;
        trap_level = 3;
        /* the instruction is readable physically (identity maps only) */
        tf->epc += insn_len_at(tf->epc);
        return;
    }
    unexpected(tf, "M");
}

void s_trap_dispatch(struct trapframe *tf) {
    if (s_trap_hook && s_trap_hook(tf))
        return;
    u64 c = tf->cause;
    if (c == CAUSE_ECALL_U && tf->x[17] == 0x5353) {
        tf->status |= MSTATUS_SPP; /* return to S */
        tf->epc += 4;
        return;
    }
    if (expect_trap && !(c & CAUSE_INTR)) {
        trap_count++;
        trap_cause = c;
        trap_epc = tf->epc;
        trap_tval = tf->tval;
        trap_level = 1;
        tf->epc += insn_len_at(tf->epc);
        return;
    }
    /* cannot print safely from S (UART may be unmapped); escalate */
    unexpected(tf, "S");
}

/* the compiler may emit calls to these even with -ffreestanding */
void *memset(void *d, int c, unsigned long n) {
    u8 *p = d;
    while (n--)
        *p++ = (u8)c;
    return d;
}
void *memcpy(void *d, const void *s, unsigned long n) {
    u8 *p = d;
    const u8 *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}
