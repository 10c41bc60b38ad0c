//! A local disk image read with positional reads (`pread`), so threads never share a cursor.

use super::{ReadAt, ReadCounters, check_range};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A raw disk image file.
#[derive(Debug)]
pub struct FileSource {
    file: File,
    path: PathBuf,
    length: u64,
    counters: Arc<ReadCounters>,
}

impl FileSource {
    /// Open `path` read-only; a block device or regular file of any length.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = File::open(path)?;
        let metadata = file.metadata()?;
        if metadata.is_dir() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "is a directory"));
        }
        // A block device reports length 0 in metadata; seeking to the end finds its size.
        let length = if metadata.len() == 0 {
            use std::io::Seek;
            (&file).seek(io::SeekFrom::End(0))?
        } else {
            metadata.len()
        };
        Ok(Self { file, path: path.to_path_buf(), length, counters: Arc::default() })
    }

    /// The image's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Counters shared with the scan's statistics.
    pub fn counters(&self) -> Arc<ReadCounters> {
        Arc::clone(&self.counters)
    }
}

impl ReadAt for FileSource {
    fn len(&self) -> u64 {
        self.length
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.length)?;
        self.file.read_exact_at(buf, offset)?;
        self.counters.record(buf.len());
        Ok(())
    }
}
