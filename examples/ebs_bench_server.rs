//! A fast stand-in for the EBS direct API's read side, for `scripts/bench-ebs.sh` only:
//! it serves one disk image as snapshot `snap-bench` (ListSnapshotBlocks with pagination,
//! GetSnapshotBlock with SHA-256 checksums) over HTTP on 127.0.0.1 with a fixed added
//! latency per block, so the scanner's concurrency can be measured without moto (which
//! serves only ~100 blocks/s here) and without AWS.
//!
//!   cargo run --release --example ebs_bench_server -- IMAGE LATENCY_MS
//! prints `PORT <n>` and serves until stdin closes. Checksums are computed once at start, as
//! EBS stores them, so that the server's hashing does not take the scanner's CPU (this
//! machine has two cores). With `EBS_BENCH_TRACE=FILE` it writes one line per block served,
//! `start_ms end_ms index` from its start, to see how many requests wait at once over time.

use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const BLOCK: u64 = 524_288;
const SNAPSHOT: &str = "snap-bench";

struct Image {
    file: std::fs::File,
    allocated: Vec<u64>,
    /// Base64 SHA-256 of each allocated block, in `allocated`'s order.
    checksums: Vec<String>,
    started: std::time::Instant,
    trace: Option<std::sync::Mutex<std::fs::File>>,
    volume_gib: u64,
    latency: Duration,
    served: AtomicU64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut arguments = std::env::args().skip(1);
    let path = arguments.next().ok_or("usage: ebs_bench_server IMAGE LATENCY_MS")?;
    let latency = Duration::from_millis(arguments.next().ok_or("usage: ebs_bench_server IMAGE LATENCY_MS")?.parse()?);
    let file = std::fs::File::open(&path)?;
    let length = file.metadata()?.len();
    // The allocated blocks are the non-zero ones, as in a real snapshot of this disk.
    let mut allocated = Vec::new();
    let mut checksums = Vec::new();
    let mut buffer = vec![0u8; BLOCK as usize];
    for index in 0..length.div_ceil(BLOCK) {
        buffer.fill(0);
        let start = index * BLOCK;
        let size = BLOCK.min(length - start) as usize;
        file.read_exact_at(&mut buffer[..size], start)?;
        if buffer.iter().any(|&byte| byte != 0) {
            allocated.push(index);
            checksums.push(aws_smithy_types::base64::encode(Sha256::digest(&buffer)));
        }
    }
    eprintln!("ebs_bench_server: {} of {} blocks allocated", allocated.len(), length.div_ceil(BLOCK));
    let image = Arc::new(Image {
        file,
        allocated,
        checksums,
        started: std::time::Instant::now(),
        trace: match std::env::var_os("EBS_BENCH_TRACE") {
            Some(path) => Some(std::sync::Mutex::new(std::fs::File::create(path)?)),
            None => None,
        },
        volume_gib: length.div_ceil(1 << 30).max(1),
        latency,
        served: AtomicU64::new(0),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        println!("PORT {}", listener.local_addr()?.port());
        let served = Arc::clone(&image);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let image = Arc::clone(&image);
                tokio::spawn(async move { serve(stream, image).await.ok() });
            }
        });
        // Serve until whoever started us closes our stdin.
        tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await??;
        eprintln!("ebs_bench_server: served {} blocks", served.served.load(Ordering::Relaxed));
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}

async fn serve(stream: TcpStream, image: Arc<Image>) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).await? == 0 || header == "\r\n" {
                break;
            }
        }
        let target = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let parameter =
            |name: &str| query.split('&').find_map(|pair| pair.strip_prefix(&format!("{name}="))).map(str::to_string);
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let response = match parts.as_slice() {
            ["snapshots", SNAPSHOT, "blocks"] => list(&image, parameter("maxResults"), parameter("pageToken")),
            ["snapshots", SNAPSHOT, "blocks", index] => {
                let start = image.started.elapsed();
                tokio::time::sleep(image.latency).await;
                let index = index.parse().unwrap_or(u64::MAX);
                let response = block(&image, index);
                if let Some(trace) = &image.trace {
                    let end = image.started.elapsed();
                    let line = format!("{} {} {index}\n", start.as_millis(), end.as_millis());
                    trace.lock().map(|mut file| file.write_all(line.as_bytes())).ok();
                }
                response
            }
            _ => not_found(),
        };
        writer.write_all(&response).await?;
    }
}

fn list(image: &Image, max_results: Option<String>, page_token: Option<String>) -> Vec<u8> {
    let max = max_results.and_then(|value| value.parse().ok()).unwrap_or(10_000usize);
    let start: u64 = page_token.and_then(|value| value.parse().ok()).unwrap_or(0);
    let from = image.allocated.partition_point(|&index| index < start);
    let page = &image.allocated[from..(from + max).min(image.allocated.len())];
    let blocks: Vec<String> =
        page.iter().map(|index| format!(r#"{{"BlockIndex":{index},"BlockToken":"token-{index}"}}"#)).collect();
    let next = image.allocated.get(from + max).map(|index| format!(r#","NextToken":"{index}""#)).unwrap_or_default();
    let body =
        format!(r#"{{"Blocks":[{}],"VolumeSize":{},"BlockSize":{BLOCK}{next}}}"#, blocks.join(","), image.volume_gib);
    let mut response =
        format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len())
            .into_bytes();
    response.extend_from_slice(body.as_bytes());
    response
}

fn block(image: &Image, index: u64) -> Vec<u8> {
    let Ok(position) = image.allocated.binary_search(&index) else { return not_found() };
    let mut data = vec![0u8; BLOCK as usize];
    let length = image.file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
    let start = index * BLOCK;
    let size = BLOCK.min(length.saturating_sub(start)) as usize;
    if image.file.read_exact_at(&mut data[..size], start).is_err() {
        return not_found();
    }
    image.served.fetch_add(1, Ordering::Relaxed);
    let checksum = &image.checksums[position];
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {BLOCK}\r\nx-amz-Data-Length: {BLOCK}\r\nx-amz-Checksum: {checksum}\r\nx-amz-Checksum-Algorithm: SHA256\r\n\r\n"
    )
    .into_bytes();
    response.extend_from_slice(&data);
    response
}

fn not_found() -> Vec<u8> {
    let body = r#"{"message":"not found"}"#;
    format!("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nx-amzn-ErrorType: ResourceNotFoundException\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}
