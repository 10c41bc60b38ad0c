//! CRC32c (Castagnoli), the checksum XFS v5 puts on every metadata block.
//!
//! XFS computes it over the whole structure with the checksum field read as zeros, and
//! stores the inverted result little-endian. Written here (a 1 KiB table, no dependency)
//! because `crc32fast`, already a dependency, only does the IEEE polynomial.

/// The reflected Castagnoli polynomial.
const POLYNOMIAL: u32 = 0x82F6_3B78;

/// Byte-at-a-time lookup table, built at compile time.
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut index = 0usize;
    while index < 256 {
        let mut value = index as u32;
        let mut bit = 0;
        while bit < 8 {
            value = if value & 1 == 1 { (value >> 1) ^ POLYNOMIAL } else { value >> 1 };
            bit += 1;
        }
        table[index] = value;
        index += 1;
    }
    table
};

/// Continue a CRC32c over `bytes` from the running (not yet inverted) `state`.
fn update(mut state: u32, bytes: &[u8]) -> u32 {
    for &byte in bytes {
        let index = usize::from((state as u8) ^ byte);
        state = (state >> 8) ^ TABLE.get(index).copied().unwrap_or(0);
    }
    state
}

/// CRC32c of `bytes` (initial value and final inversion as in iSCSI and XFS); tests use
/// it to seal the structures they build.
#[cfg(test)]
pub fn checksum(bytes: &[u8]) -> u32 {
    !update(!0, bytes)
}

/// True when the little-endian CRC32c stored at `field` in `bytes` matches the rest of
/// `bytes` with that field taken as zero, which is how XFS checksums its metadata.
pub fn verify(bytes: &[u8], field: usize) -> bool {
    let (Some(before), Some(stored), Some(after)) =
        (bytes.get(..field), bytes.get(field..field.saturating_add(4)), bytes.get(field.saturating_add(4)..))
    else {
        return false;
    };
    let mut state = update(!0, before);
    state = update(state, &[0u8; 4]);
    state = update(state, after);
    stored == (!state).to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // The check value of CRC-32C from the CRC catalogue, and RFC 3720's zero vector.
        assert_eq!(checksum(b"123456789"), 0xE306_9283);
        assert_eq!(checksum(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(checksum(b""), 0);
    }

    #[test]
    fn verify_reads_the_field_as_zero() {
        let mut block = vec![7u8; 64];
        block[8..12].copy_from_slice(&[0; 4]);
        let crc = checksum(&block);
        block[8..12].copy_from_slice(&crc.to_le_bytes());
        assert!(verify(&block, 8));
        block[20] ^= 1;
        assert!(!verify(&block, 8));
        assert!(!verify(&block, 62), "a field running past the end never verifies");
        assert!(!verify(&[], 0));
    }
}
