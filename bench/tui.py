#!/usr/bin/env python3
"""What the TUI costs: the shared guest's CPU-bound `bench=1` run headless and inside the TUI, side by side in tmux
terminals of the same size, and how fast the TUI answers a pane switch, a step and a jump to a console line in a
boot recording.

    python3 bench/tui.py [--runs N] [--symbols VMLINUX]

The runs alternate (headless, TUI, headless, ...); the table shows the median wall time (min-max) of each and the
ratio. A run's time is from the moment it is started (headless) or continued with `c` (the TUI starts stopped) to
its poweroff, seen by polling the terminal every 5 ms. A redraw's latency is from the key (tmux send-keys) to the
first screen showing its effect, polled the same way: it includes tmux's own latency, so it overstates the TUI's.
"""
import argparse, os, statistics, subprocess, sys, tempfile, time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REWIND = os.path.join(TOP, "target/release/rewind")
POLL = 0.005


def guest_dir():
    return subprocess.check_output(["bash", os.path.join(TOP, "scripts/guest-dir.sh")], text=True).strip()


def tmux(*args):
    return subprocess.run(["tmux", *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout


def screen(session):
    return tmux("capture-pane", "-p", "-t", session)


def wait_for(session, text, timeout=600):
    start = time.perf_counter()
    while text not in screen(session):
        if time.perf_counter() - start > timeout:
            sys.exit(f"timed out waiting for {text!r}:\n{screen(session)}")
        time.sleep(POLL)
    return time.perf_counter()


def start(session, cmd):
    tmux("kill-session", "-t", session)
    tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "50", cmd + "; sleep 3600")
    return time.perf_counter()


def machine(g, append):
    return f"-M virt -m 256M -kernel {g}/Image -initrd {g}/initramfs.cpio.gz -append '{append}'"


def headless(g):
    t0 = start("bench-tui-h", f"{REWIND} -nographic {machine(g, 'console=ttyS0 bench=1 poweroff=1')}")
    t1 = wait_for("bench-tui-h", "rewind-guest: powering off")
    tmux("kill-session", "-t", "bench-tui-h")
    return t1 - t0


def in_tui(g, config):
    start("bench-tui-t", f"REWIND_TUI_CONFIG={config} {REWIND} tui {machine(g, 'console=ttyS0 bench=1 poweroff=1')}")
    wait_for("bench-tui-t", "stopped at reset")
    tmux("send-keys", "-t", "bench-tui-t", "c")
    t0 = time.perf_counter()
    t1 = wait_for("bench-tui-t", "the guest powered off")
    tmux("kill-session", "-t", "bench-tui-t")
    return t1 - t0


def latency(session, keys, text):
    t0 = time.perf_counter()
    tmux("send-keys", "-t", session, *keys)
    return (wait_for(session, text, timeout=30) - t0) * 1000


def redraws(g, config, symbols):
    rec = os.path.join(tempfile.gettempdir(), f"bench-tui-{os.getpid()}.rwd")
    subprocess.run(f"{REWIND} record -o {rec} -nographic {machine(g, 'console=ttyS0 poweroff=1')}", shell=True,
                   check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sym = f"--symbols {symbols}" if symbols else ""
    s = "bench-tui-r"
    start(s, f"REWIND_TUI_CONFIG={config} {REWIND} replay {rec} --tui {sym}")
    wait_for(s, "stopped at reset")
    tmux("send-keys", "-t", s, "c")
    wait_for(s, "end of the recording")
    out = {}
    # A pane switch: focus the mtree, then hide it (h); its title leaves the screen.
    tmux("send-keys", "-t", s, "5")
    time.sleep(0.2)
    t0 = time.perf_counter()
    tmux("send-keys", "-t", s, "h")
    while " 5 mtree " in screen(s):
        time.sleep(POLL)
    out["pane switch (hide the mtree)"] = (time.perf_counter() - t0) * 1000
    tmux("send-keys", "-t", s, "5")
    time.sleep(0.2)
    out["step backwards (S)"] = latency(s, ["S"], "back at instruction")
    tmux("send-keys", "-t", s, "S")
    time.sleep(0.3)
    # (A step forward onto the recording's last instruction would end at its end: step from one before.)
    out["step (s)"] = latency(s, ["s"], "stepped to")
    tmux("send-keys", "-t", s, "3", "Up", "Up", "Up", "Up")
    time.sleep(0.3)
    out["jump to a console line (Enter)"] = latency(s, ["Enter"], "wrote the first byte")
    tmux("kill-session", "-t", s)
    os.remove(rec)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--symbols", help="vmlinux, for symbols in the replay (optional)")
    args = ap.parse_args()
    g = guest_dir()
    # A session that keeps the tmux server up between the runs' own sessions.
    tmux("new-session", "-d", "-s", "bench-tui-keep", "sleep 3600")
    config = os.path.join(tempfile.gettempdir(), f"bench-tui-{os.getpid()}.conf")
    times = {"headless": [], "tui": []}
    for _ in range(args.runs):
        times["headless"].append(headless(g))
        times["tui"].append(in_tui(g, config))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"bench=1, {args.runs} runs each, median (min-max):")
    for k, v in times.items():
        print(f"  {k:<10} {med[k]:6.2f} s  ({min(v):.2f}-{max(v):.2f})")
    print(f"  tui/headless {med['tui'] / med['headless']:.3f}")
    print("redraw latency in a boot recording (key to screen, through tmux):")
    for name, ms in redraws(g, config, args.symbols).items():
        print(f"  {name:<32} {ms:6.1f} ms")
    if os.path.exists(config):
        os.remove(config)
    tmux("kill-session", "-t", "bench-tui-keep")


if __name__ == "__main__":
    main()
