//! Scanning JSON text a word at a time: shared by the flat-row decoder, the JSON writer and
//! the key cache, which all ask where a string needs care.

/// The place of the first quote, backslash or control character: where a JSON string's
/// contents end when read, and the first byte to escape when one is written.
///
/// Eight bytes are looked at in one step (the usual bit tricks on a word: a byte that is zero
/// after an exclusive or, or below 0x20, sets its top bit; a byte above the first match may be
/// marked too, but the lowest marked byte is always the first match).
#[inline]
pub(super) fn first_special_byte(rest: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const TOPS: u64 = u64::from_ne_bytes([0x80; 8]);
    let zero_byte = |word: u64| word.wrapping_sub(ONES) & !word & TOPS;
    let mut words = rest.chunks_exact(8);
    let mut offset = 0;
    for chunk in words.by_ref() {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        let found = zero_byte(word ^ (ONES * u64::from(b'"')))
            | zero_byte(word ^ (ONES * u64::from(b'\\')))
            | (word.wrapping_sub(ONES * 0x20) & !word & TOPS);
        if found != 0 {
            return Some(offset + found.trailing_zeros() as usize / 8);
        }
        offset += 8;
    }
    let tail = words.remainder();
    let at = tail
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    Some(offset + at)
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;

    #[test]
    fn a_string_ends_at_its_first_quote_backslash_or_control_character() {
        let mut rng = StdRng::seed_from_u64(11);
        let bytes = [
            b'a', b'Z', b' ', b'"', b'\\', 0x00, 0x1f, 0x20, 0x21, 0x7f, 0x80, 0xff,
        ];
        for _ in 0..50_000 {
            let length = rng.random_range(0..40);
            let text: Vec<u8> = (0..length)
                .map(|_| match rng.random_range(0..4) {
                    0 => bytes[rng.random_range(0..bytes.len())],
                    _ => b'x',
                })
                .collect();
            let expected = text
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            assert_eq!(first_special_byte(&text), expected, "{text:?}");
        }
    }
}
