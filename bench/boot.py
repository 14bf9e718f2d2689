#!/usr/bin/env python3
"""Boots the shared guest under rewind and under qemu-system-riscv64 side by side and prints the time ratios.

    python3 bench/boot.py [--runs N] [--cases boot,bench-1m,bench,smp2] [--baseline OTHER_REWIND]

Each case runs N times per emulator, interleaved; the table shows median wall time (min-max) of rewind (JIT on, the
default), of rewind's interpreter alone (--jit off) and of QEMU, and both rewind/QEMU ratios. With --baseline, another
rewind binary (say, built from an earlier commit) runs interleaved with them too, and rewind/baseline is shown: an A/B
comparison of two versions on the same noisy machine.
"""
import argparse, os, statistics, subprocess, sys, time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FW = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"

CASES = {
    "boot": ("poweroff=1", []),
    "bench-1m": ("bench=1 bench_iters=1000000", []),
    "bench": ("bench=1", []),
    "smp2": ("poweroff=1", ["-smp", "2"]),
}


def guest_dir():
    return subprocess.check_output(["bash", os.path.join(TOP, "scripts/guest-dir.sh")], text=True).strip()


def run(cmd):
    start = time.perf_counter()
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
    elapsed = time.perf_counter() - start
    out = p.stdout.decode(errors="replace")
    if p.returncode != 0 or "rewind-guest: powering off" not in out:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{out[-2000:]}")
    checksum = [l for l in out.splitlines() if "bench checksum" in l]
    return elapsed, (checksum[0].split("checksum=")[1].split()[0] if checksum else None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cases", default="boot,bench-1m,smp2,bench")
    ap.add_argument("--baseline", help="another rewind binary to compare against (A/B)")
    args = ap.parse_args()
    g = guest_dir()
    subprocess.check_call(["cargo", "build", "--release", "-q", "-p", "rewind-debugger"], cwd=TOP)
    rewind = os.path.join(TOP, "target/release/rewind")
    common = ["-M", "virt", "-m", "256M", "-nographic", "-kernel", f"{g}/Image", "-initrd", f"{g}/initramfs.cpio.gz"]
    base_head = f" {'baseline s':>18} {'rewind/base':>12}" if args.baseline else ""
    print(
        f"{'case':10} {'rewind s':>18} {'interp s':>18} {'qemu s':>18} {'rewind/qemu':>12} {'interp/qemu':>12}"
        f"{base_head}  checksum"
    )
    for case in args.cases.split(","):
        append, extra = CASES[case]
        guest = common + ["-append", f"console=ttyS0 {append}"] + extra
        cmds = {
            "rewind": [rewind] + guest,
            "interp": [rewind, "--jit", "off"] + guest,
            "qemu": ["qemu-system-riscv64", "-bios", FW] + guest,
        }
        if args.baseline:
            cmds["base"] = [args.baseline] + guest
        times = {name: [] for name in cmds}
        sums = set()
        for _ in range(args.runs):
            for name, cmd in cmds.items():
                t, c = run(cmd)
                times[name].append(t)
                sums.add((name, c))
        med = {k: statistics.median(v) for k, v in times.items()}
        fmt = lambda k: f"{med[k]:.2f} ({min(times[k]):.2f}-{max(times[k]):.2f})"
        checks = ", ".join(sorted({f"{n}={c}" for n, c in sums if c}))
        base = f" {fmt('base'):>18} {med['rewind'] / med['base']:>11.2f}x" if args.baseline else ""
        print(
            f"{case:10} {fmt('rewind'):>18} {fmt('interp'):>18} {fmt('qemu'):>18} "
            f"{med['rewind'] / med['qemu']:>11.2f}x {med['interp'] / med['qemu']:>11.2f}x{base}  {checks}"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
