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
use crate::source::Prefetched;
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
/// Most extents we hold for one file (32 bytes each in memory).
pub const MAX_EXTENTS: u64 = 1 << 20;
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
        // Every leaf holds at least one record and every node at least one child, so a
        // sound tree has at most two blocks per extent (plus one path of nodes).
        let limit = inode.data_extents.saturating_mul(2).saturating_add(u64::from(MAX_LEVELS)).min(inode.blocks);
        if visited.len() as u64 > limit {
            return Err(corrupt(format!(
                "more bmbt blocks than {} extents in {} blocks can need",
                inode.data_extents, inode.blocks
            )));
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
    // Checked once here, so every offset below stays representable.
    offset
        .checked_add(buffer.len() as u64)
        .ok_or_else(|| FsError::Corrupt(format!("read of {} bytes at offset {offset} overflows", buffer.len())))?;
    while !buffer.is_empty() {
        let block = offset >> block_log;
        let within = offset & ((1u64 << block_log) - 1);
        // The first extent ending after this block.
        let index = extents.partition_point(|extent| extent.end() <= block);
        let (length, physical) = match extents.get(index) {
            Some(extent) if extent.logical <= block => {
                // Saturating: a far extent end is only capped by the buffer length below.
                let available = (extent.end() - block).saturating_mul(1 << block_log) - within;
                (available, (!extent.unwritten).then_some((extent.physical, block - extent.logical)))
            }
            Some(next) => ((next.logical - block).saturating_mul(1 << block_log) - within, None),
            // Past the last extent: the rest is a hole.
            None => (buffer.len() as u64, None),
        };
        let length = usize::try_from(length).unwrap_or(usize::MAX).min(buffer.len());
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
        offset += length as u64;
    }
    Ok(())
}

/// Hint that the mapped blocks below file byte `end` are about to be read: a slow source
/// fetches them at once and keeps them while the guard lives (a directory's blocks, read
/// one after another, would otherwise be a chain of round trips). Holes, unwritten
/// extents and extents whose blocks do not fit the filesystem are left out.
pub fn prefetch_mapped(volume: &Volume, extents: &[Extent], end: u64) -> Prefetched {
    let block_log = u32::from(volume.superblock.block_log);
    let end_block = end.div_ceil(1 << block_log);
    let mut prefetched = Prefetched::default();
    for extent in extents.iter().take_while(|extent| extent.logical < end_block) {
        let blocks = extent.end().min(end_block) - extent.logical;
        if extent.unwritten || blocks == 0 {
            continue;
        }
        let (Ok(start), Ok(_)) = (
            volume.superblock.block_offset(extent.physical, 0),
            volume.superblock.block_offset(extent.physical, blocks - 1),
        ) else {
            continue;
        };
        if let Some(length) = blocks.checked_mul(1 << block_log) {
            prefetched.extend(volume.prefetch(start, length));
        }
    }
    prefetched
}

#[cfg(test)]
mod tests {
    use super::super::superblock::{self, Superblock};
    use super::*;
    use std::sync::Arc;

    /// A 64-block (4 KiB blocks) device whose block `n` is filled with byte `n`.
    fn volume() -> Volume {
        let superblock = Superblock::parse(&superblock::tests::sample(512)).unwrap();
        let bytes: Vec<u8> = (0..64u8).flat_map(|block| std::iter::repeat_n(block, 4096)).collect();
        Volume::new(Arc::new(bytes), superblock)
    }

    fn inode_with(extents: &[Extent], count: u64) -> Inode {
        Inode {
            number: 131,
            mode: 0o100_644,
            format: ForkFormat::Extents,
            uid: 0,
            gid: 0,
            size: 1 << 20,
            blocks: 16,
            data_extents: count,
            realtime: false,
            times: [(0, 0); 3],
            data_fork: {
                let mut fork: Vec<u8> = extents.iter().flat_map(|extent| pack(*extent)).collect();
                fork.resize(336, 0);
                fork
            },
        }
    }

    fn extent(logical: u64, physical: u64, length: u64) -> Extent {
        Extent { logical, physical, length, unwritten: false }
    }

    /// A zeroed device that records the prefetch hints it is given.
    struct Hinted {
        bytes: Vec<u8>,
        hints: std::sync::Mutex<Vec<(u64, u64)>>,
    }

    impl crate::source::ReadAt for Hinted {
        fn len(&self) -> u64 {
            self.bytes.len() as u64
        }
        fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
            crate::source::ReadAt::read_exact_at(&self.bytes, offset, buf)
        }
        fn prefetch(&self, offset: u64, length: u64) -> Prefetched {
            self.hints.lock().unwrap().push((offset, length));
            Prefetched::default()
        }
    }

    #[test]
    fn prefetch_names_the_written_blocks_below_the_end() {
        let superblock = Superblock::parse(&superblock::tests::sample(512)).unwrap();
        let source = Arc::new(Hinted { bytes: vec![0; 64 * 4096], hints: std::sync::Mutex::default() });
        let volume = Volume::new(Arc::clone(&source) as Arc<dyn crate::source::ReadAt>, superblock);
        let unwritten = Extent { unwritten: true, ..extent(2, 30, 1) };
        let beyond = extent(8, 40, 2);
        let map = [extent(0, 10, 2), unwritten, extent(4, 20, 4), beyond];
        drop(prefetch_mapped(&volume, &map, 6 * 4096 - 1));
        // The hole at 3 and the unwritten block give nothing; the third extent is cut at the end.
        assert_eq!(*source.hints.lock().unwrap(), [(10 * 4096, 2 * 4096), (20 * 4096, 2 * 4096)]);
    }

    #[test]
    fn maps_and_reads_through_holes_and_unwritten_extents() {
        let volume = volume();
        let unwritten = Extent { unwritten: true, ..extent(5, 9, 1) };
        let inode = inode_with(&[extent(0, 10, 2), extent(3, 20, 1), unwritten], 3);
        let map = map(&volume, &inode).unwrap();
        assert_eq!(map.len(), 3);
        // Across the end of the first extent, a hole at block 2, block 3, then a hole.
        let mut buffer = vec![0xEEu8; 4 * 4096 + 10];
        read_mapped(&volume, &map, 4096 + 4000, &mut buffer).unwrap();
        assert!(buffer[..96].iter().all(|&byte| byte == 11));
        assert!(buffer[96..96 + 4096].iter().all(|&byte| byte == 0), "hole");
        assert!(buffer[96 + 4096..96 + 8192].iter().all(|&byte| byte == 20));
        assert!(buffer[96 + 8192..].iter().all(|&byte| byte == 0), "hole, then unwritten");
    }

    #[test]
    fn refuses_bad_maps() {
        let volume = volume();
        let cases = [
            (vec![extent(4, 10, 2), extent(0, 20, 1)], 2, "out of order"),
            (vec![extent(0, 10, 4), extent(3, 20, 1)], 2, "overlapping"),
            (vec![extent(0, 10, 0)], 1, "empty"),
            (vec![extent(0, 10, 1)], 2, "count larger than the records present"),
            (vec![extent(0, 10, 1)], 22, "count larger than the fork holds"),
            (vec![extent(0, 10, 1)], MAX_EXTENTS + 1, "absurd count"),
        ];
        for (extents, count, why) in cases {
            assert!(matches!(map(&volume, &inode_with(&extents, count)), Err(FsError::Corrupt(_))), "{why}");
        }
        // A sound map pointing past the device: an I/O error, not a panic.
        let far = [extent(0, 16383, 1)];
        let mut buffer = [0u8; 16];
        assert!(read_mapped(&volume, &far, 0, &mut buffer).is_err());
        let crossing = [extent(0, 16383, 2)];
        let mut buffer = vec![0u8; 8192];
        assert!(read_mapped(&volume, &crossing, 0, &mut buffer).is_err(), "an extent may not leave its group");
        // Reads at the largest offsets stay checked, and a read past every extent ends.
        assert!(read_mapped(&volume, &[], u64::MAX - 3, &mut [0u8; 8]).is_err());
        let mut tail = [1u8; 8];
        read_mapped(&volume, &[], u64::MAX - 8, &mut tail).unwrap();
        assert_eq!(tail, [0; 8]);
    }

    /// Pack an extent record the way XFS does.
    fn pack(extent: Extent) -> [u8; 16] {
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
