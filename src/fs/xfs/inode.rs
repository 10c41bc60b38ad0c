//! Inodes (`struct xfs_dinode`, versions 1 to 3) and their data forks.
//!
//! An inode is read alone (one `sb_inodesize` read), never its whole cluster, because the
//! walk touches inodes one directory entry at a time. The data fork is kept raw; its format
//! (local, extents, B+tree) is interpreted by [`super::extents`], [`super::directory`] and
//! [`super::symlink`]. The attribute fork is skipped by honouring `di_forkoff`.

use super::crc32c;
use super::fields::Fields;
use super::superblock::Superblock;
use crate::fs::{FileType, FsError};

/// `IN`.
const MAGIC: u16 = 0x494E;
const DI_MODE: usize = 2;
const DI_VERSION: usize = 4;
const DI_FORMAT: usize = 5;
const DI_UID: usize = 8;
const DI_GID: usize = 12;
const DI_BIG_NEXTENTS: usize = 24;
const DI_ATIME: usize = 32;
const DI_MTIME: usize = 40;
const DI_CTIME: usize = 48;
const DI_SIZE: usize = 56;
const DI_NBLOCKS: usize = 64;
const DI_NEXTENTS: usize = 76;
const DI_FORKOFF: usize = 82;
const DI_FLAGS: usize = 90;
/// `di_crc` (v3 only), little-endian, covering the whole inode.
const DI_CRC: usize = 100;
const DI_FLAGS2: usize = 120;
const DI_INO: usize = 152;
const DI_UUID: usize = 160;
/// Size of the v1/v2 inode core; the data fork follows it.
const CORE_SIZE_V2: usize = 100;
/// Size of the v3 inode core.
const CORE_SIZE_V3: usize = 176;

const DIFLAG_REALTIME: u16 = 0x0001;
const DIFLAG2_BIGTIME: u64 = 1 << 3;
const DIFLAG2_NREXT64: u64 = 1 << 4;

/// Seconds between the bigtime epoch and the Unix epoch (`XFS_BIGTIME_EPOCH_OFFSET`).
const BIGTIME_EPOCH_OFFSET: i64 = 1 << 31;

/// How the data fork stores its contents (`di_format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForkFormat {
    /// Device number (special files).
    Device,
    /// Contents inside the inode (short directories, short symlinks).
    Local,
    /// An array of extent records inside the inode.
    Extents,
    /// The root of a bmbt B+tree inside the inode.
    Btree,
}

/// The inode fields the reader uses.
#[derive(Clone, Debug)]
pub struct Inode {
    /// Inode number.
    pub number: u64,
    /// `di_mode`: type and permission bits.
    pub mode: u16,
    /// Data fork format.
    pub format: ForkFormat,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Blocks used, including bmbt blocks (an upper bound for extent counts).
    pub blocks: u64,
    /// Extents in the data fork.
    pub data_extents: u64,
    /// True for files on the realtime device.
    pub realtime: bool,
    /// Access, modification and change times: seconds and nanoseconds since the epoch.
    pub times: [(i64, u32); 3],
    /// Raw data fork bytes (`XFS_DFORK_DSIZE`).
    pub data_fork: Vec<u8>,
}

impl Inode {
    /// Parse inode `number` from its `sb_inodesize` bytes, checking the v3 CRC, number
    /// and UUID, and the fork layout.
    pub fn parse(superblock: &Superblock, number: u64, bytes: &[u8]) -> Result<Self, FsError> {
        let fields = Fields::new(bytes, "inode");
        let corrupt = |message: String| FsError::Corrupt(format!("inode {number}: {message}"));
        if fields.u16(0)? != MAGIC {
            return Err(corrupt("bad magic".to_string()));
        }
        let version = fields.u8(DI_VERSION)?;
        let core_size = match (version, superblock.has_crc()) {
            (1 | 2, false) => CORE_SIZE_V2,
            (3, true) => CORE_SIZE_V3,
            _ => {
                return Err(corrupt(format!("inode version {version} on a v{} filesystem", superblock.version)));
            }
        };
        let mut flags2 = 0;
        if version == 3 {
            if !crc32c::verify(bytes, DI_CRC) {
                return Err(corrupt("CRC mismatch".to_string()));
            }
            if fields.u64(DI_INO)? != number {
                return Err(corrupt(format!("records itself as inode {}", fields.u64(DI_INO)?)));
            }
            if fields.slice(DI_UUID, 16)? != superblock.metadata_uuid {
                return Err(corrupt("belongs to another filesystem (UUID mismatch)".to_string()));
            }
            flags2 = fields.u64(DI_FLAGS2)?;
        }
        let format = match fields.u8(DI_FORMAT)? {
            0 => ForkFormat::Device,
            1 => ForkFormat::Local,
            2 => ForkFormat::Extents,
            3 => ForkFormat::Btree,
            other => return Err(corrupt(format!("unknown data fork format {other}"))),
        };
        let data_extents = if flags2 & DIFLAG2_NREXT64 != 0 {
            fields.u64(DI_BIG_NEXTENTS)?
        } else {
            u64::from(fields.u32(DI_NEXTENTS)?)
        };
        let literal = bytes
            .len()
            .checked_sub(core_size)
            .filter(|&length| length > 0)
            .ok_or_else(|| corrupt("inode too small".to_string()))?;
        let fork_offset = usize::from(fields.u8(DI_FORKOFF)?) * 8;
        let data_fork_size = match fork_offset {
            0 => literal,
            offset if offset < literal => offset,
            offset => {
                return Err(corrupt(format!("attribute fork offset {offset} is past the {literal}-byte literal area")));
            }
        };
        let bigtime = flags2 & DIFLAG2_BIGTIME != 0;
        let time = |offset: usize| -> Result<(i64, u32), FsError> {
            if bigtime {
                let nanoseconds = fields.u64(offset)?;
                let seconds = i64::try_from(nanoseconds / 1_000_000_000).unwrap_or(i64::MAX) - BIGTIME_EPOCH_OFFSET;
                Ok((seconds, u32::try_from(nanoseconds % 1_000_000_000).unwrap_or(0)))
            } else {
                Ok((i64::from(fields.u32(offset)? as i32), fields.u32(offset + 4)?))
            }
        };
        Ok(Self {
            number,
            mode: fields.u16(DI_MODE)?,
            format,
            uid: fields.u32(DI_UID)?,
            gid: fields.u32(DI_GID)?,
            size: fields.u64(DI_SIZE)?,
            blocks: fields.u64(DI_NBLOCKS)?,
            data_extents,
            realtime: fields.u16(DI_FLAGS)? & DIFLAG_REALTIME != 0,
            times: [time(DI_ATIME)?, time(DI_MTIME)?, time(DI_CTIME)?],
            data_fork: fields.slice(core_size, data_fork_size)?.to_vec(),
        })
    }

    /// The object type from `di_mode`.
    pub fn file_type(&self) -> Result<FileType, FsError> {
        mode_type(self.mode).ok_or_else(|| {
            FsError::Corrupt(format!("inode {}: unknown file type in mode {:o}", self.number, self.mode))
        })
    }
}

/// The object type encoded in the `S_IFMT` bits of a mode.
pub fn mode_type(mode: u16) -> Option<FileType> {
    Some(match mode & 0o170_000 {
        0o100_000 => FileType::Regular,
        0o040_000 => FileType::Directory,
        0o120_000 => FileType::Symlink,
        0o020_000 => FileType::CharDevice,
        0o060_000 => FileType::BlockDevice,
        0o010_000 => FileType::Fifo,
        0o140_000 => FileType::Socket,
        _ => return None,
    })
}

#[cfg(test)]
pub mod tests {
    use super::super::superblock::{self, Superblock};
    use super::*;

    /// A v3 inode of `inode_size` bytes with the given mode, format and data fork start,
    /// CRC sealed; `edit` runs before sealing.
    pub fn sample(
        superblock: &Superblock,
        number: u64,
        mode: u16,
        format: u8,
        edit: impl FnOnce(&mut Vec<u8>),
    ) -> Vec<u8> {
        let mut bytes = vec![0u8; usize::from(superblock.inode_size)];
        bytes[0..2].copy_from_slice(&MAGIC.to_be_bytes());
        bytes[DI_MODE..DI_MODE + 2].copy_from_slice(&mode.to_be_bytes());
        bytes[DI_VERSION] = 3;
        bytes[DI_FORMAT] = format;
        bytes[DI_INO..DI_INO + 8].copy_from_slice(&number.to_be_bytes());
        bytes[DI_UUID..DI_UUID + 16].copy_from_slice(&superblock.metadata_uuid);
        edit(&mut bytes);
        seal(&mut bytes);
        bytes
    }

    /// Recompute an inode's CRC.
    pub fn seal(bytes: &mut [u8]) {
        bytes[DI_CRC..DI_CRC + 4].copy_from_slice(&[0; 4]);
        let crc = crc32c::checksum(bytes);
        bytes[DI_CRC..DI_CRC + 4].copy_from_slice(&crc.to_le_bytes());
    }

    fn superblock() -> Superblock {
        Superblock::parse(&superblock::tests::sample(512)).unwrap()
    }

    #[test]
    fn parses_a_v3_inode_and_its_fork_layout() {
        let superblock = superblock();
        let bytes = sample(&superblock, 131, 0o100_644, 2, |bytes| {
            bytes[DI_SIZE..DI_SIZE + 8].copy_from_slice(&5000u64.to_be_bytes());
            bytes[DI_NEXTENTS..DI_NEXTENTS + 4].copy_from_slice(&2u32.to_be_bytes());
            bytes[DI_FORKOFF] = 3;
            bytes[DI_MTIME..DI_MTIME + 4].copy_from_slice(&1_700_000_000u32.to_be_bytes());
        });
        let inode = Inode::parse(&superblock, 131, &bytes).unwrap();
        assert_eq!(inode.file_type().unwrap(), FileType::Regular);
        assert_eq!((inode.size, inode.data_extents, inode.format), (5000, 2, ForkFormat::Extents));
        assert_eq!(inode.data_fork.len(), 24, "di_forkoff 3 leaves 24 bytes to the data fork");
        assert_eq!(inode.times[1], (1_700_000_000, 0));
    }

    #[test]
    fn bigtime_and_large_extent_counters() {
        let superblock = superblock();
        let bytes = sample(&superblock, 131, 0o100_644, 3, |bytes| {
            bytes[DI_FLAGS2..DI_FLAGS2 + 8].copy_from_slice(&(DIFLAG2_BIGTIME | DIFLAG2_NREXT64).to_be_bytes());
            bytes[DI_BIG_NEXTENTS..DI_BIG_NEXTENTS + 8].copy_from_slice(&(1u64 << 40).to_be_bytes());
            let stamp = (BIGTIME_EPOCH_OFFSET as u64 + 10) * 1_000_000_000 + 7;
            bytes[DI_MTIME..DI_MTIME + 8].copy_from_slice(&stamp.to_be_bytes());
        });
        let inode = Inode::parse(&superblock, 131, &bytes).unwrap();
        assert_eq!(inode.data_extents, 1 << 40);
        assert_eq!(inode.times[1], (10, 7));
    }

    #[test]
    fn refuses_bad_crc_wrong_number_bad_fork_and_garbage() {
        let superblock = superblock();
        let mut bytes = sample(&superblock, 131, 0o040_755, 1, |_| {});
        bytes[300] ^= 0x40;
        assert!(
            matches!(Inode::parse(&superblock, 131, &bytes), Err(FsError::Corrupt(message)) if message.contains("CRC"))
        );
        let bytes = sample(&superblock, 131, 0o040_755, 1, |_| {});
        assert!(Inode::parse(&superblock, 132, &bytes).is_err(), "an inode must record its own number");
        let bytes = sample(&superblock, 131, 0o040_755, 1, |bytes| bytes[DI_FORKOFF] = 255);
        assert!(Inode::parse(&superblock, 131, &bytes).is_err());
        let bytes = sample(&superblock, 131, 0o040_755, 9, |_| {});
        assert!(Inode::parse(&superblock, 131, &bytes).is_err());
        assert!(Inode::parse(&superblock, 131, &bytes[..120]).is_err());
        assert!(Inode::parse(&superblock, 131, &[]).is_err());
        assert!(Inode::parse(&superblock, 131, &[0xA5; 512]).is_err());
        let bytes = sample(&superblock, 131, 0o000_755, 1, |_| {});
        assert!(Inode::parse(&superblock, 131, &bytes).unwrap().file_type().is_err());
    }
}
