//! rv64gc as gdb sees it: the `g` packet layout, register numbers and a full target description (integer, FPU,
//! CSR and virtual features, numbered as gdb's riscv-tdep and QEMU number them: CSR `n` is register `65 + n`,
//! `priv` is 4161). gdbstub_arch's riscv description has integer registers only, which gdb refuses for an rv64gc
//! vmlinux ("bfd requires flen 8, but target has flen 0").

use gdbstub::arch::{Arch, RegId, Registers};
use std::fmt::Write;
use std::num::NonZeroUsize;
use std::sync::OnceLock;

use rewind::arch::riscv::regs::{CSRS, FP_CSRS, F_NAMES, GDB_CSR_BASE as CSR_BASE, GDB_PRIV as PRIV_REGNUM, X_NAMES};

/// The architecture marker for gdbstub.
pub enum Rv64gc {}

impl Arch for Rv64gc {
    type Usize = u64;
    type Registers = Regs;
    type BreakpointKind = usize;
    type RegId = Reg;

    fn target_description_xml() -> Option<&'static str> {
        static XML: OnceLock<String> = OnceLock::new();
        Some(XML.get_or_init(target_xml).as_str())
    }
}

/// What the `g` packet carries: x0-x31, pc, f0-f31 (the rest is read with `p`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Regs {
    pub x: [u64; 32],
    pub pc: u64,
    pub f: [u64; 32],
}

/// Bytes of the `g` packet.
pub const G_PACKET_LEN: usize = 65 * 8;

impl Registers for Regs {
    type ProgramCounter = u64;

    fn pc(&self) -> u64 {
        self.pc
    }

    fn gdb_serialize(&self, mut write_byte: impl FnMut(Option<u8>)) {
        for v in self.x.iter().chain(std::iter::once(&self.pc)).chain(self.f.iter()) {
            for b in v.to_le_bytes() {
                write_byte(Some(b));
            }
        }
    }

    fn gdb_deserialize(&mut self, bytes: &[u8]) -> Result<(), ()> {
        if bytes.len() != G_PACKET_LEN {
            return Err(());
        }
        let mut words = bytes.chunks_exact(8).map(|c| {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            u64::from_le_bytes(w)
        });
        for x in self.x.iter_mut() {
            *x = words.next().ok_or(())?;
        }
        self.pc = words.next().ok_or(())?;
        for f in self.f.iter_mut() {
            *f = words.next().ok_or(())?;
        }
        Ok(())
    }
}

/// One register, by gdb's numbering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reg {
    X(usize),
    Pc,
    F(usize),
    Csr(u16),
    Priv,
}

impl Reg {
    /// Size in bytes (fflags, frm and fcsr are 32-bit, as in QEMU's description).
    pub fn size(self) -> usize {
        match self {
            Reg::Csr(1..=3) => 4,
            _ => 8,
        }
    }
}

impl RegId for Reg {
    fn from_raw_id(id: usize) -> Option<(Reg, Option<NonZeroUsize>)> {
        let reg = match id {
            0..=31 => Reg::X(id),
            32 => Reg::Pc,
            33..=64 => Reg::F(id - 33),
            PRIV_REGNUM => Reg::Priv,
            _ if (CSR_BASE..PRIV_REGNUM).contains(&id) => Reg::Csr((id - CSR_BASE) as u16),
            _ => return None,
        };
        Some((reg, NonZeroUsize::new(reg.size())))
    }

    fn to_raw_id(&self) -> Option<usize> {
        Some(match *self {
            Reg::X(i) => i,
            Reg::Pc => 32,
            Reg::F(i) => 33 + i,
            Reg::Csr(c) => CSR_BASE + c as usize,
            Reg::Priv => PRIV_REGNUM,
        })
    }
}

/// The target description: gdb's four riscv features with QEMU's register numbers.
pub fn target_xml() -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n\
         <architecture>riscv:rv64</architecture>\n<feature name=\"org.gnu.gdb.riscv.cpu\">\n",
    );
    for (i, name) in X_NAMES.iter().enumerate() {
        let ty = match i {
            1 => "code_ptr",
            2 | 8 => "data_ptr",
            _ => "int",
        };
        let _ = writeln!(s, "<reg name=\"{name}\" bitsize=\"64\" type=\"{ty}\" regnum=\"{i}\"/>");
    }
    s.push_str("<reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\" regnum=\"32\"/>\n</feature>\n");
    s.push_str(
        "<feature name=\"org.gnu.gdb.riscv.fpu\">\n<union id=\"riscv_double\">\
         <field name=\"float\" type=\"ieee_single\"/><field name=\"double\" type=\"ieee_double\"/></union>\n",
    );
    for (i, name) in F_NAMES.iter().enumerate() {
        let _ = writeln!(s, "<reg name=\"{name}\" bitsize=\"64\" type=\"riscv_double\" regnum=\"{}\"/>", 33 + i);
    }
    for (name, csr) in FP_CSRS {
        let _ = writeln!(
            s,
            "<reg name=\"{name}\" bitsize=\"32\" type=\"int\" regnum=\"{}\" group=\"float\"/>",
            CSR_BASE + *csr as usize
        );
    }
    s.push_str("</feature>\n<feature name=\"org.gnu.gdb.riscv.csr\">\n");
    for (name, csr) in CSRS {
        let _ = writeln!(
            s,
            "<reg name=\"{name}\" bitsize=\"64\" type=\"uint64\" regnum=\"{}\" group=\"system\"/>",
            CSR_BASE + *csr as usize
        );
    }
    let _ = write!(
        s,
        "</feature>\n<feature name=\"org.gnu.gdb.riscv.virtual\">\n\
         <reg name=\"priv\" bitsize=\"64\" type=\"int\" regnum=\"{PRIV_REGNUM}\" group=\"system\"/>\n\
         </feature>\n</target>\n"
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_numbers_round_trip() {
        for id in [0, 31, 32, 33, 64, 66, 68, CSR_BASE + 0x180, PRIV_REGNUM] {
            let (reg, size) = Reg::from_raw_id(id).unwrap();
            assert_eq!(reg.to_raw_id(), Some(id));
            assert_eq!(size.unwrap().get(), reg.size());
        }
        assert!(Reg::from_raw_id(PRIV_REGNUM + 1).is_none());
        assert_eq!(Reg::from_raw_id(CSR_BASE + 0x180).unwrap().0, Reg::Csr(0x180));
    }

    #[test]
    fn g_packet_round_trips_and_rejects_wrong_sizes() {
        let mut r = Regs::default();
        r.x[10] = 5;
        r.pc = 0x8020_0000;
        r.f[31] = 7;
        let mut bytes = Vec::new();
        r.gdb_serialize(|b| bytes.push(b.unwrap()));
        assert_eq!(bytes.len(), G_PACKET_LEN);
        let mut back = Regs::default();
        back.gdb_deserialize(&bytes).unwrap();
        assert_eq!(back, r);
        assert!(back.gdb_deserialize(&bytes[..100]).is_err());
        assert!(back.gdb_deserialize(&[0; G_PACKET_LEN + 8]).is_err());
    }

    #[test]
    fn description_has_the_four_features() {
        let xml = target_xml();
        for f in ["riscv.cpu", "riscv.fpu", "riscv.csr", "riscv.virtual", "name=\"satp\"", "regnum=\"4161\""] {
            assert!(xml.contains(f), "{f}");
        }
    }
}
