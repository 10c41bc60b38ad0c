//! The one walk over a filesystem: every directory is listed once, every regular file is
//! offered to every cataloger's pure `wants`, and only wanted files are opened.
//!
//! Symlinks are never followed while walking (a link to `/` would otherwise repeat the
//! tree). Hostile images can still loop: a corrupt directory entry may point back at an
//! ancestor. Where the filesystem gives inode numbers the walk never lists one directory
//! twice; where it cannot (ext4-view hides them) a directory whose inode fingerprint *and*
//! listing equal an ancestor's is taken as that ancestor. Depth is capped as a last guard.

use super::{EntryWithMetadata, FileType, Filesystem, FsError, Metadata, path};
use crate::catalog::{Candidate, CatalogContext, Cataloger, Package, WantedFile};
use crate::source::Prefetched;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

/// Deepest directory nesting walked (Linux paths max out at 4096 bytes anyway).
pub const MAX_DEPTH: usize = 512;

/// Top-level directories holding kernel pseudo-filesystems on a live system.
const PSEUDO_FILESYSTEMS: [&[u8]; 3] = [b"/proc", b"/sys", b"/dev"];

/// Trees that hold documentation and data only, skipped by default: no cataloger's file
/// is installed there, yet on a root volume they are a third of the directories (each
/// directory's blocks lie among its files, so over EBS each costs a 512 KiB block).
/// Kernel modules and firmware are the kernel packages' data (without merged `/usr`
/// they are under `/lib`); `/usr/lib/debug` holds separate debug symbols (`.debug` files
/// under `.build-id/xx/`, hundreds of small directories).
pub const DOCUMENTATION_TREES: [&str; 18] = [
    "/lib/firmware",
    "/lib/modules",
    "/usr/include",
    "/usr/lib/debug",
    "/usr/lib/firmware",
    "/usr/lib/modules",
    "/usr/share/doc",
    "/usr/share/fonts",
    "/usr/share/gtk-doc",
    "/usr/share/help",
    "/usr/share/i18n",
    "/usr/share/icons",
    "/usr/share/info",
    "/usr/share/locale",
    "/usr/share/man",
    "/usr/share/pixmaps",
    "/usr/share/terminfo",
    "/usr/share/zoneinfo",
];

/// Directories the walk does not enter (besides the pseudo-filesystems), as absolute
/// paths on the filesystem walked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SkippedDirectories(Vec<Vec<u8>>);

impl SkippedDirectories {
    /// Skip `paths` (normalized: `/usr/share/doc/` is `/usr/share/doc`).
    pub fn new<P: AsRef<[u8]>>(paths: impl IntoIterator<Item = P>) -> Self {
        let mut paths: Vec<Vec<u8>> = paths.into_iter().map(|path| path::normalize(path.as_ref())).collect();
        paths.sort();
        paths.dedup();
        Self(paths)
    }

    /// The [`DOCUMENTATION_TREES`].
    pub fn documentation() -> Self {
        Self::new(DOCUMENTATION_TREES)
    }

    /// Whether the directory at `path` is skipped.
    pub fn contains(&self, path: &[u8]) -> bool {
        self.0.binary_search_by(|skipped| skipped.as_slice().cmp(path)).is_ok()
    }
}

/// A problem and the path it concerns.
pub type Problem = (String, String);

/// What the walk found on one filesystem.
#[derive(Debug, Default)]
pub struct WalkOutcome {
    /// Packages from every cataloger.
    pub packages: Vec<Package>,
    /// Problems, each with the path it concerns.
    pub problems: Vec<(String, String)>,
    /// Paths visited.
    pub files_visited: u64,
    /// Files opened for a cataloger.
    pub files_read: u64,
    /// Directories found and not entered because they are skipped.
    pub skipped: Vec<String>,
    /// Executables a native distro package installed, not opened for embedded modules.
    pub native_executables: u64,
}

/// A directory being walked, with what identifies its ancestors for cycle checks.
struct Ancestor {
    path: Vec<u8>,
    fingerprint: u64,
    listing: u64,
    parent: Option<Arc<Ancestor>>,
    /// Keeps the directory's own blocks while anything below it waits to be walked: every
    /// listing below resolves its path through them again.
    _kept: Prefetched,
}

struct Pending {
    path: Vec<u8>,
    depth: usize,
    metadata: Metadata,
    parent: Option<Arc<Ancestor>>,
    /// Keeps the directory's blocks once a sibling's listing brings them in, until listed.
    kept: Prefetched,
}

/// Opens one more handle on the filesystem being walked, for a walker thread (`ext4-view`
/// handles cannot move between threads, so each walker reads through its own).
pub type OpenFilesystem<'a> = dyn Fn() -> Result<Box<dyn Filesystem>, FsError> + Sync + 'a;

/// Most walker threads per filesystem, whatever `--concurrency` asks (each holds a
/// filesystem handle and a thread).
pub const MAXIMUM_WALKERS: usize = 64;

/// Entries one walker handles at a time: a large directory (`/usr/bin`) is split so that
/// many walkers read its files at once.
const ENTRIES_PER_PART: usize = 32;

/// One part of the walk's result: a directory's own problems (part 0) or what a run of its
/// entries gave (parts 1…), in name order.
struct Part {
    path: Vec<u8>,
    part: usize,
    outcome: WalkOutcome,
}

/// A listed directory whose entries are still to be handled.
struct Listed {
    path: Vec<u8>,
    depth: usize,
    here: Arc<Ancestor>,
}

/// Work for a walker.
enum Job {
    /// List a directory.
    Directory(Pending),
    /// Handle entries of a listed directory: part number and the entries.
    Entries(Arc<Listed>, usize, Vec<EntryWithMetadata>),
}

/// Walk `filesystem` from `/`, cataloging as it goes.
pub fn walk(
    filesystem: &dyn Filesystem,
    catalogers: &[Box<dyn Cataloger>],
    context: &CatalogContext<'_>,
    skipped: &SkippedDirectories,
) -> WalkOutcome {
    let mut outcome = WalkOutcome::default();
    let Some(root) = root(filesystem, &mut outcome) else { return outcome };
    let mut seen_identities: HashSet<u64> = HashSet::new();
    let mut stack = vec![root];
    while let Some(directory) = stack.pop() {
        if let Some(identity) = directory.metadata.identity {
            if !seen_identities.insert(identity) {
                outcome.problems.push((
                    path::display(&directory.path),
                    "directory already walked (a directory cycle or hard link); skipped".to_string(),
                ));
                continue;
            }
        }
        let (listing, entries) = list_directory(filesystem, directory);
        outcome.absorb(listing.outcome);
        let Some((listed, entries)) = entries else { continue };
        let (handled, subdirectories) =
            handle_entries(filesystem, catalogers, context, skipped, &listed, entries, Queued::Now);
        outcome.absorb(handled);
        // Reverse so the stack pops them in name order (depth-first, sorted).
        stack.extend(subdirectories.into_iter().rev());
    }
    outcome
}

/// [`walk`] with `walkers` threads, each listing directories and reading files through its
/// own handle from `open`, so that many reads of a slow source (an EBS snapshot, where
/// every block is a round trip) wait at once; a large directory's entries are shared out
/// in parts. The result equals [`walk`]'s exactly: each part is kept apart and the parts
/// are put in the sequential walk's order (depth-first, by name). Only a directory met
/// twice (a hard-linked directory or a cycle in a corrupt image, whose report depends on
/// which path came first) makes the result order-dependent: then the walk starts again
/// sequentially.
pub fn walk_parallel(
    filesystem: &dyn Filesystem,
    open: &OpenFilesystem<'_>,
    walkers: usize,
    catalogers: &[Box<dyn Cataloger>],
    context: &CatalogContext<'_>,
    skipped: &SkippedDirectories,
) -> WalkOutcome {
    if walkers <= 1 {
        return walk(filesystem, catalogers, context, skipped);
    }
    let walkers = walkers.min(MAXIMUM_WALKERS);
    let mut outcome = WalkOutcome::default();
    let Some(root) = root(filesystem, &mut outcome) else { return outcome };
    let shared = Shared {
        queue: Mutex::new(Queue { stack: vec![Job::Directory(root)], busy: 0, seen: HashSet::new(), repeated: false }),
        changed: Condvar::new(),
        parts: Mutex::new(Vec::new()),
    };
    // The context holds the caller's handle, which may not cross threads; its other parts do.
    let (distro, volume, partition, dpkg_files) =
        (context.distro, context.volume, context.partition, context.dpkg_files);
    std::thread::scope(|scope| {
        for _ in 1..walkers {
            scope.spawn(|| {
                // A walker that cannot open its handle just does not help; the calling
                // thread below always walks, so the walk finishes either way.
                if let Ok(own) = open() {
                    let own_context =
                        CatalogContext { filesystem: own.as_ref(), distro, volume, partition, dpkg_files };
                    shared.work(own.as_ref(), catalogers, &own_context, skipped);
                }
            });
        }
        shared.work(filesystem, catalogers, context, skipped);
    });
    let queue = shared.queue.into_inner().unwrap_or_else(PoisonError::into_inner);
    if queue.repeated {
        tracing::debug!("a directory was met twice; walking again sequentially for a stable report");
        return walk(filesystem, catalogers, context, skipped);
    }
    let mut parts = shared.parts.into_inner().unwrap_or_else(PoisonError::into_inner);
    parts.sort_by(|left, right| {
        path::components(&left.path).cmp(path::components(&right.path)).then(left.part.cmp(&right.part))
    });
    for part in parts {
        outcome.absorb(part.outcome);
    }
    outcome
}

/// Jobs still to do and how many walkers are busy, shared by the walkers.
struct Queue {
    stack: Vec<Job>,
    busy: usize,
    seen: HashSet<u64>,
    /// A directory identity came twice: the parallel result is abandoned.
    repeated: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    changed: Condvar,
    parts: Mutex<Vec<Part>>,
}

impl Shared {
    /// Do jobs until none are left and no walker can add more.
    fn work(
        &self,
        filesystem: &dyn Filesystem,
        catalogers: &[Box<dyn Cataloger>],
        context: &CatalogContext<'_>,
        skipped: &SkippedDirectories,
    ) {
        loop {
            let job = {
                let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
                loop {
                    if queue.repeated {
                        return;
                    }
                    if let Some(job) = queue.stack.pop() {
                        if let Job::Directory(directory) = &job {
                            if let Some(identity) = directory.metadata.identity {
                                if !queue.seen.insert(identity) {
                                    queue.repeated = true;
                                    self.changed.notify_all();
                                    return;
                                }
                            }
                        }
                        queue.busy += 1;
                        break job;
                    }
                    if queue.busy == 0 {
                        return;
                    }
                    queue = self.changed.wait(queue).unwrap_or_else(PoisonError::into_inner);
                }
            };
            let busy = Busy(self);
            let mut jobs = Vec::new();
            match job {
                Job::Directory(directory) => {
                    let (listing, entries) = list_directory(filesystem, directory);
                    self.parts.lock().unwrap_or_else(PoisonError::into_inner).push(listing);
                    if let Some((listed, entries)) = entries {
                        let listed = Arc::new(listed);
                        let mut entries = entries.into_iter().peekable();
                        let mut part = 1;
                        while entries.peek().is_some() {
                            let run: Vec<EntryWithMetadata> = entries.by_ref().take(ENTRIES_PER_PART).collect();
                            jobs.push(Job::Entries(Arc::clone(&listed), part, run));
                            part += 1;
                        }
                    }
                }
                Job::Entries(listed, part, entries) => {
                    let (outcome, subdirectories) =
                        handle_entries(filesystem, catalogers, context, skipped, &listed, entries, Queued::Later);
                    let path = listed.path.clone();
                    self.parts.lock().unwrap_or_else(PoisonError::into_inner).push(Part { path, part, outcome });
                    jobs.extend(subdirectories.into_iter().map(Job::Directory));
                }
            }
            // Reversed like the sequential stack, so walkers stay near its depth-first order
            // and the shared block cache holds what they read together.
            self.queue.lock().unwrap_or_else(PoisonError::into_inner).stack.extend(jobs.into_iter().rev());
            drop(busy);
        }
    }
}

/// A walker's claim on one job; released even if the job panics, so the other walkers
/// never wait for work that cannot come.
struct Busy<'a>(&'a Shared);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let mut queue = self.0.queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue.busy = queue.busy.saturating_sub(1);
        self.0.changed.notify_all();
    }
}

impl WalkOutcome {
    fn absorb(&mut self, other: WalkOutcome) {
        self.packages.extend(other.packages);
        self.problems.extend(other.problems);
        self.files_visited += other.files_visited;
        self.files_read += other.files_read;
        self.native_executables += other.native_executables;
        self.skipped.extend(other.skipped);
    }
}

/// The root directory to start from, or `None` (with the problem recorded) when it is unusable.
fn root(filesystem: &dyn Filesystem, outcome: &mut WalkOutcome) -> Option<Pending> {
    match filesystem.symlink_metadata(b"/") {
        Ok(metadata) if metadata.file_type == FileType::Directory => {
            Some(Pending { path: b"/".to_vec(), depth: 0, metadata, parent: None, kept: Prefetched::default() })
        }
        Ok(_) => {
            outcome.problems.push(("/".to_string(), "the root is not a directory".to_string()));
            None
        }
        Err(error) => {
            outcome.problems.push(("/".to_string(), format!("cannot read the root directory: {error}")));
            None
        }
    }
}

/// List one directory, sorted by name: part 0 of its result (a listing or cycle problem),
/// and its entries unless it cannot or must not be walked.
fn list_directory(filesystem: &dyn Filesystem, directory: Pending) -> (Part, Option<(Listed, Vec<EntryWithMetadata>)>) {
    let mut outcome = WalkOutcome::default();
    let listing = filesystem.read_dir_with_metadata(&directory.path);
    // Listed: what was kept for it can go.
    drop(directory.kept);
    let mut entries = match listing {
        Ok(entries) => entries,
        Err(error) => {
            outcome.problems.push((path::display(&directory.path), format!("cannot list directory: {error}")));
            return (Part { path: directory.path, part: 0, outcome }, None);
        }
    };
    // Sorted so results and problems come out in the same order on every run.
    entries.sort_by(|left, right| left.0.name.cmp(&right.0.name));
    let listing = listing_hash(entries.iter().map(|(entry, _)| entry.name.as_slice()));
    let first_subdirectory = entries
        .iter()
        .find(|(_, metadata)| metadata.as_ref().is_ok_and(|metadata| metadata.file_type == FileType::Directory))
        .map(|(entry, _)| entry.name.clone());
    if directory.metadata.identity.is_none()
        && repeats_ancestor(
            filesystem,
            directory.parent.as_deref(),
            &directory.path,
            (directory.metadata.fingerprint, listing),
            first_subdirectory.as_deref(),
        )
    {
        outcome.problems.push((
            path::display(&directory.path),
            "directory repeats an ancestor (a directory cycle); skipped".to_string(),
        ));
        return (Part { path: directory.path, part: 0, outcome }, None);
    }
    let kept = filesystem.keep_directory(&directory.path);
    let here = Arc::new(Ancestor {
        path: directory.path.clone(),
        fingerprint: directory.metadata.fingerprint,
        listing,
        parent: directory.parent.clone(),
        _kept: kept,
    });
    let listed = Listed { path: directory.path.clone(), depth: directory.depth, here };
    (Part { path: directory.path, part: 0, outcome }, Some((listed, entries)))
}

/// When a walk lists the subdirectories it finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Queued {
    /// Next, one after another (the sequential walk): nothing to keep for them (their
    /// ancestors' blocks are kept, as in any walk).
    Now,
    /// When a walker takes them from the shared stack, maybe much later: their blocks are
    /// kept meanwhile (over EBS, small sibling directories share 512 KiB blocks that the
    /// cache would otherwise evict between their listings).
    Later,
}

/// Offer the regular files among `entries` (of the directory `listed`) to the catalogers;
/// return what that found and the subdirectories to walk (in name order).
fn handle_entries(
    filesystem: &dyn Filesystem,
    catalogers: &[Box<dyn Cataloger>],
    context: &CatalogContext<'_>,
    skipped: &SkippedDirectories,
    listed: &Listed,
    entries: Vec<EntryWithMetadata>,
    queued: Queued,
) -> (WalkOutcome, Vec<Pending>) {
    let mut outcome = WalkOutcome::default();
    let mut subdirectories = Vec::new();
    for (entry, metadata) in entries {
        outcome.files_visited += 1;
        let child = path::join(&listed.path, &entry.name);
        let metadata = match metadata {
            Ok(metadata) => metadata,
            Err(error) => {
                outcome.problems.push((path::display(&child), format!("cannot read metadata: {error}")));
                continue;
            }
        };
        match metadata.file_type {
            FileType::Directory => {
                if listed.depth == 0 && PSEUDO_FILESYSTEMS.contains(&child.as_slice()) {
                    continue;
                }
                if skipped.contains(&child) {
                    outcome.skipped.push(path::display(&child));
                    continue;
                }
                if listed.depth + 1 >= MAX_DEPTH {
                    outcome
                        .problems
                        .push((path::display(&child), format!("deeper than {MAX_DEPTH} levels; not walked")));
                    continue;
                }
                let kept = match queued {
                    Queued::Later => filesystem.keep_directory(&child),
                    Queued::Now => Prefetched::default(),
                };
                subdirectories.push(Pending {
                    path: child,
                    depth: listed.depth + 1,
                    metadata,
                    parent: Some(Arc::clone(&listed.here)),
                    kept,
                });
            }
            FileType::Regular => offer(filesystem, catalogers, context, &child, &metadata, &mut outcome),
            _ => {}
        }
    }
    (outcome, subdirectories)
}

fn listing_hash<'a>(names: impl Iterator<Item = &'a [u8]>) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    for name in names {
        name.hash(&mut hasher);
    }
    hasher.finish()
}

/// Whether the directory at `path` is one of its ancestors again. Equal inode fingerprints
/// and listings make a suspect; real trees have look-alikes (Debian's maven-repo has
/// `jansi/jansi`, one entry each, same times), so a suspect must also agree one level
/// deeper: its first subdirectory must list what the ancestor's same-named one lists. A
/// directory with no subdirectory cannot lead the walk round a cycle, so it is walked.
fn repeats_ancestor(
    filesystem: &dyn Filesystem,
    mut ancestor: Option<&Ancestor>,
    path: &[u8],
    (fingerprint, listing): (u64, u64),
    first_subdirectory: Option<&[u8]>,
) -> bool {
    let Some(subdirectory) = first_subdirectory else { return false };
    let deeper_listing = |directory: &[u8]| {
        let mut names: Vec<Vec<u8>> = filesystem
            .read_dir(&path::join(directory, subdirectory))
            .ok()?
            .into_iter()
            .map(|entry| entry.name)
            .collect();
        names.sort();
        Some(listing_hash(names.iter().map(Vec::as_slice)))
    };
    while let Some(current) = ancestor {
        if current.fingerprint == fingerprint && current.listing == listing {
            let here = deeper_listing(path);
            if here.is_some() && here == deeper_listing(&current.path) {
                return true;
            }
        }
        ancestor = current.parent.as_deref();
    }
    false
}

/// Offer one regular file to every cataloger; open it once if any wants it.
fn offer(
    filesystem: &dyn Filesystem,
    catalogers: &[Box<dyn Cataloger>],
    context: &CatalogContext<'_>,
    file_path: &[u8],
    metadata: &Metadata,
    outcome: &mut WalkOutcome,
) {
    // Only executables need the answer, and it may mean waiting for dpkg's file lists.
    let could_be_executable =
        crate::archive::elf::could_be_executable(metadata.file_type, metadata.mode, metadata.size);
    let installed_by_native_package =
        could_be_executable && context.dpkg_files().is_some_and(|files| files.installed_by_native_package(file_path));
    let candidate = Candidate {
        path: file_path,
        file_type: metadata.file_type,
        size: metadata.size,
        mode: metadata.mode,
        installed_by_native_package,
    };
    if installed_by_native_package {
        outcome.native_executables += 1;
    }
    let wanting: Vec<&dyn Cataloger> =
        catalogers.iter().map(Box::as_ref).filter(|cataloger| cataloger.wants(&candidate)).collect();
    if wanting.is_empty() {
        return;
    }
    let display = path::display(file_path);
    let mut reader = match filesystem.open(file_path) {
        Ok(reader) => reader,
        Err(error) => {
            outcome.problems.push((display, format!("cannot open: {error}")));
            return;
        }
    };
    outcome.files_read += 1;
    for cataloger in wanting {
        let mut file = WantedFile { path: file_path, reader: reader.as_mut() };
        let catalogued = cataloger.catalog(&mut file, context);
        outcome.packages.extend(catalogued.packages);
        outcome.problems.extend(
            catalogued
                .problems
                .into_iter()
                .map(|problem| (display.clone(), format!("{}: {problem}", cataloger.name()))),
        );
    }
}

/// Every path below `/` with its metadata, depth-first in name order; for tests and
/// manifests. Problems are returned beside the listing, as in [`walk`].
pub fn list(filesystem: &dyn Filesystem) -> (Vec<(Vec<u8>, Metadata)>, Vec<Problem>) {
    let mut listed = Vec::new();
    let mut problems = Vec::new();
    let mut stack = vec![(b"/".to_vec(), 0usize)];
    let mut seen: HashSet<u64> = HashSet::new();
    while let Some((directory, depth)) = stack.pop() {
        match filesystem.read_dir_with_metadata(&directory) {
            Ok(mut entries) => {
                entries.sort_by(|left, right| right.0.name.cmp(&left.0.name));
                for (entry, metadata) in entries {
                    let child = path::join(&directory, &entry.name);
                    match metadata {
                        Ok(metadata) => {
                            let fresh = metadata.identity.is_none_or(|identity| {
                                metadata.file_type != FileType::Directory || seen.insert(identity)
                            });
                            if metadata.file_type == FileType::Directory && fresh && depth + 1 < MAX_DEPTH {
                                stack.push((child.clone(), depth + 1));
                            }
                            listed.push((child, metadata));
                        }
                        Err(error) => problems.push((path::display(&child), error.to_string())),
                    }
                }
            }
            Err(error) => problems.push((path::display(&directory), error.to_string())),
        }
    }
    listed.sort_by(|left, right| left.0.cmp(&right.0));
    (listed, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::dpkg_files::DpkgFiles;
    use crate::catalog::testing::context;
    use crate::catalog::{Catalogued, Later};
    use crate::fs::FsError;
    use crate::fs::testing::MemoryFilesystem;

    struct Wanting(&'static str);
    impl Cataloger for Wanting {
        fn name(&self) -> &'static str {
            "test"
        }
        fn wants(&self, candidate: &Candidate<'_>) -> bool {
            candidate.file_name().starts_with(self.0.as_bytes())
        }
        fn catalog(&self, file: &mut WantedFile<'_>, _context: &CatalogContext<'_>) -> Catalogued {
            let bytes = file.bytes(1024).unwrap_or_default();
            Catalogued::problem(format!("read {} bytes", bytes.len()))
        }
    }

    #[test]
    fn reads_only_wanted_files_and_skips_pseudo_filesystems() {
        let mut filesystem = MemoryFilesystem::new();
        filesystem
            .file("/a/wanted", b"12345")
            .file("/b/c/wanted", b"1")
            .file("/b/other", b"x")
            .file("/proc/wanted", b"never")
            .symlink("/link", "/a");
        let catalogers: Vec<Box<dyn Cataloger>> = vec![Box::new(Wanting("wanted"))];
        let outcome = walk(&filesystem, &catalogers, &context(&filesystem), &SkippedDirectories::default());
        assert_eq!(outcome.files_read, 2);
        assert_eq!(
            outcome.problems,
            vec![
                ("/a/wanted".to_string(), "test: read 5 bytes".to_string()),
                ("/b/c/wanted".to_string(), "test: read 1 bytes".to_string())
            ]
        );
    }

    #[test]
    fn a_native_packages_executables_are_counted_and_not_opened_by_binary_catalogers() {
        use crate::fs::testing::Node;
        let mut filesystem = MemoryFilesystem::new();
        let stanza = |name: &str, maintainer: &str| {
            format!("Package: {name}\nStatus: install ok installed\nVersion: 1\nMaintainer: {maintainer}\n\n")
        };
        let status =
            stanza("bash", "Matthias Klose <doko@debian.org>") + &stanza("agent", "Vendor <ops@vendor.example>");
        let script = [b"#!/bin/sh\n".as_slice(), &[b'#'; 4096]].concat();
        filesystem
            .file("/var/lib/dpkg/status", status.as_bytes())
            .file("/var/lib/dpkg/info/bash.list", b"/usr/bin/bash\n")
            .file("/var/lib/dpkg/info/agent.list", b"/usr/bin/agent\n")
            .add("/usr/bin/bash", Node::File(script.clone(), 0o755))
            .add("/usr/bin/agent", Node::File(script.clone(), 0o755))
            .add("/usr/local/bin/tool", Node::File(script, 0o755));
        let dpkg_files = Later::ready(DpkgFiles::load(&filesystem).files);
        assert!(dpkg_files.get().is_some());
        let context = CatalogContext { dpkg_files: &dpkg_files, ..context(&filesystem) };
        let catalogers: Vec<Box<dyn Cataloger>> = vec![Box::new(crate::catalog::golang::GoCataloger)];
        let outcome = walk(&filesystem, &catalogers, &context, &SkippedDirectories::default());
        assert_eq!(outcome.native_executables, 1);
        // The vendor's agent and the unowned tool are opened; bash is not.
        assert_eq!(outcome.files_read, 2, "{:?}", outcome.problems);
        let without = walk(&filesystem, &catalogers, &self::context(&filesystem), &SkippedDirectories::default());
        assert_eq!((without.native_executables, without.files_read), (0, 3));
    }

    #[test]
    fn skipped_directories_are_not_entered_and_are_reported() {
        let tree = || {
            let mut filesystem = MemoryFilesystem::new();
            filesystem
                .file("/usr/share/doc/tool/wanted", b"1")
                .file("/usr/share/docs/wanted", b"22")
                .file("/usr/share/man/man1/wanted", b"3")
                .file("/opt/usr/share/doc/wanted", b"444");
            filesystem
        };
        let filesystem = tree();
        let catalogers: Vec<Box<dyn Cataloger>> = vec![Box::new(Wanting("wanted"))];
        let skipped = SkippedDirectories::documentation();
        let outcome = walk(&filesystem, &catalogers, &context(&filesystem), &skipped);
        // Only the exact trees: a sibling with a longer name and the same path elsewhere are walked.
        let read: Vec<&str> = outcome.problems.iter().map(|(path, _)| path.as_str()).collect();
        assert_eq!(read, ["/opt/usr/share/doc/wanted", "/usr/share/docs/wanted"]);
        assert_eq!(outcome.skipped, ["/usr/share/doc", "/usr/share/man"]);
        let open = || Ok(Box::new(tree()) as Box<dyn Filesystem>);
        let parallel = walk_parallel(&filesystem, &open, 4, &catalogers, &context(&filesystem), &skipped);
        assert_eq!(parallel.skipped, outcome.skipped);
        assert_eq!(parallel.problems, outcome.problems);
        // A user's own list, written loosely, means the same directories.
        let own = SkippedDirectories::new(["/opt//usr/share/doc/"]);
        assert!(own.contains(b"/opt/usr/share/doc"));
        assert!(!own.contains(b"/opt/usr/share"));
        let everything = walk(&filesystem, &catalogers, &context(&filesystem), &SkippedDirectories::default());
        assert_eq!(everything.files_read, 4);
        assert!(everything.skipped.is_empty());
    }

    #[test]
    fn list_gives_every_path() {
        let mut filesystem = MemoryFilesystem::new();
        filesystem.file("/a/b", b"1").symlink("/c", "a");
        let (listed, problems) = list(&filesystem);
        let paths: Vec<String> = listed.iter().map(|(path, _)| path::display(path)).collect();
        assert_eq!(paths, vec!["/a", "/a/b", "/c"]);
        assert!(problems.is_empty());
    }

    /// A filesystem whose `/loop` directory is `/` again, as a corrupt entry would make it.
    struct Looping(MemoryFilesystem);
    impl Filesystem for Looping {
        fn kind(&self) -> &'static str {
            "looping"
        }
        fn uuid(&self) -> Option<String> {
            None
        }
        fn label(&self) -> Option<String> {
            None
        }
        fn symlink_metadata(&self, path: &[u8]) -> Result<Metadata, FsError> {
            let tail = strip_loops(path);
            let mut metadata = self.0.symlink_metadata(&tail)?;
            metadata.fingerprint = tail.len() as u64;
            Ok(metadata)
        }
        fn read_dir(&self, path: &[u8]) -> Result<Vec<crate::fs::DirEntry>, FsError> {
            let mut entries = self.0.read_dir(&strip_loops(path))?;
            if strip_loops(path) == b"/" {
                entries.push(crate::fs::DirEntry { name: b"loop".to_vec(), file_type: Some(FileType::Directory) });
            }
            Ok(entries)
        }
        fn read_link(&self, path: &[u8]) -> Result<Vec<u8>, FsError> {
            self.0.read_link(&strip_loops(path))
        }
        fn open(&self, path: &[u8]) -> Result<Box<dyn crate::fs::FileReader + '_>, FsError> {
            self.0.open(&strip_loops(path))
        }
    }

    /// A filesystem that counts the directories it is asked to keep, and how many of those
    /// guards are still alive.
    struct Keeping {
        inner: MemoryFilesystem,
        kept: Arc<Mutex<Vec<Vec<u8>>>>,
        alive: Arc<std::sync::atomic::AtomicUsize>,
    }
    struct KeptGuard(Arc<std::sync::atomic::AtomicUsize>);
    impl Drop for KeptGuard {
        fn drop(&mut self) {
            self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
    impl Filesystem for Keeping {
        fn kind(&self) -> &'static str {
            "keeping"
        }
        fn uuid(&self) -> Option<String> {
            None
        }
        fn label(&self) -> Option<String> {
            None
        }
        fn symlink_metadata(&self, path: &[u8]) -> Result<Metadata, FsError> {
            self.inner.symlink_metadata(path)
        }
        fn read_dir(&self, path: &[u8]) -> Result<Vec<crate::fs::DirEntry>, FsError> {
            self.inner.read_dir(path)
        }
        fn read_link(&self, path: &[u8]) -> Result<Vec<u8>, FsError> {
            self.inner.read_link(path)
        }
        fn open(&self, path: &[u8]) -> Result<Box<dyn crate::fs::FileReader + '_>, FsError> {
            self.inner.open(path)
        }
        fn keep_directory(&self, path: &[u8]) -> Prefetched {
            self.kept.lock().unwrap().push(path.to_vec());
            self.alive.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Prefetched::holding(vec![Box::new(KeptGuard(Arc::clone(&self.alive)))])
        }
    }

    #[test]
    fn a_parallel_walk_keeps_what_waits_and_lets_go_once_walked() {
        let kept = Arc::new(Mutex::new(Vec::new()));
        let alive = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let keeping = || Keeping { inner: wide_tree(), kept: Arc::clone(&kept), alive: Arc::clone(&alive) };
        let filesystem = keeping();
        let catalogers: Vec<Box<dyn Cataloger>> = vec![Box::new(Wanting("wanted"))];
        let context = context(&filesystem);
        let skipped = SkippedDirectories::default();
        let sequential = walk(&filesystem, &catalogers, &context, &skipped);
        // A sequential walk lists each directory at once: only ancestors are kept.
        let listed = kept.lock().unwrap().len();
        assert_eq!(alive.load(std::sync::atomic::Ordering::SeqCst), 0);
        kept.lock().unwrap().clear();
        let open = || Ok(Box::new(keeping()) as Box<dyn Filesystem>);
        let parallel = walk_parallel(&filesystem, &open, 4, &catalogers, &context, &skipped);
        assert_eq!(parallel.problems, sequential.problems);
        // Every directory is kept twice: while it waits in the queue, and while its
        // subdirectories do (the root, never queued, only the second way).
        let mut kept = kept.lock().unwrap().clone();
        kept.sort();
        let directories = kept.iter().filter(|path| path.as_slice() != b"/").count();
        assert_eq!(kept.iter().filter(|path| path.as_slice() == b"/").count(), 1);
        assert_eq!(directories, 2 * (listed - 1), "{kept:?}");
        assert!(kept.contains(&b"/d0/m0/deep/er".to_vec()));
        assert_eq!(alive.load(std::sync::atomic::Ordering::SeqCst), 0, "every guard was let go");
    }

    fn strip_loops(path: &[u8]) -> Vec<u8> {
        let parts: Vec<Vec<u8>> = path::components(path).filter(|part| *part != b"loop").map(<[u8]>::to_vec).collect();
        path::join_components(&parts)
    }

    #[test]
    fn look_alike_nested_directories_are_not_a_cycle() {
        // Every MemoryFilesystem inode has the same fingerprint, and /org/jansi lists just
        // what /org lists (one `jansi`), as in Debian's maven-repo.
        let mut filesystem = MemoryFilesystem::new();
        filesystem.file("/org/jansi/jansi/1.18/wanted", b"1");
        let catalogers: Vec<Box<dyn Cataloger>> = vec![Box::new(Wanting("wanted"))];
        let outcome = walk(&filesystem, &catalogers, &context(&filesystem), &SkippedDirectories::default());
        assert_eq!(outcome.files_read, 1, "{:?}", outcome.problems);
    }

    /// A tree wide and deep enough that several walkers share it, with wanted files (which
    /// report a problem each, so order shows) at every level.
    fn wide_tree() -> MemoryFilesystem {
        let mut filesystem = MemoryFilesystem::new();
        for top in 0..6 {
            for middle in 0..7 {
                filesystem.file(&format!("/d{top}/wanted"), b"top");
                filesystem.file(&format!("/d{top}/m{middle}/wanted"), b"middle!");
                filesystem.file(&format!("/d{top}/m{middle}/deep/er/wanted"), b"deep");
                filesystem.file(&format!("/d{top}/m{middle}/other"), b"x");
            }
        }
        filesystem.file("/d-sibling/wanted", b"sorts after /d/ as bytes, before it as paths");
        // One directory large enough to be shared out in several parts, with subdirectories
        // between its files.
        for number in 0..100 {
            filesystem.file(&format!("/many/wanted{number:03}"), &vec![b'x'; number]);
            if number % 10 == 0 {
                filesystem.file(&format!("/many/wanted{number:03}-directory/wanted"), b"below");
            }
        }
        filesystem
    }

    #[test]
    fn parallel_walk_equals_the_sequential_walk() {
        let filesystem = wide_tree();
        let catalogers: Vec<Box<dyn Cataloger>> = vec![Box::new(Wanting("wanted"))];
        let sequential = walk(&filesystem, &catalogers, &context(&filesystem), &SkippedDirectories::default());
        assert_eq!(sequential.files_read, 6 + 6 * 7 * 2 + 1 + 100 + 10);
        let open = || Ok(Box::new(wide_tree()) as Box<dyn Filesystem>);
        for walkers in [2, 5, 16] {
            let parallel = walk_parallel(
                &filesystem,
                &open,
                walkers,
                &catalogers,
                &context(&filesystem),
                &SkippedDirectories::default(),
            );
            assert_eq!(parallel.problems, sequential.problems, "{walkers} walkers");
            assert_eq!(parallel.files_visited, sequential.files_visited);
            assert_eq!(parallel.files_read, sequential.files_read);
            assert_eq!(format!("{:?}", parallel.packages), format!("{:?}", sequential.packages));
        }
    }

    #[test]
    fn parallel_walk_finishes_when_other_walkers_cannot_open() {
        let filesystem = wide_tree();
        let catalogers: Vec<Box<dyn Cataloger>> = vec![Box::new(Wanting("wanted"))];
        let sequential = walk(&filesystem, &catalogers, &context(&filesystem), &SkippedDirectories::default());
        let open = || Err(FsError::Corrupt("no second handle".to_string()));
        let parallel =
            walk_parallel(&filesystem, &open, 8, &catalogers, &context(&filesystem), &SkippedDirectories::default());
        assert_eq!(parallel.problems, sequential.problems);
    }

    /// Directories with inode numbers where `/b/same` is `/a/same` again (a hard-linked
    /// directory, as a corrupt image can have).
    struct HardLinked(MemoryFilesystem);
    impl Filesystem for HardLinked {
        fn kind(&self) -> &'static str {
            "hard-linked"
        }
        fn uuid(&self) -> Option<String> {
            None
        }
        fn label(&self) -> Option<String> {
            None
        }
        fn symlink_metadata(&self, path: &[u8]) -> Result<Metadata, FsError> {
            let mut metadata = self.0.symlink_metadata(path)?;
            let identity_path = if path.ends_with(b"/same") { b"same".as_slice() } else { path };
            metadata.identity = Some(listing_hash(std::iter::once(identity_path)));
            Ok(metadata)
        }
        fn read_dir(&self, path: &[u8]) -> Result<Vec<crate::fs::DirEntry>, FsError> {
            self.0.read_dir(path)
        }
        fn read_link(&self, path: &[u8]) -> Result<Vec<u8>, FsError> {
            self.0.read_link(path)
        }
        fn open(&self, path: &[u8]) -> Result<Box<dyn crate::fs::FileReader + '_>, FsError> {
            self.0.open(path)
        }
    }

    #[test]
    fn parallel_walk_of_a_repeated_directory_reports_as_the_sequential_walk() {
        let build = || {
            let mut inner = wide_tree();
            inner.file("/a/same/wanted", b"1").file("/b/same/wanted", b"1");
            HardLinked(inner)
        };
        let filesystem = build();
        let catalogers: Vec<Box<dyn Cataloger>> = vec![Box::new(Wanting("wanted"))];
        let context = context(&filesystem);
        let sequential = walk(&filesystem, &catalogers, &context, &SkippedDirectories::default());
        assert!(
            sequential.problems.iter().any(|(path, message)| path == "/b/same" && message.contains("already walked"))
        );
        let open = || Ok(Box::new(build()) as Box<dyn Filesystem>);
        let parallel = walk_parallel(&filesystem, &open, 4, &catalogers, &context, &SkippedDirectories::default());
        assert_eq!(parallel.problems, sequential.problems);
    }

    #[test]
    fn a_directory_cycle_is_reported_not_followed() {
        let mut inner = MemoryFilesystem::new();
        inner.file("/etc/wanted", b"1");
        let filesystem = Looping(inner);
        let catalogers: Vec<Box<dyn Cataloger>> = vec![Box::new(Wanting("wanted"))];
        let context = context(&filesystem);
        let outcome = walk(&filesystem, &catalogers, &context, &SkippedDirectories::default());
        assert_eq!(outcome.files_read, 1);
        assert!(
            outcome.problems.iter().any(|(path, message)| path == "/loop" && message.contains("cycle")),
            "{:?}",
            outcome.problems
        );
    }
}
