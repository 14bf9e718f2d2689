#!/usr/bin/env python3
"""Record/replay costs under rewind and QEMU (-icount shift=auto,rr=record|replay), side by side.

    python3 bench/replay.py [--runs N] [--cases boot,bench-20m] [--baseline OTHER_REWIND]

For each case: a plain run, a recording and its replay (median wall seconds), the recording's size, and the
ratios against QEMU's record and replay. Reverse-execution costs come from
`cargo run --release -p rewind-replay --example reverse_bench`. With --baseline, another rewind binary (say, built
from an earlier commit) runs, records and replays interleaved too, and a second line per case shows its times and
rewind/baseline: an A/B comparison on the same noisy machine.
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
    ap.add_argument("--baseline", help="another rewind binary to compare against, interleaved")
    args = ap.parse_args()
    g = subprocess.check_output(["bash", os.path.join(TOP, "scripts/guest-dir.sh")], text=True).strip()
    subprocess.check_call(["cargo", "build", "--release", "-q", "-p", "rewind-debugger"], cwd=TOP)
    rw = os.path.join(TOP, "target/release/rewind")
    tmp = tempfile.mkdtemp(prefix="rewind-bench-")
    rwd, rr, base_rwd = os.path.join(tmp, "run.rwd"), os.path.join(tmp, "rr.bin"), os.path.join(tmp, "base.rwd")
    base = os.path.abspath(args.baseline) if args.baseline else None
    common = ["-M", "virt", "-m", "256M", "-nographic", "-kernel", f"{g}/Image", "-initrd", f"{g}/initramfs.cpio.gz"]
    print(f"{'case':10} {'rewind run':>10} {'record':>8} {'replay':>8} {'log B':>7} | {'qemu rec':>8} {'qemu rep':>8} {'log B':>7} | rec ratio  rep ratio")
    for case in args.cases.split(","):
        app = ["-append", f"console=ttyS0 {CASES[case]}"]
        t = {k: [] for k in ["run", "rec", "rep", "qrec", "qrep", "brun", "brec", "brep"]}
        for _ in range(args.runs):
            t["run"].append(timed([rw] + common + app))
            t["rec"].append(timed([rw, "record", "-o", rwd] + common + app))
            t["rep"].append(timed([rw, "replay", rwd]))
            if base:
                t["brun"].append(timed([base] + common + app))
                t["brec"].append(timed([base, "record", "-o", base_rwd] + common + app))
                t["brep"].append(timed([base, "replay", base_rwd]))
            q = ["qemu-system-riscv64", "-bios", FW] + common + app + ["-net", "none"]
            t["qrec"].append(timed(q + ["-icount", f"shift=auto,rr=record,rrfile={rr}"]))
            t["qrep"].append(timed(q + ["-icount", f"shift=auto,rr=replay,rrfile={rr}"]))
        m = {k: statistics.median(v) for k, v in t.items() if v}
        print(f"{case:10} {m['run']:>10.2f} {m['rec']:>8.2f} {m['rep']:>8.2f} {os.path.getsize(rwd):>7} | "
              f"{m['qrec']:>8.2f} {m['qrep']:>8.2f} {os.path.getsize(rr):>7} | "
              f"{m['rec'] / m['qrec']:>8.2f}x {m['rep'] / m['qrep']:>8.2f}x")
        if base:
            print(f"{'  baseline':10} {m['brun']:>10.2f} {m['brec']:>8.2f} {m['brep']:>8.2f} {os.path.getsize(base_rwd):>7} | "
                  f"rewind/baseline: run {m['run'] / m['brun']:.2f}x, record {m['rec'] / m['brec']:.2f}x, "
                  f"replay {m['rep'] / m['brep']:.2f}x")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
