//! AWS targets: snapshots, AMIs and EC2 instances, read through the EBS direct API.
//!
//! The flow is discover → eligibility → `CreateSnapshots` (tagged) → wait → scan → delete.
//! This module owns every AWS SDK type (with `source::ebs`): the rest of snapshot sees
//! plain ids, [`ReadAt`](crate::source::ReadAt) volumes and [`Coverage`](crate::model::Coverage)
//! records. One [`Session`] holds the tokio runtime that every SDK call and every EBS source
//! of a run shares, since the SDK is async and the walk is plain threads.

pub mod cleanup;
pub mod ec2;
pub mod eligibility;
pub mod ledger;
pub mod run;

use crate::source::ebs::{EbsError, EbsOptions, EbsSource};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime;

/// Tag key on every snapshot we create; its value is the scan id. Cleanup deletes only
/// snapshots carrying it, and the IAM policy lets us delete nothing else.
pub const SCAN_ID_TAG: &str = "snapscan:scan-id";

/// Tag key naming the instance a snapshot was taken from.
pub const INSTANCE_TAG: &str = "snapscan:instance-id";

/// How to reach AWS.
#[derive(Clone, Debug, Default)]
pub struct AwsOptions {
    /// Named profile (else the standard chain: env, default profile, SSO, IMDS).
    pub profile: Option<String>,
    /// Regions to work in; empty means the chain's region.
    pub regions: Vec<String>,
    /// Endpoint override (emulators, VPC endpoints); `AWS_ENDPOINT_URL` also works.
    pub endpoint_url: Option<String>,
    /// Role to assume (cross-account scans).
    pub role_arn: Option<String>,
    /// Tag key for the snapshots we create and sweep, when not [`SCAN_ID_TAG`].
    pub tag_key: Option<String>,
    /// Use the SDK's adaptive retry mode (client-side rate limiting) instead of standard.
    pub adaptive_retries: bool,
    /// EBS source tunables.
    pub ebs: EbsOptions,
}

/// Why AWS could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[from] std::io::Error),
    /// No region anywhere.
    #[error("no AWS region: pass --region or configure one (AWS_REGION, profile)")]
    NoRegion,
    /// An EC2 call failed.
    #[error("{operation} in {region}: {message}")]
    Ec2 {
        /// API operation.
        operation: &'static str,
        /// Region.
        region: String,
        /// What AWS said.
        message: String,
    },
    /// Reading a snapshot failed.
    #[error(transparent)]
    Ebs(#[from] EbsError),
}

/// A connection to AWS: credentials, regions, and the runtime every call runs on.
pub struct Session {
    runtime: Arc<Runtime>,
    config: SdkConfig,
    regions: Vec<String>,
    options: AwsOptions,
    /// When the last mutating EC2 call was made, to pace them.
    last_mutation: tokio::sync::Mutex<Option<tokio::time::Instant>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Session").field("regions", &self.regions).finish()
    }
}

/// Attempts the SDK makes for EC2 calls: more than its default 3, since a scan of many
/// instances meets `RequestLimitExceeded` and should ride it out.
const EC2_ATTEMPTS: u32 = 10;

/// Pace of our own mutating EC2 calls.
const MUTATIONS_PER_SECOND: u32 = 20;

impl Session {
    /// Load credentials and region from the standard chain, as `options` adjusts it.
    pub fn connect(options: &AwsOptions) -> Result<Self, AwsError> {
        let runtime = Arc::new(new_runtime()?);
        let config = runtime.block_on(async {
            let mut loader = aws_config::defaults(BehaviorVersion::latest());
            if let Some(profile) = &options.profile {
                loader = loader.profile_name(profile);
            }
            if let Some(region) = options.regions.first() {
                loader = loader.region(Region::new(region.clone()));
            }
            if let Some(endpoint) = &options.endpoint_url {
                loader = loader.endpoint_url(endpoint);
            }
            let config = loader.load().await;
            match &options.role_arn {
                Some(role_arn) => {
                    let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
                        .session_name("snapscan")
                        .configure(&config)
                        .build()
                        .await;
                    config
                        .into_builder()
                        .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(provider))
                        .build()
                }
                None => config,
            }
        });
        Self::with_config(runtime, config, options.clone())
    }

    /// A session over an already-built SDK configuration (tests, embedders).
    pub fn with_config(runtime: Arc<Runtime>, config: SdkConfig, options: AwsOptions) -> Result<Self, AwsError> {
        let regions = if options.regions.is_empty() {
            vec![config.region().ok_or(AwsError::NoRegion)?.to_string()]
        } else {
            options.regions.clone()
        };
        Ok(Self { runtime, config, regions, options, last_mutation: tokio::sync::Mutex::new(None) })
    }

    /// A fresh multi-threaded runtime sized for many concurrent block fetches.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Tag key on the snapshots this session creates and sweeps.
    pub fn tag_key(&self) -> &str {
        self.options.tag_key.as_deref().unwrap_or(SCAN_ID_TAG)
    }

    /// Regions this session works in.
    pub fn regions(&self) -> &[String] {
        &self.regions
    }

    /// The region used when a target does not say (the first one).
    pub fn default_region(&self) -> &str {
        self.regions.first().map(String::as_str).unwrap_or("us-east-1")
    }

    /// The EC2 client for `region`, with more retries than the SDK's default.
    pub(crate) fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        let retry = if self.options.adaptive_retries { RetryConfig::adaptive() } else { RetryConfig::standard() };
        let config = aws_sdk_ec2::config::Builder::from(&self.config)
            .region(Region::new(region.to_string()))
            .retry_config(retry.with_max_attempts(EC2_ATTEMPTS))
            .timeout_config(TimeoutConfig::builder().operation_attempt_timeout(Duration::from_secs(60)).build())
            .build();
        aws_sdk_ec2::Client::from_conf(config)
    }

    /// The KMS client for `region` (reading key tags for the exclusion rule).
    pub(crate) fn kms(&self, region: &str) -> aws_sdk_kms::Client {
        let config = aws_sdk_kms::config::Builder::from(&self.config)
            .region(Region::new(region.to_string()))
            .retry_config(RetryConfig::standard().with_max_attempts(EC2_ATTEMPTS))
            .build();
        aws_sdk_kms::Client::from_conf(config)
    }

    /// The EBS client for `region`. SDK retries are off: `EbsSource` retries itself, body
    /// failures and bad checksums included, and counts every attempt.
    pub(crate) fn ebs(&self, region: &str) -> aws_sdk_ebs::Client {
        let config = aws_sdk_ebs::config::Builder::from(&self.config)
            .region(Region::new(region.to_string()))
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .build(),
            )
            .build();
        aws_sdk_ebs::Client::from_conf(config)
    }

    /// Wait so that mutating EC2 calls (CreateSnapshots, DeleteSnapshot) stay under
    /// [`MUTATIONS_PER_SECOND`]: the EC2 mutating-call bucket is shared with the account's
    /// other tools.
    pub(crate) async fn pace_mutation(&self) {
        let mut last = self.last_mutation.lock().await;
        let interval = Duration::from_secs(1) / MUTATIONS_PER_SECOND;
        if let Some(previous) = *last {
            tokio::time::sleep_until(previous + interval).await;
        }
        *last = Some(tokio::time::Instant::now());
    }

    /// Open a snapshot in `region` as a byte source.
    pub fn open_snapshot(&self, region: &str, snapshot_id: &str) -> Result<EbsSource, EbsError> {
        let options = EbsOptions { stop: Some(&ledger::STOP), ..self.options.ebs.clone() };
        EbsSource::open(Arc::clone(&self.runtime), self.ebs(region), snapshot_id, options)
    }
}

/// The runtime an AWS session runs on: a few worker threads are plenty, since the work is
/// waiting on the network and verifying checksums.
pub fn new_runtime() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().thread_name("snapscan-aws").build()
}

/// The message of an SDK error with its causes, for people.
pub(crate) fn describe<E: std::error::Error + 'static>(error: &E) -> String {
    aws_smithy_types::error::display::DisplayErrorContext(error).to_string()
}
