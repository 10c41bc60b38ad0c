//! `snapscan db update`: download the feeds, verify them, build a bundle from them and
//! swap it in atomically.
//!
//! Sources: OSV's per-ecosystem bulk archives at `{osv_url}/{ecosystem}/all.zip` (the
//! public OSV bucket by default) and any Amazon Linux updateinfo feeds given by URL (a
//! repository's `mirror.list`, its `repodata/repomd.xml`, or an `updateinfo.xml(.gz)`
//! itself; no default, as their hosts vary by region and mirror).
//!
//! Verification, in order: the HTTP status (2xx; redirects followed up to 5 times), the
//! body length against `Content-Length` when the server sends one, a size cap, a
//! deadline per download, a SHA-256 when one is known (`--sha256 URL=HEX` pins, and the
//! checksum `repomd.xml` gives for its updateinfo), then while importing the zip central
//! directory and the CRC-32 of every entry. OSV publishes no checksum file for `all.zip`
//! (the bucket's `x-goog-hash` header carries CRC32C/MD5 only), so pins are the way to
//! fix an expected archive. Every file is downloaded into a temporary directory beside
//! the bundle, the new bundle is written beside it and renamed over the old one: any
//! failure leaves the old bundle untouched, and the error names the URL.

use super::{AdvisoryError, BuildReport, import, store};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The public OSV bucket (not a package registry: OSV's own data export).
pub const DEFAULT_OSV_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// The OSV ecosystems snapscan matches, as the bucket names their directories.
pub const DEFAULT_ECOSYSTEMS: &[&str] = &[
    "Debian",
    "Ubuntu",
    "Alpine",
    "AlmaLinux",
    "Rocky Linux",
    "Red Hat",
    "SUSE",
    "openSUSE",
    "PyPI",
    "npm",
    "Maven",
    "Go",
    "crates.io",
    "RubyGems",
    "Packagist",
    "NuGet",
];

/// Default cap on one download (the largest OSV archives are a few hundred MiB).
pub const DEFAULT_MAX_DOWNLOAD_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// Default deadline for one download, connection to last byte.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(900);
/// Deadline for establishing a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Redirects followed per download.
const REDIRECT_LIMIT: usize = 5;
/// Largest `mirror.list` / `repomd.xml` read (both are a few KiB).
const INDEX_LIMIT: u64 = 1024 * 1024;

/// What to download and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateOptions {
    /// Base URL of the OSV export; archives are at `{base}/{ecosystem}/all.zip`.
    pub osv_url: String,
    /// OSV ecosystems to download.
    pub ecosystems: Vec<String>,
    /// Amazon Linux feeds: `mirror.list`, `repomd.xml` or `updateinfo.xml(.gz)` URLs.
    pub alas_urls: Vec<String>,
    /// Expected SHA-256 (lower-case hex) of the body at a URL.
    pub sha256_pins: Vec<(String, String)>,
    /// Largest body accepted per download.
    pub max_download_bytes: u64,
    /// Deadline per download.
    pub timeout: Duration,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        Self {
            osv_url: DEFAULT_OSV_URL.to_string(),
            ecosystems: DEFAULT_ECOSYSTEMS.iter().map(|name| name.to_string()).collect(),
            alas_urls: Vec::new(),
            sha256_pins: Vec::new(),
            max_download_bytes: DEFAULT_MAX_DOWNLOAD_BYTES,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Why an update failed; the old bundle is untouched in every case.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// A download failed or did not verify.
    #[error("{url}: {reason}")]
    Download {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// A downloaded feed could not be imported (a truncated or corrupt archive).
    #[error("{url}")]
    Import {
        /// The URL it came from.
        url: String,
        /// The import error.
        source: AdvisoryError,
    },
    /// Local files could not be written, or the bundle could not be built.
    #[error(transparent)]
    Local(#[from] AdvisoryError),
}

/// The URL of one ecosystem's archive: `{base}/{ecosystem}/all.zip`, the name
/// percent-encoded (`Rocky Linux` → `Rocky%20Linux`).
pub fn osv_archive_url(base: &str, ecosystem: &str) -> String {
    let mut encoded = String::new();
    for byte in ecosystem.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b':') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("{}/{encoded}/all.zip", base.trim_end_matches('/'))
}

/// One downloaded feed file and where it came from.
struct Downloaded {
    name: String,
    origin: String,
    path: PathBuf,
}

/// Download every source, build a bundle from them and rename it over `bundle`.
pub fn update(bundle: &Path, options: &UpdateOptions) -> Result<BuildReport, UpdateError> {
    let directory = bundle.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(directory).map_err(|source| io_error(directory, source))?;
    let scratch = directory.join(format!(".snapscan-update-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|source| io_error(&scratch, source))?;
    let result = download_and_build(bundle, &scratch, options);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn io_error(path: &Path, source: std::io::Error) -> AdvisoryError {
    AdvisoryError::Io { path: path.display().to_string(), source }
}

fn download_and_build(bundle: &Path, scratch: &Path, options: &UpdateOptions) -> Result<BuildReport, UpdateError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| io_error(scratch, source))?;
    let client = Client::new().map_err(|source| io_error(scratch, source))?;
    let mut downloaded = Vec::new();
    for (index, ecosystem) in options.ecosystems.iter().enumerate() {
        let url = osv_archive_url(&options.osv_url, ecosystem);
        let path = scratch.join(format!("osv-{index}.zip"));
        let expected = pinned(options, &url);
        runtime.block_on(client.download(&url, &path, options, expected.as_deref()))?;
        downloaded.push(Downloaded { name: ecosystem.clone(), origin: url, path });
    }
    for (index, url) in options.alas_urls.iter().enumerate() {
        let (feed_url, expected) = runtime.block_on(client.resolve_updateinfo(url, options))?;
        let expected = pinned(options, &feed_url).or(expected);
        let suffix = if feed_url.ends_with(".gz") { "xml.gz" } else { "xml" };
        let path = scratch.join(format!("alas-{index}-updateinfo.{suffix}"));
        runtime.block_on(client.download(&feed_url, &path, options, expected.as_deref()))?;
        downloaded.push(Downloaded { name: format!("alas-{}", index + 1), origin: feed_url, path });
    }
    // Imported one source at a time as the bundle is written, so only one ecosystem's
    // advisories are in memory at once.
    let sources = downloaded.into_iter().map(|feed| {
        let imported = import::import_path(&feed.path, &feed.name)
            .map_err(|source| UpdateError::Import { url: feed.origin.clone(), source })?;
        // Gone from disk as soon as it is read: the archives add up to gigabytes.
        let _ = std::fs::remove_file(&feed.path);
        Ok((feed.name, feed.origin, imported.advisories, imported.counts))
    });
    let now = crate::distro::unix_now();
    store::write_bundle_from(bundle, sources, now)
}

/// The pinned SHA-256 for `url`, if any.
fn pinned(options: &UpdateOptions, url: &str) -> Option<String> {
    options.sha256_pins.iter().find(|(pinned_url, _)| pinned_url == url).map(|(_, hex)| hex.to_ascii_lowercase())
}

type HttpsConnector = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// A blocking-by-`block_on` HTTP(S) client over the hyper/rustls stack the AWS SDK uses.
struct Client {
    inner: hyper_util::client::legacy::Client<HttpsConnector, http_body_util::Empty<hyper::body::Bytes>>,
}

impl Client {
    fn new() -> std::io::Result<Self> {
        let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let provider = || std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = match hyper_rustls::HttpsConnectorBuilder::new().with_provider_and_native_roots(provider()) {
            Ok(builder) => builder,
            // No system CA certificates: plain http (a local mirror) still works, and an
            // https download fails with a certificate error naming its URL.
            Err(error) => {
                tracing::warn!("no system CA certificates ({error}): https downloads will fail");
                let config = rustls::ClientConfig::builder_with_provider(provider())
                    .with_safe_default_protocol_versions()
                    .map_err(std::io::Error::other)?
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth();
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
            }
        };
        let connector = builder.https_or_http().enable_http1().wrap_connector(http);
        let inner = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
        Ok(Self { inner })
    }

    /// Download `url` into `path`, checking status, length, cap, deadline and checksum.
    async fn download(
        &self,
        url: &str,
        path: &Path,
        options: &UpdateOptions,
        expected_sha256: Option<&str>,
    ) -> Result<(), UpdateError> {
        let failed = |reason: String| UpdateError::Download { url: url.to_string(), reason };
        let mut file = std::fs::File::create(path).map_err(|source| io_error(path, source))?;
        let mut hasher = Sha256::new();
        let fetch = self.fetch(url, options.max_download_bytes, |chunk| {
            hasher.update(chunk);
            file.write_all(chunk).map_err(|error| format!("writing {}: {error}", path.display()))
        });
        match tokio::time::timeout(options.timeout, fetch).await {
            Ok(result) => result?,
            Err(_) => return Err(failed(format!("not complete after {} s", options.timeout.as_secs()))),
        }
        file.sync_all().map_err(|source| io_error(path, source))?;
        if let Some(expected) = expected_sha256 {
            let actual: String = hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect();
            if actual != expected {
                return Err(failed(format!("SHA-256 is {actual}, expected {expected}")));
            }
        }
        Ok(())
    }

    /// GET `url` (following redirects), handing the body to `sink` chunk by chunk.
    async fn fetch(
        &self,
        url: &str,
        limit: u64,
        mut sink: impl FnMut(&[u8]) -> Result<(), String>,
    ) -> Result<(), UpdateError> {
        let mut current = url.to_string();
        for _ in 0..=REDIRECT_LIMIT {
            let failed = |reason: String| UpdateError::Download { url: current.clone(), reason };
            let uri: hyper::Uri = current.parse().map_err(|error| failed(format!("not a valid URL: {error}")))?;
            if !matches!(uri.scheme_str(), Some("http" | "https")) {
                return Err(failed("only http and https URLs are supported".to_string()));
            }
            let request = hyper::Request::get(uri.clone())
                .header(hyper::header::USER_AGENT, concat!("snapscan/", env!("CARGO_PKG_VERSION")))
                .body(http_body_util::Empty::new())
                .map_err(|error| failed(error.to_string()))?;
            let response = self.inner.request(request).await.map_err(|error| failed(describe(&error)))?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(hyper::header::LOCATION)
                    .and_then(|value| value.to_str().ok())
                    .ok_or_else(|| failed(format!("HTTP {status} without a Location")))?;
                current = resolve(&uri, location);
                continue;
            }
            if !status.is_success() {
                return Err(failed(format!("HTTP {status}")));
            }
            let declared: Option<u64> = response
                .headers()
                .get(hyper::header::CONTENT_LENGTH)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse().ok());
            if let Some(declared) = declared.filter(|declared| *declared > limit) {
                return Err(failed(format!("{declared} bytes announced, more than the {limit}-byte cap")));
            }
            let mut body = response.into_body();
            let mut received: u64 = 0;
            while let Some(frame) = body.frame().await {
                let frame = frame
                    .map_err(|error| failed(format!("body broke off after {received} bytes: {}", describe(&error))))?;
                if let Ok(chunk) = frame.into_data() {
                    received = received.saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
                    if received > limit {
                        return Err(failed(format!("more than the {limit}-byte cap")));
                    }
                    sink(&chunk).map_err(failed)?;
                }
            }
            if let Some(declared) = declared.filter(|declared| *declared != received) {
                return Err(failed(format!("received {received} bytes, Content-Length said {declared}")));
            }
            return Ok(());
        }
        Err(UpdateError::Download { url: url.to_string(), reason: format!("more than {REDIRECT_LIMIT} redirects") })
    }

    /// A small text document (`mirror.list`, `repomd.xml`).
    async fn fetch_text(&self, url: &str) -> Result<String, UpdateError> {
        let mut bytes = Vec::new();
        self.fetch(url, INDEX_LIMIT, |chunk| {
            bytes.extend_from_slice(chunk);
            Ok(())
        })
        .await?;
        String::from_utf8(bytes)
            .map_err(|_| UpdateError::Download { url: url.to_string(), reason: "not UTF-8 text".to_string() })
    }

    /// The updateinfo URL (and its SHA-256 when `repomd.xml` gives one) an Amazon Linux
    /// feed URL leads to: `mirror.list` → its first mirror's `repodata/repomd.xml` →
    /// the `updateinfo` entry; any other URL is the updateinfo file itself.
    async fn resolve_updateinfo(
        &self,
        url: &str,
        options: &UpdateOptions,
    ) -> Result<(String, Option<String>), UpdateError> {
        let failed =
            |url: &str, reason: &str| UpdateError::Download { url: url.to_string(), reason: reason.to_string() };
        let mut repomd_url = url.to_string();
        if url.ends_with("mirror.list") {
            let text = tokio::time::timeout(options.timeout, self.fetch_text(url))
                .await
                .map_err(|_| failed(url, "timed out"))??;
            let mirror = text
                .lines()
                .map(str::trim)
                .find(|line| !line.is_empty() && !line.starts_with('#'))
                .ok_or_else(|| failed(url, "the mirror list names no mirror"))?;
            repomd_url = format!("{}/repodata/repomd.xml", mirror.trim_end_matches('/'));
        } else if !url.ends_with("repomd.xml") {
            return Ok((url.to_string(), None));
        }
        let text = tokio::time::timeout(options.timeout, self.fetch_text(&repomd_url))
            .await
            .map_err(|_| failed(&repomd_url, "timed out"))??;
        let (location, sha256) =
            updateinfo_location(&text).map_err(|reason| failed(&repomd_url, &format!("repomd.xml: {reason}")))?;
        // `location href` is relative to the repository root, the parent of `repodata/`.
        let root = repomd_url.trim_end_matches("repomd.xml").trim_end_matches('/').trim_end_matches("repodata");
        let uri: hyper::Uri = root.parse().map_err(|_| failed(&repomd_url, "not a valid URL"))?;
        Ok((resolve(&uri, &location), sha256))
    }
}

/// An error and its causes on one line (hyper's own message is only the outermost).
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// `reference` resolved against `base` (absolute URLs, absolute paths and relative paths).
fn resolve(base: &hyper::Uri, reference: &str) -> String {
    if reference.contains("://") {
        return reference.to_string();
    }
    let origin = format!("{}://{}", base.scheme_str().unwrap_or("http"), base.authority().map_or("", |a| a.as_str()));
    if reference.starts_with('/') {
        return format!("{origin}{reference}");
    }
    let path = base.path();
    let directory = path.rsplit_once('/').map_or("", |(directory, _)| directory);
    format!("{origin}{directory}/{reference}")
}

/// The `updateinfo` entry of a `repomd.xml`: its `location href` and, when the checksum
/// is SHA-256, that checksum.
fn updateinfo_location(text: &str) -> Result<(String, Option<String>), String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut in_updateinfo = false;
    let mut in_checksum = false;
    let mut checksum_is_sha256 = false;
    let mut location = None;
    let mut checksum = None;
    loop {
        match reader.read_event().map_err(|error| error.to_string())? {
            Event::Start(element) | Event::Empty(element) => {
                let attribute = |name: &[u8]| super::alas::attribute(&element, name);
                match element.local_name().as_ref() {
                    b"data" => in_updateinfo = attribute(b"type").as_deref() == Some("updateinfo"),
                    b"location" if in_updateinfo => location = attribute(b"href"),
                    b"checksum" if in_updateinfo => {
                        in_checksum = true;
                        checksum_is_sha256 = attribute(b"type").as_deref() == Some("sha256");
                    }
                    _ => {}
                }
            }
            Event::Text(text) if in_checksum && checksum_is_sha256 => {
                let value = text.decode().map_err(|error| error.to_string())?;
                checksum = Some(value.trim().to_ascii_lowercase());
            }
            Event::End(element) => match element.local_name().as_ref() {
                b"checksum" => in_checksum = false,
                b"data" if in_updateinfo => break,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    let location = location.ok_or("no updateinfo entry")?;
    Ok((location, checksum))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_urls_encode_ecosystem_names() {
        assert_eq!(
            osv_archive_url("https://example.org/osv/", "Rocky Linux"),
            "https://example.org/osv/Rocky%20Linux/all.zip"
        );
        assert_eq!(osv_archive_url("http://127.0.0.1:1", "crates.io"), "http://127.0.0.1:1/crates.io/all.zip");
    }

    #[test]
    fn repomd_updateinfo_entry_and_relative_urls() {
        let repomd = r#"<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo">
  <data type="primary"><checksum type="sha256">aaaa</checksum><location href="repodata/primary.xml.gz"/></data>
  <data type="updateinfo">
    <checksum type="sha256">ABCDEF0123</checksum>
    <open-checksum type="sha256">ffff</open-checksum>
    <location href="repodata/0123-updateinfo.xml.gz"/>
  </data>
</repomd>"#;
        assert_eq!(
            updateinfo_location(repomd).unwrap(),
            ("repodata/0123-updateinfo.xml.gz".to_string(), Some("abcdef0123".to_string()))
        );
        assert!(updateinfo_location("<repomd/>").is_err());
        let base: hyper::Uri = "http://127.0.0.1:8080/2/core/".parse().unwrap();
        assert_eq!(resolve(&base, "repodata/x.gz"), "http://127.0.0.1:8080/2/core/repodata/x.gz");
        assert_eq!(resolve(&base, "/other"), "http://127.0.0.1:8080/other");
        assert_eq!(resolve(&base, "https://example.org/y"), "https://example.org/y");
    }
}
