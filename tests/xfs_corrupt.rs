//! Damaged XFS images: flipped bytes under CRCs, a truncated image, looping bmbt pointers,
//! absurd extent counts and seeded random byte flips. Each must give an error naming what
//! is wrong — never a panic, a hang, or a wrong answer read as good.
//!
//! The damage is applied to the committed forms image through an overlay source, at
//! offsets that `xfs_db` reported when the fixtures were built (`xfs-forms.structures`),
//! and as byte patches that `xfs_db -x` wrote (`xfs-forms.corruptions`, CRCs resealed).

#[path = "../src/test_fixtures.rs"]
mod test_fixtures;

/// `test_fixtures::unpacked`, one call at a time: tests of this binary share images, and
/// two threads unpacking the same image at once write the same temporary file.
fn unpacked(relative: &str) -> std::path::PathBuf {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    test_fixtures::unpacked(relative)
}

use snapscan::fs::{self, Filesystem, FsError, walk};
use snapscan::source::{FileSource, ReadAt, Slice};
use std::io;
use std::sync::Arc;

const IMAGE: &str = "fixtures/xfs/xfs-forms.img.zst";

/// A source with some byte ranges replaced.
struct Patched {
    inner: Arc<dyn ReadAt>,
    patches: Vec<(u64, Vec<u8>)>,
}

impl ReadAt for Patched {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.inner.read_exact_at(offset, buf)?;
        let end = offset + buf.len() as u64;
        for (start, bytes) in &self.patches {
            for (index, byte) in bytes.iter().enumerate() {
                let position = start + index as u64;
                if position >= offset && position < end {
                    buf[(position - offset) as usize] = *byte;
                }
            }
        }
        Ok(())
    }
}

fn pristine() -> Arc<dyn ReadAt> {
    Arc::new(FileSource::open(&unpacked(IMAGE)).unwrap())
}

fn fixture_lines(name: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(test_fixtures::repository_root().join("fixtures/xfs").join(name)).unwrap();
    text.lines().map(|line| line.split_whitespace().map(str::to_string).collect()).collect()
}

/// `(offset, length)` of a structure named in `xfs-forms.structures`.
fn structure(name: &str) -> (u64, u64) {
    let line = fixture_lines("xfs-forms.structures").into_iter().find(|line| line[0] == name).unwrap();
    (line[1].parse().unwrap(), line[2].parse().unwrap())
}

/// The image with one byte XOR-ed with `mask`.
fn flipped(offset: u64, mask: u8) -> Arc<dyn ReadAt> {
    let inner = pristine();
    let mut byte = [0u8];
    inner.read_exact_at(offset, &mut byte).unwrap();
    Arc::new(Patched { inner, patches: vec![(offset, vec![byte[0] ^ mask])] })
}

/// The image with the `xfs_db` corruption `name` applied.
fn corrupted(name: &str) -> Arc<dyn ReadAt> {
    let patches: Vec<(u64, Vec<u8>)> = fixture_lines("xfs-forms.corruptions")
        .into_iter()
        .filter(|line| line[0] == name)
        .map(|line| {
            let bytes = (0..line[2].len())
                .step_by(2)
                .map(|index| u8::from_str_radix(&line[2][index..index + 2], 16).unwrap())
                .collect();
            (line[1].parse().unwrap(), bytes)
        })
        .collect();
    assert!(!patches.is_empty(), "no corruption named {name}");
    Arc::new(Patched { inner: pristine(), patches })
}

fn open(source: Arc<dyn ReadAt>) -> Result<Box<dyn Filesystem>, FsError> {
    fs::probe(source).map(|found| found.expect("XFS magic"))
}

fn corrupt_message(result: Result<impl Sized, FsError>) -> String {
    match result {
        Err(FsError::Corrupt(message)) => message,
        Err(other) => panic!("expected a corruption error, got {other}"),
        Ok(_) => panic!("expected a corruption error, got success"),
    }
}

#[test]
fn flipped_byte_in_a_directory_block_fails_that_directory_only() {
    let (offset, _) = structure("leaf-directory-block");
    let filesystem = open(flipped(offset + 200, 0x10)).unwrap();
    let message = corrupt_message(filesystem.read_dir(b"/dirs/leaf"));
    assert!(message.contains("CRC mismatch"), "{message}");
    let (listed, problems) = walk::list(filesystem.as_ref());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].0, "/dirs/leaf");
    assert!(listed.iter().any(|(path, _)| path == b"/dirs/node/node-entry-with-a-longish-name-000999"));
}

#[test]
fn flipped_byte_in_an_inode_fails_that_path_only() {
    let (offset, _) = structure("small-inode");
    let filesystem = open(flipped(offset + 0x60, 0x01)).unwrap();
    let message = corrupt_message(filesystem.symlink_metadata(b"/data/small.txt"));
    assert!(message.contains("CRC mismatch"), "{message}");
    let (_, problems) = walk::list(filesystem.as_ref());
    assert_eq!(problems.iter().map(|(path, _)| path.as_str()).collect::<Vec<_>>(), ["/data/small.txt"]);
}

#[test]
fn truncated_image() {
    // The superblock and the first groups are there; later groups are cut off.
    let short: Arc<dyn ReadAt> = Arc::new(Slice::new(pristine(), 0, 200 << 20).unwrap());
    let filesystem = open(short).unwrap();
    let (_, problems) = walk::list(filesystem.as_ref());
    assert!(!problems.is_empty());
    assert!(problems.iter().all(|(_, message)| message.contains("past the end")), "{problems:?}");
    // Cut before the root inode: opening fails with a read error.
    let tiny: Arc<dyn ReadAt> = Arc::new(Slice::new(pristine(), 0, 4096).unwrap());
    assert!(matches!(open(tiny), Err(FsError::Io(_))));
    // Too short to hold a superblock: not recognised at all.
    let scrap: Arc<dyn ReadAt> = Arc::new(Slice::new(pristine(), 0, 100).unwrap());
    assert!(fs::probe(scrap).unwrap().is_none());
}

#[test]
fn looping_bmbt_pointers() {
    let filesystem = open(corrupted("bmbt-loop")).unwrap();
    let message = corrupt_message(filesystem.open(b"/extra/fragmented"));
    assert!(message.contains("reached twice"), "{message}");
}

#[test]
fn bmbt_block_at_the_wrong_level() {
    let filesystem = open(corrupted("bmbt-wrong-level")).unwrap();
    let message = corrupt_message(filesystem.open(b"/extra/fragmented"));
    assert!(message.contains("level 3, expected 0"), "{message}");
}

#[test]
fn absurd_extent_counts() {
    let filesystem = open(corrupted("absurd-extent-count")).unwrap();
    let message = corrupt_message(filesystem.open(b"/data/random.bin"));
    assert!(message.contains("4000000000 extents"), "{message}");
    let filesystem = open(corrupted("absurd-bmbt-extent-count")).unwrap();
    let message = corrupt_message(filesystem.open(b"/extra/fragmented"));
    assert!(message.contains("di_nextents"), "{message}");
}

/// Exercise what reads `structure`, returning whether any step failed.
fn exercise(filesystem: &dyn Filesystem) -> bool {
    let mut failed = filesystem.read_dir(b"/").is_err();
    failed |= filesystem.read_dir(b"/dirs/leaf").is_err();
    failed |= filesystem.read_dir(b"/dirs/btree").is_err();
    failed |= filesystem.symlink_metadata(b"/data/small.txt").is_err();
    failed |= fs::read_capped(filesystem, b"/data/small.txt", 1 << 20).is_err();
    failed |= fs::read_capped(filesystem, b"/extra/fragmented", 8 << 20).is_err();
    failed |= filesystem.read_link(b"/links/remote").is_err();
    failed
}

#[test]
fn seeded_random_byte_flips_are_all_detected() {
    let names = [
        "superblock",
        "root-inode",
        "small-inode",
        "leaf-directory-block",
        "btree-directory-block",
        "bmbt-leaf-block",
        "remote-symlink-block",
    ];
    assert!(!exercise(open(pristine()).unwrap().as_ref()), "the pristine image reads cleanly");
    let mut state = 0x5eed_u64;
    let mut next = move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    for case in 0..56 {
        let name = names[case % names.len()];
        let (start, length) = structure(name);
        let offset = start + next() % length;
        let mask = 1u8 << (next() % 8);
        // Every byte of these structures is under a v5 CRC, so each flip must be noticed:
        // when opening (superblock, root inode) or when the structure is read.
        // A flip in the magic leaves nothing recognisable: also noticed.
        let detected = match fs::probe(flipped(offset, mask)) {
            Err(_) | Ok(None) => true,
            Ok(Some(filesystem)) => {
                let detected = exercise(filesystem.as_ref());
                if case % 8 == 0 {
                    // The whole walk survives too.
                    let _ = walk::list(filesystem.as_ref());
                }
                detected
            }
        };
        assert!(detected, "case {case}: flip {mask:#04x} at {offset} in {name} went unnoticed");
    }
}
