//! Execution is a pure function of the configuration and the images: the same boot gives the same state whether
//! it runs in one budget or many, interpreted or translated by the JIT, and a restored checkpoint replays to the
//! identical state.

#[path = "common/guest.rs"]
mod guest;

use rewind::{Machine, StopReason};
use rewind_machines::loader::ImageFile;
use rewind_machines::virt::{build, Firmware, VirtConfig};
use std::path::PathBuf;

fn linux(harts: usize) -> Machine {
    build(guest::linux_config(harts, Box::new(std::io::sink()), "poweroff=1")).unwrap().0
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
    // With the JIT too: translations made after the checkpoint must not survive into the restored past.
    for jit in [None, Some(20)] {
        let mut m = linux(1);
        m.set_jit(jit);
        run_exactly(&mut m, 20_000_000);
        let checkpoint = m.save_state();
        run_exactly(&mut m, 25_000_000);
        let expected = m.state_hash();
        m.restore_state(&checkpoint).unwrap();
        assert_eq!(m.icount(), 20_000_000);
        run_exactly(&mut m, 25_000_000);
        assert_eq!(m.state_hash(), expected, "JIT {jit:?}");
    }
}

/// The JIT is an exact stand-in for the interpreter: the two reach bit-identical states at every instruction
/// count, through OpenSBI, the kernel boot and userspace up to the guest's poweroff. A threshold of 1 translates
/// all code the first time it runs, so nearly every instruction executes as host code.
#[test]
fn the_jit_and_the_interpreter_reach_identical_states() {
    for (harts, threshold, chunk) in [(1, 1, 10_000_000), (2, 20, 7_000_000)] {
        let mut interpreted = linux(harts);
        let mut translated = linux(harts);
        assert!(translated.set_jit(Some(threshold)), "this host cannot run the JIT");
        loop {
            let a = interpreted.run(chunk);
            let b = translated.run(chunk);
            assert_eq!(a, b, "{harts} harts: stop reasons differ at {}", interpreted.icount());
            assert_eq!(interpreted.icount(), translated.icount());
            assert!(
                interpreted.state_hash() == translated.state_hash(),
                "{harts} harts, threshold {threshold}: states differ at instruction {}: {}",
                interpreted.icount(),
                differences(&interpreted, &translated)
            );
            if matches!(a, StopReason::Poweroff { .. }) {
                break;
            }
        }
        let stats = translated.jit_stats().expect("JIT on");
        assert!(stats.regions > 100, "the JIT barely ran: {stats:?}");
    }
}

/// Which parts of two machines' states differ (harts, devices, RAM pages), for failure messages.
fn differences(a: &Machine, b: &Machine) -> String {
    let mut out: Vec<String> =
        a.state_parts().into_iter().zip(b.state_parts()).filter(|(x, y)| x.1 != y.1).map(|(x, _)| x.0).collect();
    if let (Some(ha), Some(hb)) = (a.hart(0), b.hart(0)) {
        if ha != hb {
            out.push(format!("hart 0: {ha:x?}\nvs {hb:x?}"));
        }
    }
    let pages = (0..).map_while(|i| a.ram_page_hash(i).map(|h| (i, h)));
    out.extend(pages.filter(|(i, h)| b.ram_page_hash(*i) != Some(*h)).take(8).map(|(i, _)| format!("RAM page {i}")));
    out.join(", ")
}

/// Breakpoints keep translated code out of their page only: the stops come at the same instruction counts as
/// under the interpreter, while the rest of the machine runs translated.
#[test]
fn breakpoints_stop_at_the_same_instructions_with_the_jit() {
    let mut probe = linux(1);
    run_exactly(&mut probe, 20_000_000);
    let pc = probe.hart(0).expect("hart 0").pc;
    let stops = |jit: Option<u32>| {
        let mut m = linux(1);
        m.set_jit(jit);
        m.add_breakpoint(pc);
        let mut stops = Vec::new();
        while stops.len() < 20 {
            match m.run(200_000_000) {
                StopReason::Breakpoint { pc: at, .. } => stops.push((m.icount(), at)),
                StopReason::Idle { .. } => {}
                other => panic!("unexpected stop {other:?} at {}", m.icount()),
            }
        }
        (stops, m.state_hash())
    };
    let interpreted = stops(None);
    assert_eq!(interpreted.0.len(), 20);
    assert_eq!(stops(Some(1)), interpreted);
}

/// Self-modifying code (examples/isa/smc.c) rewrites instructions, partly through the JIT's fast-path stores:
/// the states match the interpreter's throughout, and the program passes.
#[test]
fn self_modifying_code_gives_the_same_states_with_the_jit() {
    let smc = || {
        let elf = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/isa/build/smc.elf");
        let mut c = VirtConfig::new(Box::new(std::io::sink()));
        c.ram_size = 128 << 20;
        c.bios = Firmware::None;
        c.kernel = Some(ImageFile::read(elf).unwrap());
        build(c).unwrap().0
    };
    let (mut interpreted, mut translated) = (smc(), smc());
    assert!(translated.set_jit(Some(1)), "this host cannot run the JIT");
    loop {
        let a = interpreted.run(10_000);
        let b = translated.run(10_000);
        assert_eq!(a, b, "stop reasons differ at {}", interpreted.icount());
        assert!(
            interpreted.state_hash() == translated.state_hash(),
            "states differ at instruction {}: {}",
            interpreted.icount(),
            differences(&interpreted, &translated)
        );
        if let StopReason::Poweroff { code } = a {
            assert_eq!(code, 0, "smc.elf failed");
            break;
        }
    }
}

/// Checkpoints and state hashes learn which RAM pages changed from dirty flags: translated code must report the
/// same written pages as the interpreter, also for pages it had already written before the flags were taken.
#[test]
fn the_jit_reports_the_same_written_pages_as_the_interpreter() {
    let written = |jit: Option<u32>| {
        let mut m = linux(1);
        m.set_jit(jit);
        let mut rounds = Vec::new();
        for _ in 0..12 {
            run_exactly(&mut m, 5_000_000);
            rounds.push((m.take_dirty_pages(), m.take_pages_written_since_hash()));
        }
        rounds
    };
    let interpreted = written(None);
    let translated = written(Some(20));
    for (i, (a, b)) in interpreted.iter().zip(&translated).enumerate() {
        assert_eq!(a, b, "round {i}: the pages written differ");
    }
}

/// Devices behind the PCIe host bridge are machine state like any other, and so is where the guest placed their
/// BARs: the `full/` kernel enumerates a virtio-blk-pci disk and a virtio-rng-pci source and uses them; going back
/// to before it placed the BARs takes them away, and running forward again reaches the identical states.
#[test]
fn checkpoints_restore_pci_devices_and_where_the_guest_placed_their_bars() {
    use rewind_machines::virt::PciPlug;
    use rewind_machines::virtio::{Blk, OverlayDisk, Rng, VirtioPci};
    let disk = std::env::temp_dir().join(format!("rewind-determinism-pci-{}.img", std::process::id()));
    std::fs::write(&disk, vec![0u8; 1 << 20]).unwrap();
    let mut c = guest::linux_config(1, Box::new(std::io::sink()), "poweroff=1");
    c.kernel = Some(ImageFile::read(guest::guest_dir().join("full/Image")).expect("the full/ kernel"));
    let blk = Blk::new(Box::new(OverlayDisk::open(&disk).unwrap()));
    c.pci = vec![
        PciPlug { slot: None, function: Box::new(VirtioPci::new(blk)) },
        PciPlug { slot: None, function: Box::new(VirtioPci::new(Rng::new(7))) },
    ];
    let mut m = build(c).unwrap().0;
    m.set_jit(Some(20));
    // The disk's modern BAR, where Linux puts it (the first 64-bit BAR in the high window).
    let modern_bar = 0x4_0000_0000;
    run_exactly(&mut m, 10_000_000);
    assert_eq!(m.flat_view().resolve(modern_bar), None, "not enumerated yet");
    let early = m.save_state();
    run_exactly(&mut m, 40_000_000);
    assert!(m.flat_view().resolve(modern_bar).is_some(), "the BARs are placed once Linux probed virtio");
    let late = m.save_state();
    let at_late = m.state_hash();
    run_exactly(&mut m, 30_000_000);
    let expected = m.state_hash();

    m.restore_state(&early).unwrap();
    assert_eq!(m.flat_view().resolve(modern_bar), None, "back before the guest placed the BARs");
    run_exactly(&mut m, 40_000_000);
    assert_eq!(m.state_hash(), at_late, "the same enumeration again");
    m.restore_state(&late).unwrap();
    m.restore_state(&early).unwrap();
    m.restore_state(&late).unwrap();
    assert!(m.flat_view().resolve(modern_bar).is_some(), "forward to where they are placed");
    run_exactly(&mut m, 30_000_000);
    assert_eq!(m.state_hash(), expected);
    let _ = std::fs::remove_file(disk);
}
