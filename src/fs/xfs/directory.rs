//! Version 2 directories in every form XFS uses.
//!
//! Short-form directories live in the inode. Block, leaf, node and B+tree directories all
//! keep their entries in *data blocks* below `XFS_DIR2_LEAF_OFFSET` (32 GiB into the
//! directory); the leaf, node and free-index blocks above it only speed up lookups and
//! allocation, so a full listing needs just the data blocks — whatever the form. That
//! keeps one parser for four forms and reads the fewest blocks.

use super::Volume;
use super::crc32c;
use super::extents::{self, Extent};
use super::fields::Fields;
use super::inode::{ForkFormat, Inode};
use crate::fs::{FileType, FsError};

/// Directory offset where leaf blocks start; data blocks lie below it.
const LEAF_OFFSET: u64 = 32 << 30;
/// Largest directory data area we read (a million long names fit in a quarter of it).
const MAX_DIRECTORY_BYTES: u64 = 256 << 20;
/// `XD2B`: v4 single-block directory.
const BLOCK_MAGIC_V4: u32 = 0x5844_3242;
/// `XD2D`: v4 data block.
const DATA_MAGIC_V4: u32 = 0x5844_3244;
/// `XDB3`: v5 single-block directory.
const BLOCK_MAGIC_V5: u32 = 0x5844_4233;
/// `XDD3`: v5 data block.
const DATA_MAGIC_V5: u32 = 0x5844_4433;
/// v4 data header: magic and three bestfree slots.
const DATA_HEADER_V4: usize = 16;
/// v5 data header: `xfs_dir3_blk_hdr` (48 bytes), bestfree and padding.
const DATA_HEADER_V5: usize = 64;
/// `crc` in `xfs_dir3_blk_hdr`.
const HEADER_CRC: usize = 4;
const HEADER_BLKNO: usize = 8;
const HEADER_UUID: usize = 24;
const HEADER_OWNER: usize = 40;
/// Tag marking an unused region in a data block.
const FREE_TAG: u16 = 0xFFFF;

/// One directory entry as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawEntry {
    /// Name bytes.
    pub name: Vec<u8>,
    /// Inode number.
    pub inode: u64,
    /// Type from the entry, when the filesystem has the ftype feature and it is set.
    pub file_type: Option<FileType>,
}

/// All entries of directory `inode`, without `.` and `..`.
pub fn entries(volume: &Volume, inode: &Inode) -> Result<Vec<RawEntry>, FsError> {
    match inode.format {
        ForkFormat::Local => short_form(&inode.data_fork, inode.size, volume.superblock.has_file_type)
            .map_err(|error| FsError::Corrupt(format!("directory inode {}: {error}", inode.number))),
        ForkFormat::Extents | ForkFormat::Btree => block_form(volume, inode),
        ForkFormat::Device => Err(FsError::Corrupt(format!("directory inode {} has a device fork", inode.number))),
    }
}

/// The ftype byte of an entry (`XFS_DIR3_FT_*`).
fn entry_type(value: u8) -> Option<FileType> {
    Some(match value {
        1 => FileType::Regular,
        2 => FileType::Directory,
        3 => FileType::CharDevice,
        4 => FileType::BlockDevice,
        5 => FileType::Fifo,
        6 => FileType::Socket,
        7 => FileType::Symlink,
        _ => return None,
    })
}

/// Parse a short-form directory (`xfs_dir2_sf_hdr` and its entries) of `size` bytes.
pub fn short_form(fork: &[u8], size: u64, has_file_type: bool) -> Result<Vec<RawEntry>, FsError> {
    let length = usize::try_from(size)
        .ok()
        .filter(|&length| length <= fork.len())
        .ok_or_else(|| FsError::Corrupt(format!("short-form size {size} is over the {}-byte fork", fork.len())))?;
    let fields = Fields::new(fork.get(..length).unwrap_or_default(), "short-form directory");
    let count = fields.u8(0)?;
    // All inode numbers are 8 bytes when any entry needs it, else 4.
    let number_size = if fields.u8(1)? != 0 { 8 } else { 4 };
    let read_number = |offset: usize| -> Result<u64, FsError> {
        if number_size == 8 { fields.u64(offset) } else { fields.u32(offset).map(u64::from) }
    };
    let mut position = 2 + number_size;
    let mut entries = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let name_length = usize::from(fields.u8(position)?);
        if name_length == 0 {
            return Err(fields.corrupt(format!("empty name at offset {position}")));
        }
        // namelen, a 2-byte offset tag, the name, then ftype when present.
        let name = fields.slice(position + 3, name_length)?.to_vec();
        let mut after = position + 3 + name_length;
        let file_type = if has_file_type {
            after += 1;
            entry_type(fields.u8(after - 1)?)
        } else {
            None
        };
        entries.push(RawEntry { name, inode: read_number(after)?, file_type });
        position = after + number_size;
    }
    Ok(entries)
}

/// Read every data block of a multi-block (or single-block) directory.
fn block_form(volume: &Volume, inode: &Inode) -> Result<Vec<RawEntry>, FsError> {
    let superblock = &volume.superblock;
    let map = extents::map(volume, inode)?;
    let directory_block = u64::from(superblock.directory_block_size);
    let data_end = inode.size.min(LEAF_OFFSET);
    if data_end > MAX_DIRECTORY_BYTES {
        return Err(FsError::Unsupported(format!("directory inode {} has {data_end} bytes of entries", inode.number)));
    }
    let _prefetched = extents::prefetch_mapped(volume, &map, data_end);
    let mut entries = Vec::new();
    let mut buffer = vec![0u8; superblock.directory_block_size as usize];
    // Every directory block that has at least its first filesystem block mapped.
    let starts = data_block_starts(&map, superblock.block_log, directory_block, data_end);
    for start in starts {
        extents::read_mapped(volume, &map, start, &mut buffer)?;
        parse_data_block(&buffer, superblock.has_crc(), superblock.has_file_type, &mut entries).map_err(|error| {
            FsError::Corrupt(format!("directory inode {} block at offset {start}: {error}", inode.number))
        })?;
        if superblock.has_crc() {
            check_owner(&buffer, volume, &map, start, inode.number)?;
        }
    }
    Ok(entries)
}

/// Byte offsets (multiples of the directory block size, below `data_end`) of directory
/// blocks that start inside a mapped extent, in order.
fn data_block_starts(map: &[Extent], block_log: u8, directory_block: u64, data_end: u64) -> Vec<u64> {
    // Work in blocks below the end first: logical block numbers reach 2^54 and would
    // overflow as byte offsets.
    let end_block = data_end.div_ceil(1 << block_log);
    let mut starts = Vec::new();
    for extent in map.iter().take_while(|extent| extent.logical < end_block) {
        let mut start = (extent.logical << block_log).div_ceil(directory_block) * directory_block;
        while start < (extent.end().min(end_block) << block_log).min(data_end) {
            starts.push(start);
            start += directory_block;
        }
    }
    starts
}

/// Check a v5 data block's self-description: its daddr and owner.
fn check_owner(block: &[u8], volume: &Volume, map: &[Extent], start: u64, owner: u64) -> Result<(), FsError> {
    let fields = Fields::new(block, "directory block");
    let logical = start >> volume.superblock.block_log;
    let expected_daddr = map
        .iter()
        .find(|extent| extent.logical <= logical && logical < extent.end())
        .map(|extent| volume.superblock.block_offset(extent.physical, logical - extent.logical))
        .transpose()?
        .map(|byte| byte / 512);
    if Some(fields.u64(HEADER_BLKNO)?) != expected_daddr
        || fields.u64(HEADER_OWNER)? != owner
        || fields.slice(HEADER_UUID, 16)? != volume.superblock.metadata_uuid
    {
        return Err(FsError::Corrupt(format!(
            "directory inode {owner} block at offset {start} belongs elsewhere (blkno, owner or UUID)"
        )));
    }
    Ok(())
}

/// Parse one directory data block (block form or data form), appending its entries.
pub fn parse_data_block(
    block: &[u8],
    has_crc: bool,
    has_file_type: bool,
    entries: &mut Vec<RawEntry>,
) -> Result<(), FsError> {
    let fields = Fields::new(block, "directory data block");
    let magic = fields.u32(0)?;
    let (header, single) = match (magic, has_crc) {
        (BLOCK_MAGIC_V4, false) => (DATA_HEADER_V4, true),
        (DATA_MAGIC_V4, false) => (DATA_HEADER_V4, false),
        (BLOCK_MAGIC_V5, true) => (DATA_HEADER_V5, true),
        (DATA_MAGIC_V5, true) => (DATA_HEADER_V5, false),
        _ => return Err(fields.corrupt(format!("bad magic {magic:#010x}"))),
    };
    if has_crc && !crc32c::verify(block, HEADER_CRC) {
        return Err(fields.corrupt("CRC mismatch"));
    }
    // A single-block directory ends with its leaf array and a tail (count, stale).
    let end = if single {
        let tail = block.len().checked_sub(8).ok_or_else(|| fields.corrupt("too small"))?;
        let leaf_count = fields.u32(tail)? as usize;
        leaf_count
            .checked_mul(8)
            .and_then(|leaf_bytes| tail.checked_sub(leaf_bytes))
            .filter(|&end| end >= header)
            .ok_or_else(|| fields.corrupt(format!("{leaf_count} leaf entries do not fit")))?
    } else {
        block.len()
    };
    let mut position = header;
    while position < end {
        if fields.u16(position)? == FREE_TAG {
            let length = usize::from(fields.u16(position + 2)?);
            if length == 0 || length % 8 != 0 || position + length > end {
                return Err(fields.corrupt(format!("free region of {length} bytes at offset {position}")));
            }
            position += length;
            continue;
        }
        // inumber (8), namelen (1), name, ftype (1, optional), padding, tag (2); 8-aligned.
        let inode = fields.u64(position)?;
        let name_length = usize::from(fields.u8(position + 8)?);
        if name_length == 0 {
            return Err(fields.corrupt(format!("empty name at offset {position}")));
        }
        let name = fields.slice(position + 9, name_length)?;
        let file_type = if has_file_type { entry_type(fields.u8(position + 9 + name_length)?) } else { None };
        let length = (9 + name_length + usize::from(has_file_type) + 2).next_multiple_of(8);
        if position + length > end {
            return Err(fields.corrupt(format!("entry at offset {position} runs past the data area")));
        }
        if name != b"." && name != b".." {
            entries.push(RawEntry { name: name.to_vec(), inode, file_type });
        }
        position += length;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A v5 data block of `size` bytes holding `names` (ftype regular), CRC sealed.
    fn data_block(size: usize, names: &[&[u8]], single: bool) -> Vec<u8> {
        let mut block = vec![0u8; size];
        let magic = if single { BLOCK_MAGIC_V5 } else { DATA_MAGIC_V5 };
        block[..4].copy_from_slice(&magic.to_be_bytes());
        let mut position = DATA_HEADER_V5;
        for (index, name) in names.iter().enumerate() {
            block[position..position + 8].copy_from_slice(&(1000 + index as u64).to_be_bytes());
            block[position + 8] = name.len() as u8;
            block[position + 9..position + 9 + name.len()].copy_from_slice(name);
            block[position + 9 + name.len()] = 1;
            position += (9 + name.len() + 1 + 2).next_multiple_of(8);
        }
        let end = if single { size - 8 - 8 * names.len() } else { size };
        if single {
            block[size - 8..size - 4].copy_from_slice(&(names.len() as u32).to_be_bytes());
        }
        block[position..position + 2].copy_from_slice(&FREE_TAG.to_be_bytes());
        block[position + 2..position + 4].copy_from_slice(&((end - position) as u16).to_be_bytes());
        seal(&mut block);
        block
    }

    fn seal(block: &mut [u8]) {
        block[HEADER_CRC..HEADER_CRC + 4].copy_from_slice(&[0; 4]);
        let crc = crc32c::checksum(block);
        block[HEADER_CRC..HEADER_CRC + 4].copy_from_slice(&crc.to_le_bytes());
    }

    #[test]
    fn data_blocks_valid_empty_truncated_garbage() {
        for single in [true, false] {
            let block = data_block(4096, &[b".", b"..", b"passwd", b"a-much-longer-name.conf"], single);
            let mut entries = Vec::new();
            parse_data_block(&block, true, true, &mut entries).unwrap();
            let names: Vec<&[u8]> = entries.iter().map(|entry| entry.name.as_slice()).collect();
            assert_eq!(names, [b"passwd".as_slice(), b"a-much-longer-name.conf"]);
            assert_eq!(entries[0].inode, 1002);
            assert_eq!(entries[0].file_type, Some(FileType::Regular));

            let empty = data_block(4096, &[], single);
            let mut entries = Vec::new();
            parse_data_block(&empty, true, true, &mut entries).unwrap();
            assert!(entries.is_empty());

            assert!(parse_data_block(&block[..2000], true, true, &mut Vec::new()).is_err(), "truncated");
            let mut flipped = block.clone();
            flipped[100] ^= 4;
            assert!(
                matches!(parse_data_block(&flipped, true, true, &mut Vec::new()), Err(FsError::Corrupt(message)) if message.contains("CRC"))
            );
        }
        assert!(parse_data_block(&[0x33; 4096], true, true, &mut Vec::new()).is_err(), "garbage");
        assert!(parse_data_block(&[], true, true, &mut Vec::new()).is_err());
        // A free region that claims zero bytes must not spin forever.
        let mut looping = data_block(4096, &[], false);
        looping[DATA_HEADER_V5 + 2..DATA_HEADER_V5 + 4].copy_from_slice(&0u16.to_be_bytes());
        seal(&mut looping);
        assert!(parse_data_block(&looping, true, true, &mut Vec::new()).is_err());
    }

    #[test]
    fn short_form_valid_empty_truncated_garbage() {
        // count 2, i8count 0, parent 128; "etc" (ftype dir) -> 131, "x" (ftype reg) -> 0x1234.
        let mut fork = vec![2u8, 0, 0, 0, 0, 128];
        fork.extend_from_slice(&[3, 0, 0x30, b'e', b't', b'c', 2, 0, 0, 0, 131]);
        fork.extend_from_slice(&[1, 0, 0x40, b'x', 1, 0, 0, 0x12, 0x34]);
        let entries = short_form(&fork, fork.len() as u64, true).unwrap();
        assert_eq!(
            entries,
            [
                RawEntry { name: b"etc".to_vec(), inode: 131, file_type: Some(FileType::Directory) },
                RawEntry { name: b"x".to_vec(), inode: 0x1234, file_type: Some(FileType::Regular) },
            ]
        );
        // Without ftype, 8-byte inode numbers.
        let mut wide = vec![1u8, 1, 0, 0, 0, 0, 0, 0, 0, 128];
        wide.extend_from_slice(&[1, 0, 0x30, b'y', 0, 0, 0, 1, 0, 0, 0, 5]);
        assert_eq!(short_form(&wide, wide.len() as u64, false).unwrap()[0].inode, (1 << 32) | 5);
        assert!(short_form(&[0, 0, 0, 0, 0, 128], 6, true).unwrap().is_empty(), "empty");
        assert!(short_form(&fork, fork.len() as u64 - 3, true).is_err(), "truncated");
        assert!(short_form(&fork, 10_000, true).is_err(), "size past the fork");
        assert!(short_form(&[255; 40], 40, true).is_err(), "garbage");
    }
}
