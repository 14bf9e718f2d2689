#!/usr/bin/env python3
"""Times Debian's U-Boot 2-second autoboot countdown under rewind and under qemu-system-riscv64, side by side.

    python3 bench/uboot.py [--runs N]

The countdown is a poll of the timer. rewind speeds up a hart's time while it only polls the clock (README,
"Determinism"); QEMU's clock is the host's. For each mode (S mode: `-kernel uboot.elf` after OpenSBI; M mode:
`-bios u-boot.bin`) and emulator, the host seconds from "Hit any key to stop autoboot" to the countdown's last
digit are measured N times, interleaved; the table shows the median (min-max) and the rewind/QEMU ratio.
Needs the `u-boot-qemu` package (scripts/deps.sh installs it).
"""
import argparse, os, select, statistics, subprocess, sys, time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODES = {
    "S mode": ["-kernel", "/usr/lib/u-boot/qemu-riscv64_smode/uboot.elf"],
    "M mode": ["-bios", "/usr/lib/u-boot/qemu-riscv64/u-boot.bin"],
}
START = b"Hit any key to stop autoboot:"
LAST_DIGIT = b"\x08\x08\x08 0 "


def countdown(cmd):
    """Host seconds from the countdown's first line to its last digit."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, started, deadline = b"", None, time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([p.stdout], [], [], 0.1)
            if not ready:
                continue
            chunk = os.read(p.stdout.fileno(), 4096)
            if not chunk:
                break
            out += chunk
            now = time.monotonic()
            if started is None and START in out:
                started = now
            if started is not None and LAST_DIGIT in out.split(START, 1)[1]:
                return now - started
    finally:
        p.kill()
        p.wait()
    sys.exit(f"no countdown from: {' '.join(cmd)}\n{out[-2000:].decode(errors='replace')}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    subprocess.check_call(["cargo", "build", "--release", "-q", "-p", "rewind-debugger"], cwd=TOP)
    emulators = {"rewind": os.path.join(TOP, "target/release/rewind"), "qemu": "qemu-system-riscv64"}
    print(f"{'mode':8} {'rewind s':>20} {'qemu s':>20} {'rewind/qemu':>12}")
    for mode, image in MODES.items():
        times = {name: [] for name in emulators}
        for _ in range(args.runs):
            for name, program in emulators.items():
                times[name].append(countdown([program, "-M", "virt", "-m", "256M", "-nographic"] + image))
        cell = lambda t: f"{statistics.median(t):.3f} ({min(t):.3f}-{max(t):.3f})"
        ratio = statistics.median(times["rewind"]) / statistics.median(times["qemu"])
        print(f"{mode:8} {cell(times['rewind']):>20} {cell(times['qemu']):>20} {ratio:>11.3f}x")


if __name__ == "__main__":
    main()
