//! `-drive` and `-device`: virtio-blk and virtio-rng devices in the virt board's virtio-mmio slots. As in QEMU,
//! devices fill the slots from the last one (0x10008000) down.

use crate::cli::{self, MachineArgs};
use anyhow::{bail, Context, Result};
use rewind::Device;
use rewind_machines::virt::{VirtConfig, VIRTIO_IRQ, VIRTIO_SLOTS};
use rewind_machines::virtio::{BlockBackend, FileDisk, OverlayDisk, VirtioBlk, VirtioMmio, VirtioRng};

/// Attaches the drives and devices given on the command line.
pub fn attach(args: &MachineArgs, config: &mut VirtConfig) -> Result<()> {
    let mut devices: Vec<Box<dyn rewind_machines::virtio::VirtioBackend>> = Vec::new();
    for (i, d) in args.drives.iter().enumerate() {
        let spec = cli::parse_drive(d)?;
        let path = &spec.file;
        let disk: Box<dyn BlockBackend> = if spec.read_only {
            Box::new(FileDisk::open(path, false).with_context(|| format!("cannot open {}", path.display()))?)
        } else if spec.snapshot {
            Box::new(OverlayDisk::open(path).with_context(|| format!("cannot open {}", path.display()))?)
        } else {
            Box::new(FileDisk::open(path, true).with_context(|| format!("cannot open {} for writing", path.display()))?)
        };
        devices.push(Box::new(VirtioBlk::new(disk, &format!("rewind-disk{i}"))));
    }
    for d in &args.devices {
        match d.split(',').next().unwrap_or("") {
            "virtio-rng-device" | "virtio-rng" => devices.push(Box::new(VirtioRng::new(args.rng_seed))),
            other => bail!("-device {other}: rewind supports virtio-rng-device (disks come from -drive)"),
        }
    }
    if devices.len() > VIRTIO_SLOTS {
        bail!("{} virtio devices requested, the virt board has {VIRTIO_SLOTS} slots", devices.len());
    }
    for (i, backend) in devices.into_iter().enumerate() {
        let slot = VIRTIO_SLOTS - 1 - i;
        let device: Box<dyn Device> = Box::new(VirtioMmio::new(VIRTIO_IRQ + slot as u32, backend));
        config.virtio[slot] = Some(device);
    }
    Ok(())
}
