//! ext2, ext3 and ext4 through `ext4-view`, which checks metadata checksums, reads htree
//! directories and replays the journal in memory, so a crash-consistent snapshot of a
//! live system reads as the system would after recovery.
//!
//! `ext4-view` handles are `!Send` (they share state through `Rc`): a thread that wants to
//! walk opens its own handle over the shared source.

use super::{DirEntry, FileReader, FileType, Filesystem, FsError, Metadata};
use crate::source::ReadAt;
use ext4_view::{Ext4, Ext4Error, Ext4Read};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Offset of the ext superblock in the partition.
const SUPERBLOCK_OFFSET: u64 = 1024;
/// `s_magic`.
const EXT_MAGIC: u16 = 0xEF53;

const COMPAT_HAS_JOURNAL: u32 = 0x4;
const INCOMPAT_EXTENTS: u32 = 0x40;
const INCOMPAT_64BIT: u32 = 0x80;
const INCOMPAT_FLEX_BG: u32 = 0x200;
const RO_COMPAT_HUGE_FILE: u32 = 0x8;
const RO_COMPAT_GDT_CSUM: u32 = 0x10;
const RO_COMPAT_DIR_NLINK: u32 = 0x20;
const RO_COMPAT_EXTRA_ISIZE: u32 = 0x40;
const RO_COMPAT_METADATA_CSUM: u32 = 0x400;

/// The superblock fields needed to tell ext2, ext3 and ext4 apart.
struct Features {
    compat: u32,
    incompat: u32,
    ro_compat: u32,
}

fn read_features(source: &dyn ReadAt) -> std::io::Result<Option<Features>> {
    if source.len() < SUPERBLOCK_OFFSET + 1024 {
        return Ok(None);
    }
    let mut superblock = [0u8; 0x68];
    source.read_exact_at(SUPERBLOCK_OFFSET, &mut superblock)?;
    let field = |offset: usize| {
        u32::from_le_bytes([superblock[offset], superblock[offset + 1], superblock[offset + 2], superblock[offset + 3]])
    };
    if u16::from_le_bytes([superblock[0x38], superblock[0x39]]) != EXT_MAGIC {
        return Ok(None);
    }
    Ok(Some(Features { compat: field(0x5C), incompat: field(0x60), ro_compat: field(0x64) }))
}

/// True when the ext superblock magic is present.
pub fn looks_like_ext(source: &dyn ReadAt) -> std::io::Result<bool> {
    Ok(read_features(source)?.is_some())
}

fn kind_of(features: &Features) -> &'static str {
    let ext4_incompat = INCOMPAT_EXTENTS | INCOMPAT_64BIT | INCOMPAT_FLEX_BG;
    let ext4_ro_compat = RO_COMPAT_HUGE_FILE
        | RO_COMPAT_GDT_CSUM
        | RO_COMPAT_DIR_NLINK
        | RO_COMPAT_EXTRA_ISIZE
        | RO_COMPAT_METADATA_CSUM;
    if features.incompat & ext4_incompat != 0 || features.ro_compat & ext4_ro_compat != 0 {
        "ext4"
    } else if features.compat & COMPAT_HAS_JOURNAL != 0 {
        "ext3"
    } else {
        "ext2"
    }
}

/// Adapter from our `ReadAt` to `ext4-view`'s reader.
struct Reader(Arc<dyn ReadAt>);

impl Ext4Read for Reader {
    fn read(
        &mut self,
        start_byte: u64,
        dst: &mut [u8],
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync + 'static>> {
        self.0.read_exact_at(start_byte, dst).map_err(Into::into)
    }
}

/// An ext2/3/4 filesystem.
pub struct ExtFilesystem {
    inner: Ext4,
    kind: &'static str,
}

impl ExtFilesystem {
    /// Open the filesystem (reads the superblock, group descriptors and journal).
    pub fn open(source: Arc<dyn ReadAt>) -> Result<Self, FsError> {
        let features =
            read_features(source.as_ref())?.ok_or_else(|| FsError::Corrupt("no ext superblock magic".to_string()))?;
        let inner = Ext4::load(Box::new(Reader(source))).map_err(convert)?;
        Ok(Self { inner, kind: kind_of(&features) })
    }
}

impl ExtFilesystem {
    /// The entries of a directory without `.` and `..`, each with `extra(entry)`.
    fn entries<T>(
        &self,
        bytes: &[u8],
        extra: impl Fn(&ext4_view::DirEntry) -> T,
    ) -> Result<Vec<(DirEntry, T)>, FsError> {
        let mut entries = Vec::new();
        for entry in self.inner.read_dir(path(bytes)?).map_err(convert)? {
            let entry = entry.map_err(convert)?;
            let name = entry.file_name();
            let name: &[u8] = name.as_ref();
            if name == b"." || name == b".." {
                continue;
            }
            let file_type = entry.file_type().ok().map(file_type);
            entries.push((DirEntry { name: name.to_vec(), file_type }, extra(&entry)));
        }
        Ok(entries)
    }
}

fn convert(error: Ext4Error) -> FsError {
    match error {
        Ext4Error::NotFound => FsError::NotFound,
        Ext4Error::NotADirectory => FsError::NotADirectory,
        Ext4Error::IsADirectory | Ext4Error::IsASpecialFile => FsError::NotAFile,
        Ext4Error::NotASymlink => FsError::NotASymlink,
        Ext4Error::TooManySymlinks => FsError::TooManySymlinks,
        Ext4Error::Io(inner) => FsError::Io(std::io::Error::other(inner.to_string())),
        Ext4Error::Incompatible(inner) => FsError::Unsupported(inner.to_string()),
        Ext4Error::Encrypted => FsError::Unsupported("encrypted file".to_string()),
        other => FsError::Corrupt(other.to_string()),
    }
}

fn file_type(kind: ext4_view::FileType) -> FileType {
    use ext4_view::FileType as Ext;
    match kind {
        Ext::Regular => FileType::Regular,
        Ext::Directory => FileType::Directory,
        Ext::Symlink => FileType::Symlink,
        Ext::CharacterDevice => FileType::CharDevice,
        Ext::BlockDevice => FileType::BlockDevice,
        Ext::Fifo => FileType::Fifo,
        Ext::Socket => FileType::Socket,
    }
}

fn metadata(metadata: &ext4_view::Metadata) -> Metadata {
    let mut hasher = std::hash::DefaultHasher::new();
    (metadata.mode(), metadata.uid(), metadata.gid(), metadata.len()).hash(&mut hasher);
    for time in [Some(metadata.accessed()), Some(metadata.modified()), metadata.created()].into_iter().flatten() {
        (time.seconds(), time.nanoseconds()).hash(&mut hasher);
    }
    Metadata {
        file_type: file_type(metadata.file_type()),
        mode: u32::from(metadata.mode()) & 0o7777,
        size: metadata.len(),
        identity: None,
        fingerprint: hasher.finish(),
        modified: metadata.modified().seconds(),
    }
}

fn path(bytes: &[u8]) -> Result<ext4_view::Path<'_>, FsError> {
    ext4_view::Path::try_from(bytes)
        .map_err(|_| FsError::Corrupt(format!("malformed path {}", super::path::display(bytes))))
}

impl Filesystem for ExtFilesystem {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn uuid(&self) -> Option<String> {
        Some(self.inner.uuid().to_string())
    }

    fn label(&self) -> Option<String> {
        let label = self.inner.label().display().to_string();
        (!label.is_empty()).then_some(label)
    }

    fn symlink_metadata(&self, bytes: &[u8]) -> Result<Metadata, FsError> {
        Ok(metadata(&self.inner.symlink_metadata(path(bytes)?).map_err(convert)?))
    }

    fn read_dir_with_metadata(&self, bytes: &[u8]) -> Result<Vec<super::EntryWithMetadata>, FsError> {
        // Reads each entry's inode directly instead of resolving its path again.
        self.entries(bytes, |entry| entry.metadata().map(|found| metadata(&found)).map_err(convert))
    }

    fn read_dir(&self, bytes: &[u8]) -> Result<Vec<DirEntry>, FsError> {
        Ok(self.entries(bytes, |_| ())?.into_iter().map(|(entry, ())| entry).collect())
    }

    fn read_link(&self, bytes: &[u8]) -> Result<Vec<u8>, FsError> {
        let target = self.inner.read_link(path(bytes)?).map_err(convert)?;
        Ok(target.as_ref().to_vec())
    }

    fn open(&self, bytes: &[u8]) -> Result<Box<dyn FileReader + '_>, FsError> {
        let metadata = self.inner.symlink_metadata(path(bytes)?).map_err(convert)?;
        if metadata.file_type() != ext4_view::FileType::Regular {
            return Err(FsError::NotAFile);
        }
        let file = self.inner.open(path(bytes)?).map_err(convert)?;
        Ok(Box::new(ExtFile { size: metadata.len(), file }))
    }
}

struct ExtFile {
    size: u64,
    file: ext4_view::File,
}

impl FileReader for ExtFile {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
        if offset >= self.size {
            return Ok(0);
        }
        if self.file.position() != offset {
            self.file.seek_to(offset).map_err(convert)?;
        }
        self.file.read_bytes(buf).map_err(convert)
    }
}
