//! `snapscan db update` against a small HTTP server on 127.0.0.1 that this test starts
//! (std `TcpListener` in a thread), serving OSV `all.zip` archives built here from
//! hand-written records and an Amazon Linux repository (`mirror.list` → `repomd.xml` →
//! `updateinfo.xml.gz`). Never the internet. Checks: the bundle is built where asked
//! (`--db`, else `$XDG_CACHE_HOME/snapscan/`), `db info` names each source's URL, a scan
//! of the demo image finds the hand-computed advisories; and every broken download
//! (truncated zip, HTTP 500, a body shorter than its Content-Length, a wrong SHA-256, over
//! the size cap, too slow) exits 2 naming the URL and leaves the old bundle byte-identical.

#[path = "../src/test_fixtures.rs"]
mod test_fixtures;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use test_fixtures::repository_root;

/// What the server answers for one path.
#[derive(Clone)]
enum Reply {
    /// 200 with this body.
    Body(Vec<u8>),
    /// This status and a short body.
    Status(u16),
    /// 200 claiming `declared` bytes, sending `body`, then closing.
    WrongLength { body: Vec<u8>, declared: usize },
    /// 200 with headers, then nothing for this long.
    Stall(Duration),
    /// 302 to this location.
    Redirect(String),
}

struct Server {
    address: String,
    routes: Arc<Mutex<HashMap<String, Reply>>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let address = format!("http://{}", listener.local_addr().unwrap());
        let routes: Arc<Mutex<HashMap<String, Reply>>> = Arc::default();
        let shared = Arc::clone(&routes);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let routes = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, &routes));
            }
        });
        Server { address, routes }
    }

    fn route(&self, path: &str, reply: Reply) {
        self.routes.lock().unwrap().insert(path.to_string(), reply);
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }
}

fn serve(mut stream: TcpStream, routes: &Mutex<HashMap<String, Reply>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    while !request.windows(4).any(|window| window == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(count) => request.extend_from_slice(&buffer[..count]),
        }
    }
    let text = String::from_utf8_lossy(&request);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
    let reply = routes.lock().unwrap().get(&path).cloned().unwrap_or(Reply::Status(404));
    let head = |status: &str, length: usize| {
        format!("HTTP/1.1 {status}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n").into_bytes()
    };
    let _ = match reply {
        Reply::Body(body) => stream.write_all(&[head("200 OK", body.len()), body].concat()),
        Reply::Status(code) => stream.write_all(&[head(&format!("{code} Nope"), 4), b"nope".to_vec()].concat()),
        Reply::WrongLength { body, declared } => stream.write_all(&[head("200 OK", declared), body].concat()),
        Reply::Stall(duration) => {
            let _ = stream.write_all(&head("200 OK", 1000));
            std::thread::sleep(duration);
            Ok(())
        }
        Reply::Redirect(location) => stream.write_all(
            format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        ),
    };
}

/// A zip of `(file name, JSON record)` entries, deflated as OSV's are.
fn zip_of(records: &[(&str, serde_json::Value)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, record) in records {
        writer.start_file(*name, options).unwrap();
        writer.write_all(serde_json::to_string_pretty(record).unwrap().as_bytes()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn debian_zip() -> Vec<u8> {
    let record = |id: &str, cve: &str, package: &str, events: serde_json::Value| {
        serde_json::json!({"id": id, "aliases": [cve], "modified": "2024-07-10T00:00:00Z",
            "summary": format!("{cve} in {package}"),
            "affected": [{"package": {"ecosystem": "Debian:12", "name": package},
                "ranges": [{"type": "ECOSYSTEM", "events": events}]}]})
    };
    zip_of(&[
        // openssl 3.0.11-1~deb12u2 on the demo image: affected, fixed in deb12u1 of 3.0.14.
        (
            "DEBIAN-CVE-2024-5535.json",
            record(
                "DEBIAN-CVE-2024-5535",
                "CVE-2024-5535",
                "openssl",
                serde_json::json!([{"introduced": "0"}, {"fixed": "3.0.14-1~deb12u1"}]),
            ),
        ),
        // zlib: no fix yet.
        (
            "DEBIAN-CVE-2023-45853.json",
            record("DEBIAN-CVE-2023-45853", "CVE-2023-45853", "zlib", serde_json::json!([{"introduced": "0"}])),
        ),
        // curl fixed before the demo's version: not a finding.
        (
            "DEBIAN-CVE-2020-0001.json",
            record(
                "DEBIAN-CVE-2020-0001",
                "CVE-2020-0001",
                "curl",
                serde_json::json!([{"introduced": "0"}, {"fixed": "7.64.0-4"}]),
            ),
        ),
    ])
}

fn pypi_zip() -> Vec<u8> {
    zip_of(&[(
        "GHSA-9wx4-h78v-vm56.json",
        serde_json::json!({"id": "GHSA-9wx4-h78v-vm56", "aliases": ["CVE-2024-35195"], "modified": "2024-06-01T00:00:00Z",
            "database_specific": {"severity": "MODERATE"},
            "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.32.0"}]}]}]}),
    )])
}

fn rocky_zip() -> Vec<u8> {
    zip_of(&[(
        "RLSA-2024:0001.json",
        serde_json::json!({"id": "RLSA-2024:0001", "affected": [{"package": {"ecosystem": "Rocky Linux:9", "name": "openssl"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:3.0.7-25.el9"}]}]}]}),
    )])
}

fn updateinfo_gz() -> Vec<u8> {
    let xml = br#"<updates><update type="security"><id>ALAS2023-2024-001</id><severity>important</severity><pkglist><collection><package name="curl" epoch="0" version="8.5.0" release="1.amzn2023"/></collection></pkglist></update></updates>"#;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(xml).unwrap();
    encoder.finish().unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A server with Debian, PyPI and Rocky Linux archives and an Amazon Linux repository.
fn good_server() -> Server {
    let server = Server::start();
    server.route("/osv/Debian/all.zip", Reply::Body(debian_zip()));
    server.route("/osv/PyPI/all.zip", Reply::Body(pypi_zip()));
    server.route("/osv/Rocky%20Linux/all.zip", Reply::Redirect(server.url("/mirror/rocky.zip")));
    server.route("/mirror/rocky.zip", Reply::Body(rocky_zip()));
    let updateinfo = updateinfo_gz();
    server.route(
        "/al2023/mirror.list",
        Reply::Body(format!("# mirrors\n{}\n", server.url("/al2023/repo/")).into_bytes()),
    );
    let repomd = format!(
        r#"<repomd><data type="updateinfo"><checksum type="sha256">{}</checksum><location href="repodata/abc-updateinfo.xml.gz"/></data></repomd>"#,
        sha256_hex(&updateinfo)
    );
    server.route("/al2023/repo/repodata/repomd.xml", Reply::Body(repomd.into_bytes()));
    server.route("/al2023/repo/repodata/abc-updateinfo.xml.gz", Reply::Body(updateinfo));
    server
}

fn scratch(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("snapscan-db-update-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

fn snapscan(directory: &Path, arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snapscan"))
        .args(arguments)
        .current_dir(repository_root())
        .env("XDG_CACHE_HOME", directory.join("cache"))
        .env_remove("SNAPSCAN_LOG")
        .output()
        .expect("run snapscan")
}

fn update_arguments<'a>(server_osv: &'a str, alas: &'a str) -> Vec<&'a str> {
    vec![
        "db",
        "update",
        "--osv-url",
        server_osv,
        "--ecosystem",
        "Debian",
        "--ecosystem",
        "PyPI",
        "--ecosystem",
        "Rocky Linux",
        "--alas-url",
        alas,
    ]
}

#[test]
fn update_builds_a_bundle_that_finds_the_records() {
    let server = good_server();
    let directory = scratch("good");
    let bundle = directory.join("nested/advisories.db");
    let osv = server.url("/osv");
    let alas = server.url("/al2023/mirror.list");
    let mut arguments = update_arguments(&osv, &alas);
    arguments.extend(["--db", bundle.to_str().unwrap()]);
    let output = snapscan(&directory, &arguments);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("6 advisories"), "{stdout}");

    let info = snapscan(&directory, &["db", "info", "--db", bundle.to_str().unwrap()]);
    assert_eq!(info.status.code(), Some(0));
    let info = String::from_utf8_lossy(&info.stdout);
    for expected in [
        format!(
            "Debian: 3 records, 3 imported, 0 withdrawn, 0 rejected, 0 GIT ranges skipped; newest modified 2024-07-10T00:00:00Z ({osv}/Debian/all.zip)"
        ),
        "PyPI: 1 records, 1 imported".to_string(),
        format!("({osv}/Rocky%20Linux/all.zip)"),
        "alas-1: 1 records, 1 imported".to_string(),
        format!("({})", server.url("/al2023/repo/repodata/abc-updateinfo.xml.gz")),
    ] {
        assert!(info.contains(&expected), "{expected}\n{info}");
    }
    // No download or partial bundle is left beside the bundle.
    let leftovers: Vec<String> = std::fs::read_dir(bundle.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers, ["advisories.db"]);

    let scan = snapscan(
        &directory,
        &["scan", "image", "fixtures/demo/debian12.img", "--db", bundle.to_str().unwrap(), "-f", "json"],
    );
    assert_eq!(scan.status.code(), Some(0), "{}", String::from_utf8_lossy(&scan.stderr));
    let findings: Vec<(String, String, Option<String>)> = test_fixtures::report_findings(&scan.stdout)
        .into_iter()
        .map(|(package, id, _severity, fixed)| (package, id, fixed))
        .collect();
    let fixed = |version: &str| Some(version.to_string());
    assert_eq!(
        findings,
        [
            ("libssl3".to_string(), "CVE-2024-5535".to_string(), fixed("3.0.14-1~deb12u1")),
            ("openssl".to_string(), "CVE-2024-5535".to_string(), fixed("3.0.14-1~deb12u1")),
            ("requests".to_string(), "CVE-2024-35195".to_string(), fixed("2.32.0")),
            ("zlib1g".to_string(), "CVE-2023-45853".to_string(), None),
        ]
    );
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn default_bundle_is_in_the_user_cache() {
    let server = good_server();
    let directory = scratch("default");
    let osv = server.url("/osv");
    let output = snapscan(&directory, &["db", "update", "--osv-url", &osv, "--ecosystem", "PyPI"]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(directory.join("cache/snapscan/advisories.db").is_file());
    let info = snapscan(&directory, &["db", "info"]);
    assert!(String::from_utf8_lossy(&info.stdout).contains(&format!("({osv}/PyPI/all.zip)")));
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn failed_updates_exit_2_and_keep_the_old_bundle() {
    let server = good_server();
    let directory = scratch("bad");
    let bundle = directory.join("advisories.db");
    let bundle_argument = bundle.to_str().unwrap().to_string();
    let osv = server.url("/osv");
    let alas = server.url("/al2023/mirror.list");
    let mut arguments = update_arguments(&osv, &alas);
    arguments.extend(["--db", &bundle_argument]);
    assert_eq!(snapscan(&directory, &arguments).status.code(), Some(0));
    let original = std::fs::read(&bundle).unwrap();

    let archive = debian_zip();
    let debian_url = server.url("/osv/Debian/all.zip");
    let updateinfo_url = server.url("/al2023/repo/repodata/abc-updateinfo.xml.gz");
    // (case, route replaced, extra arguments, URL the error names, words it says)
    type Case<'a> = (&'a str, Option<(&'a str, Reply)>, Vec<String>, String, &'a str);
    let cases: Vec<Case> = vec![
        (
            "truncated zip",
            Some(("/osv/Debian/all.zip", Reply::Body(archive[..archive.len() / 2].to_vec()))),
            vec![],
            debian_url.clone(),
            "zip",
        ),
        ("HTTP 500", Some(("/osv/Debian/all.zip", Reply::Status(500))), vec![], debian_url.clone(), "HTTP 500"),
        (
            "short body",
            Some((
                "/osv/Debian/all.zip",
                Reply::WrongLength { body: archive[..100].to_vec(), declared: archive.len() },
            )),
            vec![],
            debian_url.clone(),
            "body broke off",
        ),
        (
            "wrong pin",
            None,
            vec!["--sha256".to_string(), format!("{debian_url}={}", "0".repeat(64))],
            debian_url.clone(),
            "SHA-256",
        ),
        (
            "repomd checksum",
            Some(("/al2023/repo/repodata/abc-updateinfo.xml.gz", Reply::Body(b"not the file".to_vec()))),
            vec![],
            updateinfo_url.clone(),
            "SHA-256",
        ),
        ("size cap", None, vec!["--max-download-size".to_string(), "200".to_string()], debian_url.clone(), "cap"),
        (
            "stalled",
            Some(("/osv/Debian/all.zip", Reply::Stall(Duration::from_secs(4)))),
            vec!["--timeout".to_string(), "1s".to_string()],
            debian_url.clone(),
            "not complete after 1 s",
        ),
        ("missing", Some(("/osv/Debian/all.zip", Reply::Status(404))), vec![], debian_url.clone(), "HTTP 404"),
    ];
    for (name, route, extra, url, reason) in cases {
        let good_routes = server.routes.lock().unwrap().clone();
        if let Some((path, reply)) = route {
            server.route(path, reply);
        }
        let mut arguments: Vec<&str> = arguments.clone();
        arguments.extend(extra.iter().map(String::as_str));
        let output = snapscan(&directory, &arguments);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(&url) && stderr.contains(reason), "{name}: {stderr}");
        assert!(stderr.contains("previous bundle"), "{name}: {stderr}");
        assert!(std::fs::read(&bundle).unwrap() == original, "{name}: the old bundle changed");
        let leftovers: Vec<String> = std::fs::read_dir(&directory)
            .unwrap()
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name != "cache")
            .collect();
        assert_eq!(leftovers, ["advisories.db"], "{name}");
        *server.routes.lock().unwrap() = good_routes;
    }
    // Nothing listening: a connection error, still naming the URL.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let output =
        snapscan(&directory, &["db", "update", "--db", &bundle_argument, "--osv-url", &dead, "--ecosystem", "npm"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains(&format!("{dead}/npm/all.zip")));
    assert!(std::fs::read(&bundle).unwrap() == original);
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn bad_update_arguments_exit_2() {
    let directory = scratch("arguments");
    for arguments in [
        ["db", "update", "--max-download-size", "lots"],
        ["db", "update", "--timeout", "soon"],
        ["db", "update", "--sha256", "http://127.0.0.1/x=abc"],
    ] {
        let output = snapscan(&directory, &arguments);
        assert_eq!(output.status.code(), Some(2), "{arguments:?}");
    }
    let _ = std::fs::remove_dir_all(&directory);
}
