//! Sources of disk bytes: a local image file today, an EBS snapshot later.
//!
//! Everything above this module reads through one method, [`ReadAt::read_exact_at`], so a
//! remote snapshot is just another reader. Sources are shared between threads, count what
//! they read (the `Scan` reports it), and never read more than they are asked for.

pub mod cache;
pub mod ebs;
pub mod file;
pub mod slice;

pub use cache::CachedSource;
pub use file::FileSource;
pub use slice::Slice;

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

/// Random-access, thread-safe read of a fixed-length byte range (a disk, a partition).
pub trait ReadAt: Send + Sync {
    /// Length in bytes.
    fn len(&self) -> u64;

    /// Fill `buf` from `offset`; fail (never short-read) when the range is past the end.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;

    /// True when the source has no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A hint that `[offset, offset + length)` will be read while the returned guard lives:
    /// a slow source (an EBS snapshot) starts fetching it without waiting and keeps it in
    /// memory until the guard drops, however many other reads pass by meanwhile; others
    /// ignore it. Never an error.
    fn prefetch(&self, offset: u64, length: u64) -> Prefetched {
        let _ = (offset, length);
        Prefetched::default()
    }

    /// A hint that `[offset, offset + length)` will be read while the returned guard lives,
    /// but not soon: nothing is fetched for it, and a slow source keeps its bytes once a
    /// read brings them in (a directory waiting to be listed whose block a sibling's
    /// listing fetches). Others ignore it. Never an error.
    fn keep(&self, offset: u64, length: u64) -> Prefetched {
        let _ = (offset, length);
        Prefetched::default()
    }
}

/// What a [`ReadAt::prefetch`] or [`ReadAt::keep`] keeps in memory until it is dropped (nothing for sources
/// that read fast anyway).
#[derive(Default)]
#[must_use = "the prefetched bytes are kept only while this lives"]
pub struct Prefetched(Vec<Box<dyn std::any::Any + Send + Sync>>);

impl Prefetched {
    /// A guard keeping `held` alive.
    pub fn holding(held: Vec<Box<dyn std::any::Any + Send + Sync>>) -> Self {
        Self(held)
    }

    /// Keep what `other` keeps, too.
    pub fn extend(&mut self, other: Prefetched) {
        self.0.extend(other.0);
    }
}

impl std::fmt::Debug for Prefetched {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Prefetched").field("held", &self.0.len()).finish()
    }
}

/// Error for a read that would go past the end of a source.
pub fn out_of_range(offset: u64, length: usize, source_length: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("read of {length} bytes at offset {offset} is past the end ({source_length} bytes)"),
    )
}

/// Check that `[offset, offset + length)` lies inside `source_length`.
pub fn check_range(offset: u64, length: usize, source_length: u64) -> io::Result<()> {
    let end = u64::try_from(length).ok().and_then(|length| offset.checked_add(length));
    match end {
        Some(end) if end <= source_length => Ok(()),
        _ => Err(out_of_range(offset, length, source_length)),
    }
}

/// Byte and call counters a source keeps; read by the `Scan` statistics.
#[derive(Debug, Default)]
pub struct ReadCounters {
    bytes_read: AtomicU64,
    read_calls: AtomicU64,
}

impl ReadCounters {
    /// Record one read of `bytes` bytes.
    pub fn record(&self, bytes: usize) {
        self.read_calls.fetch_add(1, Ordering::Relaxed);
        self.bytes_read.fetch_add(u64::try_from(bytes).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }

    /// Read calls so far.
    pub fn read_calls(&self) -> u64 {
        self.read_calls.load(Ordering::Relaxed)
    }
}

/// In-memory source, for tests and for small embedded images.
impl ReadAt for Vec<u8> {
    fn len(&self) -> u64 {
        u64::try_from(self.as_slice().len()).unwrap_or(u64::MAX)
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), ReadAt::len(self))?;
        let start = usize::try_from(offset).map_err(|_| out_of_range(offset, buf.len(), 0))?;
        let end = start + buf.len();
        buf.copy_from_slice(&self[start..end]);
        Ok(())
    }
}
