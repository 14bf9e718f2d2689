//! `-drive` and `-device`: virtio-blk and virtio-rng devices in the virt board's virtio-mmio slots or behind its
//! PCIe host bridge, as QEMU spells them. A `-drive` with `if=virtio` (the default) makes its own disk, a
//! virtio-blk-pci as on QEMU's `virt`; one with `if=none,id=ID` waits for a `-device virtio-blk-device,drive=ID`
//! or `virtio-blk-pci,drive=ID`. `bus=virtio-mmio-bus.N` puts a virtio-mmio device in slot N; the others fill the
//! free slots from the last one (0x10008000) down, as in QEMU. A PCI device takes the slot `addr=` gives or the
//! lowest free one, the `-device` ones first and the `if=virtio` disks after them, in QEMU's order.
//! `-global virtio-mmio.force-legacy=off` gives every virtio-mmio slot the modern register layout instead of
//! QEMU's default legacy one.

use crate::cli::{self, MachineArgs};
use anyhow::{bail, Context, Result};
use rewind_machines::fdt::FdtDevice;
use rewind_machines::pci::PciFunction;
use rewind_machines::pflash::{FlashImage, BANK_SIZE};
use rewind_machines::virt::{PciPlug, VirtConfig, VIRTIO_IRQ, VIRTIO_SLOTS};
use rewind_machines::virtio::{
    Blk, BlockBackend, FileDisk, JournaledDisk, MmioVersion, OverlayDisk, Rng, SaveOriginal, VirtioMmio, VirtioPci,
};

/// Builds a device for the interrupt line of its slot, with the slots' register layout.
type MakeDevice = Box<dyn FnOnce(u32, MmioVersion) -> Box<dyn FdtDevice>>;

/// The `-global DRIVER.PROP=VALUE` settings rewind has: (driver, property, help).
const GLOBALS: &[(&str, &str, &str)] =
    &[("virtio-mmio", "force-legacy", "<bool> - the legacy (version 1) register layout; default on, as in QEMU")];

/// For a recorded run: where writable drive `i` keeps the original contents of what it overwrites.
pub type OriginalsFor<'a> = &'a dyn Fn(usize) -> SaveOriginal;

/// A device `-device` makes: its name, QEMU's category for `-device help`, and its properties with their help.
struct DeviceType {
    name: &'static str,
    category: &'static str,
    props: &'static [(&'static str, &'static str)],
}

const BUS: (&str, &str) = ("bus", "<str> - the virtio-mmio slot: virtio-mmio-bus.0 to virtio-mmio-bus.7");
const PCI_BUS: (&str, &str) = ("bus", "<str> - pcie.0, the host bridge's bus (the only one)");
const ADDR: (&str, &str) = ("addr", "<int32> - slot (device number, hex) on the bus: 1 to 1f");
const DRIVE: (&str, &str) = ("drive", "<str> - the id of an if=none -drive to use as the disk");

const DEVICES: [DeviceType; 4] = [
    DeviceType { name: "virtio-blk-device", category: "Storage devices", props: &[DRIVE, BUS] },
    DeviceType { name: "virtio-blk-pci", category: "Storage devices", props: &[DRIVE, PCI_BUS, ADDR] },
    DeviceType { name: "virtio-rng-device", category: "Misc devices", props: &[BUS] },
    DeviceType { name: "virtio-rng-pci", category: "Misc devices", props: &[PCI_BUS, ADDR] },
];

/// `-device help` (every device, by category, as QEMU lists them) or `-device TYPE,help` (its properties); `None`
/// when no -device asks for help.
pub fn device_help(devices: &[String]) -> Result<Option<String>> {
    for d in devices {
        if d == "help" || d == "?" {
            let mut out = String::new();
            for category in ["Storage devices", "Misc devices"] {
                out.push_str(&format!("{category}:\n"));
                for t in DEVICES.iter().filter(|t| t.category == category) {
                    let bus = if t.name.ends_with("-pci") { "PCI" } else { "virtio-bus" };
                    out.push_str(&format!("name \"{}\", bus {bus}\n", t.name));
                }
                out.push('\n');
            }
            return Ok(Some(out));
        }
        if let Some(kind) = d.strip_suffix(",help") {
            let t = device_type(kind).with_context(|| unknown_device(d))?;
            let mut out = format!("{} options:\n", t.name);
            for (prop, help) in t.props {
                out.push_str(&format!("  {prop}={help}\n"));
            }
            return Ok(Some(out));
        }
    }
    Ok(None)
}

/// A device type by name or QEMU's alias (on RISC-V, the short names are the PCI devices).
fn device_type(name: &str) -> Option<&'static DeviceType> {
    let name = match name {
        "virtio-rng" => "virtio-rng-pci",
        "virtio-blk" => "virtio-blk-pci",
        other => other,
    };
    DEVICES.iter().find(|t| t.name == name)
}

fn unknown_device(text: &str) -> String {
    let known: Vec<&str> = DEVICES.iter().map(|t| t.name).collect();
    format!("-device {text}: rewind supports {} (-device help lists them)", known.join(", "))
}

/// Parses one `-global`: `DRIVER.PROP=VALUE`, or QEMU's long form `driver=D,property=P,value=V`, into
/// (driver, property, value); a setting rewind does not have is an error naming the ones it has.
fn parse_global(text: &str) -> Result<(String, String, String)> {
    let long_form = || {
        let mut fields = [None, None, None];
        for part in text.split(',') {
            let (key, value) = part.split_once('=')?;
            let at = ["driver", "property", "value"].iter().position(|k| *k == key)?;
            fields[at] = Some(value.to_string());
        }
        let [Some(driver), Some(prop), Some(value)] = fields else {
            return None;
        };
        Some((driver, prop, value))
    };
    let short_form = || {
        let (name, value) = text.split_once('=')?;
        let (driver, prop) = name.rsplit_once('.')?;
        Some((driver.to_string(), prop.to_string(), value.to_string()))
    };
    let (driver, prop, value) = if text.starts_with("driver=") { long_form() } else { short_form() }
        .with_context(|| format!("-global {text}: expected DRIVER.PROPERTY=VALUE"))?;
    if !GLOBALS.iter().any(|(d, p, _)| *d == driver && *p == prop) {
        let known: Vec<String> = GLOBALS.iter().map(|(d, p, help)| format!("{d}.{p}={help}")).collect();
        bail!("-global {text}: rewind has no {driver}.{prop} (it has: {})", known.join("; "));
    }
    Ok((driver, prop, value))
}

/// QEMU's boolean property values.
fn parse_bool(option: &str, value: &str) -> Result<bool> {
    match value {
        "on" | "yes" | "true" | "y" => Ok(true),
        "off" | "no" | "false" | "n" => Ok(false),
        _ => bail!("{option}: '{value}' is not a boolean (on/off, yes/no, true/false)"),
    }
}

/// The virtio-mmio register layout the `-global` options ask for (the last setting wins, as in QEMU).
pub fn virtio_mmio_version(globals: &[String]) -> Result<MmioVersion> {
    let mut version = MmioVersion::Legacy;
    for g in globals {
        let (_, _, value) = parse_global(g)?;
        let legacy = parse_bool(&format!("-global {g}"), &value)?;
        version = if legacy { MmioVersion::Legacy } else { MmioVersion::Modern };
    }
    Ok(version)
}

/// Attaches the drives and devices given on the command line.
pub fn attach(args: &MachineArgs, config: &mut VirtConfig, originals: Option<OriginalsFor>) -> Result<()> {
    config.virtio_mmio_version = virtio_mmio_version(&args.globals)?;
    // Each virtio-mmio device is made once its slot (and so its interrupt line) is known; `Some(n)`: the slot
    // `bus=` asked for.
    let mut devices: Vec<(Option<usize>, MakeDevice)> = Vec::new();
    // `if=none` drives, by id, until a -device takes them.
    let mut waiting: Vec<(String, Blk)> = Vec::new();
    // `if=virtio` drives: PCI disks QEMU creates after every -device.
    let mut drive_disks = Vec::new();
    for (i, d) in args.drives.iter().enumerate() {
        let spec = cli::parse_drive(d)?;
        if spec.pflash {
            attach_flash(d, &spec, config)?;
            continue;
        }
        let blk = open_drive(d, &spec, i, originals)?;
        match spec.id.filter(|_| spec.detached) {
            Some(id) => waiting.push((id, blk)),
            None => drive_disks.push(PciPlug { slot: None, function: Box::new(VirtioPci::new(blk)) }),
        }
    }
    for d in &args.devices {
        let (kind, props) = parse_device(d)?;
        let prop = |name: &str| props.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let mut take_drive = || -> Result<Blk> {
            let id = prop("drive").with_context(|| format!("-device {d}: drive=ID is required"))?;
            let Some(at) = waiting.iter().position(|(w, _)| *w == id) else {
                bail!("-device {d}: no -drive with if=none,id={id} (or another -device took it)");
            };
            Ok(waiting.remove(at).1)
        };
        if kind.ends_with("-pci") {
            if let Some(bus) = prop("bus").filter(|b| b != "pcie.0") {
                bail!("-device {d}: bus '{bus}' does not exist (the PCI bus is pcie.0)");
            }
            let slot = prop("addr").map(|a| parse_pci_addr(d, &a)).transpose()?;
            let function: Box<dyn PciFunction> = match kind.as_str() {
                "virtio-blk-pci" => Box::new(VirtioPci::new(take_drive()?)),
                _ => Box::new(VirtioPci::new(Rng::new(args.rng_seed))),
            };
            config.pci.push(PciPlug { slot, function });
            continue;
        }
        let slot = prop("bus").map(|bus| parse_bus(d, &bus)).transpose()?;
        let make: MakeDevice = match kind.as_str() {
            "virtio-blk-device" => {
                let blk = take_drive()?;
                Box::new(move |irq, v| Box::new(VirtioMmio::new(blk, irq, v)) as Box<dyn FdtDevice>)
            }
            _ => {
                let seed = args.rng_seed;
                Box::new(move |irq, v| Box::new(VirtioMmio::new(Rng::new(seed), irq, v)) as Box<dyn FdtDevice>)
            }
        };
        devices.push((slot, make));
    }
    config.pci.extend(drive_disks);
    place(devices, config)
}

/// `-drive if=pflash`: the contents of flash bank `unit=` (or the next free one), an image of exactly the bank's
/// size as QEMU requires. Guest writes stay in memory, as with every rewind drive.
fn attach_flash(text: &str, spec: &cli::DriveSpec, config: &mut VirtConfig) -> Result<()> {
    let unit = match spec.unit {
        Some(unit) => unit,
        None => config.pflash.iter().position(Option::is_none).unwrap_or(config.pflash.len()),
    };
    let Some(bank) = config.pflash.get_mut(unit) else {
        bail!("-drive {text}: the virt board has flash banks 0 and 1");
    };
    if bank.is_some() {
        bail!("-drive {text}: flash bank {unit} has a drive already");
    }
    if !spec.snapshot {
        bail!("-drive {text}: snapshot=off on a flash bank is not supported yet (guest writes stay in memory)");
    }
    let cannot_read = || format!("-drive {text}: cannot read '{}'", spec.file.display());
    // The size is checked before reading, so a large file given by mistake is refused, not read into memory.
    let len = std::fs::metadata(&spec.file).with_context(cannot_read)?.len();
    if len != BANK_SIZE {
        bail!(
            "-drive {text}: a flash bank takes {BANK_SIZE} bytes, the image has {len} (QEMU requires the exact size)"
        );
    }
    let data = std::fs::read(&spec.file).with_context(cannot_read)?;
    if data.len() as u64 != BANK_SIZE {
        bail!("-drive {text}: '{}' changed size while it was read", spec.file.display());
    }
    *bank = Some(FlashImage { data: Some(std::sync::Arc::new(data)), read_only: spec.read_only });
    Ok(())
}

/// QEMU's PCI `addr=`: `SLOT` or `SLOT.FUNCTION` in hex; rewind's devices are single-function, at function 0.
fn parse_pci_addr(device: &str, addr: &str) -> Result<u8> {
    let (slot, function) = addr.split_once('.').unwrap_or((addr, "0"));
    let hex = |t: &str| u8::from_str_radix(t.trim_start_matches("0x"), 16).ok();
    match (hex(slot), hex(function)) {
        (Some(slot), Some(0)) if slot < 32 => Ok(slot),
        (Some(_), Some(f)) if f != 0 => bail!("-device {device}: addr={addr}: rewind's devices sit at function 0"),
        _ => bail!("-device {device}: addr={addr} is not a slot on the bus (hex 1 to 1f, or SLOT.0)"),
    }
}

/// Opens `-drive` number `i` (`text` as given, `spec` parsed) as a virtio-blk device's disk.
fn open_drive(text: &str, spec: &cli::DriveSpec, i: usize, originals: Option<OriginalsFor>) -> Result<Blk> {
    let path = &spec.file;
    let open_error = || format!("-drive {text}: cannot open '{}'", path.display());
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
    Ok(Blk::new(disk).with_serial(&format!("rewind-disk{i}")).with_drive_name(&name))
}

/// `TYPE,prop=value,...`: the type (QEMU's aliases resolved) and its properties, each one the type takes.
fn parse_device(text: &str) -> Result<(String, Vec<(String, String)>)> {
    let mut parts = text.split(',');
    let t = device_type(parts.next().unwrap_or("")).with_context(|| unknown_device(text))?;
    let allowed: Vec<&str> = t.props.iter().map(|(name, _)| *name).collect();
    let mut props = Vec::new();
    for part in parts {
        let (key, value) = part.split_once('=').unwrap_or((part, "on"));
        if !allowed.contains(&key) {
            bail!("-device {text}: {} has no property '{key}' (rewind's takes: {})", t.name, allowed.join(", "));
        }
        props.push((key.to_string(), value.to_string()));
    }
    Ok((t.name.to_string(), props))
}

/// `virtio-mmio-bus.N`: slot N.
fn parse_bus(device: &str, bus: &str) -> Result<usize> {
    bus.strip_prefix("virtio-mmio-bus.")
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| *n < VIRTIO_SLOTS)
        .with_context(|| {
            format!("-device {device}: bus '{bus}' does not exist (virtio-mmio-bus.0 to .{})", VIRTIO_SLOTS - 1)
        })
}

/// Puts each device in its slot: the ones `bus=` placed first, then the others from the last free slot down.
fn place(devices: Vec<(Option<usize>, MakeDevice)>, config: &mut VirtConfig) -> Result<()> {
    let mut slots: [Option<MakeDevice>; VIRTIO_SLOTS] = Default::default();
    let mut unplaced = Vec::new();
    for (slot, make) in devices {
        match slot {
            Some(n) if slots[n].is_some() => bail!("-device ...,bus=virtio-mmio-bus.{n}: the slot is taken"),
            Some(n) => slots[n] = Some(make),
            None => unplaced.push(make),
        }
    }
    let mut free = (0..VIRTIO_SLOTS).rev().filter(|n| slots[*n].is_none()).collect::<Vec<_>>().into_iter();
    for make in unplaced {
        let Some(n) = free.next() else {
            bail!("too many virtio devices: the virt board has {VIRTIO_SLOTS} virtio-mmio slots");
        };
        slots[n] = Some(make);
    }
    for (n, make) in slots.into_iter().enumerate() {
        if let Some(make) = make {
            config.virtio[n] = Some(make(VIRTIO_IRQ + n as u32, config.virtio_mmio_version));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(name: &str) -> String {
        let path = std::env::temp_dir().join(format!("rewind-drives-{}-{name}.img", std::process::id()));
        std::fs::write(&path, vec![0u8; 4096]).unwrap();
        path.display().to_string()
    }

    /// The board config after attaching `drives` and `devices`, or the error.
    fn attached(drives: &[String], devices: &[&str]) -> Result<VirtConfig> {
        let args = MachineArgs {
            drives: drives.to_vec(),
            devices: devices.iter().map(|d| d.to_string()).collect(),
            ..Default::default()
        };
        let mut config = VirtConfig::new(Box::new(std::io::sink()));
        attach(&args, &mut config, None)?;
        Ok(config)
    }

    /// The kind of device in each virtio-mmio slot after attaching `drives` and `devices`, or the error.
    fn slots(drives: &[String], devices: &[&str]) -> Result<Vec<Option<&'static str>>> {
        Ok(attached(drives, devices)?.virtio.iter().map(|d| d.as_ref().map(|d| d.kind())).collect())
    }

    /// The PCI devices in the order the board plugs them, with the slot each asked for.
    fn pci(drives: &[String], devices: &[&str]) -> Result<Vec<(&'static str, Option<u8>)>> {
        Ok(attached(drives, devices)?.pci.iter().map(|p| (p.function.kind(), p.slot)).collect())
    }

    #[test]
    fn devices_fill_the_slots_from_the_last_and_bus_picks_one() {
        let (a, b) = (disk("a"), disk("b"));
        let s = slots(&[format!("file={a},if=none,id=x0")], &["virtio-blk-device,drive=x0", "virtio-rng-device"]);
        let s = s.unwrap();
        assert_eq!((s[7], s[6], s[5]), (Some("virtio-blk"), Some("virtio-rng"), None));
        // if=none attaches nothing by itself; the -device naming it does, where bus= says.
        let s = slots(&[format!("file={a},if=none,id=x0")], &[]).unwrap();
        assert!(s.iter().all(Option::is_none), "{s:?}");
        let drives = [format!("file={a},if=none,id=x0"), format!("file={b},if=none,id=x1")];
        let devices = ["virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0", "virtio-blk-device,drive=x1"];
        let s = slots(&drives, &devices).unwrap();
        assert_eq!((s[0], s[7], s[6]), (Some("virtio-blk"), Some("virtio-blk"), None));
    }

    #[test]
    fn if_virtio_and_the_short_names_are_pci_devices_plugged_in_qemus_order() {
        let (a, b) = (disk("e"), disk("f"));
        let drives = [format!("file={a},if=virtio"), format!("file={b},if=none,id=x1")];
        let p = pci(&drives, &["virtio-rng", "virtio-blk-pci,drive=x1,addr=5,bus=pcie.0"]).unwrap();
        // The -device ones first, then the if=virtio disk, as QEMU creates them.
        assert_eq!(p, [("virtio-rng-pci", None), ("virtio-blk-pci", Some(5)), ("virtio-blk-pci", None)]);
        assert!(slots(&drives[..1], &[]).unwrap().iter().all(Option::is_none), "if=virtio is not virtio-mmio");
        let error = |devices: &[&str]| format!("{:#}", pci(&[], devices).unwrap_err());
        assert!(error(&["virtio-rng-pci,bus=virtio-mmio-bus.0"]).contains("bus 'virtio-mmio-bus.0' does not exist"));
        assert!(error(&["virtio-rng-pci,addr=1.2"]).contains("function 0"));
        assert!(error(&["virtio-rng-pci,addr=zz"]).contains("not a slot on the bus"));
        assert_eq!(pci(&[], &["virtio-rng-pci,addr=0x1f"]).unwrap(), [("virtio-rng-pci", Some(0x1f))]);
    }

    #[test]
    fn bad_devices_get_one_clear_line() {
        let a = disk("c");
        let error = |drives: &[String], devices: &[&str]| format!("{:#}", slots(drives, devices).unwrap_err());
        assert!(error(&[], &["virtio-net-device"])
            .contains("rewind supports virtio-blk-device, virtio-blk-pci, virtio-rng-device, virtio-rng-pci"));
        let help = device_help(&["virtio-blk-device,help".into()]).unwrap().unwrap();
        assert!(help.starts_with("virtio-blk-device options:\n  drive=<str>"), "{help}");
        let list = device_help(&["help".into()]).unwrap().unwrap();
        assert!(list.contains("Storage devices:\nname \"virtio-blk-device\", bus virtio-bus\n"), "{list}");
        assert!(device_help(&["virtio-net-device,help".into()]).is_err());
        assert!(device_help(&["virtio-rng-device".into()]).unwrap().is_none());
        assert!(error(&[], &["virtio-blk-device"]).contains("drive=ID is required"));
        assert!(error(&[], &["virtio-blk-device,drive=x9"]).contains("no -drive with if=none,id=x9"));
        assert!(error(&[], &["virtio-rng-device,bus=virtio-mmio-bus.8"]).contains("does not exist"));
        assert!(error(&[], &["virtio-rng-device,speed=9"]).contains("has no property 'speed'"));
        let taken = ["virtio-rng-device,bus=virtio-mmio-bus.3", "virtio-rng-device,bus=virtio-mmio-bus.3"];
        assert!(error(&[], &taken).contains("the slot is taken"));
        assert!(error(&[format!("file={a},if=none")], &[]).contains("if=none needs an id="));
        let nine: Vec<&str> = vec!["virtio-rng-device"; 9];
        assert!(error(&[], &nine).contains("8 virtio-mmio slots"));
    }

    #[test]
    fn pflash_drives_fill_the_banks_and_must_be_their_size() {
        let bank = std::env::temp_dir().join(format!("rewind-drives-{}-bank.img", std::process::id()));
        std::fs::write(&bank, vec![0u8; BANK_SIZE as usize]).unwrap();
        let b = bank.display();
        let config = attached(&[format!("file={b},if=pflash,format=raw"), format!("file={b},if=pflash")], &[]);
        let config = config.unwrap();
        assert!(config.pflash.iter().all(Option::is_some), "unit 0 then unit 1");
        let config = attached(&[format!("file={b},if=pflash,unit=1,readonly=on")], &[]).unwrap();
        assert!(config.pflash[0].is_none());
        assert!(config.pflash[1].as_ref().is_some_and(|f| f.read_only));
        let error = |drives: &[String]| format!("{:#}", attached(drives, &[]).err().unwrap());
        assert!(error(&[format!("file={b},if=pflash,unit=2")]).contains("flash banks 0 and 1"));
        assert!(error(&[format!("file={b},if=pflash,unit=x")]).contains("unit=x is not a number"));
        let two = [format!("file={b},if=pflash,unit=1"), format!("file={b},if=pflash,unit=1")];
        assert!(error(&two).contains("flash bank 1 has a drive already"));
        assert!(error(&[format!("file={b},if=pflash,snapshot=off")]).contains("not supported yet"));
        let small = disk("small-bank");
        assert!(error(&[format!("file={small},if=pflash")])
            .contains("a flash bank takes 33554432 bytes, the image has 4096"));
        assert!(error(&[format!("file={b},if=scsi")]).contains("if=virtio, if=pflash and if=none"));
        let _ = std::fs::remove_file(bank);
    }

    #[test]
    fn global_sets_the_virtio_mmio_layout_as_qemu_spells_it() {
        let version =
            |globals: &[&str]| virtio_mmio_version(&globals.iter().map(|g| g.to_string()).collect::<Vec<_>>());
        assert_eq!(version(&[]).unwrap(), MmioVersion::Legacy, "QEMU's default");
        assert_eq!(version(&["virtio-mmio.force-legacy=false"]).unwrap(), MmioVersion::Modern);
        assert_eq!(version(&["driver=virtio-mmio,property=force-legacy,value=off"]).unwrap(), MmioVersion::Modern);
        assert_eq!(
            version(&["virtio-mmio.force-legacy=off", "virtio-mmio.force-legacy=on"]).unwrap(),
            MmioVersion::Legacy
        );
        let error = |g: &str| format!("{:#}", version(&[g]).unwrap_err());
        assert!(error("virtio-mmio.force-legacy=maybe").contains("'maybe' is not a boolean"));
        assert!(error("virtio-blk-device.scsi=off")
            .contains("rewind has no virtio-blk-device.scsi (it has: virtio-mmio.force-legacy="));
        assert!(error("force-legacy").contains("expected DRIVER.PROPERTY=VALUE"));
        assert!(error("driver=virtio-mmio,value=off").contains("expected DRIVER.PROPERTY=VALUE"));
        // Every device the slots get, and the empty slots, report the layout.
        let mut config = VirtConfig::new(Box::new(std::io::sink()));
        let args = MachineArgs {
            devices: vec!["virtio-rng-device".into()],
            globals: vec!["virtio-mmio.force-legacy=no".into()],
            ..Default::default()
        };
        attach(&args, &mut config, None).unwrap();
        assert_eq!(config.virtio_mmio_version, MmioVersion::Modern);
        let rng = config.virtio[7].as_ref().map(|d| d.inspect()).unwrap_or_default();
        assert!(rng.contains(&("transport".to_string(), "virtio-mmio version 2".to_string())), "{rng:?}");
    }
}
