#!/usr/bin/env python3
"""gdb latency under rewind and under qemu-system-riscv64's gdb stub, side by side on the shared guest.

    python3 bench/gdb.py [--runs N] [--steps N] [--far FUNCTION] [--no-build] [--baseline OTHER_REWIND]

Each emulator starts frozen (`-S -gdb tcp::PORT`, `bench=1`) and is driven by `gdb-multiarch -batch -nx` with
the guest's vmlinux. Timing happens inside gdb (Python `time.perf_counter()` around `gdb.execute`), so the
start-up of gdb and of the emulator is not counted. Two sessions per emulator and run, interleaved:
  start_kernel  `break start_kernel` + `continue` from reset; then the breakpoint is deleted and N `stepi`
                are timed (µs per stepi: one full gdb round trip each, registers read back included)
  far           `break FUNCTION` + `continue` from reset; FUNCTION (default run_init_process) is first reached
                about 10^8 guest instructions into the run (rewind's `monitor info icount` says exactly)
The table shows median (min-max) and rewind/QEMU. With --baseline, another rewind binary (say, built from an earlier
commit) runs interleaved too, and rewind/baseline is shown: an A/B comparison on the same noisy machine.
"""
import argparse, os, re, socket, statistics, subprocess, sys, tempfile, time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FW = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
APPEND = "console=ttyS0 bench=1"

# Runs inside gdb. Prints `BENCH key value` lines; everything else gdb prints is ignored.
GDB_SCRIPT = r"""
set pagination off
set confirm off
set height 0
python
import gdb, time
PARAMS
def connect(port):
    deadline = time.time() + 20
    while True:
        try:
            gdb.execute("target remote 127.0.0.1:%d" % port, to_string=True)
            return
        except gdb.error:
            if time.time() > deadline:
                raise
            time.sleep(0.05)
def out(key, value):
    print("BENCH %s %s" % (key, value))
def icount():
    try:
        return gdb.execute("monitor info icount", to_string=True).split()[1]
    except (gdb.error, IndexError):
        return "-"
def cont_to(fn, key):
    b = gdb.Breakpoint(fn)
    t = time.perf_counter()
    gdb.execute("continue", to_string=True)
    out(key, "%.6f" % (time.perf_counter() - t))
    pc = int(gdb.parse_and_eval("$pc"))
    out(key + "_pc", "%#x" % pc)
    out(key + "_hit", int(b.hit_count == 1))
    out(key + "_icount", icount())
    b.delete()
connect(PORT)
if MODE == "start_kernel":
    cont_to("start_kernel", "start_kernel")
    t = time.perf_counter()
    for _ in range(STEPS):
        gdb.execute("stepi", to_string=True)
    out("stepi_us", "%.2f" % ((time.perf_counter() - t) / STEPS * 1e6))
    out("stepi_end_pc", "%#x" % int(gdb.parse_and_eval("$pc")))
    out("stepi_end_icount", icount())
else:
    cont_to(FAR, "far")
try:
    gdb.execute("kill")
except gdb.error:
    pass  # the stub may drop the connection as it exits
end
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def target_dir():
    return os.environ.get("CARGO_TARGET_DIR") or os.path.join(TOP, "target")


def guest_dir():
    return subprocess.check_output(["bash", os.path.join(TOP, "scripts/guest-dir.sh")], text=True).strip()


def vmlinux(g):
    """The guest's vmlinux, unpacked once next to the gdb tests' copy (target/tmp/vmlinux)."""
    dest = os.path.join(target_dir(), "tmp", "vmlinux")
    src = os.path.join(g, "vmlinux.zst")
    if not os.path.exists(dest) or os.path.getmtime(dest) < os.path.getmtime(src):
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        subprocess.check_call(["zstd", "-q", "-f", "-d", src, "-o", dest + ".part"])
        os.replace(dest + ".part", dest)
    return dest


def session(emu_cmd, elf, mode, steps, far, workdir):
    """One emulator + one gdb session; the BENCH values gdb printed."""
    port = free_port()
    script = os.path.join(workdir, f"{mode}.gdb")
    with open(script, "w") as f:
        f.write(GDB_SCRIPT.replace("PARAMS", f"PORT, MODE, STEPS, FAR = {port}, {mode!r}, {steps}, {far!r}"))
    log = open(os.path.join(workdir, "emulator.log"), "wb")
    emu = subprocess.Popen(emu_cmd + ["-S", "-gdb", f"tcp::{port}"], stdin=subprocess.DEVNULL, stdout=log,
                           stderr=subprocess.STDOUT)
    try:
        g = subprocess.run(["gdb-multiarch", "-batch", "-nx", "-x", script, elf], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        out = g.stdout.decode(errors="replace")
    finally:
        try:
            emu.wait(timeout=10)
        except subprocess.TimeoutExpired:
            emu.kill()
            emu.wait()
        log.close()
    vals = dict(m.groups() for m in re.finditer(r"^BENCH (\S+) (\S+)$", out, re.M))
    want = ["start_kernel", "stepi_us"] if mode == "start_kernel" else ["far"]
    hit = vals.get("start_kernel_hit" if mode == "start_kernel" else "far_hit")
    if any(k not in vals for k in want) or hit != "1":
        tail = open(os.path.join(workdir, "emulator.log"), errors="replace").read()[-1500:]
        bench = "\n".join(m.group(0) for m in re.finditer(r"^BENCH .*$", out, re.M))
        sys.exit(f"gdb session failed: {' '.join(emu_cmd)} ({mode})\n--- gdb:\n{out[-3000:]}\n{bench}\n--- emulator:\n{tail}")
    return vals


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--steps", type=int, default=1000, help="stepi count per run (default 1000)")
    ap.add_argument("--far", default="run_init_process",
                    help="breakpoint of the long continue (default run_init_process, ~0.9e8 instructions in)")
    ap.add_argument("--no-build", action="store_true", help="use the rewind binary already built")
    ap.add_argument("--baseline", help="another rewind binary to compare against, interleaved")
    args = ap.parse_args()
    g = guest_dir()
    if not args.no_build:
        subprocess.check_call(["cargo", "build", "--release", "-q", "-p", "rewind-debugger"], cwd=TOP)
    rewind = os.path.join(target_dir(), "release", "rewind")
    elf = vmlinux(g)
    common = ["-M", "virt", "-m", "256M", "-nographic", "-kernel", f"{g}/Image", "-initrd", f"{g}/initramfs.cpio.gz",
              "-append", APPEND]
    emus = {"rewind": [rewind] + common, "qemu": ["qemu-system-riscv64", "-bios", FW] + common}
    if args.baseline:
        emus["baseline"] = [os.path.abspath(args.baseline)] + common
    qv = subprocess.run(["qemu-system-riscv64", "--version"], stdout=subprocess.PIPE, text=True).stdout.split("\n")[0]
    gv = subprocess.run(["gdb-multiarch", "--version"], stdout=subprocess.PIPE, text=True).stdout.split("\n")[0]
    print(f"# {qv}; {gv}; {args.runs} runs, {args.steps} stepi; load average {os.getloadavg()[0]:.2f} at start")
    rows = [("reset -> start_kernel, s", "start_kernel", 3), (f"stepi, us each (N={args.steps})", "stepi_us", 0),
            (f"reset -> {args.far}, s", "far", 3)]
    res = {e: {k: [] for _, k, _ in rows} for e in emus}
    info = {e: {} for e in emus}
    with tempfile.TemporaryDirectory(prefix="rewind-gdbbench-") as work:
        for _ in range(args.runs):
            for name, cmd in emus.items():
                for mode in ("start_kernel", "far"):
                    vals = session(cmd, elf, mode, args.steps, args.far, work)
                    for _, k, _ in rows:
                        if k in vals:
                            res[name][k].append(float(vals[k]))
                    for k, v in vals.items():
                        info[name].setdefault(k, set()).add(v)
    base = "baseline" in emus
    print(f"{'case':34} {'rewind':>24} {'qemu':>24} {'rewind/qemu':>12}"
          + (f" {'baseline':>24} {'rewind/base':>12}" if base else ""))
    for label, k, prec in rows:
        med = {e: statistics.median(res[e][k]) for e in emus}
        fmt = lambda e: f"{med[e]:.{prec}f} ({min(res[e][k]):.{prec}f}-{max(res[e][k]):.{prec}f})"
        line = f"{label:34} {fmt('rewind'):>24} {fmt('qemu'):>24} {med['rewind'] / med['qemu']:>11.2f}x"
        if base:
            line += f" {fmt('baseline'):>24} {med['rewind'] / med['baseline']:>11.2f}x"
        print(line)
    show = lambda e, k: ",".join(sorted(info[e].get(k, {"-"})))
    for k, what in (("start_kernel_icount", "start_kernel"), ("far_icount", args.far),
                    ("stepi_end_icount", f"start_kernel + {args.steps} stepi")):
        print(f"# rewind icount at {what}: {show('rewind', k)}")
    for k in ("start_kernel_pc", "stepi_end_pc", "far_pc"):
        print(f"# {k}: rewind {show('rewind', k)}, qemu {show('qemu', k)}")
    far_ic = [int(x) for x in info["rewind"].get("far_icount", ()) if x.isdigit()]
    if far_ic:
        ic = statistics.median(far_ic)
        print(f"# continue to {args.far}: rewind {ic / statistics.median(res['rewind']['far']) / 1e6:.0f} MIPS, "
              f"qemu ~{ic / statistics.median(res['qemu']['far']) / 1e6:.0f} MIPS (at rewind's instruction count)")
    print(f"# load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
