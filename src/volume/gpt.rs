//! GUID partition tables. The primary header (LBA 1) is tried at 512- and 4096-byte
//! sectors; when its header or entry-array CRC is wrong the backup (last LBA) is used,
//! and that is reported.

use super::{PartitionEntry, u32_at, u64_at};
use crate::source::ReadAt;
use std::io;

const SIGNATURE: &[u8; 8] = b"EFI PART";
/// Largest entry array read (the usual one is 16 KiB: 128 entries of 128 bytes).
const MAX_ENTRY_ARRAY: u64 = 1024 * 1024;

/// A header that passed its own checks.
struct Header {
    partition_entry_lba: u64,
    number_of_entries: u32,
    entry_size: u32,
    entries_crc32: u32,
    alternate_lba: u64,
}

/// Read the GPT; `Ok(None)` when there is none (or none readable, after saying why).
pub fn read(source: &dyn ReadAt, problems: &mut Vec<String>) -> io::Result<Option<Vec<PartitionEntry>>> {
    for sector_size in [512u64, 4096] {
        if source.len() < sector_size * 3 {
            continue;
        }
        let Some(primary) = read_header(source, sector_size, 1)? else { continue };
        let primary = match primary {
            Ok(header) => match read_entries(source, sector_size, &header)? {
                Ok(entries) => return Ok(Some(entries)),
                Err(reason) => {
                    problems.push(format!("primary GPT partition entries are bad ({reason})"));
                    Some(header)
                }
            },
            Err(reason) => {
                problems.push(format!("primary GPT header is bad ({reason})"));
                None
            }
        };
        // The backup header normally sits in the last sector; the primary may say where.
        let last_lba = source.len() / sector_size - 1;
        let backup_lba = primary.map_or(last_lba, |header| header.alternate_lba);
        for lba in [backup_lba, last_lba] {
            if let Some(Ok(header)) = read_header(source, sector_size, lba)? {
                match read_entries(source, sector_size, &header)? {
                    Ok(entries) => {
                        problems.push(format!("using the backup GPT header at LBA {lba}"));
                        return Ok(Some(entries));
                    }
                    Err(reason) => problems.push(format!("backup GPT partition entries are bad ({reason})")),
                }
            }
        }
        problems.push("no usable GPT header; trying MBR".to_string());
        return Ok(None);
    }
    Ok(None)
}

/// `Ok(None)`: no signature at that LBA; `Ok(Some(Err))`: a signature with a bad header.
fn read_header(source: &dyn ReadAt, sector_size: u64, lba: u64) -> io::Result<Option<Result<Header, String>>> {
    let Some(offset) = lba.checked_mul(sector_size).filter(|offset| offset.saturating_add(sector_size) <= source.len())
    else {
        return Ok(None);
    };
    let mut sector = vec![0u8; sector_size as usize];
    source.read_exact_at(offset, &mut sector)?;
    if &sector[0..8] != SIGNATURE {
        return Ok(None);
    }
    let header_size = u32_at(&sector, 12) as usize;
    if !(92..=sector.len()).contains(&header_size) {
        return Ok(Some(Err(format!("header size {header_size}"))));
    }
    let stored_crc = u32_at(&sector, 16);
    let mut header_bytes = sector[..header_size].to_vec();
    header_bytes[16..20].fill(0);
    if crc32fast::hash(&header_bytes) != stored_crc {
        return Ok(Some(Err("header CRC mismatch".to_string())));
    }
    let entry_size = u32_at(&sector, 84);
    if entry_size < 128 || entry_size % 8 != 0 {
        return Ok(Some(Err(format!("entry size {entry_size}"))));
    }
    Ok(Some(Ok(Header {
        partition_entry_lba: u64_at(&sector, 72),
        number_of_entries: u32_at(&sector, 80),
        entry_size,
        entries_crc32: u32_at(&sector, 88),
        alternate_lba: u64_at(&sector, 32),
    })))
}

fn read_entries(
    source: &dyn ReadAt,
    sector_size: u64,
    header: &Header,
) -> io::Result<Result<Vec<PartitionEntry>, String>> {
    let array_length = u64::from(header.number_of_entries) * u64::from(header.entry_size);
    if array_length > MAX_ENTRY_ARRAY {
        return Ok(Err(format!("{array_length}-byte entry array")));
    }
    let Some(offset) = header
        .partition_entry_lba
        .checked_mul(sector_size)
        .filter(|offset| offset.checked_add(array_length).is_some_and(|end| end <= source.len()))
    else {
        return Ok(Err("entry array outside the disk".to_string()));
    };
    let mut array = vec![0u8; array_length as usize];
    source.read_exact_at(offset, &mut array)?;
    if crc32fast::hash(&array) != header.entries_crc32 {
        return Ok(Err("entry array CRC mismatch".to_string()));
    }
    let mut partitions = Vec::new();
    for (index, entry) in array.chunks_exact(header.entry_size as usize).enumerate() {
        let type_guid = guid(&entry[0..16]);
        if entry[0..16].iter().all(|&byte| byte == 0) {
            continue;
        }
        let first_lba = u64_at(entry, 32);
        let last_lba = u64_at(entry, 40);
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let (offset, length) = match (
            first_lba.checked_mul(sector_size),
            last_lba
                .checked_sub(first_lba)
                .and_then(|count| count.checked_add(1))
                .and_then(|count| count.checked_mul(sector_size)),
        ) {
            (Some(offset), Some(length)) => (offset, length),
            // An impossible range: keep it so the validator reports and drops it.
            _ => (u64::MAX, 0),
        };
        let units: Vec<u16> = entry[56..128]
            .chunks_exact(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
            .take_while(|&unit| unit != 0)
            .collect();
        let name = String::from_utf16_lossy(&units);
        partitions.push(PartitionEntry {
            number: Some(number),
            offset,
            length,
            partition_type: type_name(&type_guid)
                .map_or_else(|| type_guid.clone(), |name| format!("{name} ({type_guid})")),
            name: (!name.is_empty()).then_some(name),
        });
    }
    Ok(Ok(partitions))
}

/// A GUID in its usual text form (mixed-endian, upper case).
fn guid(bytes: &[u8]) -> String {
    format!(
        "{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
        u32_at(bytes, 0),
        super::u16_at(bytes, 4),
        super::u16_at(bytes, 6),
        bytes[8],
        bytes[9],
        bytes[10],
        bytes[11],
        bytes[12],
        bytes[13],
        bytes[14],
        bytes[15]
    )
}

/// Names of common partition types (for people only: probing is by magic).
fn type_name(guid: &str) -> Option<&'static str> {
    Some(match guid {
        "0FC63DAF-8483-4772-8E79-3D69D8477DE4" => "Linux filesystem",
        "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" => "EFI System",
        "21686148-6449-6E6F-744E-656564454649" => "BIOS boot",
        "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F" => "Linux swap",
        "E6D6D379-F507-44C2-A23C-238F2A3DF928" => "Linux LVM",
        "A19D880F-05FC-4D3B-A006-743F0F84911E" => "Linux RAID",
        "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709" => "Linux root (x86-64)",
        "B921B045-1DF0-41C3-AF44-4C6F280D3FAE" => "Linux root (ARM64)",
        "8484680C-9521-48C6-9C11-B0720656F69E" => "Linux /usr (x86-64)",
        "BC13C2FF-59E6-4262-A352-B275FD6F7172" => "Linux extended boot",
        "933AC7E1-2EB4-4F13-B844-0E14E2AEF915" => "Linux home",
        "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7" => "Microsoft basic data",
        "E3C9E316-0B5C-4DB8-817D-F92DF00215AE" => "Microsoft reserved",
        _ => return None,
    })
}
