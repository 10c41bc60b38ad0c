//! Shared harness of the AWS tests: moto's server on loopback (through
//! `tests/moto_launcher.py`, which patches what moto gets wrong and injects faults), SDK
//! clients with dummy credentials (moto routes only SigV4-signed requests), and seeding of
//! snapshots from fixture images through the EBS direct API.
#![allow(dead_code)]

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ebs::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_ebs::primitives::ByteStream;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

/// Region every test uses.
pub const REGION: &str = "us-east-1";

/// A running moto server; killed when dropped (and it exits by itself when our end of its
/// stdin closes, so a killed test leaves nothing running).
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

/// Repository root.
pub fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The project venv's Python, if `scripts/test.sh` made one.
pub fn venv_python() -> Option<PathBuf> {
    let python = repository_root().join(".venv/bin/python");
    python.exists().then_some(python)
}

impl Moto {
    /// Start moto, or `None` (after printing why) when the test venv is missing.
    pub fn start() -> Option<Self> {
        Self::start_with(&[])
    }

    /// Start moto with extra environment for the launcher.
    pub fn start_with(environment: &[(&str, &str)]) -> Option<Self> {
        let Some(python) = venv_python() else {
            println!("skipped: .venv with moto not present (scripts/test.sh creates it)");
            return None;
        };
        let mut child = Command::new(python)
            .arg(repository_root().join("tests/moto_launcher.py"))
            .envs(environment.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto launcher");
        let stdout = child.stdout.take().expect("launcher stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read launcher port");
        let port: u16 = line
            .strip_prefix("PORT ")
            .and_then(|port| port.trim().parse().ok())
            .unwrap_or_else(|| panic!("launcher said {line:?}"));
        Some(Self { child, endpoint: format!("http://127.0.0.1:{port}") })
    }

    /// SDK configuration pointing at this server with dummy credentials.
    pub fn sdk_config(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "testing", "testing", None, None, "tests",
            )))
            .build()
    }

    /// Environment that makes the snapscan binary talk to this server.
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
            ("AWS_REGION", REGION.to_string()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
            ("AWS_CONFIG_FILE", "/nonexistent".to_string()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".to_string()),
        ]
    }

    /// Set the launcher's fault injection (see `tests/moto_launcher.py`).
    pub fn set_faults(&self, settings: &str) -> String {
        http(&self.endpoint, "POST", "/__snapscan/faults", settings)
    }

    /// What the fault injector saw and did.
    pub fn fault_report(&self) -> serde_json::Value {
        let body = http(&self.endpoint, "GET", "/__snapscan/faults", "");
        serde_json::from_str(&body).unwrap_or_else(|error| panic!("fault report is not JSON ({error}): {body:?}"))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// A minimal HTTP/1.0 request to the launcher's control endpoint.
fn http(endpoint: &str, method: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let address = endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connect to moto");
    write!(stream, "{method} {path} HTTP/1.0\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default()
}

/// A runtime for the test's own SDK calls.
pub fn runtime() -> Arc<tokio::runtime::Runtime> {
    Arc::new(snapscan::aws::new_runtime().expect("runtime"))
}

/// EBS block size.
pub const BLOCK: usize = 524_288;

/// Upload `image` as a new snapshot (non-zero blocks only, like a real sparse snapshot)
/// and return its id.
pub fn seed_snapshot(runtime: &tokio::runtime::Runtime, config: &SdkConfig, image: &Path) -> String {
    let bytes = std::fs::read(image).expect("read image");
    let client = aws_sdk_ebs::Client::new(config);
    runtime.block_on(async {
        let gib = bytes.len().div_ceil(1 << 30).max(1);
        let started = client
            .start_snapshot()
            .volume_size(i64::try_from(gib).unwrap())
            .description("snapscan test seed")
            .send()
            .await
            .expect("StartSnapshot");
        let snapshot_id = started.snapshot_id().expect("snapshot id").to_string();
        let mut written = 0;
        for (index, chunk) in bytes.chunks(BLOCK).enumerate() {
            if chunk.iter().all(|&byte| byte == 0) {
                continue;
            }
            let mut block = chunk.to_vec();
            block.resize(BLOCK, 0);
            let checksum = aws_smithy_types::base64::encode(Sha256::digest(&block));
            client
                .put_snapshot_block()
                .snapshot_id(&snapshot_id)
                .block_index(i32::try_from(index).unwrap())
                .data_length(i32::try_from(BLOCK).unwrap())
                .checksum(checksum)
                .checksum_algorithm(aws_sdk_ebs::types::ChecksumAlgorithm::ChecksumAlgorithmSha256)
                .block_data(ByteStream::from(block))
                .send()
                .await
                .expect("PutSnapshotBlock");
            written += 1;
        }
        client
            .complete_snapshot()
            .snapshot_id(&snapshot_id)
            .changed_blocks_count(written)
            .send()
            .await
            .expect("CompleteSnapshot");
        snapshot_id
    })
}

/// Number of non-zero 512 KiB blocks of an image.
pub fn allocated_blocks(image: &Path) -> u64 {
    let bytes = std::fs::read(image).expect("read image");
    bytes.chunks(BLOCK).filter(|chunk| chunk.iter().any(|&byte| byte != 0)).count() as u64
}

/// Tag key snapscan puts on the snapshots it creates.
pub const SCAN_ID_TAG: &str = "snapscan:scan-id";

/// EC2 client for the test's own set-up and checks.
pub fn ec2(moto: &Moto) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&moto.sdk_config())
}

/// Snapshot ids carrying our tag key.
pub fn tagged_snapshots(runtime: &tokio::runtime::Runtime, moto: &Moto) -> Vec<String> {
    tagged_snapshots_with(runtime, moto, SCAN_ID_TAG)
}

/// Snapshot ids carrying the tag key `key`.
pub fn tagged_snapshots_with(runtime: &tokio::runtime::Runtime, moto: &Moto, key: &str) -> Vec<String> {
    let client = ec2(moto);
    runtime.block_on(async {
        let output = client
            .describe_snapshots()
            .owner_ids("self")
            .filters(aws_sdk_ec2::types::Filter::builder().name("tag-key").values(key).build())
            .send()
            .await
            .expect("DescribeSnapshots");
        output.snapshots().iter().filter_map(|snapshot| snapshot.snapshot_id().map(str::to_string)).collect()
    })
}

/// Every snapshot id moto holds for our account.
pub fn all_snapshots(runtime: &tokio::runtime::Runtime, moto: &Moto) -> Vec<String> {
    let client = ec2(moto);
    runtime.block_on(async {
        let output = client.describe_snapshots().owner_ids("self").send().await.expect("DescribeSnapshots");
        output.snapshots().iter().filter_map(|snapshot| snapshot.snapshot_id().map(str::to_string)).collect()
    })
}

/// Register an AMI whose root is `snapshot_id`.
pub fn register_image(runtime: &tokio::runtime::Runtime, moto: &Moto, snapshot_id: &str) -> String {
    register_image_with(runtime, &moto.sdk_config(), snapshot_id)
}

/// Register an AMI whose root is `snapshot_id`, in the region of `config`.
pub fn register_image_with(runtime: &tokio::runtime::Runtime, config: &SdkConfig, snapshot_id: &str) -> String {
    use aws_sdk_ec2::types::{BlockDeviceMapping, EbsBlockDevice};
    let client = aws_sdk_ec2::Client::new(config);
    runtime.block_on(async {
        client
            .register_image()
            .name(format!("snapscan-test-{snapshot_id}"))
            .root_device_name("/dev/xvda")
            .block_device_mappings(
                BlockDeviceMapping::builder()
                    .device_name("/dev/xvda")
                    .ebs(EbsBlockDevice::builder().snapshot_id(snapshot_id).build())
                    .build(),
            )
            .send()
            .await
            .expect("RegisterImage")
            .image_id()
            .expect("image id")
            .to_string()
    })
}

/// What an instance to launch looks like.
#[derive(Default)]
pub struct Launch<'a> {
    /// AMI (defaults to one registered from the root snapshot).
    pub image_id: Option<&'a str>,
    /// Root volume's snapshot.
    pub root_snapshot: Option<&'a str>,
    /// Extra data volumes (size GiB, KMS key for an encrypted one).
    pub data_volumes: Vec<(i32, Option<&'a str>)>,
    /// Tags.
    pub tags: Vec<(&'a str, &'a str)>,
}

/// Launch one instance; returns its id.
pub fn launch(runtime: &tokio::runtime::Runtime, moto: &Moto, image_id: &str, launch: Launch<'_>) -> String {
    use aws_sdk_ec2::types::{BlockDeviceMapping, EbsBlockDevice, ResourceType, Tag, TagSpecification};
    let client = ec2(moto);
    runtime.block_on(async {
        let mut request =
            client.run_instances().image_id(launch.image_id.unwrap_or(image_id)).min_count(1).max_count(1);
        let root =
            EbsBlockDevice::builder().volume_size(1).set_snapshot_id(launch.root_snapshot.map(str::to_string)).build();
        request =
            request.block_device_mappings(BlockDeviceMapping::builder().device_name("/dev/xvda").ebs(root).build());
        for (index, (size, key)) in launch.data_volumes.iter().enumerate() {
            let device = format!("/dev/xvd{}", char::from(b'f' + u8::try_from(index).unwrap()));
            let ebs = EbsBlockDevice::builder()
                .volume_size(*size)
                .encrypted(key.is_some())
                .set_kms_key_id(key.map(str::to_string))
                .build();
            request = request.block_device_mappings(BlockDeviceMapping::builder().device_name(device).ebs(ebs).build());
        }
        if !launch.tags.is_empty() {
            let mut tags = TagSpecification::builder().resource_type(ResourceType::Instance);
            for (key, value) in &launch.tags {
                tags = tags.tags(Tag::builder().key(*key).value(*value).build());
            }
            request = request.tag_specifications(tags.build());
        }
        let output = request.send().await.expect("RunInstances");
        output.instances()[0].instance_id().expect("instance id").to_string()
    })
}

/// Stop an instance.
pub fn stop(runtime: &tokio::runtime::Runtime, moto: &Moto, instance_id: &str) {
    let client = ec2(moto);
    runtime.block_on(async { client.stop_instances().instance_ids(instance_id).send().await.expect("StopInstances") });
}

/// Run the snapscan binary against moto.
pub fn snapscan(moto: &Moto, arguments: &[&str]) -> std::process::Output {
    snapscan_command(moto, arguments).output().expect("run snapscan")
}

/// The snapscan command, set up to talk to moto (not yet started).
pub fn snapscan_command(moto: &Moto, arguments: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_snapscan"));
    command.args(arguments).current_dir(repository_root()).envs(moto.environment()).env_remove("AWS_PROFILE");
    command
}

/// (name, version) of every package in a JSON report, sorted.
pub fn package_versions(report: &serde_json::Value) -> Vec<(String, String)> {
    let mut packages: Vec<(String, String)> = report["packages"]
        .as_array()
        .expect("packages array")
        .iter()
        .map(|package| {
            (
                package["name"].as_str().unwrap_or_default().to_string(),
                package["version"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    packages.sort();
    packages.dedup();
    packages
}

/// Parse stdout as JSON, showing stderr when it is not.
pub fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!("stdout is not JSON ({error}); stderr: {}", String::from_utf8_lossy(&output.stderr))
    })
}
