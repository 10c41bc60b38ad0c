//! Filesystems read in-process from a [`ReadAt`](crate::source::ReadAt), never mounted.
//!
//! Every filesystem implements [`Filesystem`], a small read-only, lstat-style interface over
//! absolute byte paths (names need not be UTF-8). Symlinks are never followed by the
//! walk; [`resolve`] follows them on request, always inside the image root and with a hop
//! limit. Implementations treat the bytes as hostile: checked arithmetic, bounded
//! allocation, errors instead of panics.

pub mod ext4;
pub mod path;
pub mod walk;
pub mod xfs;

use crate::source::{Prefetched, ReadAt};
use std::sync::Arc;

/// What kind of object a directory entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileType {
    /// Regular file.
    Regular,
    /// Directory.
    Directory,
    /// Symbolic link.
    Symlink,
    /// Character device.
    CharDevice,
    /// Block device.
    BlockDevice,
    /// Named pipe.
    Fifo,
    /// Unix socket.
    Socket,
}

/// What `symlink_metadata` tells about one inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// Object type.
    pub file_type: FileType,
    /// Permission bits (the low 12 bits of `st_mode`).
    pub mode: u32,
    /// Size in bytes (for a symlink, the target's length).
    pub size: u64,
    /// A number that is the same for two paths exactly when they are one inode, if the
    /// filesystem can tell (`None` when it cannot); used to break directory cycles.
    pub identity: Option<u64>,
    /// A hash of everything the inode records (times, owner, mode, size); equal for two
    /// paths of one inode, and almost never equal otherwise. Used with `identity` is `None`.
    pub fingerprint: u64,
    /// Modification time, seconds since the epoch (0 when unknown).
    pub modified: i64,
}

/// One name in a directory listing (never `.` or `..`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The raw name bytes.
    pub name: Vec<u8>,
    /// Type from the entry itself, if the filesystem records it there.
    pub file_type: Option<FileType>,
}

/// A directory entry with its metadata, or why the metadata could not be read.
pub type EntryWithMetadata = (DirEntry, Result<Metadata, FsError>);

/// An open regular file; reads at any offset without reading the rest.
pub trait FileReader {
    /// Size in bytes.
    fn size(&self) -> u64;
    /// Read up to `buf.len()` bytes at `offset`; `Ok(0)` at or past the end.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize, FsError>;
}

/// A read-only filesystem. Paths are absolute (`/etc/os-release`) and are looked up
/// without following a symlink in the last component; implementations may follow
/// symlinks in earlier components only inside the image root.
pub trait Filesystem {
    /// Short type name: `ext2`, `ext3`, `ext4`, `xfs`.
    fn kind(&self) -> &'static str;
    /// Filesystem UUID, if it has one.
    fn uuid(&self) -> Option<String>;
    /// Filesystem label, if set.
    fn label(&self) -> Option<String>;
    /// Metadata of the object at `path`, not following a final symlink.
    fn symlink_metadata(&self, path: &[u8]) -> Result<Metadata, FsError>;
    /// Entries of the directory at `path`, without `.` and `..`.
    fn read_dir(&self, path: &[u8]) -> Result<Vec<DirEntry>, FsError>;
    /// Entries of the directory at `path` with each one's metadata. The default looks each
    /// entry up by path; filesystems that can read the inode straight from the entry
    /// override it (a path lookup walks every component again).
    fn read_dir_with_metadata(&self, path: &[u8]) -> Result<Vec<EntryWithMetadata>, FsError> {
        Ok(self
            .read_dir(path)?
            .into_iter()
            .map(|entry| {
                let metadata = self.symlink_metadata(&path::join(path, &entry.name));
                (entry, metadata)
            })
            .collect())
    }
    /// Target of the symlink at `path`, as stored.
    fn read_link(&self, path: &[u8]) -> Result<Vec<u8>, FsError>;
    /// Open the regular file at `path` for positional reads.
    fn open(&self, path: &[u8]) -> Result<Box<dyn FileReader + '_>, FsError>;
    /// Problems noticed when the filesystem was opened (e.g. an unclean log), for the report.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
    /// A hint that the files `names` in `directory` are about to be read: on a slow source
    /// (an EBS snapshot) their blocks are fetched at once, and kept while the guard lives,
    /// instead of one round trip after another. Others ignore it. Never an error.
    fn prefetch_files(&self, directory: &[u8], names: &[&[u8]]) -> Prefetched {
        let _ = (directory, names);
        Prefetched::default()
    }
    /// A hint that the directory at `path` will be listed, but not soon (it waits in the
    /// walk's queue): a slow source keeps its blocks' bytes if another read brings them in
    /// meanwhile (small directories share blocks with their siblings). Never an error.
    fn keep_directory(&self, path: &[u8]) -> Prefetched {
        let _ = path;
        Prefetched::default()
    }
}

/// Why a filesystem operation failed, by cause.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// The underlying source failed.
    #[error("read error: {0}")]
    Io(#[from] std::io::Error),
    /// The on-disk structures are inconsistent.
    #[error("corrupt filesystem: {0}")]
    Corrupt(String),
    /// A valid filesystem using something we do not read.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// No such path.
    #[error("not found")]
    NotFound,
    /// A directory was expected.
    #[error("not a directory")]
    NotADirectory,
    /// A regular file was expected.
    #[error("not a regular file")]
    NotAFile,
    /// A symlink was expected.
    #[error("not a symlink")]
    NotASymlink,
    /// A symlink chain was too long or looped.
    #[error("too many levels of symbolic links")]
    TooManySymlinks,
    /// The file is larger than the caller allowed.
    #[error("file is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// File size.
        size: u64,
        /// The cap asked for.
        limit: u64,
    },
}

/// Read a whole regular file, refusing files over `limit` bytes.
pub fn read_capped(fs: &dyn Filesystem, path: &[u8], limit: u64) -> Result<Vec<u8>, FsError> {
    let mut file = fs.open(path)?;
    read_all(file.as_mut(), limit)
}

/// Read an open file to the end, refusing files over `limit` bytes.
pub fn read_all(file: &mut dyn FileReader, limit: u64) -> Result<Vec<u8>, FsError> {
    let size = file.size();
    if size > limit {
        return Err(FsError::TooLarge { size, limit });
    }
    let length = usize::try_from(size).map_err(|_| FsError::TooLarge { size, limit })?;
    let mut bytes = vec![0u8; length];
    let mut filled = 0usize;
    while filled < length {
        let got = file.read_at(filled as u64, &mut bytes[filled..])?;
        if got == 0 {
            return Err(FsError::Corrupt(format!("file ended at {filled} of {length} bytes")));
        }
        filled += got;
    }
    Ok(bytes)
}

/// Most symlinks followed while resolving one path (Linux's own limit).
pub const SYMLINK_HOP_LIMIT: usize = 40;

/// Resolve `path` to a path with no symlinks, following links inside the image root only:
/// `..` at the root stays at the root, absolute targets restart at the image root.
pub fn resolve(fs: &dyn Filesystem, path: &[u8]) -> Result<Vec<u8>, FsError> {
    let mut hops = 0usize;
    // Components still to visit, in reverse order (so `pop` gives the next).
    let mut pending: Vec<Vec<u8>> = path::components(path).map(<[u8]>::to_vec).rev().collect();
    let mut resolved: Vec<Vec<u8>> = Vec::new();
    while let Some(component) = pending.pop() {
        match component.as_slice() {
            b"." => continue,
            b".." => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        resolved.push(component);
        let current = path::join_components(&resolved);
        let metadata = fs.symlink_metadata(&current)?;
        if metadata.file_type != FileType::Symlink {
            continue;
        }
        hops += 1;
        if hops > SYMLINK_HOP_LIMIT {
            return Err(FsError::TooManySymlinks);
        }
        let target = fs.read_link(&current)?;
        resolved.pop();
        if target.first() == Some(&b'/') {
            resolved.clear();
        }
        pending.extend(path::components(&target).map(<[u8]>::to_vec).rev());
    }
    Ok(path::join_components(&resolved))
}

/// Open the filesystem on a partition by its magic; `Ok(None)` when no known filesystem
/// is there (swap, BIOS boot, an unformatted volume).
pub fn probe(source: Arc<dyn ReadAt>) -> Result<Option<Box<dyn Filesystem>>, FsError> {
    if ext4::looks_like_ext(source.as_ref())? {
        return Ok(Some(Box::new(ext4::ExtFilesystem::open(source)?)));
    }
    if xfs::looks_like_xfs(source.as_ref())? {
        return Ok(Some(Box::new(xfs::XfsFilesystem::open(source)?)));
    }
    Ok(None)
}

/// Name of a filesystem recognised by magic but not read by snapscan (swap, LVM, …).
pub fn identify_unsupported(source: &dyn ReadAt) -> Option<&'static str> {
    let mut page = [0u8; 4096];
    if source.len() >= 4096 && source.read_exact_at(0, &mut page).is_ok() {
        if &page[4086..4096] == b"SWAPSPACE2" || &page[4086..4096] == b"SWAP-SPACE" {
            return Some("swap");
        }
        if &page[512 + 24..512 + 32] == b"LVM2 001" {
            return Some("LVM2 physical volume");
        }
    }
    let mut btrfs = [0u8; 8];
    if source.len() >= 0x10048 && source.read_exact_at(0x10040, &mut btrfs).is_ok() && &btrfs == b"_BHRfS_M" {
        return Some("btrfs");
    }
    None
}

#[cfg(test)]
pub mod testing {
    //! An in-memory filesystem for unit tests of the walk and the catalogers.
    use super::*;
    use std::collections::BTreeMap;

    /// One node of a [`MemoryFilesystem`].
    #[derive(Clone, Debug)]
    pub enum Node {
        /// A file with contents and mode.
        File(Vec<u8>, u32),
        /// A directory.
        Directory,
        /// A symlink with its target.
        Symlink(Vec<u8>),
    }

    /// A filesystem held in a map from absolute path to node.
    #[derive(Default, Debug)]
    pub struct MemoryFilesystem {
        /// Every node by absolute path; parents are created by [`MemoryFilesystem::add`].
        pub nodes: BTreeMap<Vec<u8>, Node>,
        /// The `read_dir`, `open` and `prefetch_files` calls made, in order, for tests of
        /// the order in which a reader asks for things (`read_dir /a`, `prefetch /a x y`).
        pub calls: std::sync::Mutex<Vec<String>>,
    }

    impl MemoryFilesystem {
        /// An empty filesystem with only `/`.
        pub fn new() -> Self {
            let mut nodes = BTreeMap::new();
            nodes.insert(b"/".to_vec(), Node::Directory);
            Self { nodes, calls: std::sync::Mutex::default() }
        }

        fn record(&self, call: String) {
            self.calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(call);
        }

        /// Add a node, creating missing parent directories.
        pub fn add(&mut self, path: &str, node: Node) -> &mut Self {
            let mut prefix = Vec::new();
            let parts: Vec<&[u8]> = path::components(path.as_bytes()).collect();
            for (index, part) in parts.iter().enumerate() {
                prefix.push(b'/');
                prefix.extend_from_slice(part);
                if index + 1 < parts.len() {
                    self.nodes.entry(prefix.clone()).or_insert(Node::Directory);
                }
            }
            self.nodes.insert(prefix, node);
            self
        }

        /// Add a regular file with mode 0644.
        pub fn file(&mut self, path: &str, contents: &[u8]) -> &mut Self {
            self.add(path, Node::File(contents.to_vec(), 0o644))
        }

        /// Add a symlink.
        pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
            self.add(path, Node::Symlink(target.as_bytes().to_vec()))
        }

        fn node(&self, path: &[u8]) -> Result<&Node, FsError> {
            let key = path::normalize(path);
            self.nodes.get(&key).ok_or(FsError::NotFound)
        }
    }

    struct MemoryReader(Vec<u8>);

    impl FileReader for MemoryReader {
        fn size(&self) -> u64 {
            self.0.len() as u64
        }
        fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.0.len());
            let count = buf.len().min(self.0.len() - start);
            buf[..count].copy_from_slice(&self.0[start..start + count]);
            Ok(count)
        }
    }

    impl Filesystem for MemoryFilesystem {
        fn kind(&self) -> &'static str {
            "memory"
        }
        fn uuid(&self) -> Option<String> {
            None
        }
        fn label(&self) -> Option<String> {
            None
        }
        fn symlink_metadata(&self, path: &[u8]) -> Result<Metadata, FsError> {
            let (file_type, mode, size) = match self.node(path)? {
                Node::File(bytes, mode) => (FileType::Regular, *mode, bytes.len() as u64),
                Node::Directory => (FileType::Directory, 0o755, 0),
                Node::Symlink(target) => (FileType::Symlink, 0o777, target.len() as u64),
            };
            Ok(Metadata { file_type, mode, size, identity: None, fingerprint: 0, modified: 0 })
        }
        fn read_dir(&self, path: &[u8]) -> Result<Vec<DirEntry>, FsError> {
            self.record(format!("read_dir {}", path::display(path)));
            let key = path::normalize(path);
            match self.node(&key)? {
                Node::Directory => {}
                _ => return Err(FsError::NotADirectory),
            }
            let mut prefix = key.clone();
            if prefix != b"/" {
                prefix.push(b'/');
            }
            Ok(self
                .nodes
                .iter()
                .filter_map(|(name, node)| {
                    let rest = name.strip_prefix(prefix.as_slice())?;
                    if rest.is_empty() || rest.contains(&b'/') {
                        return None;
                    }
                    let file_type = match node {
                        Node::File(..) => FileType::Regular,
                        Node::Directory => FileType::Directory,
                        Node::Symlink(_) => FileType::Symlink,
                    };
                    Some(DirEntry { name: rest.to_vec(), file_type: Some(file_type) })
                })
                .collect())
        }
        fn read_link(&self, path: &[u8]) -> Result<Vec<u8>, FsError> {
            match self.node(path)? {
                Node::Symlink(target) => Ok(target.clone()),
                _ => Err(FsError::NotASymlink),
            }
        }
        fn open(&self, path: &[u8]) -> Result<Box<dyn FileReader + '_>, FsError> {
            self.record(format!("open {}", path::display(path)));
            match self.node(path)? {
                Node::File(bytes, _) => Ok(Box::new(MemoryReader(bytes.clone()))),
                _ => Err(FsError::NotAFile),
            }
        }
        fn prefetch_files(&self, directory: &[u8], names: &[&[u8]]) -> Prefetched {
            let names: Vec<String> = names.iter().map(|name| path::display(name)).collect();
            self.record(format!("prefetch {} {}", path::display(directory), names.join(" ")));
            Prefetched::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::MemoryFilesystem;
    use super::*;

    #[test]
    fn resolve_stays_inside_the_root() {
        let mut fs = MemoryFilesystem::new();
        fs.file("/usr/lib/os-release", b"ID=debian\n")
            .symlink("/etc/os-release", "../usr/lib/os-release")
            .symlink("/etc/escape", "../../../../usr/lib/os-release")
            .symlink("/etc/absolute", "/usr/lib/os-release")
            .symlink("/loop/a", "b")
            .symlink("/loop/b", "a");
        assert_eq!(resolve(&fs, b"/etc/os-release").unwrap(), b"/usr/lib/os-release");
        assert_eq!(resolve(&fs, b"/etc/escape").unwrap(), b"/usr/lib/os-release");
        assert_eq!(resolve(&fs, b"/etc/absolute").unwrap(), b"/usr/lib/os-release");
        assert!(matches!(resolve(&fs, b"/loop/a"), Err(FsError::TooManySymlinks)));
        assert!(matches!(resolve(&fs, b"/missing/x"), Err(FsError::NotFound)));
    }

    #[test]
    fn read_capped_refuses_large_files() {
        let mut fs = MemoryFilesystem::new();
        fs.file("/big", &[7u8; 100]);
        assert_eq!(read_capped(&fs, b"/big", 100).unwrap().len(), 100);
        assert!(matches!(read_capped(&fs, b"/big", 99), Err(FsError::TooLarge { size: 100, limit: 99 })));
    }
}
