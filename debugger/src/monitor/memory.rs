//! `x` and `xp`: memory dumps in QEMU's HMP format (`x /8xw 0x80000000`), so output compares line for line with
//! QEMU's monitor, with its sticky defaults: a format or size given once holds until another is given.
//!
//! One difference on purpose: device registers are not read (a read can change a device, and the monitor must
//! not change the guest); a dump that reaches one says `Cannot access memory`, as QEMU does for memory it cannot
//! read. Unmapped physical addresses read as zero, as in QEMU.

use crate::symbols::Symbols;
use rewind::memory::FlatTarget;
use rewind::Machine;
use std::fmt::Write;

/// The format and unit size the next dump uses when the command gives none (QEMU starts with `x`, 4 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DumpDefaults {
    format: char,
    size: u8,
}

impl Default for DumpDefaults {
    fn default() -> Self {
        DumpDefaults { format: 'x', size: 4 }
    }
}

/// What one `x`/`xp` command asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Dump {
    count: u64,
    format: char,
    size: u8,
}

/// Parses `/[count][format][size]` (format `x d u o c i`, size `b h w g`), updating the sticky defaults.
fn parse_spec(spec: Option<&str>, defaults: &mut DumpDefaults) -> Result<Dump, String> {
    let Some(spec) = spec else {
        return Ok(Dump { count: 1, format: defaults.format, size: defaults.size });
    };
    let digits: String = spec.chars().take_while(|c| c.is_ascii_digit()).collect();
    let count = if digits.is_empty() { 1 } else { digits.parse().map_err(|_| format!("bad count '{digits}'"))? };
    let (mut format, mut size) = (None, None);
    for c in spec[digits.len()..].chars() {
        match c {
            'x' | 'd' | 'u' | 'o' | 'c' | 'i' => format = Some(c),
            'b' => size = Some(1),
            'h' => size = Some(2),
            'w' => size = Some(4),
            'g' => size = Some(8),
            _ => return Err(format!("invalid char in format: '{c}'")),
        }
    }
    defaults.format = format.unwrap_or(defaults.format);
    defaults.size = size.unwrap_or(defaults.size);
    Ok(Dump { count, format: defaults.format, size: defaults.size })
}

/// A number as QEMU's monitor reads one (`0x` hex, a leading `0` octal, else decimal), `$pc` / `$<register>`
/// of hart `hart`, or a symbol with an optional offset (`start_kernel`, `start_kernel+0x10`).
pub fn parse_address(machine: &Machine, hart: usize, symbols: Option<&Symbols>, text: &str) -> Result<u64, String> {
    let bad = || format!("invalid address '{text}'");
    if text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '.') {
        let (name, offset) = match text.split_once('+') {
            Some((name, off)) => (name, parse_address(machine, hart, None, off)?),
            None => (text, 0),
        };
        let symbols =
            symbols.ok_or_else(|| format!("no symbols to find '{name}' in (--symbols FILE, or symbols FILE)"))?;
        let addr = symbols.address_of(name).ok_or_else(|| format!("no symbol '{name}'"))?;
        return Ok(addr.wrapping_add(offset));
    }
    if let Some(reg) = text.strip_prefix('$') {
        let h = machine.hart(hart).ok_or_else(|| format!("no hart {hart}"))?;
        if reg == "pc" {
            return Ok(h.pc);
        }
        let names = rewind::arch::riscv::regs::X_NAMES;
        let index = names.iter().position(|n| *n == reg).or_else(|| reg.strip_prefix('x')?.parse().ok());
        return index.and_then(|i| h.x.get(i).copied()).ok_or_else(|| format!("unknown register '${reg}'"));
    }
    let text = text.replace('_', "");
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).map_err(|_| bad())
    } else if text.len() > 1 && text.starts_with('0') {
        u64::from_str_radix(&text[1..], 8).map_err(|_| bad())
    } else {
        text.parse().map_err(|_| bad())
    }
}

/// Most bytes `memsave`/`pmemsave` write: the largest RAM the `virt` board takes.
const MAX_SAVE: u64 = 64 << 30;

/// Most bytes one command dumps: a typo in the count must not print for minutes.
const MAX_DUMP: u64 = 1 << 20;

/// `x` (`physical` false: through hart `hart`'s MMU) or `xp`: `args` are `[/spec] address`.
pub fn dump(
    machine: &Machine,
    hart: usize,
    symbols: Option<&Symbols>,
    physical: bool,
    defaults: &mut DumpDefaults,
    args: &[&str],
) -> Result<String, String> {
    let usage = if physical { "usage: xp /fmt addr" } else { "usage: x /fmt addr" };
    let (spec, addr) = match args {
        [addr] if !addr.starts_with('/') => (None, *addr),
        [spec, addr] if spec.starts_with('/') => (Some(&spec[1..]), *addr),
        _ => return Err(usage.into()),
    };
    let d = parse_spec(spec, defaults)?;
    let mut addr = parse_address(machine, hart, symbols, addr)?;
    if d.format == 'i' {
        return Ok(instructions(machine, hart, symbols, physical, addr, d.count.min(MAX_DUMP / 4)));
    }
    let mut len = u64::from(d.size).saturating_mul(d.count);
    if len > MAX_DUMP {
        return Err(format!("at most {MAX_DUMP} bytes at a time"));
    }
    // As QEMU: a byte-sized dump has 8 units a line, any other 16 bytes; `c` prints bytes whatever the size.
    let line_size = if d.size == 1 { 8 } else { 16 };
    let (format, size) = (d.format, if d.format == 'c' { 1 } else { d.size });
    let bits = u32::from(d.size) * 8;
    let digits = match format {
        'o' => (bits as usize).div_ceil(3),
        'u' | 'd' => (bits as usize * 10).div_ceil(33),
        _ => bits as usize / 4,
    };
    let mut out = String::new();
    while len > 0 {
        let _ = write!(out, "{addr:016x}:");
        let l = len.min(line_size);
        let Some(bytes) = read_memory(machine, hart, physical, addr, l as usize) else {
            out.push_str(" Cannot access memory\n");
            break;
        };
        for unit in bytes.chunks(size as usize) {
            let mut word = [0u8; 8];
            word[..unit.len()].copy_from_slice(unit);
            let v = u64::from_le_bytes(word);
            out.push(' ');
            let _ = match format {
                'o' if v == 0 => write!(out, "{:>digits$}", "0"),
                'o' => write!(out, "{:>digits$}", format!("0{v:o}")),
                'u' => write!(out, "{v:>digits$}"),
                'd' => write!(out, "{:>digits$}", signed(v, size)),
                'c' => write!(out, "{}", char_literal(v as u8)),
                _ => write!(out, "0x{v:0digits$x}"),
            };
        }
        out.push('\n');
        addr = addr.wrapping_add(l);
        len -= l;
    }
    Ok(out)
}

/// `memsave addr size file` (`physical` false: through hart `hart`'s MMU) or `pmemsave`: writes `size` bytes of
/// memory to `file`, as QEMU does. If some byte cannot be read, no file is left behind.
pub fn save(
    machine: &Machine,
    hart: usize,
    symbols: Option<&Symbols>,
    physical: bool,
    args: &[&str],
) -> Result<String, String> {
    let usage = if physical { "usage: pmemsave addr size file" } else { "usage: memsave addr size file" };
    let [addr, size, file] = args else { return Err(usage.into()) };
    let addr = parse_address(machine, hart, symbols, addr)?;
    let size = parse_address(machine, hart, None, size)?;
    if size > MAX_SAVE {
        return Err(format!("at most {MAX_SAVE} bytes at a time (the largest RAM the board takes)"));
    }
    // QEMU takes the file name quoted or not.
    let file = file.trim_matches('"');
    let mut out = std::fs::File::create(file).map_err(|e| format!("could not open '{file}': {e}"))?;
    let written = write_memory(machine, hart, physical, addr, size, &mut out);
    if written.is_err() {
        // Nothing half-written stays behind.
        let _ = std::fs::remove_file(file);
    }
    written.map(|()| String::new())
}

/// Writes `size` bytes of memory at `addr` to `out`, a chunk at a time (a large save never sits in host memory
/// whole).
fn write_memory(
    machine: &Machine,
    hart: usize,
    physical: bool,
    addr: u64,
    size: u64,
    out: &mut impl std::io::Write,
) -> Result<(), String> {
    let mut done = 0;
    while done < size {
        let chunk = (size - done).min(1 << 16) as usize;
        let at = addr.wrapping_add(done);
        let part = read_memory(machine, hart, physical, at, chunk)
            .ok_or_else(|| format!("Cannot access memory at {at:#x}"))?;
        out.write_all(&part).map_err(|e| format!("writing the file: {e}"))?;
        done += chunk as u64;
    }
    Ok(())
}

/// QEMU prints a `d` unit of 8 bytes signed and smaller ones as the unsigned value it loaded.
fn signed(v: u64, size: u8) -> i128 {
    if size == 8 {
        i128::from(v as i64)
    } else {
        i128::from(v)
    }
}

/// The instruction at `addr`: four bytes, or the two that can be read where only a compressed instruction fits
/// (at the end of mapped memory), as a little-endian word.
pub fn read_instruction(machine: &Machine, hart: usize, physical: bool, addr: u64) -> Option<u32> {
    let bytes =
        read_memory(machine, hart, physical, addr, 4).or_else(|| read_memory(machine, hart, physical, addr, 2))?;
    let mut word = [0u8; 4];
    word[..bytes.len()].copy_from_slice(&bytes);
    Some(u32::from_le_bytes(word))
}

/// `x/Ni`: `count` instructions from `addr`, in objdump's syntax, each with its encoding (and `<symbol+off>` where
/// symbols are loaded).
fn instructions(
    machine: &Machine,
    hart: usize,
    symbols: Option<&Symbols>,
    physical: bool,
    mut addr: u64,
    count: u64,
) -> String {
    let mut out = String::new();
    for _ in 0..count {
        let Some(raw) = read_instruction(machine, hart, physical, addr) else {
            let _ = writeln!(out, "{addr:016x}: Cannot access memory");
            break;
        };
        let (len, text) = rewind::arch::riscv::disasm::disassemble(raw, addr);
        let encoding = if len == 2 { format!("{:04x}", raw & 0xffff) } else { format!("{raw:08x}") };
        let place = crate::symbols::describe(symbols, addr).map(|d| format!(" <{d}>")).unwrap_or_default();
        let _ = writeln!(out, "{addr:016x}{place}:  {encoding:<8}  {text}");
        addr = addr.wrapping_add(u64::from(len));
    }
    out
}

/// A byte as QEMU's monitor quotes it: `'a'`, `'\n'`, `'\x04'`.
fn char_literal(c: u8) -> String {
    match c {
        b'\'' => "'\\''".into(),
        b'\\' => "'\\\\'".into(),
        b'\n' => "'\\n'".into(),
        b'\r' => "'\\r'".into(),
        32..=126 => format!("'{}'", c as char),
        _ => format!("'\\x{c:02x}'"),
    }
}

/// Whether `addr` (virtual or physical) is backed by RAM, a ROM or a device.
pub fn mapped(machine: &Machine, hart: usize, physical: bool, addr: u64) -> bool {
    let pa = if physical { Some(addr) } else { machine.translate(hart, addr) };
    pa.is_some_and(|pa| machine.flat_view().resolve(pa).is_some())
}

/// `len` bytes at `addr`, virtual or physical; `None` where a byte cannot be read without side effects.
pub fn read_memory(machine: &Machine, hart: usize, physical: bool, addr: u64, len: usize) -> Option<Vec<u8>> {
    let mut bytes = vec![0u8; len];
    for (i, byte) in bytes.iter_mut().enumerate() {
        let va = addr.checked_add(i as u64)?;
        let pa = if physical { va } else { machine.translate(hart, va)? };
        match machine.flat_view().resolve(pa) {
            None => *byte = 0,
            Some(FlatTarget::Io { .. }) => return None,
            Some(_) => machine.read_phys(pa, std::slice::from_mut(byte))?,
        }
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> Machine {
        let mut b = rewind::MachineBuilder::new(1, "ram", 0x8000_0000, 0x10000).unwrap();
        b.ram_mut().write(0x8000_0000, &[0x33, 0x04, 0x05, 0x00, 0xb3, 0x84, 0x05, 0x00, b'\n', b'\'']).unwrap();
        b.build()
    }

    #[test]
    fn formats_and_sticky_defaults_follow_qemu() {
        let m = machine();
        let mut d = DumpDefaults::default();
        let mut x = |args: &[&str]| dump(&m, 0, None, true, &mut d, args).unwrap();
        assert_eq!(x(&["/2xw", "0x80000000"]), "0000000080000000: 0x00050433 0x000584b3\n");
        assert_eq!(x(&["/1xg", "0x80000000"]), "0000000080000000: 0x000584b300050433\n");
        assert_eq!(x(&["0x80000000"]), "0000000080000000: 0x000584b300050433\n", "size g sticks");
        assert_eq!(x(&["/2h", "0x80000002"]), "0000000080000002: 0x0005 0x84b3\n");
        assert_eq!(
            x(&["/9xb", "0x80000000"]),
            "0000000080000000: 0x33 0x04 0x05 0x00 0xb3 0x84 0x05 0x00\n0000000080000008: 0x0a\n"
        );
        assert_eq!(x(&["/2dw", "0x80000000"]), "0000000080000000:     328755     361651\n");
        assert_eq!(x(&["/1ow", "0x80000000"]), "0000000080000000:    01202063\n");
        // As QEMU: `c` prints count * size bytes, here 2 * 4 (size w is sticky).
        assert_eq!(
            x(&["/2c", "0x80000008"]),
            "0000000080000008: '\\n' '\\'' '\\x00' '\\x00' '\\x00' '\\x00' '\\x00' '\\x00'\n"
        );
        assert_eq!(x(&["/3cb", "0x80000008"]), "0000000080000008: '\\n' '\\'' '\\x00'\n");
        assert_eq!(x(&["/1xw", "0x7ffffffc"]), "000000007ffffffc: 0x00000000\n", "unmapped reads as zero");
    }

    #[test]
    fn pmemsave_writes_the_bytes_and_refuses_what_it_cannot_read() {
        let m = machine();
        let file = std::env::temp_dir().join(format!("rewind-pmemsave-{}.bin", std::process::id()));
        let name = file.to_str().unwrap();
        assert_eq!(save(&m, 0, None, true, &["0x80000000", "10", name]).unwrap(), "");
        assert_eq!(std::fs::read(&file).unwrap(), [0x33, 0x04, 0x05, 0x00, 0xb3, 0x84, 0x05, 0x00, b'\n', b'\'']);
        let _ = std::fs::remove_file(&file);
        assert!(save(&m, 0, None, true, &["0x80000000", "10", "/nonexistent/dir/file"])
            .unwrap_err()
            .contains("could not open"));
        assert!(save(&m, 0, None, true, &["0x80000000", "10"]).is_err());
        assert!(save(&m, 0, None, true, &["0", "0xffffffffffffffff", name]).unwrap_err().contains("at most"));
        assert!(!file.exists(), "a refused save writes nothing");
    }

    #[test]
    fn x_i_disassembles_as_objdump_does() {
        let m = machine();
        let mut d = DumpDefaults::default();
        let text = dump(&m, 0, None, true, &mut d, &["/2i", "0x80000000"]).unwrap();
        assert_eq!(text, "0000000080000000:  00050433  add s0,a0,zero\n0000000080000004:  000584b3  add s1,a1,zero\n");
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let m = machine();
        let mut d = DumpDefaults::default();
        for args in [&["/8q", "0"][..], &["/8xw"], &[], &["/9999999999999999999xw", "0"], &["zzz"], &["$nope"]] {
            assert!(dump(&m, 0, None, true, &mut d, args).is_err(), "{args:?}");
        }
        assert_eq!(d, DumpDefaults::default(), "a bad command leaves the defaults");
        assert_eq!(parse_address(&m, 0, None, "$pc").unwrap(), 0x8000_0000);
        assert_eq!(parse_address(&m, 0, None, "010").unwrap(), 8, "octal, as QEMU");
    }
}
