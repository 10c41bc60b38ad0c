//! A window onto another source: a partition is a slice of its disk.

use super::{Prefetched, ReadAt, check_range};
use std::io;
use std::sync::Arc;

/// Bytes `[offset, offset + length)` of an inner source.
#[derive(Clone)]
pub struct Slice {
    inner: Arc<dyn ReadAt>,
    offset: u64,
    length: u64,
}

impl Slice {
    /// A slice that must lie inside `inner`; `None` when it does not.
    pub fn new(inner: Arc<dyn ReadAt>, offset: u64, length: u64) -> Option<Self> {
        let end = offset.checked_add(length)?;
        (end <= inner.len()).then_some(Self { inner, offset, length })
    }

    /// Offset of the slice in the inner source.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

impl ReadAt for Slice {
    fn len(&self) -> u64 {
        self.length
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.length)?;
        // Cannot overflow: offset + len <= length and self.offset + length <= inner length.
        self.inner.read_exact_at(self.offset + offset, buf)
    }

    fn prefetch(&self, offset: u64, length: u64) -> Prefetched {
        // Only the part inside the slice, translated to the inner source.
        let end = offset.saturating_add(length).min(self.length);
        if offset < end { self.inner.prefetch(self.offset + offset, end - offset) } else { Prefetched::default() }
    }

    fn keep(&self, offset: u64, length: u64) -> Prefetched {
        let end = offset.saturating_add(length).min(self.length);
        if offset < end { self.inner.keep(self.offset + offset, end - offset) } else { Prefetched::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inside_and_refuses_outside() {
        let disk: Arc<dyn ReadAt> = Arc::new((0u8..=255).collect::<Vec<u8>>());
        let slice = Slice::new(Arc::clone(&disk), 10, 20).unwrap();
        let mut buf = [0u8; 4];
        slice.read_exact_at(16, &mut buf).unwrap();
        assert_eq!(buf, [26, 27, 28, 29]);
        assert!(slice.read_exact_at(17, &mut buf).is_err());
        assert!(slice.read_exact_at(u64::MAX, &mut buf).is_err());
        assert!(Slice::new(Arc::clone(&disk), 250, 10).is_none());
        assert!(Slice::new(disk, u64::MAX, 2).is_none());
    }
}
