#!/bin/sh
# `git bisect run` script for a Linux tree: builds the riscv Image (a build that fails skips the commit: exit
# 125), boots it under rewind with an initramfs, and lets rewind's verdict mark the commit: good when the console
# shows init starting within 60 s of virtual time, bad on a panic, an Oops, `BUG:`, a trap loop or a hang.
#   git bisect start v6.2 v6.1 && git bisect run sh /path/to/rewind/examples/bisect/bisect-linux.sh
set -u
REWIND=${REWIND:-rewind}
INITRD=${INITRD:-$HOME/initramfs.cpio.gz}
make -j"$(nproc)" ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- Image >/dev/null 2>&1 || exit 125
exec "$REWIND" run -M virt -m 256M -nographic -kernel arch/riscv/boot/Image -initrd "$INITRD" \
    -append 'console=ttyS0' --expect 'Run /init as init process' --timeout 60s
