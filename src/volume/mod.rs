//! Partition tables: GPT (512- and 4096-byte sectors, primary then backup header), MBR
//! with extended/logical partitions, and bare filesystems with no table (common on EBS
//! data volumes).
//!
//! Partitions are listed here and probed for a filesystem by magic in `scan`, never by
//! their type or name: a "Microsoft basic data" partition may well hold ext4. Tables are
//! attacker-controlled: every field is range-checked, entry arrays are capped, and the EBR
//! chain has a loop guard.

pub mod gpt;
pub mod mbr;

use crate::source::ReadAt;

/// Which kind of table a volume has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableKind {
    /// GUID partition table.
    Gpt,
    /// DOS/MBR table.
    Mbr,
    /// No table: the volume is one filesystem (or nothing we know).
    None,
}

impl TableKind {
    /// `gpt`, `mbr` or `none`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Gpt => "gpt",
            Self::Mbr => "mbr",
            Self::None => "none",
        }
    }
}

/// One partition found in a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionEntry {
    /// 1-based number (`None` for the whole volume when there is no table).
    pub number: Option<u32>,
    /// Byte offset on the volume.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
    /// Type for people: `Linux filesystem`, `EFI System`, `0x83`, …
    pub partition_type: String,
    /// GPT name, if any.
    pub name: Option<String>,
}

/// The partitions of a volume, and what was odd about its table.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The table kind found.
    pub table: TableKind,
    /// Partitions to probe, in table order.
    pub partitions: Vec<PartitionEntry>,
    /// Problems met (bad CRCs, fallbacks, skipped entries), for the report.
    pub problems: Vec<String>,
}

/// Read the partition layout. Only an I/O failure on the first sectors is an error; a
/// damaged table becomes problems plus the best layout that can be trusted.
pub fn detect(source: &dyn ReadAt) -> std::io::Result<Layout> {
    let mut problems = Vec::new();
    if let Some(partitions) = gpt::read(source, &mut problems)? {
        let partitions = validate(partitions, source.len(), &mut problems);
        return Ok(Layout { table: TableKind::Gpt, partitions, problems });
    }
    if let Some(table) = mbr::read(source, &mut problems)? {
        if table.protective {
            problems.push(
                "protective MBR found but no readable GPT header; scanning the whole disk as one volume".to_string(),
            );
        } else {
            let partitions = validate(table.partitions, source.len(), &mut problems);
            return Ok(Layout { table: TableKind::Mbr, partitions, problems });
        }
    }
    let whole = PartitionEntry {
        number: None,
        offset: 0,
        length: source.len(),
        partition_type: "none".to_string(),
        name: None,
    };
    Ok(Layout { table: TableKind::None, partitions: vec![whole], problems })
}

/// Drop partitions outside the volume, and report (but keep) overlapping ones.
fn validate(partitions: Vec<PartitionEntry>, volume_length: u64, problems: &mut Vec<String>) -> Vec<PartitionEntry> {
    let mut kept: Vec<PartitionEntry> = Vec::new();
    for partition in partitions {
        let number = partition.number.map_or_else(|| "?".to_string(), |number| number.to_string());
        let end = partition.offset.checked_add(partition.length);
        if partition.length == 0 || end.is_none_or(|end| end > volume_length) {
            problems.push(format!(
                "partition {number} (offset {}, length {}) lies outside the {volume_length}-byte volume; skipped",
                partition.offset, partition.length
            ));
            continue;
        }
        for other in &kept {
            let other_end = other.offset + other.length;
            if partition.offset < other_end && other.offset < partition.offset + partition.length {
                problems.push(format!(
                    "partition {number} overlaps partition {}",
                    other.number.map_or_else(|| "?".to_string(), |number| number.to_string())
                ));
            }
        }
        kept.push(partition);
    }
    kept
}

/// Little-endian field readers over a fixed buffer; callers pass in-bounds offsets of
/// buffers they sized themselves.
pub(crate) fn u16_at(bytes: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes([bytes[offset], bytes[offset + 1]])
}

/// See [`u16_at`].
pub(crate) fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes([bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3]])
}

/// See [`u16_at`].
pub(crate) fn u64_at(bytes: &[u8], offset: usize) -> u64 {
    let mut field = [0u8; 8];
    field.copy_from_slice(&bytes[offset..offset + 8]);
    u64::from_le_bytes(field)
}
