//! The one walk over a filesystem: every directory is listed once, every regular file is
//! offered to every cataloger's pure `wants`, and only wanted files are opened.
//!
//! Symlinks are never followed while walking (a link to `/` would otherwise repeat the
//! tree). Hostile images can still loop: a corrupt directory entry may point back at an
//! ancestor. Where the filesystem gives inode numbers the walk never lists one directory
//! twice; where it cannot (ext4-view hides them) a directory whose inode fingerprint *and*
//! listing equal an ancestor's is taken as that ancestor. Depth is capped as a last guard.

use super::{FileType, Filesystem, Metadata, path};
use crate::catalog::{Candidate, CatalogContext, Cataloger, Package, WantedFile};
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

/// Deepest directory nesting walked (Linux paths max out at 4096 bytes anyway).
pub const MAX_DEPTH: usize = 512;

/// Top-level directories holding kernel pseudo-filesystems on a live system.
const PSEUDO_FILESYSTEMS: [&[u8]; 3] = [b"/proc", b"/sys", b"/dev"];

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
}

/// A directory being walked, with what identifies its ancestors for cycle checks.
struct Ancestor {
    fingerprint: u64,
    listing: u64,
    parent: Option<Rc<Ancestor>>,
}

struct Pending {
    path: Vec<u8>,
    depth: usize,
    metadata: Metadata,
    parent: Option<Rc<Ancestor>>,
}

/// Walk `filesystem` from `/`, cataloging as it goes.
pub fn walk(
    filesystem: &dyn Filesystem,
    catalogers: &[Box<dyn Cataloger>],
    context: &CatalogContext<'_>,
) -> WalkOutcome {
    let mut outcome = WalkOutcome::default();
    let root = match filesystem.symlink_metadata(b"/") {
        Ok(metadata) if metadata.file_type == FileType::Directory => metadata,
        Ok(_) => {
            outcome.problems.push(("/".to_string(), "the root is not a directory".to_string()));
            return outcome;
        }
        Err(error) => {
            outcome.problems.push(("/".to_string(), format!("cannot read the root directory: {error}")));
            return outcome;
        }
    };
    let mut seen_identities: HashSet<u64> = HashSet::new();
    let mut stack = vec![Pending { path: b"/".to_vec(), depth: 0, metadata: root, parent: None }];
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
        let mut entries = match filesystem.read_dir_with_metadata(&directory.path) {
            Ok(entries) => entries,
            Err(error) => {
                outcome.problems.push((path::display(&directory.path), format!("cannot list directory: {error}")));
                continue;
            }
        };
        // Sorted so results and problems come out in the same order on every run.
        entries.sort_by(|left, right| left.0.name.cmp(&right.0.name));
        let listing = listing_hash(entries.iter().map(|(entry, _)| entry.name.as_slice()));
        if directory.metadata.identity.is_none()
            && repeats_ancestor(directory.parent.as_deref(), directory.metadata.fingerprint, listing)
        {
            outcome.problems.push((
                path::display(&directory.path),
                "directory repeats an ancestor (a directory cycle); skipped".to_string(),
            ));
            continue;
        }
        let here = Rc::new(Ancestor {
            fingerprint: directory.metadata.fingerprint,
            listing,
            parent: directory.parent.clone(),
        });
        let mut subdirectories = Vec::new();
        for (entry, metadata) in entries {
            outcome.files_visited += 1;
            let child = path::join(&directory.path, &entry.name);
            let metadata = match metadata {
                Ok(metadata) => metadata,
                Err(error) => {
                    outcome.problems.push((path::display(&child), format!("cannot read metadata: {error}")));
                    continue;
                }
            };
            match metadata.file_type {
                FileType::Directory => {
                    if directory.depth == 0 && PSEUDO_FILESYSTEMS.contains(&child.as_slice()) {
                        continue;
                    }
                    if directory.depth + 1 >= MAX_DEPTH {
                        outcome
                            .problems
                            .push((path::display(&child), format!("deeper than {MAX_DEPTH} levels; not walked")));
                        continue;
                    }
                    subdirectories.push(Pending {
                        path: child,
                        depth: directory.depth + 1,
                        metadata,
                        parent: Some(Rc::clone(&here)),
                    });
                }
                FileType::Regular => offer(filesystem, catalogers, context, &child, &metadata, &mut outcome),
                _ => {}
            }
        }
        // Reverse so the stack pops them in name order (depth-first, sorted).
        stack.extend(subdirectories.into_iter().rev());
    }
    outcome
}

fn listing_hash<'a>(names: impl Iterator<Item = &'a [u8]>) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    for name in names {
        name.hash(&mut hasher);
    }
    hasher.finish()
}

fn repeats_ancestor(mut ancestor: Option<&Ancestor>, fingerprint: u64, listing: u64) -> bool {
    while let Some(current) = ancestor {
        if current.fingerprint == fingerprint && current.listing == listing {
            return true;
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
    let candidate =
        Candidate { path: file_path, file_type: metadata.file_type, size: metadata.size, mode: metadata.mode };
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
    use crate::catalog::Catalogued;
    use crate::fs::FsError;
    use crate::fs::testing::MemoryFilesystem;

    struct Wanting(&'static str);
    impl Cataloger for Wanting {
        fn name(&self) -> &'static str {
            "test"
        }
        fn wants(&self, candidate: &Candidate<'_>) -> bool {
            candidate.file_name() == self.0.as_bytes()
        }
        fn catalog(&self, file: &mut WantedFile<'_>, _context: &CatalogContext<'_>) -> Catalogued {
            let bytes = file.bytes(1024).unwrap_or_default();
            Catalogued::problem(format!("read {} bytes", bytes.len()))
        }
    }

    fn context(filesystem: &MemoryFilesystem) -> CatalogContext<'_> {
        CatalogContext { filesystem, distro: None, volume: "disk", partition: None }
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
        let outcome = walk(&filesystem, &catalogers, &context(&filesystem));
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

    fn strip_loops(path: &[u8]) -> Vec<u8> {
        let parts: Vec<Vec<u8>> = path::components(path).filter(|part| *part != b"loop").map(<[u8]>::to_vec).collect();
        path::join_components(&parts)
    }

    #[test]
    fn a_directory_cycle_is_reported_not_followed() {
        let mut inner = MemoryFilesystem::new();
        inner.file("/etc/wanted", b"1");
        let filesystem = Looping(inner);
        let catalogers: Vec<Box<dyn Cataloger>> = vec![Box::new(Wanting("wanted"))];
        let context = CatalogContext { filesystem: &filesystem, distro: None, volume: "disk", partition: None };
        let outcome = walk(&filesystem, &catalogers, &context);
        assert_eq!(outcome.files_read, 1);
        assert!(
            outcome.problems.iter().any(|(path, message)| path == "/loop" && message.contains("cycle")),
            "{:?}",
            outcome.problems
        );
    }
}
