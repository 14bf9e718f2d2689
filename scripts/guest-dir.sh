#!/usr/bin/env bash
# Prints the directory holding the Linux guest (Image, initramfs.cpio.gz, vmlinux.zst): $REWIND_GUEST_DIR,
# ../shared/guests beside the checkout, or guest-build/ made by scripts/build-guest.sh.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
for d in "${REWIND_GUEST_DIR:-}" "$top/../shared/guests" "$top/guest-build"; do
  if [ -n "$d" ] && [ -f "$d/Image" ] && [ -f "$d/initramfs.cpio.gz" ]; then
    cd "$d" && pwd
    exit 0
  fi
done
echo "no guest found: set REWIND_GUEST_DIR, or build one with: sudo scripts/build-guest.sh guest-build" >&2
exit 1
