//! Building the machine the command line describes: the `virt` board with its firmware, kernel, initrd, drives
//! and devices (`rewind run`, `record`, `replay`, and `mtree`).

use crate::cli::{self, MachineArgs};
use crate::term;
use anyhow::Result;
use rewind::Machine;
use rewind_machines::loader::ImageFile;
use rewind_machines::virt::{self, Firmware, VirtConfig};
use std::io::Write;

/// Builds a `virt` machine from the command line, its console writing to `console_out`. `originals`: see
/// [`crate::drives::attach`].
pub fn build_machine(
    args: &MachineArgs,
    console_out: Box<dyn Write + Send>,
    originals: Option<crate::drives::OriginalsFor>,
) -> Result<(Machine, virt::BootInfo)> {
    cli::parse_machine(&args.machine)?;
    crate::serial::Serial::parse(&args.serial)?;
    let mut config = VirtConfig::new(console_out);
    config.harts = cli::parse_smp(&args.smp)?;
    config.cpu = cli::parse_cpu(&args.cpu)?;
    config.ram_size = cli::parse_size(&args.memory)?;
    config.rtc_start_ns = args.rtc_start.saturating_mul(1_000_000_000);
    config.append = args.append.clone();
    config.bios = match args.bios.as_str() {
        "default" => Firmware::Default,
        "none" => Firmware::None,
        path => Firmware::Path(path.into()),
    };
    if let Some(k) = &args.kernel {
        config.kernel = Some(ImageFile::read(k)?);
    }
    if let Some(i) = &args.initrd {
        config.initrd = Some(ImageFile::read(i)?);
    }
    crate::drives::attach(args, &mut config, originals)?;
    let icount = cli::parse_icount(&args.icount)?;
    let (mut machine, boot) = virt::build(config)?;
    // parse_icount keeps the shift in range.
    machine.set_time_shift(icount.shift);
    if args.jit == "on" && !machine.set_jit(Some(args.jit_threshold)) {
        term::line("rewind: no JIT on this host; interpreting");
    }
    machine.set_jit_timing(args.stats);
    Ok((machine, boot))
}

/// `rewind mtree`: prints the machine's memory-region tree as QEMU's `info mtree` does.
pub fn print_mtree(args: &MachineArgs) -> Result<i32> {
    let (machine, _) = build_machine(args, Box::new(std::io::sink()), None)?;
    print!("{}", machine.memory_tree().render_mtree());
    Ok(0)
}
