//! virtio-rng (device ID 4): an entropy source that is not random at all. It fills the driver's buffers from
//! xoshiro256** seeded from a `u64` the machine's configuration (or the replay log) provides, so a run and its
//! replay see the same "entropy".

use super::{DescChain, VirtioBackend, VIRTIO_ID_RNG};
use rewind::device::{decode_state, encode_state};
use rewind::Ram;
use serde::{Deserialize, Serialize};

/// The entropy device's behaviour (wrap it in [`super::VirtioMmio`]).
pub struct Rng {
    seed: u64,
    state: RngState,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct RngState {
    s: [u64; 4],
    /// Bytes handed to the guest so far (for `info devices`).
    produced: u64,
}

fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    /// An entropy source whose output is a pure function of `seed`.
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        let s = [splitmix64(&mut x), splitmix64(&mut x), splitmix64(&mut x), splitmix64(&mut x)];
        Rng { seed, state: RngState { s, produced: 0 } }
    }

    /// xoshiro256** (Blackman and Vigna).
    fn next_u64(&mut self) -> u64 {
        let s = &mut self.state.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Fills `buf` with the next bytes of the stream (whole 64-bit words; a partial last word is discarded).
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

impl VirtioBackend for Rng {
    fn kind(&self) -> &'static str {
        "virtio-rng"
    }

    fn device_id(&self) -> u32 {
        VIRTIO_ID_RNG
    }

    fn features(&self) -> u64 {
        0
    }

    fn num_queues(&self) -> usize {
        1
    }

    fn read_config(&self, _offset: u64, data: &mut [u8]) {
        data.fill(0);
    }

    fn process(&mut self, _queue: usize, chain: &DescChain, ram: &mut Ram) -> u32 {
        let total = chain.writable_len();
        let mut buf = [0u8; 4096];
        let mut done = 0u64;
        while done < total {
            let n = (total - done).min(buf.len() as u64) as usize;
            self.fill(&mut buf[..n]);
            let written = chain.write_at(ram, done, &buf[..n]);
            done += written as u64;
            if written < n {
                break;
            }
        }
        self.state.produced = self.state.produced.wrapping_add(done);
        u32::try_from(done).unwrap_or(u32::MAX)
    }

    fn save(&self) -> Vec<u8> {
        encode_state(&self.state)
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        self.state = decode_state("virtio-rng", state, |s: &RngState| match s.s == [0; 4] {
            // xoshiro256** never leaves the all-zero state: it would produce zeros forever.
            true => Err("xoshiro256** state is all zero".to_string()),
            false => Ok(()),
        })
        .map_err(|e| e.reason)?;
        Ok(())
    }

    fn inspect(&self) -> Vec<(String, String)> {
        vec![
            ("seed".to_string(), format!("{:#018x}", self.seed)),
            ("bytes_produced".to_string(), self.state.produced.to_string()),
        ]
    }
}
