//! Hostile and damaged disks: every case ends in a clear message at a location, never a
//! panic or a hang. Damaged copies are made from the committed fixtures at test time.

#[path = "../src/test_fixtures.rs"]
mod test_fixtures;

use snapscan::catalog;
use snapscan::scan::{VolumeScan, scan_volume};
use snapscan::source::ReadAt;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

const SECTOR: usize = 512;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(test_fixtures::unpacked(&format!("fixtures/images/{name}.img.zst"))).expect("fixture")
}

/// Scan a disk held in memory on another thread; a hang fails the test instead of CI.
fn scan(disk: Vec<u8>) -> std::io::Result<VolumeScan> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let source: Arc<dyn ReadAt> = Arc::new(disk);
        let _ = sender.send(scan_volume(source, "disk", &catalog::all(), snapscan::scan::VolumeOptions::default()));
    });
    receiver.recv_timeout(Duration::from_secs(120)).expect("scan finished in time (or panicked)")
}

fn messages(scan: &VolumeScan) -> Vec<String> {
    scan.issues.iter().map(|issue| issue.message.clone()).collect()
}

fn has(scan: &VolumeScan, needle: &str) -> bool {
    messages(scan).iter().any(|message| message.contains(needle))
}

#[test]
fn intact_gpt_fixture_has_no_issues() {
    let result = scan(fixture("ext4-gpt")).unwrap();
    assert!(result.issues.is_empty(), "{:?}", messages(&result));
    assert_eq!(result.packages.len(), 2);
}

#[test]
fn bad_primary_gpt_header_falls_back_to_the_backup() {
    let mut disk = fixture("ext4-gpt");
    disk[SECTOR + 40] ^= 0xFF; // first_usable_lba, covered by the header CRC
    let result = scan(disk).unwrap();
    assert!(has(&result, "primary GPT header is bad (header CRC mismatch)"), "{:?}", messages(&result));
    assert!(has(&result, "using the backup GPT header"));
    assert_eq!(result.volume.partition_table, "gpt");
    assert_eq!(result.packages.len(), 2);
}

#[test]
fn bad_gpt_entries_fall_back_to_the_backup() {
    let mut disk = fixture("ext4-gpt");
    disk[2 * SECTOR + 20] ^= 0x01; // inside the primary entry array
    let result = scan(disk).unwrap();
    assert!(
        has(&result, "primary GPT partition entries are bad (entry array CRC mismatch)"),
        "{:?}",
        messages(&result)
    );
    assert_eq!(result.packages.len(), 2);
}

#[test]
fn both_gpt_headers_bad_falls_back_to_mbr_and_says_so() {
    let mut disk = fixture("ext4-gpt");
    let last = disk.len() - SECTOR;
    disk[SECTOR + 40] ^= 0xFF;
    disk[last + 40] ^= 0xFF;
    let result = scan(disk).unwrap();
    assert!(has(&result, "no usable GPT header; trying MBR"), "{:?}", messages(&result));
    assert!(has(&result, "protective MBR"));
    assert!(result.packages.is_empty());
}

#[test]
fn truncated_disk_skips_the_partition_past_the_end() {
    let mut disk = fixture("ext4-gpt");
    disk.truncate(10 << 20);
    let result = scan(disk).unwrap();
    assert!(
        has(&result, "partition 3 (offset 4194304, length 18874368) lies outside the 10485760-byte volume; skipped"),
        "{:?}",
        messages(&result)
    );
}

#[test]
fn tiny_and_empty_disks_are_not_errors_but_say_nothing_was_found() {
    let result = scan(vec![0u8; 300]).unwrap();
    assert!(has(&result, "no partition table or known filesystem found"));
    let result = scan(Vec::new()).unwrap();
    assert!(has(&result, "no partition table or known filesystem found"));
}

#[test]
fn corrupt_superblock_is_an_issue_on_the_partition() {
    let mut disk = fixture("ext4-gpt");
    let superblock = 8192 * SECTOR + 1024;
    disk[superblock + 0x18] = 40; // s_log_block_size: an absurd block size
    let result = scan(disk).unwrap();
    let issue = result.issues.iter().find(|issue| issue.message.starts_with("cannot open filesystem")).expect("issue");
    assert_eq!(issue.location.as_ref().unwrap().partition, Some(3));
}

/// An MBR disk whose table is written by the test.
fn mbr_disk(entries: &[(u8, u32, u32)], size: usize) -> Vec<u8> {
    let mut disk = vec![0u8; size];
    for (index, (kind, start, sectors)) in entries.iter().enumerate() {
        let base = 446 + index * 16;
        disk[base + 4] = *kind;
        disk[base + 8..base + 12].copy_from_slice(&start.to_le_bytes());
        disk[base + 12..base + 16].copy_from_slice(&sectors.to_le_bytes());
    }
    disk[510] = 0x55;
    disk[511] = 0xAA;
    disk
}

#[test]
fn overlapping_and_out_of_range_mbr_partitions_are_reported() {
    let disk = mbr_disk(&[(0x83, 2048, 4096), (0x83, 4000, 100), (0x83, 100_000, 10)], 4 << 20);
    let result = scan(disk).unwrap();
    assert!(has(&result, "partition 2 overlaps partition 1"), "{:?}", messages(&result));
    assert!(has(&result, "partition 3 (offset 51200000, length 5120) lies outside"));
    assert_eq!(result.volume.partitions.len(), 2);
}

#[test]
fn looping_extended_partition_chain_stops() {
    // The extended partition at sector 2048 holds an EBR whose link points to itself.
    let mut disk = mbr_disk(&[(0x05, 2048, 4096)], 4 << 20);
    let ebr = 2048 * SECTOR;
    let logical = ebr + 446;
    disk[logical + 4] = 0x83;
    disk[logical + 8..logical + 12].copy_from_slice(&64u32.to_le_bytes());
    disk[logical + 12..logical + 16].copy_from_slice(&64u32.to_le_bytes());
    let link = ebr + 446 + 16;
    disk[link + 4] = 0x05;
    disk[link + 8..link + 12].copy_from_slice(&0u32.to_le_bytes());
    disk[link + 12..link + 16].copy_from_slice(&64u32.to_le_bytes());
    disk[ebr + 510] = 0x55;
    disk[ebr + 511] = 0xAA;
    let result = scan(disk.clone()).unwrap();
    // A zero link ends the chain; now make it point back at the extended start.
    assert!(result.volume.partitions.iter().any(|partition| partition.number == Some(5)));
    disk[link + 8..link + 12].copy_from_slice(&1u32.to_le_bytes());
    let second = ebr + SECTOR;
    disk[second + 446 + 16 + 4] = 0x05;
    disk[second + 510] = 0x55;
    disk[second + 511] = 0xAA;
    // The second EBR links to itself (sector 1 of the extended partition).
    disk[second + 446 + 16 + 8..second + 446 + 16 + 12].copy_from_slice(&1u32.to_le_bytes());
    let result = scan(disk).unwrap();
    assert!(has(&result, "extended partition chain loops back to sector 2049; stopped"), "{:?}", messages(&result));
    let numbers: Vec<Option<u32>> = result.volume.partitions.iter().map(|partition| partition.number).collect();
    assert_eq!(numbers, vec![Some(5)]);
}

#[test]
fn random_metadata_damage_never_panics_or_hangs() {
    let original = fixture("ext4-gpt");
    let partition = 8192 * SECTOR;
    // A small deterministic generator: the cases are the same on every run.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..40 {
        let mut disk = original.clone();
        for _ in 0..24 {
            // The first 2 MiB of the filesystem: superblock, descriptors, bitmaps, inodes.
            let offset = partition + (next() % (2 << 20)) as usize;
            disk[offset] ^= (next() % 255 + 1) as u8;
        }
        let _ = scan(disk);
    }
}

#[test]
fn a_real_ext4_directory_cycle_is_reported_and_not_followed() {
    // `debugfs ln` made /a/b/back-to-a another name for /a (see scripts/make-fixtures.sh).
    let disk = fixture("ext4-cycle");
    let result = scan(disk).unwrap();
    assert!(
        result.issues.iter().any(|issue| issue
            .location
            .as_ref()
            .is_some_and(|location| location.path == "/a/b/back-to-a")
            && issue.message.contains("directory cycle")),
        "{:?}",
        messages(&result)
    );
    // /a, /a/b, /a/b/file, /a/b/back-to-a, lost+found: the cycle adds one entry, not a tree.
    assert!(result.files_visited < 10, "{}", result.files_visited);
}
