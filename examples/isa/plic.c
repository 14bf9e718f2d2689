/* The PLIC's gateway as QEMU's virt has it: a source becomes pending when its
 * device raises the line, and a claim/complete that leaves the line high makes
 * no new request. The 16550's transmit-empty interrupt stays asserted until IIR
 * is read; a handler that never reads IIR (as some teaching kernels' do) takes
 * one interrupt, not an endless storm. Dropping and raising the line (IER, or a
 * byte written to THR, which QEMU's UART lowers and raises again) requests anew,
 * claimed or not. */
#include "common.h"

#define PLIC_BASE 0x0c000000UL
#define PLIC_PRIORITY(src) (PLIC_BASE + 4 * (src))
#define PLIC_PENDING (PLIC_BASE + 0x1000)
#define PLIC_ENABLE_CTX0 (PLIC_BASE + 0x2000)
#define PLIC_THRESHOLD_CTX0 (PLIC_BASE + 0x200000)
#define PLIC_CLAIM_CTX0 (PLIC_BASE + 0x200004)
#define UART_IRQ 10
#define UART_IER 1
#define UART_IIR 2
#define UART_LCR 3
#define IER_ETBEI 0x02
#define IIR_THRI 0x02
#define MIE_MEIE (1UL << 11)
#define CAUSE_MEI (CAUSE_INTR | 11)

static volatile unsigned interrupts;
static volatile u32 last_source;

#define UART8(r) (*(volatile u8 *)(uintptr_t)(UART_BASE + (r)))

/* Claims and completes; never touches the UART. */
static int external_interrupt(struct trapframe *tf) {
    if (tf->cause != CAUSE_MEI)
        return 0;
    last_source = MMIO32(PLIC_CLAIM_CTX0);
    interrupts++;
    MMIO32(PLIC_CLAIM_CTX0) = last_source;
    return 1;
}

static void spin(unsigned n) {
    for (volatile unsigned i = 0; i < n; i++)
        ;
}

int main(void) {
    m_trap_hook = external_interrupt;
    MMIO32(PLIC_PRIORITY(UART_IRQ)) = 1;
    MMIO32(PLIC_THRESHOLD_CTX0) = 0;
    MMIO32(PLIC_ENABLE_CTX0) = 1u << UART_IRQ;
    csr_set(mie, MIE_MEIE);
    csr_set(mstatus, MSTATUS_MIE);

    /* THR is empty: enabling ETBEI raises the line. */
    UART8(UART_LCR) = 0x03;
    UART8(UART_IER) = IER_ETBEI;
    spin(20000);
    CHECK_EQ(interrupts, 1);
    CHECK_EQ(last_source, UART_IRQ);
    CHECK_EQ(MMIO32(PLIC_PENDING) & (1u << UART_IRQ), 0); /* line still high, no new request */

    /* Dropping and raising the line through IER requests again. */
    UART8(UART_IER) = 0;
    UART8(UART_IER) = IER_ETBEI;
    spin(20000);
    CHECK_EQ(interrupts, 2);

    /* A byte to THR: the line falls and rises within the one store. */
    UART8(0) = '\n';
    spin(20000);
    CHECK_EQ(interrupts, 3);

    /* Reading IIR clears the transmit-empty source: the line falls, nothing more comes. */
    csr_clear(mstatus, MSTATUS_MIE);
    CHECK_EQ(UART8(UART_IIR) & 0x0f, IIR_THRI);
    CHECK_EQ(UART8(UART_IIR) & 0x0f, 1); /* no interrupt pending */
    UART8(UART_IER) = 0;
    csr_set(mstatus, MSTATUS_MIE);
    spin(20000);
    CHECK_EQ(interrupts, 3);
    csr_clear(mie, MIE_MEIE);
    finish();
}
