//! The scan, top to bottom: for each target, open its source; for each volume, read the
//! partition layout; for each partition, probe a filesystem, detect the distro, and walk it
//! with every cataloger; then merge packages found in several places into one `Scan`.

use crate::advisory::Database;
use crate::aws::{self, run::AwsTarget};
use crate::catalog::{self, Cataloger, Location, Package};
use crate::distro;
use crate::fs::{self, walk};
use crate::model::{self, FilesystemInfo, Issue, Scan, Severity, Stats, Target};
use crate::settings::{CleanupSettings, MatchSettings, Settings, TargetSpec};
use crate::source::{CachedSource, FileSource, ReadAt, Slice};
use crate::volume;
use anyhow::Context;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// Page cache kept per local image: enough for the metadata of a large root filesystem.
const PAGE_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// How to scan one volume.
#[derive(Clone, Debug, Default)]
pub struct VolumeOptions {
    /// Keep language packages an OS package owns instead of folding them into it.
    pub all_packages: bool,
    /// Threads walking each filesystem (0 or 1: one). A local image is CPU-bound and walks
    /// on one; a remote snapshot is latency-bound and walks on many.
    pub walkers: usize,
    /// Directories not walked.
    pub skipped_directories: walk::SkippedDirectories,
}

impl From<&Settings> for VolumeOptions {
    fn from(settings: &Settings) -> Self {
        Self {
            all_packages: settings.all_packages,
            walkers: 1,
            skipped_directories: settings.skipped_directories.clone(),
        }
    }
}

/// What scanning one volume found.
#[derive(Debug)]
pub struct VolumeScan {
    /// The volume with its partitions, filesystems and distros.
    pub volume: model::Volume,
    /// Packages, one per location (merged later).
    pub packages: Vec<Package>,
    /// Problems met.
    pub issues: Vec<Issue>,
    /// Paths the walks visited.
    pub files_visited: u64,
    /// Files opened for catalogers.
    pub files_read: u64,
}

/// Open the advisory bundle. A missing default bundle is `None` (the scan says so in an
/// issue); a bundle named with `--db` that cannot be opened is an error.
pub fn open_database(matching: &MatchSettings) -> anyhow::Result<Option<Database>> {
    if !matching.database_given && !matching.database.exists() {
        return Ok(None);
    }
    let database = Database::open(&matching.database)?;
    if let Some(limit) = matching.max_age_seconds {
        let now = crate::distro::unix_now();
        let built = database.info().built_at_unix;
        if now.saturating_sub(built) > limit {
            anyhow::bail!(
                "advisory bundle {} was built {} ago ({}), older than --max-db-age; rebuild it with `snapscan db build`",
                matching.database.display(),
                crate::db::describe_age(built),
                database.info().built_at
            );
        }
    }
    Ok(Some(database))
}

/// Run every target in `settings`, match packages against `database`, and build the `Scan`.
pub fn run(settings: &Settings, database: Option<&Database>) -> Scan {
    let started = Instant::now();
    let catalogers = catalog::all();
    let mut targets = Vec::new();
    let mut packages = Vec::new();
    let mut issues = Vec::new();
    let mut stats = Stats::default();
    for spec in &settings.targets {
        match spec {
            TargetSpec::Image(path) => {
                let name = path.display().to_string();
                let _span = tracing::info_span!("image", path = %name).entered();
                // A target that cannot be read at all: an error issue and a target with `error`.
                let mut unreadable = |name: String, message: String| {
                    tracing::error!("{message}");
                    issues.push(Issue { severity: Severity::Error, location: None, message: message.clone() });
                    targets.push(Target { name, kind: "image".to_string(), volumes: Vec::new(), error: Some(message) });
                };
                let source = match FileSource::open(path) {
                    Ok(source) => source,
                    Err(error) => {
                        unreadable(name.clone(), format!("cannot open image {name}: {error}"));
                        continue;
                    }
                };
                if source.is_empty() {
                    unreadable(name.clone(), format!("cannot read image {name}: the file is empty"));
                    continue;
                }
                let counters = source.counters();
                let cached = CachedSource::new(Arc::new(source), PAGE_CACHE_BYTES);
                let scanned = scan_volume(Arc::new(cached), &name, &catalogers, VolumeOptions::from(settings));
                stats.bytes_read += counters.bytes_read();
                stats.read_calls += counters.read_calls();
                match scanned {
                    Ok(volume_scan) => {
                        stats.files_visited += volume_scan.files_visited;
                        stats.files_read += volume_scan.files_read;
                        packages.extend(volume_scan.packages);
                        issues.extend(volume_scan.issues);
                        targets.push(Target {
                            name,
                            kind: "image".to_string(),
                            volumes: vec![volume_scan.volume],
                            error: None,
                        });
                    }
                    Err(error) => unreadable(name.clone(), format!("cannot read image {name}: {error}")),
                }
            }
            // AWS targets run together below: one session, one snapshot ledger.
            TargetSpec::Aws(_) => {}
        }
    }
    let aws_targets: Vec<AwsTarget> = settings
        .targets
        .iter()
        .filter_map(|spec| match spec {
            TargetSpec::Aws(target) => Some(target.clone()),
            TargetSpec::Image(_) => None,
        })
        .collect();
    let mut coverage = Vec::new();
    if !aws_targets.is_empty() {
        let outcome = scan_aws(settings, &aws_targets, &catalogers);
        stats.bytes_read += outcome.bytes_read;
        stats.read_calls += outcome.read_calls;
        stats.files_visited += outcome.files_visited;
        stats.files_read += outcome.files_read;
        stats.ebs = outcome.ebs_stats();
        targets.extend(outcome.targets);
        packages.extend(outcome.packages);
        issues.extend(outcome.issues);
        coverage = outcome.coverage;
    }
    let packages = merge_packages(packages);
    let mut findings = Vec::new();
    match database {
        Some(database) => {
            let options = crate::matcher::MatchOptions { ubuntu_pro: settings.matching.ubuntu_pro };
            let matched = crate::matcher::match_packages_with(&packages, database, options);
            findings = matched.findings;
            if settings.matching.ignore_unfixed {
                findings.retain(|finding| finding.fixed_version.is_some());
            }
            issues.extend(matched.issues);
            if let Some(suppressions) = &settings.matching.suppressions {
                let expired = crate::suppress::apply(&mut findings, suppressions, &crate::distro::today_utc());
                for issue in &expired {
                    tracing::warn!("{}", issue.message);
                }
                issues.extend(expired);
            }
        }
        None if settings.packages_only => {}
        None => issues.push(Issue {
            severity: Severity::Warning,
            location: None,
            message: format!(
                "no advisory bundle at {}: packages were not checked for vulnerabilities (download one with `snapscan db update`, or build one with `snapscan db build --from DIR`)",
                settings.matching.database.display()
            ),
        }),
    }
    stats.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Scan {
        schema_version: model::SCHEMA_VERSION,
        tool: model::Tool::default(),
        advisory_database: database.map(|database| database.info().clone()),
        targets,
        packages,
        findings,
        issues,
        coverage,
        stats,
    }
}

/// Connect to AWS and run the AWS targets, each snapshot scanned as one volume.
fn scan_aws(settings: &Settings, targets: &[AwsTarget], catalogers: &[Box<dyn Cataloger>]) -> aws::run::AwsOutcome {
    let aws_settings = settings.aws.clone().unwrap_or_default();
    let session = match aws::Session::connect(&aws_settings.options) {
        Ok(session) => Arc::new(session),
        Err(error) => {
            let message = format!("cannot connect to AWS: {error}");
            tracing::error!("{message}");
            let mut outcome = aws::run::AwsOutcome::default();
            outcome.issues.push(Issue { severity: Severity::Error, location: None, message: message.clone() });
            outcome.targets.push(Target {
                name: "aws".to_string(),
                kind: "aws".to_string(),
                volumes: Vec::new(),
                error: Some(message),
            });
            return outcome;
        }
    };
    // One walker per block fetch in flight: each waits on its own round trip.
    let options = VolumeOptions { walkers: aws_settings.options.ebs.concurrency, ..VolumeOptions::from(settings) };
    let scan_one =
        |source: Arc<dyn ReadAt>, volume_id: &str| scan_volume(source, volume_id, catalogers, options.clone());
    aws::run::run(session, targets, &aws_settings.instances, &scan_one)
}

/// `snapscan cleanup`: sweep our stale tagged snapshots, one line per snapshot on stdout.
/// Fails when AWS cannot be reached or a snapshot could not be deleted.
pub fn cleanup(settings: &Settings, cleanup: &CleanupSettings) -> anyhow::Result<()> {
    let aws_settings = settings.aws.clone().unwrap_or_default();
    let session = aws::Session::connect(&aws_settings.options).context("connecting to AWS")?;
    let results = aws::cleanup::sweep(&session, cleanup.older_than, cleanup.dry_run);
    let mut failures = 0usize;
    for result in &results {
        let age = result.age_seconds.map_or_else(|| "unknown age".to_string(), |seconds| format!("age {seconds}s"));
        match &result.error {
            Some(error) => {
                failures += 1;
                eprintln!("snapscan: {} {}: {error}", result.region, result.snapshot_id);
            }
            None => {
                println!("{}\t{}\t{}\tscan {}\t{age}", result.action, result.region, result.snapshot_id, result.scan_id)
            }
        }
    }
    if results.is_empty() {
        eprintln!("snapscan: no snapshots carrying {} found", session.tag_key());
    }
    if failures > 0 {
        anyhow::bail!("{failures} snapshot(s) could not be swept");
    }
    Ok(())
}

/// Scan one volume: partition layout, then each partition's filesystem. Only a failure to
/// read the first sectors is an error; everything after that becomes issues.
pub fn scan_volume(
    source: Arc<dyn ReadAt>,
    volume_id: &str,
    catalogers: &[Box<dyn Cataloger>],
    options: VolumeOptions,
) -> std::io::Result<VolumeScan> {
    let VolumeOptions { all_packages, walkers, skipped_directories } = options;
    let layout = volume::detect(source.as_ref())?;
    let volume_issue = |message: String| Issue {
        severity: Severity::Warning,
        location: Some(Location { volume: volume_id.to_string(), partition: None, path: String::new() }),
        message,
    };
    let mut issues: Vec<Issue> = layout.problems.iter().cloned().map(volume_issue).collect();
    let mut packages = Vec::new();
    let mut partitions = Vec::new();
    let (mut files_visited, mut files_read) = (0, 0);
    for entry in &layout.partitions {
        let _span = tracing::info_span!("partition", number = entry.number).entered();
        let mut partition = model::Partition {
            number: entry.number,
            offset: entry.offset,
            length: entry.length,
            partition_type: entry.partition_type.clone(),
            name: entry.name.clone(),
            filesystem: None,
            distro: None,
        };
        let partition_issue = |path: &str, severity: Severity, message: String| Issue {
            severity,
            location: Some(Location { volume: volume_id.to_string(), partition: entry.number, path: path.to_string() }),
            message,
        };
        let Some(slice) = Slice::new(Arc::clone(&source), entry.offset, entry.length) else {
            partitions.push(partition);
            continue;
        };
        let slice: Arc<dyn ReadAt> = Arc::new(slice);
        let filesystem = match fs::probe(Arc::clone(&slice)) {
            Ok(Some(filesystem)) => filesystem,
            Ok(None) => {
                if let Some(kind) = fs::identify_unsupported(slice.as_ref()) {
                    partition.filesystem = Some(FilesystemInfo {
                        kind: kind.to_string(),
                        uuid: None,
                        label: None,
                        skipped_directories: Vec::new(),
                        native_package_executables: 0,
                    });
                    if kind != "swap" {
                        issues.push(partition_issue(
                            "",
                            Severity::Warning,
                            format!("{kind} is not supported; partition not scanned"),
                        ));
                    }
                } else if entry.number.is_none() {
                    let message = "no partition table or known filesystem found".to_string();
                    issues.push(partition_issue("", Severity::Warning, message));
                }
                partitions.push(partition);
                continue;
            }
            Err(error) => {
                issues.push(partition_issue("", Severity::Error, format!("cannot open filesystem: {error}")));
                partitions.push(partition);
                continue;
            }
        };
        partition.filesystem = Some(FilesystemInfo {
            kind: filesystem.kind().to_string(),
            uuid: filesystem.uuid(),
            label: filesystem.label(),
            skipped_directories: Vec::new(),
            native_package_executables: 0,
        });
        for warning in filesystem.warnings() {
            issues.push(partition_issue("", Severity::Warning, warning));
        }
        let partition_name = entry.number.map_or_else(|| volume_id.to_string(), |n| format!("{volume_id}/p{n}"));
        let walk_bar = crate::progress::bars().walk(&partition_name);
        // Every walker's handle counts its listings on the partition's one line.
        let open_another = || -> Result<Box<dyn fs::Filesystem>, fs::FsError> {
            let own = fs::probe(Arc::clone(&slice))?
                .ok_or_else(|| fs::FsError::Corrupt("filesystem no longer found".to_string()))?;
            Ok(Box::new(crate::progress::CountingFilesystem::new(own, &walk_bar)))
        };
        // The distro (for the OS packages' identities) and, before the walk's binary
        // catalogers skip what native packages installed, dpkg's file lists. Each job gets
        // the filesystem, or why it has none, and records its problems.
        let distro = catalog::Later::pending();
        let dpkg_files = catalog::Later::pending();
        type Problems = Vec<(String, String)>;
        let detect_distro = |filesystem: Result<&dyn fs::Filesystem, String>, problems: &mut Problems| {
            let (detected, found) = match filesystem {
                Ok(filesystem) => distro::detect(filesystem),
                Err(why) => (None, vec![format!("distro not detected: {why}")]),
            };
            problems.extend(found.into_iter().map(|problem| (String::new(), problem)));
            detected
        };
        let load_dpkg_files = |filesystem: Result<&dyn fs::Filesystem, String>, problems: &mut Problems| {
            if all_packages {
                return None;
            }
            match filesystem {
                Ok(filesystem) => {
                    let loaded = catalog::dpkg_files::DpkgFiles::load(filesystem);
                    problems.extend(loaded.problems);
                    loaded.files
                }
                Err(why) => {
                    problems.push((String::new(), format!("dpkg file lists not read: {why}")));
                    None
                }
            }
        };
        let context = catalog::CatalogContext {
            filesystem: filesystem.as_ref(),
            distro: &distro,
            volume: volume_id,
            partition: entry.number,
            dpkg_files: &dpkg_files,
        };
        let counting = crate::progress::CountingFilesystem::new(filesystem.as_ref(), &walk_bar);
        let (mut distro_problems, mut dpkg_problems) = (Problems::new(), Problems::new());
        let walk_filesystem =
            || walk::walk_parallel(&counting, &open_another, walkers, catalogers, &context, &skipped_directories);
        let outcome = if walkers > 1 {
            // Over EBS both are chains of round trips (0.8 s at 30 ms each on the bench)
            // that most of the walk does not need: they run beside it, each on a handle of
            // its own, and only the files that use them (OS package databases, executables)
            // wait. `settle` gives a value even if a job panics, so no walker waits forever.
            let own_handle = || match fs::probe(Arc::clone(&slice)) {
                Ok(Some(own)) => Ok(own),
                Ok(None) => Err("the filesystem was no longer found".to_string()),
                Err(error) => Err(format!("cannot open the filesystem again: {error}")),
            };
            std::thread::scope(|scope| {
                scope.spawn(|| {
                    let work = || detect_distro(own_handle().as_deref().map_err(Clone::clone), &mut distro_problems);
                    distro.settle(work, || None);
                });
                scope.spawn(|| {
                    let work = || load_dpkg_files(own_handle().as_deref().map_err(Clone::clone), &mut dpkg_problems);
                    dpkg_files.settle(work, || None);
                });
                walk_filesystem()
            })
        } else {
            distro.settle(|| detect_distro(Ok(filesystem.as_ref()), &mut distro_problems), || None);
            dpkg_files.settle(|| load_dpkg_files(Ok(filesystem.as_ref()), &mut dpkg_problems), || None);
            walk_filesystem()
        };
        walk_bar.finish(outcome.packages.len());
        tracing::info!(packages = outcome.packages.len(), files = outcome.files_visited, "walked");
        // Both were given by now: each job settles its value, even when it panics.
        let (distro, dpkg_files) = (distro.into_inner().flatten(), dpkg_files.into_inner().flatten());
        issues.extend(
            distro_problems.into_iter().map(|(path, problem)| partition_issue(&path, Severity::Warning, problem)),
        );
        partition.distro = distro.as_ref().map(model::DistroInfo::from);
        // An unsupported distro is a finding in itself: its packages can look clean only
        // because nobody publishes fixes for them any more.
        if let Some(info) = partition.distro.as_ref().filter(|info| info.end_of_life_reached == Some(true)) {
            let name = info.pretty_name.clone().unwrap_or_else(|| match &info.version_id {
                Some(version) => format!("{} {version}", info.id),
                None => info.id.clone(),
            });
            let date = info.end_of_life.unwrap_or_default();
            let message = format!("{name} reached end of life on {date}: it gets no security fixes");
            issues.push(partition_issue("", Severity::Warning, message));
        }
        issues.extend(
            dpkg_problems.into_iter().map(|(path, message)| partition_issue(&path, Severity::Warning, message)),
        );
        files_visited += outcome.files_visited;
        files_read += outcome.files_read;
        if let Some(filesystem) = partition.filesystem.as_mut() {
            filesystem.skipped_directories = outcome.skipped;
            filesystem.native_package_executables = outcome.native_executables;
        }
        issues.extend(
            outcome.problems.into_iter().map(|(path, message)| partition_issue(&path, Severity::Warning, message)),
        );
        if all_packages {
            packages.extend(outcome.packages);
        } else {
            let folded = catalog::ownership::fold_owned(filesystem.as_ref(), dpkg_files.as_ref(), outcome.packages);
            packages.extend(folded.packages);
            issues.extend(
                folded.problems.into_iter().map(|(path, message)| partition_issue(&path, Severity::Warning, message)),
            );
        }
        partitions.push(partition);
    }
    let volume = model::Volume {
        id: volume_id.to_string(),
        size: source.len(),
        partition_table: layout.table.name().to_string(),
        partitions,
    };
    Ok(VolumeScan { volume, packages, issues, files_visited, files_read })
}

/// One package per (purl, found_by) with all its locations, sorted for stable output.
pub fn merge_packages(packages: Vec<Package>) -> Vec<Package> {
    let mut merged: BTreeMap<(catalog::Ecosystem, String, String, String, String), Package> = BTreeMap::new();
    for package in packages {
        let key = (
            package.ecosystem,
            package.name.clone(),
            package.version.clone(),
            package.purl.clone(),
            package.found_by.clone(),
        );
        match merged.get_mut(&key) {
            Some(existing) => {
                // A lockfile declares what node_modules (say) shows installed: installed wins.
                if package.evidence == catalog::Evidence::Installed {
                    existing.evidence = catalog::Evidence::Installed;
                }
                for location in package.locations {
                    if !existing.locations.contains(&location) {
                        existing.locations.push(location);
                    }
                }
            }
            None => {
                merged.insert(key, package);
            }
        }
    }
    let mut packages: Vec<Package> = merged.into_values().collect();
    for package in &mut packages {
        package.locations.sort();
    }
    packages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::repository_root;

    #[test]
    fn walking_in_parallel_gives_the_sequential_result() {
        // With several walkers the distro and dpkg's file lists are worked out beside the
        // walk; the OS packages' identities (which name the distro) and the native
        // executables left unopened must come out as when they are known first.
        let image = repository_root().join("fixtures/demo/debian12.img");
        let source: Arc<dyn ReadAt> = Arc::new(FileSource::open(&image).expect("demo image"));
        let catalogers = catalog::all();
        let scan = |walkers| {
            let options = VolumeOptions { walkers, ..VolumeOptions::default() };
            scan_volume(Arc::clone(&source), "disk", &catalogers, options).expect("scan")
        };
        let sequential = scan(1);
        let parallel = scan(8);
        assert!(sequential.packages.iter().any(|package| package.purl.contains("distro=debian-12")));
        let partitions_of = |scan: &VolumeScan| -> Vec<(Option<String>, Option<u64>)> {
            let partitions = scan.volume.partitions.iter();
            partitions
                .map(|partition| {
                    let distro = partition.distro.as_ref().map(|info| info.id.clone());
                    (distro, partition.filesystem.as_ref().map(|filesystem| filesystem.native_package_executables))
                })
                .collect()
        };
        assert_eq!(partitions_of(&parallel), partitions_of(&sequential));
        assert_eq!(merge_packages(parallel.packages), merge_packages(sequential.packages));
        assert_eq!(parallel.issues, sequential.issues);
        assert_eq!((parallel.files_visited, parallel.files_read), (sequential.files_visited, sequential.files_read));
    }
}
