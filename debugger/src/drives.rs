//! `-drive` and `-device`: virtio-blk and virtio-rng devices in the virt board's virtio-mmio slots. As in QEMU,
//! devices fill the slots from the last one (0x10008000) down.

use crate::cli::{self, MachineArgs};
use anyhow::{bail, Context, Result};
use rewind_machines::fdt::FdtDevice;
use rewind_machines::virt::{VirtConfig, VIRTIO_IRQ, VIRTIO_SLOTS};
use rewind_machines::virtio::{Blk, BlockBackend, FileDisk, JournaledDisk, OverlayDisk, Rng, SaveOriginal, VirtioMmio};

/// Builds a device for the interrupt line of its slot.
type MakeDevice = Box<dyn FnOnce(u32) -> Box<dyn FdtDevice>>;

/// For a recorded run: where writable drive `i` keeps the original contents of what it overwrites.
pub type OriginalsFor<'a> = &'a dyn Fn(usize) -> SaveOriginal;

/// Attaches the drives and devices given on the command line.
pub fn attach(args: &MachineArgs, config: &mut VirtConfig, originals: Option<OriginalsFor>) -> Result<()> {
    // Each device is made once its slot (and so its interrupt line) is known.
    let mut devices: Vec<MakeDevice> = Vec::new();
    for (i, d) in args.drives.iter().enumerate() {
        let spec = cli::parse_drive(d)?;
        let path = &spec.file;
        let open_error = || format!("-drive {d}: cannot open '{}'", path.display());
        let disk: Box<dyn BlockBackend> = if spec.read_only {
            Box::new(FileDisk::open_read_only(path).with_context(open_error)?)
        } else if spec.snapshot {
            Box::new(OverlayDisk::open(path).with_context(open_error)?)
        } else {
            let file = Box::new(FileDisk::open_writable(path).with_context(open_error)?);
            match originals {
                Some(saver) => Box::new(JournaledDisk::new(file, saver(i))),
                None => file,
            }
        };
        // Named as QEMU names drives: by id=, else by interface and index.
        let name = spec.id.clone().unwrap_or_else(|| format!("virtio{i}"));
        let blk = Blk::new(disk).with_serial(&format!("rewind-disk{i}")).with_drive_name(&name);
        devices.push(Box::new(move |irq| Box::new(VirtioMmio::new(blk, irq)) as Box<dyn FdtDevice>));
    }
    for d in &args.devices {
        match d.split(',').next().unwrap_or("") {
            "virtio-rng-device" | "virtio-rng" => {
                let seed = args.rng_seed;
                devices.push(Box::new(move |irq| Box::new(VirtioMmio::new(Rng::new(seed), irq)) as Box<dyn FdtDevice>));
            }
            other => bail!("-device {other}: rewind supports virtio-rng-device (disks come from -drive)"),
        }
    }
    if devices.len() > VIRTIO_SLOTS {
        bail!("{} virtio devices requested, the virt board has {VIRTIO_SLOTS} slots", devices.len());
    }
    for (i, make) in devices.into_iter().enumerate() {
        let slot = VIRTIO_SLOTS - 1 - i;
        config.virtio[slot] = Some(make(VIRTIO_IRQ + slot as u32));
    }
    Ok(())
}
