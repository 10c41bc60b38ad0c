//! Which instances (and which of their volumes) may be snapshotted and scanned, with a
//! reason code for every one that is not.
//!
//! A pure function of plain facts gathered from `DescribeInstances`/`DescribeVolumes`, so
//! the rules are tested from tables without AWS. Reason codes are a contract: they appear
//! in every report's `coverage[]` and people filter on them.

use serde::Serialize;
use std::fmt;

/// Why a target (or one volume) was not scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// Carries one of the exclusion tag keys.
    ExcludedByTag,
    /// Windows (we read Linux filesystems only).
    UnsupportedPlatform,
    /// Its root device is instance store, which has no snapshots.
    NotEbsBacked,
    /// Not running (pending, stopping, stopped, terminated…).
    StateNotScannable,
    /// More volumes than the limit.
    TooManyVolumes,
    /// Its volumes add up to more than the size limit.
    TotalSizeLimit,
    /// `CreateSnapshots` failed or a snapshot ended in `error`.
    SnapshotFailed,
    /// Snapshots did not complete in time.
    SnapshotTimeout,
    /// The credentials may not do what is needed.
    AccessDenied,
    /// Every volume is encrypted with an excluded KMS key.
    KmsKeyExcluded,
    /// Not found in any region searched.
    NotFound,
    /// The snapshot was made but reading it failed.
    ScanFailed,
    /// The run was interrupted before this target was scanned.
    Interrupted,
}

impl Reason {
    /// The code as reports print it.
    pub fn code(self) -> &'static str {
        match self {
            Self::ExcludedByTag => "EXCLUDED_BY_TAG",
            Self::UnsupportedPlatform => "UNSUPPORTED_PLATFORM",
            Self::NotEbsBacked => "NOT_EBS_BACKED",
            Self::StateNotScannable => "STATE_NOT_SCANNABLE",
            Self::TooManyVolumes => "TOO_MANY_VOLUMES",
            Self::TotalSizeLimit => "TOTAL_SIZE_LIMIT",
            Self::SnapshotFailed => "SNAPSHOT_FAILED",
            Self::SnapshotTimeout => "SNAPSHOT_TIMEOUT",
            Self::AccessDenied => "ACCESS_DENIED",
            Self::KmsKeyExcluded => "KMS_KEY_EXCLUDED",
            Self::NotFound => "NOT_FOUND",
            Self::ScanFailed => "SCAN_FAILED",
            Self::Interrupted => "INTERRUPTED",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.code())
    }
}

/// What we know about one attached EBS volume.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VolumeFacts {
    /// `vol-…`.
    pub volume_id: String,
    /// Device name (`/dev/xvda`).
    pub device: String,
    /// Size in GiB.
    pub size_gib: u64,
    /// KMS key (ARN or id) of an encrypted volume.
    pub kms_key_id: Option<String>,
    /// Tag keys of that KMS key (when they could be read).
    pub kms_key_tag_keys: Vec<String>,
}

/// What we know about one instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstanceFacts {
    /// `i-…`.
    pub instance_id: String,
    /// `running`, `stopped`, …
    pub state: String,
    /// `windows` or nothing.
    pub platform: Option<String>,
    /// `ebs` or `instance-store`.
    pub root_device_type: String,
    /// Root device name.
    pub root_device_name: Option<String>,
    /// Tags (key, value).
    pub tags: Vec<(String, String)>,
    /// Attached EBS volumes.
    pub volumes: Vec<VolumeFacts>,
}

/// The limits and exclusions in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    /// Tag keys that exclude an instance, or a KMS key's volumes.
    pub exclusion_tag_keys: Vec<String>,
    /// KMS keys (ids or ARNs) whose volumes are never snapshotted.
    pub excluded_kms_keys: Vec<String>,
    /// Most volumes per instance.
    pub maximum_volumes: usize,
    /// Most GiB per instance, all volumes together.
    pub maximum_total_gib: u64,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            exclusion_tag_keys: vec!["InspectorEc2Exclusion".to_string(), "snapscan:exclude".to_string()],
            excluded_kms_keys: Vec::new(),
            maximum_volumes: 8,
            maximum_total_gib: 1200,
        }
    }
}

/// The decision for one instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Snapshot these volumes; the others were skipped for the reason given.
    Scan {
        /// Volumes to snapshot.
        volumes: Vec<VolumeFacts>,
        /// Volumes left out, each with why.
        skipped: Vec<(VolumeFacts, Reason)>,
    },
    /// Do not touch the instance.
    Skip(Reason),
}

/// Decide whether and what to scan of `instance`. Checks run cheapest and most
/// fundamental first, so each instance gets the one reason that matters most.
pub fn decide(instance: &InstanceFacts, rules: &Rules) -> Decision {
    let excluded_tag = |key: &str| rules.exclusion_tag_keys.iter().any(|excluded| excluded == key);
    if instance.tags.iter().any(|(key, _)| excluded_tag(key)) {
        return Decision::Skip(Reason::ExcludedByTag);
    }
    if instance.platform.as_deref().is_some_and(|platform| platform.eq_ignore_ascii_case("windows")) {
        return Decision::Skip(Reason::UnsupportedPlatform);
    }
    if !instance.root_device_type.eq_ignore_ascii_case("ebs") || instance.volumes.is_empty() {
        return Decision::Skip(Reason::NotEbsBacked);
    }
    if instance.state != "running" {
        return Decision::Skip(Reason::StateNotScannable);
    }
    let (volumes, skipped): (Vec<_>, Vec<_>) =
        instance.volumes.iter().cloned().partition(|volume| !kms_excluded(volume, rules));
    let skipped: Vec<_> = skipped.into_iter().map(|volume| (volume, Reason::KmsKeyExcluded)).collect();
    if volumes.is_empty() {
        return Decision::Skip(Reason::KmsKeyExcluded);
    }
    if volumes.len() > rules.maximum_volumes {
        return Decision::Skip(Reason::TooManyVolumes);
    }
    let total: u64 = volumes.iter().fold(0u64, |total, volume| total.saturating_add(volume.size_gib));
    if total > rules.maximum_total_gib {
        return Decision::Skip(Reason::TotalSizeLimit);
    }
    Decision::Scan { volumes, skipped }
}

/// A volume whose KMS key is excluded by id/ARN or carries an exclusion tag.
fn kms_excluded(volume: &VolumeFacts, rules: &Rules) -> bool {
    let Some(key) = &volume.kms_key_id else { return false };
    let listed = rules.excluded_kms_keys.iter().any(|excluded| {
        // Accept a bare key id for a key given by ARN and the other way round.
        excluded == key || key.ends_with(&format!("/{excluded}")) || excluded.ends_with(&format!("/{key}"))
    });
    listed || volume.kms_key_tag_keys.iter().any(|tag| rules.exclusion_tag_keys.contains(tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(id: &str, size_gib: u64) -> VolumeFacts {
        VolumeFacts { volume_id: id.to_string(), device: format!("/dev/{id}"), size_gib, ..VolumeFacts::default() }
    }

    fn running() -> InstanceFacts {
        InstanceFacts {
            instance_id: "i-1".to_string(),
            state: "running".to_string(),
            root_device_type: "ebs".to_string(),
            root_device_name: Some("/dev/xvda".to_string()),
            volumes: vec![volume("vol-root", 8), volume("vol-data", 100)],
            ..InstanceFacts::default()
        }
    }

    fn skip_reason(instance: &InstanceFacts, rules: &Rules) -> Option<Reason> {
        match decide(instance, rules) {
            Decision::Skip(reason) => Some(reason),
            Decision::Scan { .. } => None,
        }
    }

    #[test]
    fn reasons_table() {
        let rules = Rules::default();
        let with = |change: &dyn Fn(&mut InstanceFacts)| {
            let mut instance = running();
            change(&mut instance);
            instance
        };
        let cases: Vec<(&str, InstanceFacts, Option<Reason>)> = vec![
            ("plain running linux", running(), None),
            (
                "inspector exclusion tag",
                with(&|i| i.tags.push(("InspectorEc2Exclusion".into(), String::new()))),
                Some(Reason::ExcludedByTag),
            ),
            (
                "snapscan exclusion tag",
                with(&|i| i.tags.push(("snapscan:exclude".into(), "true".into()))),
                Some(Reason::ExcludedByTag),
            ),
            ("an unrelated tag", with(&|i| i.tags.push(("Name".into(), "snapscan:exclude".into()))), None),
            ("windows lower case", with(&|i| i.platform = Some("windows".into())), Some(Reason::UnsupportedPlatform)),
            ("windows any case", with(&|i| i.platform = Some("Windows".into())), Some(Reason::UnsupportedPlatform)),
            (
                "instance store root",
                with(&|i| i.root_device_type = "instance-store".into()),
                Some(Reason::NotEbsBacked),
            ),
            ("no volumes", with(&|i| i.volumes.clear()), Some(Reason::NotEbsBacked)),
            ("stopped", with(&|i| i.state = "stopped".into()), Some(Reason::StateNotScannable)),
            ("pending", with(&|i| i.state = "pending".into()), Some(Reason::StateNotScannable)),
            (
                "nine volumes",
                with(&|i| i.volumes = (0..9).map(|n| volume(&format!("vol-{n}"), 1)).collect()),
                Some(Reason::TooManyVolumes),
            ),
            ("eight volumes", with(&|i| i.volumes = (0..8).map(|n| volume(&format!("vol-{n}"), 1)).collect()), None),
            ("too big", with(&|i| i.volumes.push(volume("vol-big", 1100))), Some(Reason::TotalSizeLimit)),
        ];
        for (name, instance, expected) in cases {
            assert_eq!(skip_reason(&instance, &rules), expected, "{name}");
        }
    }

    #[test]
    fn excluded_kms_key_skips_only_its_volumes() {
        let rules = Rules { excluded_kms_keys: vec!["key-1".to_string()], ..Rules::default() };
        let mut instance = running();
        instance.volumes[1].kms_key_id = Some("arn:aws:kms:us-east-1:123456789012:key/key-1".to_string());
        let Decision::Scan { volumes, skipped } = decide(&instance, &rules) else {
            panic!("should scan the root volume")
        };
        assert_eq!(volumes.iter().map(|volume| volume.volume_id.as_str()).collect::<Vec<_>>(), ["vol-root"]);
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].1, Reason::KmsKeyExcluded);

        // A key tagged with an exclusion key counts the same; with every volume excluded
        // the instance is skipped.
        let mut tagged = running();
        for volume in &mut tagged.volumes {
            volume.kms_key_id = Some("key-2".to_string());
            volume.kms_key_tag_keys = vec!["InspectorEc2Exclusion".to_string()];
        }
        assert_eq!(skip_reason(&tagged, &Rules::default()), Some(Reason::KmsKeyExcluded));
        // An unencrypted volume is never KMS-excluded.
        assert_eq!(skip_reason(&running(), &rules), None);
    }

    #[test]
    fn reason_codes_serialize_as_codes() {
        for reason in [Reason::ExcludedByTag, Reason::KmsKeyExcluded, Reason::SnapshotTimeout] {
            assert_eq!(serde_json::to_value(reason).unwrap(), serde_json::Value::String(reason.code().to_string()));
        }
    }
}
