//! ext2, ext3 and ext4 through `ext4-view`, which checks metadata checksums, reads htree
//! directories and replays the journal in memory, so a crash-consistent snapshot of a
//! live system reads as the system would after recovery.
//!
//! `ext4-view` handles are `!Send` (they share state through `Rc`): a thread that wants to
//! walk opens its own handle over the shared source.

use super::{DirEntry, FileReader, FileType, Filesystem, FsError, Metadata};
use crate::archive::Endian;
use crate::source::{Prefetched, ReadAt};
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

/// Where a directory's blocks are, found by a minimal lookup of our own: `ext4-view` does
/// not expose inode numbers or extents, and on a slow source a large directory read one
/// block at a time is a long chain of round trips (`/usr/share/man/man1`: hundreds of
/// blocks spread between the files written into it). Only extent-mapped directories;
/// anything unexpected gives `None` and the listing just goes unhinted.
struct DirectoryLocator {
    source: Arc<dyn ReadAt>,
    block_size: u64,
    inodes_per_group: u64,
    inode_size: u64,
    descriptor_size: u64,
    descriptor_table: u64,
    is_64bit: bool,
    /// Directories located lately, by path: a walk locates each directory's parent just
    /// before it (the parent's own listing), so a lookup starts from there, not the root.
    located: std::sync::Mutex<std::collections::HashMap<Vec<u8>, ByteRanges>>,
}

/// `(offset, length)` of each run of a directory's or file's blocks, in logical order.
type ByteRanges = Vec<(u64, u64)>;

/// Directories remembered by one locator (cleared when full).
const MAXIMUM_LOCATED: usize = 4096;

/// Bytes `ext4-view` reads into its block cache on a miss (its `CacheOpts`: 32 KiB, at
/// least one block): a directory block's hint covers the window read from it.
const EXT4_VIEW_READ_BYTES: u64 = 32 * 1024;
/// Extent tree nodes followed per directory (a guard against loops in corrupt trees).
const MAXIMUM_EXTENT_NODES: usize = 256;
/// Directory bytes scanned per lookup step.
const MAXIMUM_DIRECTORY_BYTES: u64 = 64 << 20;
const EXTENTS_FLAG: u32 = 0x80000;
/// `i_mode` file type bits of a directory and of a regular file.
const MODE_DIRECTORY: u16 = 0x4000;
const MODE_REGULAR: u16 = 0x8000;
const EXTENT_MAGIC: u16 = 0xF30A;
const ROOT_INODE: u64 = 2;
/// Inode records less than this far apart are asked for as one range (one held 4 KiB page).
const INODE_SPAN_GAP: u64 = 4096;

impl DirectoryLocator {
    fn new(source: Arc<dyn ReadAt>) -> Option<Self> {
        let mut superblock = [0u8; 1024];
        source.read_exact_at(SUPERBLOCK_OFFSET, &mut superblock).ok()?;
        let log_block_size = Endian::Little.u32(&superblock, 0x18)?;
        if log_block_size > 6 {
            return None;
        }
        let block_size = 1024u64 << log_block_size;
        let is_64bit = Endian::Little.u32(&superblock, 0x60)? & INCOMPAT_64BIT != 0;
        let descriptor_size = if is_64bit { u64::from(Endian::Little.u16(&superblock, 0xFE)?) } else { 32 };
        let first_data_block = u64::from(Endian::Little.u32(&superblock, 0x14)?);
        let inodes_per_group = u64::from(Endian::Little.u32(&superblock, 0x28)?);
        let inode_size = u64::from(Endian::Little.u16(&superblock, 0x58)?);
        if inodes_per_group == 0 || !(128..=4096).contains(&inode_size) || !(32..=1024).contains(&descriptor_size) {
            return None;
        }
        let descriptor_table = first_data_block.checked_add(1)?.checked_mul(block_size)?;
        Some(Self {
            source,
            block_size,
            inodes_per_group,
            inode_size,
            descriptor_size,
            descriptor_table,
            is_64bit,
            located: std::sync::Mutex::default(),
        })
    }

    fn read(&self, offset: u64, length: u64) -> Option<Vec<u8>> {
        let mut bytes = vec![0u8; usize::try_from(length).ok()?];
        self.source.read_exact_at(offset, &mut bytes).ok()?;
        Some(bytes)
    }

    /// The first 0x80 bytes of inode `number` (mode, size, flags, block map).
    fn inode(&self, number: u64) -> Option<Vec<u8>> {
        self.read(self.inode_offset(number)?, 0x80)
    }

    /// Ask for the inode-table records of `inodes` at once, nearby records as one range;
    /// the guard keeps their pages. Reading many inodes one after another otherwise waits
    /// for each 512 KiB block of the inode table in turn over EBS.
    fn prefetch_inodes(&self, inodes: &[u64]) -> Prefetched {
        let mut offsets: Vec<u64> = inodes.iter().filter_map(|&number| self.inode_offset(number)).collect();
        offsets.sort_unstable();
        let mut prefetched = Prefetched::default();
        let mut span: Option<(u64, u64)> = None;
        for offset in offsets {
            let end = offset.saturating_add(self.inode_size);
            match &mut span {
                Some((_, span_end)) if offset <= span_end.saturating_add(INODE_SPAN_GAP) => {
                    *span_end = (*span_end).max(end);
                }
                _ => {
                    if let Some((start, span_end)) = span.replace((offset, end)) {
                        prefetched.extend(self.source.prefetch(start, span_end - start));
                    }
                }
            }
        }
        if let Some((start, span_end)) = span {
            prefetched.extend(self.source.prefetch(start, span_end - start));
        }
        prefetched
    }

    /// Where the record of inode `number` is: in its group's inode table.
    fn inode_offset(&self, number: u64) -> Option<u64> {
        let index = number.checked_sub(1)?;
        let group = index / self.inodes_per_group;
        let descriptor =
            self.read(self.descriptor_table.checked_add(group.checked_mul(self.descriptor_size)?)?, 0x2C)?;
        let table = u64::from(Endian::Little.u32(&descriptor, 0x8)?)
            | if self.is_64bit && self.descriptor_size >= 0x2C {
                u64::from(Endian::Little.u32(&descriptor, 0x28)?) << 32
            } else {
                0
            };
        table.checked_mul(self.block_size)?.checked_add((index % self.inodes_per_group).checked_mul(self.inode_size)?)
    }

    /// Byte ranges `(offset, length)` of the blocks of an inode of type `mode` (a directory
    /// or a regular file), in logical order.
    fn extents(&self, inode: &[u8], mode: u16) -> Option<Vec<(u64, u64)>> {
        if Endian::Little.u16(inode, 0)? & 0xF000 != mode || Endian::Little.u32(inode, 0x20)? & EXTENTS_FLAG == 0 {
            return None;
        }
        let mut ranges = Vec::new();
        let mut nodes = vec![inode.get(0x28..0x28 + 60)?.to_vec()];
        let mut visited = 0usize;
        while let Some(node) = nodes.pop() {
            visited += 1;
            if visited > MAXIMUM_EXTENT_NODES || Endian::Little.u16(&node, 0)? != EXTENT_MAGIC {
                return None;
            }
            let entries = usize::from(Endian::Little.u16(&node, 2)?);
            let depth = Endian::Little.u16(&node, 6)?;
            let mut children = Vec::new();
            for entry in 0..entries {
                let at = 12usize.checked_add(entry.checked_mul(12)?)?;
                if depth == 0 {
                    let raw_length = u64::from(Endian::Little.u16(&node, at + 4)?);
                    // Lengths over 32768 mark unwritten extents (their blocks read as zeros).
                    let length = if raw_length > 32_768 { raw_length - 32_768 } else { raw_length };
                    let start = (u64::from(Endian::Little.u16(&node, at + 6)?) << 32)
                        | u64::from(Endian::Little.u32(&node, at + 8)?);
                    ranges.push((start.checked_mul(self.block_size)?, length.checked_mul(self.block_size)?));
                } else {
                    let leaf = (u64::from(Endian::Little.u16(&node, at + 8)?) << 32)
                        | u64::from(Endian::Little.u32(&node, at + 4)?);
                    children.push(self.read(leaf.checked_mul(self.block_size)?, self.block_size)?);
                }
            }
            // Depth-first, first child first, so ranges come out in logical order.
            nodes.extend(children.into_iter().rev());
        }
        Some(ranges)
    }

    /// Call `visit(name, inode)` for each entry of the directory whose blocks are
    /// `ranges`, until it returns true; `None` when the directory is too large or corrupt.
    fn scan_entries(&self, ranges: &[(u64, u64)], mut visit: impl FnMut(&[u8], u64) -> bool) -> Option<()> {
        let mut scanned = 0u64;
        for &(offset, length) in ranges {
            scanned = scanned.checked_add(length)?;
            if scanned > MAXIMUM_DIRECTORY_BYTES {
                return None;
            }
            let bytes = self.read(offset, length)?;
            for block in bytes.chunks(usize::try_from(self.block_size).ok()?) {
                let mut at = 0usize;
                while at + 8 <= block.len() {
                    let inode = Endian::Little.u32(block, at)?;
                    let record_length = usize::from(Endian::Little.u16(block, at + 4)?);
                    let name_length = usize::from(*block.get(at + 6)?);
                    if record_length < 8 {
                        break;
                    }
                    if inode != 0 {
                        if let Some(name) = block.get(at + 8..at + 8 + name_length) {
                            if visit(name, u64::from(inode)) {
                                return Some(());
                            }
                        }
                    }
                    at = at.checked_add(record_length)?;
                }
            }
        }
        Some(())
    }

    /// The inode number `name` has in the directory whose blocks are `ranges`.
    fn lookup(&self, ranges: &[(u64, u64)], name: &[u8]) -> Option<u64> {
        let mut found = None;
        self.scan_entries(ranges, |entry, inode| {
            if entry == name {
                found = Some(inode);
            }
            found.is_some()
        })?;
        found
    }

    /// Byte ranges of the blocks of the directory at `path` (not following symlinks),
    /// looked up from the deepest directory on its way that was located lately.
    fn directory(&self, path: &[u8]) -> Option<Vec<(u64, u64)>> {
        let components: Vec<&[u8]> = super::path::components(path).collect();
        let remembered = |prefix: &[&[u8]]| {
            let key = super::path::join_components(prefix);
            self.located.lock().ok().and_then(|located| located.get(&key).cloned())
        };
        let (mut depth, mut ranges) = (0..=components.len())
            .rev()
            .find_map(|depth| remembered(&components[..depth]).map(|ranges| (depth, ranges)))
            .map_or_else(|| Some((0, self.extents(&self.inode(ROOT_INODE)?, MODE_DIRECTORY)?)), Some)?;
        while depth < components.len() {
            let inode = self.lookup(&ranges, components[depth])?;
            ranges = self.extents(&self.inode(inode)?, MODE_DIRECTORY)?;
            depth += 1;
        }
        if let Ok(mut located) = self.located.lock() {
            if located.len() >= MAXIMUM_LOCATED {
                located.clear();
            }
            located.insert(super::path::join_components(&components), ranges.clone());
        }
        Some(ranges)
    }

    /// Byte ranges of the regular files `names` in the directory at `path`, each cut at
    /// the file's size (its last block whole); files that are not found, not regular or
    /// not extent-mapped (inline data) give none.
    fn files(&self, path: &[u8], names: &[&[u8]]) -> Vec<(u64, u64)> {
        let Some(directory) = self.directory(path) else { return Vec::new() };
        let wanted: std::collections::HashSet<&[u8]> = names.iter().copied().collect();
        let mut inodes = Vec::new();
        self.scan_entries(&directory, |name, inode| {
            if wanted.contains(name) {
                inodes.push(inode);
            }
            false
        });
        let _inodes = self.prefetch_inodes(&inodes);
        let mut ranges = Vec::new();
        for inode in inodes {
            let Some(bytes) = self.inode(inode) else { continue };
            let (Some(low), Some(high)) = (Endian::Little.u32(&bytes, 0x4), Endian::Little.u32(&bytes, 0x6C)) else {
                continue;
            };
            // A corrupt size near 2^64 has no whole-block size: the extents are taken as they are.
            let size = (u64::from(high) << 32) | u64::from(low);
            let mut remaining = size.checked_next_multiple_of(self.block_size).unwrap_or(u64::MAX);
            for (offset, length) in self.extents(&bytes, MODE_REGULAR).unwrap_or_default() {
                let taken = length.min(remaining);
                if taken == 0 {
                    break;
                }
                ranges.push((offset, taken));
                remaining -= taken;
            }
        }
        ranges
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
    source: Arc<dyn ReadAt>,
    locator: Option<DirectoryLocator>,
}

impl ExtFilesystem {
    /// Open the filesystem (reads the superblock, group descriptors and journal).
    pub fn open(source: Arc<dyn ReadAt>) -> Result<Self, FsError> {
        let features =
            read_features(source.as_ref())?.ok_or_else(|| FsError::Corrupt("no ext superblock magic".to_string()))?;
        let inner = Ext4::load(Box::new(Reader(Arc::clone(&source)))).map_err(convert)?;
        let locator = DirectoryLocator::new(Arc::clone(&source));
        Ok(Self { inner, kind: kind_of(&features), source, locator })
    }
}

impl ExtFilesystem {
    /// Ask for all the blocks of the directory at `bytes` at once, before `ext4-view` reads
    /// them one by one, kept until the guard drops: a large directory's listing reads an
    /// inode per entry between its blocks, long enough for other walkers to churn the cache.
    fn prefetch_directory(&self, bytes: &[u8]) -> Prefetched {
        self.hint_directory(bytes, |source, offset, length| source.prefetch(offset, length))
    }

    /// Ask for the inode-table records of the entries of the directory at `bytes` at once,
    /// kept until the guard drops. A listing with metadata reads every entry's inode in
    /// turn, and one directory's entries can fill several 512 KiB blocks of inode table:
    /// `/usr/share`'s on the bench root volume fill four, which were fetched one round
    /// trip after another while the walk waited.
    fn prefetch_entry_inodes(&self, bytes: &[u8]) -> Prefetched {
        let Some(locator) = &self.locator else { return Prefetched::default() };
        let Some(ranges) = locator.directory(bytes) else { return Prefetched::default() };
        let mut inodes = Vec::new();
        locator.scan_entries(&ranges, |name, inode| {
            if name != b"." && name != b".." {
                inodes.push(inode);
            }
            false
        });
        locator.prefetch_inodes(&inodes)
    }

    /// Give `hint` each range `ext4-view` will read to list the directory at `bytes`: from
    /// each directory block, its whole read window.
    fn hint_directory(&self, bytes: &[u8], hint: impl Fn(&dyn ReadAt, u64, u64) -> Prefetched) -> Prefetched {
        let mut prefetched = Prefetched::default();
        if let Some(locator) = &self.locator {
            for (offset, length) in locator.directory(bytes).unwrap_or_default() {
                let read = length.saturating_add(EXT4_VIEW_READ_BYTES.saturating_sub(locator.block_size));
                prefetched.extend(hint(self.source.as_ref(), offset, read));
            }
        }
        prefetched
    }

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
        let prefetched = self.prefetch_directory(bytes);
        let inodes = self.prefetch_entry_inodes(bytes);
        // Reads each entry's inode directly instead of resolving its path again.
        let entries = self.entries(bytes, |entry| entry.metadata().map(|found| metadata(&found)).map_err(convert));
        drop((prefetched, inodes));
        entries
    }

    fn keep_directory(&self, path: &[u8]) -> Prefetched {
        self.hint_directory(path, |source, offset, length| source.keep(offset, length))
    }

    fn prefetch_files(&self, directory: &[u8], names: &[&[u8]]) -> Prefetched {
        let mut prefetched = Prefetched::default();
        if let Some(locator) = &self.locator {
            for (offset, length) in locator.files(directory, names) {
                prefetched.extend(self.source.prefetch(offset, length));
            }
        }
        prefetched
    }

    fn read_dir(&self, bytes: &[u8]) -> Result<Vec<DirEntry>, FsError> {
        let _prefetched = self.prefetch_directory(bytes);
        Ok(self.entries(bytes, |_| ())?.into_iter().map(|(entry, ())| entry).collect())
    }

    fn read_link(&self, bytes: &[u8]) -> Result<Vec<u8>, FsError> {
        let target = self.inner.read_link(path(bytes)?).map_err(convert)?;
        Ok(target.as_ref().to_vec())
    }

    fn open(&self, bytes: &[u8]) -> Result<Box<dyn FileReader + '_>, FsError> {
        // One path lookup, not two: ext4-view resolves the whole path for every call, and
        // in a large directory that lookup is most of what opening a file costs. Callers
        // open paths the walk saw as regular files or that `fs::resolve` returned, so the
        // final component is not a symlink (ext4-view would follow it inside the image).
        let file = self.inner.open(path(bytes)?).map_err(convert)?;
        let size = file.metadata().len();
        Ok(Box::new(ExtFile { size, file }))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{FileSource, Slice};
    use std::sync::Mutex;

    /// A source that records the prefetch hints it is given.
    struct Hinted {
        inner: Arc<dyn ReadAt>,
        hints: Mutex<Vec<(u64, u64)>>,
    }

    impl ReadAt for Hinted {
        fn len(&self) -> u64 {
            self.inner.len()
        }
        fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
            self.inner.read_exact_at(offset, buf)
        }
        fn prefetch(&self, offset: u64, length: u64) -> Prefetched {
            self.hints.lock().unwrap().push((offset, length));
            Prefetched::default()
        }
    }

    /// The ext4 partition of the `ext4-gpt` fixture image.
    fn ext4_partition() -> Arc<dyn ReadAt> {
        let disk: Arc<dyn ReadAt> =
            Arc::new(FileSource::open(&crate::test_fixtures::unpacked("fixtures/images/ext4-gpt.img.zst")).unwrap());
        let layout = crate::volume::detect(disk.as_ref()).unwrap();
        Arc::new(
            layout
                .partitions
                .iter()
                .filter_map(|entry| Slice::new(Arc::clone(&disk), entry.offset, entry.length))
                .find(|slice| looks_like_ext(slice).unwrap_or(false))
                .unwrap(),
        )
    }

    #[test]
    fn nearby_inode_records_are_asked_for_as_one_range() {
        let partition = ext4_partition();
        let hinted = Arc::new(Hinted { inner: partition, hints: Mutex::new(Vec::new()) });
        let locator = DirectoryLocator::new(Arc::clone(&hinted) as Arc<dyn ReadAt>).unwrap();
        let table = locator.inode_offset(1).unwrap();
        let size = locator.inode_size;
        // 14, 12 and 13 are neighbours (in any order); 40 lies over a page further on; an
        // inode past every group has no record.
        drop(locator.prefetch_inodes(&[14, 40, 12, 13, u64::MAX]));
        assert_eq!(*hinted.hints.lock().unwrap(), [(table + 11 * size, 3 * size), (table + 39 * size, size)]);
    }

    #[test]
    fn directories_are_located_by_our_own_lookup() {
        let partition = ext4_partition();
        let locator = DirectoryLocator::new(Arc::clone(&partition)).unwrap();
        let deep = locator.directory(b"/deep/level-1/level-2").expect("located");
        // Its blocks are a directory's: `..` is level-1, whose `..` is /deep, whose `..` is the root.
        let level_1 = locator.lookup(&deep, b"..").unwrap();
        let level_1_ranges = locator.extents(&locator.inode(level_1).unwrap(), MODE_DIRECTORY).unwrap();
        assert_eq!(level_1_ranges, locator.directory(b"/deep/level-1").unwrap());
        let deep_root = locator.lookup(&level_1_ranges, b"..").unwrap();
        let root = locator
            .lookup(&locator.extents(&locator.inode(deep_root).unwrap(), MODE_DIRECTORY).unwrap(), b"..")
            .unwrap();
        assert_eq!(root, ROOT_INODE);
        assert!(locator.directory(b"/deep/missing").is_none());
        // Listing a directory first hints exactly its blocks, each with the window
        // `ext4-view` reads from it.
        let hinted = Arc::new(Hinted { inner: Arc::clone(&partition), hints: Mutex::new(Vec::new()) });
        let filesystem = ExtFilesystem::open(Arc::clone(&hinted) as Arc<dyn ReadAt>).unwrap();
        let listed = filesystem.read_dir_with_metadata(b"/deep/level-1/level-2").unwrap();
        assert!(!listed.is_empty());
        let windows: Vec<(u64, u64)> =
            deep.iter().map(|&(offset, length)| (offset, length + EXT4_VIEW_READ_BYTES - locator.block_size)).collect();
        let hints = hinted.hints.lock().unwrap().clone();
        assert_eq!(hints[..windows.len()], windows);
        // Then the entries' inode records, which the listing reads for their metadata.
        let covered = |hints: &[(u64, u64)], number: u64| {
            let offset = locator.inode_offset(number).unwrap();
            hints.iter().any(|&(start, length)| start <= offset && offset + locator.inode_size <= start + length)
        };
        for (entry, _) in &listed {
            let number = locator.lookup(&deep, &entry.name).unwrap();
            assert!(covered(&hints[windows.len()..], number), "{:?}", String::from_utf8_lossy(&entry.name));
        }
        // A regular file is no directory to locate.
        assert!(locator.directory(b"/bad-\xff\xfe-name").is_none());

        // Files to be read are hinted by their own extents: a directory or a missing name
        // gives none, and the hinted bytes are the file's.
        hinted.hints.lock().unwrap().clear();
        let names: [&[u8]; 3] = [b"random.bin", b"deep", b"missing"];
        drop(filesystem.prefetch_files(b"/", &names));
        let mut hints = hinted.hints.lock().unwrap().clone();
        // First the inode records of what was found (in two block groups here: two
        // ranges), then the data.
        let root = locator.directory(b"/").unwrap();
        for name in [b"random.bin".as_slice(), b"deep"] {
            assert!(covered(&hints[..2], locator.lookup(&root, name).unwrap()));
        }
        let hints = hints.split_off(2);
        assert!(!hints.is_empty());
        let hinted_length: u64 = hints.iter().map(|&(_, length)| length).sum();
        assert_eq!(hinted_length, 40_000u64.next_multiple_of(locator.block_size));
        let mut on_disk = Vec::new();
        for &(offset, length) in &hints {
            let mut bytes = vec![0u8; usize::try_from(length).unwrap()];
            partition.read_exact_at(offset, &mut bytes).unwrap();
            on_disk.extend(bytes);
        }
        let read = crate::fs::read_capped(&filesystem, b"/random.bin", 1 << 20).unwrap();
        assert_eq!(&on_disk[..read.len()], read.as_slice());
    }
}
