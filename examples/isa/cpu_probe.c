/* Prints what the hart has, one line per feature: an instruction of each
 * optional extension, Sstc's stimecmp, the HPM counters that exist, misa.
 * It passes whatever it finds; tests run it under several -cpu settings and
 * compare its lines with QEMU's. */
#include "common.h"

#define TRY(insn) ({ trap_arm(); asm volatile(insn ::: "t0", "t1", "memory"); trap_disarm(); trap_count; })

static void report(const char *what, int traps) {
    uart_puts(what);
    uart_puts(traps ? ": illegal\n" : ": ok\n");
}

u64 block[8] __attribute__((aligned(64)));

int main(void) {
    /* sh1add, clz (orc.b's sibling in Zbb), clmul, bset: raw encodings, so
     * the program assembles whatever the toolchain knows */
    report("zba sh1add", TRY(".insn r 0x33, 2, 0x10, t0, t1, t1"));
    report("zbb clz", TRY(".insn i 0x13, 1, t0, t1, 0x600"));
    report("zbc clmul", TRY(".insn r 0x33, 1, 0x05, t0, t1, t1"));
    report("zbs bset", TRY(".insn r 0x33, 1, 0x14, t0, t1, t1"));
    /* Zbkb: pack is its own; andn and zext.h (packw with rs2 = x0) Zbb has too */
    report("zbkb pack", TRY(".insn r 0x33, 4, 0x04, t0, t1, t1"));
    report("zbkb/zbb andn", TRY(".insn r 0x33, 7, 0x20, t0, t1, t1"));
    report("zbkb/zbb zext.h", TRY(".insn r 0x3b, 4, 0x04, t0, t1, x0"));
    report("sstc stimecmp", TRY("csrr t0, 0x14d"));
    /* extensions QEMU 7.2 lacks (rewind's -cpu max has them) */
    report("zicond czero.eqz", TRY(".insn r 0x33, 5, 7, t0, t1, t1"));
    report("zicbom cbo.clean", TRY("la t0, block\n.insn i 0x0f, 2, x0, t0, 1"));
    report("zicboz cbo.zero", TRY("la t0, block\n.insn i 0x0f, 2, x0, t0, 4"));
    report("svinval sinval.vma", TRY(".insn r 0x73, 0, 0x0b, x0, x0, x0"));
    report("zcb c.not", TRY(".half 0x9d75\n.half 0x9d75")); /* c.not a0, twice */
    report("zawrs wrs.sto", TRY(".word 0x01d00073"));
    report("smstateen mstateen0", TRY("csrr t0, mstateen0"));
    report("sdtrig tcontrol", TRY("csrr t0, tcontrol"));
    report("sscofpmf scountovf", TRY("csrr t0, scountovf"));
    csr_set(mstatus, MSTATUS_FS);
    report("zfa fli.d", TRY(".insn r 0x53, 0, 0x79, ft0, x16, x1")); /* fli.d ft0, 1.0 */
    report("mhpmcounter3", TRY("csrr t0, mhpmcounter3"));
    report("mhpmcounter6", TRY("csrr t0, mhpmcounter6"));
    report("mhpmcounter7", TRY("csrr t0, mhpmcounter7"));
    report("mhpmcounter18", TRY("csrr t0, mhpmcounter18"));
    report("mhpmcounter19", TRY("csrr t0, mhpmcounter19"));
    uart_puts("mvendorid ");
    uart_puthex(csr_read(mvendorid));
    uart_puts(" marchid ");
    uart_puthex(csr_read(marchid));
    uart_puts(" mimpid ");
    uart_puthex(csr_read(mimpid));
    uart_puts("\n");
    /* misa less H, which QEMU's default has and rewind does not */
    uart_puts("misa ");
    uart_puthex(csr_read(misa) & ~(1UL << 7));
    uart_puts("\n");
    finish();
}
