//! Is the log clean? The snapshot of a running machine usually is not: metadata changed
//! in its last seconds may still be only in the log. The log is **not replayed** here;
//! an unclean log becomes a warning on the partition, and the reader shows the on-disk
//! metadata as it stands (which XFS keeps consistent up to the last checkpoint).
//!
//! Finding that out reads a few dozen 512-byte log blocks: a binary search for the head
//! on the cycle numbers stamped into every block (as `xlog_find_head` does), then the last
//! record header before it, which for a clean log is the unmount record.

use super::Volume;
use super::fields::Fields;
use crate::fs::FsError;

/// Log blocks are addressed in 512-byte basic blocks.
const BASIC_BLOCK: u64 = 512;
/// `XLOG_HEADER_MAGIC_NUM`.
const RECORD_MAGIC: u32 = 0xFEED_BABE;
const H_CYCLE: usize = 4;
const H_VERSION: usize = 8;
const H_NUM_LOGOPS: usize = 40;
const H_SIZE: usize = 320;
/// `XLOG_HEADER_CYCLE_SIZE`: each header block covers this much of a v2 record.
const HEADER_CYCLE_SIZE: u32 = 32 * 1024;
/// `oh_flags` in `xlog_op_header`.
const OH_FLAGS: usize = 9;
/// `XLOG_UNMOUNT_TRANS`.
const UNMOUNT_TRANS: u8 = 0x20;
/// How far back from the head a record header may be (the largest v2 record is 256 KiB,
/// and its headers take a few more blocks).
const MAX_RECORD_BLOCKS: u64 = 2 * 512 + 16;

/// What the log says about how the filesystem was last left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogState {
    /// The last record is an unmount record: nothing to replay.
    Clean,
    /// The filesystem was not unmounted cleanly (a live snapshot, a crash).
    Unclean,
    /// The log is on another device, which we do not have.
    External,
    /// The log could not be understood; why.
    Undetermined(String),
}

impl LogState {
    /// The warning to attach to the partition, if any.
    pub fn warning(&self) -> Option<String> {
        match self {
            Self::Clean => None,
            Self::Unclean => {
                Some("XFS log not replayed; changes in the last seconds before the snapshot may be missing".to_string())
            }
            Self::External => Some(
                "XFS log is on an external device; whether it needs replay is unknown and it is not replayed"
                    .to_string(),
            ),
            Self::Undetermined(why) => {
                Some(format!("XFS log state unknown ({why}); it is not replayed, so recent changes may be missing"))
            }
        }
    }
}

/// Inspect the internal log.
pub fn state(volume: &Volume) -> LogState {
    if volume.superblock.log_start == 0 {
        return LogState::External;
    }
    inspect(volume).unwrap_or_else(|error| LogState::Undetermined(error.to_string()))
}

struct Log<'a> {
    volume: &'a Volume,
    offset: u64,
    blocks: u64,
}

impl Log<'_> {
    fn block(&self, index: u64) -> Result<Vec<u8>, FsError> {
        self.volume.read(self.offset + (index % self.blocks) * BASIC_BLOCK, BASIC_BLOCK as usize)
    }

    /// The cycle a block was last written in: `h_cycle` of a record header, else the
    /// cycle number stamped over the block's first word.
    fn cycle(&self, index: u64) -> Result<u32, FsError> {
        let block = self.block(index)?;
        let fields = Fields::new(&block, "log block");
        let first = fields.u32(0)?;
        if first == RECORD_MAGIC { fields.u32(H_CYCLE) } else { Ok(first) }
    }
}

fn inspect(volume: &Volume) -> Result<LogState, FsError> {
    let superblock = &volume.superblock;
    let log_blocks = u64::from(superblock.log_blocks);
    if log_blocks == 0 {
        return Ok(LogState::Undetermined("empty log".to_string()));
    }
    // Both ends of the log must lie inside one allocation group.
    superblock.block_offset(superblock.log_start, log_blocks - 1)?;
    let log = Log {
        volume,
        offset: superblock.block_offset(superblock.log_start, 0)?,
        blocks: log_blocks << (superblock.block_log - 9),
    };
    let first_cycle = log.cycle(0)?;
    let last_cycle = log.cycle(log.blocks - 1)?;
    // Blocks before the head carry the current cycle, blocks after it the previous one;
    // when both ends agree the whole log was written in one cycle and the head is at its end.
    let head = if first_cycle == last_cycle {
        log.blocks
    } else {
        let (mut low, mut high) = (0u64, log.blocks - 1);
        while high - low > 1 {
            let middle = low + (high - low) / 2;
            if log.cycle(middle)? == last_cycle {
                high = middle;
            } else {
                low = middle;
            }
        }
        high
    };
    // The last record header before the head.
    let search = MAX_RECORD_BLOCKS.min(log.blocks);
    for back in 1..=search {
        let index = (head + log.blocks - back) % log.blocks;
        let block = log.block(index)?;
        let header = Fields::new(&block, "log record header");
        if header.u32(0)? != RECORD_MAGIC {
            continue;
        }
        let size = header.u32(H_SIZE)?;
        let header_blocks = if header.u32(H_VERSION)? & 2 != 0 && size > HEADER_CYCLE_SIZE {
            u64::from(size.div_ceil(HEADER_CYCLE_SIZE))
        } else {
            1
        };
        if header.u32(H_NUM_LOGOPS)? != 1 {
            return Ok(LogState::Unclean);
        }
        let operation = log.block(index + header_blocks)?;
        let flags = Fields::new(&operation, "log operation header").u8(OH_FLAGS)?;
        return Ok(if flags & UNMOUNT_TRANS != 0 { LogState::Clean } else { LogState::Unclean });
    }
    Ok(LogState::Undetermined(format!("no record header within {search} blocks of the head")))
}

#[cfg(test)]
mod tests {
    use super::super::superblock::{self, Superblock};
    use super::*;
    use std::sync::Arc;

    const LOG_START_BLOCK: u64 = 16;
    /// 8 filesystem blocks of 4 KiB: 64 basic blocks.
    const LOG_BLOCKS: u32 = 8;

    /// A volume whose log has been written up to basic block `head` in cycle 2 (cycle 1
    /// after it), with a one-operation record at `head - 2` whose operation has `flags`.
    fn volume(head: u64, flags: u8) -> Volume {
        let mut sector = superblock::tests::sample(512);
        sector[48..56].copy_from_slice(&LOG_START_BLOCK.to_be_bytes());
        sector[96..100].copy_from_slice(&LOG_BLOCKS.to_be_bytes());
        superblock::tests::seal(&mut sector);
        let superblock = Superblock::parse(&sector).unwrap();
        let log_offset = (LOG_START_BLOCK * 4096) as usize;
        let mut bytes = vec![0u8; log_offset + LOG_BLOCKS as usize * 4096];
        for block in 0..64u64 {
            let cycle: u32 = if block < head { 2 } else { 1 };
            let at = log_offset + block as usize * 512;
            bytes[at..at + 4].copy_from_slice(&cycle.to_be_bytes());
        }
        let header = log_offset + (head as usize - 2) * 512;
        bytes[header..header + 4].copy_from_slice(&RECORD_MAGIC.to_be_bytes());
        bytes[header + H_CYCLE..header + H_CYCLE + 4].copy_from_slice(&2u32.to_be_bytes());
        bytes[header + H_VERSION..header + H_VERSION + 4].copy_from_slice(&2u32.to_be_bytes());
        bytes[header + H_NUM_LOGOPS..header + H_NUM_LOGOPS + 4].copy_from_slice(&1u32.to_be_bytes());
        bytes[header + H_SIZE..header + H_SIZE + 4].copy_from_slice(&32768u32.to_be_bytes());
        bytes[header + 512 + OH_FLAGS] = flags;
        Volume::new(Arc::new(bytes), superblock)
    }

    #[test]
    fn finds_the_head_of_a_wrapped_log_and_reads_the_last_record() {
        for head in [3, 20, 37, 63] {
            assert_eq!(state(&volume(head, UNMOUNT_TRANS)), LogState::Clean, "head {head}");
            assert_eq!(state(&volume(head, 0)), LogState::Unclean, "head {head}");
        }
        assert!(LogState::Clean.warning().is_none());
        assert!(LogState::Unclean.warning().unwrap().starts_with("XFS log not replayed"));
    }

    #[test]
    fn garbage_and_missing_logs_are_undetermined_not_errors() {
        let mut volume = volume(20, UNMOUNT_TRANS);
        let log = (LOG_START_BLOCK * 4096) as usize;
        // Wipe the record header: no header before the head.
        let mut bytes = vec![0u8; log + LOG_BLOCKS as usize * 4096];
        bytes[log..log + 4].copy_from_slice(&2u32.to_be_bytes());
        volume.source = Arc::new(bytes);
        assert!(matches!(state(&volume), LogState::Undetermined(_)));
        // A log past the end of the device.
        volume.source = Arc::new(vec![0u8; 4096]);
        assert!(matches!(state(&volume), LogState::Undetermined(why) if why.contains("past the end")));
        volume.superblock.log_start = 0;
        assert_eq!(state(&volume), LogState::External);
    }
}
