//! Fold language packages that an OS package installed into that OS package.
//!
//! Debian's `python3-requests` puts `requests-2.28.1.dist-info` under
//! `/usr/lib/python3/dist-packages`; the python cataloger finds it too. Reporting both
//! doubles the inventory and matches the same code against two advisory sources, while
//! only the distro's fix applies. So an installed language package whose metadata file
//! (or the directory holding it) appears in a dpkg file list
//! (`/var/lib/dpkg/info/<package>[:<arch>].list`) or in an rpm header's file list (Amazon
//! Linux's `python3-requests` owns `requests-2.25.1.dist-info`) is dropped, and the owning
//! OS package's `found_by` gains `+<cataloger>` (`dpkg+python`, `rpm+python`) to say the
//! rule applied.
//!
//! dpkg's file lists were read before the walk ([`DpkgFiles`]). rpm's are read only when a
//! filesystem produced installed language packages, and each header's list is checked
//! against the few candidate paths, never kept whole. The rpm databases read again are the
//! ones the rpm cataloger found on this filesystem (its packages' locations).

use super::dpkg_files::DpkgFiles;
use super::{Ecosystem, Evidence, Location, Package};
use crate::fs::{Filesystem, path};
use std::collections::HashMap;

/// What folding changed, for logs and issues.
#[derive(Debug, Default)]
pub struct Folded {
    /// Packages left: OS packages (some with `+<cataloger>`) and language packages no OS
    /// package owns.
    pub packages: Vec<Package>,
    /// Problems reading file lists, as (path, message); the scan goes on without them.
    pub problems: Vec<(String, String)>,
}

/// Drop the installed language packages among `packages` (all found on `filesystem`) that
/// a dpkg or rpm package owns, marking the owner's `found_by`. `dpkg_files` is the
/// filesystem's dpkg file database, when it has one. Reads nothing when there is no
/// installed language package or no rpm database.
pub fn fold_owned(filesystem: &dyn Filesystem, dpkg_files: Option<&DpkgFiles>, packages: Vec<Package>) -> Folded {
    let has_language = packages.iter().any(is_foldable);
    let rpm_databases = rpm_databases(&packages);
    if !has_language || (dpkg_files.is_none() && rpm_databases.is_empty()) {
        return Folded { packages, problems: Vec::new() };
    }
    // Candidate path -> indexes of the language packages it would make owned.
    let mut candidates: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
    for (index, package) in packages.iter().enumerate() {
        if !is_foldable(package) {
            continue;
        }
        for location in &package.locations {
            for candidate in candidate_paths(location) {
                candidates.entry(candidate).or_default().push(index);
            }
        }
    }
    let mut owners = HashMap::new();
    let mut problems = Vec::new();
    if let Some(dpkg_files) = dpkg_files {
        dpkg_owners(dpkg_files, &candidates, &mut owners);
    }
    for database in &rpm_databases {
        rpm_owners(filesystem, database, &candidates, &mut owners, &mut problems);
    }
    apply(packages, &owners, problems)
}

/// The rpm databases the rpm cataloger read packages from, by path, sorted.
fn rpm_databases(packages: &[Package]) -> Vec<String> {
    let mut databases: Vec<String> = packages
        .iter()
        .filter(|package| package.ecosystem == Ecosystem::Rpm)
        .flat_map(|package| package.locations.iter().map(|location| location.path.clone()))
        .collect();
    databases.sort();
    databases.dedup();
    databases
}

/// Catalogers whose packages are compiled into a binary. A Debian package that ships a Go
/// or Rust binary is tracked by the distro as one source package, not by the modules linked
/// into it, so folding them would hide vulnerable embedded modules: they stay reported.
const EMBEDDED_IN_BINARIES: [&str; 2] = ["go-module-binary", "cargo-auditable"];

/// Installed packages from a language cataloger (lockfiles name what is not on disk yet),
/// other than modules embedded in binaries.
fn is_foldable(package: &Package) -> bool {
    !package.ecosystem.is_os()
        && package.evidence == Evidence::Installed
        && !EMBEDDED_IN_BINARIES.contains(&package.found_by.as_str())
}

/// The metadata file, and its directory when that directory belongs to the one package
/// (`x.dist-info`, `x.egg-info`, `EGG-INFO`, `node_modules/x`). A shared directory such as
/// `dist-packages` (beside a bare `x.egg-info` file) or `/usr/share/java` is listed by many
/// OS packages and proves nothing. For a nested archive (`a.jar!/b.jar`) the outer file on
/// disk stands in, since that is what a file list names.
fn candidate_paths(location: &Location) -> Vec<Vec<u8>> {
    let on_disk = location.path.split("!/").next().unwrap_or(&location.path).as_bytes();
    let mut paths = vec![path::normalize(on_disk)];
    let parent = path::parent(on_disk);
    let parent_name = path::file_name(parent);
    let package_directory = parent_name.ends_with(b".dist-info")
        || parent_name.ends_with(b".egg-info")
        || parent_name == b"EGG-INFO"
        || path::file_name(on_disk) == b"package.json";
    if package_directory && !parent.is_empty() && parent != b"/" {
        paths.push(path::normalize(parent));
    }
    paths
}

/// One owning OS package: its ecosystem and name and, when the file list says, its
/// architecture (a dpkg `<name>:<arch>.list`, an rpm header) and version (rpm, where two
/// kernels share a name).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Owner {
    ecosystem: Ecosystem,
    name: String,
    architecture: Option<String>,
    version: Option<String>,
}

/// Owner per language package index; the first list to name a package's path wins.
type Owners = HashMap<usize, Owner>;

/// Record `owner` for every language package that `listed_path` (a path from a file list)
/// makes owned.
fn claim(listed_path: &[u8], owner: &Owner, candidates: &HashMap<Vec<u8>, Vec<usize>>, owners: &mut Owners) {
    if let Some(indexes) = candidates.get(path::normalize(listed_path).as_slice()) {
        for index in indexes {
            owners.entry(*index).or_insert_with(|| owner.clone());
        }
    }
}

/// Look the candidate paths up in dpkg's file lists.
fn dpkg_owners(dpkg_files: &DpkgFiles, candidates: &HashMap<Vec<u8>, Vec<usize>>, owners: &mut Owners) {
    // In path order, so that the owner is stable should two lists name one package's paths.
    let mut sorted: Vec<(&Vec<u8>, &Vec<usize>)> = candidates.iter().collect();
    sorted.sort();
    for (candidate, indexes) in sorted {
        let Some(listed) = dpkg_files.owner(candidate) else { continue };
        let owner = Owner {
            ecosystem: listed.ecosystem,
            name: listed.name.clone(),
            architecture: listed.architecture.clone(),
            version: None,
        };
        for index in indexes {
            owners.entry(*index).or_insert_with(|| owner.clone());
        }
    }
}

/// Check every header's file list in the rpm database at `database` for the candidate paths.
fn rpm_owners(
    filesystem: &dyn Filesystem,
    database: &str,
    candidates: &HashMap<Vec<u8>, Vec<usize>>,
    owners: &mut Owners,
    problems: &mut Vec<(String, String)>,
) {
    let _prefetched =
        filesystem.prefetch_files(path::parent(database.as_bytes()), &[path::file_name(database.as_bytes())]);
    let database_problems = super::rpm::visit_file_lists(filesystem, database.as_bytes(), &mut |header, paths| {
        let owner = Owner {
            ecosystem: Ecosystem::Rpm,
            name: header.name.clone(),
            architecture: header.arch.clone(),
            version: Some(header.evr()),
        };
        for listed in paths {
            claim(listed.as_bytes(), &owner, candidates, owners);
        }
    });
    problems.extend(
        database_problems.into_iter().map(|message| (database.to_string(), format!("rpm file lists: {message}"))),
    );
}

/// Drop owned language packages whose owner was cataloged; mark each owner once per
/// cataloger.
fn apply(packages: Vec<Package>, owners: &HashMap<usize, Owner>, problems: Vec<(String, String)>) -> Folded {
    // Which OS package (by index) owns each language package, when the owner is known.
    let mut folded_into: HashMap<usize, usize> = HashMap::new();
    for (language_index, owner) in owners {
        let found = packages.iter().position(|package| {
            package.ecosystem == owner.ecosystem
                && package.name == owner.name
                && owner.architecture.as_ref().is_none_or(|architecture| package.arch.as_ref() == Some(architecture))
                && owner.version.as_ref().is_none_or(|version| &package.version == version)
        });
        // A list without a status entry (a removed package's leftovers) owns nothing; nor
        // does a signing key or a header the cataloger could not turn into a package.
        if let Some(os_index) = found {
            folded_into.insert(*language_index, os_index);
        }
    }
    let mut suffixes: HashMap<usize, Vec<String>> = HashMap::new();
    for (language_index, os_index) in &folded_into {
        let cataloger = packages[*language_index].found_by.clone();
        let list = suffixes.entry(*os_index).or_default();
        if !list.contains(&cataloger) {
            list.push(cataloger);
        }
    }
    let mut kept = Vec::with_capacity(packages.len() - folded_into.len());
    for (index, mut package) in packages.into_iter().enumerate() {
        if folded_into.contains_key(&index) {
            tracing::debug!(package = %package.name, "owned by an OS package; folded");
            continue;
        }
        if let Some(catalogers) = suffixes.get_mut(&index) {
            catalogers.sort();
            for cataloger in catalogers.iter() {
                let marker = format!("+{cataloger}");
                if !package.found_by.split('+').skip(1).any(|existing| existing == cataloger) {
                    package.found_by.push_str(&marker);
                }
            }
        }
        kept.push(package);
    }
    Folded { packages: kept, problems }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;
    use crate::fs::testing::MemoryFilesystem;
    use crate::fs::walk;

    const STATUS: &str = "Package: python3-requests\nStatus: install ok installed\nArchitecture: all\n\
        Version: 2.28.1+dfsg-1\nSource: requests\n\n\
        Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9\n";

    fn metadata(name: &str, version: &str) -> String {
        format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    }

    /// A Debian filesystem: `requests` from python3-requests, `six` from pip.
    fn debian() -> MemoryFilesystem {
        let mut filesystem = MemoryFilesystem::new();
        filesystem.file("/var/lib/dpkg/status", STATUS.as_bytes());
        filesystem.file(
            "/var/lib/dpkg/info/python3-requests.list",
            b"/.\n/usr\n/usr/lib/python3/dist-packages\n\
              /usr/lib/python3/dist-packages/requests-2.28.1.egg-info\n\
              /usr/lib/python3/dist-packages/requests-2.28.1.dist-info\n\
              /usr/lib/python3/dist-packages/requests/__init__.py\n",
        );
        filesystem.file("/var/lib/dpkg/info/libc6:amd64.list", b"/.\n/lib/x86_64-linux-gnu/libc.so.6\n");
        filesystem.file(
            "/usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA",
            metadata("requests", "2.28.1").as_bytes(),
        );
        filesystem.file(
            "/usr/local/lib/python3.11/dist-packages/six-1.16.0.dist-info/METADATA",
            metadata("six", "1.16.0").as_bytes(),
        );
        filesystem
    }

    fn walked(filesystem: &MemoryFilesystem) -> Vec<Package> {
        let catalogers = catalog::all();
        let context = catalog::testing::context(filesystem);
        walk::walk(filesystem, &catalogers, &context, &walk::SkippedDirectories::default()).packages
    }

    /// Load the dpkg file lists as the scan does before the walk, walk, fold; the lists'
    /// problems come first.
    fn fold(filesystem: &MemoryFilesystem) -> Folded {
        let loaded = DpkgFiles::load(filesystem);
        let mut folded = fold_owned(filesystem, loaded.files.as_ref(), walked(filesystem));
        folded.problems.splice(0..0, loaded.problems);
        folded
    }

    fn summary(packages: &[Package]) -> Vec<(String, String)> {
        let mut summary: Vec<(String, String)> =
            packages.iter().map(|package| (package.name.clone(), package.found_by.clone())).collect();
        summary.sort();
        summary
    }

    #[test]
    fn modules_embedded_in_binaries_are_never_folded() {
        let mut package =
            walked(&debian()).into_iter().find(|package| !package.ecosystem.is_os()).expect("a language package");
        package.found_by = "go-module-binary".to_string();
        assert!(!is_foldable(&package));
        package.found_by = "python".to_string();
        assert!(is_foldable(&package));
    }

    #[test]
    fn owned_dist_info_folds_into_its_dpkg_package() {
        let filesystem = debian();
        let folded = fold(&filesystem);
        assert!(folded.problems.is_empty(), "{:?}", folded.problems);
        assert_eq!(
            summary(&folded.packages),
            [
                ("libc6".to_string(), "dpkg".to_string()),
                ("python3-requests".to_string(), "dpkg+python".to_string()),
                ("six".to_string(), "python".to_string()),
            ]
        );
    }

    #[test]
    fn without_folding_every_package_is_reported() {
        // `--all-packages` skips `fold_owned`: the walk's packages are the report's.
        let filesystem = debian();
        let names: Vec<String> = summary(&walked(&filesystem)).into_iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["libc6", "python3-requests", "requests", "six"]);
    }

    #[test]
    fn owner_is_marked_once_for_several_packages() {
        let mut filesystem = debian();
        filesystem.file(
            "/var/lib/dpkg/info/python3-requests.list",
            b"/usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA\n\
              /usr/local/lib/python3.11/dist-packages/six-1.16.0.dist-info\n",
        );
        let folded = fold(&filesystem);
        assert_eq!(
            summary(&folded.packages),
            [("libc6".to_string(), "dpkg".to_string()), ("python3-requests".to_string(), "dpkg+python".to_string())]
        );
    }

    #[test]
    fn nothing_changes_without_language_packages() {
        let mut filesystem = MemoryFilesystem::new();
        filesystem.file("/var/lib/dpkg/status", STATUS.as_bytes());
        filesystem.file("/var/lib/dpkg/info/libc6:amd64.list", b"/.\n/lib/x86_64-linux-gnu/libc.so.6\n");
        let folded = fold(&filesystem);
        assert!(folded.problems.is_empty());
        assert_eq!(
            summary(&folded.packages),
            [("libc6".to_string(), "dpkg".to_string()), ("python3-requests".to_string(), "dpkg".to_string()),]
        );
    }

    #[test]
    fn a_shared_directory_does_not_make_a_package_owned() {
        // Every python3-* list names dist-packages; a pip-installed bare egg-info file in it
        // is not theirs.
        let mut filesystem = debian();
        filesystem.file("/usr/lib/python3/dist-packages/idna-3.7.egg-info", metadata("idna", "3.7").as_bytes());
        let folded = fold(&filesystem);
        assert!(summary(&folded.packages).contains(&("idna".to_string(), "python".to_string())));
        assert!(!summary(&folded.packages).iter().any(|(name, _)| name == "requests"));
    }

    #[test]
    fn a_list_without_a_status_entry_owns_nothing() {
        let mut filesystem = debian();
        filesystem.file(
            "/var/lib/dpkg/info/python3-six.list",
            b"/usr/local/lib/python3.11/dist-packages/six-1.16.0.dist-info\n",
        );
        let folded = fold(&filesystem);
        assert!(summary(&folded.packages).contains(&("six".to_string(), "python".to_string())));
    }

    #[test]
    fn unreadable_list_is_a_problem_not_a_failure() {
        let mut filesystem = debian();
        filesystem.add("/var/lib/dpkg/info/broken.list", crate::fs::testing::Node::Directory);
        let folded = fold(&filesystem);
        assert_eq!(folded.problems.len(), 1);
        assert_eq!(folded.problems[0].0, "/var/lib/dpkg/info/broken.list");
        assert_eq!(folded.packages.len(), 3);
    }

    /// An rpm header blob for `python3-requests` at `version`, owning `files`.
    fn rpm_header(version: &str, files: &[&str]) -> Vec<u8> {
        use crate::catalog::rpm::header::{
            tag,
            testing::{Value, blob},
        };
        let directories: Vec<&str> = files.iter().map(|file| &file[..=file.rfind('/').unwrap()]).collect();
        let basenames: Vec<&str> = files.iter().map(|file| &file[file.rfind('/').unwrap() + 1..]).collect();
        let indexes: Vec<u32> = (0..files.len() as u32).collect();
        blob(&[
            (tag::NAME, Value::String("python3-requests")),
            (tag::VERSION, Value::String(version)),
            (tag::RELEASE, Value::String("1.amzn2023")),
            (tag::ARCH, Value::String("noarch")),
            (tag::DIR_INDEXES, Value::Int32s(&indexes)),
            (tag::BASENAMES, Value::Strings(&basenames)),
            (tag::DIRNAMES, Value::Strings(&directories)),
        ])
    }

    /// An Amazon-Linux-like filesystem whose BerkeleyDB rpm database has two versions of
    /// python3-requests (as two kernels are two packages), only the newer owning the
    /// dist-info pip would also find.
    fn amazon_linux() -> MemoryFilesystem {
        let site = "/usr/lib/python3.9/site-packages";
        let metadata_path = format!("{site}/requests-2.25.1.dist-info/METADATA");
        let database = crate::catalog::rpm::bdb::testing::database(
            &[
                (1, rpm_header("2.20.0", &[&format!("{site}/requests/__init__.py")])),
                (2, rpm_header("2.25.1", &[&metadata_path, &format!("{site}/requests/__init__.py")])),
            ],
            false,
            4096,
            4096,
        );
        let mut filesystem = MemoryFilesystem::new();
        filesystem.file("/var/lib/rpm/Packages", &database);
        filesystem.file(&metadata_path, metadata("requests", "2.25.1").as_bytes());
        filesystem
    }

    #[test]
    fn owned_dist_info_folds_into_the_rpm_package_of_that_version() {
        let filesystem = amazon_linux();
        let folded = fold(&filesystem);
        assert!(folded.problems.is_empty(), "{:?}", folded.problems);
        let mut rows: Vec<(String, String, String)> = folded
            .packages
            .iter()
            .map(|package| (package.name.clone(), package.version.clone(), package.found_by.clone()))
            .collect();
        rows.sort();
        let row =
            |version: &str, found_by: &str| ("python3-requests".to_string(), version.to_string(), found_by.to_string());
        assert_eq!(rows, [row("2.20.0-1.amzn2023", "rpm"), row("2.25.1-1.amzn2023", "rpm+python")]);
    }

    #[test]
    fn an_unreadable_rpm_database_is_a_problem_not_a_failure() {
        let filesystem = amazon_linux();
        let packages = walked(&filesystem);
        let mut damaged = filesystem;
        damaged.file("/var/lib/rpm/Packages", b"not a database any more");
        let folded = fold_owned(&damaged, None, packages);
        assert_eq!(folded.problems.len(), 1, "{:?}", folded.problems);
        assert_eq!(folded.problems[0].0, "/var/lib/rpm/Packages");
        assert!(folded.packages.iter().any(|package| package.name == "requests"));
    }
}
