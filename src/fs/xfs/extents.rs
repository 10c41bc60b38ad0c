//! Data fork block maps: extent records in the inode, or a bmbt B+tree of any depth, and
//! positional reads through the map (holes and unwritten extents read as zeros).
//!
//! The map is the one place untrusted block numbers become byte offsets, so it is checked
//! as a whole: the record count must equal `di_nextents`, extents must be non-empty,
//! sorted and non-overlapping, and the bmbt walk refuses revisited blocks, wrong levels and
//! more records than the inode claims, so a looping or absurd tree ends with an error.

use super::Volume;
use super::crc32c;
use super::fields::Fields;
use super::inode::{ForkFormat, Inode};
use crate::fs::FsError;
use std::collections::HashSet;

/// Size of one packed extent record (`xfs_bmbt_rec`).
const RECORD_SIZE: usize = 16;
/// Size of a bmbt key or pointer.
const KEY_SIZE: usize = 8;
/// `BMAP`: v4 long-format bmbt block.
const BMAP_MAGIC: u32 = 0x424D_4150;
/// `BMA3`: v5 long-format bmbt block.
const BMAP_CRC_MAGIC: u32 = 0x424D_4133;
/// Header of a v4 long-format btree block.
const BLOCK_HEADER_V4: usize = 24;
/// Header of a v5 long-format btree block (with blkno, lsn, uuid, owner, crc).
const BLOCK_HEADER_V5: usize = 72;
const BB_LEVEL: usize = 4;
const BB_NUMRECS: usize = 6;
const BB_BLKNO: usize = 24;
const BB_UUID: usize = 40;
const BB_OWNER: usize = 56;
const BB_CRC: usize = 64;
/// Deepest bmbt we accept; real trees stay under 10 levels even with 2^48 extents.
const MAX_LEVELS: u16 = 12;
/// Most extents we hold for one file (24 bytes each in memory).
pub const MAX_EXTENTS: u64 = 4 << 20;
/// Logical block numbers are 54 bits.
const MAX_LOGICAL_BLOCK: u64 = 1 << 54;

/// One mapping from file blocks to filesystem blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    /// First file block (`br_startoff`).
    pub logical: u64,
    /// First filesystem block (`br_startblock`, group-encoded).
    pub physical: u64,
    /// Blocks in the extent.
    pub length: u64,
    /// Preallocated but never written: reads as zeros.
    pub unwritten: bool,
}

impl Extent {
    /// Unpack an `xfs_bmbt_rec` (two big-endian words).
    pub fn unpack(record: Fields<'_>, offset: usize) -> Result<Self, FsError> {
        let high = record.u64(offset)?;
        let low = record.u64(offset + 8)?;
        Ok(Self {
            unwritten: high >> 63 != 0,
            logical: (high & ((1 << 63) - 1)) >> 9,
            physical: ((high & 0x1FF) << 43) | (low >> 21),
            length: low & ((1 << 21) - 1),
        })
    }

    /// One past the last file block.
    pub fn end(&self) -> u64 {
        self.logical.saturating_add(self.length)
    }
}

/// The block map of an inode's data fork (extents or bmbt format).
pub fn map(volume: &Volume, inode: &Inode) -> Result<Vec<Extent>, FsError> {
    let corrupt = |message: String| FsError::Corrupt(format!("inode {}: {message}", inode.number));
    if inode.data_extents > MAX_EXTENTS {
        return Err(corrupt(format!("{} extents is over the {MAX_EXTENTS} this reader holds", inode.data_extents)));
    }
    let fork = Fields::new(&inode.data_fork, "data fork");
    let extents = match inode.format {
        ForkFormat::Extents => {
            let fits = inode.data_fork.len() / RECORD_SIZE;
            if inode.data_extents > fits as u64 {
                return Err(corrupt(format!(
                    "{} extents do not fit in a {}-byte data fork",
                    inode.data_extents,
                    inode.data_fork.len()
                )));
            }
            (0..fits.min(inode.data_extents as usize))
                .map(|index| Extent::unpack(fork, index * RECORD_SIZE))
                .collect::<Result<Vec<_>, _>>()?
        }
        ForkFormat::Btree => walk_bmbt(volume, inode, fork)?,
        ForkFormat::Local | ForkFormat::Device => {
            return Err(corrupt("data fork has no block map".to_string()));
        }
    };
    if extents.len() as u64 != inode.data_extents {
        return Err(corrupt(format!("bmbt holds {} extents, di_nextents says {}", extents.len(), inode.data_extents)));
    }
    let mut previous_end = 0u64;
    for extent in &extents {
        if extent.length == 0 || extent.logical < previous_end || extent.end() > MAX_LOGICAL_BLOCK {
            return Err(corrupt(format!(
                "extent at file block {} ({} blocks) is empty, out of order or overlapping",
                extent.logical, extent.length
            )));
        }
        previous_end = extent.end();
    }
    Ok(extents)
}

/// Walk the bmbt whose root sits in the inode's data fork, depth first in key order,
/// collecting its leaf records.
fn walk_bmbt(volume: &Volume, inode: &Inode, root: Fields<'_>) -> Result<Vec<Extent>, FsError> {
    let corrupt = |message: String| FsError::Corrupt(format!("inode {} bmbt: {message}", inode.number));
    let level = root.u16(0)?;
    if level == 0 || level > MAX_LEVELS {
        return Err(corrupt(format!("root level {level}")));
    }
    // The in-inode root (`xfs_bmdr_block`) has a 4-byte header, then as many keys as fit,
    // then the pointers (xfs_bmdr_maxrecs).
    let root_capacity = inode.data_fork.len().saturating_sub(4) / (2 * KEY_SIZE);
    let pointers = node_pointers(root, 4, root_capacity, usize::from(root.u16(2)?))
        .map_err(|message| corrupt(format!("root: {message}")))?;
    let superblock = &volume.superblock;
    let header = if superblock.has_crc() { BLOCK_HEADER_V5 } else { BLOCK_HEADER_V4 };
    let block_size = superblock.block_size as usize;
    let capacity = (block_size - header) / (2 * KEY_SIZE);
    let magic = if superblock.has_crc() { BMAP_CRC_MAGIC } else { BMAP_MAGIC };
    // Children still to visit, last first, with the level each must have.
    let mut pending: Vec<(u64, u16)> = pointers.into_iter().rev().map(|pointer| (pointer, level - 1)).collect();
    let mut visited = HashSet::new();
    let mut extents = Vec::new();
    while let Some((pointer, expected_level)) = pending.pop() {
        if !visited.insert(pointer) {
            return Err(corrupt(format!("block {pointer} is reached twice (a loop)")));
        }
        // A well-formed tree has fewer node blocks than the inode's blocks.
        if visited.len() as u64 > inode.blocks.max(1) {
            return Err(corrupt(format!("more bmbt blocks than the inode's {} blocks", inode.blocks)));
        }
        let offset = superblock.block_offset(pointer, 0)?;
        let bytes = volume.read(offset, block_size)?;
        let block = Fields::new(&bytes, "bmbt block");
        if block.u32(0)? != magic {
            return Err(corrupt(format!("block {pointer} has a bad magic")));
        }
        if superblock.has_crc() {
            if !crc32c::verify(&bytes, BB_CRC) {
                return Err(corrupt(format!("block {pointer} CRC mismatch")));
            }
            if block.u64(BB_BLKNO)? != offset / 512
                || block.u64(BB_OWNER)? != inode.number
                || block.slice(BB_UUID, 16)? != superblock.metadata_uuid
            {
                return Err(corrupt(format!("block {pointer} belongs elsewhere (blkno, owner or UUID)")));
            }
        }
        let level = block.u16(BB_LEVEL)?;
        if level != expected_level {
            return Err(corrupt(format!("block {pointer} is at level {level}, expected {expected_level}")));
        }
        let count = usize::from(block.u16(BB_NUMRECS)?);
        if level == 0 {
            if count > capacity * 2 * KEY_SIZE / RECORD_SIZE {
                return Err(corrupt(format!("leaf {pointer} claims {count} records")));
            }
            for index in 0..count {
                extents.push(Extent::unpack(block, header + index * RECORD_SIZE)?);
            }
            if extents.len() as u64 > inode.data_extents {
                return Err(corrupt(format!("more records than di_nextents ({})", inode.data_extents)));
            }
        } else {
            let children = node_pointers(block, header, capacity, count)
                .map_err(|message| corrupt(format!("block {pointer}: {message}")))?;
            pending.extend(children.into_iter().rev().map(|child| (child, level - 1)));
        }
    }
    Ok(extents)
}

/// The child pointers of a bmbt node whose keys start at `keys` and hold `capacity` slots.
fn node_pointers(node: Fields<'_>, keys: usize, capacity: usize, count: usize) -> Result<Vec<u64>, String> {
    if count == 0 || count > capacity {
        return Err(format!("{count} records in a node with room for {capacity}"));
    }
    let pointers = keys + capacity * KEY_SIZE;
    (0..count).map(|index| node.u64(pointers + index * KEY_SIZE).map_err(|error| error.to_string())).collect()
}

/// Fill `buffer` with the file bytes at `offset` through `extents` (sorted, as [`map`]
/// returns them): holes and unwritten extents give zeros.
pub fn read_mapped(volume: &Volume, extents: &[Extent], mut offset: u64, mut buffer: &mut [u8]) -> Result<(), FsError> {
    let block_log = u32::from(volume.superblock.block_log);
    while !buffer.is_empty() {
        let block = offset >> block_log;
        let within = offset & ((1u64 << block_log) - 1);
        // The first extent ending after this block.
        let index = extents.partition_point(|extent| extent.end() <= block);
        let found = extents.get(index);
        let (chunk_end, physical) = match found {
            Some(extent) if extent.logical <= block => {
                (extent.end(), (!extent.unwritten).then_some((extent.physical, block - extent.logical)))
            }
            Some(next) => (next.logical, None),
            None => (u64::MAX >> block_log, None),
        };
        let available = (chunk_end - block).saturating_mul(1 << block_log).saturating_sub(within);
        let length = usize::try_from(available).unwrap_or(usize::MAX).min(buffer.len());
        let (chunk, rest) = std::mem::take(&mut buffer).split_at_mut(length);
        match physical {
            Some((start, delta)) => {
                // One extent is contiguous on disk: one read, checked at its far end too.
                let last_delta = delta + ((within + length as u64 - 1) >> block_log);
                volume.superblock.block_offset(start, last_delta)?;
                let byte = volume.superblock.block_offset(start, delta)? + within;
                volume.read_into(byte, chunk)?;
            }
            None => chunk.fill(0),
        }
        buffer = rest;
        offset =
            offset.checked_add(length as u64).ok_or_else(|| FsError::Corrupt("file offset overflows".to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pack an extent record the way XFS does.
    pub fn pack(extent: Extent) -> [u8; 16] {
        let high = (u64::from(extent.unwritten) << 63) | (extent.logical << 9) | (extent.physical >> 43);
        let low = (extent.physical << 21) | extent.length;
        let mut record = [0u8; 16];
        record[..8].copy_from_slice(&high.to_be_bytes());
        record[8..].copy_from_slice(&low.to_be_bytes());
        record
    }

    #[test]
    fn records_round_trip_through_the_packed_layout() {
        for extent in [
            Extent { logical: 0, physical: 1, length: 1, unwritten: false },
            Extent { logical: (1 << 54) - 1, physical: (1 << 52) - 1, length: (1 << 21) - 1, unwritten: true },
            Extent { logical: 1_234_567, physical: 0xABC_DEF0_1234, length: 77, unwritten: false },
        ] {
            let record = pack(extent);
            assert_eq!(Extent::unpack(Fields::new(&record, "record"), 0).unwrap(), extent);
        }
        assert!(Extent::unpack(Fields::new(&[0u8; 12], "record"), 0).is_err());
    }
}
