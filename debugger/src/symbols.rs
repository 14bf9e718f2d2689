//! A guest's symbol table for the front ends: `name+0x1c` for an address (the TUI's disassembly pane, the
//! monitor), an address for a name, completion of names, and source lines from the DWARF line table.
//!
//! The ELF is read with `object` and the DWARF with `addr2line` (through the `gimli` it re-exports); nothing here
//! parses either format by hand.

use addr2line::gimli;
use anyhow::{bail, Context as _, Result};
use object::{Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind, SymbolSection};
use std::borrow::Cow;
use std::io::Read as _;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

/// DWARF sections as slices of the file's bytes, shared without copying.
type Reader = gimli::EndianArcSlice<gimli::RunTimeEndian>;

/// The symbols of one ELF file and, when it has one, its DWARF line table.
pub struct Symbols {
    /// Every kept symbol, by address; at one address the preferred symbol comes first (see `Entry::rank`).
    by_addr: Vec<Entry>,
    /// Indices into `by_addr`, by name; among equal names the preferred symbol comes first.
    by_name: Vec<u32>,
    /// The symbols' names, back to back; an entry holds its range.
    names: String,
    /// Source lines; None when the file has no DWARF. addr2line parses a unit's line program on first use and
    /// caches it in cells that are not `Sync`; the lock makes `Symbols` shareable between threads.
    lines: Option<Mutex<addr2line::Context<Reader>>>,
    /// Call-frame information, for backtraces.
    frames: Option<crate::unwind::FrameTable>,
}

struct Entry {
    addr: u64,
    /// One past the last address the symbol covers: `addr + st_size`, or for a symbol without a size the end of
    /// its section (the symbol reaches to the next one).
    end: u64,
    name_start: u32,
    name_len: u32,
    /// Lower is preferred: global before local, function or object before a bare label, sized before unsized.
    rank: u8,
}

impl Entry {
    fn rank(global: bool, typed: bool, sized: bool) -> u8 {
        (u8::from(!global) << 2) | (u8::from(!typed) << 1) | u8::from(!sized)
    }
}

impl Symbols {
    /// Loads an ELF file's symbols (functions, objects and labels in its sections) and indexes its DWARF line
    /// table, whose line programs are parsed on first use.
    pub fn load(path: &Path) -> Result<Symbols> {
        let data = read_shared(path).with_context(|| format!("cannot read symbols from '{}'", path.display()))?;
        let file = match object::FileKind::parse(&*data) {
            Ok(object::FileKind::Elf32 | object::FileKind::Elf64) => {
                object::File::parse(&*data).with_context(|| format!("'{}' is not a valid ELF file", path.display()))?
            }
            _ => bail!("'{}' is not an ELF file", path.display()),
        };

        let mut by_addr = Vec::new();
        let mut names = String::new();
        for sym in file.symbols() {
            let typed = match sym.kind() {
                SymbolKind::Text | SymbolKind::Data => true,
                SymbolKind::Unknown => false,
                _ => continue,
            };
            let SymbolSection::Section(index) = sym.section() else { continue };
            let Ok(name) = sym.name() else { continue };
            if !useful_name(name) {
                continue;
            }
            let Ok(section) = file.section_by_index(index) else { continue };
            let (Ok(name_start), Ok(name_len)) = (u32::try_from(names.len()), u32::try_from(name.len())) else {
                bail!("'{}': symbol names too long", path.display());
            };
            let addr = sym.address();
            let end = if sym.size() > 0 {
                addr.saturating_add(sym.size())
            } else {
                section.address().saturating_add(section.size()).max(addr.saturating_add(1))
            };
            names.push_str(name);
            by_addr.push(Entry {
                addr,
                end,
                name_start,
                name_len,
                rank: Entry::rank(sym.is_global(), typed, sym.size() > 0),
            });
        }
        if by_addr.is_empty() {
            bail!("'{}' has no symbols (stripped?)", path.display());
        }
        let name = |e: &Entry| &names[e.name_start as usize..][..e.name_len as usize];
        by_addr.sort_unstable_by(|a, b| (a.addr, a.rank, name(a)).cmp(&(b.addr, b.rank, name(b))));
        let Ok(count) = u32::try_from(by_addr.len()) else { bail!("'{}': too many symbols", path.display()) };
        let mut by_name: Vec<u32> = (0..count).collect();
        by_name.sort_unstable_by(|&a, &b| {
            let (a, b) = (&by_addr[a as usize], &by_addr[b as usize]);
            (name(a), a.rank, a.addr).cmp(&(name(b), b.rank, b.addr))
        });

        let lines = if file.section_by_name(".debug_info").is_some() {
            let dwarf = load_dwarf(&file, &data);
            let context =
                addr2line::Context::from_dwarf(dwarf).with_context(|| format!("'{}': bad DWARF", path.display()))?;
            Some(Mutex::new(context))
        } else {
            None
        };
        let frames = crate::unwind::FrameTable::load(&file, &data);
        Ok(Symbols { by_addr, by_name, names, lines, frames })
    }

    /// The symbol containing `addr` and the offset into it. A symbol with a size contains just its bytes; one
    /// without a size reaches to the next symbol (or the end of its section).
    pub fn lookup(&self, addr: u64) -> Option<(&str, u64)> {
        let end = self.by_addr.partition_point(|e| e.addr <= addr);
        let at = self.by_addr[..end].last()?.addr;
        let start = self.by_addr[..end].partition_point(|e| e.addr < at);
        let e = self.by_addr[start..end].iter().find(|e| addr < e.end)?;
        Some((self.name(e), addr - e.addr))
    }

    /// A symbol's address by its exact name (a global one when several share the name).
    pub fn address_of(&self, name: &str) -> Option<u64> {
        let i = self.by_name.partition_point(|&i| self.name_at(i) < name);
        let &i = self.by_name.get(i)?;
        (self.name_at(i) == name).then(|| self.by_addr[i as usize].addr)
    }

    /// The source file (its path as the DWARF names it) and line of the code at `addr`, when the file has DWARF
    /// line information for it.
    pub fn source_line(&self, addr: u64) -> Option<(String, u32)> {
        let lines = self.lines.as_ref()?.lock().unwrap_or_else(PoisonError::into_inner);
        let location = lines.find_location(addr).ok()??;
        Some((location.file?.to_string(), location.line?))
    }

    /// The return addresses of the frames above the one at `pc` (see [`crate::unwind::FrameTable::callers`]);
    /// empty without call-frame information.
    pub fn callers(&self, pc: u64, regs: &[u64; 32], read: &crate::unwind::ReadU64<'_>) -> Vec<u64> {
        self.frames.as_ref().map_or_else(Vec::new, |f| f.callers(pc, regs, read))
    }

    /// The distinct names starting with `prefix`, sorted, at most `n` of them (for command-line completion).
    pub fn complete(&self, prefix: &str, n: usize) -> Vec<&str> {
        let start = self.by_name.partition_point(|&i| self.name_at(i) < prefix);
        let mut out: Vec<&str> = Vec::new();
        for name in self.by_name[start..].iter().map(|&i| self.name_at(i)).take_while(|s| s.starts_with(prefix)) {
            if out.last() != Some(&name) {
                if out.len() == n {
                    break;
                }
                out.push(name);
            }
        }
        out
    }

    /// The number of symbols kept.
    pub fn len(&self) -> usize {
        self.by_addr.len()
    }

    fn name(&self, e: &Entry) -> &str {
        &self.names[e.name_start as usize..][..e.name_len as usize]
    }

    fn name_at(&self, i: u32) -> &str {
        self.name(&self.by_addr[i as usize])
    }
}

/// Formats `addr` as `name+0x1c`, or `name` at the symbol's start; None without a symbol for it.
pub fn describe(symbols: Option<&Symbols>, addr: u64) -> Option<String> {
    let (name, offset) = symbols?.lookup(addr)?;
    Some(if offset == 0 { name.to_string() } else { format!("{name}+{offset:#x}") })
}

/// The whole file, read straight into memory that the DWARF readers share (not into a `Vec` and then copied: this
/// is most of the load time of a kernel).
fn read_shared(path: &Path) -> std::io::Result<Arc<[u8]>> {
    let mut file = std::fs::File::open(path)?;
    let len = usize::try_from(file.metadata()?.len()).map_err(std::io::Error::other)?;
    // From an iterator of known length, the Arc is allocated once and filled in place.
    let mut data: Arc<[u8]> = std::iter::repeat_n(0, len).collect();
    let buf = Arc::get_mut(&mut data).ok_or_else(|| std::io::Error::other("buffer already shared"))?;
    file.read_exact(buf)?;
    Ok(data)
}

/// False for names that do not help find code or data: empty ones, assembler-local labels (`.L...`, also with the
/// prefix the EFI stub's objcopy adds: `__efistub_.LASF12`) and mapping symbols (`$x`, `$d`, `$xrv64i2p1...` on
/// RISC-V).
fn useful_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with(".L") && !name.contains("_.L") && !name.starts_with('$')
}

/// The DWARF sections of `file`, sharing `data`'s bytes; a section that is missing or cannot be read is empty.
fn load_dwarf(file: &object::File, data: &Arc<[u8]>) -> gimli::Dwarf<Reader> {
    let endian = if file.is_little_endian() { gimli::RunTimeEndian::Little } else { gimli::RunTimeEndian::Big };
    let whole = Reader::new(data.clone(), endian);
    let section = |id: gimli::SectionId| -> Result<Reader, std::convert::Infallible> {
        let empty = whole.range(0..0);
        let Some(section) = file.section_by_name(id.name()) else { return Ok(empty) };
        if section.kind() == SectionKind::UninitializedData {
            return Ok(empty);
        }
        let Ok(range) = section.compressed_file_range() else { return Ok(empty) };
        if range.format == object::CompressionFormat::None {
            let end = range.offset.checked_add(range.uncompressed_size);
            return Ok(match (usize::try_from(range.offset), end.and_then(|e| usize::try_from(e).ok())) {
                (Ok(start), Some(end)) if end <= data.len() => whole.range(start..end),
                _ => empty,
            });
        }
        // A compressed section (SHF_COMPRESSED) is unpacked into its own buffer, when object can.
        Ok(match section.uncompressed_data() {
            Ok(Cow::Borrowed(bytes)) => Reader::new(Arc::from(bytes), endian),
            Ok(Cow::Owned(bytes)) => Reader::new(Arc::from(bytes), endian),
            Err(_) => empty,
        })
    };
    match gimli::Dwarf::load(section) {
        Ok(dwarf) => dwarf,
        Err(e) => match e {},
    }
}

#[cfg(test)]
#[path = "../../tests/common/vmlinux.rs"]
mod test_vmlinux;

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::process::Command;
    use std::sync::OnceLock;
    use std::time::Instant;

    /// The test kernel, unpacked once into the temp directory (and reused while it is newer than the archive);
    /// None, with the reason printed, when the archive is not there.
    fn vmlinux() -> Option<&'static Path> {
        static PATH: OnceLock<Option<PathBuf>> = OnceLock::new();
        let path = PATH.get_or_init(|| {
            let packed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/guests/vmlinux.zst");
            if !packed.exists() {
                eprintln!("skipped: no test kernel at {}", packed.display());
                return None;
            }
            Some(test_vmlinux::unpack_vmlinux(&packed))
        });
        path.as_deref()
    }

    fn kernel() -> Option<&'static Symbols> {
        static SYMBOLS: OnceLock<Option<Symbols>> = OnceLock::new();
        SYMBOLS.get_or_init(|| vmlinux().map(|p| Symbols::load(p).unwrap())).as_ref()
    }

    /// The binutils tool for RISC-V (`riscv64-linux-gnu-nm`), or the host's, which reads any ELF.
    fn binutils(tool: &str) -> Command {
        let cross = format!("riscv64-linux-gnu-{tool}");
        let found = Command::new(&cross).arg("--version").output().is_ok_and(|o| o.status.success());
        Command::new(if found { cross.as_str() } else { tool })
    }

    struct NmSymbol {
        addr: u64,
        size: Option<u64>,
        kind: char,
        name: String,
    }

    /// `nm -n -S`: the defined symbols by address, with their sizes when they have one.
    fn nm(path: &Path) -> Vec<NmSymbol> {
        let out = binutils("nm").args(["-n", "-S"]).arg(path).output().unwrap();
        assert!(out.status.success(), "nm: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let mut symbols = Vec::new();
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (addr, size, kind, name) = match f[..] {
                [a, s, k, n] => (a, Some(u64::from_str_radix(s, 16).unwrap()), k, n),
                [a, k, n] => (a, None, k, n),
                _ => continue, // undefined: no address
            };
            let kind = kind.chars().next().unwrap();
            symbols.push(NmSymbol { addr: u64::from_str_radix(addr, 16).unwrap(), size, kind, name: name.into() });
        }
        symbols
    }

    /// `addr2line -e path ADDR...`: (file, line) per address, None where it does not know the line.
    fn addr2line_tool(path: &Path, addrs: &[u64]) -> Vec<Option<(String, u32)>> {
        let out =
            binutils("addr2line").arg("-e").arg(path).args(addrs.iter().map(|a| format!("{a:#x}"))).output().unwrap();
        assert!(out.status.success(), "addr2line: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<_> = text
            .lines()
            .map(|l| {
                let l = l.split(" (discriminator").next().unwrap();
                let (file, line) = l.rsplit_once(':').unwrap();
                Some((file.to_string(), line.parse().ok().filter(|&n| n != 0)?))
            })
            .collect();
        assert_eq!(lines.len(), addrs.len(), "{text}");
        lines
    }

    /// The last two components of a path: `init/main.c`.
    fn tail(path: &str) -> String {
        let parts: Vec<&str> = path.rsplit('/').take(2).collect();
        format!("{}/{}", parts[1], parts[0])
    }

    #[test]
    fn start_kernel_matches_nm() {
        let (Some(path), Some(k)) = (vmlinux(), kernel()) else { return };
        let nm = nm(path);
        let sk = nm.iter().find(|s| s.name == "start_kernel" && s.kind == 'T').expect("nm has start_kernel");
        assert_eq!(k.address_of("start_kernel"), Some(sk.addr));
        assert_eq!(k.lookup(sk.addr + 4), Some(("start_kernel", 4)));
        assert_eq!(k.lookup(sk.addr), Some(("start_kernel", 0)));
        assert_eq!(describe(Some(k), sk.addr).as_deref(), Some("start_kernel"));
        assert_eq!(describe(Some(k), sk.addr + 0x1c).as_deref(), Some("start_kernel+0x1c"));
        let size = sk.size.expect("start_kernel has a size");
        assert_eq!(k.lookup(sk.addr + size - 2), Some(("start_kernel", size - 2)));
        assert_ne!(k.lookup(sk.addr + size).map(|(n, _)| n), Some("start_kernel"));
        assert_eq!(k.address_of("start_kerne"), None);
        assert_eq!(k.address_of("no_such_symbol_anywhere"), None);
    }

    #[test]
    fn global_symbols_match_nm() {
        let (Some(path), Some(k)) = (vmlinux(), kernel()) else { return };
        let globals: Vec<_> = nm(path).into_iter().filter(|s| "TDBR".contains(s.kind)).collect();
        assert!(globals.len() > 10_000, "{} global symbols", globals.len());
        assert!(k.len() >= globals.len());
        for s in globals.iter().step_by(37) {
            assert_eq!(k.address_of(&s.name), Some(s.addr), "{}", s.name);
            // Several names may share the address; whichever is chosen starts there.
            let (name, offset) = k.lookup(s.addr).unwrap_or_else(|| panic!("no symbol at {:#x} ({})", s.addr, s.name));
            assert_eq!((k.address_of(name).is_some(), offset), (true, 0), "{:#x}: {name}", s.addr);
        }
    }

    #[test]
    fn an_address_past_a_sized_symbol_has_no_symbol() {
        let (Some(path), Some(k)) = (vmlinux(), kernel()) else { return };
        // A function whose end is followed by padding before the next symbol of any kind.
        let text: Vec<_> = nm(path).into_iter().filter(|s| "Tt".contains(s.kind)).collect();
        let (gap_end, next) = text
            .windows(2)
            .find_map(|w| {
                let end = w[0].addr + w[0].size?;
                (w[0].size? > 0 && end < w[1].addr).then_some((end, &w[1]))
            })
            .expect("a gap after a function");
        assert_eq!(k.lookup(gap_end), None, "{gap_end:#x}");
        assert_eq!(describe(Some(k), gap_end), None);
        assert_eq!(k.lookup(next.addr).map(|(_, o)| o), Some(0));
    }

    #[test]
    fn source_lines_match_addr2line() {
        let (Some(path), Some(k)) = (vmlinux(), kernel()) else { return };
        let start = k.address_of("start_kernel").unwrap();
        let size = nm(path).into_iter().find(|s| s.name == "start_kernel").and_then(|s| s.size).unwrap();
        let addrs: Vec<u64> = (start..start + size).step_by(0x1e).collect();
        let expected = addr2line_tool(path, &addrs);
        let mut compared = 0;
        for (&addr, want) in addrs.iter().zip(&expected) {
            let Some((file, line)) = want else { continue };
            let got = k.source_line(addr);
            let got = got.as_ref().map(|(f, l)| (tail(f), *l));
            assert_eq!(got, Some((tail(file), *line)), "{addr:#x}");
            compared += 1;
        }
        assert!(compared > addrs.len() / 2, "only {compared} of {} addresses had a line", addrs.len());
        let (file, _) = k.source_line(start).unwrap();
        assert!(file.ends_with("init/main.c"), "{file}");
        assert_eq!(k.source_line(0), None);
    }

    #[test]
    fn completion_is_sorted_distinct_and_bounded() {
        let Some(k) = kernel() else { return };
        let names = k.complete("start_", 1000);
        assert!(names.contains(&"start_kernel"), "{names:?}");
        assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
        assert!(names.iter().all(|n| n.starts_with("start_")));
        assert_eq!(k.complete("start_", 2), names[..2]);
        assert_eq!(k.complete("start_kernel", 10).first(), Some(&"start_kernel"));
        assert!(k.complete("start_", 0).is_empty());
        assert!(k.complete("no_such_prefix_anywhere", 10).is_empty());
        assert_eq!(k.complete("", 5).len(), 5);
    }

    #[test]
    fn load_time() {
        let Some(path) = vmlinux() else { return };
        let t = Instant::now();
        let k = Symbols::load(path).unwrap();
        let loaded = t.elapsed();
        let first_line = k.source_line(k.address_of("start_kernel").unwrap());
        eprintln!(
            "vmlinux: {} symbols loaded in {loaded:?}; first source line in {:?} more",
            k.len(),
            t.elapsed() - loaded
        );
        assert!(first_line.is_some());
        if !cfg!(debug_assertions) {
            assert!(loaded.as_secs_f64() < 1.0, "{loaded:?}");
        }
    }

    #[test]
    fn symbols_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Symbols>();
    }

    #[test]
    fn errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("rewind-symbols-errors-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = dir.join("not-an-elf.txt");
        std::fs::write(&text, "hello, world\n").unwrap();
        let e = format!("{:#}", Symbols::load(&text).err().unwrap());
        assert!(e.contains("not-an-elf.txt") && e.contains("not an ELF"), "{e}");
        let missing = dir.join("missing");
        let e = format!("{:#}", Symbols::load(&missing).err().unwrap());
        assert!(e.contains(&*missing.to_string_lossy()), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(describe(None, 0x8020_0000), None);
    }
}
