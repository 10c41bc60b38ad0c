//! The rpm and apk catalogers end to end. First over the committed fixtures that
//! `scripts/make-fixtures-rpm.sh` builds with the real tools: each rpm database (SQLite,
//! BerkeleyDB in both byte orders and with many buckets) must read exactly as `rpm -qa`
//! listed it when it was made, and `snapscan scan image` on the Amazon-Linux-2023-like,
//! legacy Red Hat style and Alpine-like images must report exactly those packages. Then
//! over real databases in `../shared/data/pkgdb`: rpm (BerkeleyDB from CentOS/RHEL
//! images, SQLite from Amazon Linux 2023 and CBL-Mariner, NDB from SLES 15), compared with
//! what rpm itself lists for the same file where this machine's rpm can read it and with
//! the `rpm -qa` list recorded beside the Amazon Linux database; and apk `installed`
//! databases from Alpine images, including broken ones.

#[path = "../src/test_fixtures.rs"]
mod test_fixtures;

use snapscan::catalog::apk::parse_installed;
use snapscan::catalog::rpm::{
    self,
    header::{Header, HeaderPackage},
};
use snapscan::fs::{FileReader, FsError};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `test_fixtures::unpacked`, one test at a time: two threads unpacking the same fixture
/// at once would write the same temporary file.
fn unpacked(relative: &str) -> PathBuf {
    static UNPACKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = UNPACKING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    test_fixtures::unpacked(relative)
}

fn fixture_lines(relative: &str) -> Vec<String> {
    let (headers, problems) = read(&unpacked(relative));
    assert!(problems.is_empty(), "{relative}: {problems:?}");
    let mut lines: Vec<String> = headers
        .iter()
        .map(|header| {
            let arch = header.arch.as_deref().unwrap_or("(none)");
            let source = header.source_rpm.as_deref().unwrap_or("(none)");
            format!("{} {} {arch} {source}", header.name, header.evr())
        })
        .collect();
    lines.sort();
    lines
}

fn expected_lines(relative: &str) -> Vec<String> {
    let text = std::fs::read_to_string(test_fixtures::repository_root().join(relative)).unwrap();
    text.lines().map(str::to_string).collect()
}

#[test]
fn fixture_databases_read_as_rpm_listed_them() {
    for database in ["rpmdb.sqlite", "Packages-little-endian", "Packages-big-endian", "Packages-many"] {
        let found = fixture_lines(&format!("fixtures/rpm/{database}.zst"));
        assert_eq!(found, expected_lines(&format!("fixtures/rpm/{database}.expected")), "{database}");
        // The fixture covers an epoch, two kernels and a signing key.
        assert!(found.iter().any(|line| line.starts_with("openssl-libs 1:3.0.8-")));
        assert_eq!(found.iter().filter(|line| line.starts_with("kernel ")).count() % 2, 0);
        assert!(found.iter().any(|line| line.starts_with("gpg-pubkey ")));
    }
}

#[test]
fn truncated_and_garbage_fixture_databases_are_problems() {
    for database in ["rpmdb.sqlite", "Packages-little-endian", "Packages-big-endian"] {
        let whole = std::fs::read(unpacked(&format!("fixtures/rpm/{database}.zst"))).unwrap();
        for length in [0, 100, whole.len() / 3, whole.len() - 1] {
            let bytes = whole.get(..length).unwrap().to_vec();
            let size = bytes.len() as u64;
            let (_, problems) = rpm::read_database(&mut MemoryFile(bytes, size), None);
            assert!(!problems.is_empty(), "{database} cut to {length} bytes");
        }
        let mut scrambled = whole.clone();
        for (index, byte) in scrambled.iter_mut().enumerate().skip(512) {
            *byte ^= (index % 251) as u8;
        }
        let size = scrambled.len() as u64;
        let (_, problems) = rpm::read_database(&mut MemoryFile(scrambled, size), None);
        assert!(!problems.is_empty(), "{database} scrambled");
    }
}

/// A file held in memory.
struct MemoryFile(Vec<u8>, u64);

impl FileReader for MemoryFile {
    fn size(&self) -> u64 {
        self.1
    }
    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<usize, FsError> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.0.len());
        let count = buffer.len().min(self.0.len() - start);
        buffer[..count].copy_from_slice(&self.0[start..start + count]);
        Ok(count)
    }
}

fn scan_json(relative: &str) -> serde_json::Value {
    let image = unpacked(relative);
    let output = Command::new(env!("CARGO_BIN_EXE_snapscan"))
        .args(["scan", "image", "--format", "json", "--no-progress"])
        .arg(&image)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let mut report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    // Keep the issues found on the disk; run-level ones (no advisory bundle) have no location.
    if let Some(issues) = report["issues"].as_array_mut() {
        issues.retain(|issue| !issue["location"].is_null());
    }
    report
}

#[test]
fn amazon_linux_2023_image_lists_exactly_what_rpm_lists() {
    let report = scan_json("fixtures/rpm/al2023-gpt.img.zst");
    let partition = &report["targets"][0]["volumes"][0]["partitions"][1];
    assert_eq!(partition["distro"]["id"], "amzn");
    assert_eq!(partition["distro"]["version_id"], "2023");
    assert_eq!(partition["distro"]["end_of_life"], "2029-06-30");
    let packages = report["packages"].as_array().unwrap();
    let mut found: Vec<String> = packages
        .iter()
        .map(|package| format!("{} {} {}", package["name"], package["version"], package["arch"]).replace('"', ""))
        .collect();
    found.sort();
    // rpm -qa minus the signing key, which is not software.
    let expected: Vec<String> = expected_lines("fixtures/rpm/rpmdb.sqlite.expected")
        .iter()
        .filter(|line| !line.starts_with("gpg-pubkey "))
        .map(|line| line.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(found, expected);
    let openssl = packages.iter().find(|package| package["name"] == "openssl-libs").unwrap();
    assert_eq!(openssl["ecosystem"], "rpm");
    assert_eq!(openssl["purl"], "pkg:rpm/amzn/openssl-libs@3.0.8-1.amzn2023.0.3?arch=x86_64&epoch=1&distro=amzn-2023");
    assert_eq!(openssl["source_name"], "openssl");
    assert_eq!(openssl["source_version"], "1:3.0.8-1.amzn2023.0.3");
    assert_eq!(openssl["version"], "1:3.0.8-1.amzn2023.0.3");
    assert_eq!(openssl["epoch"], 1);
    assert_eq!(openssl["release"], "1.amzn2023.0.3");
    // A package without an epoch has a null one, not 0.
    let bash = packages.iter().find(|package| package["name"] == "bash").unwrap();
    assert_eq!(bash["epoch"], serde_json::Value::Null);
    assert!(bash["release"].as_str().is_some_and(|release| release.contains("amzn2023")), "{bash}");
    assert_eq!(openssl["found_by"], "rpm");
    assert_eq!(openssl["locations"][0]["partition"], 2);
    assert_eq!(openssl["locations"][0]["path"], "/var/lib/rpm/rpmdb.sqlite");
    // Nothing but (once 2029-06-30 has passed) the end-of-life warning.
    let issues = report["issues"].as_array().unwrap();
    assert!(
        issues.iter().all(|issue| issue["message"].as_str().unwrap().contains("reached end of life")),
        "{issues:?}"
    );
}

#[test]
fn legacy_image_is_detected_from_release_files() {
    let report = scan_json("fixtures/rpm/legacy-bare.img.zst");
    let distro = &report["targets"][0]["volumes"][0]["partitions"][0]["distro"];
    assert_eq!((distro["id"].as_str(), distro["version_id"].as_str()), (Some("centos"), Some("7")));
    let packages = report["packages"].as_array().unwrap();
    let expected = expected_lines("fixtures/rpm/Packages-little-endian.expected");
    assert_eq!(packages.len(), expected.iter().filter(|line| !line.starts_with("gpg-pubkey ")).count());
    let openssl = packages.iter().find(|package| package["name"] == "openssl-libs").unwrap();
    assert_eq!(openssl["purl"], "pkg:rpm/centos/openssl-libs@3.0.8-1.amzn2023.0.3?arch=x86_64&epoch=1&distro=centos-7");
    assert_eq!(openssl["locations"][0]["path"], "/var/lib/rpm/Packages");
    // CentOS 7 is past its end of life: the partition says so, and so does one warning.
    assert_eq!(distro["end_of_life"], "2024-06-30");
    assert_eq!(distro["end_of_life_reached"], true);
    let issues = report["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0]["severity"], "warning");
    assert_eq!(issues[0]["location"]["path"], "");
    let message = issues[0]["message"].as_str().unwrap();
    assert!(
        message.contains("CentOS") && message.ends_with("reached end of life on 2024-06-30: it gets no security fixes"),
        "{message}"
    );
}

#[test]
fn alpine_image_lists_its_packages_and_the_broken_stanza() {
    let report = scan_json("fixtures/rpm/alpine-bare.img.zst");
    assert_eq!(report["targets"][0]["volumes"][0]["partitions"][0]["distro"]["version_id"], "3.20.3");
    let packages = report["packages"].as_array().unwrap();
    let names: Vec<&str> = packages.iter().map(|package| package["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["alpine-baselayout-data", "busybox", "libcrypto3", "libssl3", "musl"]);
    let libcrypto = &packages[2];
    assert_eq!(libcrypto["purl"], "pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64&distro=alpine-3.20.3");
    assert_eq!(libcrypto["source_name"], "openssl");
    assert_eq!(libcrypto["found_by"], "apk");
    // epoch and release are rpm's; apk keeps its revision in the version.
    assert_eq!((&libcrypto["epoch"], &libcrypto["release"]), (&serde_json::Value::Null, &serde_json::Value::Null));
    let distro = &report["targets"][0]["volumes"][0]["partitions"][0]["distro"];
    assert_eq!(
        (distro["end_of_life"].as_str(), distro["end_of_life_reached"].as_bool()),
        (Some("2026-04-01"), Some(true))
    );
    let issues = report["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 2, "{issues:?}");
    let broken = issues.iter().find(|issue| issue["location"]["path"] == "/lib/apk/db/installed").unwrap();
    assert!(broken["message"].as_str().unwrap().contains("stanza-without-version"), "{issues:?}");
    let end_of_life = issues.iter().find(|issue| issue["location"]["path"] == "").unwrap();
    assert!(
        end_of_life["message"]
            .as_str()
            .unwrap()
            .ends_with("reached end of life on 2026-04-01: it gets no security fixes"),
        "{issues:?}"
    );
}

/// A file on this machine, read positionally like a file inside an image.
struct HostFile(std::fs::File, u64);

impl FileReader for HostFile {
    fn size(&self) -> u64 {
        self.1
    }
    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<usize, FsError> {
        Ok(self.0.read_at(buffer, offset)?)
    }
}

/// `../shared/data`, or where `SNAPSCAN_SHARED_DATA` points (a worktree outside the
/// repository's usual parent has no `../shared`).
pub fn shared_data() -> PathBuf {
    std::env::var_os("SNAPSCAN_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| test_fixtures::repository_root().join("../shared/data"))
}

fn corpus(ecosystem: &str) -> Option<PathBuf> {
    let root = shared_data().join("pkgdb").join(ecosystem);
    if root.is_dir() {
        Some(root)
    } else {
        println!("skipped: ../shared/data not present");
        None
    }
}

fn read(path: &Path) -> (Vec<HeaderPackage>, Vec<String>) {
    let file = std::fs::File::open(path).unwrap();
    let size = file.metadata().unwrap().len();
    rpm::read_database(&mut HostFile(file, size), None)
}

/// `name evr arch` lines, sorted, as both sides print them.
fn lines(headers: &[HeaderPackage]) -> Vec<String> {
    let mut lines: Vec<String> = headers
        .iter()
        .map(|header| format!("{} {} {}", header.name, header.evr(), header.arch.as_deref().unwrap_or("(none)")))
        .collect();
    lines.sort();
    lines
}

/// What this machine's rpm lists for a database file, or `None` when it cannot say
/// (no rpm here, or a backend it was built without). rpm wants a writable directory, so
/// it reads a copy, named as rpm names it (`Packages`, `rpmdb.sqlite`), in a temporary directory.
fn rpm_lists(database: &Path, rpm_name: &str) -> Option<Vec<String>> {
    rpm_query(database, rpm_name, "%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE} %{ARCH}\\n")
}

/// `rpm -qa --qf FORMAT` over a copy of a database, lines sorted.
fn rpm_query(database: &Path, rpm_name: &str, format: &str) -> Option<Vec<String>> {
    let directory = std::env::temp_dir().join(format!(
        "snapscan-rpm-corpus-{}-{}",
        std::process::id(),
        // One directory per database and query, so tests running at once do not collide.
        (database.to_string_lossy() + format)
            .bytes()
            .fold(0u32, |hash, byte| hash.wrapping_mul(31).wrapping_add(u32::from(byte)))
    ));
    std::fs::create_dir_all(&directory).unwrap();
    let copy = directory.join(rpm_name);
    std::fs::copy(database, &copy).unwrap();
    let output = Command::new("rpm").arg("-qa").arg("--dbpath").arg(&directory).arg("--qf").arg(format).output();
    std::fs::remove_dir_all(&directory).unwrap();
    let output = output.ok().filter(|output| output.status.success())?;
    let mut lines: Vec<String> = String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect();
    lines.sort();
    Some(lines).filter(|lines| !lines.is_empty())
}

fn check_against_rpm(relative: &str, rpm_name: &str, expected_count: usize) {
    let Some(root) = corpus("rpm") else { return };
    let database = root.join(relative);
    let (headers, problems) = read(&database);
    assert!(problems.is_empty(), "{relative}: {problems:?}");
    assert_eq!(headers.len(), expected_count, "{relative}");
    match rpm_lists(&database, rpm_name) {
        Some(expected) => assert_eq!(lines(&headers), expected, "{relative}"),
        None => println!("rpm on this machine cannot read {relative}; compared the count only"),
    }
}

#[test]
fn berkeley_databases_match_rpm() {
    check_against_rpm("knqyf263__go-rpmdb/pkg/testdata/libuuid/Packages", "Packages", 1);
    check_against_rpm("anchore__syft/syft/pkg/cataloger/redhat/testdata/Packages", "Packages", 1);
    check_against_rpm("google__osv-scalibr/extractor/filesystem/os/rpm/testdata/Packages_epoch", "Packages", 1);
}

#[test]
fn sqlite_databases_match_rpm() {
    check_against_rpm("knqyf263__go-rpmdb/pkg/testdata/amazonlinux2023-plain/rpmdb.sqlite", "rpmdb.sqlite", 103);
    check_against_rpm("knqyf263__go-rpmdb/pkg/testdata/cbl-mariner-2.0/rpmdb.sqlite", "rpmdb.sqlite", 129);
}

#[test]
fn amazon_linux_2023_matches_its_recorded_rpm_list() {
    let Some(root) = corpus("rpm") else { return };
    let directory = root.join("knqyf263__go-rpmdb/pkg/testdata/amazonlinux2023-plain");
    let (headers, problems) = read(&directory.join("rpmdb.sqlite"));
    assert!(problems.is_empty(), "{problems:?}");
    // packages.csv is `rpm -qa --queryformat` output: epoch¶name¶version¶release¶arch¶sourcerpm¶size¶license¶vendor¶…
    let recorded = std::fs::read_to_string(directory.join("packages.csv")).unwrap();
    let mut expected: Vec<String> = recorded
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('¶').collect();
            let epoch = if fields[0].is_empty() { String::new() } else { format!("{}:", fields[0]) };
            let arch = if fields[4].is_empty() { "(none)" } else { fields[4] };
            format!("{} {epoch}{}-{} {arch} {} {} {}", fields[1], fields[2], fields[3], fields[5], fields[7], fields[8])
        })
        .collect();
    expected.sort();
    let mut found: Vec<String> = headers
        .iter()
        .map(|header| {
            format!(
                "{} {} {} {} {} {}",
                header.name,
                header.evr(),
                header.arch.as_deref().unwrap_or("(none)"),
                header.source_rpm.as_deref().unwrap_or(""),
                header.license.as_deref().unwrap_or(""),
                header.vendor.as_deref().unwrap_or("")
            )
        })
        .collect();
    found.sort();
    assert_eq!(found, expected);
}

#[test]
fn file_lists_match_rpm() {
    let Some(root) = corpus("rpm") else { return };
    let database = root.join("knqyf263__go-rpmdb/pkg/testdata/amazonlinux2023-plain/rpmdb.sqlite");
    let Some(expected) = rpm_query(&database, "rpmdb.sqlite", "[%{FILENAMES}\\n]") else {
        println!("skipped: no rpm on this machine to list files with");
        return;
    };
    let file = std::fs::File::open(&database).unwrap();
    let size = file.metadata().unwrap().len();
    let mut found = Vec::new();
    let mut problems = Vec::new();
    let mut visit = |_: u64, blob: &[u8]| found.extend(Header::parse(blob).unwrap().file_paths().unwrap());
    rpm::sqlite::read(&mut HostFile(file, size), &mut visit, &mut problems).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    found.sort();
    assert!(found.len() > 1000, "{} files", found.len());
    assert_eq!(found, expected);
}

#[test]
fn sles_ndb_database_reads_whole() {
    let Some(root) = corpus("rpm") else { return };
    let (headers, problems) = read(&root.join("knqyf263__go-rpmdb/pkg/testdata/sle15-bci/Packages.db"));
    assert!(problems.is_empty(), "{problems:?}");
    // This machine's rpm has no NDB backend to compare with: check that every header of
    // this SLES 15 SP3 base image is read, and a few of its base packages exactly.
    let lines = lines(&headers);
    assert_eq!(lines.len(), 35, "{lines:?}");
    for expected in [
        "bash 4.4-19.6.1 x86_64",
        "glibc 2.31-9.3.2 x86_64",
        "sles-release 15.3-55.4.1 x86_64",
        "rpm-ndb 4.14.3-40.1 x86_64",
    ] {
        assert!(lines.iter().any(|line| line == expected), "{expected} not in {lines:?}");
    }
}

/// Stanzas with both a `P:` and a `V:` line, counted by splitting on blank lines.
fn complete_stanzas(text: &str) -> usize {
    text.split("\n\n")
        .filter(|stanza| {
            let has = |key: &str| stanza.lines().any(|line| line.starts_with(key));
            has("P:") && has("V:")
        })
        .count()
}

#[test]
fn apk_databases_read_every_complete_stanza() {
    let Some(root) = corpus("apk") else { return };
    let files = [
        "google__osv-scalibr/extractor/filesystem/os/apk/testdata/installed",
        "google__osv-scalibr/extractor/filesystem/os/apk/testdata/single",
        "google__osv-scalibr/extractor/filesystem/os/apk/testdata/different-arch",
        "anchore__syft/syft/pkg/cataloger/alpine/testdata/multiple-2/lib/apk/db/installed",
        "anchore__syft/syft/pkg/cataloger/alpine/testdata/base",
        "anchore__syft/syft/pkg/cataloger/alpine/testdata/extra-file-attributes",
        "aquasecurity__trivy/pkg/fanal/analyzer/pkg/apk/testdata/apk",
    ];
    for relative in files {
        let text = std::fs::read_to_string(root.join(relative)).unwrap();
        let (entries, _) = parse_installed(&text);
        assert_eq!(entries.len(), complete_stanzas(&text), "{relative}");
        assert!(entries.iter().all(|entry| entry.architecture.is_some()), "{relative}");
    }
}

#[test]
fn apk_broken_databases_are_problems() {
    let Some(root) = corpus("apk") else { return };
    let read = |relative: &str| parse_installed(&std::fs::read_to_string(root.join(relative)).unwrap());
    let (entries, problems) = read("aquasecurity__trivy/pkg/fanal/analyzer/pkg/apk/testdata/apk");
    assert_eq!(entries.len(), 15);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].starts_with("package invalidPackageWithoutAVersion "), "{problems:?}");
    let (entries, problems) = read("google__osv-scalibr/extractor/filesystem/os/apk/testdata/invalid");
    assert!(entries.is_empty());
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(read("google__osv-scalibr/extractor/filesystem/os/apk/testdata/empty"), (Vec::new(), Vec::new()));
    let (entries, problems) = read("google__osv-scalibr/extractor/filesystem/os/apk/testdata/no-origin");
    assert!(problems.is_empty());
    assert_eq!((entries[0].name.as_str(), entries[0].origin.as_deref()), ("pkgname", None));
}
