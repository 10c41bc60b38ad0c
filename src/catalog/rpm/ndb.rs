//! rpm's NDB `Packages.db` (SUSE Linux Enterprise 15 and openSUSE Leap 15+).
//!
//! NDB is rpm's own little-endian format: a 32-byte file header (`RpmP` magic, version,
//! generation, number of slot pages), then slot pages of 16-byte slots (`Slot` magic,
//! package index, block offset, block count), then blobs addressed in 16-byte blocks,
//! each opened by a 16-byte blob header (`BlbS` magic, package index, generation,
//! length) and holding one header blob. Every offset and length comes from the file, so
//! each is checked against the file size before anything is read or allocated.

use super::header::MAXIMUM_BLOB_LENGTH;
use super::{DatabaseError, read_exact_at};
use crate::fs::FileReader;

/// `RpmP`, little-endian.
const FILE_MAGIC: &[u8; 4] = b"RpmP";
/// `Slot`.
const SLOT_MAGIC: &[u8; 4] = b"Slot";
/// `BlbS`.
const BLOB_MAGIC: &[u8; 4] = b"BlbS";
/// The only NDB version rpm has written.
const SUPPORTED_VERSION: u32 = 0;
const PAGE_LENGTH: u64 = 4096;
const SLOT_LENGTH: usize = 16;
const BLOCK_LENGTH: u64 = 16;
const BLOB_HEADER_LENGTH: usize = 16;
/// The file header occupies the first two slots of the first slot page.
const FIRST_SLOT: usize = 2;

/// True when the first bytes of a file are an NDB package database.
pub fn is_ndb(start: &[u8]) -> bool {
    start.get(0..4) == Some(FILE_MAGIC.as_slice())
}

fn le_u32(bytes: &[u8], at: usize) -> u32 {
    bytes.get(at..at.saturating_add(4)).and_then(|field| field.try_into().ok()).map_or(0, u32::from_le_bytes)
}

/// Read every header blob: `visit(package index, blob)` for each, problems for slots that
/// cannot be read; an error when the database as a whole cannot be read.
pub fn read(
    reader: &mut dyn FileReader,
    visit: &mut dyn FnMut(u64, &[u8]),
    problems: &mut Vec<String>,
) -> Result<(), DatabaseError> {
    let mut header = [0u8; 32];
    read_exact_at(reader, 0, &mut header)?;
    if !is_ndb(&header) {
        return Err(DatabaseError::Corrupt("no NDB magic".to_string()));
    }
    let version = le_u32(&header, 4);
    if version != SUPPORTED_VERSION {
        return Err(DatabaseError::Unsupported(format!("NDB version {version}")));
    }
    let slot_pages = u64::from(le_u32(&header, 12));
    let file_size = reader.size();
    if slot_pages == 0 || slot_pages.saturating_mul(PAGE_LENGTH) > file_size {
        return Err(DatabaseError::Corrupt(format!("{slot_pages} slot pages do not fit a file of {file_size} bytes")));
    }
    let mut page = vec![0u8; PAGE_LENGTH as usize];
    for page_number in 0..slot_pages {
        read_exact_at(reader, page_number * PAGE_LENGTH, &mut page)?;
        let first = if page_number == 0 { FIRST_SLOT } else { 0 };
        for slot in page.chunks_exact(SLOT_LENGTH).skip(first) {
            if slot.get(0..4) != Some(SLOT_MAGIC.as_slice()) {
                return Err(DatabaseError::Corrupt(format!(
                    "slot page {page_number} holds a slot without the Slot magic"
                )));
            }
            let package_index = le_u32(slot, 4);
            if package_index == 0 {
                continue; // A free slot.
            }
            if let Err(message) = read_blob(reader, slot, package_index, visit) {
                problems.push(format!("package {package_index}: {message}"));
            }
        }
    }
    Ok(())
}

fn read_blob(
    reader: &mut dyn FileReader,
    slot: &[u8],
    package_index: u32,
    visit: &mut dyn FnMut(u64, &[u8]),
) -> Result<(), String> {
    let block_offset = u64::from(le_u32(slot, 8));
    let block_count = u64::from(le_u32(slot, 12));
    let offset = block_offset * BLOCK_LENGTH;
    let extent = block_count * BLOCK_LENGTH;
    if block_offset == 0 || offset.saturating_add(extent) > reader.size() {
        return Err(format!("blocks {block_offset}+{block_count} are outside the file"));
    }
    let mut blob_header = [0u8; BLOB_HEADER_LENGTH];
    read_exact_at(reader, offset, &mut blob_header).map_err(|error| error.to_string())?;
    if blob_header.get(0..4) != Some(BLOB_MAGIC.as_slice()) || le_u32(&blob_header, 4) != package_index {
        return Err(format!("no blob for it at block {block_offset}"));
    }
    let length = le_u32(&blob_header, 12) as usize;
    if length > MAXIMUM_BLOB_LENGTH || (BLOB_HEADER_LENGTH + length) as u64 > extent {
        return Err(format!("blob of {length} bytes does not fit its {block_count} blocks"));
    }
    let mut blob = vec![0u8; length];
    read_exact_at(reader, offset + BLOB_HEADER_LENGTH as u64, &mut blob).map_err(|error| error.to_string())?;
    visit(u64::from(package_index), &blob);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::header::testing::package;
    use super::super::testing::{Outcome, corrupted_copies, read_with};
    use super::*;

    /// An NDB file with one slot page and the given blobs, laid out as rpm writes them.
    fn database(blobs: &[Vec<u8>]) -> Vec<u8> {
        let mut file = vec![0u8; PAGE_LENGTH as usize];
        file[0..4].copy_from_slice(FILE_MAGIC);
        file[12..16].copy_from_slice(&1u32.to_le_bytes());
        for slot in 0..(PAGE_LENGTH as usize / SLOT_LENGTH) - FIRST_SLOT {
            let at = (FIRST_SLOT + slot) * SLOT_LENGTH;
            file[at..at + 4].copy_from_slice(SLOT_MAGIC);
        }
        for (index, blob) in blobs.iter().enumerate() {
            let package_index = index as u32 + 1;
            let offset = file.len();
            let mut record = Vec::new();
            record.extend_from_slice(BLOB_MAGIC);
            record.extend_from_slice(&package_index.to_le_bytes());
            record.extend_from_slice(&1u32.to_le_bytes());
            record.extend_from_slice(&(blob.len() as u32).to_le_bytes());
            record.extend_from_slice(blob);
            record.extend_from_slice(b"BlbE\0\0\0\0\0\0\0\0");
            while record.len() % BLOCK_LENGTH as usize != 0 {
                record.push(0);
            }
            let slot = (FIRST_SLOT + index) * SLOT_LENGTH;
            file[slot + 4..slot + 8].copy_from_slice(&package_index.to_le_bytes());
            file[slot + 8..slot + 12].copy_from_slice(&((offset as u64 / BLOCK_LENGTH) as u32).to_le_bytes());
            file[slot + 12..slot + 16].copy_from_slice(&((record.len() as u64 / BLOCK_LENGTH) as u32).to_le_bytes());
            file.extend_from_slice(&record);
        }
        file
    }

    fn read_all(bytes: Vec<u8>) -> Outcome {
        read_with(read, bytes)
    }

    #[test]
    fn reads_every_blob() {
        let blobs = vec![
            package("bash", None, "4.4", "9.10.1", "x86_64"),
            package("curl", None, "8.0.1", "150400.5.26.1", "x86_64"),
        ];
        let (result, records, problems) = read_all(database(&blobs));
        result.unwrap();
        assert!(problems.is_empty());
        assert_eq!(records, vec![(1, blobs[0].clone()), (2, blobs[1].clone())]);
    }

    #[test]
    fn empty_truncated_and_garbage() {
        assert!(read_all(Vec::new()).0.is_err());
        assert!(matches!(read_all(vec![0x41; 8192]).0, Err(DatabaseError::Corrupt(_))));
        let whole = database(&[package("bash", None, "4.4", "9", "x86_64")]);
        let (result, records, problems) = read_all(whole[..whole.len() - 40].to_vec());
        result.unwrap();
        assert!(records.is_empty());
        assert!(problems[0].contains("outside the file"), "{problems:?}");
        let mut absurd_pages = whole.clone();
        absurd_pages[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(
            matches!(read_all(absurd_pages).0, Err(DatabaseError::Corrupt(message)) if message.contains("slot pages"))
        );
        let mut absurd_length = whole;
        absurd_length[4096 + 12..4096 + 16].copy_from_slice(&u32::MAX.to_le_bytes());
        let (_, _, problems) = read_all(absurd_length);
        assert!(problems[0].contains("does not fit"), "{problems:?}");
    }

    #[test]
    fn seeded_corruption_never_panics() {
        let whole =
            database(&[package("bash", None, "4.4", "9", "x86_64"), package("zlib", None, "1.2.13", "1", "x86_64")]);
        // Aim at the slots and blobs, where the interesting fields are.
        for bytes in corrupted_copies(&whole, 4096 - 64..whole.len(), 3000, 4) {
            let _ = read_all(bytes);
        }
    }
}
