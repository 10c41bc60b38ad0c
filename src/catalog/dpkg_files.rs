//! Which dpkg package installed each path: dpkg's file lists
//! (`/var/lib/dpkg/info/<package>[:<arch>].list`), read once per filesystem, before the walk
//! or, with several walkers, beside it (see `scan::scan_volume`).
//!
//! Two things use it:
//! - The ownership fold ([`super::ownership`]) drops a language package that a dpkg
//!   package installed.
//! - The binary catalogers (Go, cargo-auditable) do not open an executable that a *native
//!   distro package* installed ([`DpkgFiles::installed_by_native_package`]). Such a
//!   package was built by the distro from C-family sources: its code is covered by the
//!   distro's own advisories, and it embeds no Go or Rust modules to find. On the bench's
//!   8 GiB root volume those 1,100 executables were a third of the blocks a snapshot scan
//!   fetched (975 → 659 at concurrency 1), and opening them found nothing.
//!
//! A package counts as native only on positive evidence, so that a third party's `.deb`
//! (Docker's, a vendor agent's) whose Go binaries Debian's advisories know nothing about is
//! still opened:
//! - its `Maintainer:` address is the distro's (a `debian.org`, `debian.net`, `ubuntu.com`
//!   or `canonical.com` domain), and
//! - its `Built-Using:` and `Static-Built-Using:` name no Go or Rust toolchain or crate
//!   (Debian's `dh-golang` and `dh-cargo` always record them there).
//!
//! `--all-packages` turns both uses off. rpm databases record neither fact, so on rpm
//! systems every executable is still opened.

use super::dpkg::{StatusEntry, parse_status};
use super::{DEFAULT_READ_LIMIT, Ecosystem};
use crate::fs::{self, Filesystem, FsError, path};
use std::collections::{HashMap, HashSet};

/// dpkg's directory, and its database of installed packages there.
const DPKG_DIRECTORY: &[u8] = b"/var/lib/dpkg";
const STATUS_NAME: &[u8] = b"status";
/// Where dpkg keeps one `<package>.list` of installed paths per package.
const INFO_DIRECTORY: &[u8] = b"/var/lib/dpkg/info";
/// Largest file list read (a big package lists a few MiB of paths).
const LIST_READ_LIMIT: u64 = 32 * 1024 * 1024;
/// Most path bytes kept for one filesystem; a Debian system with thousands of packages
/// lists well under 20 MiB.
const PATH_BYTES_LIMIT: usize = 128 * 1024 * 1024;
/// Top-level directories that a merged-`/usr` system makes symlinks into `/usr`. Lists
/// written before the merge say `/bin/ls` for what the walk finds at `/usr/bin/ls`.
const MERGED_INTO_USR: [&[u8]; 6] = [b"bin", b"sbin", b"lib", b"lib32", b"lib64", b"libx32"];
/// Maintainer address domains of distro-built packages (and their subdomains).
const DISTRO_MAINTAINER_DOMAINS: [&str; 4] = ["debian.org", "debian.net", "ubuntu.com", "canonical.com"];

/// The package behind one file list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListOwner {
    /// Always [`Ecosystem::Deb`]; kept so owners compare with packages directly.
    pub ecosystem: Ecosystem,
    /// Package name.
    pub name: String,
    /// Architecture, when the list is named `<package>:<arch>.list`.
    pub architecture: Option<String>,
    /// Built by the distro without Go or Rust (see the module comment).
    pub native: bool,
}

/// Every listed path with the package whose list named it first (lists in name order).
#[derive(Debug, Default)]
pub struct DpkgFiles {
    owners: Vec<ListOwner>,
    paths: HashMap<Box<[u8]>, u32>,
}

/// What loading found: the file database, when the filesystem has dpkg's, and problems.
#[derive(Debug, Default)]
pub struct Loaded {
    /// `None` without `/var/lib/dpkg/status`, or when it or the lists could not be used.
    pub files: Option<DpkgFiles>,
    /// Problems as (path, message); the scan goes on without what they concern.
    pub problems: Vec<(String, String)>,
}

impl DpkgFiles {
    /// Read dpkg's status and file lists from `filesystem`.
    pub fn load(filesystem: &dyn Filesystem) -> Loaded {
        let mut loaded = Loaded::default();
        // Over EBS each step is a round trip or more: ask for the status file's blocks, and
        // list the info directory and ask for every list's blocks, before reading the status,
        // so that its blocks and the lists' arrive together.
        let _status_prefetched = filesystem.prefetch_files(DPKG_DIRECTORY, &[STATUS_NAME]);
        let listing = filesystem.read_dir(INFO_DIRECTORY);
        let mut lists: Vec<Vec<u8>> = match &listing {
            Ok(entries) => {
                entries.iter().map(|entry| &entry.name).filter(|name| name.ends_with(b".list")).cloned().collect()
            }
            Err(_) => Vec::new(),
        };
        // Sorted so that, should two packages list one path, the owner is stable.
        lists.sort();
        // Hundreds of small files read one after another: over EBS, fetch them all at once.
        let hinted: Vec<&[u8]> = lists.iter().map(Vec::as_slice).collect();
        let _prefetched = filesystem.prefetch_files(INFO_DIRECTORY, &hinted);
        let status_path = path::join(DPKG_DIRECTORY, STATUS_NAME);
        let status = match fs::read_capped(filesystem, &status_path, DEFAULT_READ_LIMIT) {
            Ok(bytes) => bytes,
            Err(FsError::NotFound) => return loaded,
            Err(error) => {
                loaded.problems.push((path::display(&status_path), format!("cannot read dpkg status: {error}")));
                return loaded;
            }
        };
        // The dpkg cataloger reports the status file's own problems.
        let (entries, _) = parse_status(&String::from_utf8_lossy(&status), false);
        let native: Vec<&StatusEntry> = entries.iter().filter(|entry| is_native(entry)).collect();
        let native_names: HashSet<&str> = native.iter().map(|entry| entry.name.as_str()).collect();
        let native_architectures: HashSet<(&str, &str)> =
            native.iter().filter_map(|entry| Some((entry.name.as_str(), entry.architecture.as_deref()?))).collect();
        match listing {
            Ok(_) => {}
            // No info directory: nothing is listed as installed.
            Err(FsError::NotFound) => {
                loaded.files = Some(DpkgFiles::default());
                return loaded;
            }
            Err(error) => {
                loaded.problems.push((path::display(INFO_DIRECTORY), format!("cannot list dpkg file lists: {error}")));
                return loaded;
            }
        }
        let aliases = merged_usr_aliases(filesystem);
        let mut files = DpkgFiles::default();
        let mut path_bytes = 0usize;
        for list in &lists {
            let stem = String::from_utf8_lossy(&list[..list.len() - b".list".len()]).into_owned();
            let (name, architecture) = match stem.split_once(':') {
                Some((name, architecture)) => (name.to_string(), Some(architecture.to_string())),
                None => (stem, None),
            };
            // dpkg names a list `<package>:<arch>.list` only for `Multi-Arch: same` packages.
            let is_native = match &architecture {
                Some(architecture) => native_architectures.contains(&(name.as_str(), architecture.as_str())),
                None => native_names.contains(name.as_str()),
            };
            let list_path = path::join(INFO_DIRECTORY, list);
            let bytes = match fs::read_capped(filesystem, &list_path, LIST_READ_LIMIT) {
                Ok(bytes) => bytes,
                Err(error) => {
                    loaded.problems.push((path::display(&list_path), format!("cannot read dpkg file list: {error}")));
                    continue;
                }
            };
            let Ok(index) = u32::try_from(files.owners.len()) else { break };
            files.owners.push(ListOwner { ecosystem: Ecosystem::Deb, name, architecture, native: is_native });
            for line in bytes.split(|byte| *byte == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.is_empty() {
                    continue;
                }
                let listed = canonical(line, &aliases);
                path_bytes = path_bytes.saturating_add(listed.len());
                files.paths.entry(listed.into_boxed_slice()).or_insert(index);
            }
            if path_bytes > PATH_BYTES_LIMIT {
                let message = format!(
                    "dpkg file lists name over {} MiB of paths; not used (language packages dpkg installed are \
                     reported as found, and every executable is opened)",
                    PATH_BYTES_LIMIT >> 20
                );
                loaded.problems.push((path::display(INFO_DIRECTORY), message));
                return loaded;
            }
        }
        tracing::debug!(lists = files.owners.len(), paths = files.paths.len(), "dpkg file lists read");
        loaded.files = Some(files);
        loaded
    }

    /// The package whose list names `path` (normalized, as the walk gives it).
    pub fn owner(&self, path: &[u8]) -> Option<&ListOwner> {
        let index = *self.paths.get(path)?;
        self.owners.get(usize::try_from(index).ok()?)
    }

    /// Whether a native distro package (built without Go or Rust) installed `path`.
    pub fn installed_by_native_package(&self, path: &[u8]) -> bool {
        self.owner(path).is_some_and(|owner| owner.native)
    }
}

/// Built by the distro, and without Go or Rust (see the module comment).
fn is_native(entry: &StatusEntry) -> bool {
    let distro_maintained = entry.maintainer.as_deref().and_then(email_domain).is_some_and(|domain| {
        DISTRO_MAINTAINER_DOMAINS.iter().any(|distro| {
            domain == *distro || domain.strip_suffix(distro).is_some_and(|subdomain| subdomain.ends_with('.'))
        })
    });
    distro_maintained && !entry.built_using.iter().any(|source| is_go_or_rust(source))
}

/// The lowercased domain of `Name <user@domain>`.
fn email_domain(maintainer: &str) -> Option<String> {
    let address = maintainer.rsplit_once('<')?.1.split_once('>')?.0;
    Some(address.rsplit_once('@')?.1.trim().to_ascii_lowercase())
}

/// A Go or Rust toolchain or library source package (`golang-1.19`,
/// `golang-golang-x-net`, `rustc`, `rust-regex`).
fn is_go_or_rust(source: &str) -> bool {
    source == "golang" || source.starts_with("golang-") || source == "rustc" || source.starts_with("rust-")
}

/// `(/bin/, /usr/bin/)` for each top-level directory that is a symlink into `/usr`.
fn merged_usr_aliases(filesystem: &dyn Filesystem) -> Vec<(Vec<u8>, Vec<u8>)> {
    MERGED_INTO_USR
        .iter()
        .filter_map(|name| {
            let top = path::join(b"/", name);
            let target = filesystem.read_link(&top).ok()?;
            let merged = path::join(b"/usr", name);
            let points_into_usr = path::normalize(&path::join(b"/", &target)) == merged;
            points_into_usr.then(|| ([top, b"/".to_vec()].concat(), [merged, b"/".to_vec()].concat()))
        })
        .collect()
}

/// A listed path as the walk would reach it: normalized, through merged-`/usr` symlinks.
fn canonical(listed: &[u8], aliases: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let normalized = path::normalize(listed);
    for (alias, merged) in aliases {
        if let Some(rest) = normalized.strip_prefix(alias.as_slice()) {
            return [merged.as_slice(), rest].concat();
        }
    }
    normalized
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::testing::MemoryFilesystem;

    const DEBIAN: &str = "Debian Bash Maintainers <pkg-bash-maint@lists.alioth.debian.org>";

    fn stanza(name: &str, maintainer: &str, extra: &str) -> String {
        format!(
            "Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0-1\n\
             Maintainer: {maintainer}\n{extra}\n"
        )
    }

    /// A merged-`/usr` Debian filesystem with a native C package, a Debian Go package, a
    /// Debian Rust package and a vendor's Go package.
    fn debian() -> MemoryFilesystem {
        let status = [
            stanza("bash", DEBIAN, ""),
            stanza(
                "gh",
                "Debian Go Packaging Team <team+pkg-go@tracker.debian.org>",
                "Built-Using: golang-1.19 (= 1.19.8-2), golang-golang-x-net (= 1:0.7.0-1)",
            ),
            stanza(
                "ripgrep",
                "Debian Rust Maintainers <pkg-rust-maintainers@alioth-lists.debian.net>",
                "Static-Built-Using: rust-regex (= 1.7.1-1), rustc (= 1.63.0)",
            ),
            stanza("docker-ce", "Docker <support@docker.example>", ""),
            stanza(
                "coreutils",
                "Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>",
                "Built-Using: gcc-12 (= 12.2.0-14)",
            ),
        ]
        .join("\n");
        let mut filesystem = MemoryFilesystem::new();
        filesystem.file("/var/lib/dpkg/status", status.as_bytes());
        filesystem.symlink("/bin", "usr/bin");
        filesystem.symlink("/lib64", "/usr/lib64");
        filesystem.file("/var/lib/dpkg/info/bash.list", b"/.\n/bin\n/bin/bash\n/usr/share/doc/bash\n");
        filesystem.file("/var/lib/dpkg/info/gh.list", b"/usr/bin/gh\n");
        filesystem.file("/var/lib/dpkg/info/ripgrep.list", b"/usr/bin/rg\n");
        filesystem.file("/var/lib/dpkg/info/docker-ce.list", b"/usr/bin/dockerd\n");
        filesystem.file("/var/lib/dpkg/info/coreutils:amd64.list", b"/bin/ls\r\n/lib64/ld.so\n/sbin/x\n");
        filesystem.file("/var/lib/dpkg/info/gone.list", b"/usr/bin/gone\n");
        filesystem
    }

    #[test]
    fn the_status_and_every_list_are_asked_for_before_either_is_read() {
        // Over EBS the status file's blocks and the lists' then arrive together, instead
        // of the lists waiting until the status has been read.
        let filesystem = debian();
        DpkgFiles::load(&filesystem);
        let calls = filesystem.calls.lock().unwrap().clone();
        assert_eq!(
            calls[..4],
            [
                "prefetch /var/lib/dpkg status",
                "read_dir /var/lib/dpkg/info",
                "prefetch /var/lib/dpkg/info bash.list coreutils:amd64.list docker-ce.list gh.list gone.list \
                 ripgrep.list",
                "open /var/lib/dpkg/status",
            ]
        );
    }

    #[test]
    fn native_means_distro_maintained_and_built_without_go_or_rust() {
        let loaded = DpkgFiles::load(&debian());
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        let files = loaded.files.expect("dpkg files");
        for (path, native) in [
            ("/usr/bin/bash", true),
            ("/usr/bin/ls", true),
            ("/usr/bin/gh", false),
            ("/usr/bin/rg", false),
            ("/usr/bin/dockerd", false),
            // A list whose package is no longer in the status owns, but is not native.
            ("/usr/bin/gone", false),
            ("/usr/local/bin/bash", false),
        ] {
            assert_eq!(files.installed_by_native_package(path.as_bytes()), native, "{path}");
        }
        assert_eq!(files.owner(b"/usr/bin/gone").map(|owner| owner.name.as_str()), Some("gone"));
        let coreutils = files.owner(b"/usr/bin/ls").expect("owner");
        assert_eq!((coreutils.name.as_str(), coreutils.architecture.as_deref()), ("coreutils", Some("amd64")));
    }

    #[test]
    fn merged_usr_symlinks_map_listed_paths_into_usr() {
        let files = DpkgFiles::load(&debian()).files.expect("dpkg files");
        // `/bin` and `/lib64` are symlinks into `/usr` (relative and absolute); `/sbin` is not.
        assert!(files.owner(b"/usr/bin/bash").is_some());
        assert!(files.owner(b"/bin/bash").is_none());
        assert!(files.owner(b"/usr/lib64/ld.so").is_some());
        assert!(files.owner(b"/sbin/x").is_some());
        assert!(files.owner(b"/usr/sbin/x").is_none());
        // The symlink itself, as listed, keeps its path.
        assert!(files.owner(b"/bin").is_some());
    }

    #[test]
    fn maintainer_domains_match_whole_labels() {
        let entry = |maintainer: &str| StatusEntry {
            name: "x".to_string(),
            version: "1".to_string(),
            maintainer: Some(maintainer.to_string()),
            ..StatusEntry::default()
        };
        assert!(is_native(&entry("Someone <someone@debian.org>")));
        assert!(is_native(&entry("Team <team@LISTS.Ubuntu.com>")));
        assert!(!is_native(&entry("Impostor <x@notdebian.org>")));
        assert!(!is_native(&entry("Impostor <x@debian.org.example>")));
        assert!(!is_native(&entry("No address")));
        assert!(!is_native(&StatusEntry { maintainer: None, ..entry("") }));
    }

    #[test]
    fn no_status_means_no_database_and_no_problem() {
        let mut filesystem = MemoryFilesystem::new();
        filesystem.file("/var/lib/dpkg/info/bash.list", b"/bin/bash\n");
        let loaded = DpkgFiles::load(&filesystem);
        assert!(loaded.files.is_none());
        assert!(loaded.problems.is_empty());
    }

    #[test]
    fn an_unreadable_list_is_a_problem_and_the_rest_still_load() {
        let mut filesystem = debian();
        filesystem.add("/var/lib/dpkg/info/broken.list", crate::fs::testing::Node::Directory);
        let loaded = DpkgFiles::load(&filesystem);
        assert_eq!(loaded.problems.len(), 1);
        assert_eq!(loaded.problems[0].0, "/var/lib/dpkg/info/broken.list");
        assert!(loaded.files.expect("dpkg files").installed_by_native_package(b"/usr/bin/bash"));
    }
}
