//! The `info` commands that report what the machine's devices did: interrupt counts (`info irq`), interrupt
//! controllers (`info pic`), disks (`info blockstats`) and the images the board loaded (`info roms`). Formats follow
//! QEMU's where QEMU prints something for the riscv `virt` board.

use super::Monitor;
use std::fmt::Write;

/// The names of the RISC-V local interrupt lines (`mip` bits), for `info irq`.
const LOCAL_LINES: [(usize, &str); 7] =
    [(1, "SSIP"), (3, "MSIP"), (5, "STIP"), (7, "MTIP"), (9, "SEIP"), (11, "MEIP"), (13, "LCOFIP")];

/// How often each interrupt line went high since the machine started, as QEMU's `info irq` prints its statistics:
/// the platform lines (the PLIC's sources), then each hart's local lines.
pub fn irq(m: &mut Monitor<'_>, _: &[&str]) -> Result<String, String> {
    let counts = m.machine.irq_counts();
    let mut s = String::from("IRQ statistics for the platform interrupt lines:\n");
    for (line, n) in counts.lines.iter().enumerate().filter(|(_, n)| **n > 0) {
        let _ = writeln!(s, "{line:>2}: {n}");
    }
    for (hart, lines) in counts.hart_lines.iter().enumerate() {
        let _ = writeln!(s, "IRQ statistics for hart {hart}:");
        for (bit, n) in lines.iter().enumerate().filter(|(_, n)| **n > 0) {
            let name = LOCAL_LINES.iter().find(|(b, _)| *b == bit).map_or("", |(_, name)| name);
            let _ = writeln!(s, "{bit:>2}: {n} {name}");
        }
    }
    Ok(s)
}

/// Each interrupt controller's sources: priority, line level, pending, claimed, and the contexts that enable it.
pub fn pic(m: &mut Monitor<'_>, _: &[&str]) -> Result<String, String> {
    let mut s = String::new();
    for (name, state) in m.machine.interrupt_controllers() {
        let _ = write!(s, "{name}:\n{state}");
    }
    Ok(s)
}

/// Each disk's requests, as QEMU's `info blockstats` (the fields rewind keeps).
pub fn blockstats(m: &mut Monitor<'_>, _: &[&str]) -> Result<String, String> {
    let mut s = String::new();
    for d in m.machine.inspect_devices() {
        let field = |key: &str| d.state.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        if let Some(stats) = field("blockstats") {
            let _ = writeln!(s, "{}: {stats}", field("drive").unwrap_or_else(|| d.name.clone()));
        }
    }
    Ok(s)
}

/// The images the board loaded, by address, as QEMU's `info roms` (the size is the memory the image takes, which
/// for a Linux `Image` includes the space its header reserves).
pub fn roms(m: &mut Monitor<'_>, _: &[&str]) -> Result<String, String> {
    let mut s = String::new();
    let mut images = m.machine.loaded_images().to_vec();
    images.sort_by_key(|image| image.addr);
    for image in images {
        let mem = if image.in_rom { "rom" } else { "ram" };
        let _ = writeln!(s, "addr={:016x} size={:#08x} mem={mem} name=\"{}\"", image.addr, image.size, image.name);
    }
    Ok(s)
}
