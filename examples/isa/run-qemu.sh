#!/bin/sh
# Build (if needed) and run all ISA tests under QEMU's virt board.
dir=$(cd "$(dirname "$0")" && pwd)
make -s -C "$dir" || exit 1
exec "$dir/run.sh" ${QEMU:-qemu-system-riscv64} -M virt -m 128M -smp 1 -nographic -bios none "$@"
