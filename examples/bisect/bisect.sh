#!/bin/sh
# `git bisect run` script for the example's history: builds the kernel (a build that fails skips the commit:
# exit 125) and lets rewind's verdict mark the commit (0 good, 1 bad: a panic, or no `boot: ok` within a second of
# virtual time). REWIND says where rewind is.
#   git bisect start BAD GOOD && git bisect run sh bisect.sh
set -u
REWIND=${REWIND:-rewind}
make -s BUILD=build >/dev/null 2>&1 || exit 125
exec "$REWIND" run -M virt -bios none -nographic -kernel build/boot.elf --expect 'boot: ok' --timeout 1s
