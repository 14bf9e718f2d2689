/* Shared helpers for the rewind ISA tests (bare metal, QEMU `virt` layout). */
#ifndef ISA_COMMON_H
#define ISA_COMMON_H

#include <stdint.h>

typedef uint64_t u64;
typedef int64_t i64;
typedef uint32_t u32;
typedef int32_t i32;
typedef uint16_t u16;
typedef uint8_t u8;

#ifndef TEST_NAME
#define TEST_NAME "unknown"
#endif

/* ---- devices ---- */
#define UART_BASE 0x10000000UL
#define TEST_DEV 0x100000UL
#define CLINT_BASE 0x2000000UL
#define CLINT_MSIP (CLINT_BASE + 0x0)
#define CLINT_MTIMECMP (CLINT_BASE + 0x4000)
#define CLINT_MTIME (CLINT_BASE + 0xbff8)

#define MMIO32(a) (*(volatile u32 *)(uintptr_t)(a))
#define MMIO64(a) (*(volatile u64 *)(uintptr_t)(a))

/* ---- CSRs ---- */
#define STR_(x) #x
#define STR(x) STR_(x)
#define csr_read(csr) ({ unsigned long __v; \
    asm volatile("csrr %0, " STR(csr) : "=r"(__v) :: "memory"); __v; })
#define csr_write(csr, val) ({ unsigned long __v = (unsigned long)(val); \
    asm volatile("csrw " STR(csr) ", %0" :: "r"(__v) : "memory"); })
#define csr_swap(csr, val) ({ unsigned long __v = (unsigned long)(val); \
    asm volatile("csrrw %0, " STR(csr) ", %1" : "=r"(__v) : "r"(__v) : "memory"); __v; })
#define csr_set(csr, val) ({ unsigned long __v = (unsigned long)(val); \
    asm volatile("csrrs %0, " STR(csr) ", %1" : "=r"(__v) : "r"(__v) : "memory"); __v; })
#define csr_clear(csr, val) ({ unsigned long __v = (unsigned long)(val); \
    asm volatile("csrrc %0, " STR(csr) ", %1" : "=r"(__v) : "r"(__v) : "memory"); __v; })

#define MSTATUS_SIE (1UL << 1)
#define MSTATUS_MIE (1UL << 3)
#define MSTATUS_SPIE (1UL << 5)
#define MSTATUS_MPIE (1UL << 7)
#define MSTATUS_SPP (1UL << 8)
#define MSTATUS_MPP (3UL << 11)
#define MSTATUS_FS (3UL << 13)
#define MSTATUS_MPRV (1UL << 17)
#define MSTATUS_SUM (1UL << 18)
#define MSTATUS_MXR (1UL << 19)
#define MSTATUS_TVM (1UL << 20)
#define MSTATUS_TW (1UL << 21)
#define MSTATUS_TSR (1UL << 22)

#define IRQ_SSI 1
#define IRQ_MSI 3
#define IRQ_STI 5
#define IRQ_MTI 7
#define IRQ_SEI 9
#define IRQ_MEI 11
#define CAUSE_INTR (1UL << 63)

#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS 1
#define CAUSE_ILLEGAL 2
#define CAUSE_BREAKPOINT 3
#define CAUSE_MISALIGNED_LOAD 4
#define CAUSE_LOAD_ACCESS 5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS 7
#define CAUSE_ECALL_U 8
#define CAUSE_ECALL_S 9
#define CAUSE_ECALL_M 11
#define CAUSE_FETCH_PAGE 12
#define CAUSE_LOAD_PAGE 13
#define CAUSE_STORE_PAGE 15

#define PRV_U 0
#define PRV_S 1
#define PRV_M 3

/* ---- console / result ---- */
void uart_putc(char c);
void uart_puts(const char *s);
void uart_puthex(u64 v);
void uart_putdec(u64 v);
__attribute__((noreturn)) void pass(void);
__attribute__((noreturn)) void fail(unsigned n);
__attribute__((noreturn)) void finish(void);

/* ---- checks: every CHECK is one numbered case; failures are recorded
 * (printing is deferred to M-mode in finish()) and the test goes on. ---- */
extern volatile unsigned case_count;
void check_eq(u64 got, u64 exp, int line);
#define CHECK_EQ(got, exp) check_eq((u64)(got), (u64)(exp), __LINE__)
#define CHECK(cond) check_eq((u64)!!(cond), 1, __LINE__)

/* ---- traps ---- */
struct trapframe {
    u64 x[32];
    u64 epc, cause, tval, status;
};
typedef int (*trap_hook_t)(struct trapframe *tf);
/* A hook returns non-zero if it handled the trap; otherwise the default
 * handling runs (mode-switch ecalls, expected-trap recording, or fail). */
extern volatile trap_hook_t m_trap_hook, s_trap_hook;

/* Recorded by the default handlers when expect_trap is set: the faulting
 * instruction is skipped (2 or 4 bytes). */
extern volatile int expect_trap;
extern volatile int trap_count;
extern volatile u64 trap_cause, trap_epc, trap_tval;
extern volatile int trap_level; /* 3 = taken in M, 1 = taken in S */

static inline void trap_arm(void) {
    trap_count = 0;
    trap_cause = trap_epc = trap_tval = ~0UL;
    trap_level = -1;
    expect_trap = 1;
    asm volatile("" ::: "memory");
}
static inline void trap_disarm(void) {
    asm volatile("" ::: "memory");
    expect_trap = 0;
}

/* A hook for a fetch access fault after a call into a bad address: records
 * it like an expected trap and resumes at ra (the instruction itself cannot
 * be skipped). */
int fetch_fault_returns(struct trapframe *tf);

extern void mtrap_entry(void);
extern void strap_entry(void);
void enter_mode(int mode);
void enter_mmode(void);
void enter_smode_from_u(void);

int insn_len_at(u64 epc);

#endif
