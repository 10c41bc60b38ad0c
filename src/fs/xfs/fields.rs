//! Checked big-endian field reads from on-disk XFS structures.
//!
//! XFS stores every integer big-endian (only CRCs are little-endian). Each read names the
//! structure it came from, so a short or truncated buffer becomes a clear "corrupt" error
//! rather than a panic on an out-of-range index.

use crate::fs::FsError;

/// A byte buffer holding one named on-disk structure.
#[derive(Clone, Copy)]
pub struct Fields<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Fields<'a> {
    /// Wrap `bytes` holding a structure called `what` (used in error messages).
    pub fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Self { bytes, what }
    }

    /// `length` bytes at `offset`.
    pub fn slice(&self, offset: usize, length: usize) -> Result<&'a [u8], FsError> {
        offset.checked_add(length).and_then(|end| self.bytes.get(offset..end)).ok_or_else(|| {
            FsError::Corrupt(format!(
                "{}: {length} bytes at offset {offset} run past its end ({} bytes)",
                self.what,
                self.bytes.len()
            ))
        })
    }

    fn array<const N: usize>(&self, offset: usize) -> Result<[u8; N], FsError> {
        let mut array = [0u8; N];
        array.copy_from_slice(self.slice(offset, N)?);
        Ok(array)
    }

    /// One byte.
    pub fn u8(&self, offset: usize) -> Result<u8, FsError> {
        Ok(u8::from_be_bytes(self.array(offset)?))
    }

    /// A big-endian `u16`.
    pub fn u16(&self, offset: usize) -> Result<u16, FsError> {
        Ok(u16::from_be_bytes(self.array(offset)?))
    }

    /// A big-endian `u32`.
    pub fn u32(&self, offset: usize) -> Result<u32, FsError> {
        Ok(u32::from_be_bytes(self.array(offset)?))
    }

    /// A big-endian `u64`.
    pub fn u64(&self, offset: usize) -> Result<u64, FsError> {
        Ok(u64::from_be_bytes(self.array(offset)?))
    }

    /// A corrupt-structure error naming this structure.
    pub fn corrupt(&self, message: impl std::fmt::Display) -> FsError {
        FsError::Corrupt(format!("{}: {message}", self.what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_and_refuses_short_buffers() {
        let bytes = [0x58, 0x46, 0x53, 0x42, 0, 0, 0x10, 0, 1, 2, 3, 4, 5, 6, 7, 8];
        let fields = Fields::new(&bytes, "test structure");
        assert_eq!(fields.u32(0).unwrap(), 0x5846_5342);
        assert_eq!(fields.u16(6).unwrap(), 0x1000);
        assert_eq!(fields.u64(8).unwrap(), 0x0102_0304_0506_0708);
        assert_eq!(fields.u8(15).unwrap(), 8);
        let error = fields.u32(14).unwrap_err().to_string();
        assert!(error.contains("test structure") && error.contains("offset 14"), "{error}");
        assert!(fields.slice(usize::MAX, 2).is_err());
    }
}
