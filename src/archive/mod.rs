//! Readers for containers found inside files: ZIP archives (Java jars) and ELF section
//! tables (Go build info, cargo-auditable). Both read positionally through a
//! [`FileReader`], so only the headers and the parts a cataloger asks for are read, never
//! a whole binary or archive; both treat every byte as hostile (checked arithmetic,
//! capped allocations, errors instead of panics).

// Bytes here come from files on a scanned disk: no panicking indexing, unchecked
// arithmetic or lossy casts outside tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::as_conversions,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

pub mod elf;
pub mod zip;

use crate::fs::{FileReader, FsError};

/// Byte order of the fields being decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endian {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

impl Endian {
    /// The `N` bytes at `offset`, or `None` when they are not all in `bytes`.
    fn array<const N: usize>(bytes: &[u8], offset: usize) -> Option<[u8; N]> {
        let end = offset.checked_add(N)?;
        bytes.get(offset..end)?.try_into().ok()
    }

    /// A `u16` at `offset`, or `None` past the end.
    pub fn u16(self, bytes: &[u8], offset: usize) -> Option<u16> {
        let array = Self::array::<2>(bytes, offset)?;
        Some(match self {
            Self::Little => u16::from_le_bytes(array),
            Self::Big => u16::from_be_bytes(array),
        })
    }

    /// A `u32` at `offset`, or `None` past the end.
    pub fn u32(self, bytes: &[u8], offset: usize) -> Option<u32> {
        let array = Self::array::<4>(bytes, offset)?;
        Some(match self {
            Self::Little => u32::from_le_bytes(array),
            Self::Big => u32::from_be_bytes(array),
        })
    }

    /// A `u64` at `offset`, or `None` past the end.
    pub fn u64(self, bytes: &[u8], offset: usize) -> Option<u64> {
        let array = Self::array::<8>(bytes, offset)?;
        Some(match self {
            Self::Little => u64::from_le_bytes(array),
            Self::Big => u64::from_be_bytes(array),
        })
    }
}

/// Fill `buffer` from `offset` of `reader`, failing when the file ends first.
pub fn read_exact(reader: &mut dyn FileReader, offset: u64, buffer: &mut [u8]) -> Result<(), FsError> {
    let mut filled = 0usize;
    while let Some(rest) = buffer.get_mut(filled..) {
        if rest.is_empty() {
            break;
        }
        let position = u64::try_from(filled).ok().and_then(|filled| offset.checked_add(filled));
        let Some(position) = position else {
            return Err(FsError::Corrupt(format!("read at offset {offset} overflows")));
        };
        let got = reader.read_at(position, rest)?;
        if got == 0 {
            return Err(FsError::Corrupt(format!(
                "file ended at byte {position}, inside a {}-byte read at offset {offset}",
                buffer.len()
            )));
        }
        filled = filled.saturating_add(got);
    }
    Ok(())
}

/// Why a byte range of a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RangeError {
    /// The range runs past the end of the file (the file's own fields point outside it).
    #[error("{length} bytes at offset {offset} run past the end of the {size}-byte file")]
    PastEnd {
        /// Start of the range.
        offset: u64,
        /// Length of the range.
        length: u64,
        /// Size of the file.
        size: u64,
    },
    /// The range is longer than the caller allows.
    #[error("{length} bytes is over the {limit}-byte limit")]
    TooLarge {
        /// Length of the range.
        length: u64,
        /// The cap asked for.
        limit: u64,
    },
    /// Reading the file failed.
    #[error(transparent)]
    Read(#[from] FsError),
}

/// Read `length` bytes at `offset`, refusing lengths over `limit` before allocating.
pub fn read_range(reader: &mut dyn FileReader, offset: u64, length: u64, limit: u64) -> Result<Vec<u8>, RangeError> {
    if length > limit {
        return Err(RangeError::TooLarge { length, limit });
    }
    let size = reader.size();
    if offset.checked_add(length).is_none_or(|end| end > size) {
        return Err(RangeError::PastEnd { offset, length, size });
    }
    let count = usize::try_from(length).map_err(|_| RangeError::TooLarge { length, limit })?;
    let mut bytes = vec![0u8; count];
    read_exact(reader, offset, &mut bytes)?;
    Ok(bytes)
}

/// A file held in memory (an inflated nested archive, or test data).
pub struct MemoryReader(pub Vec<u8>);

impl FileReader for MemoryReader {
    fn size(&self) -> u64 {
        u64::try_from(self.0.len()).unwrap_or(u64::MAX)
    }

    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<usize, FsError> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.0.len());
        let available = self.0.get(start..).unwrap_or_default();
        let count = buffer.len().min(available.len());
        if let (Some(target), Some(source)) = (buffer.get_mut(..count), available.get(..count)) {
            target.copy_from_slice(source);
        }
        Ok(count)
    }
}

/// A byte range of another file, read in place (a stored entry of a ZIP archive).
pub struct SliceReader<'a> {
    parent: &'a mut dyn FileReader,
    start: u64,
    length: u64,
}

impl<'a> SliceReader<'a> {
    /// The `length` bytes of `parent` from `start`; fails when they are not all there.
    pub fn new(parent: &'a mut dyn FileReader, start: u64, length: u64) -> Result<Self, FsError> {
        if start.checked_add(length).is_none_or(|end| end > parent.size()) {
            return Err(FsError::Corrupt(format!(
                "range of {length} bytes at offset {start} is past the end of the {}-byte file",
                parent.size()
            )));
        }
        Ok(Self { parent, start, length })
    }
}

impl FileReader for SliceReader<'_> {
    fn size(&self) -> u64 {
        self.length
    }

    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<usize, FsError> {
        let remaining = self.length.saturating_sub(offset);
        let count = usize::try_from(remaining).unwrap_or(usize::MAX).min(buffer.len());
        let Some(target) = buffer.get_mut(..count) else {
            return Ok(0);
        };
        if target.is_empty() {
            return Ok(0);
        }
        // `offset < length` here and `start + length` was checked, so this cannot overflow.
        let position = self.start.saturating_add(offset);
        self.parent.read_at(position, target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endian_reads_are_checked() {
        let bytes = [1u8, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(Endian::Little.u16(&bytes, 0), Some(0x0201));
        assert_eq!(Endian::Big.u32(&bytes, 4), Some(0x0506_0708));
        assert_eq!(Endian::Little.u64(&bytes, 0), Some(0x0807_0605_0403_0201));
        assert_eq!(Endian::Little.u64(&bytes, 1), None);
        assert_eq!(Endian::Big.u16(&bytes, usize::MAX), None);
    }

    #[test]
    fn slices_stay_inside_their_range() {
        let mut parent = MemoryReader(b"0123456789".to_vec());
        assert!(SliceReader::new(&mut parent, 8, 3).is_err());
        assert!(SliceReader::new(&mut parent, u64::MAX, 2).is_err());
        let mut slice = SliceReader::new(&mut parent, 2, 5).unwrap();
        let mut buffer = [0u8; 8];
        assert_eq!(slice.read_at(0, &mut buffer).unwrap(), 5);
        assert_eq!(&buffer[..5], b"23456");
        assert_eq!(slice.read_at(4, &mut buffer).unwrap(), 1);
        assert_eq!(slice.read_at(5, &mut buffer).unwrap(), 0);
        assert_eq!(slice.read_at(u64::MAX, &mut buffer).unwrap(), 0);
    }

    #[test]
    fn read_range_refuses_before_allocating() {
        let mut file = MemoryReader(vec![0u8; 16]);
        assert!(matches!(read_range(&mut file, 0, 1 << 40, 1024), Err(RangeError::TooLarge { .. })));
        assert!(matches!(
            read_range(&mut file, 10, 7, 1024),
            Err(RangeError::PastEnd { offset: 10, length: 7, size: 16 })
        ));
        assert!(read_range(&mut file, 10, 7, 1024).is_err());
        assert!(read_range(&mut file, u64::MAX, 2, 1024).is_err());
        assert_eq!(read_range(&mut file, 10, 6, 1024).unwrap().len(), 6);
    }
}
