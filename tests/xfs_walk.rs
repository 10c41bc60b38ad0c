//! Walk every XFS fixture image through snapscan's reader and compare with the manifest
//! the fixture script wrote from the source tree or the mounted filesystem: the same
//! paths, types, sizes and SHA-256 of contents (of the target, for symlinks).

#[path = "../src/test_fixtures.rs"]
mod test_fixtures;

/// `test_fixtures::unpacked`, one call at a time: tests of this binary share images, and
/// two threads unpacking the same image at once write the same temporary file.
fn unpacked(relative: &str) -> std::path::PathBuf {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    test_fixtures::unpacked(relative)
}

use sha2::{Digest, Sha256};
use snapscan::fs::xfs::{LogState, XfsFilesystem};
use snapscan::fs::{self, FileType, Filesystem, FsError, walk};
use snapscan::source::{FileSource, ReadAt, Slice};
use snapscan::volume;
use std::sync::Arc;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The source of `image`: the whole file, or its first partition when it has a table.
fn filesystem_source(image: &str) -> Arc<dyn ReadAt> {
    let path = unpacked(image);
    let disk: Arc<dyn ReadAt> = Arc::new(FileSource::open(&path).unwrap());
    let layout = volume::detect(disk.as_ref()).unwrap();
    match layout.table {
        volume::TableKind::None => disk,
        _ => {
            let partition = layout.partitions.first().expect("a partition");
            Arc::new(Slice::new(disk, partition.offset, partition.length).unwrap())
        }
    }
}

fn open(image: &str) -> Box<dyn Filesystem> {
    let filesystem = fs::probe(filesystem_source(image)).unwrap().expect("an XFS filesystem");
    assert_eq!(filesystem.kind(), "xfs");
    filesystem
}

fn type_name(file_type: FileType) -> &'static str {
    match file_type {
        FileType::Regular => "file",
        FileType::Directory => "directory",
        FileType::Symlink => "symlink",
        FileType::CharDevice => "char-device",
        FileType::BlockDevice => "block-device",
        FileType::Fifo => "fifo",
        FileType::Socket => "socket",
    }
}

fn file_digest(filesystem: &dyn Filesystem, path: &[u8]) -> Result<String, FsError> {
    let mut file = filesystem.open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut offset = 0u64;
    loop {
        let count = file.read_at(offset, &mut buffer)?;
        if count == 0 {
            break;
        }
        hasher.update(&buffer[..count]);
        offset += count as u64;
    }
    assert_eq!(offset, file.size(), "{}", fs::path::display(path));
    Ok(hex(&hasher.finalize()))
}

/// One manifest line per path, produced from our reader.
fn describe(filesystem: &dyn Filesystem) -> Vec<String> {
    let (listed, problems) = walk::list(filesystem);
    assert!(problems.is_empty(), "walk problems: {problems:?}");
    listed
        .iter()
        .map(|(path, metadata)| {
            let (size, digest) = match metadata.file_type {
                FileType::Directory => ("-".to_string(), "-".to_string()),
                FileType::Regular => (metadata.size.to_string(), file_digest(filesystem, path).unwrap()),
                FileType::Symlink => {
                    let target = filesystem.read_link(path).unwrap();
                    assert_eq!(target.len() as u64, metadata.size);
                    (metadata.size.to_string(), hex(&Sha256::digest(&target)))
                }
                _ => ("0".to_string(), "-".to_string()),
            };
            format!("{}\t{}\t{size}\t{digest}", fs::path::display(path), type_name(metadata.file_type))
        })
        .collect()
}

fn manifest(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(unpacked(name)).unwrap();
    text.lines().map(str::to_string).collect()
}

fn assert_walk_matches(image: &str, manifest_name: &str) {
    let filesystem = open(image);
    assert!(filesystem.warnings().is_empty(), "{image}: {:?}", filesystem.warnings());
    let ours = describe(filesystem.as_ref());
    let expected = manifest(manifest_name);
    for (line, (left, right)) in ours.iter().zip(&expected).enumerate() {
        assert_eq!(left, right, "{image}: line {}", line + 1);
    }
    assert_eq!(ours.len(), expected.len(), "{image}: path count");
}

const TREE_MANIFEST: &str = "fixtures/xfs/xfs-tree.manifest.zst";

#[test]
fn v5_with_4k_sectors_in_a_gpt() {
    assert_walk_matches("fixtures/xfs/xfs-v5-gpt4k.img.zst", TREE_MANIFEST);
}

#[test]
fn v4_without_crc_or_ftype_and_1k_blocks() {
    assert_walk_matches("fixtures/xfs/xfs-v4.img.zst", TREE_MANIFEST);
}

#[test]
fn v5_with_64k_blocks_and_large_extent_counters() {
    assert_walk_matches("fixtures/xfs/xfs-64k.img.zst", TREE_MANIFEST);
}

#[test]
fn every_directory_form_hard_links_sparse_and_bmbt_files() {
    assert_walk_matches("fixtures/xfs/xfs-forms.img.zst", "fixtures/xfs/xfs-forms.manifest.zst");
    let filesystem = open("fixtures/xfs/xfs-forms.img.zst");
    // Hard links: one inode under three names.
    let identities: Vec<Option<u64>> = ["/extra/hard-1", "/extra/hard-2", "/dirs/short/hard-3"]
        .iter()
        .map(|path| filesystem.symlink_metadata(path.as_bytes()).unwrap().identity)
        .collect();
    assert!(identities[0].is_some() && identities.iter().all(|identity| *identity == identities[0]));
    // Reads past 4 GiB and across holes, without reading the holes.
    let mut file = filesystem.open(b"/extra/sparse-large").unwrap();
    assert_eq!(file.size(), 4_295_100_000);
    let mut buffer = [0u8; 8];
    file.read_at(4_294_967_296 - 4, &mut buffer).unwrap();
    assert_eq!(buffer, [0, 0, 0, 0, 0x33, 0x33, 0x33, 0x33]);
    file.read_at((1 << 30) + 8190, &mut buffer).unwrap();
    assert_eq!(buffer, [0x22, 0x22, 0, 0, 0, 0, 0, 0]);
    // A symlink to a directory is followed when it is not the last component.
    let through_link = filesystem.symlink_metadata(b"/links/directory/os-release").unwrap();
    assert_eq!(through_link, filesystem.symlink_metadata(b"/usr/lib/os-release").unwrap());
    assert_eq!(filesystem.symlink_metadata(b"/links/directory").unwrap().file_type, FileType::Symlink);
    assert!(matches!(filesystem.symlink_metadata(b"/links/loop-a/x"), Err(FsError::TooManySymlinks)));
    assert!(matches!(filesystem.symlink_metadata(b"/data/small.txt/x"), Err(FsError::NotADirectory)));
    // Resolving symlinks inside the image.
    assert_eq!(fs::resolve(filesystem.as_ref(), b"/etc/os-release").unwrap(), b"/usr/lib/os-release");
    assert!(matches!(fs::resolve(filesystem.as_ref(), b"/links/loop-a"), Err(FsError::TooManySymlinks)));
}

/// A source that records prefetch hints, and the reads made after the first hint that no
/// hint covers.
struct Hinted {
    inner: Arc<dyn ReadAt>,
    hints: std::sync::Mutex<Vec<(u64, u64)>>,
    unhinted_reads: std::sync::Mutex<Vec<(u64, usize)>>,
}

impl ReadAt for Hinted {
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let hints = self.hints.lock().unwrap();
        let end = offset + buf.len() as u64;
        let covered = hints.iter().any(|&(start, length)| start <= offset && end <= start + length);
        if !hints.is_empty() && !covered {
            self.unhinted_reads.lock().unwrap().push((offset, buf.len()));
        }
        self.inner.read_exact_at(offset, buf)
    }
    fn prefetch(&self, offset: u64, length: u64) -> snapscan::source::Prefetched {
        self.hints.lock().unwrap().push((offset, length));
        snapscan::source::Prefetched::default()
    }
}

#[test]
fn a_listing_hints_its_blocks_and_its_entries_inodes_before_reading_them() {
    // Each directory form with more than one block: block, leaf, node and B+tree.
    for directory in ["/dirs/block", "/dirs/leaf", "/dirs/node", "/dirs/btree"] {
        let source = Arc::new(Hinted {
            inner: filesystem_source("fixtures/xfs/xfs-forms.img.zst"),
            hints: std::sync::Mutex::default(),
            unhinted_reads: std::sync::Mutex::default(),
        });
        let filesystem = XfsFilesystem::open(Arc::clone(&source) as Arc<dyn ReadAt>).unwrap();
        let entries = filesystem.read_dir_with_metadata(directory.as_bytes()).unwrap();
        assert!(entries.len() >= 25, "{directory}: {} entries", entries.len());
        assert!(entries.iter().all(|(_, metadata)| metadata.is_ok()), "{directory}");
        assert!(!source.hints.lock().unwrap().is_empty(), "{directory}: nothing hinted");
        // Once hinting starts (after the directory's own inode and block map), every read
        // is of hinted bytes: its data blocks, then its entries' inode clusters.
        assert_eq!(*source.unhinted_reads.lock().unwrap(), [], "{directory}");
    }
}

#[test]
fn an_unclean_log_is_reported_not_replayed() {
    let filesystem = open("fixtures/xfs/xfs-dirty.img.zst");
    let warnings = filesystem.warnings();
    assert_eq!(warnings, ["XFS log not replayed; changes in the last seconds before the snapshot may be missing"]);
    // The checkpointed metadata still reads.
    assert!(filesystem.read_dir(b"/").is_ok());
    let dirty = XfsFilesystem::open(filesystem_source("fixtures/xfs/xfs-dirty.img.zst")).unwrap();
    assert_eq!(dirty.log_state(), &LogState::Unclean);
    let clean = XfsFilesystem::open(filesystem_source("fixtures/xfs/xfs-demo.img.zst")).unwrap();
    assert_eq!(clean.log_state(), &LogState::Clean);
}

/// Scan one image's volume with every cataloger.
fn scan(relative: &str) -> snapscan::scan::VolumeScan {
    let path = unpacked(relative);
    let source: Arc<dyn ReadAt> = Arc::new(FileSource::open(&path).unwrap());
    snapscan::scan::scan_volume(source, "disk", &snapscan::catalog::all(), snapscan::scan::VolumeOptions::default())
        .unwrap()
}

#[test]
fn the_demo_tree_on_xfs_gives_what_it_gives_on_ext4() {
    let ext4 = scan("fixtures/demo/debian12.img");
    let xfs = scan("fixtures/xfs/xfs-demo.img.zst");
    assert!(xfs.issues.is_empty(), "{:?}", xfs.issues);
    let root = |scan: &snapscan::scan::VolumeScan| {
        scan.volume.partitions.iter().find(|partition| partition.distro.is_some()).cloned().expect("a root partition")
    };
    let (ext4_root, xfs_root) = (root(&ext4), root(&xfs));
    let filesystem = xfs_root.filesystem.as_ref().unwrap();
    assert_eq!((filesystem.kind.as_str(), filesystem.label.as_deref()), ("xfs", Some("demo-root")));
    assert_eq!(format!("{:?}", xfs_root.distro), format!("{:?}", ext4_root.distro));
    // The same packages; only the partition number in their locations differs.
    let comparable = |scan: snapscan::scan::VolumeScan| {
        let mut packages: Vec<_> = scan
            .packages
            .into_iter()
            .map(|mut package| {
                package.locations.iter_mut().for_each(|location| location.partition = None);
                package
            })
            .collect();
        packages.sort_by(|left, right| left.purl.cmp(&right.purl));
        packages
    };
    let (ext4_packages, xfs_packages) = (comparable(ext4), comparable(xfs));
    assert!(ext4_packages.len() > 10, "the demo tree has a real dpkg status");
    assert_eq!(xfs_packages, ext4_packages);
}
