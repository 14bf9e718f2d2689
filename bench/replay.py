#!/usr/bin/env python3
"""Record/replay costs under rewind and QEMU (-icount shift=auto,rr=record|replay), side by side.

    python3 bench/replay.py [--runs N] [--cases boot,bench-20m]

For each case: a plain run, a recording and its replay (median wall seconds), the recording's size, and the
ratios against QEMU's record and replay. Reverse-execution costs come from
`cargo run --release -p rewind-replay --example reverse_bench`.
"""
import argparse, os, statistics, subprocess, sys, tempfile, time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FW = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
CASES = {"boot": "poweroff=1", "bench-20m": "bench=1 bench_iters=20000000"}


def timed(cmd):
    start = time.perf_counter()
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
    t = time.perf_counter() - start
    out = p.stdout.decode(errors="replace")
    if p.returncode != 0 or "reboot: Power down" not in out:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{out[-1500:]}")
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cases", default="boot,bench-20m")
    args = ap.parse_args()
    g = subprocess.check_output(["bash", os.path.join(TOP, "scripts/guest-dir.sh")], text=True).strip()
    subprocess.check_call(["cargo", "build", "--release", "-q", "-p", "rewind-debugger"], cwd=TOP)
    rw = os.path.join(TOP, "target/release/rewind")
    tmp = tempfile.mkdtemp(prefix="rewind-bench-")
    rwd, rr = os.path.join(tmp, "run.rwd"), os.path.join(tmp, "rr.bin")
    common = ["-M", "virt", "-m", "256M", "-nographic", "-kernel", f"{g}/Image", "-initrd", f"{g}/initramfs.cpio.gz"]
    print(f"{'case':10} {'rewind run':>10} {'record':>8} {'replay':>8} {'log B':>7} | {'qemu rec':>8} {'qemu rep':>8} {'log B':>7} | rec ratio  rep ratio")
    for case in args.cases.split(","):
        app = ["-append", f"console=ttyS0 {CASES[case]}"]
        t = {k: [] for k in ["run", "rec", "rep", "qrec", "qrep"]}
        for _ in range(args.runs):
            t["run"].append(timed([rw] + common + app))
            t["rec"].append(timed([rw, "record", "-o", rwd] + common + app))
            t["rep"].append(timed([rw, "replay", rwd]))
            q = ["qemu-system-riscv64", "-bios", FW] + common + app + ["-net", "none"]
            t["qrec"].append(timed(q + ["-icount", f"shift=auto,rr=record,rrfile={rr}"]))
            t["qrep"].append(timed(q + ["-icount", f"shift=auto,rr=replay,rrfile={rr}"]))
        m = {k: statistics.median(v) for k, v in t.items()}
        print(f"{case:10} {m['run']:>10.2f} {m['rec']:>8.2f} {m['rep']:>8.2f} {os.path.getsize(rwd):>7} | "
              f"{m['qrec']:>8.2f} {m['qrep']:>8.2f} {os.path.getsize(rr):>7} | "
              f"{m['rec'] / m['qrec']:>8.2f}x {m['rep'] / m['qrep']:>8.2f}x")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
