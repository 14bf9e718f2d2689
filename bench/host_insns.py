#!/usr/bin/env python3
"""Host instructions rewind executes for a guest run, counted by cachegrind: an A/B measure that machine noise
does not blur.

    python3 bench/host_insns.py [--cases boot,bench-1m] [--baseline OTHER_REWIND] [--no-build]

Wall-clock ratios on a shared 2-core machine move by 10% between runs; the number of host instructions for the
same deterministic run (`-icount sleep=off`, so idle time does not depend on the host) moves by less than 0.1%.
It is not a speed (cache misses and branch mispredictions do not show), so use it beside bench/boot.py, to tell a
real change of a few percent from noise. Each case takes about 30 times its normal run time under valgrind.
"""
import argparse, os, re, subprocess, sys, tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = {"boot": "poweroff=1", "bench-1m": "bench=1 bench_iters=1000000"}


def host_insns(binary, guest, append, workdir):
    log = os.path.join(workdir, "cachegrind.log")
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--log-file={log}",
           f"--cachegrind-out-file={os.path.join(workdir, 'out.cg')}", binary, "-M", "virt", "-m", "256M",
           "-nographic", "-kernel", f"{guest}/Image", "-initrd", f"{guest}/initramfs.cpio.gz",
           "-append", f"console=ttyS0 {append}", "-icount", "sleep=off", "--stats"]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=3600)
    out = p.stdout.decode(errors="replace")
    if p.returncode != 0 or "rewind-guest: powering off" not in out:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{out[-2000:]}")
    refs = re.search(r"I\s+refs:\s+([\d,]+)", open(log).read())
    guest = re.search(r"rewind: (\d+) instructions", out)
    if not refs or not guest:
        sys.exit(f"no instruction counts in the output of {' '.join(cmd)}\n{out[-2000:]}")
    return int(refs.group(1).replace(",", "")), int(guest.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="boot")
    ap.add_argument("--baseline", help="another rewind binary to compare against")
    ap.add_argument("--no-build", action="store_true", help="use the rewind binary already built")
    args = ap.parse_args()
    guest = subprocess.check_output(["bash", os.path.join(TOP, "scripts/guest-dir.sh")], text=True).strip()
    if not args.no_build:
        subprocess.check_call(["cargo", "build", "--release", "-q", "-p", "rewind-debugger"], cwd=TOP)
    binaries = {"rewind": os.path.join(TOP, "target/release/rewind")}
    if args.baseline:
        binaries["baseline"] = os.path.abspath(args.baseline)
    print(f"{'case':10} {'binary':9} {'guest insns':>13} {'host insns':>15} {'host/guest':>10}")
    with tempfile.TemporaryDirectory(prefix="rewind-hostinsns-") as work:
        for case in args.cases.split(","):
            counts = {}
            for name, binary in binaries.items():
                host, guest_insns = host_insns(binary, guest, CASES[case], work)
                counts[name] = host
                print(f"{case:10} {name:9} {guest_insns:>13,} {host:>15,} {host / guest_insns:>10.2f}")
                sys.stdout.flush()
            if "baseline" in counts:
                print(f"{case:10} rewind/baseline host instructions: {counts['rewind'] / counts['baseline']:.4f}x")


if __name__ == "__main__":
    main()
