//! A bounded page cache in front of a source.
//!
//! Filesystem readers ask for the same metadata again and again: `ext4-view` keeps only
//! 256 KiB of blocks and reads 32 KiB at a time, so a walk re-reads inode tables and
//! directory blocks many times. Below it, this cache keeps recently read 4 KiB pages (an
//! LRU bounded in bytes), so each page of the disk is normally read from the source once.
//! Missing pages of one request are read in contiguous runs, so read calls stay few.

use super::{Prefetched, ReadAt, check_range};
use lru::LruCache;
use std::io;
use std::sync::{Arc, Mutex};

/// Cache page size: the common filesystem block size.
pub const PAGE_SIZE: u64 = 4096;

/// An LRU page cache over an inner source.
pub struct CachedSource {
    inner: Arc<dyn ReadAt>,
    pages: Mutex<LruCache<u64, Box<[u8]>>>,
}

impl CachedSource {
    /// Cache up to `capacity_bytes` (at least one page) of `inner`.
    pub fn new(inner: Arc<dyn ReadAt>, capacity_bytes: u64) -> Self {
        let count = usize::try_from(capacity_bytes / PAGE_SIZE).unwrap_or(usize::MAX).max(1);
        let capacity = std::num::NonZeroUsize::new(count).unwrap_or(std::num::NonZeroUsize::MIN);
        Self { inner, pages: Mutex::new(LruCache::new(capacity)) }
    }

    /// Read pages `[first, first + count)` from the inner source in one call; the last page
    /// may be short at the end of the source.
    fn fetch(&self, first: u64, count: u64) -> io::Result<Vec<u8>> {
        let start = first * PAGE_SIZE;
        let end = ((first + count) * PAGE_SIZE).min(self.inner.len());
        let length = usize::try_from(end - start).map_err(io::Error::other)?;
        let mut buffer = vec![0u8; length];
        self.inner.read_exact_at(start, &mut buffer)?;
        Ok(buffer)
    }
}

impl ReadAt for CachedSource {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn prefetch(&self, offset: u64, length: u64) -> Prefetched {
        self.inner.prefetch(offset, length)
    }

    fn keep(&self, offset: u64, length: u64) -> Prefetched {
        self.inner.keep(offset, length)
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.len())?;
        if buf.is_empty() {
            return Ok(());
        }
        let end = offset + buf.len() as u64;
        let first_page = offset / PAGE_SIZE;
        let last_page = (end - 1) / PAGE_SIZE;
        let mut page = first_page;
        while page <= last_page {
            // Copy cached pages; gather a run of missing ones and fetch it in one read.
            let cached = {
                let mut pages = self.pages.lock().map_err(|_| io::Error::other("page cache lock poisoned"))?;
                pages.get(&page).map(|data| copy_into(buf, offset, page, data))
            };
            if cached.is_some() {
                page += 1;
                continue;
            }
            let mut run_end = page + 1;
            {
                let pages = self.pages.lock().map_err(|_| io::Error::other("page cache lock poisoned"))?;
                while run_end <= last_page && !pages.contains(&run_end) {
                    run_end += 1;
                }
            }
            let data = self.fetch(page, run_end - page)?;
            let mut pages = self.pages.lock().map_err(|_| io::Error::other("page cache lock poisoned"))?;
            for (index, chunk) in data.chunks(PAGE_SIZE as usize).enumerate() {
                let number = page + index as u64;
                copy_into(buf, offset, number, chunk);
                pages.put(number, chunk.into());
            }
            page = run_end;
        }
        Ok(())
    }
}

/// Copy the part of page `number` (holding `data`) that overlaps the request into `buf`.
fn copy_into(buf: &mut [u8], offset: u64, number: u64, data: &[u8]) {
    let page_start = number * PAGE_SIZE;
    let request_end = offset + buf.len() as u64;
    let from = offset.max(page_start);
    let to = request_end.min(page_start + data.len() as u64);
    if from >= to {
        return;
    }
    let source = &data[(from - page_start) as usize..(to - page_start) as usize];
    buf[(from - offset) as usize..(to - offset) as usize].copy_from_slice(source);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::ReadCounters;

    struct Counted(Vec<u8>, ReadCounters);
    impl ReadAt for Counted {
        fn len(&self) -> u64 {
            self.0.len() as u64
        }
        fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
            self.1.record(buf.len());
            self.0.read_exact_at(offset, buf)
        }
    }

    #[test]
    fn serves_repeats_from_memory_and_matches_the_source() {
        let bytes: Vec<u8> = (0..40_000u32).map(|value| (value % 251) as u8).collect();
        let inner = Arc::new(Counted(bytes.clone(), ReadCounters::default()));
        let cache = CachedSource::new(Arc::clone(&inner) as Arc<dyn ReadAt>, 64 * 1024);
        for (offset, length) in [(0u64, 10usize), (4090, 20), (100, 12_000), (39_990, 10), (5, 39_995)] {
            let mut buf = vec![0u8; length];
            cache.read_exact_at(offset, &mut buf).unwrap();
            assert_eq!(buf, &bytes[offset as usize..offset as usize + length]);
        }
        // Every page once: 40,000 bytes, in few calls.
        assert_eq!(inner.1.bytes_read(), 40_000);
        assert!(inner.1.read_calls() <= 5, "{}", inner.1.read_calls());
        let mut buf = [0u8; 2];
        assert!(cache.read_exact_at(39_999, &mut buf).is_err());
    }

    #[test]
    fn eviction_keeps_it_bounded_and_correct() {
        let bytes: Vec<u8> = (0..100_000u32).map(|value| (value % 253) as u8).collect();
        let cache = CachedSource::new(Arc::new(bytes.clone()), 8192);
        for offset in (0..99_000u64).step_by(777) {
            let mut buf = [0u8; 1000];
            cache.read_exact_at(offset, &mut buf).unwrap();
            assert_eq!(&buf[..], &bytes[offset as usize..offset as usize + 1000]);
        }
        assert!(cache.pages.lock().unwrap().len() <= 2);
    }
}
