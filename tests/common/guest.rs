//! The shared Linux guest, for tests that build machines in-process (they need no `rewind` binary, so crates
//! other than the debugger's include this file on its own with `#[path]`).

#![allow(dead_code)]

use rewind_machines::loader::ImageFile;
use rewind_machines::virt::{Firmware, VirtConfig};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

/// The shared Linux guest. Tests that need it fail with a clear message when it is missing: a guest test that
/// silently passes without a guest would prove nothing.
pub fn guest_dir() -> PathBuf {
    let top = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("bash").arg(top.join("scripts/guest-dir.sh")).output().expect("run guest-dir.sh");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// QEMU's `virt` with the shared guest's kernel and initramfs under the default firmware: `harts` harts, 256 MiB,
/// console output to `console`, kernel command line `console=ttyS0 {append}`.
pub fn linux_config(harts: usize, console: Box<dyn std::io::Write + Send>, append: &str) -> VirtConfig {
    let g = guest_dir();
    let mut c = VirtConfig::new(console);
    c.harts = harts;
    c.ram_size = 256 << 20;
    c.bios = Firmware::Default;
    c.kernel = Some(ImageFile::read(g.join("Image")).expect("the shared guest's Image"));
    c.initrd = Some(ImageFile::read(g.join("initramfs.cpio.gz")).expect("the shared guest's initramfs"));
    c.append = format!("console=ttyS0 {append}").trim_end().to_string();
    c
}

/// A console that keeps what the guest printed, shared with the test (clones share the bytes).
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("console lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("console lock")).into_owned()
    }
}
