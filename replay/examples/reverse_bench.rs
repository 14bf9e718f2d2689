//! Measures the costs of checkpoints and reverse execution on the shared Linux guest (boot + bench):
//! checkpoint time and size, reverse-stepi latency, and reverse-continue to a breakpoint 10^8 and 10^9
//! instructions back.
//!
//!     cargo run --release -p rewind-replay --example reverse_bench [GUEST_DIR]

use rewind::{Machine, StopReason};
use rewind_machines::loader::ImageFile;
use rewind_machines::virt::{build, Firmware, VirtConfig};
use rewind_replay::checkpoint::CheckpointStore;
use rewind_replay::{Timeline, TimelineStop};
use std::time::Instant;

const START_KERNEL: u64 = 0xffff_ffff_8030_b9ce;

fn linux(dir: &str) -> Machine {
    let mut c = VirtConfig::new(Box::new(std::io::sink()));
    c.ram_size = 256 << 20;
    c.bios = Firmware::Default;
    c.kernel = ImageFile::read(format!("{dir}/Image")).ok();
    c.initrd = ImageFile::read(format!("{dir}/initramfs.cpio.gz")).ok();
    c.append = "console=ttyS0 bench=1".into();
    match build(c) {
        Ok((mut m, _)) => {
            // As `rewind` runs it.
            m.set_jit(Some(rewind::DEFAULT_JIT_THRESHOLD));
            m
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}

fn forward_to(m: &mut Machine, t: &mut Timeline, icount: u64) {
    while m.icount() < icount {
        match t.run(m, icount - m.icount()) {
            TimelineStop::Machine(StopReason::Idle { .. }) => {
                t.skip_idle(m);
            }
            TimelineStop::Machine(StopReason::BudgetExhausted | StopReason::Breakpoint { .. }) => {}
            other => {
                eprintln!("stopped: {other:?}");
                std::process::exit(1);
            }
        }
    }
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "../shared/guests".into());
    // Checkpoint cost on a booted machine.
    let mut m = linux(&dir);
    m.set_stop_on_idle(false);
    m.run(200_000_000);
    let mut store = CheckpointStore::new(usize::MAX);
    let t0 = Instant::now();
    store.take(&mut m, 0);
    let first = t0.elapsed();
    m.run(20_000_000);
    let t0 = Instant::now();
    store.take(&mut m, 0);
    let delta = t0.elapsed();
    let info = store.info();
    println!(
        "checkpoint: first {:.1} ms ({} pages, {} KiB), after 2e7 insns {:.1} ms ({} pages, {} KiB)",
        first.as_secs_f64() * 1e3,
        info[0].pages,
        info[0].bytes / 1024,
        delta.as_secs_f64() * 1e3,
        info[1].pages,
        info[1].bytes / 1024
    );
    let t0 = Instant::now();
    store.restore(&mut m, 0);
    println!("restore to the first: {:.1} ms", t0.elapsed().as_secs_f64() * 1e3);

    for distance in [100_000_000u64, 1_000_000_000] {
        let mut m = linux(&dir);
        let mut t = Timeline::new(&mut m, Vec::new(), false, 50_000_000, 2 << 30);
        // start_kernel runs once, early in the boot (its address from System.map).
        let pc = START_KERNEL;
        let start = 0;
        forward_to(&mut m, &mut t, start + distance);
        let t0 = Instant::now();
        for _ in 0..10 {
            t.reverse_step(&mut m);
        }
        println!("reverse-stepi at {:.1e}: {:.1} ms each", (start + distance) as f64, t0.elapsed().as_secs_f64() * 1e2);
        forward_to(&mut m, &mut t, start + distance);
        m.add_breakpoint(pc);
        let t0 = Instant::now();
        let stop = t.reverse_continue(&mut m);
        println!(
            "reverse-continue across {distance:.1e} instructions: {:.2} s ({stop:?} at {})",
            t0.elapsed().as_secs_f64(),
            m.icount()
        );
    }
}
