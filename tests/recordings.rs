//! Recordings that never lie: a damaged or cut-off recording replays exactly up to its last complete frame and
//! stops there (exit 3), a recorder killed with `kill -9` loses at most about a second, a run with a writable
//! disk replays after the disk has changed, and a recording finds its images from anywhere (absolute paths,
//! `--image-dir`, `--bundle`).

mod common;
use common::*;
use rewind_replay::{Event, LogReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(120);

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("rewind-recordings-{}-{name}", std::process::id()))
}

fn replay(file: &Path, extra: &[&str]) -> Run {
    let mut cmd = Command::new(rewind_bin());
    cmd.arg("replay").arg(file).args(extra);
    run_with_input(cmd, b"", TIMEOUT)
}

/// The number after `prefix` in `text`.
fn number_after(text: &str, prefix: &str) -> u64 {
    let i = text.find(prefix).unwrap_or_else(|| panic!("no {prefix:?} in {text}")) + prefix.len();
    text[i..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

/// Where a recording's evidence ends: the stamp of the last event of its last complete frame (the file is read
/// by the same reader replay uses, which stops at the first damaged frame).
fn last_recorded_instruction(file: &Path) -> u64 {
    let (_, mut log) = LogReader::open(file).unwrap();
    let mut last = 0;
    while let Some(e) = log.next_event() {
        last = e.stamp().icount;
    }
    last
}

fn has_end_event(file: &Path) -> bool {
    let (_, mut log) = LogReader::open(file).unwrap();
    std::iter::from_fn(|| log.next_event()).any(|e| matches!(e, Event::End { .. }))
}

/// Records the shared guest panicking at boot (no init): the capture a user attaches to a bug report.
fn record_panic(file: &Path, extra: &[&str]) -> Run {
    let g = guest_dir();
    let mut cmd = Command::new(rewind_bin());
    cmd.args(["record", "-o"]).arg(file).args(extra).args(["-m", "256M", "-kernel"]).arg(g.join("Image"));
    cmd.arg("-initrd").arg(g.join("initramfs.cpio.gz")).args(["-append", "console=ttyS0 rdinit=/nope root=/dev/nope"]);
    let rec = run_with_input(cmd, b"", TIMEOUT);
    assert_eq!(rec.code, Some(70), "{}", rec.stderr);
    rec
}

/// A replay of a damaged recording stops where its evidence ends, says so, and exits 3; what it printed is what
/// the recorded run printed up to there, never more.
fn assert_stops_at_its_evidence(file: &Path, recorded_stdout: &str, what: &str) {
    let rep = replay(file, &[]);
    let end = last_recorded_instruction(file);
    assert_eq!(rep.code, Some(3), "{what}: {}", rep.stderr);
    assert_eq!(number_after(&rep.stderr, "recording ends early at instruction "), end, "{what}: {}", rep.stderr);
    assert!(recorded_stdout.starts_with(&rep.stdout), "{what}: the replay printed what was never recorded");
}

#[test]
fn a_damaged_recording_stops_at_its_last_complete_frame() {
    let file = temp("panic.rwd");
    let rec = record_panic(&file, &[]);
    let bytes = std::fs::read(&file).unwrap();
    let cut = temp("panic-cut.rwd");
    // Cuts all over the file (the header is about 500 bytes): each replay ends at its own last frame.
    let mut ends = Vec::new();
    for i in 1..=10 {
        let at = 600 + (bytes.len() - 700) * i / 10;
        std::fs::write(&cut, &bytes[..at]).unwrap();
        assert_stops_at_its_evidence(&cut, &rec.stdout, &format!("cut at {at} of {}", bytes.len()));
        ends.push(last_recorded_instruction(&cut));
    }
    assert!(ends.windows(2).all(|w| w[0] <= w[1]) && ends[0] < ends[9], "cuts end at different points: {ends:?}");
    // A flipped byte inside a frame: the frames before it replay, the rest is refused.
    for i in 1..=4 {
        let mut flipped = bytes.clone();
        let at = 600 + (bytes.len() - 700) * i / 5;
        flipped[at] ^= 0x20;
        std::fs::write(&cut, &flipped).unwrap();
        assert_stops_at_its_evidence(&cut, &rec.stdout, &format!("byte {at} flipped"));
    }
    // The whole recording still replays to the recorded failure.
    let rep = replay(&file, &[]);
    assert_eq!(rep.code, Some(70), "{}", rep.stderr);
    assert_eq!(rep.stdout, rec.stdout);
    let _ = std::fs::remove_file(cut);
    let _ = std::fs::remove_file(file);
}

/// Starts `rewind record` of the shared guest's shell, with stdin kept open and silent.
fn start_recording(file: &Path) -> (std::process::Child, std::sync::Arc<std::sync::Mutex<Vec<u8>>>) {
    let g = guest_dir();
    let mut cmd = Command::new(rewind_bin());
    cmd.args(["record", "-o"]).arg(file).args(["-m", "256M", "-kernel"]).arg(g.join("Image"));
    cmd.arg("-initrd").arg(g.join("initramfs.cpio.gz")).args(["-append", "console=ttyS0"]);
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let out = collect_output(child.stdout.take().unwrap());
    (child, out)
}

#[test]
fn a_recorder_killed_with_sigkill_loses_at_most_a_second() {
    let file = temp("killed.rwd");
    let (mut child, out) = start_recording(&file);
    let start = Instant::now();
    while !String::from_utf8_lossy(&out.lock().unwrap()).contains("rewind-guest:/# ") {
        assert!(start.elapsed() < TIMEOUT, "no prompt");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The guest sits idle at its prompt: few instructions, no input, no state hash due. A recorder that only
    // wrote frames at hashes or input would have nothing on disk since before the prompt.
    std::thread::sleep(Duration::from_millis(2500));
    let _ = Command::new("kill").arg("-9").arg(child.id().to_string()).status();
    let _ = child.wait();
    let recorded = String::from_utf8_lossy(&out.lock().unwrap()).into_owned();
    assert!(!has_end_event(&file));
    let rep = replay(&file, &[]);
    assert_eq!(rep.code, Some(3), "{}", rep.stderr);
    assert_eq!(number_after(&rep.stderr, "recording ends early at instruction "), last_recorded_instruction(&file));
    assert!(recorded.starts_with(&rep.stdout), "the replay printed what was never recorded:\n{}", rep.stdout);
    assert!(rep.stdout.contains("rewind-guest:/# "), "the last second before the kill is lost:\n{}", rep.stdout);
    let _ = std::fs::remove_file(file);
}

/// Records a shell session on `disk` attached with `drive_options`, writing to the disk.
fn record_disk_session(file: &Path, disk: &Path, drive_options: &str) -> Run {
    let g = guest_dir();
    let mut cmd = Command::new(rewind_bin());
    cmd.args(["record", "-o"]).arg(file).args(["-m", "256M", "-kernel"]).arg(g.join("Image"));
    cmd.arg("-initrd").arg(g.join("initramfs.cpio.gz")).args(["-append", "console=ttyS0"]);
    cmd.arg("-drive").arg(format!("file={},format=raw,if=none,id=d0{drive_options}", disk.display()));
    cmd.args(["-device", "virtio-blk-device,drive=d0"]);
    let prompt = "rewind-guest:/# ";
    let steps = [
        (prompt, "echo recorded-write | dd of=/dev/vda bs=512 seek=3 conv=sync,fsync\n"),
        (prompt, "dd if=/dev/vda bs=512 skip=3 count=1 2>/dev/null | head -c 13; echo\n"),
        (prompt, "poweroff -f\n"),
    ];
    run_conversation(cmd, &steps, TIMEOUT)
}

#[test]
fn a_recording_with_a_writable_disk_replays_after_the_disk_changed() {
    let disk = temp("writable.img");
    std::fs::write(&disk, vec![0u8; 1 << 20]).unwrap();
    let file = temp("writable.rwd");
    let rec = record_disk_session(&file, &disk, ",snapshot=off");
    assert_eq!(rec.code, Some(0), "{}\n{}", rec.stdout, rec.stderr);
    assert!(rec.stdout.contains("\nrecorded-writ\r"), "{}", rec.stdout);
    let written = std::fs::read(&disk).unwrap();
    assert_eq!(&written[3 * 512..3 * 512 + 13], b"recorded-writ", "snapshot=off writes the image");
    assert!(!rec.stderr.contains("will fail"), "{}", rec.stderr);
    // The run changed the image; its replay still starts from the original and never writes the user's file.
    let rep = replay(&file, &[]);
    assert_eq!(rep.code, Some(0), "{}", rep.stderr);
    assert!(rep.stderr.contains("state matches the recording"), "{}", rep.stderr);
    assert_eq!(rep.stdout, rec.stdout);
    assert_eq!(std::fs::read(&disk).unwrap(), written, "the replay wrote the user's disk");
    // A change the recorded run did not make is refused, by name.
    let mut other = written.clone();
    other[100 * 512] = 1;
    std::fs::write(&disk, &other).unwrap();
    let rep = replay(&file, &[]);
    assert_ne!(rep.code, Some(0));
    assert!(rep.stderr.contains("drive0 image") && rep.stderr.contains("changed"), "{}", rep.stderr);
    let _ = std::fs::remove_file(disk);
    let _ = std::fs::remove_file(file);
}

/// Copies the guest's images into a fresh directory of their own.
fn private_images(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let g = guest_dir();
    let dir = temp(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (kernel, initrd) = (dir.join("Image"), dir.join("initramfs.cpio.gz"));
    std::fs::copy(g.join("Image"), &kernel).unwrap();
    std::fs::copy(g.join("initramfs.cpio.gz"), &initrd).unwrap();
    (dir, kernel, initrd)
}

/// `rewind record` run from `dir` with relative image paths, powering off at once.
fn record_in(dir: &Path, file: &Path, extra: &[&str]) {
    let mut cmd = Command::new(rewind_bin());
    cmd.current_dir(dir).args(["record", "-o"]).arg(file).args(extra);
    cmd.args(["-m", "256M", "-kernel", "Image", "-initrd", "initramfs.cpio.gz", "-append", "console=ttyS0 poweroff=1"]);
    let rec = run_with_input(cmd, b"", TIMEOUT);
    assert_eq!(rec.code, Some(0), "{}", rec.stderr);
}

fn replay_from(dir: &Path, file: &Path, extra: &[&str]) -> Run {
    let mut cmd = Command::new(rewind_bin());
    cmd.current_dir(dir).arg("replay").arg(file).args(extra);
    run_with_input(cmd, b"", TIMEOUT)
}

#[test]
fn a_recording_finds_its_images_from_anywhere() {
    let (dir, kernel, initrd) = private_images("images");
    let file = dir.join("boot.rwd");
    record_in(&dir, &file, &[]);
    // From another directory: the images are found where they were recorded.
    let rep = replay_from(Path::new("/"), &file, &[]);
    assert_eq!(rep.code, Some(0), "{}", rep.stderr);
    // Moved elsewhere under other names: not found, and the message says what to do; --image-dir finds them
    // by content.
    let moved = temp("moved");
    let _ = std::fs::remove_dir_all(&moved);
    std::fs::create_dir_all(&moved).unwrap();
    std::fs::rename(&kernel, moved.join("kernel-6.1")).unwrap();
    std::fs::rename(&initrd, moved.join("rootfs.cpio.gz")).unwrap();
    let rep = replay_from(Path::new("/"), &file, &[]);
    assert_eq!(rep.code, Some(1), "{}", rep.stderr);
    assert!(rep.stderr.contains("kernel image") && rep.stderr.contains("--image-dir"), "{}", rep.stderr);
    assert_eq!(rep.stderr.lines().count(), 1, "one line: {}", rep.stderr);
    let rep = replay_from(Path::new("/"), &file, &["--image-dir", moved.to_str().unwrap()]);
    assert_eq!(rep.code, Some(0), "{}", rep.stderr);
    assert!(rep.stderr.contains("state matches the recording"), "{}", rep.stderr);
    let _ = std::fs::remove_dir_all(moved);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_bundled_recording_replays_with_its_images_gone() {
    let (dir, _, _) = private_images("bundle");
    let file = temp("bundle.rwd");
    record_in(&dir, &file, &["--bundle"]);
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(size > 1 << 20, "the images are inside: {size} bytes");
    std::fs::remove_dir_all(&dir).unwrap();
    let rep = replay_from(Path::new("/"), &file, &[]);
    assert_eq!(rep.code, Some(0), "{}", rep.stderr);
    assert!(rep.stderr.contains("state matches the recording"), "{}", rep.stderr);
    let _ = std::fs::remove_file(file);
}

#[test]
fn a_failure_capture_suggests_a_bundle() {
    let file = temp("suggest.rwd");
    let rec = record_panic(&file, &[]);
    assert!(rec.stderr.contains("--bundle"), "{}", rec.stderr);
    let _ = std::fs::remove_file(file);
}
