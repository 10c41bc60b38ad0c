//! The XFS superblock (`struct xfs_dsb`, sector 0 of allocation group 0): geometry,
//! version and feature flags.
//!
//! Everything else is addressed through it: block and inode numbers encode an allocation
//! group in their high bits, so the geometry is validated here once (powers of two,
//! logarithms matching sizes, bounded shifts) and the address arithmetic elsewhere can
//! rely on it. Unknown incompatible features are refused by name rather than misread.

use super::crc32c;
use super::fields::Fields;
use crate::fs::FsError;

/// `XFSB`.
pub const MAGIC: u32 = 0x5846_5342;
/// Bytes of the superblock structure we read (it fits in the smallest sector).
pub const READ_LENGTH: usize = 512;

// Field offsets in `struct xfs_dsb`.
const SB_MAGICNUM: usize = 0;
const SB_BLOCKSIZE: usize = 4;
const SB_DBLOCKS: usize = 8;
const SB_RBLOCKS: usize = 16;
const SB_UUID: usize = 32;
const SB_LOGSTART: usize = 48;
const SB_ROOTINO: usize = 56;
const SB_AGBLOCKS: usize = 84;
const SB_AGCOUNT: usize = 88;
const SB_LOGBLOCKS: usize = 96;
const SB_VERSIONNUM: usize = 100;
/// `sb_sectsize`: the CRC covers a whole sector, so it is read before the rest.
pub const SB_SECTSIZE: usize = 102;
const SB_INODESIZE: usize = 104;
const SB_INOPBLOCK: usize = 106;
const SB_FNAME: usize = 108;
const SB_BLOCKLOG: usize = 120;
const SB_SECTLOG: usize = 121;
const SB_INODELOG: usize = 122;
const SB_INOPBLOG: usize = 123;
const SB_AGBLKLOG: usize = 124;
const SB_INPROGRESS: usize = 126;
const SB_DIRBLKLOG: usize = 192;
const SB_FEATURES2: usize = 200;
const SB_FEATURES_INCOMPAT: usize = 216;
/// `sb_crc`, little-endian, covering the whole first sector.
pub const SB_CRC: usize = 224;
const SB_META_UUID: usize = 248;

const VERSION_NUMBER_MASK: u16 = 0x000F;
const VERSION_DIRV2BIT: u16 = 0x2000;
const VERSION_MOREBITSBIT: u16 = 0x8000;
const VERSION2_FTYPE: u32 = 0x0200;

const INCOMPAT_FTYPE: u32 = 1 << 0;
const INCOMPAT_SPINODES: u32 = 1 << 1;
const INCOMPAT_META_UUID: u32 = 1 << 2;
const INCOMPAT_BIGTIME: u32 = 1 << 3;
const INCOMPAT_NEEDSREPAIR: u32 = 1 << 4;
const INCOMPAT_NREXT64: u32 = 1 << 5;
const INCOMPAT_EXCHRANGE: u32 = 1 << 6;
const INCOMPAT_PARENT: u32 = 1 << 7;
/// Incompatible features whose on-disk changes this reader handles (or, for exchange
/// ranges and parent pointers, never needs to look at).
const INCOMPAT_SUPPORTED: u32 = INCOMPAT_FTYPE
    | INCOMPAT_SPINODES
    | INCOMPAT_META_UUID
    | INCOMPAT_BIGTIME
    | INCOMPAT_NEEDSREPAIR
    | INCOMPAT_NREXT64
    | INCOMPAT_EXCHRANGE
    | INCOMPAT_PARENT;
/// Names of incompatible features we know but do not read, for the error message.
const INCOMPAT_NAMES: [(u32, &str); 2] = [(1 << 8, "metadir"), (1 << 9, "zoned")];

/// The validated superblock fields the reader uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Superblock {
    /// 4 or 5 (5 has CRCs on all metadata).
    pub version: u16,
    /// Filesystem block size in bytes (1 KiB to 64 KiB).
    pub block_size: u32,
    /// log2 of `block_size`.
    pub block_log: u8,
    /// Sector size in bytes (512 to 32 KiB).
    pub sector_size: u16,
    /// Inode size in bytes.
    pub inode_size: u16,
    /// log2 of inodes per block.
    pub inodes_per_block_log: u8,
    /// Blocks per allocation group (the last group may be shorter).
    pub ag_blocks: u32,
    /// Number of allocation groups.
    pub ag_count: u32,
    /// Bits of a block number that hold the block within its group.
    pub ag_block_log: u8,
    /// Blocks on the data device.
    pub data_blocks: u64,
    /// Inode number of the root directory.
    pub root_inode: u64,
    /// Filesystem UUID.
    pub uuid: [u8; 16],
    /// UUID stamped into v5 metadata (differs from `uuid` after `xfs_admin -U`).
    pub metadata_uuid: [u8; 16],
    /// Label (`sb_fname`), without trailing NULs.
    pub label: Vec<u8>,
    /// True when directory entries record the file type.
    pub has_file_type: bool,
    /// True when `xfs_repair` was interrupted and flagged the filesystem.
    pub needs_repair: bool,
    /// True when the filesystem has a realtime device (files there are not readable).
    pub has_realtime: bool,
    /// Directory block size in bytes (`block_size << sb_dirblklog`).
    pub directory_block_size: u32,
    /// First block of the internal log (0 when the log is external).
    pub log_start: u64,
    /// Blocks in the log.
    pub log_blocks: u32,
}

impl Superblock {
    /// True for v5 filesystems, whose metadata carries CRCs, owners and UUIDs.
    pub fn has_crc(&self) -> bool {
        self.version == 5
    }

    /// Parse and validate the first sector of the filesystem (`sector` must hold at least
    /// [`READ_LENGTH`] bytes; for v5 the CRC covers `sb_sectsize` bytes, so the caller
    /// passes the whole sector).
    pub fn parse(sector: &[u8]) -> Result<Self, FsError> {
        let fields = Fields::new(sector, "XFS superblock");
        if fields.u32(SB_MAGICNUM)? != MAGIC {
            return Err(fields.corrupt("bad magic (not XFSB)"));
        }
        let version_number = fields.u16(SB_VERSIONNUM)?;
        let version = version_number & VERSION_NUMBER_MASK;
        if version != 4 && version != 5 {
            return Err(FsError::Unsupported(format!("XFS superblock version {version}")));
        }
        let block_size = fields.u32(SB_BLOCKSIZE)?;
        let block_log = fields.u8(SB_BLOCKLOG)?;
        if !(10..=16).contains(&block_log) || Some(block_size) != 1u32.checked_shl(u32::from(block_log)) {
            return Err(fields.corrupt(format!("block size {block_size} (log {block_log}) is not 1 KiB to 64 KiB")));
        }
        let sector_size = fields.u16(SB_SECTSIZE)?;
        let sector_log = fields.u8(SB_SECTLOG)?;
        if !(9..=15).contains(&sector_log) || Some(sector_size) != 1u16.checked_shl(u32::from(sector_log)) {
            return Err(fields.corrupt(format!("sector size {sector_size} (log {sector_log})")));
        }
        let inode_size = fields.u16(SB_INODESIZE)?;
        let inode_log = fields.u8(SB_INODELOG)?;
        if !(8..=11).contains(&inode_log) || Some(inode_size) != 1u16.checked_shl(u32::from(inode_log)) {
            return Err(fields.corrupt(format!("inode size {inode_size} (log {inode_log})")));
        }
        let inodes_per_block = fields.u16(SB_INOPBLOCK)?;
        let inodes_per_block_log = fields.u8(SB_INOPBLOG)?;
        if u32::from(inode_log) + u32::from(inodes_per_block_log) != u32::from(block_log)
            || Some(inodes_per_block) != 1u16.checked_shl(u32::from(inodes_per_block_log))
        {
            return Err(
                fields.corrupt(format!("{inodes_per_block} inodes per block do not fit the block and inode sizes"))
            );
        }
        let ag_blocks = fields.u32(SB_AGBLOCKS)?;
        let ag_count = fields.u32(SB_AGCOUNT)?;
        let ag_block_log = fields.u8(SB_AGBLKLOG)?;
        // sb_agblklog is log2 of agblocks rounded up; it and the inode bits must leave room
        // in a 64-bit inode number for the group number.
        let ag_log_ok = ag_blocks >= 2
            && u32::from(ag_block_log) < 32
            && ag_blocks <= 1u32.checked_shl(u32::from(ag_block_log)).unwrap_or(u32::MAX)
            && ag_blocks > 1u32.checked_shl(u32::from(ag_block_log).saturating_sub(1)).unwrap_or(u32::MAX);
        if !ag_log_ok || ag_count == 0 {
            return Err(fields.corrupt(format!(
                "allocation group geometry ({ag_count} groups of {ag_blocks} blocks, log {ag_block_log})"
            )));
        }
        let data_blocks = fields.u64(SB_DBLOCKS)?;
        let groups_needed = data_blocks.div_ceil(u64::from(ag_blocks));
        if data_blocks == 0 || groups_needed != u64::from(ag_count) {
            return Err(fields.corrupt(format!("{data_blocks} blocks do not make {ag_count} groups of {ag_blocks}")));
        }
        if fields.u8(SB_INPROGRESS)? != 0 {
            return Err(fields.corrupt("mkfs did not finish (sb_inprogress is set)"));
        }
        let incompat = if version == 5 { fields.u32(SB_FEATURES_INCOMPAT)? } else { 0 };
        let unknown = incompat & !INCOMPAT_SUPPORTED;
        if unknown != 0 {
            let name = INCOMPAT_NAMES
                .iter()
                .find(|(bit, _)| unknown & bit != 0)
                .map_or_else(|| format!("incompatible feature bits {unknown:#x}"), |(_, name)| (*name).to_string());
            return Err(FsError::Unsupported(format!("unsupported XFS feature {name}")));
        }
        if version == 4 && version_number & VERSION_DIRV2BIT == 0 {
            return Err(FsError::Unsupported("unsupported XFS feature: version 1 directories".to_string()));
        }
        if version == 5 && !crc32c::verify(sector.get(..usize::from(sector_size)).unwrap_or(&[]), SB_CRC) {
            return Err(fields.corrupt("CRC mismatch"));
        }
        let features2 = if version_number & VERSION_MOREBITSBIT != 0 { fields.u32(SB_FEATURES2)? } else { 0 };
        let has_file_type = if version == 5 { incompat & INCOMPAT_FTYPE != 0 } else { features2 & VERSION2_FTYPE != 0 };
        let directory_block_log = u32::from(block_log) + u32::from(fields.u8(SB_DIRBLKLOG)?);
        if directory_block_log > 16 {
            return Err(fields.corrupt(format!("directory block size 2^{directory_block_log} is over 64 KiB")));
        }
        let uuid: [u8; 16] = fields.slice(SB_UUID, 16)?.try_into().unwrap_or_default();
        let metadata_uuid = if incompat & INCOMPAT_META_UUID != 0 {
            fields.slice(SB_META_UUID, 16)?.try_into().unwrap_or_default()
        } else {
            uuid
        };
        let label = fields.slice(SB_FNAME, 12)?;
        let label_length = label.iter().position(|&byte| byte == 0).unwrap_or(label.len());
        Ok(Self {
            version,
            block_size,
            block_log,
            sector_size,
            inode_size,
            inodes_per_block_log,
            ag_blocks,
            ag_count,
            ag_block_log,
            data_blocks,
            root_inode: fields.u64(SB_ROOTINO)?,
            uuid,
            metadata_uuid,
            label: label.get(..label_length).unwrap_or_default().to_vec(),
            has_file_type,
            needs_repair: incompat & INCOMPAT_NEEDSREPAIR != 0,
            has_realtime: fields.u64(SB_RBLOCKS)? != 0,
            directory_block_size: 1u32 << directory_block_log,
            log_start: fields.u64(SB_LOGSTART)?,
            log_blocks: fields.u32(SB_LOGBLOCKS)?,
        })
    }

    /// Byte offset on the device of block `agbno` of allocation group `agno`, checked
    /// against the geometry (this is `XFS_AGB_TO_DADDR` in bytes).
    pub fn group_block_offset(&self, agno: u64, agbno: u64) -> Result<u64, FsError> {
        if agno >= u64::from(self.ag_count) || agbno >= u64::from(self.ag_blocks) {
            return Err(FsError::Corrupt(format!(
                "block {agbno} of allocation group {agno} is outside the filesystem"
            )));
        }
        agno.checked_mul(u64::from(self.ag_blocks))
            .and_then(|blocks| blocks.checked_add(agbno))
            .filter(|&block| block < self.data_blocks)
            .and_then(|block| block.checked_shl(u32::from(self.block_log)))
            .ok_or_else(|| {
                FsError::Corrupt(format!("block {agbno} of allocation group {agno} is past the end of the filesystem"))
            })
    }

    /// Split a filesystem block number (`XFS_FSB_TO_AGNO`, `XFS_FSB_TO_AGBNO`).
    pub fn split_block(&self, block: u64) -> (u64, u64) {
        let shift = u32::from(self.ag_block_log);
        (block.checked_shr(shift).unwrap_or(0), block & low_mask(shift))
    }

    /// Byte offset of filesystem block number `block` plus `delta` blocks inside the same
    /// allocation group (an extent never crosses a group).
    pub fn block_offset(&self, block: u64, delta: u64) -> Result<u64, FsError> {
        let (agno, agbno) = self.split_block(block);
        let agbno = agbno
            .checked_add(delta)
            .ok_or_else(|| FsError::Corrupt(format!("block number {block} + {delta} overflows")))?;
        self.group_block_offset(agno, agbno)
    }

    /// Byte offset of inode `number` (group, block in group, index in block).
    pub fn inode_offset(&self, number: u64) -> Result<u64, FsError> {
        let index_bits = u32::from(self.inodes_per_block_log);
        let index = number & low_mask(index_bits);
        let block_bits = u32::from(self.ag_block_log);
        let agbno = number.checked_shr(index_bits).unwrap_or(0) & low_mask(block_bits);
        let agno = number.checked_shr(index_bits + block_bits).unwrap_or(0);
        let block = self
            .group_block_offset(agno, agbno)
            .map_err(|_| FsError::Corrupt(format!("inode number {number} is outside the filesystem")))?;
        Ok(block + index * u64::from(self.inode_size))
    }
}

/// `(1 << bits) - 1`, for any `bits` up to 64.
pub fn low_mask(bits: u32) -> u64 {
    1u64.checked_shl(bits).map_or(u64::MAX, |bit| bit - 1)
}

/// A UUID in its usual 8-4-4-4-12 hex form.
pub fn format_uuid(uuid: &[u8; 16]) -> String {
    let mut text = String::with_capacity(36);
    for (index, byte) in uuid.iter().enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A valid v5 superblock sector: 4 KiB blocks, 512-byte inodes, 4 groups of 16384
    /// blocks, ftype, CRC set. Other tests build on it.
    pub fn sample(sector_size: u16) -> Vec<u8> {
        let mut sector = vec![0u8; usize::from(sector_size)];
        let mut put = |offset: usize, bytes: &[u8]| sector[offset..offset + bytes.len()].copy_from_slice(bytes);
        put(SB_MAGICNUM, &MAGIC.to_be_bytes());
        put(SB_BLOCKSIZE, &4096u32.to_be_bytes());
        put(SB_DBLOCKS, &65536u64.to_be_bytes());
        put(SB_UUID, &[0x11; 16]);
        put(SB_LOGSTART, &32768u64.to_be_bytes());
        put(SB_ROOTINO, &128u64.to_be_bytes());
        put(SB_AGBLOCKS, &16384u32.to_be_bytes());
        put(SB_AGCOUNT, &4u32.to_be_bytes());
        put(SB_LOGBLOCKS, &1024u32.to_be_bytes());
        put(SB_VERSIONNUM, &(0xB4A5u16).to_be_bytes());
        put(SB_SECTSIZE, &sector_size.to_be_bytes());
        put(SB_INODESIZE, &512u16.to_be_bytes());
        put(SB_INOPBLOCK, &8u16.to_be_bytes());
        put(SB_FNAME, b"rootfs\0\0\0\0\0\0");
        put(SB_BLOCKLOG, &[12, sector_size.trailing_zeros() as u8, 9, 3, 14]);
        put(SB_FEATURES2, &0x18Au32.to_be_bytes());
        put(SB_FEATURES_INCOMPAT, &(INCOMPAT_FTYPE | INCOMPAT_SPINODES | INCOMPAT_BIGTIME).to_be_bytes());
        seal(&mut sector);
        sector
    }

    /// Recompute the superblock CRC after a test edits a field.
    pub fn seal(sector: &mut [u8]) {
        sector[SB_CRC..SB_CRC + 4].copy_from_slice(&[0; 4]);
        let crc = crc32c::checksum(sector);
        sector[SB_CRC..SB_CRC + 4].copy_from_slice(&crc.to_le_bytes());
    }

    #[test]
    fn parses_a_valid_superblock_with_either_sector_size() {
        for sector_size in [512u16, 4096] {
            let superblock = Superblock::parse(&sample(sector_size)).unwrap();
            assert_eq!(superblock.block_size, 4096);
            assert_eq!(superblock.sector_size, sector_size);
            assert_eq!(superblock.label, b"rootfs");
            assert!(superblock.has_file_type && superblock.has_crc());
            assert_eq!(superblock.directory_block_size, 4096);
            assert_eq!(format_uuid(&superblock.uuid), "11111111-1111-1111-1111-111111111111");
        }
    }

    #[test]
    fn address_arithmetic() {
        let superblock = Superblock::parse(&sample(512)).unwrap();
        // Inode 128: group 0, block 16, index 0.
        assert_eq!(superblock.inode_offset(128).unwrap(), 16 * 4096);
        // Group 1 starts at block 16384; its block numbers carry the group in bit 14 up.
        let inode = (1u64 << (14 + 3)) | (5 << 3) | 2;
        assert_eq!(superblock.inode_offset(inode).unwrap(), (16384 + 5) * 4096 + 2 * 512);
        assert_eq!(superblock.block_offset(1 << 14, 3).unwrap(), (16384 + 3) * 4096);
        assert!(superblock.inode_offset(u64::MAX).is_err());
        assert!(superblock.block_offset(4 << 14, 0).is_err(), "group 4 does not exist");
        assert!(superblock.block_offset(16383, 1).is_err(), "an extent may not leave its group");
    }

    #[test]
    fn refuses_bad_crc_unknown_features_garbage_and_truncation() {
        let mut sector = sample(512);
        sector[300] ^= 1;
        assert!(matches!(Superblock::parse(&sector), Err(FsError::Corrupt(message)) if message.contains("CRC")));

        let mut sector = sample(512);
        sector[SB_FEATURES_INCOMPAT..SB_FEATURES_INCOMPAT + 4]
            .copy_from_slice(&(INCOMPAT_FTYPE | 1 << 8).to_be_bytes());
        seal(&mut sector);
        assert!(
            matches!(Superblock::parse(&sector), Err(FsError::Unsupported(message)) if message == "unsupported XFS feature metadir")
        );

        let mut sector = sample(512);
        sector[SB_FEATURES_INCOMPAT..SB_FEATURES_INCOMPAT + 4].copy_from_slice(&(1u32 << 30).to_be_bytes());
        seal(&mut sector);
        assert!(
            matches!(Superblock::parse(&sector), Err(FsError::Unsupported(message)) if message.contains("0x40000000"))
        );

        let mut sector = sample(512);
        sector[SB_BLOCKLOG] = 20;
        seal(&mut sector);
        assert!(Superblock::parse(&sector).is_err());

        assert!(Superblock::parse(&sample(512)[..200]).is_err());
        assert!(Superblock::parse(&[]).is_err());
        assert!(Superblock::parse(&[0x5a; 512]).is_err());
    }
}
