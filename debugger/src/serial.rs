//! Where the guest's serial console goes (`-serial`, as QEMU spells it): the terminal (the console front end), a
//! file, or nowhere. The file and nowhere are a small front end of their own, which takes the guest's output and
//! nothing else, so the terminal is free for `-monitor stdio`.

use crate::session::{Command, Frontend, Presence, Session};
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Serial {
    Stdio,
    File(PathBuf),
    None,
}

impl Serial {
    pub fn parse(spec: &str) -> Result<Serial> {
        Ok(match spec {
            "stdio" | "mon:stdio" => Serial::Stdio,
            "none" | "null" => Serial::None,
            _ => match spec.strip_prefix("file:") {
                Some(path) if !path.is_empty() => Serial::File(path.into()),
                _ => bail!("-serial {spec}: rewind supports stdio, mon:stdio, file:PATH and none"),
            },
        })
    }
}

/// The guest's console written to a file (`-serial file:PATH`) or dropped (`-serial none`).
pub struct SerialSink {
    file: Option<std::fs::File>,
}

impl SerialSink {
    pub fn open(serial: &Serial) -> Result<SerialSink> {
        let file = match serial {
            Serial::File(path) => Some(
                std::fs::File::create(path)
                    .with_context(|| format!("-serial file:{}: cannot create", path.display()))?,
            ),
            _ => None,
        };
        Ok(SerialSink { file })
    }
}

impl Frontend for SerialSink {
    fn poll(&mut self, _session: &mut Session, _wait: Duration) -> Result<Command> {
        Ok(Command::Run(u64::MAX))
    }

    fn guest_output(&mut self, bytes: &[u8], _at: u64) {
        if let Some(f) = self.file.as_mut() {
            // A full disk must not stop the guest; the file just ends early.
            let _ = f.write_all(bytes).and_then(|()| f.flush());
        }
    }

    fn presence(&self) -> Presence {
        Presence::Gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_spellings_parse_and_others_are_refused() {
        assert_eq!(Serial::parse("mon:stdio").unwrap(), Serial::Stdio);
        assert_eq!(Serial::parse("file:/tmp/x").unwrap(), Serial::File("/tmp/x".into()));
        assert_eq!(Serial::parse("none").unwrap(), Serial::None);
        for bad in ["pty", "file:", "tcp::4444"] {
            assert!(Serial::parse(bad).unwrap_err().to_string().contains("supports stdio"), "{bad}");
        }
    }
}
