//! Symlink targets: inline in the inode (local format) or in remote blocks, which on v5
//! carry an `xfs_dsymlink_hdr` (magic, offset, length, CRC, owner) per extent.

use super::Volume;
use super::crc32c;
use super::extents;
use super::fields::Fields;
use super::inode::{ForkFormat, Inode};
use crate::fs::FsError;

/// `XFS_SYMLINK_MAXLEN`: targets are at most 1024 bytes.
pub const MAX_LENGTH: u64 = 1024;
/// `XSLM`.
const MAGIC: u32 = 0x5853_4C4D;
/// Size of `xfs_dsymlink_hdr`.
const HEADER: usize = 56;
const SL_OFFSET: usize = 4;
const SL_BYTES: usize = 8;
const SL_CRC: usize = 12;
const SL_OWNER: usize = 32;
const SL_UUID: usize = 16;
const SL_BLKNO: usize = 40;

/// The target of symlink `inode`.
pub fn target(volume: &Volume, inode: &Inode) -> Result<Vec<u8>, FsError> {
    let corrupt = |message: String| FsError::Corrupt(format!("symlink inode {}: {message}", inode.number));
    if inode.size == 0 || inode.size > MAX_LENGTH {
        return Err(corrupt(format!("target length {}", inode.size)));
    }
    let length = inode.size as usize;
    match inode.format {
        ForkFormat::Local => inode
            .data_fork
            .get(..length)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| corrupt("inline target is longer than its fork".to_string())),
        ForkFormat::Extents | ForkFormat::Btree => {
            let superblock = &volume.superblock;
            let map = extents::map(volume, inode)?;
            let mut target = Vec::with_capacity(length);
            for extent in &map {
                if target.len() >= length {
                    break;
                }
                // A remote target spans at most a few blocks (1024 bytes in 1 KiB blocks).
                let bytes_in_extent = (extent.length <= 4).then(|| extent.length << superblock.block_log);
                let bytes_in_extent =
                    bytes_in_extent.ok_or_else(|| corrupt(format!("extent of {} blocks", extent.length)))? as usize;
                let offset = superblock
                    .block_offset(extent.physical, extent.length - 1)
                    .and_then(|_| superblock.block_offset(extent.physical, 0))?;
                let buffer = volume.read(offset, bytes_in_extent)?;
                let fields = Fields::new(&buffer, "symlink block");
                let mut data = buffer.as_slice();
                let wanted = length - target.len();
                if superblock.has_crc() {
                    if fields.u32(0)? != MAGIC || !crc32c::verify(&buffer, SL_CRC) {
                        return Err(corrupt("remote block has a bad magic or CRC".to_string()));
                    }
                    let expected = (target.len() as u32, wanted.min(bytes_in_extent - HEADER) as u32);
                    if (fields.u32(SL_OFFSET)?, fields.u32(SL_BYTES)?) != expected
                        || fields.u64(SL_OWNER)? != inode.number
                        || fields.u64(SL_BLKNO)? != offset / 512
                        || fields.slice(SL_UUID, 16)? != superblock.metadata_uuid
                    {
                        return Err(corrupt("remote block header does not describe this link".to_string()));
                    }
                    data = data.get(HEADER..).unwrap_or_default();
                }
                target.extend_from_slice(data.get(..wanted.min(data.len())).unwrap_or_default());
            }
            if target.len() != length {
                return Err(corrupt(format!("remote blocks hold {} of {length} bytes", target.len())));
            }
            Ok(target)
        }
        ForkFormat::Device => Err(corrupt("device fork".to_string())),
    }
}
