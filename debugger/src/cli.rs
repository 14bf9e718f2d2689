//! The `rewind` command line: QEMU's spellings for the options the two share (`-M virt -m 256M -smp 2 -bios
//! -kernel -initrd -append -drive -nographic -serial stdio`), plus rewind's own subcommands.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "rewind",
    // The package version and, when built from a git checkout, the commit (see build.rs).
    version = env!("REWIND_VERSION"),
    about = "A debugger-centric, deterministic RISC-V full-system emulator",
    args_conflicts_with_subcommands = true,
    after_help = "QEMU-style single-dash options work too: rewind -M virt -m 256M -kernel Image -append 'console=ttyS0'"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub machine: MachineArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Boot a machine (the default when no subcommand is given).
    Run(MachineArgs),
    /// Boot a machine and record its nondeterministic inputs, so the run can be replayed exactly.
    Record {
        /// The recording to write.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// Embed the images (compressed) in the recording, so it replays on any machine: for bug reports.
        #[arg(long = "bundle")]
        bundle: bool,
        #[command(flatten)]
        machine: MachineArgs,
    },
    /// Re-execute a recording with no further input, checking it follows the recorded path.
    Replay {
        /// The recording (from `rewind record`).
        file: PathBuf,
        /// Serve gdb on 127.0.0.1:1234 while replaying (reverse-stepi and reverse-continue work).
        #[arg(short = 's')]
        gdb_default: bool,
        /// Serve gdb on `tcp::PORT`, `tcp:HOST:PORT` or `unix:PATH`.
        #[arg(long = "gdb", value_name = "DEV")]
        gdb: Option<String>,
        /// Do not start the replay until gdb continues it.
        #[arg(short = 'S')]
        freeze: bool,
        /// Look for the images the recording needs in this directory too (found by content hash).
        #[arg(long = "image-dir", value_name = "DIR")]
        image_dir: Option<PathBuf>,
        /// Open the recording in the full-screen terminal UI, stopped at its start.
        #[arg(long = "tui")]
        tui: bool,
        /// Symbols and source lines for the TUI and the monitor (an ELF file such as vmlinux).
        #[arg(long = "symbols", value_name = "FILE")]
        symbols: Option<PathBuf>,
        /// Run to the first instruction where CONDITION holds and stop there, printing where that is (exit 1 if
        /// it never holds): `pc == start_kernel`, `a0 != 0 && pc == 0x80200000`, `*(u32 *)&jiffies > 100`.
        #[arg(long = "until", value_name = "CONDITION", conflicts_with_all = ["gdb_default", "gdb", "tui"])]
        until: Option<String>,
        /// Log what the replay executes, as `-d` does on a run (the recorded run's own `-d` is not repeated).
        #[arg(short = 'd', value_name = "ITEMS")]
        log_items: Option<String>,
        /// Where `-d` logs go (default: stderr).
        #[arg(short = 'D', value_name = "FILE")]
        log_file: Option<PathBuf>,
        /// Log only the instructions at these pcs: `START+SIZE`, `END-SIZE` or `START..END`, comma separated.
        #[arg(long = "dfilter", value_name = "RANGES")]
        log_filter: Option<String>,
    },
    /// Ask a recording questions: replays it to its end, then runs each monitor command given (`when`,
    /// `last-write ADDR`, `writes ADDR`, `first-exec SYMBOL`, `x`, `info registers`...) and prints the answers.
    Query {
        /// The recording (from `rewind record`).
        file: PathBuf,
        /// The monitor commands, each one argument: rewind query boot.rwd 'last-write jiffies' when
        #[arg(required = true, value_name = "COMMAND")]
        commands: Vec<String>,
        /// Symbols for addresses (an ELF file such as vmlinux), so commands may name them.
        #[arg(long = "symbols", value_name = "FILE")]
        symbols: Option<PathBuf>,
        /// Look for the images the recording needs in this directory too (found by content hash).
        #[arg(long = "image-dir", value_name = "DIR")]
        image_dir: Option<PathBuf>,
    },
    /// Boot a machine inside the full-screen terminal UI (the same as `run --tui`): it starts stopped at reset.
    Tui(MachineArgs),
    /// Print the machine's memory-region tree (QEMU's `info mtree`) and exit.
    #[command(mut_args(hide_run_only))]
    Mtree(MachineArgs),
    /// Print a shell completion script, e.g. `rewind completions bash > /etc/bash_completion.d/rewind`.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `rewind manpage > rewind.1; man ./rewind.1`.
    Manpage,
}

/// Machine options that do not change a machine's shape, so `rewind mtree` ignores them: they stay accepted
/// (a run's command line can be reused) but its help does not list them.
const RUN_ONLY: &[&str] = &[
    "append",
    "nographic",
    "serial",
    "rng_seed",
    "rtc_start",
    "reverse",
    "max_insns",
    "stats",
    "jit",
    "jit_threshold",
    "gdb_default",
    "gdb",
    "freeze",
    "tui",
    "symbols",
    "monitor",
    "no_reboot",
    "expect",
    "fail_on",
    "fail_silent",
    "timeout",
    "on_timeout",
    "verdict_json",
    "log_items",
    "log_file",
    "log_filter",
];

fn hide_run_only(arg: clap::Arg) -> clap::Arg {
    let hide = RUN_ONLY.contains(&arg.get_id().as_str());
    arg.hide(hide)
}

/// The completion script for `shell`. (Made in memory: clap_complete panics on a failed write, such as to a closed
/// pipe.)
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "rewind", &mut script);
    script
}

/// The man page (roff).
pub fn manpage() -> std::io::Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut page)?;
    Ok(page)
}

#[derive(Args, Debug, Clone, Default)]
pub struct MachineArgs {
    /// Machine type (only `virt`), with QEMU's `dumpdtb=FILE` property: write the device tree the guest would get
    /// and exit.
    #[arg(short = 'M', long = "machine", default_value = "virt")]
    pub machine: String,
    /// RAM size, e.g. 256M or 1G (plain numbers are MiB, as in QEMU).
    #[arg(short = 'm', long = "memory", default_value = "256M")]
    pub memory: String,
    /// Number of harts.
    #[arg(long = "smp", default_value = "1")]
    pub smp: String,
    /// The harts' kind, as QEMU spells it: `rv64` (QEMU 7.2's default less H), `max`, `rv64gc`, with properties
    /// such as `rv64,zba=off,sstc=off,pmu-num=4`; `help` lists the models, `MODEL,help` the properties.
    #[arg(long = "cpu", default_value = "rv64")]
    pub cpu: String,
    /// Firmware: a path, `default` (Debian's OpenSBI fw_jump.bin) or `none`.
    #[arg(long = "bios", default_value = "default")]
    pub bios: String,
    /// Kernel: a Linux `Image` or an ELF.
    #[arg(long = "kernel")]
    pub kernel: Option<PathBuf>,
    /// Initial ramdisk.
    #[arg(long = "initrd")]
    pub initrd: Option<PathBuf>,
    /// Kernel command line.
    #[arg(long = "append", default_value = "")]
    pub append: String,
    /// A drive: `file=disk.img,format=raw,if=virtio[,readonly=on][,snapshot=on]` (a virtio-blk-pci disk, as on
    /// QEMU's virt); `if=none,id=ID` for a -device to attach.
    #[arg(long = "drive")]
    pub drives: Vec<String>,
    /// A device, as QEMU spells it: `virtio-blk-device,drive=ID` (an `if=none` drive) or `virtio-rng-device`
    /// (seeded by --rng-seed) on virtio-mmio, with `bus=virtio-mmio-bus.N` to choose the slot; `virtio-blk-pci`
    /// and `virtio-rng-pci` (QEMU's `virtio-blk`, `virtio-rng`) behind the PCIe host bridge, `addr=SLOT`.
    #[arg(long = "device")]
    pub devices: Vec<String>,
    /// A device property for every device of a type, as QEMU spells it: `virtio-mmio.force-legacy=off` gives the
    /// virtio-mmio slots the modern (version 2) register layout instead of QEMU's default legacy one.
    #[arg(long = "global", value_name = "DRIVER.PROP=VALUE")]
    pub globals: Vec<String>,
    /// No graphics (accepted for QEMU compatibility: rewind never opens a window).
    #[arg(long = "nographic")]
    pub nographic: bool,
    /// Serial port backend, as QEMU spells it: `stdio` (or `mon:stdio`), `file:PATH` or `none`.
    #[arg(long = "serial", default_value = "stdio")]
    pub serial: String,
    /// Seed of the virtio-rng device.
    #[arg(long = "rng-seed", default_value = "0")]
    pub rng_seed: u64,
    /// Start time of the RTC, in seconds since the Unix epoch (default: 2024-01-01T00:00:00Z, for determinism).
    #[arg(long = "rtc-start", default_value = "1704067200")]
    pub rtc_start: u64,
    /// Keep the run's inputs in memory and take checkpoints, so gdb can step and continue backwards
    /// (reverse-stepi, reverse-continue).
    #[arg(long = "reverse")]
    pub reverse: bool,
    /// Stop after this many instructions (for benchmarks and tests).
    #[arg(long = "max-insns")]
    pub max_insns: Option<u64>,
    /// Print a summary (instructions, virtual time, wall time, MIPS, JIT figures) on exit.
    #[arg(long = "stats")]
    pub stats: bool,
    /// Translate hot code to host code (`on`) or only interpret (`off`). The guest sees no difference.
    #[arg(long = "jit", default_value = "on", value_parser = ["on", "off"])]
    pub jit: String,
    /// Times a block is executed before the JIT translates it.
    #[arg(
        long = "jit-threshold",
        default_value_t = rewind::DEFAULT_JIT_THRESHOLD,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub jit_threshold: u32,
    /// Wait for gdb on 127.0.0.1:1234 (shorthand for `-gdb tcp::1234`).
    #[arg(short = 's')]
    pub gdb_default: bool,
    /// Wait for gdb on `tcp::PORT`, `tcp:HOST:PORT` or `unix:PATH` (loopback unless a host is named).
    #[arg(long = "gdb", value_name = "DEV")]
    pub gdb: Option<String>,
    /// Do not start the CPUs until gdb continues or steps them.
    #[arg(short = 'S')]
    pub freeze: bool,
    /// The monitor on the terminal (`stdio`, as QEMU's `-monitor stdio`; the serial console then needs
    /// `-serial file:PATH` or `-serial none`).
    #[arg(long = "monitor", value_name = "DEV")]
    pub monitor: Option<String>,
    /// End the run when the guest resets, instead of booting again (QEMU's `-no-reboot`).
    #[arg(long = "no-reboot")]
    pub no_reboot: bool,
    /// Run inside the full-screen terminal UI (as `rewind tui`), stopped at reset.
    #[arg(long = "tui")]
    pub tui: bool,
    #[command(flatten)]
    pub verdict: crate::verdict::VerdictArgs,
    /// `rewind query`'s commands, run at the end of the replay instead of the front ends.
    #[arg(skip)]
    pub query: Vec<String>,
    /// The query's commands run at the start of the replay instead (`rewind replay --until`).
    #[arg(skip)]
    pub query_at_start: bool,
    /// Symbols and DWARF source lines for the TUI and the monitor: an ELF file such as vmlinux (default: the
    /// -kernel file, when it is an ELF with symbols).
    #[arg(long = "symbols", value_name = "FILE")]
    pub symbols: Option<PathBuf>,
    /// Log what the harts execute, as QEMU's `-d`: `exec` (every instruction), `in_asm` (each instruction the first
    /// time it runs); `-d help` lists them. The log does not change the run.
    #[arg(short = 'd', value_name = "ITEMS")]
    pub log_items: Option<String>,
    /// Where `-d` logs go (default: stderr).
    #[arg(short = 'D', value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Log only the instructions at these pcs: `START+SIZE`, `END-SIZE` or `START..END`, comma separated.
    #[arg(long = "dfilter", value_name = "RANGES")]
    pub log_filter: Option<String>,
    /// Virtual time (QEMU's `-icount`): always the instruction count here. `shift=N` makes an instruction 2^N ns
    /// (default 0: 1 ns); `sleep=on` (the default) lets an idle guest's clock advance with the wall clock at no CPU
    /// cost, `sleep=off` jumps idle time at once.
    #[arg(long = "icount", value_name = "[shift=N][,sleep=on|off]", default_value = "sleep=on")]
    pub icount: String,
}

/// QEMU's `-icount` options rewind has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icount {
    /// An instruction takes 2^shift ns of virtual time.
    pub shift: u32,
    /// An idle guest's clock keeps pace with the wall clock.
    pub sleep: bool,
}

/// Parses `-icount`: `[shift=]N`, `sleep=on|off`, comma-separated, as QEMU spells them.
pub fn parse_icount(spec: &str) -> Result<Icount> {
    let mut icount = Icount { shift: 0, sleep: true };
    for (i, part) in spec.split(',').enumerate() {
        let (key, value) = match part.split_once('=') {
            Some(kv) => kv,
            // QEMU takes a bare first value as the shift.
            None if i == 0 => ("shift", part),
            None => (part, ""),
        };
        match (key, value) {
            ("sleep", "on") => icount.sleep = true,
            ("sleep", "off") => icount.sleep = false,
            ("shift", "auto") => bail!(
                "-icount {spec}: shift=auto follows the host's speed, which no replay could repeat; give a fixed \
                 shift=N (0 to {})",
                rewind::clock::MAX_SHIFT
            ),
            ("shift", n) => {
                icount.shift = n
                    .parse()
                    .ok()
                    .filter(|s| *s <= rewind::clock::MAX_SHIFT)
                    .with_context(|| format!("-icount {spec}: shift must be 0 to {}", rewind::clock::MAX_SHIFT))?;
            }
            ("align", _) | ("rr", _) | ("rrfile", _) | ("rrsnapshot", _) => bail!(
                "-icount {spec}: rewind supports shift=N and sleep=on|off (virtual time always follows the \
                 instruction count; record and replay are `rewind record` and `rewind replay`)"
            ),
            _ => bail!("-icount {spec}: expected shift=N or sleep=on|off"),
        }
    }
    Ok(icount)
}

impl MachineArgs {
    /// Where the gdb server listens, if it is wanted.
    pub fn gdb_endpoint(&self) -> Result<Option<Endpoint>> {
        match (&self.gdb, self.gdb_default) {
            (Some(spec), _) if spec == "none" => Ok(None),
            (Some(spec), _) => parse_endpoint(spec).map(Some),
            (None, true) => Ok(Some(Endpoint::Tcp("127.0.0.1:1234".into()))),
            (None, false) => Ok(None),
        }
    }
}

/// Where the gdb server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Tcp(String),
    Unix(PathBuf),
}

/// Parses QEMU's `-gdb` device: `tcp::PORT`, `tcp:HOST:PORT`, `unix:PATH` (QEMU's `,server,nowait` suffixes are
/// accepted and ignored). Without a host, the server listens on loopback only.
pub fn parse_endpoint(spec: &str) -> Result<Endpoint> {
    let main = spec.split(',').next().unwrap_or(spec);
    if let Some(path) = main.strip_prefix("unix:") {
        if path.is_empty() {
            bail!("-gdb {spec}: missing socket path");
        }
        return Ok(Endpoint::Unix(path.into()));
    }
    let addr = main.strip_prefix("tcp:").unwrap_or(main);
    let (host, port) = addr.rsplit_once(':').unwrap_or(("", addr));
    let port: u16 = port.parse().with_context(|| format!("-gdb {spec}: invalid port '{port}'"))?;
    let host = if host.is_empty() { "127.0.0.1" } else { host.trim_start_matches('[').trim_end_matches(']') };
    let host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
    Ok(Endpoint::Tcp(format!("{host}:{port}")))
}

/// QEMU options rewind accepts with a single dash, rewritten to clap's double dash.
const QEMU_LONG_OPTIONS: &[&str] = &[
    "dfilter",
    "machine",
    "memory",
    "smp",
    "cpu",
    "bios",
    "kernel",
    "initrd",
    "append",
    "drive",
    "device",
    "global",
    "nographic",
    "serial",
    "monitor",
    "gdb",
    "icount",
    "no-reboot",
];

/// Single-dash QEMU options that take no value.
const QEMU_FLAGS: &[&str] = &["nographic", "no-reboot"];

/// QEMU options rewind does not have, each with the one line that says so (and what to use instead).
const QEMU_LACKS: &[(&[&str], &str)] = &[
    (&["netdev", "nic", "net"], "rewind has no network devices yet"),
    (&["fw_cfg"], "rewind's virt board has no fw_cfg device yet"),
    (
        &["accel", "enable-kvm"],
        "rewind runs the guest with its own interpreter and JIT: there is no accelerator to choose",
    ),
    (&["rtc"], "rewind's RTC starts at a fixed time, for determinism: set it with --rtc-start SECS"),
    (
        &["chardev", "mon", "qmp"],
        "rewind's console is -serial stdio|file:PATH|none and its monitor -monitor stdio; chardevs and QMP are not \
         supported",
    ),
    (&["display", "vga", "vnc", "spice"], "rewind has no display: the console is the serial port, as with -nographic"),
    (
        &["snapshot"],
        "drive writes stay in memory unless a -drive says snapshot=off; the -snapshot switch is not supported",
    ),
    (
        &["loadvm"],
        "rewind's snapshots are the monitor's savevm/loadvm and recordings; -loadvm at start is not supported",
    ),
    (&["incoming"], "rewind has no migration: a recording (rewind record) carries a run to another machine"),
    (&["daemonize", "pidfile"], "rewind stays in the foreground"),
    (&["object"], "rewind has no QOM objects"),
    (&["boot"], "the virt board boots -bios and -kernel directly; -boot is not supported"),
    (&["no-shutdown"], "rewind ends the run when the guest powers off; -no-shutdown is not supported"),
    (&["plugin"], "rewind has no TCG plugins: its hooks are gdb, the tracer, breakpoints and watchpoints"),
    (&["semihosting", "semihosting-config"], "rewind has no semihosting"),
    (&["usb", "usbdevice", "audiodev", "audio"], "rewind's virt board has no USB or audio"),
];

/// Rewrites `-bios x` to `--bios x` (and `-machine`, `-smp`, ...) so QEMU command lines parse, and QEMU's
/// `-pflash FILE` to the `-drive` it stands for; a single-dash word that is not an option rewind knows is an error
/// (clap would read it as a bundle of short flags).
pub fn normalize_args(args: impl IntoIterator<Item = String>) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut expects_value = false;
    let mut flash_file = false;
    for (i, a) in args.into_iter().enumerate() {
        if std::mem::take(&mut flash_file) {
            out.push(format!("file={a},if=pflash,format=raw"));
            continue;
        }
        if i == 0 || expects_value {
            expects_value = false;
            out.push(a);
            continue;
        }
        if a == "-pflash" {
            out.push("--drive".into());
            flash_file = true;
            continue;
        }
        let word = a.strip_prefix('-').filter(|r| !r.starts_with('-') && r.len() > 1);
        if let Some((_, why)) = word.and_then(|w| QEMU_LACKS.iter().find(|(names, _)| names.contains(&w))) {
            return Err(format!("{a}: {why}"));
        }
        match word {
            Some(rest) if QEMU_LONG_OPTIONS.contains(&rest) => {
                expects_value = !QEMU_FLAGS.contains(&rest);
                out.push(format!("--{rest}"));
            }
            Some(rest) if rest.chars().all(|c| c.is_ascii_alphabetic() || c == '-') => {
                return Err(format!("unknown option '{a}' (see rewind --help)"));
            }
            _ => {
                expects_value = matches!(a.as_str(), "-M" | "-m");
                out.push(a);
            }
        }
    }
    Ok(out)
}

/// Parses a size such as `256M`, `1G`, `512` (MiB) into bytes.
pub fn parse_size(s: &str) -> Result<u64> {
    let s = s.trim();
    let s = s.strip_prefix("size=").unwrap_or(s);
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits.parse().with_context(|| format!("invalid size '{s}'"))?;
    let mult: u64 = match unit.to_ascii_uppercase().as_str() {
        "" | "M" | "MB" | "MIB" => 1 << 20,
        "K" | "KB" | "KIB" => 1 << 10,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        "B" => 1,
        _ => bail!("invalid size unit in '{s}' (use K, M, G or T)"),
    };
    n.checked_mul(mult).with_context(|| format!("size '{s}' is too large"))
}

/// `-M type[,property=value...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineSpec {
    pub kind: String,
    /// QEMU's `dumpdtb=FILE`.
    pub dump_dtb: Option<PathBuf>,
}

pub fn parse_machine(s: &str) -> Result<MachineSpec> {
    let mut spec = MachineSpec { kind: "virt".into(), dump_dtb: None };
    for (i, part) in s.split(',').enumerate() {
        match part.split_once('=') {
            None if i == 0 => spec.kind = part.to_string(),
            Some(("type", kind)) => spec.kind = kind.to_string(),
            Some(("dumpdtb", file)) if !file.is_empty() => spec.dump_dtb = Some(PathBuf::from(file)),
            _ => bail!("-M {s}: unknown machine property '{part}' (rewind knows dumpdtb=FILE)"),
        }
    }
    if spec.kind != "virt" {
        bail!("unknown machine '{}' (rewind supports: virt)", spec.kind);
    }
    Ok(spec)
}

/// `-cpu help` (the models) or `-cpu MODEL,help` (its properties and their values); `None` for any other -cpu.
pub fn cpu_help(spec: &str) -> Result<Option<String>> {
    if spec == "help" || spec == "?" {
        let mut out = String::from("Available CPUs:\n");
        for model in rewind::CPU_MODELS {
            out.push_str(&format!("  {:<8} {}\n", model.name, model.description));
        }
        return Ok(Some(out));
    }
    let Some(model) = spec.strip_suffix(",help") else { return Ok(None) };
    let cpu = parse_cpu(model)?;
    let mut out = format!("{model} properties:\n");
    for (name, value, what) in cpu.properties() {
        out.push_str(&format!("  {name}={value:<6} {what}\n"));
    }
    Ok(Some(out))
}

/// Parses `-cpu MODEL[,PROP=VALUE...]`.
pub fn parse_cpu(spec: &str) -> Result<rewind::CpuConfig> {
    rewind::CpuConfig::parse(spec).map_err(|e| anyhow::anyhow!("-cpu {spec}: {e}"))
}

/// Parses `-smp N` (also `cpus=N`).
pub fn parse_smp(s: &str) -> Result<usize> {
    let v = s.strip_prefix("cpus=").unwrap_or(s);
    let v = v.split(',').next().unwrap_or(v);
    let n: usize = v.parse().with_context(|| format!("invalid -smp value '{s}'"))?;
    if !(1..=8).contains(&n) {
        bail!("-smp {n}: the virt board supports 1 to 8 harts");
    }
    Ok(n)
}

/// One `-drive` option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveSpec {
    pub file: PathBuf,
    pub read_only: bool,
    /// Keep guest writes in memory. The default: the user's image is written only with `snapshot=off`.
    pub snapshot: bool,
    /// `id=`: the drive's name (`info blockstats`, and what `-device ...,drive=ID` names).
    pub id: Option<String>,
    /// `if=none`: no device of its own; a `-device` attaches it.
    pub detached: bool,
    /// `if=pflash`: a flash bank's contents, in bank `unit=` (by default the next one).
    pub pflash: bool,
    pub unit: Option<usize>,
}

/// `spec` (a `-drive` value) with its image file replaced by `file`.
pub fn with_drive_file(spec: &str, file: &std::path::Path) -> String {
    let mut parts: Vec<String> = spec.split(',').filter(|p| !p.starts_with("file=")).map(String::from).collect();
    parts.insert(0, format!("file={}", file.display()));
    parts.join(",")
}

pub fn parse_drive(s: &str) -> Result<DriveSpec> {
    let mut file = None;
    let (mut read_only, mut snapshot, mut id, mut detached) = (false, true, None, false);
    let (mut pflash, mut unit) = (false, None);
    for part in s.split(',') {
        let (key, value) = part.split_once('=').unwrap_or((part, "on"));
        let on = || matches!(value, "on" | "true" | "yes" | "1");
        match key {
            "file" => file = Some(PathBuf::from(value)),
            "format" if value != "raw" => bail!("-drive {s}: only format=raw is supported"),
            "if" if !["virtio", "none", "pflash"].contains(&value) => {
                bail!("-drive {s}: rewind supports if=virtio, if=pflash and if=none")
            }
            "readonly" => read_only = on(),
            "snapshot" => snapshot = on(),
            "id" => id = Some(value.to_string()),
            "if" => (detached, pflash) = (value == "none", value == "pflash"),
            "unit" | "index" => {
                unit = Some(value.parse().ok().with_context(|| format!("-drive {s}: {key}={value} is not a number"))?)
            }
            "format" | "media" | "cache" => {}
            _ => bail!("-drive {s}: unknown option '{key}'"),
        }
    }
    let file = file.with_context(|| format!("-drive {s}: missing file="))?;
    if detached && id.is_none() {
        bail!("-drive {s}: if=none needs an id= for a -device to name");
    }
    Ok(DriveSpec { file, read_only, snapshot, id, detached, pflash, unit })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icount_takes_qemus_shift_and_sleep_and_refuses_what_cannot_replay() {
        let icount = |spec: &str| parse_icount(spec).map_err(|e| format!("{e:#}"));
        assert_eq!(icount("sleep=on").unwrap(), Icount { shift: 0, sleep: true });
        assert_eq!(icount("shift=3,sleep=off").unwrap(), Icount { shift: 3, sleep: false });
        assert_eq!(icount("7").unwrap(), Icount { shift: 7, sleep: true }, "QEMU's bare shift");
        assert!(icount("shift=auto").unwrap_err().contains("no replay could repeat"));
        assert!(icount("shift=11").unwrap_err().contains("shift must be 0 to 10"));
        assert!(icount("shift=3,align=on").unwrap_err().contains("rewind supports shift=N and sleep=on|off"));
        assert!(icount("speed=9").unwrap_err().contains("expected shift=N or sleep=on|off"));
    }

    #[test]
    fn cpu_takes_qemus_models_and_properties_and_lists_them_on_help() {
        let args = normalize_args(["rewind", "-cpu", "rv64,zba=off,pmu-num=4"].map(String::from)).unwrap();
        let cpu = parse_cpu(&Cli::try_parse_from(args).unwrap().machine.cpu).unwrap();
        assert_eq!((cpu.isa_string().contains("zba"), cpu.pmu_counters), (false, 4));
        let models = cpu_help("help").unwrap().unwrap();
        assert!(models.contains("  rv64 ") && models.contains("  max "), "{models}");
        let props = cpu_help("rv64,sstc=off,help").unwrap().unwrap();
        assert!(props.contains("sstc=off") && props.contains("zba=on") && props.contains("pmu-num=16"), "{props}");
        assert!(format!("{:#}", parse_cpu("rv64,h=on").unwrap_err()).starts_with("-cpu rv64,h=on: CPU property h:"));
        assert!(cpu_help("rv64").unwrap().is_none());
    }

    #[test]
    fn a_drive_file_is_replaced_and_its_options_kept() {
        let spec = with_drive_file("if=virtio,file=old.img,snapshot=off", std::path::Path::new("/tmp/new.img"));
        assert_eq!(spec, "file=/tmp/new.img,if=virtio,snapshot=off");
        let parsed = parse_drive(&spec).unwrap();
        assert_eq!((parsed.file, parsed.snapshot), (PathBuf::from("/tmp/new.img"), false));
    }

    #[test]
    fn qemu_spellings_parse() {
        let args = normalize_args(
            ["rewind", "-M", "virt", "-m", "256M", "-smp", "2", "-bios", "none", "-kernel", "k", "-nographic"]
                .map(String::from),
        )
        .unwrap();
        let cli = Cli::try_parse_from(args).unwrap();
        assert_eq!(cli.machine.bios, "none");
        assert_eq!(parse_smp(&cli.machine.smp).unwrap(), 2);
        assert!(cli.machine.nographic);
    }

    #[test]
    fn qemu_options_rewind_lacks_get_one_line_each() {
        let error = |args: &[&str]| normalize_args(["rewind"].iter().chain(args).map(|s| s.to_string())).unwrap_err();
        assert_eq!(error(&["-netdev", "user,id=n0"]), "-netdev: rewind has no network devices yet");
        assert!(error(&["-fw_cfg", "name=opt/x,string=1"]).starts_with("-fw_cfg: rewind's virt board has no fw_cfg"));
        assert!(error(&["-rtc", "base=utc"]).contains("--rtc-start"));
        let args = normalize_args(["rewind", "-no-reboot", "-kernel", "k"].map(String::from)).unwrap();
        assert!(Cli::try_parse_from(args).unwrap().machine.no_reboot);
    }

    #[test]
    fn unknown_single_dash_words_are_errors_but_values_may_start_with_dash() {
        assert!(normalize_args(["rewind", "-frobnicate"].map(String::from)).is_err());
        let args = normalize_args(["rewind", "-append", "-x quiet"].map(String::from)).unwrap();
        assert_eq!(args, ["rewind", "--append", "-x quiet"]);
    }

    #[test]
    fn endpoints_follow_qemu() {
        assert_eq!(parse_endpoint("tcp::1234").unwrap(), Endpoint::Tcp("127.0.0.1:1234".into()));
        assert_eq!(parse_endpoint("tcp:0.0.0.0:99").unwrap(), Endpoint::Tcp("0.0.0.0:99".into()));
        assert_eq!(parse_endpoint("tcp:localhost:5,server,nowait").unwrap(), Endpoint::Tcp("localhost:5".into()));
        assert_eq!(parse_endpoint("tcp:[::1]:7").unwrap(), Endpoint::Tcp("[::1]:7".into()));
        assert_eq!(parse_endpoint("unix:/tmp/g.sock,server").unwrap(), Endpoint::Unix("/tmp/g.sock".into()));
        assert!(parse_endpoint("tcp::http").is_err());
        assert!(parse_endpoint("unix:").is_err());
    }

    #[test]
    fn gdb_options_follow_qemu() {
        let parse = |a: &[&str]| {
            let args = normalize_args(a.iter().map(|s| s.to_string())).unwrap();
            Cli::try_parse_from(args).unwrap().machine
        };
        let m = parse(&["rewind", "-s", "-S", "-kernel", "k"]);
        assert!(m.freeze);
        assert_eq!(m.gdb_endpoint().unwrap(), Some(Endpoint::Tcp("127.0.0.1:1234".into())));
        let m = parse(&["rewind", "-gdb", "tcp::4321", "-S"]);
        assert_eq!(m.gdb_endpoint().unwrap(), Some(Endpoint::Tcp("127.0.0.1:4321".into())));
        let m = parse(&["rewind", "-gdb", "unix:/tmp/x.sock"]);
        assert_eq!(m.gdb_endpoint().unwrap(), Some(Endpoint::Unix("/tmp/x.sock".into())));
        // -S alone is QEMU's "start stopped", left to the monitor's cont (the launcher checks for a terminal).
        assert_eq!(parse(&["rewind", "-S"]).gdb_endpoint().unwrap(), None);
        assert_eq!(parse(&["rewind"]).gdb_endpoint().unwrap(), None);
    }

    #[test]
    fn sizes_follow_qemu_units() {
        assert_eq!(parse_size("256M").unwrap(), 256 << 20);
        assert_eq!(parse_size("1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("1T").unwrap(), 1 << 40);
        assert_eq!(parse_size("128").unwrap(), 128 << 20);
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("99999999999999G").is_err());
    }

    #[test]
    fn drives_keep_writes_in_memory_unless_snapshot_is_off() {
        let d = parse_drive("file=disk.img,format=raw,if=virtio").unwrap();
        assert_eq!(
            d,
            DriveSpec {
                file: "disk.img".into(),
                read_only: false,
                snapshot: true,
                id: None,
                detached: false,
                pflash: false,
                unit: None
            }
        );
        let d = parse_drive("file=bank.img,if=pflash,index=1").unwrap();
        let args = normalize_args(["rewind", "-pflash", "a.img", "-m", "1G"].map(String::from)).unwrap();
        assert_eq!(args, ["rewind", "--drive", "file=a.img,if=pflash,format=raw", "-m", "1G"]);
        assert_eq!((d.pflash, d.unit, d.detached), (true, Some(1), false));
        let d = parse_drive("file=disk.img,snapshot=off").unwrap();
        assert!(!d.snapshot);
        assert!(parse_drive("file=x,format=qcow2").is_err());
        assert!(parse_drive("format=raw").is_err());
    }

    #[test]
    fn mtree_hides_the_options_it_ignores_and_still_accepts_them() {
        let mut cli = <Cli as clap::CommandFactory>::command();
        let mtree = cli.find_subcommand_mut("mtree").unwrap();
        let listed: Vec<String> =
            mtree.get_arguments().filter(|a| !a.is_hide_set()).map(|a| a.get_id().to_string()).collect();
        for id in RUN_ONLY {
            assert!(mtree.get_arguments().any(|a| a.get_id() == id), "mtree has no argument {id}");
            assert!(!listed.contains(&id.to_string()), "mtree --help lists {id}");
        }
        for id in ["machine", "memory", "smp", "bios", "kernel", "initrd", "drives", "devices"] {
            assert!(listed.contains(&id.to_string()), "mtree --help lacks {id}");
        }
        let args = normalize_args(["rewind", "mtree", "--stats", "-S", "-m", "64M"].map(String::from)).unwrap();
        assert!(Cli::try_parse_from(args).is_ok());
    }

    #[test]
    fn machine_spec_takes_qemus_dumpdtb() {
        assert_eq!(parse_machine("virt").unwrap(), MachineSpec { kind: "virt".into(), dump_dtb: None });
        let spec = parse_machine("virt,dumpdtb=/tmp/x.dtb").unwrap();
        assert_eq!(spec.dump_dtb, Some(PathBuf::from("/tmp/x.dtb")));
        assert_eq!(parse_machine("type=virt").unwrap().kind, "virt");
        for bad in ["sifive_u", "virt,aclint=on", "virt,dumpdtb="] {
            assert!(parse_machine(bad).is_err(), "{bad}");
        }
    }
}
