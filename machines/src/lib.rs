//! Devices and boards.
