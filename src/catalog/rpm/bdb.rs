//! rpm's legacy BerkeleyDB `Packages` database (Amazon Linux 2, RHEL/CentOS 7 and 8), read
//! without BerkeleyDB.
//!
//! `Packages` is a BerkeleyDB hash database: a metadata page, then hash pages holding
//! key/value pairs (key: the 4-byte header number; value: the header blob), with values
//! too large for a page moved to chains of overflow pages. Every page header is in the
//! byte order of the machine that wrote it; the magic number on the metadata page says
//! which. Records are found the way BerkeleyDB finds them: from the metadata page's bucket
//! count and `spares` table to each bucket's page, then along the bucket's chain of hash
//! pages; values are reached only through their pair, so free and stale pages are never
//! read. Bucket pages and overflow chains are read in runs of neighbouring pages: every
//! read is a trip through the filesystem (or the network, for a snapshot).

use super::header::MAXIMUM_BLOB_LENGTH;
use super::{DatabaseError, read_exact_at};
use crate::fs::FileReader;

/// BerkeleyDB's hash database magic number.
const HASH_MAGIC: u32 = 0x0006_1561;
/// Page type of the hash metadata page.
const PAGE_TYPE_HASH_METADATA: u8 = 8;
/// Page types of hash pages (unsorted before BerkeleyDB 4.6, sorted after).
const PAGE_TYPE_HASH_UNSORTED: u8 = 2;
const PAGE_TYPE_HASH: u8 = 13;
/// Page type of overflow pages.
const PAGE_TYPE_OVERFLOW: u8 = 7;
/// Item types on hash pages.
const ITEM_KEY_DATA: u8 = 1;
const ITEM_OFF_PAGE: u8 = 3;
/// Size of the header every page except the metadata page starts with.
const PAGE_HEADER_LENGTH: usize = 26;
/// Size of an off-page item: type, 3 unused bytes, first page number, total length.
const OFF_PAGE_ITEM_LENGTH: usize = 12;

/// Byte order of the file, told by the metadata page's magic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ByteOrder {
    Little,
    Big,
}

impl ByteOrder {
    fn u16(self, bytes: &[u8], at: usize) -> Option<u16> {
        let field: [u8; 2] = bytes.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(match self {
            Self::Little => u16::from_le_bytes(field),
            Self::Big => u16::from_be_bytes(field),
        })
    }

    fn u32(self, bytes: &[u8], at: usize) -> Option<u32> {
        let field: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(match self {
            Self::Little => u32::from_le_bytes(field),
            Self::Big => u32::from_be_bytes(field),
        })
    }
}

/// True when the first bytes of a file are a BerkeleyDB hash database in either byte order.
pub fn is_berkeley_hash(start: &[u8]) -> bool {
    byte_order(start).is_some()
}

fn byte_order(start: &[u8]) -> Option<ByteOrder> {
    [ByteOrder::Little, ByteOrder::Big].into_iter().find(|order| order.u32(start, 12) == Some(HASH_MAGIC))
}

/// The fields of the metadata page that reading needs.
#[derive(Debug)]
struct Metadata {
    order: ByteOrder,
    page_size: usize,
    last_page: u32,
    /// The first page of every hash bucket, sorted, from `max_bucket` and `spares`.
    bucket_pages: Vec<u32>,
}

/// Offsets in the hash metadata page of `max_bucket` and the 32 `spares`.
const MAX_BUCKET_OFFSET: usize = 72;
const SPARES_OFFSET: usize = 96;
const SPARES_COUNT: usize = 32;

/// The page of each bucket, as BerkeleyDB's `BS_TO_PAGE` computes it: buckets are
/// allocated in doubling groups, and `spares[ceil(log2(bucket + 1))]` is the page offset of
/// the bucket's group.
fn bucket_pages(first: &[u8], order: ByteOrder, last_page: u32) -> Result<Vec<u32>, DatabaseError> {
    let max_bucket = order.u32(first, MAX_BUCKET_OFFSET).unwrap_or(0);
    // Every bucket has its own page, so there cannot be more buckets than pages.
    if max_bucket >= last_page {
        return Err(corrupt(format!("{max_bucket} buckets cannot fit in {last_page} pages")));
    }
    let mut pages = Vec::with_capacity(max_bucket as usize + 1);
    for bucket in 0..=max_bucket {
        let group = (u64::from(bucket) + 1).next_power_of_two().trailing_zeros() as usize;
        let spare = (group < SPARES_COUNT)
            .then(|| order.u32(first, SPARES_OFFSET + 4 * group))
            .flatten()
            .ok_or_else(|| corrupt(format!("bucket {bucket} has no spares entry")))?;
        match bucket.checked_add(spare).filter(|page| (1..=last_page).contains(page)) {
            Some(page) => pages.push(page),
            None => {
                return Err(corrupt(format!("bucket {bucket} maps outside the database (spares[{group}] = {spare})")));
            }
        }
    }
    pages.sort_unstable();
    pages.dedup();
    Ok(pages)
}

fn corrupt(message: String) -> DatabaseError {
    DatabaseError::Corrupt(message)
}

fn read_metadata(reader: &mut dyn FileReader) -> Result<Metadata, DatabaseError> {
    let mut first = [0u8; 512];
    read_exact_at(reader, 0, &mut first)?;
    let order = byte_order(&first).ok_or_else(|| corrupt("no BerkeleyDB hash magic".to_string()))?;
    let field = |at| order.u32(&first, at).ok_or_else(|| corrupt("metadata page too short".to_string()));
    let page_size = field(20)?;
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(corrupt(format!("page size {page_size} is not a power of two from 512 to 65536")));
    }
    if first.get(24).copied().unwrap_or(0) != 0 {
        return Err(DatabaseError::Unsupported("encrypted BerkeleyDB database".to_string()));
    }
    let page_type = first.get(25).copied().unwrap_or(0);
    if page_type != PAGE_TYPE_HASH_METADATA {
        return Err(corrupt(format!("metadata page has type {page_type}, not a hash metadata page")));
    }
    let last_page = field(32)?;
    let pages_in_file = reader.size() / u64::from(page_size);
    if u64::from(last_page) >= pages_in_file {
        return Err(corrupt(format!(
            "last page number {last_page} is past the end of the file ({pages_in_file} pages of {page_size} bytes)"
        )));
    }
    let bucket_pages = bucket_pages(&first, order, last_page)?;
    Ok(Metadata { order, page_size: page_size as usize, last_page, bucket_pages })
}

/// Most pages read in one call when reading runs of bucket pages.
const MOST_PAGES_PER_READ: u32 = 256;

/// Pages of the database, read in runs: bucket pages come in contiguous groups, and an
/// overflow chain, which BerkeleyDB usually allocates as neighbouring pages, is read as one
/// run sized from the item's length, with single-page reads only where a chain leaves it.
struct Pages<'a> {
    reader: &'a mut dyn FileReader,
    page_size: usize,
    last_page: u32,
}

impl<'a> Pages<'a> {
    fn new(reader: &'a mut dyn FileReader, metadata: &Metadata) -> Self {
        Self { reader, page_size: metadata.page_size, last_page: metadata.last_page }
    }

    fn offset(&self, number: u32) -> u64 {
        u64::from(number).saturating_mul(self.page_size as u64)
    }

    /// Pages `first` to `first + count - 1` in one read, clipped to the database.
    fn run(&mut self, first: u32, count: u32) -> Result<Vec<u8>, DatabaseError> {
        let last = first.saturating_add(count.saturating_sub(1)).min(self.last_page);
        let start = self.offset(first);
        let end = self.offset(last.saturating_add(1)).min(self.reader.size());
        let mut bytes = vec![0u8; usize::try_from(end.saturating_sub(start)).unwrap_or(0)];
        read_exact_at(self.reader, start, &mut bytes)?;
        Ok(bytes)
    }

    /// Page `number` on its own.
    fn single(&mut self, number: u32, page: &mut [u8]) -> Result<(), DatabaseError> {
        let offset = self.offset(number);
        read_exact_at(self.reader, offset, page)
    }
}

/// The bytes of item `index` of a hash page: items are stored from the end of the page
/// downwards, so each one ends where the previous one starts.
fn hash_item<'a>(page: &'a [u8], metadata: &Metadata, index: usize) -> Option<&'a [u8]> {
    let order = metadata.order;
    let start = usize::from(order.u16(page, PAGE_HEADER_LENGTH.checked_add(index.checked_mul(2)?)?)?);
    let end = match index.checked_sub(1) {
        None => metadata.page_size,
        Some(previous) => usize::from(order.u16(page, PAGE_HEADER_LENGTH + previous * 2)?),
    };
    if start < PAGE_HEADER_LENGTH || start >= end {
        return None;
    }
    page.get(start..end)
}

/// Follow an overflow chain from `first_page`, collecting exactly `total_length` bytes.
fn read_overflow(
    pages: &mut Pages<'_>,
    metadata: &Metadata,
    first_page: u32,
    total_length: usize,
) -> Result<Vec<u8>, String> {
    if total_length > MAXIMUM_BLOB_LENGTH {
        return Err(format!("value of {total_length} bytes is over the header size limit"));
    }
    if first_page == 0 || first_page > metadata.last_page {
        return Err(format!("overflow chain starts at page {first_page}, outside the database"));
    }
    let per_page = metadata.page_size.saturating_sub(PAGE_HEADER_LENGTH).max(1);
    let expected_pages = u32::try_from(total_length.div_ceil(per_page).max(1)).unwrap_or(u32::MAX);
    let run = pages.run(first_page, expected_pages).map_err(|error| error.to_string())?;
    let mut value = Vec::with_capacity(total_length);
    let mut single = vec![0u8; metadata.page_size];
    let mut number = first_page;
    // A chain has at most one hop per page, so a looping chain ends.
    for _ in 0..=metadata.last_page {
        if number == 0 || number > metadata.last_page {
            return Err(format!("overflow chain points to page {number}, outside the database"));
        }
        let in_run = number
            .checked_sub(first_page)
            .and_then(|index| (index as usize).checked_mul(metadata.page_size))
            .and_then(|at| run.get(at..at.saturating_add(metadata.page_size)));
        let page = match in_run {
            Some(page) => page,
            None => {
                pages.single(number, &mut single).map_err(|error| error.to_string())?;
                single.as_slice()
            }
        };
        let page_type = page.get(25).copied().unwrap_or(0);
        if page_type != PAGE_TYPE_OVERFLOW {
            return Err(format!("overflow chain reaches page {number} of type {page_type}"));
        }
        let order = metadata.order;
        let length = usize::from(order.u16(page, 22).unwrap_or(0));
        let bytes = page
            .get(PAGE_HEADER_LENGTH..PAGE_HEADER_LENGTH.saturating_add(length))
            .ok_or_else(|| format!("overflow page {number} claims {length} bytes"))?;
        if value.len().saturating_add(bytes.len()) > total_length {
            return Err(format!("overflow chain holds more than the {total_length} bytes its item says"));
        }
        value.extend_from_slice(bytes);
        if value.len() == total_length {
            return Ok(value);
        }
        number = order.u32(page, 16).unwrap_or(0);
    }
    Err(format!("overflow chain from page {first_page} loops"))
}

/// Read every header blob: `visit(record number, blob)` for each, problems for records
/// that cannot be read; an error when the database as a whole cannot be read.
pub fn read(
    reader: &mut dyn FileReader,
    visit: &mut dyn FnMut(u64, &[u8]),
    problems: &mut Vec<String>,
) -> Result<(), DatabaseError> {
    let metadata = read_metadata(reader)?;
    let mut pages = Pages::new(reader, &metadata);
    let mut walk = BucketWalk {
        seen: vec![false; metadata.last_page as usize + 1],
        chained: Vec::new(),
        off_page: Vec::new(),
        visit,
        problems,
    };
    let runs = contiguous_runs(&metadata.bucket_pages);
    let mut single = vec![0u8; metadata.page_size];
    for (first, count) in runs {
        let run = pages.run(first, count)?;
        for (index, page) in run.chunks_exact(metadata.page_size).enumerate() {
            let number = first.saturating_add(index as u32);
            read_hash_page(&metadata, number, page, &mut walk);
        }
        // Buckets with more pairs than one page holds continue on pages linked by `next_pgno`.
        while let Some(number) = walk.chained.pop() {
            pages.single(number, &mut single)?;
            read_hash_page(&metadata, number, &single, &mut walk);
        }
    }
    // Values in file order: consecutive chains then follow each other on disk, so the
    // filesystem reads on instead of seeking for each header.
    walk.off_page.sort_unstable_by_key(|value| value.first_page);
    for value in std::mem::take(&mut walk.off_page) {
        match read_overflow(&mut pages, &metadata, value.first_page, value.total_length) {
            Ok(blob) => (walk.visit)(u64::from(value.record), &blob),
            Err(message) => walk.problems.push(format!("header {}: {message}", value.record)),
        }
    }
    Ok(())
}

/// `(first page, page count)` for each run of consecutive page numbers (sorted input).
fn contiguous_runs(pages: &[u32]) -> Vec<(u32, u32)> {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &page in pages {
        match runs.last_mut() {
            Some((first, count)) if first.saturating_add(*count) == page && *count < MOST_PAGES_PER_READ => *count += 1,
            _ => runs.push((page, 1)),
        }
    }
    runs
}

/// A value on a chain of overflow pages, found in a bucket.
struct OffPageValue {
    record: u32,
    first_page: u32,
    total_length: usize,
}

/// The state of one walk over the buckets.
struct BucketWalk<'a> {
    /// Pages already read, so a bucket chain that loops or joins another ends.
    seen: Vec<bool>,
    /// Pages that bucket chains continue on, still to read.
    chained: Vec<u32>,
    /// Values stored on overflow pages, read after the buckets.
    off_page: Vec<OffPageValue>,
    visit: &'a mut dyn FnMut(u64, &[u8]),
    problems: &'a mut Vec<String>,
}

/// Visit the pairs of one hash page, and queue the page it continues on.
fn read_hash_page(metadata: &Metadata, number: u32, page: &[u8], walk: &mut BucketWalk<'_>) {
    let problems = &mut *walk.problems;
    let visit = &mut *walk.visit;
    match walk.seen.get_mut(number as usize) {
        Some(seen) if !*seen => *seen = true,
        _ => {
            problems.push(format!("hash page {number} is reached twice; the bucket chain loops"));
            return;
        }
    }
    let order = metadata.order;
    let page_type = page.get(25).copied().unwrap_or(0);
    if page_type != PAGE_TYPE_HASH && page_type != PAGE_TYPE_HASH_UNSORTED {
        // Records in the bucket are lost; that must not pass as a smaller database.
        problems.push(format!("bucket page {number} has type {page_type}, not a hash page"));
        return;
    }
    let next = order.u32(page, 16).unwrap_or(0);
    if next != 0 {
        if next > metadata.last_page {
            problems.push(format!("hash page {number} continues on page {next}, outside the database"));
        } else {
            walk.chained.push(next);
        }
    }
    let entries = usize::from(order.u16(page, 20).unwrap_or(0));
    if PAGE_HEADER_LENGTH.saturating_add(entries.saturating_mul(2)) > metadata.page_size || entries % 2 != 0 {
        problems.push(format!("hash page {number}: {entries} entries do not fit the page"));
        return;
    }
    for pair in (0..entries).step_by(2) {
        let key = hash_item(page, metadata, pair);
        let value = hash_item(page, metadata, pair + 1);
        let (Some(key), Some(value)) = (key, value) else {
            problems.push(format!("hash page {number}: item {pair} is out of bounds"));
            continue;
        };
        // Keys are `H_KEYDATA` items holding the header number in the writer's byte order.
        let record = match (key.first(), order.u32(key, 1)) {
            (Some(&ITEM_KEY_DATA), Some(record)) if key.len() == 5 => record,
            _ => {
                problems.push(format!("hash page {number}: item {pair} is not a 4-byte key"));
                continue;
            }
        };
        // Record 0 holds rpm's next-header-number counter, not a header.
        if record == 0 {
            continue;
        }
        match value.first().copied() {
            Some(ITEM_KEY_DATA) => visit(u64::from(record), value.get(1..).unwrap_or_default()),
            Some(ITEM_OFF_PAGE) if value.len() >= OFF_PAGE_ITEM_LENGTH => {
                let first_page = order.u32(value, 4).unwrap_or(0);
                let total_length = order.u32(value, 8).unwrap_or(0) as usize;
                walk.off_page.push(OffPageValue { record, first_page, total_length });
            }
            other => problems.push(format!("header {record}: unsupported item type {other:?} on hash page {number}")),
        }
    }
}

#[cfg(test)]
pub mod testing {
    //! Write small BerkeleyDB hash databases the way BerkeleyDB lays them out, in either
    //! byte order, to test the reader on shapes the fixture tools do not produce on demand.

    /// Build a database with the given `(header number, blob)` records in one hash page;
    /// blobs longer than `inline_limit` go to overflow chains.
    pub fn database(records: &[(u32, Vec<u8>)], big_endian: bool, page_size: usize, inline_limit: usize) -> Vec<u8> {
        let u16_bytes = |value: u16| {
            if big_endian { value.to_be_bytes() } else { value.to_le_bytes() }
        };
        let u32_bytes = |value: u32| {
            if big_endian { value.to_be_bytes() } else { value.to_le_bytes() }
        };
        let mut pages: Vec<Vec<u8>> = vec![vec![0u8; page_size], vec![0u8; page_size]];
        let mut items: Vec<Vec<u8>> = Vec::new();
        for (record, blob) in records {
            items.push([&[super::ITEM_KEY_DATA][..], &u32_bytes(*record)].concat());
            if blob.len() <= inline_limit {
                items.push([&[super::ITEM_KEY_DATA][..], blob].concat());
                continue;
            }
            let capacity = page_size - super::PAGE_HEADER_LENGTH;
            let first = pages.len() as u32;
            let chunks: Vec<&[u8]> = blob.chunks(capacity).collect();
            for (index, chunk) in chunks.iter().enumerate() {
                let number = pages.len() as u32;
                let mut page = vec![0u8; page_size];
                page[8..12].copy_from_slice(&u32_bytes(number));
                let next = if index + 1 < chunks.len() { number + 1 } else { 0 };
                page[16..20].copy_from_slice(&u32_bytes(next));
                page[22..24].copy_from_slice(&u16_bytes(chunk.len() as u16));
                page[25] = super::PAGE_TYPE_OVERFLOW;
                page[26..26 + chunk.len()].copy_from_slice(chunk);
                pages.push(page);
            }
            let mut off_page = vec![super::ITEM_OFF_PAGE, 0, 0, 0];
            off_page.extend_from_slice(&u32_bytes(first));
            off_page.extend_from_slice(&u32_bytes(blob.len() as u32));
            items.push(off_page);
        }
        let hash = &mut pages[1];
        hash[8..12].copy_from_slice(&u32_bytes(1));
        hash[20..22].copy_from_slice(&u16_bytes(items.len() as u16));
        hash[25] = super::PAGE_TYPE_HASH;
        let mut end = page_size;
        for (index, item) in items.iter().enumerate() {
            let start = end - item.len();
            hash[start..end].copy_from_slice(item);
            hash[26 + 2 * index..28 + 2 * index].copy_from_slice(&u16_bytes(start as u16));
            end = start;
        }
        let last_page = pages.len() as u32 - 1;
        let meta = &mut pages[0];
        meta[12..16].copy_from_slice(&u32_bytes(super::HASH_MAGIC));
        meta[16..20].copy_from_slice(&u32_bytes(9));
        meta[20..24].copy_from_slice(&u32_bytes(page_size as u32));
        meta[25] = super::PAGE_TYPE_HASH_METADATA;
        meta[32..36].copy_from_slice(&u32_bytes(last_page));
        // One bucket (max_bucket 0) on page 1: spares[0] = 1.
        meta[96..100].copy_from_slice(&u32_bytes(1));
        pages.concat()
    }
}

#[cfg(test)]
mod tests {
    use super::super::header::testing::{Value, blob, package};
    use super::super::testing::{Outcome, corrupted_copies, read_with};
    use super::*;

    fn read_all(bytes: Vec<u8>) -> Outcome {
        read_with(read, bytes)
    }

    fn sample() -> Vec<(u32, Vec<u8>)> {
        vec![
            (0, vec![3, 0, 0, 0]),
            (1, package("bash", None, "5.2.15", "1.amzn2023", "x86_64")),
            (2, package("kernel", None, "6.1.0", "1", "x86_64")),
        ]
    }

    #[test]
    fn reads_both_byte_orders_inline_and_overflow() {
        let mut records = sample();
        // A header larger than two pages, to need a chain of overflow pages.
        records.push((3, blob(&[(1000, Value::String(&"x".repeat(1500)))])));
        for big_endian in [false, true] {
            for inline_limit in [0, 400] {
                let (result, found, problems) = read_all(testing::database(&records, big_endian, 512, inline_limit));
                result.unwrap();
                assert!(problems.is_empty(), "{problems:?}");
                let expected: Vec<(u64, Vec<u8>)> =
                    records[1..].iter().map(|(number, blob)| (u64::from(*number), blob.clone())).collect();
                assert_eq!(found, expected, "big endian {big_endian}, inline limit {inline_limit}");
            }
        }
    }

    #[test]
    fn empty_and_garbage_are_errors() {
        assert!(matches!(read_all(Vec::new()).0, Err(DatabaseError::Truncated { .. })));
        assert!(matches!(read_all(vec![0x55; 4096]).0, Err(DatabaseError::Corrupt(_))));
        let mut bad_page_size = testing::database(&sample(), false, 512, 0);
        bad_page_size[20..24].copy_from_slice(&1000u32.to_le_bytes());
        assert!(
            matches!(read_all(bad_page_size).0, Err(DatabaseError::Corrupt(message)) if message.contains("page size"))
        );
        let mut absurd_last_page = testing::database(&sample(), true, 512, 0);
        absurd_last_page[32..36].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(
            matches!(read_all(absurd_last_page).0, Err(DatabaseError::Corrupt(message)) if message.contains("past the end"))
        );
    }

    #[test]
    fn overflow_chain_leaving_its_run_of_pages_reads_whole() {
        let mut records = sample();
        let big = blob(&[(1000, Value::String(&"y".repeat(1500)))]);
        records.push((3, big.clone()));
        let mut database = testing::database(&records, false, 512, 0);
        // Record 3's chain is pages 5 to 8. Move page 6 to a new page 9 and free page 6.
        let page = |number: usize| number * 512..(number + 1) * 512;
        let moved = database[page(6)].to_vec();
        database.extend_from_slice(&moved);
        database[page(6)].fill(0);
        database[5 * 512 + 16..5 * 512 + 20].copy_from_slice(&9u32.to_le_bytes());
        database[32..36].copy_from_slice(&9u32.to_le_bytes());
        let (result, found, problems) = read_all(database);
        result.unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(found.last(), Some(&(3, big)));
    }

    #[test]
    fn looping_bucket_chain_and_bad_bucket_tables() {
        let database = testing::database(&sample(), false, 512, 0);
        let mut looping = database.clone();
        looping[512 + 16..512 + 20].copy_from_slice(&1u32.to_le_bytes());
        let (result, found, problems) = read_all(looping);
        result.unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(problems, vec!["hash page 1 is reached twice; the bucket chain loops"]);
        let mut many_buckets = database.clone();
        many_buckets[72..76].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(
            matches!(read_all(many_buckets).0, Err(DatabaseError::Corrupt(message)) if message.contains("buckets"))
        );
        let mut bad_spare = database;
        bad_spare[96..100].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(read_all(bad_spare).0, Err(DatabaseError::Corrupt(message)) if message.contains("spares[0]")));
    }

    #[test]
    fn pages_of_unexpected_types_are_a_problem() {
        let mut database = testing::database(&sample(), false, 512, 0);
        // The hash page becomes a btree leaf page: its records are lost, and that is said.
        database[512 + 25] = 5;
        let (result, found, problems) = read_all(database);
        result.unwrap();
        assert!(found.is_empty());
        assert_eq!(problems, vec!["bucket page 1 has type 5, not a hash page"]);
    }

    #[test]
    fn truncated_overflow_chain_is_a_problem() {
        let database = testing::database(&sample(), false, 512, 0);
        // Cut the last overflow page off and shrink the last page number to match.
        let mut truncated = database[..database.len() - 512].to_vec();
        let last = (truncated.len() / 512 - 1) as u32;
        truncated[32..36].copy_from_slice(&last.to_le_bytes());
        let (result, found, problems) = read_all(truncated);
        result.unwrap();
        assert_eq!(found.len(), 1);
        assert!(problems[0].starts_with("header 2:"), "{problems:?}");
    }

    #[test]
    fn looping_overflow_chain_ends() {
        let mut records = sample();
        records.push((3, blob(&[(1000, Value::String(&"x".repeat(1500)))])));
        let mut database = testing::database(&records, false, 512, 0);
        // Records 0, 1 and 2 take pages 2 to 4; point record 3's first page back at itself.
        let first_overflow = 5 * 512;
        database[first_overflow + 16..first_overflow + 20].copy_from_slice(&5u32.to_le_bytes());
        let (result, found, problems) = read_all(database);
        result.unwrap();
        assert_eq!(found.len(), 2);
        assert!(problems[0].starts_with("header 3:"), "{problems:?}");
    }

    #[test]
    fn seeded_corruption_never_panics() {
        let database = testing::database(&sample(), true, 512, 0);
        for bytes in corrupted_copies(&database, 0..database.len(), 3000, 6) {
            let _ = read_all(bytes);
        }
    }
}
