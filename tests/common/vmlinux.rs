//! The shared guest's vmlinux (the kernel ELF with DWARF), unpacked once from `vmlinux.zst` for the tests of
//! every crate: the engine's disassembler, the debugger's symbols, the gdb and TUI tests. std only, so any crate
//! includes it with `#[path]`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `packed` (a `vmlinux.zst`) unpacked into the temp directory, and reused while it is newer than the archive.
pub fn unpack_vmlinux(packed: &Path) -> PathBuf {
    let dir = std::env::temp_dir().join("rewind-test-vmlinux");
    std::fs::create_dir_all(&dir).expect("create the vmlinux directory");
    let dest = dir.join("vmlinux");
    let fresh = match (std::fs::metadata(&dest), std::fs::metadata(packed)) {
        (Ok(d), Ok(p)) => d.len() > 0 && d.modified().ok() >= p.modified().ok(),
        _ => false,
    };
    if !fresh {
        // Unpack to a private name and rename: tests running at once never see a half-written file.
        let thread = format!("{:?}", std::thread::current().id()).replace(|c: char| !c.is_ascii_digit(), "");
        let tmp = dir.join(format!("vmlinux.tmp{}-{thread}", std::process::id()));
        let st = Command::new("zstd").args(["-q", "-f", "-d"]).arg(packed).arg("-o").arg(&tmp).status();
        assert!(st.is_ok_and(|s| s.success()), "zstd -d {} failed", packed.display());
        std::fs::rename(&tmp, &dest).expect("rename the unpacked vmlinux");
    }
    dest
}
