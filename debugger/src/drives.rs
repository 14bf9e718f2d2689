//! `-drive` and `-device`: virtio-blk and virtio-rng devices in the virt board's virtio-mmio slots, as QEMU
//! spells them. A `-drive` with `if=virtio` (the default) makes its own disk; one with `if=none,id=ID` waits for
//! `-device virtio-blk-device,drive=ID`. `bus=virtio-mmio-bus.N` puts a device in slot N; the others fill the
//! free slots from the last one (0x10008000) down, as in QEMU. `-global virtio-mmio.force-legacy=off` gives every
//! slot the modern register layout instead of QEMU's default legacy one.

use crate::cli::{self, MachineArgs};
use anyhow::{bail, Context, Result};
use rewind_machines::fdt::FdtDevice;
use rewind_machines::virt::{VirtConfig, VIRTIO_IRQ, VIRTIO_SLOTS};
use rewind_machines::virtio::{
    Blk, BlockBackend, FileDisk, JournaledDisk, MmioVersion, OverlayDisk, Rng, SaveOriginal, VirtioMmio,
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

const DEVICES: [DeviceType; 2] = [
    DeviceType {
        name: "virtio-blk-device",
        category: "Storage devices",
        props: &[("drive", "<str> - the id of an if=none -drive to use as the disk"), BUS],
    },
    DeviceType { name: "virtio-rng-device", category: "Misc devices", props: &[BUS] },
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
                    out.push_str(&format!("name \"{}\", bus virtio-bus\n", t.name));
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

/// A device type by name or QEMU's alias.
fn device_type(name: &str) -> Option<&'static DeviceType> {
    let name = match name {
        "virtio-rng" => "virtio-rng-device",
        "virtio-blk" => "virtio-blk-device",
        other => other,
    };
    DEVICES.iter().find(|t| t.name == name)
}

fn unknown_device(text: &str) -> String {
    let known: Vec<&str> = DEVICES.iter().map(|t| t.name).collect();
    format!("-device {text}: rewind supports {} (on the virtio-mmio bus; -device help lists them)", known.join(" and "))
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
    // Each device is made once its slot (and so its interrupt line) is known; `Some(n)`: the slot `bus=` asked for.
    let mut devices: Vec<(Option<usize>, MakeDevice)> = Vec::new();
    // `if=none` drives, by id, until a -device takes them.
    let mut waiting: Vec<(String, Blk)> = Vec::new();
    for (i, d) in args.drives.iter().enumerate() {
        let spec = cli::parse_drive(d)?;
        let blk = open_drive(d, &spec, i, originals)?;
        match spec.id.filter(|_| spec.detached) {
            Some(id) => waiting.push((id, blk)),
            None => {
                // QEMU's virt puts an if=virtio disk behind its PCIe host: say so rather than differ silently.
                crate::term::line(&format!(
                    "rewind: -drive {d}: attached as virtio-blk-device (virtio-mmio); QEMU's virt makes it a \
                     virtio-blk-pci disk, which rewind does not have yet"
                ));
                devices
                    .push((None, Box::new(move |irq, v| Box::new(VirtioMmio::new(blk, irq, v)) as Box<dyn FdtDevice>)))
            }
        }
    }
    for d in &args.devices {
        let (kind, props) = parse_device(d)?;
        let prop = |name: &str| props.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let slot = prop("bus").map(|bus| parse_bus(d, &bus)).transpose()?;
        let make: MakeDevice = match kind.as_str() {
            "virtio-blk-device" => {
                let id = prop("drive").with_context(|| format!("-device {d}: drive=ID is required"))?;
                let Some(at) = waiting.iter().position(|(w, _)| *w == id) else {
                    bail!("-device {d}: no -drive with if=none,id={id} (or another -device took it)");
                };
                let (_, blk) = waiting.remove(at);
                Box::new(move |irq, v| Box::new(VirtioMmio::new(blk, irq, v)) as Box<dyn FdtDevice>)
            }
            _ => {
                let seed = args.rng_seed;
                Box::new(move |irq, v| Box::new(VirtioMmio::new(Rng::new(seed), irq, v)) as Box<dyn FdtDevice>)
            }
        };
        devices.push((slot, make));
    }
    place(devices, config)
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

    /// The kind of device in each slot after attaching `drives` and `devices`, or the error.
    fn slots(drives: &[String], devices: &[&str]) -> Result<Vec<Option<&'static str>>> {
        let args = MachineArgs {
            drives: drives.to_vec(),
            devices: devices.iter().map(|d| d.to_string()).collect(),
            ..Default::default()
        };
        let mut config = VirtConfig::new(Box::new(std::io::sink()));
        attach(&args, &mut config, None)?;
        Ok(config.virtio.iter().map(|d| d.as_ref().map(|d| d.kind())).collect())
    }

    #[test]
    fn devices_fill_the_slots_from_the_last_and_bus_picks_one() {
        let (a, b) = (disk("a"), disk("b"));
        let s = slots(&[format!("file={a},if=virtio")], &["virtio-rng-device"]).unwrap();
        assert_eq!((s[7], s[6], s[5]), (Some("virtio-blk"), Some("virtio-rng"), None));
        // if=none attaches nothing by itself; the -device naming it does, where bus= says.
        let s = slots(&[format!("file={a},if=none,id=x0")], &[]).unwrap();
        assert!(s.iter().all(Option::is_none), "{s:?}");
        let drives = [format!("file={a},if=none,id=x0"), format!("file={b},format=raw")];
        let s = slots(&drives, &["virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0", "virtio-rng"]).unwrap();
        assert_eq!((s[0], s[7], s[6]), (Some("virtio-blk"), Some("virtio-blk"), Some("virtio-rng")));
    }

    #[test]
    fn bad_devices_get_one_clear_line() {
        let a = disk("c");
        let error = |drives: &[String], devices: &[&str]| format!("{:#}", slots(drives, devices).unwrap_err());
        assert!(error(&[], &["virtio-net-device"]).contains("rewind supports virtio-blk-device and virtio-rng-device"));
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
