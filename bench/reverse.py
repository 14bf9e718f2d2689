#!/usr/bin/env python3
"""Reverse debugging with gdb, rewind against QEMU 7.2 (record/replay + gdbstub), side by side in one run.

    python3 bench/reverse.py [--runs N]

Both record a boot (`poweroff=1`) and replay it under gdb-multiarch, which times (inside gdb, so start-up is not
counted) the sequence QEMU 7.2 is known to handle: continue to start_kernel, continue to kernel_init,
reverse-stepi, reverse-continue back to start_kernel, reverse-stepi, reverse-continue to the start of the log
(the same script as the shared guest's src/qemu-reverse-debug.sh).
"""
import argparse, os, re, socket, statistics, subprocess, sys, tempfile, time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FW = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
STEPS = [
    ("continue to start_kernel", "break start_kernel", "continue"),
    ("continue start_kernel -> kernel_init", "break kernel_init", "continue"),
    ("reverse-stepi (from kernel_init)", None, "reverse-stepi"),
    ("reverse-continue kernel_init -> start_kernel", None, "reverse-continue"),
    ("reverse-stepi (from start_kernel)", None, "reverse-stepi"),
    ("reverse-continue -> start of log", None, "reverse-continue"),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gdb_script(port):
    lines = ["set pagination off", "set confirm off", "python", "import time", "_t = [0.0]",
             "def tic(): _t[0] = time.time()",
             "def toc(label): print('TIMING %s: %.3f s' % (label, time.time() - _t[0]))", "end",
             f"target remote 127.0.0.1:{port}"]
    for label, pre, cmd in STEPS:
        if pre:
            lines.append(pre)
        lines += ["python tic()", cmd, f"python toc('{label}')", "info registers pc"]
    lines.append("kill")
    return "\n".join(lines) + "\n"


def drive(server_cmd, port, vmlinux, work):
    script = os.path.join(work, "rdbg.gdb")
    with open(script, "w") as f:
        f.write(gdb_script(port))
    server = subprocess.Popen(server_cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.7)
    try:
        out = subprocess.run(["gdb-multiarch", "-batch", "-nx", "-x", script, vmlinux], capture_output=True,
                             text=True, timeout=300).stdout
    finally:
        time.sleep(0.5)
        server.kill()
        server.wait()
    times = dict(re.findall(r"TIMING (.*): ([0-9.]+) s", out))
    pcs = re.findall(r"^pc\s+(0x[0-9a-f]+)", out, re.M)
    return {k: float(v) for k, v in times.items()}, pcs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    g = subprocess.check_output(["bash", os.path.join(TOP, "scripts/guest-dir.sh")], text=True).strip()
    subprocess.check_call(["cargo", "build", "--release", "-q", "-p", "rewind-debugger"], cwd=TOP)
    rw = os.path.join(TOP, "target/release/rewind")
    work = tempfile.mkdtemp(prefix="rewind-reverse-")
    vmlinux = os.path.join(work, "vmlinux")
    subprocess.check_call(["zstd", "-dqf", f"{g}/vmlinux.zst", "-o", vmlinux])
    common = ["-M", "virt", "-smp", "1", "-m", "256M", "-nographic", "-kernel", f"{g}/Image",
              "-initrd", f"{g}/initramfs.cpio.gz", "-append", "console=ttyS0 poweroff=1"]
    qcow, rr, rwd = (os.path.join(work, n) for n in ("empty.qcow2", "rr.bin", "boot.rwd"))
    subprocess.check_call(["qemu-img", "create", "-q", "-f", "qcow2", qcow, "1G"])
    q = ["qemu-system-riscv64", "-bios", FW] + common + ["-net", "none", "-drive", f"file={qcow},if=none,id=rr"]
    subprocess.run(q + ["-icount", f"shift=auto,rr=record,rrfile={rr},rrsnapshot=init"], stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=120)
    subprocess.run([rw, "record", "-o", rwd] + common, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True, timeout=120)
    results = {"rewind": [], "qemu": []}
    for _ in range(args.runs):
        p = free_port()
        results["rewind"].append(drive([rw, "replay", rwd, "-S", "-gdb", f"tcp::{p}"], p, vmlinux, work))
        p = free_port()
        results["qemu"].append(drive(q + ["-icount", f"shift=auto,rr=replay,rrfile={rr},rrsnapshot=init",
                                          "-gdb", f"tcp:127.0.0.1:{p}", "-S"], p, vmlinux, work))
    print(f"{'command':48} {'rewind s':>10} {'qemu s':>10} {'rewind/qemu':>12}")
    for label, _, _ in STEPS:
        med = {}
        for name, runs in results.items():
            vals = [r[0][label] for r in runs if label in r[0]]
            med[name] = statistics.median(vals) if vals else None
        fmt = lambda v: f"{v:.3f}" if v is not None else "failed"
        ratio = f"{med['rewind'] / med['qemu']:.2f}x" if med["rewind"] and med["qemu"] else "-"
        print(f"{label:48} {fmt(med['rewind']):>10} {fmt(med['qemu']):>10} {ratio:>12}")
    for name, runs in results.items():
        print(f"{name} pcs after each step: {' '.join(runs[0][1])}")


if __name__ == "__main__":
    main()
