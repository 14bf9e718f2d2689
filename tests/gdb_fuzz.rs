//! A hostile client: random bytes, bad checksums, huge `m` lengths, wrong-sized `G`, overlong packets, unknown
//! packets, disconnects mid-packet, and random well-framed packets. rewind must survive every connection, and a
//! real gdb must still attach afterwards to a guest that kept running.

mod common;
mod gdb_support;
use common::*;
use gdb_support::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn hex(&mut self, max_len: u64) -> String {
        let len = 1 + self.below(max_len);
        (0..len).map(|_| char::from(b"0123456789abcdef"[self.below(16) as usize])).collect()
    }
}

fn packet(body: &str) -> Vec<u8> {
    let sum = body.bytes().fold(0u8, |s, b| s.wrapping_add(b));
    format!("${body}#{sum:02x}").into_bytes()
}

fn connect(port: u16) -> TcpStream {
    let start = Instant::now();
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => {
                s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
                s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
                return s;
            }
            Err(e) if start.elapsed() > Duration::from_secs(10) => panic!("connect: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Sends `data`, reads whatever comes back for a moment, and hangs up. Write errors are fine: the server may
/// have dropped the connection already.
fn throw(port: u16, chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut s = connect(port);
    let mut back = Vec::new();
    for c in chunks {
        if s.write_all(c).is_err() {
            break;
        }
        let mut buf = [0u8; 65536];
        let until = Instant::now() + Duration::from_millis(60);
        while Instant::now() < until {
            match s.read(&mut buf) {
                Ok(0) => return back,
                Ok(n) => back.extend_from_slice(&buf[..n]),
                Err(_) => break,
            }
        }
    }
    back
}

/// A random well-framed packet: a real command letter with random arguments. Never `k`/`vKill` (they kill rewind,
/// as they should).
fn random_packet(rng: &mut Rng) -> Vec<u8> {
    let body = match rng.below(16) {
        0 => format!("m{},{}", rng.hex(16), rng.hex(16)),
        1 => format!("M{},{}:{}", rng.hex(16), rng.hex(4), rng.hex(64)),
        2 => format!("G{}", rng.hex(1200)),
        3 => format!("g{}", rng.hex(4)),
        4 => format!("p{}", rng.hex(8)),
        5 => format!("P{}={}", rng.hex(8), rng.hex(20)),
        6 => format!("Z{},{},{}", rng.below(6), rng.hex(16), rng.hex(8)),
        7 => format!("z{},{},{}", rng.below(6), rng.hex(16), rng.hex(8)),
        8 => format!("H{}{}", ['g', 'c', 'x'][rng.below(3) as usize], rng.hex(8)),
        9 => format!("qRcmd,{}", rng.hex(40)),
        10 => format!("qXfer:features:read:target.xml:{},{}", rng.hex(16), rng.hex(16)),
        11 => format!("vCont;{}", ["c", "s:1", "s:ffff", "C05", "t", "r0,1"][rng.below(6) as usize]),
        12 => format!("T{}", rng.hex(8)),
        13 => format!("X{},{}:{}", rng.hex(16), rng.hex(4), rng.hex(16)),
        14 => format!("q{}", rng.hex(12)),
        _ => "?".to_string(),
    };
    packet(&body)
}

#[test]
fn malformed_clients_never_take_rewind_down() {
    let elf = demo_elf();
    let mut cmd = Command::new(rewind_bin());
    cmd.args(["-M", "virt", "-m", "128M", "-nographic", "-bios", "none", "-kernel"]).arg(&elf);
    let mut r = Rewind::start(cmd, &[]);
    let port = r.port;
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    let deadline = Instant::now() + Duration::from_secs(40);

    let handshake = || vec![b"+".to_vec(), packet("qSupported:multiprocess+;swbreak+;hwbreak+")];
    let mut cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("random bytes", (0..4).map(|_| (0..4096).map(|_| rng.below(256) as u8).collect()).collect()),
        ("bad checksums", vec![b"$g#00".to_vec(), b"$qSupported#ff".to_vec(), b"$m0,4#zz".to_vec()]),
        ("huge m lengths", {
            let mut v = handshake();
            for p in ["m0,ffffffffffffffff", "m80000000,7fffffff", "mffffffffffffffff,10", "m80000000,"] {
                v.push(packet(p));
            }
            v
        }),
        ("wrong-sized G", {
            let mut v = handshake();
            for n in [0, 1, 7, 519, 521, 4000] {
                v.push(packet(&format!("G{}", "a".repeat(n * 2 + n % 2))));
            }
            v
        }),
        ("unknown packets", {
            let mut v = handshake();
            for p in [
                "qFooBar",
                "vFrobnicate",
                "Z9,0,0",
                "p99999999",
                "P20=zz",
                "Hgffffffff",
                "Hg0",
                "qRcmd,zz",
                "qRcmd,",
                "qXfer:features:read:nosuch.xml:0,100",
                "qXfer:features:read:target.xml:ffffffff,ffffffff",
                "",
                "vCont;x",
                "QStartNoAckMode",
                "m80000000,4",
            ] {
                v.push(packet(p));
            }
            v
        }),
        ("overlong packet", vec![b"$".to_vec(), vec![b'a'; 100_000], b"#00".to_vec()]),
        ("mid-packet disconnect", vec![b"+$qSupported:multipro".to_vec()]),
        ("resume then garbage", {
            let mut v = handshake();
            v.push(packet("vCont;c"));
            v.push(b"\x03\x03garbage$$$###".to_vec());
            v
        }),
    ];
    for _ in 0..12 {
        let mut v = handshake();
        for _ in 0..40 {
            v.push(random_packet(&mut rng));
        }
        if rng.below(2) == 0 {
            v.push(b"$m0,1".to_vec()); // and hang up mid-packet
        }
        cases.push(("random packets", v));
    }

    for (name, chunks) in &cases {
        if Instant::now() > deadline {
            break;
        }
        throw(port, chunks);
        assert!(r.is_running(), "rewind died on case '{name}':\n{}", r.stderr());
    }

    // The guest kept running, and a real gdb still attaches and debugs it.
    let count = |out: &str| -> u64 {
        out.lines().find_map(|l| l.strip_prefix("total ")).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
    };
    let first = r.gdb(&elf, &["monitor info icount", "detach"]);
    std::thread::sleep(Duration::from_millis(200));
    let second = r.gdb(&elf, &["monitor info icount", "break tick", "continue", "p $pc", "kill"]);
    assert!(count(&second) > count(&first), "the guest did not run on:\n{first}\n{second}\n{}", r.stderr());
    assert!(second.contains("Breakpoint 1, tick ()"), "{second}");
    assert_eq!(r.wait_exit(Duration::from_secs(10)), Some(0), "{}", r.stderr());
    // One line per misbehaving client, never a panic.
    let err = r.stderr();
    assert!(!err.contains("panicked"), "{err}");
    eprintln!("{err}");
}
