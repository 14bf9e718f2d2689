#!/usr/bin/env bash
# Boots the default guest (OpenSBI + Linux + busybox) under rewind, console on this terminal (Ctrl-A x quits).
# Extra arguments go to rewind, e.g.: scripts/boot.sh -smp 2
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
guest=$("$top/scripts/guest-dir.sh")
cd "$top"
echo "scripts/boot.sh: building rewind (the first build takes a few minutes)" >&2
cargo build --release -p rewind-debugger
exec "$top/target/release/rewind" -M virt -m 256M -nographic \
  -kernel "$guest/Image" -initrd "$guest/initramfs.cpio.gz" -append "console=ttyS0 ${APPEND:-}" "$@"
