//! Small helpers shared by the devices for sub-word and multi-word register accesses.

/// Mask of the low `size` bytes (any size above 8 is treated as 8).
pub(crate) fn size_mask(size: u8) -> u64 {
    match size {
        0 => 0,
        1..=7 => (1u64 << (8 * u32::from(size))) - 1,
        _ => u64::MAX,
    }
}

/// The `size` bytes at byte offset `byte` of the little-endian register `word`.
pub(crate) fn extract(word: u64, byte: u64, size: u8) -> u64 {
    if byte >= 8 {
        return 0;
    }
    (word >> (8 * byte)) & size_mask(size)
}

/// `word` with the `size` bytes at byte offset `byte` replaced by the low bytes of `value`; bytes past the
/// register's end are dropped.
pub(crate) fn merge(word: u64, byte: u64, size: u8, value: u64) -> u64 {
    if byte >= 8 {
        return word;
    }
    let shift = 8 * byte;
    let mask = size_mask(size) << shift;
    (word & !mask) | ((value << shift) & mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_and_extract_handle_halves_and_bytes() {
        assert_eq!(merge(u64::MAX, 0, 4, 0x1234), 0xffff_ffff_0000_1234);
        assert_eq!(merge(u64::MAX, 4, 4, 0), 0x0000_0000_ffff_ffff);
        assert_eq!(merge(0, 7, 4, 0xaabb), 0xbb00_0000_0000_0000);
        assert_eq!(extract(0x1122_3344_5566_7788, 4, 4), 0x1122_3344);
        assert_eq!(extract(0x1122_3344_5566_7788, 1, 1), 0x77);
        assert_eq!(extract(0x1122_3344_5566_7788, 0, 8), 0x1122_3344_5566_7788);
        assert_eq!(extract(1, 9, 1), 0);
    }
}
