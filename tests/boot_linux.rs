//! The shared Linux guest boots under rewind: OpenSBI, the kernel, busybox userspace, the bench checksum QEMU
//! also prints, the shell, `-smp 2`, and console input reaching the shell with every device attached.

mod common;
use common::*;
use rewind::{DeviceInput, Machine, Priv, StopReason};
use rewind_machines::virt::{build, VIRTIO_IRQ, VIRTIO_SLOTS};
use rewind_machines::virtio::{Blk, MmioVersion, OverlayDisk, Rng, VirtioMmio};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(240);

fn assert_booted(run: &Run) {
    for landmark in ["OpenSBI v", "Linux version 6.1", "rewind-guest: userspace up"] {
        assert!(
            run.stdout.contains(landmark),
            "missing {landmark:?} in console output:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
}

#[test]
fn linux_boots_to_userspace_and_powers_off_with_exit_code_zero() {
    let run = run_with_input(linux_command("poweroff=1", &[]), b"", TIMEOUT);
    assert_booted(&run);
    assert!(run.stdout.contains("rewind-guest: powering off"), "{}", run.stdout);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
}

#[test]
fn bench_checksum_matches_the_reference() {
    // bench-expected.txt of the guest build: iters=1000000 -> 0x3d6b0351c606281b (QEMU prints the same).
    let run = run_with_input(linux_command("bench=1 bench_iters=1000000", &[]), b"", TIMEOUT);
    assert_booted(&run);
    assert!(run.stdout.contains("rewind-guest: bench checksum=0x3d6b0351c606281b iters=1000000"), "{}", run.stdout);
    assert_eq!(run.code, Some(0));
}

#[test]
fn two_harts_boot() {
    let run = run_with_input(linux_command("poweroff=1", &["-smp", "2"]), b"", TIMEOUT);
    assert_booted(&run);
    assert!(run.stdout.contains("smp: Brought up 1 node, 2 CPUs"), "{}", run.stdout);
    assert_eq!(run.code, Some(0));
}

/// OpenSBI's description of the boot hart: the `Boot HART` lines of its banner.
fn boot_hart_lines(console: &str) -> Vec<String> {
    console.lines().filter(|l| l.starts_with("Boot HART")).map(|l| l.trim_end().to_string()).collect()
}

/// The hart is QEMU 7.2's default less H: OpenSBI finds the same extensions, PMP entries and HPM counters under
/// rewind as under QEMU with `-cpu rv64,h=false`, for the default CPU and one with Sstc off and 4 counters; Linux
/// lists the extensions it knows in /proc/cpuinfo.
#[test]
fn opensbi_and_linux_see_the_hart_qemu_gives() {
    let prompt = "rewind-guest:/# ";
    let steps = [(prompt, "cat /proc/cpuinfo\n"), (prompt, "poweroff -f\n")];
    let run = run_conversation(linux_command("", &[]), &steps, TIMEOUT);
    assert_booted(&run);
    assert!(run.stdout.contains("isa\t\t: rv64imafdc_sstc_zihintpause"), "{}", run.stdout);
    let lines = boot_hart_lines(&run.stdout);
    for expected in ["Boot HART ISA Extensions  : time,sstc", "Boot HART MHPM Count      : 16"] {
        assert!(lines.iter().any(|l| l == expected), "no '{expected}' in {lines:#?}");
    }
    let qemu = std::process::Command::new("qemu-system-riscv64").arg("--version").output().is_ok();
    for cpu in ["rv64", "rv64,sstc=off,pmu-num=4"] {
        let ours = boot_hart_lines(&run_with_input(linux_command("poweroff=1", &["-cpu", cpu]), b"", TIMEOUT).stdout);
        assert!(ours.len() >= 8, "-cpu {cpu}: {ours:#?}");
        if !qemu {
            continue;
        }
        let g = guest_dir();
        let mut cmd = std::process::Command::new("qemu-system-riscv64");
        cmd.args(["-M", "virt", "-m", "256M", "-nographic", "-bios", rewind_machines::virt::DEFAULT_FIRMWARE, "-cpu"])
            .arg(format!("{cpu},h=false"))
            .arg("-kernel")
            .arg(g.join("Image"))
            .arg("-initrd")
            .arg(g.join("initramfs.cpio.gz"))
            .args(["-append", "console=ttyS0 poweroff=1"]);
        let theirs = boot_hart_lines(&run_with_input(cmd, b"", TIMEOUT).stdout);
        assert_eq!(ours, theirs, "-cpu {cpu}: OpenSBI under rewind (left) and QEMU");
    }
}

#[test]
fn busybox_shell_answers_commands_typed_on_stdin() {
    let prompt = "rewind-guest:/# ";
    let steps = [(prompt, "echo shell-says-$((6*7))\n"), (prompt, "uname -m\n"), (prompt, "poweroff -f\n")];
    let run = run_conversation(linux_command("", &[]), &steps, TIMEOUT);
    assert_booted(&run);
    assert!(run.stdout.contains("shell-says-42"), "{}", run.stdout);
    assert!(run.stdout.contains("riscv64"), "{}", run.stdout);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
}

#[test]
fn virtio_disk_and_rng_work_and_the_image_is_never_written() {
    let img = std::env::temp_dir().join(format!("rewind-boot-disk-{}.img", std::process::id()));
    let mut data = vec![0u8; 4 << 20];
    data[..17].copy_from_slice(b"REWIND-DISK-MAGIC");
    std::fs::write(&img, &data).unwrap();
    // The shared guest's kernel has no PCI: the disk goes on virtio-mmio, as with QEMU.
    let drive = format!("file={},format=raw,if=none,id=d0", img.display());
    let prompt = "rewind-guest:/# ";
    let steps = [
        (prompt, "head -c 17 /dev/vda; echo; cat /sys/block/vda/size\n"),
        (prompt, "echo overwrite > /dev/vda; sync; echo 3 > /proc/sys/vm/drop_caches; head -c 9 /dev/vda; echo\n"),
        (prompt, "head -c 512 /dev/hwrng | od -An -tx1 -v\n"),
        (prompt, "poweroff -f\n"),
    ];
    let args = ["-drive", drive.as_str(), "-device", "virtio-blk-device,drive=d0", "-device", "virtio-rng-device"];
    let first = run_conversation(linux_command("", &args), &steps, TIMEOUT);
    assert!(first.stdout.contains("REWIND-DISK-MAGIC\r\n8192"), "{}", first.stdout);
    assert!(first.stdout.contains("\r\noverwrite\r\n"), "the guest sees its write: {}", first.stdout);
    assert_eq!(std::fs::read(&img).unwrap(), data, "writes stay in memory without snapshot=off");
    // The bytes the guest read from /dev/hwrng (od prints 16 per line).
    let rng_bytes = |out: &str| -> Vec<String> {
        out.lines()
            .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
            .filter(|w| w.len() == 16 && w.iter().all(|b| b.len() == 2 && b.chars().all(|c| c.is_ascii_hexdigit())))
            .flatten()
            .collect()
    };
    let second = run_conversation(linux_command("", &args), &steps, TIMEOUT);
    let (a, b) = (rng_bytes(&first.stdout), rng_bytes(&second.stdout));
    assert_eq!((a.len(), b.len()), (512, 512), "{}", first.stdout);
    // The device's stream is seeded. The kernel's hwrng thread also draws from it, as guest time passes, and in a
    // live run guest time follows the wall clock when idle: the two reads start at different points of the same
    // stream, so one run's first bytes appear in the other's.
    let overlaps = |x: &[String], y: &[String]| x.windows(8).any(|w| w == &y[..8]);
    assert!(overlaps(&a, &b) || overlaps(&b, &a), "virtio-rng is seeded, not random:\n{a:?}\n{b:?}");
    let _ = std::fs::remove_file(img);
}

#[test]
fn console_input_piped_at_full_speed_with_every_device_attached_runs_to_the_poweroff() {
    let disk = TempDisk::new("piped-console");
    let drive = format!("file={},format=raw,if=none,id=d0", disk.0.display());
    let devices = ["-device", "virtio-blk-device,drive=d0", "-device", "virtio-rng-device"];
    let cmd = linux_command("", &[&["-drive", drive.as_str()][..], &devices].concat());
    let run = run_with_input(cmd, disk_write_session().as_bytes(), Duration::from_secs(60));
    assert!(run.stdout.contains("dd of=/dev/vda bs=512 seek=4 conv=fsync"), "{}", run.stdout);
    assert!(run.stdout.contains(" records out"), "dd did not run:\n{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    disk.assert_unchanged();
}

/// Runs until the machine stops for something other than its budget, or `limit` instructions have run.
fn run_to_stop(m: &mut Machine, limit: u64) -> StopReason {
    let end = m.icount() + limit;
    loop {
        match m.run(10_000_000.min(end - m.icount())) {
            StopReason::BudgetExhausted if m.icount() < end => {}
            stop => return stop,
        }
    }
}

/// Console input that arrives while Linux handles a timer interrupt reaches the shell. The handler runs with
/// interrupts off and ends by reprogramming the timer through OpenSBI, whose `csrc mip, STIP` once copied the
/// UART's pending interrupt into the software-writable mip.SEIP: from then on Linux took an external interrupt
/// that no device raised, again and again, and the shell never saw another byte. Run through the machine API
/// so that the input lands at that point in every run (on the command line it is a matter of host timing).
/// Without Sstc, so that the kernel programs its timer through OpenSBI, the path that went wrong.
#[test]
fn console_input_arriving_in_a_timer_interrupt_handler_reaches_the_shell() {
    let disk = TempDisk::new("timer-irq-console");
    let out = Captured::default();
    let mut c = linux_config(1, Box::new(out.clone()), "");
    c.cpu = rewind::CpuConfig::parse("rv64,sstc=off").unwrap();
    // The slots `-device virtio-blk-device` and `-device virtio-rng-device` take.
    let blk = Blk::new(Box::new(OverlayDisk::open(&disk.0).unwrap()));
    c.virtio[VIRTIO_SLOTS - 1] =
        Some(Box::new(VirtioMmio::new(blk, VIRTIO_IRQ + VIRTIO_SLOTS as u32 - 1, MmioVersion::default())));
    c.virtio[VIRTIO_SLOTS - 2] =
        Some(Box::new(VirtioMmio::new(Rng::new(0), VIRTIO_IRQ + VIRTIO_SLOTS as u32 - 2, MmioVersion::default())));
    let (mut m, _) = build(c).unwrap();
    m.set_jit(Some(rewind::DEFAULT_JIT_THRESHOLD));
    let uart = m.device_id("serial").unwrap();

    while !out.text().contains("rewind-guest:/# ") {
        assert!(m.icount() < 1_000_000_000, "no shell prompt:\n{}", out.text());
        assert_eq!(run_to_stop(&mut m, 1_000_000), StopReason::BudgetExhausted, "{}", out.text());
    }
    // On to the first instruction of the next supervisor timer interrupt handler.
    const SUPERVISOR_TIMER: u64 = 1 << 63 | 5;
    let in_timer_handler = |m: &Machine| {
        let h = m.hart(0).unwrap();
        h.privilege == Priv::Supervisor && h.csr.scause == SUPERVISOR_TIMER && h.pc == h.csr.stvec & !3
    };
    let start = m.icount();
    while !in_timer_handler(&m) {
        assert!(m.icount() - start < 50_000_000, "no timer interrupt while the shell waits");
        m.run(1);
    }
    assert!(m.deliver_input(uart, &DeviceInput::console(disk_write_session().into_bytes())));

    let stop = run_to_stop(&mut m, 300_000_000);
    let text = out.text();
    assert!(text.contains(" records out"), "dd did not run:\n{text}");
    assert_eq!(stop, StopReason::Poweroff { code: 0 }, "{text}");
    disk.assert_unchanged();
}
