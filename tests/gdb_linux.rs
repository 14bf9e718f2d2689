//! A kernel developer's gdb session against the shared Linux guest: rewind `-S -gdb tcp::PORT`, real
//! `gdb-multiarch` with the guest's vmlinux.

mod common;
mod gdb_support;
use common::*;
use gdb_support::*;
use std::time::Duration;

fn rewind(extra: &[&str]) -> (Rewind, std::path::PathBuf) {
    let vmlinux = vmlinux(&guest_dir());
    let mut args = vec!["-S"];
    args.extend_from_slice(extra);
    (Rewind::start(linux_command("poweroff=1", &[]), &args), vmlinux)
}

fn assert_has(out: &str, what: &[&str]) {
    for w in what {
        assert!(out.contains(w), "missing {w:?} in gdb's output:\n{out}");
    }
}

/// Value of the last `$N = value` line gdb printed for history number `n`.
fn value(out: &str, n: usize) -> String {
    let prefix = format!("${n} = ");
    out.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("no {prefix} in:\n{out}")).to_string()
}

#[test]
fn break_continue_backtrace_step_next_and_registers() {
    let (r, vmlinux) = rewind(&[]);
    let out = r.gdb(
        &vmlinux,
        &[
            "break start_kernel",
            "continue",
            "bt",
            "p/x $pc",
            "stepi",
            "p/x $pc",
            "next",
            "info registers",
            "p/x $satp",
            "p/x $priv",
            "x/4i $pc",
            "set $a0 = 5",
            "p $a0",
            "p $fcsr",
            "p $ft0",
        ],
    );
    assert_has(
        &out,
        &[
            "Breakpoint 1, start_kernel ()",
            "#0  start_kernel ()",
            "init/main.c",
            "ra             0x",
            "sp             0x",
            "pc             0xffffffff",
        ],
    );
    let pc0 = u64::from_str_radix(value(&out, 1).trim_start_matches("0x"), 16).unwrap();
    let pc1 = u64::from_str_radix(value(&out, 2).trim_start_matches("0x"), 16).unwrap();
    assert!(pc1 > pc0 && pc1 <= pc0 + 4, "stepi moved from {pc0:#x} to {pc1:#x}");
    // `next` printed the next source line: "<line>\t<text or 'in file'>".
    assert!(out.lines().any(|l| l.starts_with("9") && l.contains("main.c")), "next did not report a line:\n{out}");
    let satp = u64::from_str_radix(value(&out, 3).trim_start_matches("0x"), 16).unwrap();
    assert!((8..=10).contains(&(satp >> 60)), "paging on (Sv39/48/57) in satp: {satp:#x}");
    assert_eq!(value(&out, 4), "0x1", "the kernel runs in S-mode");
    assert!(out.contains("=> 0xffffffff"), "x/4i shows the current instruction:\n{out}");
    assert_eq!(value(&out, 5), "5");
    assert!(!out.contains("flen"), "{out}");
}

#[test]
fn monitor_commands() {
    let (r, vmlinux) = rewind(&[]);
    let out = r.gdb(
        &vmlinux,
        &[
            "monitor help",
            "monitor info mtree",
            "monitor info registers",
            "monitor info devices",
            "monitor info icount",
            "monitor phys on",
            "x/2xw 0x1000",
            "monitor phys off",
            "monitor frobnicate",
        ],
    );
    assert_has(&out, &["info mtree", "info devices", "phys on|off"]);
    for region in ["ram", "serial", "plic", "clint", "virtio"] {
        assert!(out.to_lowercase().contains(region), "mtree lacks {region}:\n{out}");
    }
    assert_has(&out, &["CPU#0", " priv     Machine", "mstatus", "satp", "total 0", "hart 0 0", "physical addresses"]);
    assert_has(&out, &["0x1000:", "unknown command 'frobnicate'"]);
}

/// rewind's backtrace (DWARF call-frame information through gimli; the kernel has no frame pointers) finds the
/// frames gdb finds: every return address gdb prints, in gdb's order, except the callers gdb reconstructs from
/// call-site information after a tail call, which are on no stack.
#[test]
fn backtrace_matches_gdbs() {
    let symbols = vmlinux(&guest_dir());
    let (r, vmlinux) = rewind(&["--symbols", symbols.to_str().unwrap()]);
    let out = r.gdb(&vmlinux, &["break mem_serial_out", "continue", "bt", "monitor bt"]);
    let address = |l: &str| l.split_whitespace().nth(1).filter(|w| w.starts_with("0x")).map(str::to_string);
    // gdb's frames print as `#N  0x... in f (...) at ...`; rewind's as `#N  0x... in f+0x.. at ...`.
    let gdb: Vec<String> = out.lines().filter(|l| l.starts_with('#') && l.contains(" (")).filter_map(address).collect();
    let ours: Vec<String> =
        out.lines().filter(|l| l.starts_with('#') && !l.contains(" (")).skip(1).filter_map(address).collect();
    assert!(ours.len() >= 12, "{out}");
    // Both end in a tail call (`return really_probe(...)`, `return bus_for_each_dev(...)`).
    let tail_callers = ["__driver_probe_device (", "driver_attach ("];
    for a in gdb.iter().filter(|a| !ours.contains(a)) {
        let line = out.lines().find(|l| l.contains(a.as_str())).unwrap_or_default();
        assert!(tail_callers.iter().any(|t| line.contains(t)), "rewind lacks the frame {line}:\n{out}");
    }
    let in_gdb_order: Vec<&String> = gdb.iter().filter(|a| ours.contains(a)).collect();
    assert_eq!(in_gdb_order, ours.iter().collect::<Vec<_>>(), "{out}");
    assert_has(&out, &["in do_one_initcall+", "in kernel_init+", "at /usr/src/linux-source-6.1/init/main.c:"]);
}

/// QEMU's `info` commands for what the devices did, at the end of the kernel's initcalls: the disk's partition scan,
/// the console's and the timer's interrupts, the PLIC's enabled sources, the loaded images, the kernel's mappings.
#[test]
fn device_info_commands_after_the_initcalls() {
    let dir = std::env::temp_dir().join(format!("rewind-info-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let disk = dir.join("disk.img");
    std::fs::write(&disk, vec![0u8; 4 << 20]).unwrap();
    let drive = format!("file={},format=raw,if=none,id=d0", disk.display());
    let (r, vmlinux) = rewind(&["-drive", &drive, "-device", "virtio-blk-device,drive=d0"]);
    let out = r.gdb(
        &vmlinux,
        &[
            "break free_initmem",
            "continue",
            "monitor info blockstats",
            "monitor info irq",
            "monitor info pic",
            "monitor info roms",
            "monitor info tlb",
        ],
    );
    // QEMU 7.2 reports the same for the same guest: Linux reads the partition table, one 4 KiB page.
    assert_has(&out, &["d0: rd_bytes=4096 wr_bytes=0 rd_operations=1 wr_operations=0 flush_operations=0"]);
    // The kernel's timer is the hart's own (Sstc), counted with the lines devices drive.
    assert_has(&out, &["IRQ statistics for the platform interrupt lines:", "IRQ statistics for hart 0:", " STIP"]);
    let uart_irqs = out.lines().find_map(|l| l.strip_prefix("10: ")).unwrap_or_else(|| panic!("no line 10:\n{out}"));
    assert!(uart_irqs.parse::<u64>().is_ok_and(|n| n > 0), "{out}");
    assert!(out.lines().any(|l| l.starts_with("    10        1 ") && l.ends_with("hart0.S")), "{out}");
    assert_has(&out, &["context 1 (hart 0 S): threshold 0"]);
    assert_has(&out, &["addr=0000000080200000 size=", "Image\"", "name=\"fdt\"", "mem=rom name=\"mrom.reset\""]);
    assert!(out.lines().any(|l| l.starts_with("ffffffff80000000: 0000000080200000 ")), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn write_watchpoint_on_jiffies_stops_in_the_writer() {
    let (r, vmlinux) = rewind(&[]);
    let out = r.gdb(
        &vmlinux,
        &["break start_kernel", "continue", "delete", "watch jiffies", "continue", "bt 1", "continue", "bt 1"],
    );
    assert_has(&out, &["Hardware watchpoint 2: jiffies", "Old value = ", "New value = "]);
    // The writer is do_timer (`jiffies_64 += ticks`): gdb shows the stop right after its store.
    let stops = out.matches("#0  do_timer").count() + out.matches("#0  0x").count();
    assert!(out.contains("do_timer"), "the watchpoint did not stop in do_timer:\n{out}");
    assert!(stops >= 1, "{out}");
    let olds: Vec<u64> =
        out.lines().filter_map(|l| l.strip_prefix("Old value = ")).filter_map(|v| v.trim().parse().ok()).collect();
    let news: Vec<u64> =
        out.lines().filter_map(|l| l.strip_prefix("New value = ")).filter_map(|v| v.trim().parse().ok()).collect();
    assert_eq!(olds.len(), 2, "{out}");
    assert_eq!(news[0], olds[0] + 1, "one tick per stop: {out}");
    assert_eq!(olds[1], news[0], "no write missed between two stops: {out}");
}

#[test]
fn two_harts_are_two_threads() {
    let (r, vmlinux) = rewind(&["-smp", "2"]);
    let out = r.gdb(
        &vmlinux,
        &["break start_kernel", "continue", "info threads", "thread 2", "p $mhartid", "thread 1", "p $mhartid"],
    );
    assert_has(&out, &["Thread 1.1", "Thread 1.2", "* 1    Thread 1.1", "start_kernel"]);
    assert_eq!(value(&out, 1), "1");
    assert_eq!(value(&out, 2), "0");
}

#[test]
fn detach_lets_the_guest_run_on_to_userspace() {
    let (mut r, vmlinux) = rewind(&[]);
    let out = r.gdb(&vmlinux, &["break start_kernel", "continue", "detach"]);
    assert_has(&out, &["Breakpoint 1, start_kernel", "detached"]);
    assert!(
        r.wait_stdout("rewind-guest: userspace up", Duration::from_secs(60)),
        "guest did not reach userspace after detach:\n{}\n{}",
        r.stdout(),
        r.stderr()
    );
    assert_eq!(r.wait_exit(Duration::from_secs(30)), Some(0), "{}", r.stderr());
}

#[test]
fn console_works_while_attached_and_poweroff_ends_the_session() {
    let (mut r, vmlinux) = rewind(&[]);
    let out = r.gdb(&vmlinux, &["continue"]);
    assert!(out.contains("exited normally"), "gdb did not see the guest power off:\n{out}");
    assert!(r.stdout().contains("rewind-guest: userspace up"), "console output while attached:\n{}", r.stdout());
    assert_eq!(r.wait_exit(Duration::from_secs(30)), Some(0), "{}", r.stderr());
}
