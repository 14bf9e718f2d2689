//! The shared Linux guest boots under rewind: OpenSBI, the kernel, busybox userspace, the bench checksum QEMU
//! also prints, the shell, and `-smp 2`.

mod common;
use common::*;
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
    let drive = format!("file={},format=raw,if=virtio", img.display());
    let prompt = "rewind-guest:/# ";
    let steps = [
        (prompt, "head -c 17 /dev/vda; echo; cat /sys/block/vda/size\n"),
        (prompt, "echo overwrite > /dev/vda; sync; echo 3 > /proc/sys/vm/drop_caches; head -c 9 /dev/vda; echo\n"),
        (prompt, "head -c 512 /dev/hwrng | od -An -tx1 -v\n"),
        (prompt, "poweroff -f\n"),
    ];
    let args = ["-drive", drive.as_str(), "-device", "virtio-rng-device"];
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
