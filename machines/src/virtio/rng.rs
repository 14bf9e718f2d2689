//! virtio-rng (VIRTIO 1.1 section 5.4): entropy from a seeded xoshiro256** generator, so runs are reproducible;
//! the seed comes from the configuration (and so from the recording).

use super::queue::{writable_len, write_all, Segment};
use super::VirtioBackend;
use rewind::device::{decode_state, encode_state, RestoreError};
use rewind::Ram;

pub struct VirtioRng {
    state: [u64; 4],
}

impl VirtioRng {
    pub fn new(seed: u64) -> VirtioRng {
        // splitmix64 expands the seed into a non-zero state.
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        VirtioRng { state: [next(), next(), next(), next()] }
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
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
}

impl VirtioBackend for VirtioRng {
    fn device_id(&self) -> u32 {
        4
    }
    fn kind(&self) -> &'static str {
        "virtio-rng"
    }
    fn features(&self) -> u64 {
        0
    }
    fn queue_count(&self) -> usize {
        1
    }
    fn config_byte(&self, _offset: u64) -> u8 {
        0
    }
    fn process(&mut self, _queue: usize, chain: &[Segment], ram: &mut Ram) -> Result<u32, String> {
        let len = writable_len(chain).min(1 << 16) as usize;
        let mut bytes = Vec::with_capacity(len + 8);
        while bytes.len() < len {
            bytes.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        bytes.truncate(len);
        Ok(write_all(ram, chain, &bytes))
    }
    fn save(&self) -> Vec<u8> {
        encode_state(&self.state)
    }
    fn restore(&mut self, state: &[u8]) -> Result<(), RestoreError> {
        self.state = decode_state("virtio-rng", state)?;
        Ok(())
    }
    fn inspect(&self) -> Vec<(String, String)> {
        vec![("prng".into(), "xoshiro256** (seeded)".into())]
    }
}
