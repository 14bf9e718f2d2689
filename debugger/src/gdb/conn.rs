//! The gdb server's transport: a TCP or Unix listener, the client's stream, the connection gdbstub writes to,
//! and a checksum check in front of gdbstub.

use super::PACKET_BUFFER;
use crate::cli::Endpoint;
use anyhow::{Context, Result};
use gdbstub::conn::Connection;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::Duration;

pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

impl Listener {
    /// Listens on `endpoint`, without blocking.
    pub fn bind(endpoint: &Endpoint) -> Result<Listener> {
        Ok(match endpoint {
            Endpoint::Tcp(addr) => {
                let l = TcpListener::bind(addr).with_context(|| format!("gdb server: cannot listen on {addr}"))?;
                l.set_nonblocking(true)?;
                Listener::Tcp(l)
            }
            Endpoint::Unix(path) => {
                // A stale socket from an earlier run would make bind fail.
                if std::fs::symlink_metadata(path).is_ok_and(|m| {
                    use std::os::unix::fs::FileTypeExt;
                    m.file_type().is_socket()
                }) {
                    let _ = std::fs::remove_file(path);
                }
                let l = UnixListener::bind(path)
                    .with_context(|| format!("gdb server: cannot listen on {}", path.display()))?;
                l.set_nonblocking(true)?;
                Listener::Unix(l, path.clone())
            }
        })
    }

    /// Where it listens, for the user.
    pub fn place(&self) -> String {
        match self {
            Listener::Tcp(l) => format!("tcp {}", l.local_addr().map_or_else(|_| "?".into(), |a| a.to_string())),
            Listener::Unix(_, p) => format!("unix {}", p.display()),
        }
    }

    /// A client waiting to connect, if any, with its name; its stream blocks (with a write timeout).
    pub fn accept(&self) -> Option<Result<(Stream, String), String>> {
        let res = match self {
            Listener::Tcp(l) => l.accept().map(|(s, a)| (Stream::Tcp(s), a.to_string())),
            Listener::Unix(l, p) => l.accept().map(|(s, _)| (Stream::Unix(s), p.display().to_string())),
        };
        let (stream, peer) = res.ok()?;
        let setup = match &stream {
            Stream::Tcp(s) => s.set_nonblocking(false).and(s.set_write_timeout(Some(Duration::from_secs(5)))),
            Stream::Unix(s) => s.set_nonblocking(false).and(s.set_write_timeout(Some(Duration::from_secs(5)))),
        };
        Some(match setup {
            Ok(()) => Ok((stream, peer)),
            Err(e) => Err(format!("rewind: gdb: cannot set up the connection from {peer}: {e}")),
        })
    }
}

pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    pub fn try_clone(&self) -> std::io::Result<Stream> {
        Ok(match self {
            Stream::Tcp(s) => Stream::Tcp(s.try_clone()?),
            Stream::Unix(s) => Stream::Unix(s.try_clone()?),
        })
    }

    pub fn shutdown(&self) {
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
            Stream::Unix(s) => s.shutdown(std::net::Shutdown::Both),
        };
    }

    pub fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }

    pub fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => Write::write_all(s, buf),
            Stream::Unix(s) => Write::write_all(s, buf),
        }
    }
}

/// The connection gdbstub writes to; replies are buffered and sent whole on flush.
pub struct Conn {
    pub stream: Stream,
    pub out: Vec<u8>,
}

impl Connection for Conn {
    type Error = std::io::Error;

    fn write(&mut self, byte: u8) -> std::io::Result<()> {
        self.out.push(byte);
        Ok(())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.out.extend_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let out = std::mem::take(&mut self.out);
        self.stream.write_all(&out)
    }

    fn on_session_start(&mut self) -> std::io::Result<()> {
        if let Stream::Tcp(s) = &self.stream {
            s.set_nodelay(true)?;
        }
        Ok(())
    }
}

/// Checks each packet's checksum before gdbstub sees it. A packet damaged on the way is answered with `-`, so
/// the client sends it again (as QEMU's stub does), instead of ending the session.
#[derive(Default)]
pub struct PacketCheck {
    /// The packet being received, from its `$`; `hash` is the position of its `#` once seen.
    packet: Vec<u8>,
    hash: Option<usize>,
}

/// What a byte from the client amounts to.
pub enum Checked {
    /// Bytes for gdbstub (a byte outside packets, or a whole packet with a good checksum).
    Pass(Vec<u8>),
    /// A packet with a bad checksum: ask for it again.
    Resend,
    /// Inside a packet.
    Pending,
}

impl PacketCheck {
    pub fn push(&mut self, byte: u8) -> Checked {
        if self.packet.is_empty() {
            if byte == b'$' {
                self.packet.push(byte);
                return Checked::Pending;
            }
            return Checked::Pass(vec![byte]);
        }
        self.packet.push(byte);
        match self.hash {
            None if byte == b'#' => self.hash = Some(self.packet.len() - 1),
            // An overlong packet goes to gdbstub, which refuses it.
            None if self.packet.len() > PACKET_BUFFER => return self.release(),
            Some(at) if self.packet.len() == at + 3 => {
                let body = &self.packet[1..at];
                let sum = body.iter().fold(0u8, |s, b| s.wrapping_add(*b));
                let given =
                    std::str::from_utf8(&self.packet[at + 1..]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                if given == Some(sum) {
                    return self.release();
                }
                self.packet.clear();
                self.hash = None;
                return Checked::Resend;
            }
            _ => {}
        }
        Checked::Pending
    }

    fn release(&mut self) -> Checked {
        self.hash = None;
        Checked::Pass(std::mem::take(&mut self.packet))
    }
}
