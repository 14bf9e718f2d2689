//! The monitor against QEMU's own: the same `monitor` commands sent by gdb-multiarch to rewind's gdb server and to
//! qemu-system-riscv64's, on the same firmware at reset, print the same lines (memory dumps; the flat view's header
//! and the ranges of the regions both boards size alike; `info registers` at reset; `pmemsave` files), and the
//! kernel's page table at `kernel_init` (`info mem`).

mod common;
mod gdb_support;
use common::*;
use gdb_support::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const FIRMWARE: &str = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin";

/// A sequence that exercises every format and size and QEMU's sticky defaults (a later command without a size
/// takes the last one given). The boot ROM's first six words are QEMU's reset code, the same in both.
const COMMANDS: &[&str] = &[
    "monitor xp /8xw 0x80000000",
    "monitor xp /3xg 0x80000000",
    "monitor xp /10xb 0x80000000",
    "monitor xp /4dw 0x80000000",
    "monitor xp /3xh 0x80000002",
    "monitor xp 0x80000000",
    "monitor xp /2x 0x80000000",
    "monitor x /2xw 0x80000000",
    "monitor xp /2uw 0x80000000",
    "monitor xp /2ow 0x80000000",
    "monitor xp /5c 0x80000000",
    "monitor xp /3dg 0x80000000",
    "monitor xp /2ub 0x80000003",
    "monitor xp /6xw 0x1000",
    "monitor xp/4xw 0x80000010",
    "monitor info mtree -f",
    "monitor info registers",
];

/// `info registers` rows only one side prints: QEMU's hypervisor rows (its default CPU has the H extension,
/// rewind's hart does not), and rewind's privilege and instruction count. `mip` differs at reset: QEMU's ACLINT
/// starts with mtimecmp 0, so MTIP is pending before the firmware programs the timer; rewind's CLINT does not.
const ONE_SIDED_ROWS: &[&str] = &[
    "V", "hstatus", "vsstatus", "hideleg", "hedeleg", "vstvec", "vsepc", "vscause", "htval", "mtval2", "priv",
    "icount", "mip",
];

/// The rows of `info registers` both emulators print, one per register (`name value`).
fn register_rows(out: &str) -> Vec<String> {
    let mut words = out
        .lines()
        .skip_while(|l| l.trim_end() != "CPU#0")
        .skip(1)
        .take_while(|l| l.starts_with(' '))
        .flat_map(|l| {
            let words: Vec<&str> = l.split_whitespace().filter(|w| *w != "=").collect();
            words.chunks(2).map(|c| c.join(" ")).collect::<Vec<_>>()
        })
        .collect::<Vec<_>>();
    words.retain(|row| !ONE_SIDED_ROWS.contains(&row.split(' ').next().unwrap_or("")));
    words
}

/// Regions whose flat ranges are the same on both boards. The others differ in size until the board follows
/// QEMU's device sizes (rewind's CLINT is one region, QEMU's ACLINT two; QEMU's UART, RTC and virtio windows are
/// smaller) or are devices rewind lacks (PCIe, flash, fw_cfg).
const SAME_REGIONS: &[&str] =
    &["riscv_virt_board.mrom", "riscv.sifive.test", "riscv.sifive.plic", "riscv_virt_board.ram"];

/// The `info mtree -f` lines of the flat view of the `memory` address space (QEMU numbers its views in no fixed
/// order, so the number is left out) that are headers or ranges of [`SAME_REGIONS`].
fn flat_view_lines(out: &str) -> Vec<String> {
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    let views = lines.split(|l| l.starts_with("FlatView #") || l.is_empty());
    let Some(view) = views.into_iter().find(|v| v.contains(&" AS \"memory\", root: system")) else {
        return Vec::new();
    };
    view.iter()
        .take_while(|l| !l.starts_with("(qemu)"))
        .filter(|l| !l.contains("(prio ") || SAME_REGIONS.iter().any(|r| l.ends_with(&format!("): {r}"))))
        .map(|l| l.to_string())
        .collect()
}

/// The lines of a gdb session's output that are memory dump lines (`<16 hex digits>:`).
fn dump_lines(out: &str) -> Vec<String> {
    out.lines()
        .map(str::trim_end)
        .filter(|l| l.len() > 17 && l.as_bytes()[16] == b':' && l[..16].chars().all(|c| c.is_ascii_hexdigit()))
        .map(String::from)
        .collect()
}

struct Qemu(Child);

/// Starts `qemu` (a qemu-system-riscv64 command line) stopped, with its gdb server on a free port, and waits for
/// the server; `None` (and a line saying so) if QEMU is not installed.
fn start_qemu(mut qemu: Command) -> Option<(Qemu, u16)> {
    let port = free_port();
    let spawned = qemu
        .args(["-S", "-gdb", &format!("tcp::{port}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(qemu) = spawned.map(Qemu) else {
        eprintln!("qemu-system-riscv64 missing (apt-get install qemu-system-misc): skipping");
        return None;
    };
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "QEMU's gdb server did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some((qemu, port))
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn monitor_output_matches_qemus_line_for_line() {
    if !std::path::Path::new(FIRMWARE).exists() {
        eprintln!("{FIRMWARE} missing (apt-get install opensbi): skipping");
        return;
    }
    let elf = demo_elf();
    let machine = ["-M", "virt", "-m", "256M", "-nographic", "-bios", FIRMWARE];

    let mut cmd = Command::new(rewind_bin());
    cmd.args(machine);
    let rewind = Rewind::start(cmd, &["-S"]);
    let save = |who: &str| std::env::temp_dir().join(format!("rewind-monitor-{who}-{}.bin", std::process::id()));
    let with_save = |who: &str| {
        let mut c: Vec<String> = COMMANDS.iter().map(|c| c.to_string()).collect();
        // Quoted: QEMU would read an unquoted path as a division of the size.
        c.push(format!("monitor pmemsave 0x80000000 8192 \"{}\"", save(who).display()));
        c
    };
    let commands = with_save("rewind");
    let ours = rewind.gdb(&elf, &commands.iter().map(String::as_str).collect::<Vec<_>>());

    let mut qemu = Command::new("qemu-system-riscv64");
    qemu.args(machine);
    let Some((qemu, port)) = start_qemu(qemu) else { return };
    let commands = with_save("qemu");
    let connect = format!("target remote 127.0.0.1:{port}");
    let theirs = gdb_session(&elf, &connect, &commands.iter().map(String::as_str).collect::<Vec<_>>());
    drop(qemu);

    let (our_file, their_file) = (std::fs::read(save("rewind")), std::fs::read(save("qemu")));
    let _ = (std::fs::remove_file(save("rewind")), std::fs::remove_file(save("qemu")));
    let (our_file, their_file) = (our_file.expect("rewind's pmemsave file"), their_file.expect("QEMU's pmemsave file"));
    assert_eq!(their_file.len(), 8192);
    assert!(our_file == their_file, "pmemsave files differ");

    let (our_rows, their_rows) = (register_rows(&ours), register_rows(&theirs));
    assert_eq!(their_rows.len(), 1 + 16 + 64, "QEMU's registers: {their_rows:?}");
    assert_eq!(our_rows, their_rows, "rewind's info registers (left) differs from QEMU's (right)");
    let (our_view, their_view) = (flat_view_lines(&ours), flat_view_lines(&theirs));
    assert_eq!(their_view.len(), 3 + SAME_REGIONS.len(), "QEMU's flat view:\n{}", their_view.join("\n"));
    assert_eq!(our_view, their_view, "rewind's flat view (left) differs from QEMU's (right)");
    let (ours, theirs) = (dump_lines(&ours), dump_lines(&theirs));
    assert!(theirs.len() >= COMMANDS.len() - 1, "QEMU's output has too few dump lines:\n{}", theirs.join("\n"));
    assert_eq!(ours, theirs, "rewind's dumps (left) differ from QEMU's (right)");
}

/// The lines of an `info mem` table (its header and rows).
fn page_table_lines(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.starts_with("vaddr ") || l.starts_with("----") || is_page_row(l))
        .map(str::to_string)
        .collect()
}

fn is_page_row(l: &str) -> bool {
    let f: Vec<&str> = l.split(' ').collect();
    f.len() == 4 && f[..3].iter().all(|x| x.len() == 16 && x.chars().all(|c| c.is_ascii_hexdigit())) && f[3].len() == 7
}

#[test]
fn info_mem_at_kernel_init_matches_qemus() {
    let vmlinux = vmlinux(&guest_dir());
    let g = guest_dir();
    let (image, initrd) = (g.join("Image"), g.join("initramfs.cpio.gz"));
    // The same firmware on both: QEMU's default is fw_dynamic, which leaves the device tree where the board put it,
    // fw_jump (rewind's default) moves it.
    let machine = |c: &mut Command| {
        c.args(["-M", "virt", "-m", "256M", "-nographic", "-bios", FIRMWARE, "-kernel"]).arg(&image);
        c.arg("-initrd").arg(&initrd).args(["-append", "console=ttyS0"]);
    };
    let commands = ["break kernel_init", "continue", "monitor info mem"];
    let mut cmd = Command::new(rewind_bin());
    machine(&mut cmd);
    let rewind = Rewind::start(cmd, &["-S"]);
    let ours = rewind.gdb(&vmlinux, &commands);
    drop(rewind);

    let mut qemu = Command::new("qemu-system-riscv64");
    machine(&mut qemu);
    let Some((qemu, port)) = start_qemu(qemu) else { return };
    let theirs = gdb_session(&vmlinux, &format!("target remote 127.0.0.1:{port}"), &commands);
    drop(qemu);
    let (ours, theirs) = (page_table_lines(&ours), page_table_lines(&theirs));
    assert!(theirs.len() > 6, "QEMU printed a short page table:\n{}", theirs.join("\n"));
    // QEMU 7.2's hart has Sv57 (and no way to turn it off), so Linux maps its linear map there 5 levels deep and
    // rewind's (Sv48, 4 levels) elsewhere: below the kernel image's fixed addresses, rows agree but for the
    // virtual address.
    let comparable = |row: &String| match row.starts_with("ffffffff8") || !is_page_row(row) {
        true => row.clone(),
        false => row.split_once(' ').map_or(row.clone(), |(_, rest)| rest.to_string()),
    };
    let (ours, theirs): (Vec<String>, Vec<String>) =
        (ours.iter().map(comparable).collect(), theirs.iter().map(comparable).collect());
    assert_eq!(ours, theirs, "rewind's info mem (left) differs from QEMU's (right)");
}
