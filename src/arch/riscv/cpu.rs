//! What kind of hart the machine has: its optional extensions, performance counters and identity registers. One
//! description that `misa`, the device tree's `riscv,isa`, the decoder (an extension turned off decodes as
//! illegal) and the CSRs all follow, spelt as QEMU's `-cpu` spells it.
//!
//! The default is QEMU 7.2's default `rv64` CPU less the hypervisor extension, so a kernel takes the same paths
//! under both.

use super::decode::{fp_format, is_zcb, Insn, Op};
use super::fpu::{is_zfa, FpFmt, FpOp};
use super::trigger::Module as TriggerModule;
use serde::{Deserialize, Serialize};

/// A multi-letter extension rewind implements. The single-letter base (RV64IMAFDC with S and U modes) is always
/// there, and so are Zicsr and Zifencei.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Extension {
    Zicbom,
    Zicbop,
    Zicboz,
    Zicond,
    Zicsr,
    Zifencei,
    Zihintntl,
    Zihintpause,
    Zfh,
    Zfhmin,
    Zba,
    Zbb,
    Zbc,
    Zbs,
    Zkt,
    Sstc,
    Svinval,
    Svnapot,
    Svpbmt,
    // Later additions go last: a recording's configuration stores the bits by position.
    Zawrs,
    Zcb,
    Zfa,
    Smstateen,
    Sdtrig,
    Sscofpmf,
    Zbkb,
}

/// An extension's names and default, in the canonical order of the ISA string.
pub struct ExtensionInfo {
    pub extension: Extension,
    /// Its name in the ISA string, and QEMU's property name (compared without case).
    pub name: &'static str,
    /// Whether QEMU 7.2's `rv64` has it.
    pub qemu_default: bool,
    /// Part of every hart: it cannot be turned off.
    pub always: bool,
    pub description: &'static str,
}

/// The size of a cache block for Zicbom and Zicboz, in bytes (QEMU's default).
pub const CACHE_BLOCK_SIZE: u64 = 64;

const fn ext(extension: Extension, name: &'static str, qemu_default: bool, description: &'static str) -> ExtensionInfo {
    ExtensionInfo { extension, name, qemu_default, always: false, description }
}

/// Every multi-letter extension, in the order the ISA string lists them (Z extensions by the letter they
/// extend, then S extensions alphabetically).
pub const EXTENSIONS: &[ExtensionInfo] = &[
    ext(Extension::Zicbom, "zicbom", false, "cache-block management (cbo.clean, cbo.flush, cbo.inval)"),
    ext(Extension::Zicbop, "zicbop", false, "cache-block prefetch hints"),
    ext(Extension::Zicboz, "zicboz", false, "cache-block zeroing (cbo.zero)"),
    ext(Extension::Zicond, "zicond", false, "conditional zeroing (czero.eqz, czero.nez)"),
    ExtensionInfo { always: true, ..ext(Extension::Zicsr, "zicsr", true, "CSR instructions") },
    ExtensionInfo { always: true, ..ext(Extension::Zifencei, "zifencei", true, "fence.i") },
    ext(Extension::Zihintntl, "zihintntl", false, "non-temporal locality hints"),
    ext(Extension::Zihintpause, "zihintpause", true, "the pause hint"),
    ext(Extension::Zawrs, "zawrs", false, "wait on a reservation set (wrs.nto, wrs.sto)"),
    ext(Extension::Zfa, "zfa", false, "more floating point (fli, fminm, fround, fcvtmod.w.d, fleq, ...)"),
    ext(Extension::Zfh, "zfh", false, "half-precision floating point (implies zfhmin)"),
    ext(Extension::Zfhmin, "zfhmin", false, "half-precision loads, stores, moves and conversions"),
    ext(Extension::Zcb, "zcb", false, "more compressed forms (c.lbu, c.sh, c.zext.b, c.not, c.mul, ...)"),
    ext(Extension::Zba, "zba", true, "address generation (sh1add, add.uw, ...)"),
    ext(Extension::Zbb, "zbb", true, "basic bit manipulation (clz, cpop, rev8, ...)"),
    ext(Extension::Zbc, "zbc", true, "carry-less multiply"),
    ext(Extension::Zbkb, "zbkb", false, "bit manipulation for cryptography (pack, packh, packw, brev8)"),
    ext(Extension::Zbs, "zbs", true, "single-bit operations"),
    ext(Extension::Zkt, "zkt", false, "data-independent execution time (every instruction here)"),
    ext(Extension::Sdtrig, "sdtrig", false, "the full trigger module: every match type, chains, icount, tcontrol"),
    ext(Extension::Smstateen, "smstateen", false, "state-enable CSRs (mstateen0-3, sstateen0-3)"),
    ext(Extension::Sscofpmf, "sscofpmf", false, "counter-overflow interrupts and mode filtering (scountovf)"),
    ext(Extension::Sstc, "sstc", true, "the supervisor timer (stimecmp)"),
    ext(Extension::Svinval, "svinval", false, "fine-grained TLB invalidation (sinval.vma, ...)"),
    ext(Extension::Svnapot, "svnapot", false, "64 KiB NAPOT pages"),
    ext(Extension::Svpbmt, "svpbmt", false, "page-based memory types (menvcfg.PBMTE)"),
];

/// What QEMU puts in `marchid` and `mimpid`: its version, major << 16 | minor << 8 | micro. This is Debian 12's
/// QEMU, 7.2.22, the reference rewind is compared with.
pub const QEMU_VERSION_ID: u64 = (7 << 16) | (2 << 8) | 22;

/// The most `mhpmcounter`s a hart can have (3 to 31).
pub const MAX_PMU_COUNTERS: u8 = 29;

/// The hart's configuration: fixed for a machine's life, the same on every hart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuConfig {
    /// One bit per [`Extension`].
    extensions: u64,
    /// How many of `mhpmcounter3..31` exist, from 3 up (QEMU's `pmu-num`).
    pub pmu_counters: u8,
    /// Whether the hart has Sdtrig's trigger module (QEMU's `debug`).
    pub debug: bool,
    /// The vector registers' width and the widest element, in bits (QEMU's `vlen` and `elen`): kept for the
    /// vector extension, which rewind does not have yet.
    pub vlen: u16,
    pub elen: u8,
    pub mvendorid: u64,
    pub marchid: u64,
    pub mimpid: u64,
}

impl Default for CpuConfig {
    /// QEMU 7.2's `rv64`, less the hypervisor extension.
    fn default() -> CpuConfig {
        let version = QEMU_VERSION_ID;
        let mut cpu = CpuConfig {
            extensions: 0,
            pmu_counters: 16,
            debug: true,
            vlen: 128,
            elen: 64,
            mvendorid: 0,
            marchid: version,
            mimpid: version,
        };
        for info in EXTENSIONS {
            cpu.set(info.extension, info.qemu_default);
        }
        cpu
    }
}

/// A named CPU model `-cpu` accepts.
pub struct Model {
    pub name: &'static str,
    pub description: &'static str,
    build: fn() -> CpuConfig,
}

/// The models, QEMU's names first.
pub const MODELS: &[Model] = &[
    Model {
        name: "rv64",
        description: "QEMU 7.2's default rv64 less H: rv64gc, Zba/Zbb/Zbc/Zbs, Sstc, 16 HPM counters, Sdtrig (the \
                      default)",
        build: CpuConfig::default,
    },
    Model { name: "max", description: "every extension rewind implements", build: CpuConfig::max },
    Model {
        name: "rva22s64",
        description: "the RVA22S64 profile's mandatory extensions: Zba/Zbb/Zbs, Zicbom/Zicbop/Zicboz, Zfhmin, Zkt, \
                      Svinval, Svpbmt, 16 HPM counters (no Sstc, Zbc or triggers)",
        build: CpuConfig::rva22s64,
    },
    Model {
        name: "rv64gc",
        description: "rv64imafdc with Zicsr and Zifencei only: no performance counters, no triggers",
        build: CpuConfig::base,
    },
];

/// Why a `-cpu` specification cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CpuSpecError {
    #[error("unknown CPU model '{0}' (rewind has: {models}; -cpu help lists them)", models = model_names())]
    UnknownModel(String),
    #[error("unknown CPU property '{0}' (-cpu rv64,help lists the ones rewind has)")]
    UnknownProperty(String),
    #[error("CPU property {name}: '{value}' is not {expected}")]
    BadValue { name: String, value: String, expected: &'static str },
    #[error("CPU property {0}: {1}")]
    Unsupported(String, &'static str),
}

fn model_names() -> String {
    MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
}

/// Base extensions QEMU lets a user turn off that rewind's hart always has, and why.
const FIXED: &[(&str, &str)] = &[
    ("i", "rewind's hart is always RV64IMAFDC"),
    ("m", "rewind's hart is always RV64IMAFDC"),
    ("a", "rewind's hart is always RV64IMAFDC"),
    ("f", "rewind's hart is always RV64IMAFDC"),
    ("d", "rewind's hart is always RV64IMAFDC"),
    ("c", "rewind's hart is always RV64IMAFDC"),
    ("g", "rewind's hart is always RV64IMAFDC"),
    ("s", "rewind's hart always has S and U modes"),
    ("u", "rewind's hart always has S and U modes"),
    ("mmu", "rewind's hart always has its MMU (Sv39 and Sv48)"),
    ("pmp", "rewind's hart always has 16 PMP entries"),
];

/// QEMU properties rewind cannot turn on, and why.
const LACKING: &[(&str, &str)] = &[
    ("h", "rewind has no hypervisor extension yet"),
    ("v", "rewind has no vector extension yet"),
    ("e", "rewind's hart is RV64I, not RV64E"),
    ("zbkc", "rewind has no scalar cryptography beyond Zbkb yet"),
    ("zbkx", "rewind has no scalar cryptography beyond Zbkb yet"),
    ("zk", "rewind has no scalar cryptography beyond Zbkb yet"),
    ("zkn", "rewind has no scalar cryptography beyond Zbkb yet"),
    ("zknd", "rewind has no scalar cryptography beyond Zbkb yet"),
    ("zkne", "rewind has no scalar cryptography beyond Zbkb yet"),
    ("zknh", "rewind has no scalar cryptography beyond Zbkb yet"),
    ("zkr", "rewind has no scalar cryptography beyond Zbkb yet"),
    ("zks", "rewind has no scalar cryptography beyond Zbkb yet"),
    ("zksed", "rewind has no scalar cryptography beyond Zbkb yet"),
    ("zksh", "rewind has no scalar cryptography beyond Zbkb yet"),
];

impl CpuConfig {
    /// rv64imafdc with Zicsr and Zifencei and nothing else.
    pub fn base() -> CpuConfig {
        let mut cpu = CpuConfig { extensions: 0, pmu_counters: 0, debug: false, ..CpuConfig::default() };
        for info in EXTENSIONS.iter().filter(|e| e.always) {
            cpu.set(info.extension, true);
        }
        cpu
    }

    /// RVA22S64's mandatory extensions (RVA22U64's plus Zifencei, Svinval and Svpbmt), and nothing optional.
    pub fn rva22s64() -> CpuConfig {
        let mut cpu = CpuConfig { pmu_counters: 16, ..CpuConfig::base() };
        use Extension::*;
        for e in [Zicbom, Zicbop, Zicboz, Zihintpause, Zfhmin, Zba, Zbb, Zbs, Zkt, Svinval, Svpbmt] {
            cpu.set(e, true);
        }
        cpu
    }

    /// Everything rewind implements.
    pub fn max() -> CpuConfig {
        let mut cpu = CpuConfig { pmu_counters: MAX_PMU_COUNTERS, ..CpuConfig::default() };
        for info in EXTENSIONS {
            cpu.set(info.extension, true);
        }
        cpu
    }

    #[inline]
    pub fn has(&self, extension: Extension) -> bool {
        self.extensions & (1 << extension as u8) != 0
    }

    pub fn set(&mut self, extension: Extension, on: bool) {
        let bit = 1 << extension as u8;
        if on {
            self.extensions |= bit;
        } else {
            self.extensions &= !bit;
        }
    }

    /// Parses QEMU's `-cpu MODEL[,PROP=VALUE...]`: extensions by name (`zba=off`), `pmu-num=N`, `mvendorid=`,
    /// `marchid=`, `mimpid=`. Properties QEMU has and rewind lacks are each refused with the reason.
    pub fn parse(spec: &str) -> Result<CpuConfig, CpuSpecError> {
        let mut parts = spec.split(',');
        let name = parts.next().unwrap_or_default();
        let model = MODELS.iter().find(|m| m.name == name).ok_or_else(|| CpuSpecError::UnknownModel(name.into()))?;
        let mut cpu = (model.build)();
        for part in parts {
            let (key, value) = part.split_once('=').unwrap_or((part, "on"));
            cpu.set_property(key, value)?;
        }
        Ok(cpu)
    }

    fn set_property(&mut self, key: &str, value: &str) -> Result<(), CpuSpecError> {
        let name = key.to_ascii_lowercase();
        let bad = |expected| CpuSpecError::BadValue { name: key.into(), value: value.into(), expected };
        let number = |expected| parse_number(value).ok_or_else(|| bad(expected));
        let flag = || parse_bool(value).ok_or_else(|| bad("on, off, true or false"));
        let power_of_two = |low: u64, high: u64, expected| {
            parse_number(value).filter(|n| n.is_power_of_two() && (low..=high).contains(n)).ok_or_else(|| bad(expected))
        };
        const COUNTERS: &str = "a number of counters from 0 to 29";
        match name.as_str() {
            "pmu-num" => {
                let n = number(COUNTERS)?;
                self.pmu_counters =
                    u8::try_from(n).ok().filter(|n| *n <= MAX_PMU_COUNTERS).ok_or_else(|| bad(COUNTERS))?;
            }
            "debug" => self.debug = flag()?,
            // QEMU 7.2's limits: powers of two, VLEN from 128 to 1024 and ELEN from 8 to 64 (so the casts keep all).
            "vlen" => self.vlen = power_of_two(128, 1024, "a power of two from 128 to 1024")? as u16,
            "elen" => self.elen = power_of_two(8, 64, "a power of two from 8 to 64")? as u8,
            "mvendorid" => self.mvendorid = number("a number")?,
            "marchid" => self.marchid = number("a number")?,
            "mimpid" => self.mimpid = number("a number")?,
            _ => return self.set_extension(key, &name, flag()?),
        }
        Ok(())
    }

    /// Turns extension `name` (lower case; `key` as the user spelt it) on or off, or says why it cannot.
    fn set_extension(&mut self, key: &str, name: &str, on: bool) -> Result<(), CpuSpecError> {
        if let Some(info) = EXTENSIONS.iter().find(|e| e.name == name) {
            if info.always && !on {
                return Err(CpuSpecError::Unsupported(key.into(), "rewind's hart always has Zicsr and Zifencei"));
            }
            self.set(info.extension, on);
            if info.extension == Extension::Zfh && on {
                self.set(Extension::Zfhmin, true);
            }
            return Ok(());
        }
        if let Some((_, why)) = FIXED.iter().find(|(n, _)| *n == name) {
            return if on { Ok(()) } else { Err(CpuSpecError::Unsupported(key.into(), why)) };
        }
        if let Some((_, why)) = LACKING.iter().find(|(n, _)| *n == name) {
            return if on { Err(CpuSpecError::Unsupported(key.into(), why)) } else { Ok(()) };
        }
        Err(CpuSpecError::UnknownProperty(key.into()))
    }

    /// The ISA string of the device tree's `riscv,isa`, as QEMU builds it.
    pub fn isa_string(&self) -> String {
        let mut isa = String::from("rv64imafdc");
        for info in EXTENSIONS.iter().filter(|e| self.has(e.extension)) {
            isa.push('_');
            isa.push_str(info.name);
        }
        isa
    }

    /// The `cpu` node's properties beyond `riscv,isa` that the extensions need: the cache-block sizes.
    pub fn device_tree_properties(&self) -> Vec<(&'static str, u32)> {
        let mut props = Vec::new();
        if self.has(Extension::Zicbom) {
            props.push(("riscv,cbom-block-size", CACHE_BLOCK_SIZE as u32));
        }
        if self.has(Extension::Zicboz) {
            props.push(("riscv,cboz-block-size", CACHE_BLOCK_SIZE as u32));
        }
        props
    }

    /// `misa`: RV64 with A, C, D, F, I, M, S and U.
    pub fn misa(&self) -> u64 {
        (2 << 62) | [b'A', b'C', b'D', b'F', b'I', b'M', b'S', b'U'].iter().fold(0, |m, l| m | 1 << (l - b'A'))
    }

    /// Whether the hart executes `op`: false for an operation of an extension it lacks (it is illegal).
    #[inline]
    pub fn executes(&self, op: Op) -> bool {
        match extension_of(op) {
            Some(Extension::Zbb) if in_zbkb(op) => self.has(Extension::Zbb) || self.has(Extension::Zbkb),
            Some(e) => self.has(e),
            None => true,
        }
    }

    /// Whether the hart executes `insn`: [`CpuConfig::executes`] for its operation, and for floating point in half
    /// precision Zfhmin (moves and conversions) or Zfh (the rest).
    pub fn executes_insn(&self, insn: &Insn) -> bool {
        if insn.len == 2 && is_zcb(insn.raw as u16) && !self.has(Extension::Zcb) {
            return false;
        }
        if insn.op != Op::Fp {
            return self.executes(insn.op);
        }
        if is_zfa(insn.fp) && !self.has(Extension::Zfa) {
            return false;
        }
        let source = insn.fp.conversion_source();
        if fp_format(insn.imm) != FpFmt::H && source != Some(FpFmt::H) {
            return true;
        }
        let minimal = source.is_some() || matches!(insn.fp, FpOp::MvXFromF | FpOp::MvFFromX);
        self.has(if minimal { Extension::Zfhmin } else { Extension::Zfh })
    }

    /// The hart's trigger module, if it has one: Sdtrig 1.0's with `sdtrig=on`, QEMU 7.2's with `debug=on`.
    pub fn trigger_module(&self) -> Option<TriggerModule> {
        if self.has(Extension::Sdtrig) {
            Some(TriggerModule::Full)
        } else if self.debug {
            Some(TriggerModule::Qemu72)
        } else {
            None
        }
    }

    /// The properties `-cpu MODEL,help` lists: name, value in this configuration, what it is.
    pub fn properties(&self) -> Vec<(String, String, &'static str)> {
        let on_off = |b: bool| if b { "on" } else { "off" }.to_string();
        let mut list: Vec<_> =
            EXTENSIONS.iter().map(|e| (e.name.to_string(), on_off(self.has(e.extension)), e.description)).collect();
        list.push((
            "debug".into(),
            on_off(self.debug),
            "Sdtrig as QEMU 7.2 has it: two address triggers (tselect, tdata1-3, tinfo)",
        ));
        list.push(("pmu-num".into(), self.pmu_counters.to_string(), "mhpmcounter3.. that exist (0 to 29)"));
        list.push(("vlen".into(), self.vlen.to_string(), "vector register width in bits (for V, which rewind lacks)"));
        list.push(("elen".into(), self.elen.to_string(), "widest vector element in bits (for V)"));
        list.push(("mvendorid".into(), self.mvendorid.to_string(), "the vendor ID CSR"));
        list.push(("marchid".into(), self.marchid.to_string(), "the architecture ID CSR"));
        list.push(("mimpid".into(), self.mimpid.to_string(), "the implementation ID CSR"));
        list
    }
}

/// Zbkb's operations, most of them Zbb's too (zext.h is Zbkb's packw with rs2 = x0).
fn in_zbkb(op: Op) -> bool {
    use Op::*;
    matches!(
        op,
        Andn | Orn | Xnor | Rol | Rolw | Ror | Rorw | Rori | Roriw | Rev8 | ZextH | Pack | Packh | Packw | Brev8
    )
}

/// The extension an operation belongs to, if it is an optional one (Zbb's, for those Zbkb shares).
fn extension_of(op: Op) -> Option<Extension> {
    use Op::*;
    Some(match op {
        Sh1add | Sh2add | Sh3add | AddUw | Sh1addUw | Sh2addUw | Sh3addUw | SlliUw => Extension::Zba,
        Andn | Orn | Xnor | Clz | Clzw | Ctz | Ctzw | Cpop | Cpopw | Max | Maxu | Min | Minu | SextB | SextH
        | ZextH | Rol | Rolw | Ror | Rorw | Rori | Roriw | OrcB | Rev8 => Extension::Zbb,
        Clmul | Clmulh | Clmulr => Extension::Zbc,
        Pack | Packh | Packw | Brev8 => Extension::Zbkb,
        Bclr | Bclri | Bext | Bexti | Binv | Binvi | Bset | Bseti => Extension::Zbs,
        CzeroEqz | CzeroNez => Extension::Zicond,
        CboClean | CboFlush | CboInval => Extension::Zicbom,
        CboZero => Extension::Zicboz,
        WrsNto | WrsSto => Extension::Zawrs,
        SinvalVma | SfenceInval => Extension::Svinval,
        Flh | Fsh => Extension::Zfhmin,
        _ => return None,
    })
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Some(true),
        "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

fn parse_number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_qemus_rv64_less_h() {
        let cpu = CpuConfig::default();
        // QEMU 7.2: rv64imafdch_zicsr_zifencei_zihintpause_zba_zbb_zbc_zbs_sstc.
        assert_eq!(cpu.isa_string(), "rv64imafdc_zicsr_zifencei_zihintpause_zba_zbb_zbc_zbs_sstc");
        assert_eq!(cpu.pmu_counters, 16);
        assert_eq!(cpu.misa(), 0x8000_0000_0014_112d);
        assert_eq!(CpuConfig::parse("rv64"), Ok(cpu));
    }

    #[test]
    fn properties_turn_extensions_off_and_on_as_qemu_spells_them() {
        let cpu = CpuConfig::parse("rv64,zba=false,Zbb=off,sstc=no,pmu-num=4,marchid=0x70216").unwrap();
        assert!(!cpu.has(Extension::Zba) && !cpu.has(Extension::Zbb) && !cpu.has(Extension::Sstc));
        assert!(cpu.has(Extension::Zbs));
        assert_eq!((cpu.pmu_counters, cpu.marchid), (4, 0x70216));
        assert!(
            !cpu.executes(Op::Sh1add) && !cpu.executes(Op::Rev8) && cpu.executes(Op::Bset) && cpu.executes(Op::Add)
        );
        assert_eq!(cpu.isa_string(), "rv64imafdc_zicsr_zifencei_zihintpause_zbc_zbs");
        assert!(CpuConfig::parse("rv64,zba").unwrap().has(Extension::Zba));
        let zfh = CpuConfig::parse("rv64,Zfh=true").unwrap();
        assert!(zfh.has(Extension::Zfh) && zfh.has(Extension::Zfhmin), "Zfh implies Zfhmin, as in QEMU");
        assert!(zfh.isa_string().contains("_zihintpause_zfh_zfhmin_zba_"));
        let fadd_h = crate::arch::riscv::decode::decode(0x0420_7053); // fadd.h f0, f0, f2
        let fcvt_s_h = crate::arch::riscv::decode::decode(0x4020_0053); // fcvt.s.h f0, f0
        let minimal = CpuConfig::parse("rv64,zfhmin=on").unwrap();
        assert!(minimal.executes_insn(&fcvt_s_h) && !minimal.executes_insn(&fadd_h));
        assert!(zfh.executes_insn(&fadd_h) && !CpuConfig::default().executes_insn(&fcvt_s_h));
        // The vector widths are kept for V, within QEMU 7.2's limits.
        let wide = CpuConfig::parse("rv64,vlen=512,elen=32").unwrap();
        assert_eq!((wide.vlen, wide.elen, CpuConfig::default().vlen), (512, 32, 128));
        for bad in ["rv64,vlen=100", "rv64,vlen=2048", "rv64,elen=128", "rv64,elen=0", "rv64,vlen=x"] {
            assert!(matches!(CpuConfig::parse(bad), Err(CpuSpecError::BadValue { .. })), "{bad}");
        }
    }

    #[test]
    fn max_has_every_extension_in_the_canonical_order_with_its_block_sizes() {
        let max = CpuConfig::max();
        assert_eq!(
            max.isa_string(),
            "rv64imafdc_zicbom_zicbop_zicboz_zicond_zicsr_zifencei_zihintntl_zihintpause_zawrs_zfa_zfh_zfhmin_zcb_zba_zbb_zbc_zbkb_zbs_\
             zkt_sdtrig_smstateen_sscofpmf_sstc_svinval_svnapot_svpbmt"
        );
        assert!(max.executes(Op::CzeroEqz) && max.executes(Op::CboZero) && max.executes(Op::SinvalVma));
        assert_eq!(max.device_tree_properties(), [("riscv,cbom-block-size", 64), ("riscv,cboz-block-size", 64)]);
        assert_eq!(
            CpuConfig::parse("rva22s64").unwrap().isa_string(),
            "rv64imafdc_zicbom_zicbop_zicboz_zicsr_zifencei_zihintpause_zfhmin_zba_zbb_zbs_zkt_svinval_svpbmt"
        );
        let base = CpuConfig::base();
        assert_eq!(base.isa_string(), "rv64imafdc_zicsr_zifencei");
        assert!(!base.executes(Op::CboClean) && !base.executes(Op::Clz) && base.device_tree_properties().is_empty());
    }

    #[test]
    fn what_rewind_lacks_is_refused_with_the_reason() {
        let err = |s| CpuConfig::parse(s).unwrap_err().to_string();
        assert!(err("rv64,h=on").contains("no hypervisor"), "{}", err("rv64,h=on"));
        assert!(err("rv64,c=off").contains("always RV64IMAFDC"));
        assert!(err("rv64,Zicsr=false").contains("always has Zicsr"));
        assert!(err("sifive-u54").contains("unknown CPU model 'sifive-u54'"));
        assert!(err("rv64,frobnicate=on").contains("unknown CPU property 'frobnicate'"));
        assert!(err("rv64,pmu-num=30").contains("from 0 to 29"));
        assert!(err("rv64,zba=maybe").contains("on, off"));
        // Turning off what rewind does not have, or on what it always has, is fine.
        assert_eq!(CpuConfig::parse("rv64,h=false,v=off,c=on"), Ok(CpuConfig::default()));
    }
}
