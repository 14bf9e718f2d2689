# A bare-metal program for the gdb tests (and for trying the gdb server by hand): counts forever, writing and
# reading `counter` and calling `tick` each round.
#   make -C examples/gdb-demo && rewind -M virt -bios none -nographic -kernel examples/gdb-demo/build/demo.elf -s -S
#   gdb-multiarch examples/gdb-demo/build/demo.elf -ex 'target remote :1234'

    .section .text.start, "ax"
    .globl _start
_start:
    la      sp, stack_top
    la      s0, counter
    li      s1, 0
    li      a0, 0
loop:
    addi    s1, s1, 1
    .globl  store_counter
store_counter:
    sd      s1, 0(s0)           # the write watchpoint fires here
    .globl  load_counter
load_counter:
    ld      t0, 0(s0)           # the read watchpoint fires here
    call    tick
    j       loop

    .globl  tick
tick:
    addi    a0, a0, 1
    ret

    .section .data
    .balign 8
    .globl  counter
counter:
    .dword  0

    .section .bss
    .balign 16
    .space  4096
stack_top:
