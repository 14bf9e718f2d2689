//! SIGTERM, SIGHUP and SIGINT end a session gracefully, as they end QEMU: the run loop sees the signal, ends the
//! session (a recording writes its end, the terminal is restored) and rewind exits with 128 + the signal, as a
//! shell reports a process a signal ended. A second signal while the first is being handled exits at once.

use std::sync::atomic::{AtomicI32, Ordering};

/// The signal that asked rewind to end, 0 for none.
static TERMINATED: AtomicI32 = AtomicI32::new(0);

/// The signal that asked rewind to end, if one did.
pub fn terminated() -> Option<i32> {
    Some(TERMINATED.load(Ordering::Relaxed)).filter(|&s| s != 0)
}

extern "C" fn on_signal(signal: libc::c_int) {
    if TERMINATED.swap(signal, Ordering::Relaxed) != 0 {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(128 + signal) }
    }
}

/// Installs the handlers. (In a terminal in raw mode, Ctrl-C is a byte for the guest, not a SIGINT.)
pub fn install() {
    // SAFETY: the handler only touches an atomic and calls _exit, both async-signal-safe.
    unsafe {
        for signal in [libc::SIGTERM, libc::SIGHUP, libc::SIGINT] {
            libc::signal(signal, on_signal as *const () as libc::sighandler_t);
        }
    }
}
