/* A guest that asks for the debugger: an Sdtrig execute trigger with action 1
 * ("enter Debug Mode") on target(). rewind has no Debug Mode, so the trigger
 * stops the machine for rewind's debugger, as a breakpoint gdb set would. Run
 * with -cpu max (the full trigger module); tests/gdb_reverse.rs drives it under
 * gdb, forwards and backwards. Without a debugger the run ends at the first stop. */
#include "../common.h"

__attribute__((noinline, noipa)) int target(int x) { return x * 3 + 1; }

int main(void) {
    int sum = 0;
    csr_write(tselect, 0);
    csr_write(tdata2, (u64)target);
    /* mcontrol6, action 1, M mode, execute */
    csr_write(tdata1, (6UL << 60) | (1UL << 12) | (1UL << 6) | 4UL);
    for (int i = 0; i < 3; i++)
        sum += target(i);
    CHECK_EQ(sum, 1 + 4 + 7);
    csr_write(tdata1, 15UL << 60);
    finish();
}
