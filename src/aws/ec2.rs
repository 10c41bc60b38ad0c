//! The EC2 calls snapscan makes, each turning SDK types into plain facts at once:
//! describe instances, volumes and images; create tagged snapshots of an instance; wait
//! for them; list and delete snapshots carrying our tag. Mutating calls are paced.

use super::eligibility::{InstanceFacts, Reason, VolumeFacts};
use super::{INSTANCE_TAG, Session, describe};
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{Filter, InstanceSpecification, ResourceType, SnapshotState, Tag, TagSpecification};
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

/// An EC2 call that failed, sorted into a coverage reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct CallError {
    /// Coverage reason.
    pub reason: Reason,
    /// What AWS said, with the operation.
    pub message: String,
}

fn call_error<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug + 'static>(
    operation: &str,
    region: &str,
    fallback: Reason,
    error: SdkError<E, R>,
) -> CallError {
    let code = error.code().unwrap_or_default().to_string();
    let reason =
        if code.contains("UnauthorizedOperation") || code.contains("AccessDenied") || code.contains("AuthFailure") {
            Reason::AccessDenied
        } else if code.ends_with(".NotFound") || code.ends_with(".Malformed") {
            Reason::NotFound
        } else {
            fallback
        };
    CallError { reason, message: format!("{operation} in {region}: {}", describe(&error)) }
}

/// Page cap for describe loops (guards against a service that never stops paginating).
const MAXIMUM_PAGES: usize = 10_000;

/// Instances by id and/or filters (`tag:K=V` style filters as name → values), with their
/// volumes described.
pub fn describe_instances(
    session: &Session,
    region: &str,
    instance_ids: &[String],
    filters: &[(String, Vec<String>)],
) -> Result<Vec<InstanceFacts>, CallError> {
    let client = session.ec2(region);
    let runtime = session.runtime();
    runtime.block_on(async {
        let mut instances = Vec::new();
        let mut next_token = None;
        for _page in 0..MAXIMUM_PAGES {
            let mut request = client.describe_instances().set_next_token(next_token.take());
            if !instance_ids.is_empty() {
                request = request.set_instance_ids(Some(instance_ids.to_vec()));
            }
            for (name, values) in filters {
                request = request.filters(Filter::builder().name(name).set_values(Some(values.clone())).build());
            }
            let output = request
                .send()
                .await
                .map_err(|error| call_error("DescribeInstances", region, Reason::NotFound, error))?;
            for reservation in output.reservations() {
                for instance in reservation.instances() {
                    instances.push(InstanceFacts {
                        instance_id: instance.instance_id().unwrap_or_default().to_string(),
                        state: instance
                            .state()
                            .and_then(|state| state.name())
                            .map(|name| name.as_str().to_string())
                            .unwrap_or_default(),
                        platform: instance.platform().map(|platform| platform.as_str().to_string()),
                        root_device_type: instance
                            .root_device_type()
                            .map(|kind| kind.as_str().to_string())
                            .unwrap_or_default(),
                        root_device_name: instance.root_device_name().map(str::to_string),
                        tags: instance
                            .tags()
                            .iter()
                            .map(|tag| {
                                (tag.key().unwrap_or_default().to_string(), tag.value().unwrap_or_default().to_string())
                            })
                            .collect(),
                        volumes: instance
                            .block_device_mappings()
                            .iter()
                            .filter_map(|mapping| {
                                let volume_id = mapping.ebs()?.volume_id()?;
                                Some(VolumeFacts {
                                    volume_id: volume_id.to_string(),
                                    device: mapping.device_name().unwrap_or_default().to_string(),
                                    ..VolumeFacts::default()
                                })
                            })
                            .collect(),
                    });
                }
            }
            next_token = output.next_token().map(str::to_string);
            if next_token.is_none() {
                break;
            }
        }
        // Sizes and KMS keys come from DescribeVolumes, in batches.
        let volume_ids: Vec<String> = instances
            .iter()
            .flat_map(|instance| instance.volumes.iter().map(|volume| volume.volume_id.clone()))
            .collect();
        let mut details: HashMap<String, (u64, Option<String>)> = HashMap::new();
        for batch in volume_ids.chunks(200) {
            let output = client
                .describe_volumes()
                .set_volume_ids(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|error| call_error("DescribeVolumes", region, Reason::AccessDenied, error))?;
            for volume in output.volumes() {
                let size = volume.size().and_then(|size| u64::try_from(size).ok()).unwrap_or(0);
                let key = if volume.encrypted() == Some(true) { volume.kms_key_id().map(str::to_string) } else { None };
                details.insert(volume.volume_id().unwrap_or_default().to_string(), (size, key));
            }
        }
        // Tag keys of each KMS key in use, for the exclusion rule. A key whose tags we may
        // not read is treated as untagged (listed keys can still be excluded by id).
        let kms = session.kms(region);
        let mut key_tags: HashMap<String, Vec<String>> = HashMap::new();
        for (_, key) in details.values() {
            let Some(key) = key else { continue };
            if key_tags.contains_key(key) {
                continue;
            }
            let tags = match kms.list_resource_tags().key_id(key).send().await {
                Ok(output) => output.tags().iter().map(|tag| tag.tag_key().to_string()).collect(),
                Err(error) => {
                    tracing::warn!(key = %key, "cannot read KMS key tags: {}", describe(&error));
                    Vec::new()
                }
            };
            key_tags.insert(key.clone(), tags);
        }
        for volume in instances.iter_mut().flat_map(|instance| instance.volumes.iter_mut()) {
            if let Some((size, key)) = details.get(&volume.volume_id) {
                volume.size_gib = *size;
                volume.kms_key_id = key.clone();
                volume.kms_key_tag_keys = key.as_ref().and_then(|key| key_tags.get(key)).cloned().unwrap_or_default();
            }
        }
        Ok(instances)
    })
}

/// An AMI's EBS mappings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageFacts {
    /// `ami-…`.
    pub image_id: String,
    /// `windows` or nothing.
    pub platform: Option<String>,
    /// (device name, snapshot id) of every EBS mapping with a snapshot.
    pub snapshots: Vec<(String, String)>,
}

/// Describe AMIs.
pub fn describe_images(session: &Session, region: &str, image_ids: &[String]) -> Result<Vec<ImageFacts>, CallError> {
    let client = session.ec2(region);
    session.runtime().block_on(async {
        let output = client
            .describe_images()
            .set_image_ids(Some(image_ids.to_vec()))
            .send()
            .await
            .map_err(|error| call_error("DescribeImages", region, Reason::NotFound, error))?;
        Ok(output
            .images()
            .iter()
            .map(|image| ImageFacts {
                image_id: image.image_id().unwrap_or_default().to_string(),
                platform: image.platform().map(|platform| platform.as_str().to_string()),
                snapshots: image
                    .block_device_mappings()
                    .iter()
                    .filter_map(|mapping| {
                        Some((
                            mapping.device_name().unwrap_or_default().to_string(),
                            mapping.ebs()?.snapshot_id()?.to_string(),
                        ))
                    })
                    .collect(),
            })
            .collect())
    })
}

/// Whether `region` has the snapshot (visible to these credentials).
pub fn snapshot_exists(session: &Session, region: &str, snapshot_id: &str) -> Result<bool, CallError> {
    let client = session.ec2(region);
    session.runtime().block_on(async {
        match client.describe_snapshots().snapshot_ids(snapshot_id).send().await {
            Ok(output) => Ok(output.snapshots().iter().any(|snapshot| snapshot.snapshot_id() == Some(snapshot_id))),
            Err(error) => {
                let error = call_error("DescribeSnapshots", region, Reason::NotFound, error);
                if error.reason == Reason::NotFound { Ok(false) } else { Err(error) }
            }
        }
    })
}

/// One crash-consistent `CreateSnapshots` of an instance's chosen volumes, tagged with our
/// scan id and the instance id (and nothing else). Returns (volume id, snapshot id) pairs.
pub fn create_snapshots(
    session: &Session,
    region: &str,
    instance: &InstanceFacts,
    keep: &[VolumeFacts],
    scan_id: &str,
) -> Result<Vec<(String, String)>, CallError> {
    let client = session.ec2(region);
    let kept = |volume: &VolumeFacts| keep.iter().any(|kept| kept.volume_id == volume.volume_id);
    let is_root = |volume: &VolumeFacts| instance.root_device_name.as_deref() == Some(volume.device.as_str());
    let exclude_boot = instance.volumes.iter().any(|volume| is_root(volume) && !kept(volume));
    let exclude_data: Vec<String> = instance
        .volumes
        .iter()
        .filter(|volume| !is_root(volume) && !kept(volume))
        .map(|volume| volume.volume_id.clone())
        .collect();
    let specification = InstanceSpecification::builder()
        .instance_id(&instance.instance_id)
        .exclude_boot_volume(exclude_boot)
        .set_exclude_data_volume_ids((!exclude_data.is_empty()).then_some(exclude_data))
        .build();
    let tags = TagSpecification::builder()
        .resource_type(ResourceType::Snapshot)
        .tags(Tag::builder().key(session.tag_key()).value(scan_id).build())
        .tags(Tag::builder().key(INSTANCE_TAG).value(&instance.instance_id).build())
        .build();
    session.runtime().block_on(async {
        session.pace_mutation().await;
        let output = client
            .create_snapshots()
            .instance_specification(specification)
            .tag_specifications(tags)
            .description(format!("snapscan scan {scan_id} of {}; deleted after the scan", instance.instance_id))
            .send()
            .await
            .map_err(|error| call_error("CreateSnapshots", region, Reason::SnapshotFailed, error))?;
        Ok(output
            .snapshots()
            .iter()
            .filter_map(|snapshot| {
                Some((snapshot.volume_id().unwrap_or_default().to_string(), snapshot.snapshot_id()?.to_string()))
            })
            .collect())
    })
}

/// A snapshot's `Progress` (`"40%"`) as a number; a completed snapshot is 100 whatever
/// it says, and an unreadable value 0.
fn percent(progress: Option<&str>, state: Option<&SnapshotState>) -> u8 {
    if state == Some(&SnapshotState::Completed) {
        return 100;
    }
    progress
        .and_then(|text| text.trim().trim_end_matches('%').trim().parse::<u8>().ok())
        .map_or(0, |value| value.min(100))
}

/// Wait until every snapshot in `snapshot_ids` is `completed`, polling with batched
/// `DescribeSnapshots`. Returns, per snapshot that did not complete, why. `on_progress`
/// hears each snapshot's completion percent (0-100) at every poll, for progress lines.
pub fn wait_for_snapshots(
    session: &Session,
    region: &str,
    snapshot_ids: &[String],
    timing: (Duration, Duration),
    on_progress: &dyn Fn(&str, u8),
) -> HashMap<String, CallError> {
    let (timeout, poll) = timing;
    let client = session.ec2(region);
    let deadline = Instant::now() + timeout;
    session.runtime().block_on(async {
        let mut waiting: Vec<String> = snapshot_ids.to_vec();
        let mut failed = HashMap::new();
        while !waiting.is_empty() {
            let mut still = Vec::new();
            for batch in waiting.chunks(200) {
                match client.describe_snapshots().set_snapshot_ids(Some(batch.to_vec())).send().await {
                    Ok(output) => {
                        let states: HashMap<&str, &SnapshotState> = output
                            .snapshots()
                            .iter()
                            .filter_map(|snapshot| Some((snapshot.snapshot_id()?, snapshot.state()?)))
                            .collect();
                        for snapshot in output.snapshots() {
                            if let Some(id) = snapshot.snapshot_id() {
                                on_progress(id, percent(snapshot.progress(), snapshot.state()));
                            }
                        }
                        for id in batch {
                            match states.get(id.as_str()) {
                                Some(SnapshotState::Completed) => {}
                                Some(SnapshotState::Error) => {
                                    failed.insert(
                                        id.clone(),
                                        CallError {
                                            reason: Reason::SnapshotFailed,
                                            message: format!("snapshot {id} ended in state error"),
                                        },
                                    );
                                }
                                _ => still.push(id.clone()),
                            }
                        }
                    }
                    Err(error) => {
                        let error = call_error("DescribeSnapshots", region, Reason::SnapshotFailed, error);
                        for id in batch {
                            failed.insert(id.clone(), error.clone());
                        }
                    }
                }
            }
            waiting = still;
            if waiting.is_empty() {
                break;
            }
            // Interrupted: the snapshots are being deleted; whoever waits reads none of them.
            if super::ledger::STOP.load(std::sync::atomic::Ordering::SeqCst) {
                break;
            }
            if Instant::now() >= deadline {
                for id in waiting.drain(..) {
                    let message = format!("snapshot {id} not completed after {}s", timeout.as_secs());
                    failed.insert(id, CallError { reason: Reason::SnapshotTimeout, message });
                }
                break;
            }
            tokio::time::sleep(poll).await;
        }
        failed
    })
}

/// A snapshot carrying our tag key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaggedSnapshot {
    /// Region.
    pub region: String,
    /// `snap-…`.
    pub snapshot_id: String,
    /// When it was started.
    pub start_time: Option<SystemTime>,
    /// Our scan id tag's value.
    pub scan_id: String,
}

/// Every snapshot we own that carries our tag key.
pub fn list_tagged_snapshots(session: &Session, region: &str) -> Result<Vec<TaggedSnapshot>, CallError> {
    let client = session.ec2(region);
    session.runtime().block_on(async {
        let mut found = Vec::new();
        let mut next_token = None;
        for _page in 0..MAXIMUM_PAGES {
            let output = client
                .describe_snapshots()
                .owner_ids("self")
                .filters(Filter::builder().name("tag-key").values(session.tag_key()).build())
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| call_error("DescribeSnapshots", region, Reason::AccessDenied, error))?;
            for snapshot in output.snapshots() {
                // The filter should guarantee the tag; checking again costs nothing and makes
                // "never touches an untagged snapshot" independent of the service.
                let Some(scan_id) = snapshot
                    .tags()
                    .iter()
                    .find(|tag| tag.key() == Some(session.tag_key()))
                    .map(|tag| tag.value().unwrap_or_default().to_string())
                else {
                    continue;
                };
                found.push(TaggedSnapshot {
                    region: region.to_string(),
                    snapshot_id: snapshot.snapshot_id().unwrap_or_default().to_string(),
                    start_time: snapshot.start_time().and_then(|time| SystemTime::try_from(*time).ok()),
                    scan_id,
                });
            }
            next_token = output.next_token().map(str::to_string);
            if next_token.is_none() {
                break;
            }
        }
        Ok(found)
    })
}

/// Delete one snapshot; one already gone counts as deleted.
pub fn delete_snapshot(session: &Session, region: &str, snapshot_id: &str) -> Result<(), CallError> {
    let client = session.ec2(region);
    session.runtime().block_on(async {
        session.pace_mutation().await;
        match client.delete_snapshot().snapshot_id(snapshot_id).send().await {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some("InvalidSnapshot.NotFound") => Ok(()),
            Err(error) => Err(call_error("DeleteSnapshot", region, Reason::SnapshotFailed, error)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_progress_becomes_a_percent() {
        assert_eq!(percent(Some("40%"), Some(&SnapshotState::Pending)), 40);
        assert_eq!(percent(Some(" 7 % "), None), 7);
        assert_eq!(percent(Some("250%"), None), 100);
        assert_eq!(percent(Some("soon"), Some(&SnapshotState::Pending)), 0);
        assert_eq!(percent(None, Some(&SnapshotState::Completed)), 100);
        assert_eq!(percent(Some("99%"), Some(&SnapshotState::Completed)), 100);
    }
}
