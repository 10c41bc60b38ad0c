//! `EbsSource` against moto on loopback: a snapshot seeded from the demo image through the
//! EBS direct API reads back byte for byte, unallocated blocks cost no call, listing pages
//! are followed, faults are retried (and counted), expired tokens re-list, one block is
//! fetched once however many readers want it, a prefetched (or kept) range stays in memory
//! while its guard lives, and a block that keeps failing is an error naming the snapshot and
//! block.

mod support;

use snapscan::aws::{AwsOptions, Session};
use snapscan::source::ReadAt;
use snapscan::source::ebs::{EbsOptions, EbsSource};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use support::{BLOCK, Moto, REGION};

fn demo_image() -> PathBuf {
    support::repository_root().join("fixtures/demo/debian12.img")
}

fn fast_retries() -> EbsOptions {
    EbsOptions {
        backoff_base: Duration::from_millis(5),
        backoff_cap: Duration::from_millis(50),
        ..EbsOptions::default()
    }
}

fn open(moto: &Moto, snapshot_id: &str, ebs: EbsOptions) -> EbsSource {
    let session =
        Session::with_config(support::runtime(), moto.sdk_config(), AwsOptions { ebs, ..AwsOptions::default() })
            .expect("session");
    session.open_snapshot(REGION, snapshot_id).expect("open snapshot")
}

/// Read the whole image range through the source in uneven chunks and compare.
fn assert_same_bytes(source: &EbsSource, image: &[u8]) {
    assert_eq!(source.len(), 1 << 30, "a 16 MiB image makes a 1 GiB volume");
    let mut offset = 0usize;
    let mut chunk = 4096usize;
    while offset < image.len() {
        let length = chunk.min(image.len() - offset);
        let mut buffer = vec![0xAA; length];
        source.read_exact_at(offset as u64, &mut buffer).expect("read");
        assert!(buffer == image[offset..offset + length], "bytes differ at {offset}");
        offset += length;
        // Vary the read size so reads straddle block boundaries.
        chunk = if chunk > 3 * BLOCK { 4096 } else { chunk * 3 + 512 };
    }
}

#[test]
fn snapshot_reads_back_the_image() {
    let Some(moto) = Moto::start() else { return };
    let runtime = support::runtime();
    let snapshot_id = support::seed_snapshot(&runtime, &moto.sdk_config(), &demo_image());
    let image = std::fs::read(demo_image()).expect("read image");
    let source = open(&moto, &snapshot_id, EbsOptions::default());
    assert_same_bytes(&source, &image);
    let counters = source.counters();
    assert_eq!(counters.blocks_allocated, support::allocated_blocks(&demo_image()));
    assert!(counters.blocks_fetched <= counters.blocks_allocated, "{counters:?}");
    assert_eq!(counters.retries, 0);
    assert_eq!(counters.list_calls, 1);

    // Past the image, the volume is unallocated: zeros, and no call.
    let calls = source.counters().get_block_calls;
    let mut buffer = vec![0xAA; 3 * BLOCK];
    source.read_exact_at(512 << 20, &mut buffer).expect("read unallocated");
    assert!(buffer.iter().all(|&byte| byte == 0));
    assert_eq!(source.counters().get_block_calls, calls);

    // Past the end of the volume is an error, not a short read.
    assert!(source.read_exact_at((1 << 30) - 10, &mut [0; 20]).is_err());
}

#[test]
fn listing_pages_are_followed() {
    let Some(moto) = Moto::start_with(&[("SNAPSCAN_MOTO_MAX_PAGE", "3")]) else { return };
    let runtime = support::runtime();
    let snapshot_id = support::seed_snapshot(&runtime, &moto.sdk_config(), &demo_image());
    let source = open(&moto, &snapshot_id, EbsOptions::default());
    let allocated = support::allocated_blocks(&demo_image());
    assert_eq!(source.counters().blocks_allocated, allocated);
    assert_eq!(source.counters().list_calls, allocated.div_ceil(3));
    assert_same_bytes(&source, &std::fs::read(demo_image()).expect("read image"));
}

#[test]
fn faults_are_retried_and_counted() {
    let Some(moto) = Moto::start() else { return };
    let runtime = support::runtime();
    let snapshot_id = support::seed_snapshot(&runtime, &moto.sdk_config(), &demo_image());
    moto.set_faults(r#"{"pattern": {"GetSnapshotBlock": ["throttle", "503", "truncate", "corrupt", null, null], "ListSnapshotBlocks": ["throttle", "503", null]}}"#);
    let source = open(&moto, &snapshot_id, fast_retries());
    assert_same_bytes(&source, &std::fs::read(demo_image()).expect("read image"));
    let counters = source.counters();
    assert!(counters.checksum_failures >= 1, "{counters:?}");
    assert!(counters.retries >= 4, "{counters:?}");
    let report = moto.fault_report();
    for fault in ["throttle", "503", "truncate", "corrupt"] {
        assert!(report["injected"][format!("GetSnapshotBlock:{fault}")].as_u64() >= Some(1), "{report}");
    }
}

#[test]
fn expired_tokens_relist_the_snapshot() {
    let Some(moto) = Moto::start() else { return };
    let runtime = support::runtime();
    let snapshot_id = support::seed_snapshot(&runtime, &moto.sdk_config(), &demo_image());
    let source = open(&moto, &snapshot_id, fast_retries());
    moto.set_faults(r#"{"pattern": {"GetSnapshotBlock": ["expire", null, null]}}"#);
    assert_same_bytes(&source, &std::fs::read(demo_image()).expect("read image"));
    assert!(source.counters().list_calls >= 2, "{:?}", source.counters());
}

#[test]
fn one_block_is_fetched_once_for_many_readers() {
    let Some(moto) = Moto::start() else { return };
    let runtime = support::runtime();
    let snapshot_id = support::seed_snapshot(&runtime, &moto.sdk_config(), &demo_image());
    let source = Arc::new(open(&moto, &snapshot_id, EbsOptions { readahead_blocks: 0, ..EbsOptions::default() }));
    moto.set_faults(r#"{"latency_ms": {"GetSnapshotBlock": 300}}"#);
    let readers: Vec<_> = (0..8)
        .map(|reader| {
            let source = Arc::clone(&source);
            std::thread::spawn(move || {
                let mut buffer = vec![0; 512];
                source.read_exact_at(1024 + reader * 512, &mut buffer).expect("read");
                buffer
            })
        })
        .collect();
    for reader in readers {
        reader.join().expect("reader thread");
    }
    assert_eq!(source.counters().get_block_calls, 1, "{:?}", source.counters());
    assert_eq!(source.counters().blocks_fetched, 1);
}

#[test]
fn readahead_follows_reads_into_the_next_block_not_reads_within_one() {
    let Some(moto) = Moto::start() else { return };
    let runtime = support::runtime();
    let snapshot_id = support::seed_snapshot(&runtime, &moto.sdk_config(), &demo_image());
    let image = std::fs::read(demo_image()).expect("read image");
    let allocated = |index: usize| image[index * BLOCK..][..BLOCK].iter().any(|&byte| byte != 0);
    // Two allocated blocks in a row with at least one allocated among the two after them.
    let ahead = |index: usize| (index + 2..index + 4).filter(|&next| allocated(next)).count();
    let first = (1..image.len() / BLOCK - 4)
        .find(|&index| allocated(index) && allocated(index + 1) && ahead(index) > 0)
        .expect("a run of allocated blocks in the demo image");
    let source = open(&moto, &snapshot_id, EbsOptions { readahead_blocks: 2, ..EbsOptions::default() });
    let mut buffer = vec![0; 4096];
    let offset = (first * BLOCK) as u64;
    // Two reads inside one block, one after the other, as `ext4-view` makes them.
    source.read_exact_at(offset, &mut buffer).expect("read");
    source.read_exact_at(offset + 4096, &mut buffer).expect("read");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(source.counters().blocks_fetched, 1, "{:?}", source.counters());
    // A read that moves on into the next block streams: the allocated ones among the two
    // after it are fetched too.
    source.read_exact_at(offset + BLOCK as u64, &mut buffer).expect("read");
    let expected = 2 + ahead(first) as u64;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while source.counters().blocks_fetched < expected && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(source.counters().blocks_fetched, expected, "{:?}", source.counters());
}

#[test]
fn prefetched_and_kept_pages_outlive_the_cache_until_their_guards_drop() {
    let Some(moto) = Moto::start() else { return };
    let runtime = support::runtime();
    let snapshot_id = support::seed_snapshot(&runtime, &moto.sdk_config(), &demo_image());
    let image = std::fs::read(demo_image()).expect("read image");
    let allocated: Vec<usize> = (0..image.len() / BLOCK)
        .filter(|&index| image[index * BLOCK..][..BLOCK].iter().any(|&byte| byte != 0))
        .collect();
    assert!(allocated.len() > 4, "{allocated:?}");
    // A cache of two blocks: reading a few others evicts whatever is not held.
    let source = open(&moto, &snapshot_id, EbsOptions { cache_blocks: 2, readahead_blocks: 0, ..fast_retries() });
    let held_block = allocated[1];
    let offset = held_block * BLOCK + 3 * 4096 + 100;
    let length = 2 * 4096;
    let guard = source.prefetch(offset as u64, length as u64);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while source.counters().blocks_fetched == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    // The hinted pages are copied out just after the fetch.
    std::thread::sleep(Duration::from_millis(200));
    let read = |offset: usize, length: usize| {
        let mut buffer = vec![0xAA; length];
        source.read_exact_at(offset as u64, &mut buffer).expect("read");
        buffer
    };
    for &other in allocated.iter().filter(|&&index| index != held_block).take(4) {
        read(other * BLOCK, 512);
    }
    let fetched = source.counters().blocks_fetched;
    assert_eq!(read(offset, length), image[offset..offset + length]);
    assert_eq!(source.counters().blocks_fetched, fetched, "the held range was fetched again");
    // A read reaching past the held pages goes to the snapshot, and still reads true.
    assert_eq!(read(offset, length + 8192), image[offset..offset + length + 8192]);
    assert_eq!(source.counters().blocks_fetched, fetched + 1);
    // Once the guard drops, nothing keeps the range.
    drop(guard);
    for &other in allocated.iter().filter(|&&index| index != held_block).take(4) {
        read(other * BLOCK, 512);
    }
    let fetched = source.counters().blocks_fetched;
    assert_eq!(read(offset, length), image[offset..offset + length]);
    assert_eq!(source.counters().blocks_fetched, fetched + 1);

    // Kept, not prefetched: nothing is fetched for it, but once any read brings its block
    // in (here: another part of the block), the range stays after the cache drops it.
    let kept_block = allocated[2];
    let kept_offset = kept_block * BLOCK + 40 * 4096;
    let before = source.counters().blocks_fetched;
    let kept = source.keep(kept_offset as u64, length as u64);
    assert_eq!(source.counters().blocks_fetched, before, "keeping fetches nothing");
    read(kept_block * BLOCK, 512);
    for &other in allocated.iter().filter(|&&index| index != kept_block).take(4) {
        read(other * BLOCK, 512);
    }
    let fetched = source.counters().blocks_fetched;
    assert_eq!(read(kept_offset, length), image[kept_offset..kept_offset + length]);
    assert_eq!(source.counters().blocks_fetched, fetched, "the kept range was fetched again");
    drop(kept);
}

#[test]
fn a_block_that_keeps_failing_names_snapshot_and_block() {
    let Some(moto) = Moto::start() else { return };
    let runtime = support::runtime();
    let snapshot_id = support::seed_snapshot(&runtime, &moto.sdk_config(), &demo_image());
    let source = open(&moto, &snapshot_id, EbsOptions { attempts: 3, readahead_blocks: 0, ..fast_retries() });
    moto.set_faults(r#"{"pattern": {"GetSnapshotBlock": ["503"]}}"#);
    let error = source.read_exact_at(0, &mut [0; 16]).expect_err("must fail");
    let message = error.to_string();
    assert!(
        message.contains(&snapshot_id) && message.contains("block 0") && message.contains("3 attempts"),
        "{message}"
    );
    assert_eq!(source.counters().get_block_calls, 3);
}

#[test]
fn unknown_snapshot_is_not_found() {
    let Some(moto) = Moto::start() else { return };
    let session = Session::with_config(support::runtime(), moto.sdk_config(), AwsOptions::default()).expect("session");
    let error = session.open_snapshot(REGION, "snap-0123456789abcdef0").expect_err("must fail");
    let message = error.to_string();
    assert!(message.contains("snap-0123456789abcdef0") && message.contains("not found"), "{message}");
}
