//! Running AWS targets end to end: resolve each target to snapshots, create (and always
//! delete) snapshots of instances, read every snapshot as a volume through the scan
//! function the caller passes, and record coverage for everything considered.
//!
//! The caller (`scan.rs`) passes its volume scan as a closure, so this module needs no
//! knowledge of partitions or catalogers and the core needs no knowledge of AWS.

use super::ec2::CallError;
use super::eligibility::{Decision, InstanceFacts, Reason, Rules};
use super::ledger::{self, Ledger};
use super::{Session, cleanup, ec2};
use crate::model::{self, Coverage, CoverageVolume, EbsStats, Issue, Severity};
use crate::scan::VolumeScan;
use crate::source::ReadAt;
use crate::source::ebs::EbsCounters;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

/// An AWS target as the user named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AwsTarget {
    /// Existing snapshots (never deleted by us).
    Snapshot(RegionalId),
    /// An AMI: every EBS mapping's snapshot.
    Image(RegionalId),
    /// Instances by id.
    Instances(Vec<String>),
    /// Instances matching EC2 filters (name → values), e.g. `tag:Team` → `[web]`.
    InstancesMatching(Vec<(String, Vec<String>)>),
}

/// A snapshot or AMI id, with the region the user named for it, if any: `snap-…`,
/// `us-west-2:snap-…` or `arn:aws:ec2:us-west-2::snapshot/snap-…` (AMIs alike). An id
/// without a region is looked for in every `--region`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionalId {
    /// The region the id names, if it names one.
    pub region: Option<String>,
    /// The bare id (`snap-…`, `ami-…`).
    pub id: String,
}

impl RegionalId {
    /// Parse `text` as an id starting with `prefix` (`snap-`), optionally qualified by a
    /// region or given as an EC2 ARN of `resource` (`snapshot`, `image`).
    pub fn parse(text: &str, prefix: &str, resource: &str) -> Result<Self, String> {
        let invalid = || format!("{text:?} is not a valid id (expected {prefix}…, REGION:{prefix}… or an ARN)");
        let (region, id) = if let Some(rest) = text.strip_prefix("arn:") {
            // arn:PARTITION:ec2:REGION:ACCOUNT:RESOURCE/ID (the account is empty for snapshots and AMIs).
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            let [partition, "ec2", region, _account, path] = parts.as_slice() else { return Err(invalid()) };
            let Some(id) = path.strip_prefix(resource).and_then(|rest| rest.strip_prefix('/')) else {
                return Err(invalid());
            };
            if partition.is_empty() {
                return Err(invalid());
            }
            (Some(*region), id)
        } else {
            match text.split_once(':') {
                Some((region, id)) => (Some(region), id),
                None => (None, text),
            }
        };
        let well_formed_id = id
            .strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()));
        let well_formed_region = region.is_none_or(|region| {
            (1..=32).contains(&region.len())
                && region.starts_with(|c: char| c.is_ascii_lowercase())
                && region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        });
        if !well_formed_id || !well_formed_region {
            return Err(invalid());
        }
        Ok(Self { region: region.map(str::to_string), id: id.to_string() })
    }

    /// Regions to look in: the one named, else every region of the run.
    fn regions(&self, session: &Session) -> Vec<String> {
        match &self.region {
            Some(region) => vec![region.clone()],
            None => session.regions().to_vec(),
        }
    }
}

/// How instance scans behave.
#[derive(Clone, Debug)]
pub struct InstanceOptions {
    /// Eligibility rules.
    pub rules: Rules,
    /// Longest wait for snapshots to complete.
    pub snapshot_timeout: Duration,
    /// Pause between `DescribeSnapshots` polls.
    pub poll_interval: Duration,
    /// Volumes scanned at once.
    pub volume_concurrency: usize,
    /// Sweep stale tagged snapshots first (`scan instances`), and how old they must be.
    pub sweep_older_than: Option<Duration>,
}

impl Default for InstanceOptions {
    fn default() -> Self {
        Self {
            rules: Rules::default(),
            snapshot_timeout: Duration::from_secs(30 * 60),
            poll_interval: Duration::from_secs(5),
            volume_concurrency: 4,
            sweep_older_than: None,
        }
    }
}

/// Scans one volume (the core's `scan_volume` with its catalogers bound).
pub type ScanVolume<'a> = dyn Fn(Arc<dyn ReadAt>, &str) -> std::io::Result<VolumeScan> + Sync + 'a;

/// Everything AWS targets contributed to a `Scan`.
#[derive(Debug, Default)]
pub struct AwsOutcome {
    /// One per target (instance, AMI, snapshot).
    pub targets: Vec<model::Target>,
    /// Packages, per location.
    pub packages: Vec<crate::catalog::Package>,
    /// Problems.
    pub issues: Vec<Issue>,
    /// Coverage records.
    pub coverage: Vec<Coverage>,
    /// EBS costs.
    pub ebs: EbsCounters,
    /// Bytes read by the scans.
    pub bytes_read: u64,
    /// Read calls made by the scans.
    pub read_calls: u64,
    /// Paths visited.
    pub files_visited: u64,
    /// Files read.
    pub files_read: u64,
}

impl AwsOutcome {
    /// The EBS part of the `Scan` statistics.
    pub fn ebs_stats(&self) -> Option<EbsStats> {
        (self.ebs.get_block_calls > 0 || self.ebs.list_calls > 0).then(|| EbsStats {
            blocks_fetched: self.ebs.blocks_fetched,
            bytes_fetched: self.ebs.bytes_fetched,
            blocks_allocated: self.ebs.blocks_allocated,
            get_snapshot_block_calls: self.ebs.get_block_calls,
            list_snapshot_blocks_calls: self.ebs.list_calls,
            retries: self.ebs.retries,
            checksum_failures: self.ebs.checksum_failures,
            estimated_cost_usd: self.ebs.estimated_cost_usd(),
        })
    }

    fn absorb(&mut self, scanned: VolumeScan) -> model::Volume {
        self.packages.extend(scanned.packages);
        self.issues.extend(scanned.issues);
        self.files_visited = self.files_visited.saturating_add(scanned.files_visited);
        self.files_read = self.files_read.saturating_add(scanned.files_read);
        scanned.volume
    }

    fn error(&mut self, message: String) {
        tracing::error!("{message}");
        self.issues.push(Issue { severity: Severity::Error, location: None, message });
    }
}

/// One snapshot to read as one volume.
struct Job {
    region: String,
    snapshot_id: String,
    /// Name used in locations: the EBS volume id, or the snapshot id.
    volume_name: String,
}

/// What reading one snapshot gave.
struct JobResult {
    scanned: Result<VolumeScan, String>,
    counters: EbsCounters,
    bytes_read: u64,
    read_calls: u64,
    /// A signal stopped the reads: whatever the scan gave is partial and dropped.
    interrupted: bool,
}

/// Run `targets`; snapshots this run creates are deleted before it returns, and on
/// SIGINT/SIGTERM (which end the process with 130/143 after deleting them).
pub fn run(
    session: Arc<Session>,
    targets: &[AwsTarget],
    options: &InstanceOptions,
    scan_volume: &ScanVolume<'_>,
) -> AwsOutcome {
    let mut outcome = AwsOutcome::default();
    let scan_id = new_scan_id();
    let ledger = Ledger::new(Arc::clone(&session));
    let creates_snapshots =
        targets.iter().any(|target| matches!(target, AwsTarget::Instances(_) | AwsTarget::InstancesMatching(_)));
    // Every AWS run ends a signal with a report of what it finished; a run that creates
    // snapshots must also be sure to delete them, so it does not start without the handler.
    if let Err(error) = ledger.exit_cleanly_on_signals() {
        if creates_snapshots {
            outcome.error(format!("cannot install signal handlers, so not creating snapshots: {error}"));
            return outcome;
        }
        tracing::warn!("cannot install signal handlers: {error}");
    }
    if creates_snapshots {
        if let Some(older_than) = options.sweep_older_than {
            for result in cleanup::sweep(&session, older_than, false) {
                if let Some(error) = result.error {
                    outcome.issues.push(Issue {
                        severity: Severity::Warning,
                        location: None,
                        message: format!("sweep: {error}"),
                    });
                }
            }
        }
    }
    // Deletes whatever is left even if a scan panics.
    let _delete_on_exit = DeleteOnDrop(Arc::clone(&ledger));
    let instance_run = InstanceRun { session: &session, ledger: &ledger, scan_id: &scan_id, options, scan_volume };
    for target in targets {
        if ledger::STOP.load(Ordering::SeqCst) {
            interrupted_before(target, &mut outcome);
            continue;
        }
        match target {
            AwsTarget::Snapshot(snapshot) => {
                scan_existing_snapshot(&session, snapshot, options, scan_volume, &mut outcome)
            }
            AwsTarget::Image(image) => scan_image(&session, image, options, scan_volume, &mut outcome),
            AwsTarget::Instances(ids) => {
                for region in session.regions().to_vec() {
                    let found = describe_by_ids(&session, &region, ids, &mut outcome);
                    scan_instances(&instance_run, &region, found, &mut outcome);
                }
                let seen: Vec<String> = outcome.coverage.iter().map(|entry| entry.target.clone()).collect();
                for id in ids.iter().filter(|id| !seen.contains(id)) {
                    outcome.coverage.push(not_scanned(
                        id,
                        "instance",
                        "",
                        Reason::NotFound,
                        format!("instance {id} not found in {}", session.regions().join(", ")),
                    ));
                    outcome.targets.push(failed_target(id, "instance", format!("instance {id} not found")));
                }
            }
            AwsTarget::InstancesMatching(filters) => {
                for region in session.regions().to_vec() {
                    match ec2::describe_instances(&session, &region, &[], filters) {
                        Ok(found) => scan_instances(&instance_run, &region, found, &mut outcome),
                        Err(error) => outcome.error(format!("cannot list instances: {error}")),
                    }
                }
            }
        }
    }
    for failure in ledger.delete_all() {
        outcome.error(format!("cannot delete snapshot: {failure}; `snapscan cleanup` will sweep it"));
    }
    if let Some(signal) = ledger::interrupting_signal() {
        outcome.error(format!(
            "interrupted by {signal}: this report covers what finished before it; the rest is in coverage as {}",
            Reason::Interrupted.code()
        ));
    }
    outcome
}

/// Coverage and a target for a target the run never started because a signal came first.
fn interrupted_before(target: &AwsTarget, outcome: &mut AwsOutcome) {
    let (names, kind) = match target {
        AwsTarget::Snapshot(snapshot) => (vec![snapshot.id.clone()], "snapshot"),
        AwsTarget::Image(image) => (vec![image.id.clone()], "ami"),
        AwsTarget::Instances(ids) => (ids.clone(), "instance"),
        AwsTarget::InstancesMatching(filters) => {
            let described: Vec<String> =
                filters.iter().map(|(name, values)| format!("{name}={}", values.join(","))).collect();
            (vec![format!("instances matching {}", described.join(" "))], "instance")
        }
    };
    for name in names {
        let message = "not started: the run was interrupted".to_string();
        outcome.coverage.push(not_scanned(&name, kind, "", Reason::Interrupted, message.clone()));
        outcome.targets.push(failed_target(&name, kind, message));
    }
}

struct DeleteOnDrop(Arc<Ledger>);

impl Drop for DeleteOnDrop {
    fn drop(&mut self) {
        if !self.0.remaining().is_empty() {
            self.0.delete_all();
        }
    }
}

/// Describe instances by id; an id AWS does not know makes the batch fail, so fall back
/// to one call per id and leave the unknown ones out.
fn describe_by_ids(session: &Session, region: &str, ids: &[String], outcome: &mut AwsOutcome) -> Vec<InstanceFacts> {
    match ec2::describe_instances(session, region, ids, &[]) {
        Ok(found) => found,
        Err(error) if error.reason == Reason::NotFound => ids
            .iter()
            .filter_map(|id| ec2::describe_instances(session, region, std::slice::from_ref(id), &[]).ok())
            .flatten()
            .collect(),
        Err(error) => {
            outcome.error(format!("cannot describe instances: {error}"));
            Vec::new()
        }
    }
}

/// Now, as RFC 3339.
fn now() -> String {
    aws_smithy_types::DateTime::from(SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

fn not_scanned(target: &str, kind: &str, region: &str, reason: Reason, message: String) -> Coverage {
    Coverage {
        target: target.to_string(),
        kind: kind.to_string(),
        region: region.to_string(),
        scanned: false,
        reason: Some(reason.code().to_string()),
        message: Some(message),
        volumes: Vec::new(),
        scan_time: now(),
    }
}

fn failed_target(name: &str, kind: &str, message: String) -> model::Target {
    model::Target { name: name.to_string(), kind: kind.to_string(), volumes: Vec::new(), error: Some(message) }
}

/// The first of `regions` where `lookup` finds `what` (`snapshot snap-…`), with what it
/// found. A region whose lookup fails (access denied, an opt-in region not enabled) does
/// not end the search, since another may have it; when none has it, the error names each
/// region's problem and takes the first problem's reason (`NOT_FOUND` when none failed).
fn find_in_regions<T>(
    regions: &[String],
    what: &str,
    mut lookup: impl FnMut(&str) -> Result<Option<T>, CallError>,
) -> Result<(String, T), CallError> {
    let mut reason = Reason::NotFound;
    let mut message = format!("{what} not found in {}", regions.join(", "));
    for region in regions {
        match lookup(region) {
            Ok(Some(found)) => return Ok((region.clone(), found)),
            Ok(None) => {}
            Err(error) => {
                if reason == Reason::NotFound {
                    reason = error.reason;
                }
                message.push_str(&format!("; {error}"));
            }
        }
    }
    Err(CallError { reason, message })
}

fn scan_existing_snapshot(
    session: &Session,
    snapshot: &RegionalId,
    options: &InstanceOptions,
    scan_volume: &ScanVolume<'_>,
    outcome: &mut AwsOutcome,
) {
    let snapshot_id = snapshot.id.as_str();
    let regions = snapshot.regions(session);
    // One region: read it there (a missing snapshot fails the read with NOT_FOUND's message).
    // Several: the one that has it.
    let region = if let [region] = regions.as_slice() {
        region.clone()
    } else {
        let found = find_in_regions(&regions, &format!("snapshot {snapshot_id}"), |region| {
            ec2::snapshot_exists(session, region, snapshot_id).map(|exists| exists.then_some(()))
        });
        match found {
            Ok((region, ())) => region,
            Err(error) => {
                outcome.coverage.push(not_scanned(snapshot_id, "snapshot", "", error.reason, error.message.clone()));
                outcome.targets.push(failed_target(snapshot_id, "snapshot", error.message));
                return;
            }
        }
    };
    let job =
        Job { region: region.clone(), snapshot_id: snapshot_id.to_string(), volume_name: snapshot_id.to_string() };
    let mut results = run_jobs(session, vec![job], options.volume_concurrency, scan_volume);
    let result = results.pop().unwrap_or_else(|| JobResult::failed("not run".to_string()));
    let mut coverage = Coverage {
        target: snapshot_id.to_string(),
        kind: "snapshot".to_string(),
        region,
        scanned: result.scanned.is_ok(),
        reason: None,
        message: None,
        volumes: Vec::new(),
        scan_time: now(),
    };
    let (volume, error) = record(result, outcome);
    coverage.volumes.push(CoverageVolume {
        snapshot_id: Some(snapshot_id.to_string()),
        scanned: error.is_none(),
        reason: error.as_ref().map(|(_, reason)| reason.to_string()),
        ..CoverageVolume::default()
    });
    if let Some((message, reason)) = &error {
        coverage.reason = Some(reason.to_string());
        coverage.message = Some(message.clone());
    }
    outcome.coverage.push(coverage);
    outcome.targets.push(model::Target {
        name: snapshot_id.to_string(),
        kind: "snapshot".to_string(),
        volumes: volume.into_iter().collect(),
        error: error.map(|(message, _)| message),
    });
}

fn scan_image(
    session: &Session,
    image: &RegionalId,
    options: &InstanceOptions,
    scan_volume: &ScanVolume<'_>,
    outcome: &mut AwsOutcome,
) {
    let image_id = image.id.as_str();
    let regions = image.regions(session);
    let found = find_in_regions(&regions, &format!("image {image_id}"), |region| {
        match ec2::describe_images(session, region, std::slice::from_ref(&image_id.to_string())) {
            Ok(images) => Ok(images.into_iter().find(|image| image.image_id == image_id)),
            Err(error) if error.reason == Reason::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    });
    let (region, image) = match found {
        Ok(found) => found,
        Err(error) => {
            outcome.coverage.push(not_scanned(image_id, "ami", "", error.reason, error.message.clone()));
            outcome.targets.push(failed_target(image_id, "ami", error.message));
            return;
        }
    };
    if image.platform.as_deref().is_some_and(|platform| platform.eq_ignore_ascii_case("windows")) {
        outcome.coverage.push(not_scanned(
            image_id,
            "ami",
            &region,
            Reason::UnsupportedPlatform,
            "Windows image".to_string(),
        ));
        outcome.targets.push(model::Target {
            name: image_id.to_string(),
            kind: "ami".to_string(),
            volumes: Vec::new(),
            error: None,
        });
        return;
    }
    let jobs: Vec<Job> = image
        .snapshots
        .iter()
        .map(|(_, snapshot_id)| Job {
            region: region.clone(),
            snapshot_id: snapshot_id.clone(),
            volume_name: snapshot_id.clone(),
        })
        .collect();
    let results = run_jobs(session, jobs, options.volume_concurrency, scan_volume);
    let mut target =
        model::Target { name: image_id.to_string(), kind: "ami".to_string(), volumes: Vec::new(), error: None };
    let mut coverage = Coverage {
        target: image_id.to_string(),
        kind: "ami".to_string(),
        region,
        scanned: true,
        reason: None,
        message: None,
        volumes: Vec::new(),
        scan_time: now(),
    };
    for ((device, snapshot_id), result) in image.snapshots.iter().zip(results) {
        let (volume, error) = record(result, outcome);
        target.volumes.extend(volume);
        coverage.volumes.push(CoverageVolume {
            device: Some(device.clone()),
            snapshot_id: Some(snapshot_id.clone()),
            scanned: error.is_none(),
            reason: error.as_ref().map(|(_, reason)| reason.to_string()),
            ..CoverageVolume::default()
        });
        if let Some((error, reason)) = error {
            coverage.scanned = false;
            coverage.reason = Some(reason.to_string());
            coverage.message = Some(error.clone());
            target.error = Some(error);
        }
    }
    outcome.coverage.push(coverage);
    outcome.targets.push(target);
}

/// What every instance of a run shares.
#[derive(Clone, Copy)]
struct InstanceRun<'a> {
    session: &'a Session,
    ledger: &'a Ledger,
    scan_id: &'a str,
    options: &'a InstanceOptions,
    scan_volume: &'a ScanVolume<'a>,
}

/// Decide, snapshot (one `CreateSnapshots` per instance), wait, scan and delete, for the
/// instances of one region.
fn scan_instances(run: &InstanceRun<'_>, region: &str, instances: Vec<InstanceFacts>, outcome: &mut AwsOutcome) {
    let InstanceRun { session, ledger, scan_id, options, scan_volume } = *run;
    // (instance, coverage, [(volume id, snapshot id)], volume ids to read)
    let mut planned = Vec::new();
    for instance in instances {
        let bar = crate::progress::bars().instance(&instance.instance_id);
        let mut coverage = Coverage {
            target: instance.instance_id.clone(),
            kind: "instance".to_string(),
            region: region.to_string(),
            scanned: false,
            reason: None,
            message: None,
            volumes: instance
                .volumes
                .iter()
                .map(|volume| CoverageVolume {
                    volume_id: Some(volume.volume_id.clone()),
                    device: Some(volume.device.clone()),
                    size_gib: Some(volume.size_gib),
                    ..CoverageVolume::default()
                })
                .collect(),
            scan_time: now(),
        };
        let (keep, skipped) = match super::eligibility::decide(&instance, &options.rules) {
            Decision::Scan { volumes, skipped } => (volumes, skipped),
            Decision::Skip(reason) => {
                bar.finish(format!("skipped: {}", reason.code()));
                coverage.reason = Some(reason.code().to_string());
                outcome.coverage.push(coverage);
                outcome.targets.push(model::Target {
                    name: instance.instance_id.clone(),
                    kind: "instance".to_string(),
                    volumes: Vec::new(),
                    error: None,
                });
                continue;
            }
        };
        for (volume, reason) in &skipped {
            if let Some(entry) =
                coverage.volumes.iter_mut().find(|entry| entry.volume_id.as_deref() == Some(volume.volume_id.as_str()))
            {
                entry.reason = Some(reason.code().to_string());
            }
        }
        let Some(guard) = ledger.begin_create() else {
            bar.finish("interrupted");
            coverage.reason = Some(Reason::Interrupted.code().to_string());
            outcome.coverage.push(coverage);
            continue;
        };
        bar.state("creating snapshots");
        match ec2::create_snapshots(session, region, &instance, &keep, scan_id) {
            Ok(created) => {
                guard.record(region, created.iter().map(|(_, snapshot_id)| snapshot_id.clone()));
                drop(guard);
                let wanted: Vec<String> = keep.iter().map(|volume| volume.volume_id.clone()).collect();
                bar.state("waiting 0%");
                planned.push((instance, coverage, created, wanted, bar));
            }
            Err(error) => {
                drop(guard);
                bar.finish(format!("failed: {}", error.reason.code()));
                coverage.reason = Some(error.reason.code().to_string());
                coverage.message = Some(error.message.clone());
                outcome.issues.push(Issue { severity: Severity::Error, location: None, message: error.to_string() });
                outcome.coverage.push(coverage);
                outcome.targets.push(failed_target(&instance.instance_id, "instance", error.to_string()));
            }
        }
    }
    let all_snapshots: Vec<String> = planned
        .iter()
        .flat_map(|(_, _, created, _, _)| created.iter().map(|(_, snapshot_id)| snapshot_id.clone()))
        .collect();
    // Each instance's line shows its least advanced snapshot: the one it waits for.
    let percents: Mutex<HashMap<String, u8>> = Mutex::new(HashMap::new());
    let on_progress = |snapshot_id: &str, percent: u8| {
        let mut percents = percents.lock().unwrap_or_else(PoisonError::into_inner);
        percents.insert(snapshot_id.to_string(), percent);
        for (_, _, created, _, bar) in &planned {
            if created.iter().any(|(_, id)| id == snapshot_id) {
                let least = created.iter().map(|(_, id)| percents.get(id).copied().unwrap_or(0)).min().unwrap_or(0);
                bar.state(format!("waiting {least}%"));
            }
        }
    };
    let timing = (options.snapshot_timeout, options.poll_interval);
    let failed = ec2::wait_for_snapshots(session, region, &all_snapshots, timing, &on_progress);
    for (instance, mut coverage, created, wanted, bar) in planned {
        let mut jobs = Vec::new();
        let mut target = model::Target {
            name: instance.instance_id.clone(),
            kind: "instance".to_string(),
            volumes: Vec::new(),
            error: None,
        };
        // Only volumes we asked for are read, whatever else the service snapshotted (all of
        // them are ours and deleted below).
        for (volume_id, snapshot_id) in created.iter().filter(|(volume_id, _)| wanted.contains(volume_id)) {
            let entry =
                coverage.volumes.iter_mut().find(|entry| entry.volume_id.as_deref() == Some(volume_id.as_str()));
            if let Some(entry) = entry {
                entry.snapshot_id = Some(snapshot_id.clone());
                if let Some(error) = failed.get(snapshot_id) {
                    entry.reason = Some(error.reason.code().to_string());
                }
            }
            match failed.get(snapshot_id) {
                Some(error) => {
                    coverage.reason = Some(error.reason.code().to_string());
                    coverage.message = Some(error.message.clone());
                }
                None => jobs.push(Job {
                    region: region.to_string(),
                    snapshot_id: snapshot_id.clone(),
                    volume_name: volume_id.clone(),
                }),
            }
        }
        let scanned_ids: Vec<String> = jobs.iter().map(|job| job.snapshot_id.clone()).collect();
        bar.state("scanning");
        let results = if ledger.is_closed() {
            Vec::new()
        } else {
            run_jobs(session, jobs, options.volume_concurrency, scan_volume)
        };
        let mut all_scanned = coverage.reason.is_none() && results.len() == scanned_ids.len();
        for (snapshot_id, result) in scanned_ids.iter().zip(results) {
            let (volume, error) = record(result, outcome);
            target.volumes.extend(volume);
            if let Some(entry) =
                coverage.volumes.iter_mut().find(|entry| entry.snapshot_id.as_deref() == Some(snapshot_id.as_str()))
            {
                entry.scanned = error.is_none();
                if let Some((_, reason)) = &error {
                    entry.reason = Some(reason.to_string());
                }
            }
            if let Some((error, reason)) = error {
                all_scanned = false;
                coverage.reason.get_or_insert_with(|| reason.to_string());
                coverage.message.get_or_insert_with(|| error.clone());
                target.error = Some(error);
            }
        }
        // Done with this instance: its snapshots go now, not at the end of the run.
        let ours: Vec<(String, String)> =
            created.iter().map(|(_, snapshot_id)| (region.to_string(), snapshot_id.clone())).collect();
        bar.state("deleting snapshots");
        for failure in ledger.delete(&ours) {
            outcome.error(format!("cannot delete snapshot: {failure}; retried at the end of the run"));
        }
        if !all_scanned && coverage.reason.is_none() {
            coverage.reason = Some(Reason::Interrupted.code().to_string());
        }
        coverage.scanned = all_scanned;
        bar.finish(if all_scanned {
            "scanned".to_string()
        } else {
            format!("not scanned: {}", coverage.reason.as_deref().unwrap_or(""))
        });
        if let Some(message) = coverage.message.clone().filter(|_| target.error.is_none() && !all_scanned) {
            target.error = Some(message);
        }
        outcome.coverage.push(coverage);
        outcome.targets.push(target);
    }
}

/// Fold one job's result into the outcome; gives the volume, or the error message and the
/// reason code for coverage (`SCAN_FAILED`, or `INTERRUPTED` when a signal cut it short).
fn record(result: JobResult, outcome: &mut AwsOutcome) -> (Option<model::Volume>, Option<(String, &'static str)>) {
    outcome.ebs.add(&result.counters);
    outcome.bytes_read = outcome.bytes_read.saturating_add(result.bytes_read);
    outcome.read_calls = outcome.read_calls.saturating_add(result.read_calls);
    let reason = if result.interrupted { Reason::Interrupted } else { Reason::ScanFailed };
    match result.scanned {
        Ok(scanned) => (Some(outcome.absorb(scanned)), None),
        Err(message) => {
            outcome.error(message.clone());
            (None, Some((message, reason.code())))
        }
    }
}

/// Read snapshots as volumes, `concurrency` at a time; results in job order.
fn run_jobs(session: &Session, jobs: Vec<Job>, concurrency: usize, scan_volume: &ScanVolume<'_>) -> Vec<JobResult> {
    let count = jobs.len();
    let queue = Mutex::new(jobs.into_iter().enumerate().collect::<Vec<_>>());
    let results: Mutex<Vec<Option<JobResult>>> = Mutex::new((0..count).map(|_| None).collect());
    let workers = concurrency.clamp(1, count.max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(PoisonError::into_inner).pop();
                    let Some((position, job)) = next else { break };
                    let result = run_job(session, &job, scan_volume);
                    if let Some(slot) = results.lock().unwrap_or_else(PoisonError::into_inner).get_mut(position) {
                        *slot = Some(result);
                    }
                }
            });
        }
    });
    results.into_inner().unwrap_or_else(PoisonError::into_inner).into_iter().flatten().collect()
}

fn run_job(session: &Session, job: &Job, scan_volume: &ScanVolume<'_>) -> JobResult {
    let _span = tracing::info_span!("snapshot", id = %job.snapshot_id, volume = %job.volume_name).entered();
    let interrupted_message = || {
        let signal = ledger::interrupting_signal().unwrap_or("a signal");
        format!("snapshot {} ({}): interrupted by {signal} before its scan finished", job.snapshot_id, job.volume_name)
    };
    if ledger::STOP.load(Ordering::SeqCst) {
        return JobResult { interrupted: true, ..JobResult::failed(interrupted_message()) };
    }
    let source = match session.open_snapshot(&job.region, &job.snapshot_id) {
        Ok(source) => Arc::new(source),
        Err(error) => return JobResult::failed(error.to_string()),
    };
    let polled = Arc::clone(&source);
    let transfer = crate::progress::bars().transfer(&job.snapshot_id, move || {
        let counters = polled.counters();
        (counters.blocks_fetched, counters.bytes_fetched)
    });
    let mut scanned = scan_volume(Arc::clone(&source) as Arc<dyn ReadAt>, &job.volume_name)
        .map_err(|error| format!("cannot read snapshot {} ({}): {error}", job.snapshot_id, job.volume_name));
    transfer.finish();
    // Reads failed from the moment of the signal: what the walk gathered is incomplete.
    let interrupted = ledger::STOP.load(Ordering::SeqCst);
    if interrupted {
        scanned = Err(interrupted_message());
    }
    JobResult {
        scanned,
        counters: source.counters(),
        bytes_read: source.read_counters().bytes_read(),
        read_calls: source.read_counters().read_calls(),
        interrupted,
    }
}

impl JobResult {
    fn failed(message: String) -> Self {
        Self {
            scanned: Err(message),
            counters: EbsCounters::default(),
            bytes_read: 0,
            read_calls: 0,
            interrupted: false,
        }
    }
}

/// A unique id for this run's snapshots: time, process and randomness.
pub fn new_scan_id() -> String {
    use std::hash::{BuildHasher, RandomState};
    let seconds = crate::distro::unix_now();
    let random = RandomState::new().hash_one((seconds, std::process::id()));
    format!("{seconds}-{}-{:08x}", std::process::id(), random & 0xffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_region_does_not_end_the_search() {
        let regions: Vec<String> = ["eu-west-1", "me-south-1", "us-east-1"].map(String::from).to_vec();
        let denied = |region: &str| CallError {
            reason: Reason::AccessDenied,
            message: format!("DescribeImages in {region}: not authorized"),
        };
        // Found after a region that failed.
        let found = find_in_regions(&regions, "image ami-1", |region| match region {
            "me-south-1" => Err(denied(region)),
            "us-east-1" => Ok(Some(7)),
            _ => Ok(None),
        });
        assert_eq!(found, Ok(("us-east-1".to_string(), 7)));
        // Found nowhere: the failure's reason, and every problem in the message.
        let missing = find_in_regions(&regions, "image ami-1", |region| match region {
            "me-south-1" => Err(denied(region)),
            _ => Ok(None::<u8>),
        })
        .unwrap_err();
        assert_eq!(missing.reason, Reason::AccessDenied);
        assert!(missing.message.starts_with("image ami-1 not found in eu-west-1, me-south-1, us-east-1; "));
        assert!(missing.message.contains("DescribeImages in me-south-1: not authorized"));
        // Found nowhere and nothing failed: not found.
        let absent = find_in_regions(&regions, "snapshot snap-1", |_| Ok(None::<()>)).unwrap_err();
        assert_eq!(absent.reason, Reason::NotFound);
    }

    #[test]
    fn ids_may_name_their_region() {
        let parse = |text: &str| RegionalId::parse(text, "snap-", "snapshot");
        assert_eq!(parse("snap-0abc").unwrap(), RegionalId { region: None, id: "snap-0abc".to_string() });
        let west = RegionalId { region: Some("us-west-2".to_string()), id: "snap-0abc".to_string() };
        assert_eq!(parse("us-west-2:snap-0abc").unwrap(), west);
        assert_eq!(parse("arn:aws:ec2:us-west-2::snapshot/snap-0abc").unwrap(), west);
        assert_eq!(parse("arn:aws-us-gov:ec2:us-west-2:123456789012:snapshot/snap-0abc").unwrap().region, west.region);
        for bad in [
            "",
            "snap-",
            "vol-0abc",
            ":snap-0abc",
            "US-WEST-2:snap-0abc",
            "us-west-2:snap-0abc/../x",
            "arn:aws:ec2:us-west-2::image/snap-0abc",
            "arn:aws:s3:us-west-2::snapshot/snap-0abc",
            "arn::ec2:us-west-2::snapshot/snap-0abc",
            "arn:aws:ec2:us-west-2::snapshot",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let image = RegionalId::parse("arn:aws:ec2:eu-central-1::image/ami-12ab", "ami-", "image").unwrap();
        assert_eq!((image.region.as_deref(), image.id.as_str()), (Some("eu-central-1"), "ami-12ab"));
    }
}
