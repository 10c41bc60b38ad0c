//! Catalogers: turn files the walk offers into [`Package`]s.
//!
//! One walk offers every path to every cataloger's pure [`Cataloger::wants`]; only wanted
//! files are opened, and a cataloger reads only what it needs of them (whole bytes under a
//! cap, or positional reads for archives and binaries). Catalogers never traverse the tree;
//! they may read a named sibling through [`CatalogContext`]. A parser may return packages
//! *and* problems: problems become `Issue`s at the file's location and the scan goes on.

pub mod apk;
pub mod auditable;
pub mod cargo_lock;
pub mod dotnet;
pub mod dpkg;
pub mod dpkg_files;
pub mod golang;
pub mod java;
pub mod language;
pub mod npm;
pub mod ownership;
pub mod php;
pub mod python;
pub mod rpm;
pub mod ruby;

use crate::distro::Distro;
use crate::fs::{FileReader, FileType, Filesystem, FsError};
use serde::Serialize;
use std::sync::OnceLock;

/// Largest text database or manifest a cataloger reads whole by default (64 MiB).
pub const DEFAULT_READ_LIMIT: u64 = 64 * 1024 * 1024;

/// Package ecosystems, named by their purl type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    /// Debian packages (dpkg).
    Deb,
    /// RPM packages.
    Rpm,
    /// Alpine packages.
    Apk,
    /// Python packages.
    Pypi,
    /// Node.js packages.
    Npm,
    /// Java archives.
    Maven,
    /// Go modules.
    Golang,
    /// Rust crates.
    Cargo,
    /// Ruby gems.
    Gem,
    /// PHP Composer packages.
    Composer,
    /// .NET NuGet packages.
    Nuget,
}

impl Ecosystem {
    /// The purl type (`deb`, `pypi`, …).
    pub fn purl_type(self) -> &'static str {
        match self {
            Self::Deb => "deb",
            Self::Rpm => "rpm",
            Self::Apk => "apk",
            Self::Pypi => "pypi",
            Self::Npm => "npm",
            Self::Maven => "maven",
            Self::Golang => "golang",
            Self::Cargo => "cargo",
            Self::Gem => "gem",
            Self::Composer => "composer",
            Self::Nuget => "nuget",
        }
    }

    /// True for packages a distro's package manager installed.
    pub fn is_os(self) -> bool {
        matches!(self, Self::Deb | Self::Rpm | Self::Apk)
    }
}

/// Where a package was found: `vol-0abc/p2:/var/lib/dpkg/status`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    /// The volume: an image path or an EBS volume/snapshot id.
    pub volume: String,
    /// Partition number (1-based), `None` for a filesystem with no partition table.
    pub partition: Option<u32>,
    /// Absolute path inside the filesystem; `a.jar!/inner.jar` for nested archives.
    pub path: String,
}

impl std::fmt::Display for Location {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.partition {
            Some(number) => write!(formatter, "{}/p{}:{}", self.volume, number, self.path),
            None => write!(formatter, "{}:{}", self.volume, self.path),
        }
    }
}

/// Whether a package is installed or only named by a manifest or lockfile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    /// Installed on disk (package database, installed metadata, binary).
    Installed,
    /// Declared in a lockfile or manifest.
    Declared,
}

/// One installed (or declared) package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Package {
    /// Name for people (binary package name for OS packages).
    pub name: String,
    /// Version as the ecosystem writes it (dpkg `[epoch:]upstream[-revision]`, rpm EVR).
    pub version: String,
    /// Ecosystem, as a purl type.
    pub ecosystem: Ecosystem,
    /// Package URL.
    pub purl: String,
    /// Architecture, when the ecosystem has one.
    pub arch: Option<String>,
    /// Source package name (dpkg `Source:`, rpm SRPM, apk origin); advisories key on it.
    pub source_name: Option<String>,
    /// Source package version, when it differs or is known.
    pub source_version: Option<String>,
    /// rpm epoch as the header stores it (`1` of `1:3.0.8-1.amzn2023.0.3`); `None` when the
    /// header has none and for every other ecosystem, whose epoch (if any) stays in `version`.
    pub epoch: Option<u64>,
    /// rpm release (`1.amzn2023.0.3`), kept apart from the EVR so matchers need not re-split it;
    /// `None` outside rpm.
    pub release: Option<String>,
    /// Package-manager state when not fully installed (e.g. dpkg `half-installed`).
    pub status: Option<String>,
    /// Distro the package belongs to, as in its purl (`debian-12`), for OS packages.
    pub distro: Option<String>,
    /// Every place it was found.
    pub locations: Vec<Location>,
    /// Which cataloger(s) found it.
    pub found_by: String,
    /// Installed or declared.
    pub evidence: Evidence,
}

/// What the walk tells a cataloger about a path before anything is read.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    /// Absolute path in the filesystem.
    pub path: &'a [u8],
    /// Object type (catalogers are offered regular files and symlinks).
    pub file_type: FileType,
    /// Size in bytes.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// A native distro package (built by the distro without Go or Rust) installed it, so
    /// it embeds no Go or Rust modules ([`dpkg_files`]). Worked out only for files that
    /// could be executables (false for the rest): only the binary catalogers ask.
    pub installed_by_native_package: bool,
}

impl Candidate<'_> {
    /// The path as UTF-8, if it is.
    pub fn path_str(&self) -> Option<&str> {
        std::str::from_utf8(self.path).ok()
    }

    /// The last path component.
    pub fn file_name(&self) -> &[u8] {
        crate::fs::path::file_name(self.path)
    }
}

/// What a cataloger gives back: packages, and problems met on the way.
#[derive(Debug, Default)]
pub struct Catalogued {
    /// Packages found.
    pub packages: Vec<Package>,
    /// Problems, each becomes an issue at the file's location.
    pub problems: Vec<String>,
}

impl Catalogued {
    /// Only a problem.
    pub fn problem(message: impl Into<String>) -> Self {
        Self { packages: Vec::new(), problems: vec![message.into()] }
    }
}

/// A wanted file, opened for the cataloger.
pub struct WantedFile<'a> {
    /// Absolute path.
    pub path: &'a [u8],
    /// Positional reader over the file's contents.
    pub reader: &'a mut dyn FileReader,
}

impl WantedFile<'_> {
    /// The whole file, refusing files over `limit` bytes.
    pub fn bytes(&mut self, limit: u64) -> Result<Vec<u8>, FsError> {
        crate::fs::read_all(self.reader, limit)
    }

    /// The path for reports.
    pub fn display_path(&self) -> String {
        crate::fs::path::display(self.path)
    }
}

/// What a cataloger may know beyond the file: the distro, and sibling files.
pub struct CatalogContext<'a> {
    /// The filesystem being walked.
    pub filesystem: &'a dyn Filesystem,
    /// The distro detected on this filesystem, if any; see [`CatalogContext::distro`].
    pub distro: &'a Later<Option<Distro>>,
    /// Volume name for locations.
    pub volume: &'a str,
    /// Partition number for locations.
    pub partition: Option<u32>,
    /// Which dpkg package installed each path, when known (not with `--all-packages`); see
    /// [`CatalogContext::dpkg_files`].
    pub dpkg_files: &'a Later<Option<dpkg_files::DpkgFiles>>,
}

impl CatalogContext<'_> {
    /// A location on this filesystem.
    pub fn location(&self, path: &str) -> Location {
        Location { volume: self.volume.to_string(), partition: self.partition, path: path.to_string() }
    }

    /// Read another file (e.g. a sibling), following symlinks inside the image, capped.
    pub fn read(&self, path: &[u8], limit: u64) -> Result<Vec<u8>, FsError> {
        let resolved = crate::fs::resolve(self.filesystem, path)?;
        crate::fs::read_capped(self.filesystem, &resolved, limit)
    }

    /// The distro, waiting while another thread still detects it.
    pub fn distro(&self) -> Option<&Distro> {
        self.distro.get().as_ref()
    }

    /// dpkg's file database, waiting while another thread still loads it.
    pub fn dpkg_files(&self) -> Option<&dpkg_files::DpkgFiles> {
        self.dpkg_files.get().as_ref()
    }
}

/// A value that may still be being worked out on another thread; [`Later::get`] waits for
/// it. Over EBS, detecting the distro and loading dpkg's file lists are chains of round
/// trips that the walk need not wait for: only the few files that use them do.
#[derive(Debug)]
pub struct Later<T>(OnceLock<T>);

impl<T> Later<T> {
    /// A value known now.
    pub fn ready(value: T) -> Self {
        Later(OnceLock::from(value))
    }

    /// A value that [`Later::settle`] will give.
    pub fn pending() -> Self {
        Later(OnceLock::new())
    }

    /// Give the value `work` returns. Should `work` panic, `fallback` is given instead (as
    /// the panic unwinds), so that no reader waits forever.
    pub fn settle(&self, work: impl FnOnce() -> T, fallback: impl FnOnce() -> T) {
        struct Fallback<'a, T, F: FnOnce() -> T> {
            later: &'a Later<T>,
            fallback: Option<F>,
        }
        impl<T, F: FnOnce() -> T> Drop for Fallback<'_, T, F> {
            fn drop(&mut self) {
                if let Some(fallback) = self.fallback.take() {
                    let _ = self.later.0.set(fallback());
                }
            }
        }
        let mut guard = Fallback { later: self, fallback: Some(fallback) };
        let value = work();
        guard.fallback = None;
        let _ = self.0.set(value);
    }

    /// The value, waiting until it is given.
    pub fn get(&self) -> &T {
        self.0.wait()
    }

    /// The value, which must have been given: for after the threads that give it ended.
    pub fn into_inner(self) -> Option<T> {
        self.0.into_inner()
    }
}

/// A source of packages: which files it wants, and how it reads them.
pub trait Cataloger: Send + Sync {
    /// Name recorded in `found_by`.
    fn name(&self) -> &'static str;

    /// Whether to open this file. Pure: decided from the path, type, size and mode only.
    fn wants(&self, candidate: &Candidate<'_>) -> bool;

    /// Parse a wanted file.
    fn catalog(&self, file: &mut WantedFile<'_>, context: &CatalogContext<'_>) -> Catalogued;
}

/// Every cataloger snapscan runs, in a fixed order.
pub fn all() -> Vec<Box<dyn Cataloger>> {
    vec![
        Box::new(dpkg::DpkgCataloger),
        Box::new(rpm::RpmCataloger),
        Box::new(apk::ApkCataloger),
        Box::new(java::JavaArchiveCataloger),
        Box::new(golang::GoCataloger),
        Box::new(auditable::CargoAuditableCataloger),
        Box::new(python::PythonCataloger),
        Box::new(npm::NpmCataloger),
        Box::new(cargo_lock::CargoLockCataloger),
        Box::new(ruby::RubyCataloger),
        Box::new(php::ComposerCataloger),
        Box::new(dotnet::DotnetCataloger),
    ]
}

/// Percent-encode a purl name or version component (RFC 3986 unreserved kept as is).
pub fn purl_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => encoded.push(byte as char),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

/// Contexts for tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::{CatalogContext, Later, dpkg_files::DpkgFiles};
    use crate::distro::Distro;
    use crate::fs::Filesystem;
    use std::sync::LazyLock;

    static NO_DISTRO: LazyLock<Later<Option<Distro>>> = LazyLock::new(|| Later::ready(None));
    static NO_DPKG_FILES: LazyLock<Later<Option<DpkgFiles>>> = LazyLock::new(|| Later::ready(None));

    /// A context on `filesystem` (volume `disk`, no partition number) that knows no
    /// distro and no dpkg file lists.
    pub fn context(filesystem: &dyn Filesystem) -> CatalogContext<'_> {
        CatalogContext { filesystem, distro: &NO_DISTRO, volume: "disk", partition: None, dpkg_files: &NO_DPKG_FILES }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purl_encoding_keeps_unreserved() {
        assert_eq!(purl_encode("1:2.3+b1~x"), "1%3A2.3%2Bb1~x");
        assert_eq!(purl_encode("libc6"), "libc6");
    }

    #[test]
    fn later_gives_readers_the_value_another_thread_settles() {
        let later: Later<u32> = Later::pending();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(|| sender.send(*later.get()).expect("send"));
            // The reader is waiting (or about to): nothing has been given yet.
            assert!(receiver.try_recv().is_err());
            scope.spawn(|| later.settle(|| 7, || 0));
        });
        assert_eq!(receiver.recv().expect("a value"), 7);
        assert_eq!(later.into_inner(), Some(7));
    }

    #[test]
    fn later_gives_the_fallback_when_the_work_panics() {
        let later: Later<Option<u32>> = Later::pending();
        std::thread::scope(|scope| {
            let worker = scope.spawn(|| later.settle(|| panic!("corrupt input"), || None));
            assert!(worker.join().is_err());
            // Without the fallback this would wait forever.
            assert_eq!(*later.get(), None);
        });
        assert_eq!(Later::ready(Some(3)).get(), &Some(3));
    }
}
