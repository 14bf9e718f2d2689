//! `rewind record` and `rewind replay`: a recording's header (the machine options and the images, found again
//! by content hash), then a run whose inputs the session logs ([`InputPath::Record`]) or takes from the log
//! ([`InputPath::Replay`]).

use crate::cli::{Cli, MachineArgs};
use crate::session::judge::Outcome;
use crate::session::InputPath;
use crate::term;
use crate::verdict::{Ended, LoadFailed};
use anyhow::{bail, Context, Result};
use clap::Parser;
use rewind_machines::virt::DEFAULT_FIRMWARE;
use rewind_machines::virtio::SaveOriginal;
use rewind_replay::log::sha256_hex;
use rewind_replay::{load, Header, ImageHash, Loaded, LogReader, LogWriter, Record, Recorder};
use std::path::{Path, PathBuf};

/// Instructions between two state hashes in a recording.
const HASH_EVERY: u64 = 10_000_000;

/// The images a configuration loads, with their roles.
fn images(args: &MachineArgs) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    match args.bios.as_str() {
        "none" => {}
        "default" => out.push(("bios".to_string(), PathBuf::from(DEFAULT_FIRMWARE))),
        path => out.push(("bios".to_string(), PathBuf::from(path))),
    }
    if let Some(k) = &args.kernel {
        out.push(("kernel".into(), k.clone()));
    }
    if let Some(i) = &args.initrd {
        out.push(("initrd".into(), i.clone()));
    }
    for (i, d) in args.drives.iter().enumerate() {
        out.push((format!("drive{i}"), crate::cli::parse_drive(d)?.file));
    }
    Ok(out)
}

/// The options of `rewind record` itself, which are not machine options, and whether each takes a value.
const RECORD_OPTIONS: &[(&str, bool)] = &[
    ("-o", true),
    ("--output", true),
    // The verdict's options: how this run was judged, which its replay does not repeat (it ends where the
    // recording does).
    ("--fail-on", true),
    ("--fail-silent", true),
    ("--expect", true),
    ("--timeout", true),
    ("--on-timeout", true),
    ("--verdict-json", true),
    ("--bundle", false),
    // Front-end options: how this run was watched, not what the machine was.
    ("--tui", false),
    ("--symbols", true),
];

/// The machine options of a `record` command line: everything after `record` but `record`'s own options.
pub fn machine_argv(argv: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = argv.iter().skip_while(|a| a.as_str() != "record").skip(1);
    while let Some(a) = it.next() {
        let name = a.split_once('=').map_or(a.as_str(), |(n, _)| n);
        match RECORD_OPTIONS.iter().find(|(o, _)| *o == name) {
            Some((_, true)) if !a.contains('=') => {
                it.next();
            }
            Some(_) => {}
            None => out.push(a.clone()),
        }
    }
    out
}

/// `rewind record`'s own options.
pub struct RecordOptions {
    pub output: PathBuf,
    /// Embed the images, so the recording replays anywhere (`--bundle`).
    pub bundle: bool,
}

/// `rewind record -o FILE <machine options>`.
pub fn record(args: &MachineArgs, argv: &[String], options: RecordOptions) -> Result<Ended> {
    let mut hashes = Vec::new();
    let roles = images(args)?;
    for (role, path) in &roles {
        hashes.push(ImageHash::of_file(role, path).map_err(|e| LoadFailed(format!("{e:#}")))?);
    }
    let header = Header {
        machine_args: machine_argv(argv),
        images: hashes,
        writer: format!("rewind {}", env!("REWIND_VERSION")),
        bundled: options.bundle,
    };
    let output = &options.output;
    let log = LogWriter::create(output, &header)?;
    if options.bundle {
        for (index, (_, path)) in roles.iter().enumerate() {
            let data = std::fs::read(path).with_context(|| format!("--bundle: cannot read {}", path.display()))?;
            log.embed_image(index as u32, &data)?;
        }
    }
    // A writable drive changes its image: keep what the run overwrites, so the replay can rebuild its start.
    let sink = log.sink();
    let drive_images: Vec<u32> = (0..args.drives.len())
        .map(|d| roles.iter().position(|(role, _)| *role == format!("drive{d}")).unwrap_or(0) as u32)
        .collect();
    let originals = move |drive: usize| -> SaveOriginal {
        let sink = sink.clone();
        let image = drive_images.get(drive).copied().unwrap_or(0);
        Box::new(move |offset, data| {
            sink.write_frame(&[Record::DiskOriginal { image, offset, data: data.to_vec() }])
                .map_err(|e| std::io::Error::other(e.to_string()))
        })
    };
    let recorder = Box::new(Recorder::new(log, HASH_EVERY));
    let ended = crate::launch::run_with(args, InputPath::Record(recorder), Some(&originals))?;
    let file = output.display();
    if matches!(ended.outcome, Some(Outcome::Failed(_))) {
        term::line(&format!("rewind: the failure is recorded in {file}. Replay it with:"));
        term::line(&format!("    rewind replay {file}"));
        term::line("and debug it, backwards too, with:");
        term::line(&format!("    rewind replay {file} -s -S"));
        term::line(
            "    gdb-multiarch vmlinux -x debugger/gdb/rewind.gdb -ex 'target remote :1234' -ex 'rewind-goto N' \
             (N from above)",
        );
        if !options.bundle {
            term::line(
                "For a bug report, record with --bundle: the file then carries its images and replays anywhere.",
            );
        }
    } else {
        term::line(&format!("rewind: recording written to {file}; replay it with: rewind replay {file}"));
    }
    Ok(ended)
}

/// `rewind replay`'s own options.
#[derive(Default)]
pub struct ReplayOptions {
    pub gdb_default: bool,
    pub gdb: Option<String>,
    pub freeze: bool,
    /// Where to look for images the recording does not embed, by content hash.
    pub image_dir: Option<PathBuf>,
    pub tui: bool,
    pub symbols: Option<PathBuf>,
    /// `rewind query`: monitor commands to answer at the end of the replay (at its start with `query_at_start`).
    pub query: Vec<String>,
    pub query_at_start: bool,
    pub log: LogOptions,
}

/// The replay's own `-d`, `-D` and `-dfilter`.
#[derive(Default)]
pub struct LogOptions {
    pub items: Option<String>,
    pub file: Option<PathBuf>,
    pub filter: Option<String>,
}

/// `rewind replay FILE`: re-executes a recording with no further input and checks it stays on the recorded path.
/// With gdb options the replay runs under the gdb server, which can also run it backwards.
pub fn replay(file: &Path, options: ReplayOptions) -> Result<i32> {
    let (header, log) = LogReader::open(file)?;
    let mut argv = vec!["rewind".to_string()];
    argv.extend(header.machine_args.iter().cloned());
    let cli = Cli::try_parse_from(crate::cli::normalize_args(argv).map_err(anyhow::Error::msg)?)
        .with_context(|| format!("{}: the recorded machine options do not parse", file.display()))?;
    let loaded = load(log);
    let scratch = Scratch::new()?;
    let finder =
        ImageFinder { recording: file, image_dir: options.image_dir.as_deref(), loaded: &loaded, scratch: &scratch };
    let mut args = cli.machine;
    for (index, image) in header.images.iter().enumerate() {
        let writable_drive = image
            .role
            .strip_prefix("drive")
            .and_then(|d| d.parse::<usize>().ok())
            .and_then(|d| args.drives.get(d).map(|spec| (d, spec.clone())))
            .map(|(d, spec)| crate::cli::parse_drive(&spec).map(|s| (d, spec, !s.read_only && !s.snapshot)))
            .transpose()?;
        let found = finder.find(index as u32, image, writable_drive.as_ref().is_some_and(|(_, _, w)| *w))?;
        match (image.role.as_str(), writable_drive) {
            ("bios", _) => args.bios = found.display().to_string(),
            ("kernel", _) => args.kernel = Some(found),
            ("initrd", _) => args.initrd = Some(found),
            (_, Some((d, spec, _))) => args.drives[d] = crate::cli::with_drive_file(&spec, &found),
            (role, None) => bail!("{}: unknown image role '{role}'", file.display()),
        }
    }
    let (events, damage) = (loaded.events, loaded.damage);
    if options.gdb_default || options.gdb.is_some() {
        if let Some(d) = &damage {
            term::line(&format!("rewind: {d}; replaying what is there"));
        }
    }
    // The replay's own gdb options count, not the recorded run's; the recording decides where the run ends.
    let args = MachineArgs {
        gdb_default: options.gdb_default,
        gdb: options.gdb,
        freeze: options.freeze,
        max_insns: None,
        tui: options.tui,
        symbols: options.symbols.or(args.symbols),
        // A query prints answers, not the guest's console.
        serial: if options.query.is_empty() { args.serial } else { "none".into() },
        query: options.query,
        query_at_start: options.query_at_start,
        log_items: options.log.items,
        log_file: options.log.file,
        log_filter: options.log.filter,
        ..args
    };
    let ended = crate::launch::run_with(&args, InputPath::Replay { events, damage }, None);
    drop(scratch);
    ended.map(|e| e.code)
}

/// A directory of the replay's own, removed when the replay ends: images unpacked from a bundle, and private
/// copies of writable disks (a replay never writes the user's images).
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch> {
        let base = std::env::temp_dir();
        for n in 0..1000 {
            let dir = base.join(format!("rewind-replay-{}-{n}", std::process::id()));
            if std::fs::create_dir(&dir).is_ok() {
                return Ok(Scratch(dir));
            }
        }
        bail!("cannot create a scratch directory in {}", base.display())
    }

    fn file(&self, index: u32, image: &ImageHash) -> PathBuf {
        let name = image.path.file_name().map_or_else(|| "image".into(), |n| n.to_string_lossy().into_owned());
        self.0.join(format!("{index}-{name}"))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Finds the images a recording needs: embedded in it, where they were recorded, beside the recording, or in
/// `--image-dir` by content hash.
struct ImageFinder<'a> {
    recording: &'a Path,
    image_dir: Option<&'a Path>,
    loaded: &'a Loaded,
    scratch: &'a Scratch,
}

impl ImageFinder<'_> {
    /// A path holding image `index` as it was when recorded. A writable drive gets a private copy, rebuilt from
    /// the originals the recording kept when the run itself changed the image.
    fn find(&self, index: u32, image: &ImageHash, writable: bool) -> Result<PathBuf> {
        let what = format!(
            "{}: the recording needs its {} image {} (sha256 {}…, {} bytes)",
            self.recording.display(),
            image.role,
            image.path.display(),
            &image.sha256[..16.min(image.sha256.len())],
            image.size
        );
        if let Some(data) = self.loaded.images.get(&index) {
            if sha256_hex(data) != image.sha256 {
                bail!("{what}: the embedded copy is damaged");
            }
            let path = self.scratch.file(index, image);
            std::fs::write(&path, data).with_context(|| format!("cannot write {}", path.display()))?;
            return Ok(path);
        }
        let candidates = self.candidates(image);
        let mut changed = Vec::new();
        for path in &candidates {
            let Ok(data) = std::fs::read(path) else { continue };
            if sha256_hex(&data) == image.sha256 {
                return if writable { self.private_copy(index, image, data) } else { Ok(path.clone()) };
            }
            if writable && data.len() as u64 == image.size {
                if let Some(rebuilt) = self.rebuild(index, data) {
                    return self.private_copy(index, image, rebuilt);
                }
            }
            changed.push(path.display().to_string());
        }
        if !changed.is_empty() {
            bail!(
                "{what}: {} changed since it was recorded; give --image-dir DIR with the original",
                changed.join(", ")
            );
        }
        bail!(
            "{what}: not found (looked at {}); give --image-dir DIR, or record with --bundle",
            candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        )
    }

    /// Where image files may be, most likely first.
    fn candidates(&self, image: &ImageHash) -> Vec<PathBuf> {
        let mut out = vec![image.absolute.clone()];
        if image.path.is_relative() {
            if let Some(dir) = self.recording.parent() {
                out.push(dir.join(&image.path));
            }
        }
        out.push(image.path.clone());
        if let Some(dir) = self.image_dir {
            if let Some(name) = image.path.file_name() {
                out.push(dir.join(name));
            }
            // Any file of the right size in the directory: the hash decides.
            if let Ok(entries) = std::fs::read_dir(dir) {
                let mut others: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok())
                    .filter(|e| e.metadata().is_ok_and(|m| m.is_file() && m.len() == image.size))
                    .map(|e| e.path())
                    .collect();
                others.sort();
                out.extend(others);
            }
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|p| seen.insert(p.clone()));
        out
    }

    /// The disk a recorded run started from: today's contents with what the run overwrote put back.
    fn rebuild(&self, index: u32, mut data: Vec<u8>) -> Option<Vec<u8>> {
        let originals = self.loaded.disk_originals.get(&index)?;
        for (offset, bytes) in originals {
            let start = usize::try_from(*offset).ok()?;
            data.get_mut(start..start.checked_add(bytes.len())?)?.copy_from_slice(bytes);
        }
        Some(data)
    }

    fn private_copy(&self, index: u32, image: &ImageHash, data: Vec<u8>) -> Result<PathBuf> {
        if sha256_hex(&data) != image.sha256 {
            bail!(
                "{}: the {} image {} changed since it was recorded, beyond what the recorded run wrote",
                self.recording.display(),
                image.role,
                image.path.display()
            );
        }
        let path = self.scratch.file(index, image);
        std::fs::write(&path, data).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_options_are_the_record_arguments_without_the_output() {
        let argv: Vec<String> = [
            "rewind",
            "record",
            "-o",
            "x.rwd",
            "-m",
            "64M",
            "--output=y",
            "--fail-on",
            "oops",
            "--bundle",
            "--fail-silent=5",
            "-kernel",
            "k",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(machine_argv(&argv), ["-m", "64M", "-kernel", "k"]);
    }
}
