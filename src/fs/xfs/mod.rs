//! XFS (v4 and v5), read in-process and lazily over a [`ReadAt`].
//!
//! Amazon Linux, RHEL, Rocky, Alma and Oracle Linux put their root filesystem on XFS, so
//! this reader matters as much as ext4. It reads only what a walk needs: the superblock,
//! each inode it visits (one `sb_inodesize` read), directory data blocks, bmbt blocks and
//! the blocks of files a cataloger opens — never the allocation-group headers or free-space
//! and inode B+trees, never whole groups. v5 CRCs are verified on every metadata block read.
//!
//! The log is never replayed: an unclean log is reported through
//! [`Filesystem::warnings`] (see [`log`]). Realtime-device files are refused.
//!
//! The `xfs-core` crate was considered: its high-level API takes the whole image as one
//! byte slice, which contradicts lazy reads over a remote snapshot, and its per-structure
//! parsers cover less than we need (no nrext64, bigtime or every directory form), so
//! the few structures are parsed here through checked big-endian helpers.

mod crc32c;
mod directory;
mod extents;
mod fields;
mod inode;
mod log;
mod superblock;
mod symlink;

use super::{DirEntry, FileReader, FileType, Filesystem, FsError, Metadata, path};
use crate::source::ReadAt;
use directory::RawEntry;
use extents::Extent;
use fields::Fields;
use inode::{ForkFormat, Inode};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use superblock::Superblock;

pub use log::LogState;

/// Directory paths remembered with their inode numbers, so walking a deep tree does not
/// look every parent up again; cleared when full to bound memory.
const DIRECTORY_CACHE_LIMIT: usize = 16 * 1024;
/// Most directory levels one path lookup descends.
const MAX_PATH_DEPTH: usize = 4096;

/// Inodes read at once: one inode chunk (XFS allocates inodes 64 at a time, aligned).
/// Inodes of one directory are usually allocated together, so one read serves many entries.
const INODES_PER_CLUSTER: u64 = 64;
/// Inode clusters kept in memory (8 MiB of 512-byte inodes); cleared when full.
const INODE_CLUSTER_CACHE_LIMIT: usize = 256;

/// The source and the geometry every structure is read with, and recently read inodes.
pub struct Volume {
    source: Arc<dyn ReadAt>,
    superblock: Superblock,
    inode_clusters: Mutex<HashMap<u64, Arc<[u8]>>>,
}

impl Volume {
    /// A volume over `source` with a validated superblock.
    fn new(source: Arc<dyn ReadAt>, superblock: Superblock) -> Self {
        Self { source, superblock, inode_clusters: Mutex::new(HashMap::new()) }
    }

    /// Read `length` bytes at `offset`.
    fn read(&self, offset: u64, length: usize) -> Result<Vec<u8>, FsError> {
        let mut buffer = vec![0u8; length];
        self.read_into(offset, &mut buffer)?;
        Ok(buffer)
    }

    /// Fill `buffer` from `offset`.
    fn read_into(&self, offset: u64, buffer: &mut [u8]) -> Result<(), FsError> {
        self.source.read_exact_at(offset, buffer).map_err(FsError::Io)
    }

    /// Hint that `length` bytes at `offset` are about to be read (see [`ReadAt::prefetch`]).
    fn prefetch(&self, offset: u64, length: u64) -> crate::source::Prefetched {
        self.source.prefetch(offset, length)
    }

    /// Byte offset and length of the run of [`INODES_PER_CLUSTER`] inodes around `number`;
    /// `None` when the run would leave the group or the device.
    fn cluster_span(&self, number: u64) -> Option<(u64, u64)> {
        let per_cluster = INODES_PER_CLUSTER;
        let first = number & !(per_cluster - 1);
        let start = self.superblock.inode_offset(first).ok()?;
        // Consecutive inode numbers are consecutive on disk inside one group: check the
        // last one lands where contiguity says.
        let last = self.superblock.inode_offset(first + per_cluster - 1).ok()?;
        let length = per_cluster * u64::from(self.superblock.inode_size);
        (last.checked_sub(start)? == length - u64::from(self.superblock.inode_size)).then_some((start, length))
    }

    /// Hint that inodes `numbers` are about to be read: their clusters not in memory yet
    /// are fetched at once (a directory's entries' inodes lie in clusters across the
    /// allocation groups, one round trip each when read in turn) and kept while the guard
    /// lives.
    fn prefetch_inodes(&self, numbers: impl Iterator<Item = u64>) -> crate::source::Prefetched {
        let mut spans = std::collections::BTreeSet::new();
        for number in numbers {
            match self.cluster_span(number) {
                Some(span) => spans.insert(span),
                None => match self.superblock.inode_offset(number) {
                    Ok(offset) => spans.insert((offset, u64::from(self.superblock.inode_size))),
                    Err(_) => false,
                },
            };
        }
        if let Ok(clusters) = self.inode_clusters.lock() {
            spans.retain(|(offset, _)| !clusters.contains_key(offset));
        }
        let mut prefetched = crate::source::Prefetched::default();
        for (offset, length) in spans {
            prefetched.extend(self.prefetch(offset, length));
        }
        prefetched
    }

    /// Read and parse inode `number`.
    fn inode(&self, number: u64) -> Result<Inode, FsError> {
        let offset = self.superblock.inode_offset(number)?;
        let size = usize::from(self.superblock.inode_size);
        let Some((start, cluster)) = self.inode_cluster(number) else {
            return Inode::parse(&self.superblock, number, &self.read(offset, size)?);
        };
        let within = usize::try_from(offset - start).unwrap_or(usize::MAX);
        let bytes = within.checked_add(size).and_then(|end| cluster.get(within..end));
        Inode::parse(&self.superblock, number, bytes.ok_or_else(|| FsError::Corrupt("inode cluster is short".into()))?)
    }

    /// The aligned run of [`INODES_PER_CLUSTER`] inodes around `number`, from memory or
    /// read in one call; `None` when the run would leave the group or the device (then
    /// the inode is read alone).
    fn inode_cluster(&self, number: u64) -> Option<(u64, Arc<[u8]>)> {
        let (start, length) = self.cluster_span(number)?;
        if let Some(cluster) = self.inode_clusters.lock().ok()?.get(&start) {
            return Some((start, Arc::clone(cluster)));
        }
        let cluster: Arc<[u8]> = self.read(start, usize::try_from(length).ok()?).ok()?.into();
        let mut clusters = self.inode_clusters.lock().ok()?;
        if clusters.len() >= INODE_CLUSTER_CACHE_LIMIT {
            clusters.clear();
        }
        clusters.insert(start, Arc::clone(&cluster));
        Some((start, cluster))
    }
}

/// True when the XFS superblock magic `XFSB` is at the start of `source`.
pub fn looks_like_xfs(source: &dyn ReadAt) -> std::io::Result<bool> {
    let mut magic = [0u8; 4];
    if source.len() < superblock::READ_LENGTH as u64 {
        return Ok(false);
    }
    source.read_exact_at(0, &mut magic)?;
    Ok(u32::from_be_bytes(magic) == superblock::MAGIC)
}

/// An XFS filesystem.
pub struct XfsFilesystem {
    volume: Volume,
    log_state: LogState,
    warnings: Vec<String>,
    directories: Mutex<HashMap<Vec<u8>, u64>>,
}

impl XfsFilesystem {
    /// Open the filesystem: read and check the superblock and the root inode, and find
    /// out whether the log is clean.
    pub fn open(source: Arc<dyn ReadAt>) -> Result<Self, FsError> {
        // The CRC covers the whole sector, whose size the superblock itself gives.
        let mut header = [0u8; superblock::READ_LENGTH];
        source.read_exact_at(0, &mut header)?;
        let sector_size = Fields::new(&header, "XFS superblock")
            .u16(superblock::SB_SECTSIZE)
            .map(usize::from)?
            .clamp(superblock::READ_LENGTH, 32 * 1024);
        let mut sector = vec![0u8; sector_size];
        source.read_exact_at(0, &mut sector)?;
        let superblock = Superblock::parse(&sector)?;
        let volume = Volume::new(source, superblock);
        let root = volume.inode(volume.superblock.root_inode)?;
        if root.file_type()? != FileType::Directory {
            return Err(FsError::Corrupt(format!("root inode {} is not a directory", root.number)));
        }
        let log_state = log::state(&volume);
        let mut warnings = Vec::new();
        warnings.extend(log_state.warning());
        if volume.superblock.needs_repair {
            warnings.push(
                "XFS is flagged as needing repair (xfs_repair was interrupted); metadata may be inconsistent"
                    .to_string(),
            );
        }
        Ok(Self { volume, log_state, warnings, directories: Mutex::new(HashMap::new()) })
    }

    /// Whether the log is clean, as found when opening.
    pub fn log_state(&self) -> &LogState {
        &self.log_state
    }

    /// The inode at `path`, without following a final symlink. A symlink in an earlier
    /// component is followed inside the image root (through [`crate::fs::resolve`]), as
    /// ext4 does.
    fn lookup(&self, path: &[u8]) -> Result<Inode, FsError> {
        self.lookup_following(path, 0)
    }

    fn lookup_following(&self, path: &[u8], hops: usize) -> Result<Inode, FsError> {
        let normalized = path::normalize(path);
        if let Some(&number) = self.directories.lock().ok().and_then(|cache| cache.get(&normalized).copied()).as_ref() {
            return self.volume.inode(number);
        }
        let components: Vec<&[u8]> = path::components(&normalized).collect();
        if components.len() > MAX_PATH_DEPTH {
            return Err(FsError::Corrupt(format!("path deeper than {MAX_PATH_DEPTH} levels")));
        }
        let mut current = self.volume.inode(self.volume.superblock.root_inode)?;
        let mut walked: Vec<Vec<u8>> = Vec::new();
        for (index, component) in components.iter().enumerate() {
            match current.file_type()? {
                FileType::Directory => {}
                FileType::Symlink => {
                    // `walked` ends in a symlink and components remain: resolve it, then
                    // look the rest up from where it leads.
                    if hops >= super::SYMLINK_HOP_LIMIT {
                        return Err(FsError::TooManySymlinks);
                    }
                    let mut target = super::resolve(self, &path::join_components(&walked))?;
                    for rest in components.get(index..).unwrap_or_default() {
                        target = path::join(&target, rest);
                    }
                    return self.lookup_following(&target, hops + 1);
                }
                _ => return Err(FsError::NotADirectory),
            }
            walked.push(component.to_vec());
            let prefix = path::join_components(&walked);
            let cached = self.directories.lock().ok().and_then(|cache| cache.get(&prefix).copied());
            let number = match cached {
                Some(number) => number,
                None => {
                    let entries = directory::entries(&self.volume, &current)?;
                    entries.into_iter().find(|entry| entry.name == *component).ok_or(FsError::NotFound)?.inode
                }
            };
            current = self.volume.inode(number)?;
            if cached.is_none() && current.file_type()? == FileType::Directory {
                self.remember(prefix, number);
            }
        }
        Ok(current)
    }

    fn remember(&self, path: Vec<u8>, number: u64) {
        if let Ok(mut cache) = self.directories.lock() {
            if cache.len() >= DIRECTORY_CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(path, number);
        }
    }

    fn directory_entries(&self, path: &[u8]) -> Result<(Inode, Vec<RawEntry>), FsError> {
        let inode = self.lookup(path)?;
        if inode.file_type()? != FileType::Directory {
            return Err(FsError::NotADirectory);
        }
        let entries = directory::entries(&self.volume, &inode)?;
        Ok((inode, entries))
    }
}

fn metadata(inode: &Inode) -> Result<Metadata, FsError> {
    let mut hasher = std::hash::DefaultHasher::new();
    (inode.number, inode.mode, inode.uid, inode.gid, inode.size, inode.times).hash(&mut hasher);
    Ok(Metadata {
        file_type: inode.file_type()?,
        mode: u32::from(inode.mode) & 0o7777,
        size: inode.size,
        identity: Some(inode.number),
        fingerprint: hasher.finish(),
        modified: inode.times[1].0,
    })
}

impl Filesystem for XfsFilesystem {
    fn kind(&self) -> &'static str {
        "xfs"
    }

    fn uuid(&self) -> Option<String> {
        Some(superblock::format_uuid(&self.volume.superblock.uuid))
    }

    fn label(&self) -> Option<String> {
        let label = &self.volume.superblock.label;
        (!label.is_empty()).then(|| String::from_utf8_lossy(label).into_owned())
    }

    fn symlink_metadata(&self, path: &[u8]) -> Result<Metadata, FsError> {
        metadata(&self.lookup(path)?)
    }

    fn read_dir(&self, path: &[u8]) -> Result<Vec<DirEntry>, FsError> {
        let (_, entries) = self.directory_entries(path)?;
        Ok(entries.into_iter().map(|entry| DirEntry { name: entry.name, file_type: entry.file_type }).collect())
    }

    fn read_dir_with_metadata(&self, path: &[u8]) -> Result<Vec<(DirEntry, Result<Metadata, FsError>)>, FsError> {
        let (_, entries) = self.directory_entries(path)?;
        let base = path::normalize(path);
        let _prefetched = self.volume.prefetch_inodes(entries.iter().map(|entry| entry.inode));
        Ok(entries
            .into_iter()
            .map(|entry| {
                let found = self.volume.inode(entry.inode);
                if let Ok(inode) = &found {
                    if inode.file_type().ok() == Some(FileType::Directory) {
                        self.remember(path::join(&base, &entry.name), entry.inode);
                    }
                }
                let found = found.and_then(|inode| metadata(&inode));
                (DirEntry { name: entry.name, file_type: entry.file_type }, found)
            })
            .collect())
    }

    fn read_link(&self, path: &[u8]) -> Result<Vec<u8>, FsError> {
        let inode = self.lookup(path)?;
        if inode.file_type()? != FileType::Symlink {
            return Err(FsError::NotASymlink);
        }
        symlink::target(&self.volume, &inode)
    }

    fn open(&self, path: &[u8]) -> Result<Box<dyn FileReader + '_>, FsError> {
        let inode = self.lookup(path)?;
        if inode.file_type()? != FileType::Regular {
            return Err(FsError::NotAFile);
        }
        if inode.realtime {
            return Err(FsError::Unsupported(format!("inode {} is on the realtime device", inode.number)));
        }
        let contents = match inode.format {
            ForkFormat::Extents | ForkFormat::Btree => Contents::Mapped(extents::map(&self.volume, &inode)?),
            ForkFormat::Local => {
                let length = usize::try_from(inode.size).ok().filter(|&length| length <= inode.data_fork.len());
                let length = length.ok_or_else(|| {
                    FsError::Corrupt(format!("inode {}: inline data shorter than its size", inode.number))
                })?;
                Contents::Inline(inode.data_fork.get(..length).unwrap_or_default().to_vec())
            }
            ForkFormat::Device => {
                return Err(FsError::Corrupt(format!("regular file inode {} has a device fork", inode.number)));
            }
        };
        Ok(Box::new(XfsFile { volume: &self.volume, size: inode.size, contents }))
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
}

/// Where an open file's bytes are.
enum Contents {
    /// In blocks, through a block map.
    Mapped(Vec<Extent>),
    /// In the inode itself.
    Inline(Vec<u8>),
}

struct XfsFile<'a> {
    volume: &'a Volume,
    size: u64,
    contents: Contents,
}

impl FileReader for XfsFile<'_> {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
        let Some(remaining) = self.size.checked_sub(offset).filter(|&remaining| remaining > 0) else {
            return Ok(0);
        };
        let length = usize::try_from(remaining).unwrap_or(usize::MAX).min(buf.len());
        let (chunk, _) = buf.split_at_mut(length);
        match &self.contents {
            Contents::Mapped(map) => extents::read_mapped(self.volume, map, offset, chunk)?,
            Contents::Inline(bytes) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX);
                let source = bytes
                    .get(start..start.saturating_add(length))
                    .ok_or_else(|| FsError::Corrupt("inline data is short".to_string()))?;
                chunk.copy_from_slice(source);
            }
        }
        Ok(length)
    }
}
