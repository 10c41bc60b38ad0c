//! DOS/MBR partition tables with extended partitions (a chain of EBRs, guarded against
//! loops and runaway length) and protective MBRs (type 0xEE, which defer to GPT).

use super::{PartitionEntry, u16_at, u32_at};
use crate::source::ReadAt;
use std::collections::HashSet;
use std::io;

const SECTOR: u64 = 512;
/// Most logical partitions followed in one EBR chain.
const MAX_LOGICAL: usize = 128;

/// An MBR's partitions.
pub struct MbrTable {
    /// True when the table only protects a GPT (a type 0xEE entry).
    pub protective: bool,
    /// Primary partitions (1–4) then logical ones (5…).
    pub partitions: Vec<PartitionEntry>,
}

fn is_extended(kind: u8) -> bool {
    matches!(kind, 0x05 | 0x0F | 0x85)
}

struct RawEntry {
    kind: u8,
    start: u64,
    sectors: u64,
}

fn entries(sector: &[u8]) -> Vec<RawEntry> {
    (0..4)
        .map(|index| {
            let base = 446 + index * 16;
            RawEntry {
                kind: sector[base + 4],
                start: u64::from(u32_at(sector, base + 8)),
                sectors: u64::from(u32_at(sector, base + 12)),
            }
        })
        .collect()
}

/// Read the MBR at sector 0; `Ok(None)` when there is no valid one.
pub fn read(source: &dyn ReadAt, problems: &mut Vec<String>) -> io::Result<Option<MbrTable>> {
    if source.len() < SECTOR {
        return Ok(None);
    }
    let mut sector = [0u8; 512];
    source.read_exact_at(0, &mut sector)?;
    if u16_at(&sector, 510) != 0xAA55 {
        return Ok(None);
    }
    let primaries = entries(&sector);
    // A boot sector of a bare filesystem can end in 55AA too: require sane entries
    // (status byte 0x00 or 0x80) and at least one used one.
    let sane = sector[446..510].chunks_exact(16).all(|entry| entry[0] == 0 || entry[0] == 0x80);
    if !sane || primaries.iter().all(|entry| entry.kind == 0) {
        return Ok(None);
    }
    if primaries.iter().any(|entry| entry.kind == 0xEE) {
        return Ok(Some(MbrTable { protective: true, partitions: Vec::new() }));
    }
    let mut partitions = Vec::new();
    let mut next_logical = 5u32;
    for (index, entry) in primaries.iter().enumerate() {
        if entry.kind == 0 || entry.sectors == 0 {
            continue;
        }
        if is_extended(entry.kind) {
            read_logical(source, entry.start, &mut next_logical, &mut partitions, problems)?;
            continue;
        }
        partitions.push(PartitionEntry {
            number: Some(u32::try_from(index + 1).unwrap_or(0)),
            offset: entry.start * SECTOR,
            length: entry.sectors * SECTOR,
            partition_type: format!("0x{:02x}", entry.kind),
            name: None,
        });
    }
    Ok(Some(MbrTable { protective: false, partitions }))
}

/// Follow the EBR chain of the extended partition starting at sector `extended_start`.
fn read_logical(
    source: &dyn ReadAt,
    extended_start: u64,
    next_number: &mut u32,
    partitions: &mut Vec<PartitionEntry>,
    problems: &mut Vec<String>,
) -> io::Result<()> {
    let mut visited = HashSet::new();
    let mut ebr_sector = extended_start;
    loop {
        if !visited.insert(ebr_sector) {
            problems.push(format!("extended partition chain loops back to sector {ebr_sector}; stopped"));
            return Ok(());
        }
        if visited.len() > MAX_LOGICAL {
            problems.push(format!("more than {MAX_LOGICAL} logical partitions; stopped"));
            return Ok(());
        }
        let offset = ebr_sector * SECTOR;
        if offset.saturating_add(SECTOR) > source.len() {
            problems.push(format!("extended boot record at sector {ebr_sector} is past the end of the disk"));
            return Ok(());
        }
        let mut sector = [0u8; 512];
        source.read_exact_at(offset, &mut sector)?;
        if u16_at(&sector, 510) != 0xAA55 {
            problems.push(format!("extended boot record at sector {ebr_sector} has no signature"));
            return Ok(());
        }
        let table = entries(&sector);
        let (logical, link) = (&table[0], &table[1]);
        if logical.kind != 0 && logical.sectors != 0 {
            partitions.push(PartitionEntry {
                number: Some(*next_number),
                offset: (ebr_sector + logical.start) * SECTOR,
                length: logical.sectors * SECTOR,
                partition_type: format!("0x{:02x}", logical.kind),
                name: None,
            });
            *next_number += 1;
        }
        if link.kind == 0 || link.start == 0 {
            return Ok(());
        }
        ebr_sector = extended_start + link.start;
    }
}
