//! Our own ZIP reader: the central directory first, then only the entries asked for.
//!
//! Java archives can be hundreds of megabytes and nest other archives, so reading them
//! whole is not an option. This reads the end-of-central-directory record from the tail,
//! the central directory it points to, and then single entries by positional reads
//! through the [`FileReader`]. Stored entries can be read in place as a
//! [`SliceReader`](super::SliceReader) (Spring Boot stores nested jars that way);
//! deflated ones are inflated under caps. ZIP files on a scanned disk are hostile: the
//! directory size, entry count, each entry's inflated size, its compression ratio and the
//! total inflated bytes of one scan of an archive are all capped (zip bombs), and every
//! offset is checked against the file. Zip64 and archives with bytes prepended (shell
//! launchers of executable jars) are read.

use super::{Endian, MemoryReader, RangeError, SliceReader, read_exact, read_range};
use crate::fs::{FileReader, FsError};
use std::io::Read;

/// Largest central directory read (about 200,000 entries with typical names).
pub const MAX_DIRECTORY_SIZE: u64 = 32 * 1024 * 1024;

/// Most entries read from one central directory.
pub const MAX_ENTRIES: u64 = 500_000;

/// Largest ratio of inflated to compressed size accepted for entries over
/// [`RATIO_FREE_SIZE`]; deflate's own maximum is about 1032, real text stays far below.
pub const MAX_COMPRESSION_RATIO: u64 = 100;

/// Entries up to this inflated size are not held to the compression ratio (a small
/// manifest full of repeated lines compresses very well).
pub const RATIO_FREE_SIZE: u64 = 1024 * 1024;

/// Bytes of the tail read first when looking for the end record.
const SHORT_TAIL: u64 = 1024;
/// Size of the end-of-central-directory record without its comment.
const END_RECORD_SIZE: u64 = 22;
/// The longest comment an end record can carry.
const MAX_COMMENT: u64 = 65_535;
/// Signatures of the records read.
const END_SIGNATURE: u32 = 0x0605_4b50;
const ZIP64_LOCATOR_SIGNATURE: u32 = 0x0706_4b50;
const ZIP64_END_SIGNATURE: u32 = 0x0606_4b50;
const DIRECTORY_SIGNATURE: u32 = 0x0201_4b50;
const LOCAL_SIGNATURE: u32 = 0x0403_4b50;
/// Size of a central-directory header and a local header without their variable parts.
const DIRECTORY_HEADER_SIZE: usize = 46;
const LOCAL_HEADER_SIZE: u64 = 30;
/// Compression methods read.
const METHOD_STORED: u16 = 0;
const METHOD_DEFLATED: u16 = 8;
/// General-purpose flag bit 0: the entry is encrypted.
const FLAG_ENCRYPTED: u16 = 1;
/// Extra-field id of the zip64 extended information.
const ZIP64_EXTRA_ID: u16 = 0x0001;

/// Why an archive or one of its entries could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    /// No end-of-central-directory record: not a ZIP file (or cut short).
    #[error("not a ZIP archive (no end of central directory record)")]
    NotZip,
    /// The archive's structures are inconsistent or point outside the file.
    #[error("corrupt ZIP archive: {0}")]
    Corrupt(String),
    /// Something the reader does not do (encryption, an unusual compression method).
    #[error("unsupported ZIP feature: {0}")]
    Unsupported(String),
    /// A cap was reached (directory size, entry size, ratio, total inflated bytes).
    #[error("ZIP limit reached: {0}")]
    Limit(String),
    /// Reading the file failed.
    #[error(transparent)]
    Read(#[from] FsError),
    /// A range the archive's fields name could not be read.
    #[error(transparent)]
    Range(#[from] RangeError),
}

fn corrupt(message: impl Into<String>) -> ZipError {
    ZipError::Corrupt(message.into())
}

/// One file of the archive, as the central directory describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Name as stored (`META-INF/MANIFEST.MF`); not necessarily UTF-8.
    pub name: Vec<u8>,
    /// Compression method (0 stored, 8 deflated).
    pub method: u16,
    /// General-purpose flags.
    pub flags: u16,
    /// CRC-32 of the inflated bytes.
    pub crc32: u32,
    /// Size in the archive.
    pub compressed_size: u64,
    /// Size once inflated.
    pub uncompressed_size: u64,
    /// Offset of the local header, relative to the start of the archive.
    pub local_header_offset: u64,
}

impl Entry {
    /// The name as text, if it is UTF-8.
    pub fn name_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.name).ok()
    }

    /// True for directory entries (`name/`).
    pub fn is_directory(&self) -> bool {
        self.name.last() == Some(&b'/')
    }
}

/// How many bytes one scan of an archive (with everything nested in it) may still inflate.
#[derive(Clone, Copy, Debug)]
pub struct InflateBudget {
    /// Bytes left.
    pub remaining: u64,
}

impl InflateBudget {
    /// A budget of `bytes`.
    pub fn new(bytes: u64) -> Self {
        Self { remaining: bytes }
    }

    fn spend(&mut self, bytes: u64) -> Result<(), ZipError> {
        self.remaining = self.remaining.checked_sub(bytes).ok_or_else(|| {
            ZipError::Limit(format!("{bytes} more inflated bytes would exceed the archive's total budget"))
        })?;
        Ok(())
    }
}

/// The central directory of one archive; reads entries from the reader it was read from.
#[derive(Clone, Debug)]
pub struct Directory {
    /// Every entry, in directory order.
    pub entries: Vec<Entry>,
    /// Bytes before the archive proper (a launcher script), added to every offset.
    base: u64,
}

/// Where the end records say the central directory is.
struct DirectoryPosition {
    entry_count: u64,
    size: u64,
    offset: u64,
    /// Where the record that gave these numbers actually is in the file.
    record_position: u64,
}

impl Directory {
    /// Read the end record and the central directory of the archive in `reader`.
    pub fn read(reader: &mut dyn FileReader) -> Result<Self, ZipError> {
        let position = find_directory(reader)?;
        if position.entry_count > MAX_ENTRIES {
            return Err(ZipError::Limit(format!("{} entries, over the limit of {MAX_ENTRIES}", position.entry_count)));
        }
        // The directory ends where the end record starts; anything before it that the
        // recorded offset does not account for is prepended data.
        let expected_end =
            position.offset.checked_add(position.size).ok_or_else(|| corrupt("central directory offset overflows"))?;
        let base = position
            .record_position
            .checked_sub(expected_end)
            .ok_or_else(|| corrupt("central directory runs past its end record"))?;
        let start = position.offset.checked_add(base).ok_or_else(|| corrupt("central directory offset overflows"))?;
        let table = read_range(reader, start, position.size, MAX_DIRECTORY_SIZE).map_err(|error| match error {
            RangeError::TooLarge { length, limit } => {
                ZipError::Limit(format!("central directory of {length} bytes is over the {limit}-byte limit"))
            }
            other => corrupt(format!("central directory: {other}")),
        })?;
        let entries = parse_entries(&table, position.entry_count)?;
        Ok(Self { entries, base })
    }

    /// The first entry called `name`.
    pub fn find(&self, name: &[u8]) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.name == name)
    }

    /// Where the data of `entry` starts in the file (after its local header).
    fn data_offset(&self, reader: &mut dyn FileReader, entry: &Entry) -> Result<u64, ZipError> {
        let header_offset =
            entry.local_header_offset.checked_add(self.base).ok_or_else(|| corrupt("local header offset overflows"))?;
        let header = read_range(reader, header_offset, LOCAL_HEADER_SIZE, LOCAL_HEADER_SIZE)
            .map_err(|error| corrupt(format!("local header of {}: {error}", display(&entry.name))))?;
        if Endian::Little.u32(&header, 0) != Some(LOCAL_SIGNATURE) {
            return Err(corrupt(format!("no local header for {} at offset {header_offset}", display(&entry.name))));
        }
        let name_length = Endian::Little.u16(&header, 26).unwrap_or_default();
        let extra_length = Endian::Little.u16(&header, 28).unwrap_or_default();
        let offset = header_offset
            .checked_add(LOCAL_HEADER_SIZE)
            .and_then(|offset| offset.checked_add(u64::from(name_length)))
            .and_then(|offset| offset.checked_add(u64::from(extra_length)))
            .ok_or_else(|| corrupt("entry data offset overflows"))?;
        let end = offset.checked_add(entry.compressed_size);
        if end.is_none_or(|end| end > reader.size()) {
            return Err(corrupt(format!(
                "{} ({} bytes at offset {offset}) runs past the end of the archive",
                display(&entry.name),
                entry.compressed_size
            )));
        }
        Ok(offset)
    }

    fn check_readable(entry: &Entry, limit: u64) -> Result<(), ZipError> {
        if entry.flags & FLAG_ENCRYPTED != 0 {
            return Err(ZipError::Unsupported(format!("{} is encrypted", display(&entry.name))));
        }
        if entry.method != METHOD_STORED && entry.method != METHOD_DEFLATED {
            return Err(ZipError::Unsupported(format!(
                "{} uses compression method {}",
                display(&entry.name),
                entry.method
            )));
        }
        if entry.uncompressed_size > limit {
            return Err(ZipError::Limit(format!(
                "{} is {} bytes inflated, over the {limit}-byte limit",
                display(&entry.name),
                entry.uncompressed_size
            )));
        }
        if entry.method == METHOD_STORED && entry.compressed_size != entry.uncompressed_size {
            return Err(corrupt(format!("stored entry {} has two different sizes", display(&entry.name))));
        }
        let ratio_limit = ratio_limit(entry.compressed_size);
        if entry.uncompressed_size > ratio_limit {
            return Err(ZipError::Limit(format!(
                "{} inflates {} bytes to {}, over the 1:{MAX_COMPRESSION_RATIO} ratio limit",
                display(&entry.name),
                entry.compressed_size,
                entry.uncompressed_size
            )));
        }
        Ok(())
    }

    /// The inflated bytes of `entry`, refusing entries over `limit` bytes, entries that
    /// inflate past their declared size or the ratio limit, and bytes over `budget`.
    pub fn read_entry(
        &self,
        reader: &mut dyn FileReader,
        entry: &Entry,
        limit: u64,
        budget: &mut InflateBudget,
    ) -> Result<Vec<u8>, ZipError> {
        Self::check_readable(entry, limit)?;
        budget.spend(entry.uncompressed_size)?;
        let offset = self.data_offset(reader, entry)?;
        let bytes = if entry.method == METHOD_STORED {
            read_range(reader, offset, entry.compressed_size, limit)?
        } else {
            let compressed = PositionalRead { reader, position: offset, remaining: entry.compressed_size };
            // Never trust the declared size: read at most one byte more than it, so a
            // lying entry is caught without inflating the rest of it.
            let capacity = usize::try_from(entry.uncompressed_size.min(limit)).unwrap_or(0);
            let mut inflated = Vec::with_capacity(capacity);
            let declared_plus_one = entry.uncompressed_size.saturating_add(1);
            flate2::read::DeflateDecoder::new(compressed)
                .take(declared_plus_one)
                .read_to_end(&mut inflated)
                .map_err(|error| corrupt(format!("inflating {}: {error}", display(&entry.name))))?;
            inflated
        };
        let actual = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if actual != entry.uncompressed_size {
            return Err(corrupt(format!(
                "{} inflated to {} bytes, but the directory says {}",
                display(&entry.name),
                if actual > entry.uncompressed_size { "more than that many".to_string() } else { actual.to_string() },
                entry.uncompressed_size
            )));
        }
        if crc32fast::hash(&bytes) != entry.crc32 {
            return Err(corrupt(format!("{} fails its CRC-32 check", display(&entry.name))));
        }
        Ok(bytes)
    }

    /// A reader over the inflated contents of `entry` (a nested archive): stored entries
    /// are read in place, deflated ones are inflated into memory under `limit` and `budget`.
    pub fn open_entry<'a>(
        &self,
        reader: &'a mut dyn FileReader,
        entry: &Entry,
        limit: u64,
        budget: &mut InflateBudget,
    ) -> Result<Box<dyn FileReader + 'a>, ZipError> {
        if entry.method == METHOD_STORED && entry.flags & FLAG_ENCRYPTED == 0 {
            Self::check_readable(entry, u64::MAX)?;
            let offset = self.data_offset(reader, entry)?;
            return Ok(Box::new(SliceReader::new(reader, offset, entry.compressed_size)?));
        }
        Ok(Box::new(MemoryReader(self.read_entry(reader, entry, limit, budget)?)))
    }
}

/// Most bytes an entry of `compressed_size` may inflate to.
fn ratio_limit(compressed_size: u64) -> u64 {
    compressed_size.saturating_mul(MAX_COMPRESSION_RATIO).max(RATIO_FREE_SIZE)
}

/// An entry name for messages.
fn display(name: &[u8]) -> String {
    crate::fs::path::display(name)
}

/// `std::io::Read` over a byte range of a [`FileReader`], for the inflater.
struct PositionalRead<'a> {
    reader: &'a mut dyn FileReader,
    position: u64,
    remaining: u64,
}

impl Read for PositionalRead<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let count = usize::try_from(self.remaining).unwrap_or(usize::MAX).min(buffer.len());
        let Some(target) = buffer.get_mut(..count) else {
            return Ok(0);
        };
        if target.is_empty() {
            return Ok(0);
        }
        let got = self.reader.read_at(self.position, target).map_err(std::io::Error::other)?;
        if got == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "entry data ends early"));
        }
        let got_u64 = u64::try_from(got).unwrap_or(u64::MAX);
        self.position = self.position.saturating_add(got_u64);
        self.remaining = self.remaining.saturating_sub(got_u64);
        Ok(got)
    }
}

/// The last `length` bytes of the file (all of it when shorter), with where they start.
fn read_tail(reader: &mut dyn FileReader, length: u64) -> Result<(u64, Vec<u8>), ZipError> {
    let size = reader.size();
    let length = size.min(length);
    let start = size.saturating_sub(length);
    Ok((start, read_range(reader, start, length, length)?))
}

/// Index of the end record in `tail` (which ends at the end of the file): the last one
/// whose comment reaches exactly to the end; failing that, unless `exact_only`, the last
/// signature at all (some writers miscount the comment).
fn locate_end_record(tail: &[u8], exact_only: bool) -> Option<usize> {
    let candidates = (0..=tail.len().saturating_sub(22))
        .rev()
        .filter(|&index| Endian::Little.u32(tail, index) == Some(END_SIGNATURE));
    let mut fallback = None;
    for index in candidates {
        let comment = Endian::Little.u16(tail, index.saturating_add(20)).map(usize::from);
        if comment.and_then(|comment| index.checked_add(22)?.checked_add(comment)) == Some(tail.len()) {
            return Some(index);
        }
        fallback.get_or_insert(index);
    }
    if exact_only { None } else { fallback }
}

/// Find the end record in the file's tail and, for zip64, the zip64 end record.
fn find_directory(reader: &mut dyn FileReader) -> Result<DirectoryPosition, ZipError> {
    let size = reader.size();
    if size < END_RECORD_SIZE {
        return Err(ZipError::NotZip);
    }
    // Most archives have no comment: a short tail finds their end record in one small
    // read; only when it does not is the longest possible tail read.
    let short = read_tail(reader, SHORT_TAIL)?;
    let (tail_start, tail, index) = match locate_end_record(&short.1, true) {
        Some(index) => (short.0, short.1, index),
        None => {
            let (start, tail) = read_tail(reader, END_RECORD_SIZE.saturating_add(MAX_COMMENT))?;
            let index = locate_end_record(&tail, false).ok_or(ZipError::NotZip)?;
            (start, tail, index)
        }
    };
    let record = tail.get(index..).unwrap_or_default();
    let field16 = |offset| Endian::Little.u16(record, offset).map(u64::from).unwrap_or_default();
    let field32 = |offset| Endian::Little.u32(record, offset).map(u64::from).unwrap_or_default();
    let record_position = tail_start.saturating_add(u64::try_from(index).unwrap_or(u64::MAX));
    let position =
        DirectoryPosition { entry_count: field16(10), size: field32(12), offset: field32(16), record_position };
    let needs_zip64 = position.entry_count == 0xffff || position.size == 0xffff_ffff || position.offset == 0xffff_ffff;
    let locator_position = record_position.checked_sub(20);
    match locator_position {
        Some(locator_position) if needs_zip64 || has_zip64_locator(reader, locator_position)? => {
            read_zip64_end(reader, locator_position)
        }
        _ => Ok(position),
    }
}

fn has_zip64_locator(reader: &mut dyn FileReader, position: u64) -> Result<bool, ZipError> {
    let mut signature = [0u8; 4];
    read_exact(reader, position, &mut signature)?;
    Ok(u32::from_le_bytes(signature) == ZIP64_LOCATOR_SIGNATURE)
}

/// Read the zip64 end record through the locator just before the end record.
fn read_zip64_end(reader: &mut dyn FileReader, locator_position: u64) -> Result<DirectoryPosition, ZipError> {
    let locator = read_range(reader, locator_position, 20, 20)?;
    if Endian::Little.u32(&locator, 0) != Some(ZIP64_LOCATOR_SIGNATURE) {
        return Err(corrupt("zip64 sizes are used but the zip64 locator is missing"));
    }
    let stated = Endian::Little.u64(&locator, 8).unwrap_or_default();
    // The zip64 end record is 56 bytes and sits right before the locator; prepended
    // data shifts it from where the locator says, so trust its actual place first.
    let actual = locator_position.checked_sub(56).ok_or_else(|| corrupt("zip64 end record does not fit"))?;
    let mut record = read_range(reader, actual, 56, 56)?;
    let mut record_position = actual;
    if Endian::Little.u32(&record, 0) != Some(ZIP64_END_SIGNATURE) {
        record = read_range(reader, stated, 56, 56).map_err(|error| corrupt(format!("zip64 end record: {error}")))?;
        record_position = stated;
        if Endian::Little.u32(&record, 0) != Some(ZIP64_END_SIGNATURE) {
            return Err(corrupt("zip64 end record signature is wrong"));
        }
    }
    let field = |offset| Endian::Little.u64(&record, offset).unwrap_or_default();
    Ok(DirectoryPosition { entry_count: field(32), size: field(40), offset: field(48), record_position })
}

/// Parse `count` central-directory headers from `table`.
fn parse_entries(table: &[u8], count: u64) -> Result<Vec<Entry>, ZipError> {
    let mut entries = Vec::with_capacity(usize::try_from(count.min(4096)).unwrap_or(0));
    let mut cursor = 0usize;
    for index in 0..count {
        let header = cursor
            .checked_add(DIRECTORY_HEADER_SIZE)
            .and_then(|end| table.get(cursor..end))
            .ok_or_else(|| corrupt(format!("central directory ends inside entry {index} of {count}")))?;
        let little = Endian::Little;
        if little.u32(header, 0) != Some(DIRECTORY_SIGNATURE) {
            return Err(corrupt(format!("entry {index} of the central directory has a bad signature")));
        }
        let field16 = |offset| little.u16(header, offset).unwrap_or_default();
        let field32 = |offset| little.u32(header, offset).unwrap_or_default();
        let name_length = usize::from(field16(28));
        let extra_length = usize::from(field16(30));
        let comment_length = usize::from(field16(32));
        let name_start = cursor.saturating_add(DIRECTORY_HEADER_SIZE);
        let extra_start = name_start.saturating_add(name_length);
        let extra_end = extra_start.saturating_add(extra_length);
        let next = extra_end.saturating_add(comment_length);
        let (Some(name), Some(extra)) = (table.get(name_start..extra_start), table.get(extra_start..extra_end)) else {
            return Err(corrupt(format!("central directory ends inside the name of entry {index}")));
        };
        if next > table.len() {
            return Err(corrupt(format!("central directory ends inside the comment of entry {index}")));
        }
        let mut entry = Entry {
            name: name.to_vec(),
            method: field16(10),
            flags: field16(8),
            crc32: field32(16),
            compressed_size: u64::from(field32(20)),
            uncompressed_size: u64::from(field32(24)),
            local_header_offset: u64::from(field32(42)),
        };
        apply_zip64_extra(&mut entry, extra)?;
        entries.push(entry);
        cursor = next;
    }
    Ok(entries)
}

/// Replace the 32-bit fields saturated at `0xffffffff` with the zip64 extra field's values.
fn apply_zip64_extra(entry: &mut Entry, extra: &[u8]) -> Result<(), ZipError> {
    let saturated = 0xffff_ffff;
    let needs = [entry.uncompressed_size, entry.compressed_size, entry.local_header_offset].contains(&saturated);
    if !needs {
        return Ok(());
    }
    let mut cursor = 0usize;
    while let (Some(id), Some(length)) =
        (Endian::Little.u16(extra, cursor), Endian::Little.u16(extra, cursor.saturating_add(2)))
    {
        let data_start = cursor.saturating_add(4);
        let data_end = data_start.saturating_add(usize::from(length));
        let Some(data) = extra.get(data_start..data_end) else {
            break;
        };
        if id == ZIP64_EXTRA_ID {
            let mut values = (0..data.len() / 8).filter_map(|slot| Endian::Little.u64(data, slot.saturating_mul(8)));
            for field in [&mut entry.uncompressed_size, &mut entry.compressed_size, &mut entry.local_header_offset] {
                if *field == saturated {
                    *field = values.next().ok_or_else(|| {
                        corrupt(format!("zip64 extra field of {} is too short", display(&entry.name)))
                    })?;
                }
            }
            return Ok(());
        }
        cursor = data_end;
    }
    Err(corrupt(format!("{} needs zip64 sizes but has no zip64 extra field", display(&entry.name))))
}

#[cfg(test)]
pub mod testing {
    //! A small ZIP writer for tests: real archives (stored or deflated), and the raw
    //! pieces to build hostile ones.
    use std::io::Write;

    /// One entry to write.
    pub struct EntrySpec<'a> {
        /// Name in the archive.
        pub name: &'a str,
        /// Contents.
        pub bytes: &'a [u8],
        /// Deflate (true) or store.
        pub deflate: bool,
    }

    /// A ZIP archive holding `entries`, with the central directory and end record.
    pub fn build(entries: &[EntrySpec<'_>]) -> Vec<u8> {
        let mut file = Vec::new();
        let mut directory = Vec::new();
        for spec in entries {
            let data = if spec.deflate {
                let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
                encoder.write_all(spec.bytes).unwrap();
                encoder.finish().unwrap()
            } else {
                spec.bytes.to_vec()
            };
            let method: u16 = if spec.deflate { 8 } else { 0 };
            let crc = crc32fast::hash(spec.bytes);
            let offset = file.len() as u32;
            file.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
            file.extend_from_slice(&20u16.to_le_bytes());
            file.extend_from_slice(&0u16.to_le_bytes());
            file.extend_from_slice(&method.to_le_bytes());
            file.extend_from_slice(&[0u8; 4]);
            file.extend_from_slice(&crc.to_le_bytes());
            file.extend_from_slice(&(data.len() as u32).to_le_bytes());
            file.extend_from_slice(&(spec.bytes.len() as u32).to_le_bytes());
            file.extend_from_slice(&(spec.name.len() as u16).to_le_bytes());
            file.extend_from_slice(&0u16.to_le_bytes());
            file.extend_from_slice(spec.name.as_bytes());
            file.extend_from_slice(&data);
            directory.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            directory.extend_from_slice(&20u16.to_le_bytes());
            directory.extend_from_slice(&20u16.to_le_bytes());
            directory.extend_from_slice(&0u16.to_le_bytes());
            directory.extend_from_slice(&method.to_le_bytes());
            directory.extend_from_slice(&[0u8; 4]);
            directory.extend_from_slice(&crc.to_le_bytes());
            directory.extend_from_slice(&(data.len() as u32).to_le_bytes());
            directory.extend_from_slice(&(spec.bytes.len() as u32).to_le_bytes());
            directory.extend_from_slice(&(spec.name.len() as u16).to_le_bytes());
            directory.extend_from_slice(&[0u8; 12]);
            directory.extend_from_slice(&offset.to_le_bytes());
            directory.extend_from_slice(spec.name.as_bytes());
        }
        let directory_offset = file.len() as u32;
        file.extend_from_slice(&directory);
        file.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        file.extend_from_slice(&[0u8; 4]);
        file.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        file.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        file.extend_from_slice(&(directory.len() as u32).to_le_bytes());
        file.extend_from_slice(&directory_offset.to_le_bytes());
        file.extend_from_slice(&0u16.to_le_bytes());
        file
    }

    /// Offset of the end-of-central-directory record in an archive from [`build`].
    pub fn end_record_offset(archive: &[u8]) -> usize {
        archive.len() - 22
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{EntrySpec, build, end_record_offset};
    use super::*;

    fn read_all_entries(archive: Vec<u8>) -> Result<Vec<(String, Vec<u8>)>, ZipError> {
        let mut reader = MemoryReader(archive);
        let directory = Directory::read(&mut reader)?;
        let mut budget = InflateBudget::new(1 << 30);
        directory
            .entries
            .iter()
            .map(|entry| {
                let bytes = directory.read_entry(&mut reader, entry, 1 << 20, &mut budget)?;
                Ok((entry.name_str().unwrap_or_default().to_string(), bytes))
            })
            .collect()
    }

    #[test]
    fn reads_stored_and_deflated_entries() {
        let archive = build(&[
            EntrySpec { name: "META-INF/MANIFEST.MF", bytes: b"Manifest-Version: 1.0\r\n", deflate: true },
            EntrySpec { name: "a/", bytes: b"", deflate: false },
            EntrySpec { name: "a/b.txt", bytes: b"stored bytes", deflate: false },
        ]);
        let entries = read_all_entries(archive).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0], ("META-INF/MANIFEST.MF".to_string(), b"Manifest-Version: 1.0\r\n".to_vec()));
        assert_eq!(entries[1].1, b"");
        assert_eq!(entries[2].1, b"stored bytes");
    }

    #[test]
    fn empty_archive_has_no_entries() {
        assert!(read_all_entries(build(&[])).unwrap().is_empty());
    }

    #[test]
    fn archive_comments_of_any_length_are_skipped() {
        for comment_length in [0usize, 10, 1500, 65_535] {
            let mut archive = build(&[EntrySpec { name: "x", bytes: b"payload", deflate: true }]);
            let end = end_record_offset(&archive);
            archive[end + 20..end + 22].copy_from_slice(&(comment_length as u16).to_le_bytes());
            archive.extend(std::iter::repeat_n(b'c', comment_length));
            assert_eq!(read_all_entries(archive).unwrap()[0].1, b"payload", "comment of {comment_length}");
        }
    }

    #[test]
    fn prepended_launcher_is_skipped() {
        let mut archive = b"#!/bin/sh\nexec java -jar \"$0\" \"$@\"\n".to_vec();
        archive.extend(build(&[EntrySpec { name: "x", bytes: b"payload", deflate: true }]));
        assert_eq!(read_all_entries(archive).unwrap()[0].1, b"payload");
    }

    #[test]
    fn garbage_and_truncation_are_errors() {
        assert!(matches!(read_all_entries(b"definitely not a zip file at all".to_vec()), Err(ZipError::NotZip)));
        assert!(matches!(read_all_entries(Vec::new()), Err(ZipError::NotZip)));
        let archive = build(&[
            EntrySpec { name: "one", bytes: b"first entry", deflate: true },
            EntrySpec { name: "two", bytes: b"second entry", deflate: false },
        ]);
        // Every cut loses the end record or shifts it over the directory: never a panic,
        // never a wrong answer.
        for length in 0..archive.len() {
            assert!(read_all_entries(archive[..length].to_vec()).is_err(), "cut at {length} accepted");
        }
        // A central directory cut short while the end record stays intact.
        let end = end_record_offset(&archive);
        let mut short = archive.clone();
        let size = u32::from_le_bytes(short[end + 12..end + 16].try_into().unwrap());
        short[end + 12..end + 16].copy_from_slice(&(size - 10).to_le_bytes());
        assert!(matches!(read_all_entries(short), Err(ZipError::Corrupt(_))));
        // An entry count larger than the directory holds.
        let mut many = archive.clone();
        many[end + 10..end + 12].copy_from_slice(&500u16.to_le_bytes());
        assert!(matches!(read_all_entries(many), Err(ZipError::Corrupt(_))));
    }

    #[test]
    fn corrupted_data_fails_its_crc() {
        let mut archive = build(&[EntrySpec { name: "x", bytes: b"some stored payload", deflate: false }]);
        archive[35] ^= 0xff;
        assert!(matches!(read_all_entries(archive), Err(ZipError::Corrupt(message)) if message.contains("CRC")));
    }

    #[test]
    fn zip_bomb_is_refused_by_ratio_and_declared_size() {
        let zeros = vec![0u8; 20 * 1024 * 1024];
        let archive = build(&[EntrySpec { name: "bomb.jar", bytes: &zeros, deflate: true }]);
        let error = read_all_entries(archive.clone()).unwrap_err();
        assert!(matches!(error, ZipError::Limit(_)), "{error}");
        // An entry that lies about its size: the inflater stops one byte past the claim.
        let mut lying = archive;
        let end = end_record_offset(&lying);
        let directory = u32::from_le_bytes(lying[end + 16..end + 20].try_into().unwrap()) as usize;
        let compressed = u32::from_le_bytes(lying[directory + 20..directory + 24].try_into().unwrap());
        lying[directory + 24..directory + 28].copy_from_slice(&compressed.to_le_bytes());
        let error = read_all_entries(lying).unwrap_err();
        assert!(matches!(error, ZipError::Corrupt(ref message) if message.contains("more than")), "{error}");
    }

    #[test]
    fn total_inflated_bytes_are_budgeted() {
        let text = vec![b'a'; 4000];
        let archive = build(&[
            EntrySpec { name: "one", bytes: &text, deflate: true },
            EntrySpec { name: "two", bytes: &text, deflate: true },
        ]);
        let mut reader = MemoryReader(archive);
        let directory = Directory::read(&mut reader).unwrap();
        let mut budget = InflateBudget::new(6000);
        assert!(directory.read_entry(&mut reader, &directory.entries[0], 1 << 20, &mut budget).is_ok());
        let second = directory.read_entry(&mut reader, &directory.entries[1], 1 << 20, &mut budget);
        assert!(matches!(second, Err(ZipError::Limit(_))));
        let mut small = InflateBudget::new(1 << 20);
        assert!(matches!(
            directory.read_entry(&mut reader, &directory.entries[0], 100, &mut small),
            Err(ZipError::Limit(_))
        ));
    }

    #[test]
    fn stored_entries_open_in_place() {
        let inner = build(&[EntrySpec { name: "inner.txt", bytes: b"nested", deflate: true }]);
        let outer = build(&[EntrySpec { name: "lib/inner.jar", bytes: &inner, deflate: false }]);
        let mut reader = MemoryReader(outer);
        let directory = Directory::read(&mut reader).unwrap();
        let mut budget = InflateBudget::new(1 << 20);
        let entry = directory.entries[0].clone();
        let mut nested = directory.open_entry(&mut reader, &entry, 1 << 20, &mut budget).unwrap();
        assert_eq!(budget.remaining, 1 << 20, "a stored entry costs no inflation");
        let inner_directory = Directory::read(nested.as_mut()).unwrap();
        let bytes =
            inner_directory.read_entry(nested.as_mut(), &inner_directory.entries[0], 1024, &mut budget).unwrap();
        assert_eq!(bytes, b"nested");
    }

    #[test]
    fn zip64_records_and_extra_fields_are_read() {
        let mut archive = build(&[EntrySpec { name: "big", bytes: b"zip64 payload", deflate: false }]);
        let end = end_record_offset(&archive);
        let directory_offset = u32::from_le_bytes(archive[end + 16..end + 20].try_into().unwrap()) as usize;
        let entry_count = 1u64;
        // Rewrite the directory entry with saturated sizes and offset plus a zip64 extra.
        let mut entry = archive[directory_offset..end].to_vec();
        let real_size = u32::from_le_bytes(entry[20..24].try_into().unwrap()) as u64;
        let real_offset = u32::from_le_bytes(entry[42..46].try_into().unwrap()) as u64;
        entry[20..28].copy_from_slice(&[0xff; 8]);
        entry[42..46].copy_from_slice(&[0xff; 4]);
        entry[30..32].copy_from_slice(&28u16.to_le_bytes());
        entry.extend_from_slice(&0x0001u16.to_le_bytes());
        entry.extend_from_slice(&24u16.to_le_bytes());
        entry.extend_from_slice(&real_size.to_le_bytes());
        entry.extend_from_slice(&real_size.to_le_bytes());
        entry.extend_from_slice(&real_offset.to_le_bytes());
        archive.truncate(directory_offset);
        archive.extend_from_slice(&entry);
        let zip64_end = archive.len() as u64;
        archive.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
        archive.extend_from_slice(&44u64.to_le_bytes());
        archive.extend_from_slice(&[0u8; 12]);
        archive.extend_from_slice(&entry_count.to_le_bytes());
        archive.extend_from_slice(&entry_count.to_le_bytes());
        archive.extend_from_slice(&(entry.len() as u64).to_le_bytes());
        archive.extend_from_slice(&(directory_offset as u64).to_le_bytes());
        archive.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
        archive.extend_from_slice(&0u32.to_le_bytes());
        archive.extend_from_slice(&zip64_end.to_le_bytes());
        archive.extend_from_slice(&1u32.to_le_bytes());
        archive.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        archive.extend_from_slice(&[0u8; 4]);
        archive.extend_from_slice(&[0xff; 4]);
        archive.extend_from_slice(&[0xff; 8]);
        archive.extend_from_slice(&[0u8; 2]);
        let entries = read_all_entries(archive.clone()).unwrap();
        assert_eq!(entries, vec![("big".to_string(), b"zip64 payload".to_vec())]);
        // The same archive without the zip64 extra field is refused clearly.
        let mut missing = archive;
        let extra_start = directory_offset + 46 + 3;
        missing[extra_start..extra_start + 2].copy_from_slice(&0x9999u16.to_le_bytes());
        assert!(matches!(read_all_entries(missing), Err(ZipError::Corrupt(message)) if message.contains("zip64")));
    }

    /// The archives built by `scripts/make-fixtures-binaries.sh` list exactly what the JDK's
    /// `jar --list` lists, and every entry inflates with a good CRC.
    #[test]
    fn real_jars_match_the_jar_tool_listing() {
        let directory = crate::test_fixtures::repository_root().join("fixtures/binaries");
        let mut archives = 0;
        for entry in std::fs::read_dir(&directory).unwrap() {
            let path = entry.unwrap().path();
            let Some(listing) = path.to_str().and_then(|path| path.strip_suffix(".listing")) else { continue };
            let expected = std::fs::read_to_string(&path).unwrap();
            let bytes = std::fs::read(listing).unwrap();
            let mut names: Vec<String> = read_all_entries(bytes).unwrap().into_iter().map(|(name, _)| name).collect();
            names.sort();
            assert_eq!(names, expected.lines().collect::<Vec<_>>(), "{listing}");
            archives += 1;
        }
        assert!(archives >= 4, "only {archives} listed archives");
    }

    #[test]
    fn hostile_directory_sizes_are_refused_before_allocating() {
        let mut archive = build(&[EntrySpec { name: "x", bytes: b"y", deflate: false }]);
        let end = end_record_offset(&archive);
        archive[end + 12..end + 16].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
        assert!(read_all_entries(archive).is_err());
    }
}
