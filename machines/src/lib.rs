//! Devices and boards: the ns16550a UART, SiFive CLINT and PLIC, goldfish RTC, SiFive test finisher, the PCIe
//! host bridge, CFI flash, QEMU's `virt` board with its device tree, and the firmware/kernel/initrd loaders.
//!
//! A CLI needs [`virt::build`] with a [`virt::VirtConfig`]; everything else is public for tests and tools.

// Guest and user input must never crash the host: outside tests, a failure is an error value, not a panic.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod clint;
pub mod fdt;
pub mod goldfish_rtc;
pub mod loader;
pub mod pci;
pub mod pflash;
pub mod plic;
mod regs;
pub mod sifive_test;
#[cfg(test)]
mod testbus;
pub mod uart16550;
pub mod virt;
pub mod virtio;
pub mod virtio_empty;

pub use clint::Clint;
pub use goldfish_rtc::GoldfishRtc;
pub use loader::{ImageFile, LoadError, Loaded};
pub use plic::Plic;
pub use sifive_test::SifiveTest;
pub use uart16550::Uart16550;
pub use virt::{build, BoardError, BootInfo, Firmware, VirtConfig};
