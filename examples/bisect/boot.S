# A tiny "kernel" for the bisect example and its test: prints a line on the virt board's UART, then powers the
# machine off (or, built with HANG set, spins). What it prints and whether it hangs come from version.h, which
# the test's synthetic history changes commit by commit.
#   make -C examples/bisect && rewind run -M virt -bios none -nographic -kernel examples/bisect/build/boot.elf
#include "version.h"

    .equ    UART, 0x10000000
    .equ    SIFIVE_TEST, 0x100000
    .equ    POWEROFF, 0x5555

    .section .text.start, "ax"
    .globl _start
_start:
    la      a0, message
    li      a1, UART
1:  lbu     t0, 0(a0)
    beqz    t0, 2f
    sb      t0, 0(a1)
    addi    a0, a0, 1
    j       1b
2:
#if HANG
3:  j       3b
#endif
    li      a1, SIFIVE_TEST
    li      t0, POWEROFF
    sw      t0, 0(a1)
4:  j       4b

    .section .rodata
message:
    .asciz  MESSAGE
