//! Execution is a pure function of the configuration and the images: the same boot gives the same state whether
//! it runs in one budget or many, and a restored checkpoint replays to the identical state.

use rewind::{Machine, StopReason};
use rewind_machines::loader::ImageFile;
use rewind_machines::virt::{build, Firmware, VirtConfig};
use std::path::PathBuf;

fn guest_dir() -> PathBuf {
    let top = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new("bash").arg(top.join("scripts/guest-dir.sh")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn linux(harts: usize) -> Machine {
    let g = guest_dir();
    let mut c = VirtConfig::new(Box::new(std::io::sink()));
    c.harts = harts;
    c.ram_size = 256 << 20;
    c.bios = Firmware::Default;
    c.kernel = Some(ImageFile::read(g.join("Image")).unwrap());
    c.initrd = Some(ImageFile::read(g.join("initramfs.cpio.gz")).unwrap());
    c.append = "console=ttyS0 poweroff=1".into();
    build(c).unwrap().0
}

fn run_exactly(m: &mut Machine, n: u64) {
    let target = m.icount() + n;
    while m.icount() < target {
        match m.run(target - m.icount()) {
            StopReason::BudgetExhausted | StopReason::Idle { .. } => {}
            other => panic!("unexpected stop {other:?} at {}", m.icount()),
        }
    }
}

#[test]
fn split_budgets_give_the_same_state_as_one_run() {
    for harts in [1, 2] {
        let mut one = linux(harts);
        run_exactly(&mut one, 30_000_000);
        let mut split = linux(harts);
        // Uneven chunks, so slice boundaries fall mid-block and mid-quantum.
        let mut left = 30_000_000u64;
        let mut chunk = 7_919u64;
        while left > 0 {
            let n = chunk.min(left);
            run_exactly(&mut split, n);
            left -= n;
            chunk = chunk * 31 % 1_000_003 + 1;
        }
        assert_eq!(one.icount(), split.icount());
        assert_eq!(one.state_hash(), split.state_hash(), "{harts} harts: states differ");
    }
}

#[test]
fn restoring_a_checkpoint_replays_to_the_identical_state() {
    let mut m = linux(1);
    run_exactly(&mut m, 20_000_000);
    let checkpoint = m.save_state();
    run_exactly(&mut m, 25_000_000);
    let expected = m.state_hash();
    m.restore_state(&checkpoint).unwrap();
    assert_eq!(m.icount(), 20_000_000);
    run_exactly(&mut m, 25_000_000);
    assert_eq!(m.state_hash(), expected);
}
