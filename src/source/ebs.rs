//! An EBS snapshot read in place through the EBS direct API, as a [`ReadAt`].
//!
//! A snapshot is a sparse array of 512 KiB blocks. `ListSnapshotBlocks` (paginated) gives
//! the map of allocated blocks and their short-lived tokens; blocks not in the map read as
//! zeros without a call. `GetSnapshotBlock` fetches one block: its SHA-256 is verified here
//! (the SDK does not), and throttling, 5xx, connection failures, short bodies and bad
//! checksums are retried with jittered exponential backoff up to a budget; an expired
//! token re-lists the map once for every caller waiting on it. Each fetch costs tens of
//! milliseconds, so blocks live in a bounded, shared LRU cache with single-flight per block,
//! many fetches run at once (bounded by a semaphore), multi-block reads fetch their blocks
//! concurrently, and sequential reads trigger a small readahead.
//!
//! The SDK is async; [`ReadAt`] is sync and called from plain walk threads, so the source
//! holds a handle on a tokio runtime (shared by every source of one AWS session) and
//! `block_on`s it. AWS SDK types stay in this file and `aws/`.

use super::{Prefetched, ReadAt, ReadCounters, check_range};
use aws_sdk_ebs::Client;
use aws_sdk_ebs::config::http::HttpResponse;
use aws_sdk_ebs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ebs::operation::get_snapshot_block::GetSnapshotBlockError;
use aws_sdk_ebs::types::ValidationExceptionReason;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio::sync::{OnceCell, Semaphore};

/// The EBS direct API block size (the only one AWS uses).
pub const EBS_BLOCK_SIZE: u64 = 524_288;

/// Largest page `ListSnapshotBlocks` accepts.
const LIST_PAGE_SIZE: i32 = 10_000;

/// Largest volume EBS supports (64 TiB); a listing claiming more is corrupt.
const MAXIMUM_VOLUME_GIB: i64 = 65_536;

/// Pages of a listing we follow before calling it a loop (64 TiB / 512 KiB / 10,000 + slack).
const MAXIMUM_LIST_PAGES: usize = 16_384;

/// Tunables of one snapshot source.
#[derive(Clone, Debug)]
pub struct EbsOptions {
    /// Block fetches in flight at once for this source.
    pub concurrency: usize,
    /// Blocks kept in the cache (each 512 KiB).
    pub cache_blocks: usize,
    /// Attempts per block (and per listing page) before giving up.
    pub attempts: u32,
    /// First backoff delay; doubled per attempt, with full jitter.
    pub backoff_base: Duration,
    /// Longest backoff delay.
    pub backoff_cap: Duration,
    /// Blocks fetched ahead of a sequential reader.
    pub readahead_blocks: u64,
    /// Once this is raised (a signal interrupted the run), reads fail at once.
    pub stop: Option<&'static AtomicBool>,
}

impl Default for EbsOptions {
    fn default() -> Self {
        Self {
            concurrency: 32,
            cache_blocks: 256,
            attempts: 8,
            backoff_base: Duration::from_millis(50),
            backoff_cap: Duration::from_secs(5),
            readahead_blocks: 4,
            stop: None,
        }
    }
}

/// Why a snapshot could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EbsError {
    /// The snapshot does not exist (or is not visible to these credentials).
    #[error("snapshot {snapshot_id}: not found: {message}")]
    NotFound {
        /// Snapshot id.
        snapshot_id: String,
        /// What AWS said.
        message: String,
    },
    /// The credentials may not read it.
    #[error("snapshot {snapshot_id}: access denied: {message}")]
    AccessDenied {
        /// Snapshot id.
        snapshot_id: String,
        /// What AWS said.
        message: String,
    },
    /// Listing the snapshot's blocks failed.
    #[error("snapshot {snapshot_id}: listing blocks failed after {attempts} attempts: {message}")]
    List {
        /// Snapshot id.
        snapshot_id: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        message: String,
    },
    /// The listing itself made no sense (untrusted input from the service).
    #[error("snapshot {snapshot_id}: invalid block listing: {message}")]
    InvalidListing {
        /// Snapshot id.
        snapshot_id: String,
        /// What was wrong.
        message: String,
    },
    /// The service refused a request for a reason retrying cannot fix.
    #[error("snapshot {snapshot_id}: {message}")]
    Service {
        /// Snapshot id.
        snapshot_id: String,
        /// What AWS said.
        message: String,
    },
    /// One block kept failing.
    #[error("snapshot {snapshot_id} block {block_index}: failed after {attempts} attempts: {message}")]
    Block {
        /// Snapshot id.
        snapshot_id: String,
        /// Block index.
        block_index: u64,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        message: String,
    },
}

/// What reading a snapshot cost, for the `Scan` statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EbsCounters {
    /// Blocks fetched and verified.
    pub blocks_fetched: u64,
    /// Bytes of verified block data fetched.
    pub bytes_fetched: u64,
    /// Allocated blocks in the snapshot.
    pub blocks_allocated: u64,
    /// `GetSnapshotBlock` calls, retries included.
    pub get_block_calls: u64,
    /// `ListSnapshotBlocks` calls, retries included.
    pub list_calls: u64,
    /// Calls retried (any operation).
    pub retries: u64,
    /// Blocks whose data did not match their checksum.
    pub checksum_failures: u64,
    /// Block reads served from the cache.
    pub cache_hits: u64,
}

impl EbsCounters {
    /// Add another source's counters to these.
    pub fn add(&mut self, other: &EbsCounters) {
        self.blocks_fetched = self.blocks_fetched.saturating_add(other.blocks_fetched);
        self.bytes_fetched = self.bytes_fetched.saturating_add(other.bytes_fetched);
        self.blocks_allocated = self.blocks_allocated.saturating_add(other.blocks_allocated);
        self.get_block_calls = self.get_block_calls.saturating_add(other.get_block_calls);
        self.list_calls = self.list_calls.saturating_add(other.list_calls);
        self.retries = self.retries.saturating_add(other.retries);
        self.checksum_failures = self.checksum_failures.saturating_add(other.checksum_failures);
        self.cache_hits = self.cache_hits.saturating_add(other.cache_hits);
    }

    /// EBS direct API cost in US dollars: $0.003 per 1,000 GetSnapshotBlock and $0.0006 per
    /// 1,000 List calls (us-east-1 list price).
    pub fn estimated_cost_usd(&self) -> f64 {
        // Counts far beyond 2^53 do not happen; the lossy conversion is fine for a price.
        let get = self.get_block_calls as f64;
        let list = self.list_calls as f64;
        get * 0.003 / 1000.0 + list * 0.0006 / 1000.0
    }
}

/// Live counters, updated from many tasks.
#[derive(Debug, Default)]
struct AtomicCounters {
    blocks_fetched: AtomicU64,
    bytes_fetched: AtomicU64,
    get_block_calls: AtomicU64,
    list_calls: AtomicU64,
    retries: AtomicU64,
    checksum_failures: AtomicU64,
    cache_hits: AtomicU64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

/// Allocated blocks and their tokens, with a generation bumped on every re-list so that
/// many callers failing on the same expired token cause one re-list.
#[derive(Debug, Default)]
struct BlockMap {
    tokens: HashMap<u64, String>,
    generation: u64,
}

/// One cached (or loading) block.
struct CacheEntry {
    cell: Arc<OnceCell<Arc<Vec<u8>>>>,
    last_used: u64,
}

/// Bounded LRU of blocks; a loading block is shared by every reader that wants it.
struct BlockCache {
    capacity: usize,
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    entries: HashMap<u64, CacheEntry>,
    clock: u64,
}

impl BlockCache {
    fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), state: Mutex::new(CacheState::default()) }
    }

    /// The cell for `index` (new and empty when the block is not cached), evicting the
    /// least recently used loaded block when over capacity. Loading blocks are never
    /// evicted, so at most `capacity + fetches in flight` blocks are in memory.
    fn cell(&self, index: u64) -> Arc<OnceCell<Arc<Vec<u8>>>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.clock = state.clock.wrapping_add(1);
        let now = state.clock;
        if let Some(entry) = state.entries.get_mut(&index) {
            entry.last_used = now;
            return Arc::clone(&entry.cell);
        }
        if state.entries.len() >= self.capacity {
            let victim = state
                .entries
                .iter()
                .filter(|(_, entry)| entry.cell.initialized())
                .min_by_key(|(_, entry)| entry.last_used)
                .map(|(index, _)| *index);
            if let Some(victim) = victim {
                state.entries.remove(&victim);
            }
        }
        let cell = Arc::new(OnceCell::new());
        state.entries.insert(index, CacheEntry { cell: Arc::clone(&cell), last_used: now });
        cell
    }

    /// Forget a block whose load failed, so the next reader starts afresh.
    fn forget_failed(&self, index: u64) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.entries.get(&index).is_some_and(|entry| !entry.cell.initialized()) {
            state.entries.remove(&index);
        }
    }

    /// Block `index` if it is cached and loaded, without counting as a use.
    fn loaded(&self, index: u64) -> Option<Arc<Vec<u8>>> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.entries.get(&index).and_then(|entry| entry.cell.get()).map(Arc::clone)
    }

    fn is_cached(&self, index: u64) -> bool {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.entries.contains_key(&index)
    }
}

/// Granularity of the pages kept for prefetch guards (a filesystem block, at most).
const HELD_PAGE_SIZE: u64 = 4096;

/// Most pages kept for prefetch guards at once (32 MiB).
const MAXIMUM_HELD_PAGES: usize = 8192;

/// Most of those kept for guards that fetch nothing ([`ReadAt::keep`]): half, so the
/// directories waiting to be listed leave room for the ones being listed.
const MAXIMUM_KEPT_PAGES: usize = MAXIMUM_HELD_PAGES / 2;

/// Pages of hinted ranges, kept while a prefetch guard holds them. The block cache keeps a
/// fraction of a second of fetches at full concurrency, and a large directory's listing
/// (`/usr/share/man/man1`: 1 MiB of directory blocks spread over 75 MiB of disk, between
/// the files written into it) reads its blocks over a second or more; keeping whole 512 KiB
/// blocks for it would take 70 MiB, its own pages take 8.
#[derive(Default)]
struct HeldPages {
    state: Mutex<HeldState>,
    /// Pages held, readable without the lock (reads skip the store when it is empty).
    count: AtomicUsize,
}

#[derive(Default)]
struct HeldState {
    pages: HashMap<u64, HeldPage>,
    /// Per block, its held pages still without bytes: any read of the block fills them.
    empty_in_block: HashMap<u64, usize>,
}

struct HeldPage {
    /// Guards holding this page.
    holders: usize,
    /// The page's bytes, once its block arrived.
    data: Option<Arc<[u8]>>,
}

/// A prefetch guard's pages.
struct HeldRange {
    inner: Arc<Inner>,
    pages: std::ops::Range<u64>,
}

impl Drop for HeldRange {
    fn drop(&mut self) {
        self.inner.held.release(self.pages.clone());
    }
}

/// Pages in one EBS block.
const PAGES_PER_BLOCK: u64 = EBS_BLOCK_SIZE / HELD_PAGE_SIZE;

impl HeldPages {
    /// Hold `pages` for a guard unless more than `limit` pages would then be held (then
    /// nothing is held and it says false).
    fn hold(&self, pages: std::ops::Range<u64>, limit: usize) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let wanted = usize::try_from(pages.end.saturating_sub(pages.start)).unwrap_or(usize::MAX);
        if state.pages.len().saturating_add(wanted) > limit {
            return false;
        }
        for page in pages {
            let entry = state.pages.entry(page).or_insert(HeldPage { holders: 0, data: None });
            entry.holders += 1;
            if entry.holders == 1 {
                *state.empty_in_block.entry(page / PAGES_PER_BLOCK).or_default() += 1;
            }
        }
        self.count.store(state.pages.len(), Ordering::Relaxed);
        true
    }

    /// Let go of a guard's pages.
    fn release(&self, pages: std::ops::Range<u64>) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        for page in pages {
            let Some(entry) = state.pages.get_mut(&page) else { continue };
            entry.holders -= 1;
            if entry.holders == 0 {
                let was_empty = entry.data.is_none();
                state.pages.remove(&page);
                if was_empty {
                    state.forget_empty(page / PAGES_PER_BLOCK);
                }
            }
        }
        self.count.store(state.pages.len(), Ordering::Relaxed);
    }

    /// Copy block `index` (None: unallocated, zeros) into its held pages still empty.
    fn fill(&self, index: u64, block: Option<&[u8]>) {
        if self.count.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if !state.empty_in_block.contains_key(&index) {
            return;
        }
        let Some(first) = index.checked_mul(PAGES_PER_BLOCK) else { return };
        let page_size = usize::try_from(HELD_PAGE_SIZE).unwrap_or(usize::MAX);
        for page in first..first.saturating_add(PAGES_PER_BLOCK) {
            let Some(entry) = state.pages.get_mut(&page) else { continue };
            if entry.data.is_some() {
                continue;
            }
            let within = usize::try_from(page - first).unwrap_or(usize::MAX).saturating_mul(page_size);
            entry.data = match block {
                Some(block) => block.get(within..within.saturating_add(page_size)).map(Arc::from),
                None => Some(Arc::from(vec![0u8; page_size])),
            };
            if entry.data.is_some() {
                state.forget_empty(index);
            }
        }
    }

    /// Fill `buf` from held pages when every page under it is held and loaded.
    fn read(&self, offset: u64, buf: &mut [u8]) -> bool {
        if self.count.load(Ordering::Relaxed) == 0 || buf.is_empty() {
            return false;
        }
        let Some(end) = u64::try_from(buf.len()).ok().and_then(|length| offset.checked_add(length)) else {
            return false;
        };
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut written = 0usize;
        for page in offset / HELD_PAGE_SIZE..end.div_ceil(HELD_PAGE_SIZE) {
            let Some(data) = state.pages.get(&page).and_then(|entry| entry.data.as_ref()) else { return false };
            let page_start = page * HELD_PAGE_SIZE;
            let from = offset.max(page_start);
            let to = end.min(page_start + HELD_PAGE_SIZE);
            let (Ok(within), Ok(take)) = (usize::try_from(from - page_start), usize::try_from(to - from)) else {
                return false;
            };
            let (Some(source), Some(target)) = (data.get(within..within + take), buf.get_mut(written..written + take))
            else {
                return false;
            };
            target.copy_from_slice(source);
            written += take;
        }
        written == buf.len()
    }
}

impl HeldState {
    /// One held page of block `index` is no longer empty (filled, or let go).
    fn forget_empty(&mut self, index: u64) {
        if let Some(count) = self.empty_in_block.get_mut(&index) {
            *count -= 1;
            if *count == 0 {
                self.empty_in_block.remove(&index);
            }
        }
    }
}

/// How one failed call should be handled.
enum Failure {
    /// Worth another attempt after a backoff.
    Transient(String),
    /// The block token expired: re-list, then try again.
    ExpiredToken(String),
    /// Retrying will not help.
    Fatal(EbsError),
}

struct Inner {
    client: Client,
    snapshot_id: String,
    /// Set once, from the first listing.
    length: AtomicU64,
    blocks: RwLock<BlockMap>,
    relist: tokio::sync::Mutex<()>,
    cache: BlockCache,
    fetches: Semaphore,
    /// Permits a prefetch must hold besides one of `fetches`: fewer than `fetches`, so
    /// prefetches never take every slot and a reader waiting for a block jumps the queue
    /// of hints and readahead (on the scan's critical path a reader waits behind hundreds
    /// of them otherwise).
    speculative_fetches: Semaphore,
    options: EbsOptions,
    counters: AtomicCounters,
    /// Block after the last one read, for sequential readahead.
    next_expected: AtomicU64,
    /// Pages kept for prefetch guards.
    held: HeldPages,
    jitter: RandomState,
}

/// A snapshot as a random-access, thread-safe byte source.
pub struct EbsSource {
    inner: Arc<Inner>,
    runtime: Arc<Runtime>,
    read_counters: ReadCounters,
}

impl std::fmt::Debug for EbsSource {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("EbsSource")
            .field("snapshot_id", &self.inner.snapshot_id)
            .field("length", &self.inner.length())
            .finish()
    }
}

impl EbsSource {
    /// List the snapshot's blocks and return a source over it.
    pub fn open(
        runtime: Arc<Runtime>,
        client: Client,
        snapshot_id: &str,
        options: EbsOptions,
    ) -> Result<Self, EbsError> {
        let options = EbsOptions {
            concurrency: options.concurrency.clamp(1, 1024),
            cache_blocks: options.cache_blocks.max(options.readahead_blocks_usize().saturating_add(2)),
            attempts: options.attempts.max(1),
            ..options
        };
        let inner = Arc::new(Inner {
            client,
            snapshot_id: snapshot_id.to_string(),
            length: AtomicU64::new(0),
            blocks: RwLock::new(BlockMap::default()),
            relist: tokio::sync::Mutex::new(()),
            cache: BlockCache::new(options.cache_blocks),
            fetches: Semaphore::new(options.concurrency),
            speculative_fetches: Semaphore::new(speculative_slots(options.concurrency)),
            options,
            counters: AtomicCounters::default(),
            next_expected: AtomicU64::new(u64::MAX),
            held: HeldPages::default(),
            jitter: RandomState::new(),
        });
        let (tokens, length) = runtime.block_on(inner.list_all())?;
        inner.length.store(length, Ordering::Relaxed);
        *inner.blocks.write().unwrap_or_else(PoisonError::into_inner) = BlockMap { tokens, generation: 1 };
        Ok(Self { inner, runtime, read_counters: ReadCounters::default() })
    }

    /// The snapshot id.
    pub fn snapshot_id(&self) -> &str {
        &self.inner.snapshot_id
    }

    /// What reading cost so far.
    pub fn counters(&self) -> EbsCounters {
        let counters = &self.inner.counters;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let blocks_allocated = self.inner.blocks.read().unwrap_or_else(PoisonError::into_inner).tokens.len();
        EbsCounters {
            blocks_fetched: load(&counters.blocks_fetched),
            bytes_fetched: load(&counters.bytes_fetched),
            blocks_allocated: u64::try_from(blocks_allocated).unwrap_or(u64::MAX),
            get_block_calls: load(&counters.get_block_calls),
            list_calls: load(&counters.list_calls),
            retries: load(&counters.retries),
            checksum_failures: load(&counters.checksum_failures),
            cache_hits: load(&counters.cache_hits),
        }
    }

    /// Bytes and calls served to readers.
    pub fn read_counters(&self) -> &ReadCounters {
        &self.read_counters
    }
}

impl EbsOptions {
    fn readahead_blocks_usize(&self) -> usize {
        usize::try_from(self.readahead_blocks).unwrap_or(usize::MAX)
    }
}

/// Fetch slots prefetches may fill: three quarters, so a quarter stays for readers.
fn speculative_slots(concurrency: usize) -> usize {
    concurrency.saturating_sub(concurrency / 4).max(1)
}

/// Who asks for a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Demand {
    /// A reader waiting for it.
    Read,
    /// A hint or readahead: wanted soon, maybe.
    Prefetch,
}

/// First and last block index under a non-empty byte range.
fn block_span(offset: u64, length: u64) -> Option<(u64, u64)> {
    let last_byte = offset.checked_add(length.checked_sub(1)?)?;
    Some((offset / EBS_BLOCK_SIZE, last_byte / EBS_BLOCK_SIZE))
}

impl ReadAt for EbsSource {
    fn len(&self) -> u64 {
        self.inner.length()
    }

    /// Start fetching the blocks under `[offset, offset + length)` without waiting (at most
    /// half the cache's capacity), and keep the range's own pages until the guard drops,
    /// within [`MAXIMUM_HELD_PAGES`] (past it the blocks are only prefetched).
    fn prefetch(&self, offset: u64, length: u64) -> Prefetched {
        let Some((first, last)) = block_span(offset.min(self.inner.length()), length) else {
            return Prefetched::default();
        };
        let last = last.min(first.saturating_add(self.inner.options.cache_blocks as u64 / 2));
        let end = last.saturating_add(1).saturating_mul(EBS_BLOCK_SIZE).min(offset.saturating_add(length));
        let pages = offset / HELD_PAGE_SIZE..end.div_ceil(HELD_PAGE_SIZE);
        let _guard = self.runtime.enter();
        let held = self.inner.held.hold(pages.clone(), MAXIMUM_HELD_PAGES);
        for index in first..=last {
            if self.inner.stopped() {
                break;
            }
            if held {
                let inner = Arc::clone(&self.inner);
                // A failed prefetch is not an error: the reader that needs the block retries it.
                tokio::spawn(async move {
                    if let Ok(block) = Arc::clone(&inner).block(index, Demand::Prefetch).await {
                        inner.held.fill(index, block.as_deref().map(Vec::as_slice));
                    }
                });
            } else {
                self.inner.spawn_prefetch(index);
            }
        }
        if held {
            Prefetched::holding(vec![Box::new(HeldRange { inner: Arc::clone(&self.inner), pages })])
        } else {
            Prefetched::default()
        }
    }

    /// Keep the pages of `[offset, offset + length)` once any read brings their block in,
    /// until the guard drops, within [`MAXIMUM_KEPT_PAGES`]; nothing is fetched for it.
    fn keep(&self, offset: u64, length: u64) -> Prefetched {
        let end = offset.saturating_add(length).min(self.inner.length());
        let pages = offset / HELD_PAGE_SIZE..end.div_ceil(HELD_PAGE_SIZE);
        if pages.is_empty() || !self.inner.held.hold(pages.clone(), MAXIMUM_KEPT_PAGES) {
            return Prefetched::default();
        }
        // Blocks already in the cache give their pages now.
        for index in pages.start / PAGES_PER_BLOCK..pages.end.div_ceil(PAGES_PER_BLOCK) {
            if let Some(block) = self.inner.cache.loaded(index) {
                self.inner.held.fill(index, Some(&block));
            }
        }
        Prefetched::holding(vec![Box::new(HeldRange { inner: Arc::clone(&self.inner), pages })])
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        check_range(offset, buf.len(), self.inner.length())?;
        if self.inner.stopped() {
            return Err(io::Error::other(format!("snapshot {}: the scan was interrupted", self.inner.snapshot_id)));
        }
        self.read_counters.record(buf.len());
        if self.inner.held.read(offset, buf) {
            return Ok(());
        }
        let length = u64::try_from(buf.len()).map_err(io::Error::other)?;
        let Some((first, last)) = block_span(offset, length) else { return Ok(()) };
        let inner = Arc::clone(&self.inner);
        let blocks = self.runtime.block_on(async move { inner.read_blocks(first, last).await })?;
        let mut position = offset;
        let mut written = 0usize;
        for (index, block) in (first..=last).zip(blocks) {
            // Pages kept for a later reader that lie in this block are copied out now.
            self.inner.held.fill(index, block.as_deref().map(Vec::as_slice));
            let block_start = index.checked_mul(EBS_BLOCK_SIZE).ok_or_else(|| io::Error::other("offset overflow"))?;
            let within = usize::try_from(position - block_start).map_err(io::Error::other)?;
            let remaining = buf.len() - written;
            let take = remaining.min(usize::try_from(EBS_BLOCK_SIZE).map_err(io::Error::other)? - within);
            let target = buf
                .get_mut(written..written + take)
                .ok_or_else(|| io::Error::other("internal: read window out of range"))?;
            match block {
                Some(data) => {
                    let source = data
                        .get(within..within + take)
                        .ok_or_else(|| io::Error::other("internal: block shorter than block size"))?;
                    target.copy_from_slice(source);
                }
                None => target.fill(0),
            }
            written += take;
            position = position.saturating_add(u64::try_from(take).map_err(io::Error::other)?);
        }
        Ok(())
    }
}

impl Inner {
    fn length(&self) -> u64 {
        self.length.load(Ordering::Relaxed)
    }

    fn stopped(&self) -> bool {
        self.options.stop.is_some_and(|stop| stop.load(Ordering::Relaxed))
    }

    /// The blocks `first..=last` (None for an unallocated block), fetched concurrently.
    async fn read_blocks(self: Arc<Self>, first: u64, last: u64) -> io::Result<Vec<Option<Arc<Vec<u8>>>>> {
        self.readahead(first, last);
        if first == last {
            return Ok(vec![self.block(first, Demand::Read).await.map_err(io::Error::other)?]);
        }
        let mut tasks = Vec::new();
        for index in first..=last {
            let inner = Arc::clone(&self);
            tasks.push(tokio::spawn(async move { inner.block(index, Demand::Read).await }));
        }
        let mut blocks = Vec::with_capacity(tasks.len());
        for task in tasks {
            blocks.push(task.await.map_err(io::Error::other)?.map_err(io::Error::other)?);
        }
        Ok(blocks)
    }

    /// On a sequential read (this read starts in the block after the one the last read
    /// ended in), fetch a few blocks ahead. Reads that stay in one block do not count:
    /// `ext4-view` reads inode tables and directories in 32 KiB windows, so a single walker
    /// reads within one block many times in a row, and counting that fetched 4 blocks
    /// nobody read each time (83 of 776 blocks at concurrency 1 on the bench).
    fn readahead(self: &Arc<Self>, first: u64, last: u64) {
        let expected = self.next_expected.swap(last.saturating_add(1), Ordering::Relaxed);
        let sequential = expected == first;
        if !sequential || self.options.readahead_blocks == 0 {
            return;
        }
        for index in last.saturating_add(1)..=last.saturating_add(self.options.readahead_blocks) {
            self.spawn_prefetch(index);
        }
    }

    fn spawn_prefetch(self: &Arc<Self>, index: u64) {
        if self.token(index).is_none() || self.cache.is_cached(index) {
            return;
        }
        let inner = Arc::clone(self);
        // A failed prefetch is not an error: the reader that needs the block retries it.
        tokio::spawn(async move { inner.block(index, Demand::Prefetch).await.ok() });
    }

    fn token(&self, index: u64) -> Option<(String, u64)> {
        let blocks = self.blocks.read().unwrap_or_else(PoisonError::into_inner);
        blocks.tokens.get(&index).map(|token| (token.clone(), blocks.generation))
    }

    /// One block through the cache: zeros (None) when unallocated, else cached or fetched
    /// once however many readers ask at the same time.
    async fn block(self: Arc<Self>, index: u64, demand: Demand) -> Result<Option<Arc<Vec<u8>>>, EbsError> {
        if index.checked_mul(EBS_BLOCK_SIZE).is_none_or(|start| start >= self.length()) || self.token(index).is_none() {
            return Ok(None);
        }
        let cell = self.cache.cell(index);
        if let Some(data) = cell.get() {
            bump(&self.counters.cache_hits, 1);
            return Ok(Some(Arc::clone(data)));
        }
        let result = cell.get_or_try_init(|| self.fetch(index, demand)).await.map(Arc::clone);
        if result.is_err() {
            self.cache.forget_failed(index);
        }
        result.map(Some)
    }

    /// `GetSnapshotBlock` with verification and retries.
    async fn fetch(&self, index: u64, demand: Demand) -> Result<Arc<Vec<u8>>, EbsError> {
        let mut last_failure = String::new();
        for attempt in 0..self.options.attempts {
            if self.stopped() {
                return Err(EbsError::Block {
                    snapshot_id: self.snapshot_id.clone(),
                    block_index: index,
                    attempts: attempt,
                    message: "the scan was interrupted".to_string(),
                });
            }
            if attempt > 0 {
                bump(&self.counters.retries, 1);
                tokio::time::sleep(self.backoff(attempt)).await;
            }
            let Some((token, generation)) = self.token(index) else {
                // A re-list dropped the block: it is no longer allocated, so it reads as zeros.
                return Ok(Arc::new(vec![0; usize::try_from(EBS_BLOCK_SIZE).unwrap_or(0)]));
            };
            let outcome = {
                let _speculative_permit = match demand {
                    Demand::Prefetch => Some(self.speculative_fetches.acquire().await),
                    Demand::Read => None,
                };
                let _permit = self.fetches.acquire().await;
                bump(&self.counters.get_block_calls, 1);
                self.fetch_once(index, &token).await
            };
            match outcome {
                Ok(data) => {
                    bump(&self.counters.blocks_fetched, 1);
                    bump(&self.counters.bytes_fetched, EBS_BLOCK_SIZE);
                    return Ok(Arc::new(data));
                }
                Err(Failure::Fatal(error)) => return Err(error),
                Err(Failure::Transient(message)) => last_failure = message,
                Err(Failure::ExpiredToken(message)) => {
                    last_failure = message;
                    self.relist_after(generation).await?;
                }
            }
            tracing::debug!(snapshot = %self.snapshot_id, block = index, attempt, failure = %last_failure, "retrying block");
        }
        Err(EbsError::Block {
            snapshot_id: self.snapshot_id.clone(),
            block_index: index,
            attempts: self.options.attempts,
            message: last_failure,
        })
    }

    async fn fetch_once(&self, index: u64, token: &str) -> Result<Vec<u8>, Failure> {
        let block_index = i32::try_from(index)
            .map_err(|_| Failure::Fatal(self.invalid(format!("block index {index} out of range"))))?;
        let output = self
            .client
            .get_snapshot_block()
            .snapshot_id(&self.snapshot_id)
            .block_index(block_index)
            .block_token(token)
            .send()
            .await
            .map_err(|error| {
                let typed_expiry = matches!(
                    error.as_service_error(),
                    Some(GetSnapshotBlockError::ValidationException(validation))
                        if validation.reason() == Some(&ValidationExceptionReason::InvalidBlockToken)
                );
                if typed_expiry {
                    Failure::ExpiredToken("INVALID_BLOCK_TOKEN".to_string())
                } else {
                    self.classify(error)
                }
            })?;
        let checksum = output.checksum.clone();
        let algorithm = output.checksum_algorithm.as_ref().map(|algorithm| algorithm.as_str().to_string());
        // The SDK does not retry a body that fails mid-stream: that is ours to retry.
        let body = output
            .block_data
            .collect()
            .await
            .map_err(|error| Failure::Transient(format!("reading block body: {error}")))?;
        // `into_bytes` joins the body's chunks with one copy; `AggregatedBytes::to_vec` goes
        // byte by byte, which was a third of the scan's CPU time at 1 GiB of blocks.
        let data = Vec::from(body.into_bytes());
        if u64::try_from(data.len()).ok() != Some(EBS_BLOCK_SIZE) {
            return Err(Failure::Transient(format!("block body is {} bytes, expected {EBS_BLOCK_SIZE}", data.len())));
        }
        if algorithm.as_deref() != Some("SHA256") {
            return Err(Failure::Fatal(
                self.invalid(format!("block {index}: unsupported checksum algorithm {algorithm:?}")),
            ));
        }
        let expected = checksum
            .as_deref()
            .and_then(|checksum| aws_smithy_types::base64::decode(checksum).ok())
            .ok_or_else(|| Failure::Fatal(self.invalid(format!("block {index}: missing or malformed checksum"))))?;
        if Sha256::digest(&data).as_slice() != expected.as_slice() {
            bump(&self.counters.checksum_failures, 1);
            return Err(Failure::Transient("block data does not match its SHA-256 checksum".to_string()));
        }
        Ok(data)
    }

    /// Re-list the block map unless another caller already did since `generation`.
    async fn relist_after(&self, generation: u64) -> Result<(), EbsError> {
        let _relisting = self.relist.lock().await;
        let current = self.blocks.read().unwrap_or_else(PoisonError::into_inner).generation;
        if current != generation {
            return Ok(());
        }
        let (tokens, _) = self.list_all().await?;
        let mut blocks = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
        blocks.tokens = tokens;
        blocks.generation = blocks.generation.wrapping_add(1);
        Ok(())
    }

    /// Every allocated block and its token, and the volume length, following pagination.
    async fn list_all(&self) -> Result<(HashMap<u64, String>, u64), EbsError> {
        let mut tokens = HashMap::new();
        let mut next_token: Option<String> = None;
        let mut length = None;
        for _page in 0..MAXIMUM_LIST_PAGES {
            let page = self.list_page(next_token.clone()).await?;
            let page_length = self.volume_length(page.volume_size, page.block_size)?;
            if length.is_some_and(|length| length != page_length) {
                return Err(self.invalid("volume size changed between pages".to_string()));
            }
            length = Some(page_length);
            for (index, token) in page.blocks {
                let start = index
                    .checked_mul(EBS_BLOCK_SIZE)
                    .ok_or_else(|| self.invalid(format!("block index {index} overflows")))?;
                if start >= page_length {
                    return Err(self.invalid(format!("block {index} is past the end of the volume")));
                }
                tokens.insert(index, token);
            }
            match page.next_token {
                Some(token) if Some(&token) != next_token.as_ref() => next_token = Some(token),
                Some(_) => return Err(self.invalid("the listing repeated its page token".to_string())),
                None => {
                    let length = length.ok_or_else(|| self.invalid("no pages".to_string()))?;
                    return Ok((tokens, length));
                }
            }
        }
        Err(self.invalid(format!("more than {MAXIMUM_LIST_PAGES} pages")))
    }

    fn volume_length(&self, volume_size_gib: Option<i64>, block_size: Option<i32>) -> Result<u64, EbsError> {
        if block_size.and_then(|size| u64::try_from(size).ok()) != Some(EBS_BLOCK_SIZE) {
            return Err(self.invalid(format!("block size {block_size:?}, expected {EBS_BLOCK_SIZE}")));
        }
        match volume_size_gib {
            Some(gib) if (1..=MAXIMUM_VOLUME_GIB).contains(&gib) => {
                let gib = u64::try_from(gib).map_err(|_| self.invalid("negative volume size".to_string()))?;
                gib.checked_mul(1 << 30).ok_or_else(|| self.invalid("volume size overflows".to_string()))
            }
            other => Err(self.invalid(format!("volume size {other:?} GiB is out of range"))),
        }
    }

    async fn list_page(&self, next_token: Option<String>) -> Result<ListPage, EbsError> {
        let mut last_failure = String::new();
        for attempt in 0..self.options.attempts {
            if attempt > 0 {
                bump(&self.counters.retries, 1);
                tokio::time::sleep(self.backoff(attempt)).await;
            }
            bump(&self.counters.list_calls, 1);
            let result = self
                .client
                .list_snapshot_blocks()
                .snapshot_id(&self.snapshot_id)
                .max_results(LIST_PAGE_SIZE)
                .set_next_token(next_token.clone())
                .send()
                .await;
            match result {
                Ok(output) => {
                    let mut blocks = Vec::new();
                    for block in output.blocks() {
                        let index = block.block_index().and_then(|index| u64::try_from(index).ok());
                        let (Some(index), Some(token)) = (index, block.block_token()) else {
                            return Err(self.invalid("a block without index or token".to_string()));
                        };
                        blocks.push((index, token.to_string()));
                    }
                    return Ok(ListPage {
                        blocks,
                        next_token: output.next_token().map(str::to_string),
                        volume_size: output.volume_size(),
                        block_size: output.block_size(),
                    });
                }
                Err(error) => match self.classify(error) {
                    Failure::Fatal(error) => return Err(error),
                    Failure::Transient(message) | Failure::ExpiredToken(message) => last_failure = message,
                },
            }
        }
        Err(EbsError::List {
            snapshot_id: self.snapshot_id.clone(),
            attempts: self.options.attempts,
            message: last_failure,
        })
    }

    /// Sort an SDK failure into retry, re-list or give up.
    fn classify<E>(&self, error: SdkError<E, HttpResponse>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let message = aws_smithy_types::error::display::DisplayErrorContext(&error).to_string();
        match &error {
            SdkError::ServiceError(context) => {
                let code = context.err().code().unwrap_or_default();
                let detail = context.err().message().unwrap_or_default().to_string();
                let status = context.raw().status().as_u16();
                match code {
                    "ResourceNotFoundException" => {
                        Failure::Fatal(EbsError::NotFound { snapshot_id: self.snapshot_id.clone(), message: detail })
                    }
                    "AccessDeniedException" => Failure::Fatal(EbsError::AccessDenied {
                        snapshot_id: self.snapshot_id.clone(),
                        message: detail,
                    }),
                    "ValidationException" if is_expired_token(&message, &detail) => Failure::ExpiredToken(detail),
                    "RequestThrottledException"
                    | "ThrottlingException"
                    | "InternalServerException"
                    | "ServiceUnavailableException"
                    | "ServiceQuotaExceededException" => Failure::Transient(format!("{code}: {detail}")),
                    _ if (500..600).contains(&status) => Failure::Transient(format!("HTTP {status} {code}: {detail}")),
                    _ => Failure::Fatal(EbsError::Service { snapshot_id: self.snapshot_id.clone(), message }),
                }
            }
            // Timeouts, connection failures and unreadable responses are all worth a retry.
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
                Failure::Transient(message)
            }
            _ => Failure::Fatal(self.invalid(message)),
        }
    }

    fn invalid(&self, message: String) -> EbsError {
        EbsError::InvalidListing { snapshot_id: self.snapshot_id.clone(), message }
    }

    /// Full-jitter exponential backoff: uniform in `[0, min(cap, base · 2^attempt))`.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .options
            .backoff_base
            .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX))
            .min(self.options.backoff_cap);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX).max(1);
        Duration::from_nanos(self.jitter.hash_one((attempt, std::time::Instant::now())) % nanos)
    }
}

struct ListPage {
    blocks: Vec<(u64, String)>,
    next_token: Option<String>,
    volume_size: Option<i64>,
    block_size: Option<i32>,
}

/// An expired or otherwise invalid block token (EBS says `INVALID_BLOCK_TOKEN`).
fn is_expired_token(full_message: &str, detail: &str) -> bool {
    let reason = ValidationExceptionReason::InvalidBlockToken;
    full_message.contains(reason.as_str()) || detail.to_ascii_lowercase().contains("token")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_span_covers_range() {
        assert_eq!(block_span(0, 1), Some((0, 0)));
        assert_eq!(block_span(EBS_BLOCK_SIZE - 1, 2), Some((0, 1)));
        assert_eq!(block_span(EBS_BLOCK_SIZE * 3, EBS_BLOCK_SIZE), Some((3, 3)));
        assert_eq!(block_span(5, 0), None);
        assert_eq!(block_span(u64::MAX, 2), None);
    }

    #[test]
    fn cache_evicts_least_recently_used_loaded_block() {
        let cache = BlockCache::new(2);
        let first = cache.cell(1);
        first.set(Arc::new(vec![1])).ok();
        let second = cache.cell(2);
        second.set(Arc::new(vec![2])).ok();
        // Touch 1 so 2 is the least recently used.
        assert!(cache.cell(1).initialized());
        let _third = cache.cell(3);
        assert!(cache.is_cached(1));
        assert!(!cache.is_cached(2));
        assert!(cache.is_cached(3));
    }

    #[test]
    fn cache_never_evicts_a_loading_block() {
        let cache = BlockCache::new(1);
        let _loading = cache.cell(1);
        let _other = cache.cell(2);
        assert!(cache.is_cached(1));
        cache.forget_failed(1);
        assert!(!cache.is_cached(1));
    }

    #[test]
    fn held_pages_serve_reads_until_released() {
        let held = HeldPages::default();
        let block: Vec<u8> = (0..EBS_BLOCK_SIZE).map(|byte| (byte % 251) as u8).collect();
        // Pages 130..133 lie in block 1 (128 pages per block).
        assert!(held.hold(130..133, MAXIMUM_HELD_PAGES));
        let mut buf = vec![0u8; 100];
        assert!(!held.read(130 * HELD_PAGE_SIZE, &mut buf), "nothing is loaded yet");
        held.fill(1, Some(&block));
        let offset = 130 * HELD_PAGE_SIZE + 4000;
        assert!(held.read(offset, &mut buf), "a read across two held pages");
        let within = usize::try_from(offset - EBS_BLOCK_SIZE).unwrap();
        assert_eq!(buf, block[within..within + 100]);
        let mut past = vec![0u8; 8192];
        assert!(!held.read(132 * HELD_PAGE_SIZE, &mut past), "page 133 is not held");
        held.release(130..133);
        assert!(!held.read(offset, &mut buf));
        assert_eq!(held.count.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn held_pages_are_shared_and_bounded() {
        let held = HeldPages::default();
        assert!(held.hold(0..2, MAXIMUM_HELD_PAGES));
        assert!(held.hold(1..3, MAXIMUM_HELD_PAGES));
        held.fill(0, None);
        let mut buf = vec![1u8; 3 * 4096];
        assert!(held.read(0, &mut buf));
        assert!(buf.iter().all(|&byte| byte == 0), "an unallocated block reads as zeros");
        // The first guard lets go: page 1 is still the second guard's.
        held.release(0..2);
        assert!(held.read(HELD_PAGE_SIZE, &mut buf[..4096]));
        assert!(!held.read(0, &mut buf[..4096]));
        let too_many = u64::try_from(MAXIMUM_HELD_PAGES).unwrap();
        assert!(!held.hold(10..10 + too_many, MAXIMUM_HELD_PAGES), "past the bound nothing is held");
        assert!(!held.hold(10..12, 3), "a smaller bound for kept pages");
        assert_eq!(held.count.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_read_of_a_block_fills_only_its_own_empty_pages() {
        let held = HeldPages::default();
        // Two pages in block 0, one in block 1.
        assert!(held.hold(0..2, MAXIMUM_HELD_PAGES));
        assert!(held.hold(200..201, MAXIMUM_HELD_PAGES));
        let empty = |held: &HeldPages| {
            let mut blocks: Vec<(u64, usize)> =
                held.state.lock().unwrap().empty_in_block.iter().map(|(block, count)| (*block, *count)).collect();
            blocks.sort();
            blocks
        };
        assert_eq!(empty(&held), [(0, 2), (1, 1)]);
        held.fill(0, Some(&vec![7u8; usize::try_from(EBS_BLOCK_SIZE).unwrap()]));
        assert_eq!(empty(&held), [(1, 1)]);
        let mut buf = vec![0u8; 8192];
        assert!(held.read(0, &mut buf) && buf.iter().all(|&byte| byte == 7));
        assert!(!held.read(200 * HELD_PAGE_SIZE, &mut buf[..4096]));
        // Letting go of a page never filled forgets it.
        held.release(200..201);
        assert_eq!(empty(&held), []);
        held.release(0..2);
        assert_eq!(held.count.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn prefetches_leave_slots_for_readers() {
        assert_eq!(speculative_slots(1), 1);
        assert_eq!(speculative_slots(32), 24);
        assert!(speculative_slots(4) < 4);
    }

    #[test]
    fn cost_estimate_uses_list_prices() {
        let counters = EbsCounters { get_block_calls: 1000, list_calls: 1000, ..EbsCounters::default() };
        assert!((counters.estimated_cost_usd() - 0.0036).abs() < 1e-9);
    }

    #[test]
    fn expired_token_is_recognised() {
        assert!(is_expired_token("ValidationException: INVALID_BLOCK_TOKEN", ""));
        assert!(is_expired_token("", "The block token is not valid."));
        assert!(!is_expired_token("ValidationException", "bad snapshot id"));
    }
}
