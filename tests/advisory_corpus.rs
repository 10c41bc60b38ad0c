//! Corpus tests over `../shared/data` (real upstream advisory records): every OSV record
//! and native distro feed there imports or is rejected with a reason, with counts checked
//! against the archives' manifests; then a fixed list of (package, version) pairs is
//! matched against the whole corpus bundle, with expectations worked out by hand from
//! the records (quoted beside each case), not by running our matcher.

#[path = "../src/test_fixtures.rs"]
mod test_fixtures;

use snapscan::advisory::{self, BuildReport, Database};
use snapscan::catalog::{Ecosystem, Evidence, Location, Package};
use snapscan::matcher;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use test_fixtures::repository_root;

/// The OSV archives and the number of records their manifests list.
const ARCHIVES: [&str; 7] = [
    "osv/pypi/pypa-advisory-database",
    "osv/go/golang-vulndb-osv",
    "osv/rust-crates/rustsec-osv",
    "osv/ghsa/ghsa-fixture-copies",
    "osv/ghsa/ghsa-index-copies",
    "osv/ghsa/ghsa-osvdev-api-served",
    "osv/distro-osv/distro-osv-fixture-copies",
];

/// Native distro feeds imported as they are.
const NATIVE: [&str; 4] = ["distro/alpine", "distro/wolfi-chainguard", "distro/amazon", "distro/rocky"];

struct Corpus {
    report: BuildReport,
    database: Database,
    expected_records: Vec<(String, u64)>,
}

/// `../shared/data` beside the repository (CI's layout); `SNAPSCAN_SHARED_DATA` points
/// elsewhere, e.g. from a git worktree.
fn shared_data() -> Option<PathBuf> {
    let data = std::env::var_os("SNAPSCAN_SHARED_DATA")
        .map_or_else(|| repository_root().join("../shared/data"), PathBuf::from);
    data.is_dir().then_some(data)
}

/// Unpack `archive.tar.zst` once into `target/corpus-cache/<name>/`.
fn unpack(data: &Path, archive: &str) -> PathBuf {
    let name = Path::new(archive).file_name().unwrap().to_string_lossy().into_owned();
    let target = repository_root().join("target/corpus-cache").join(&name);
    let done = target.join(".unpacked");
    if done.exists() {
        return target;
    }
    let _ = std::fs::remove_dir_all(&target);
    std::fs::create_dir_all(&target).unwrap();
    let compressed = std::fs::read(data.join(format!("{archive}.tar.zst"))).unwrap();
    let mut tar_bytes = Vec::new();
    ruzstd::decoding::StreamingDecoder::new(compressed.as_slice()).unwrap().read_to_end(&mut tar_bytes).unwrap();
    tar::Archive::new(tar_bytes.as_slice()).unpack(&target).unwrap();
    std::fs::write(&done, b"").unwrap();
    target
}

fn corpus() -> Option<&'static Corpus> {
    static CORPUS: OnceLock<Option<Corpus>> = OnceLock::new();
    CORPUS
        .get_or_init(|| {
            let data = shared_data()?;
            let mut inputs = Vec::new();
            let mut expected_records = Vec::new();
            for archive in ARCHIVES {
                inputs.push(unpack(&data, archive));
                let manifest = std::fs::read_to_string(data.join(format!("{archive}.manifest.tsv"))).unwrap();
                let records = manifest.lines().skip(1).filter(|line| !line.trim().is_empty()).count();
                expected_records
                    .push((Path::new(archive).file_name().unwrap().to_string_lossy().into_owned(), records as u64));
            }
            inputs.extend(NATIVE.iter().map(|native| data.join(native)));
            let output = repository_root().join("target/corpus-cache/corpus.db");
            let report = advisory::build(&inputs, &output).unwrap();
            let database = Database::open(&output).unwrap();
            Some(Corpus { report, database, expected_records })
        })
        .as_ref()
}

macro_rules! corpus_or_skip {
    () => {
        match corpus() {
            Some(corpus) => corpus,
            None => {
                println!("skipped: ../shared/data not present");
                return;
            }
        }
    };
}

#[test]
fn every_record_is_imported_or_rejected_with_a_reason() {
    let corpus = corpus_or_skip!();
    let mut total = 0;
    for (name, counts) in &corpus.report.counts {
        let rejected = counts.rejected.len() as u64;
        println!(
            "{name}: {} records, {} imported, {} withdrawn, {} rejected, {} GIT ranges skipped, {} entries dropped",
            counts.records,
            counts.imported,
            counts.withdrawn,
            rejected,
            counts.git_ranges_skipped,
            counts.dropped.len()
        );
        for reason in counts.rejected.iter().take(5) {
            println!("  rejected: {reason}");
        }
        for reason in counts.dropped.iter().take(3) {
            println!("  dropped: {reason}");
        }
        assert_eq!(
            counts.imported + counts.withdrawn + rejected,
            counts.records,
            "{name}: every record is accounted for"
        );
        if let Some((_, expected)) = corpus.expected_records.iter().find(|(archive, _)| archive == name) {
            assert_eq!(counts.records, *expected, "{name}: records read vs its manifest");
            total += counts.records;
        }
    }
    // STATS.md: 8563 OSV records across all archives.
    assert_eq!(total, 8563);
    let by_name = |name: &str| &corpus.report.counts.iter().find(|(source, _)| source == name).unwrap().1;
    // Every PyPA, Go and RustSec record is well-formed OSV; the GIT-only ones carry no
    // package versions and are the only ones that may be rejected.
    assert_eq!(by_name("golang-vulndb-osv").imported + by_name("golang-vulndb-osv").withdrawn, 4291);
    assert_eq!(by_name("rustsec-osv").imported + by_name("rustsec-osv").withdrawn, 1206);
    assert!(by_name("pypa-advisory-database").imported >= 2600);
    // OSV-NOTES.md: PyPA records carry 1391 GIT ranges.
    assert_eq!(by_name("pypa-advisory-database").git_ranges_skipped, 1391);
    // 18 Alpine secdb YAML files plus JSON samples; 5 ALAS updates in 4 updateinfo files.
    assert!(by_name("alpine").imported > 1000);
    assert!(corpus.database.info().advisories > 8000);
}

fn package(
    name: &str,
    version: &str,
    ecosystem: Ecosystem,
    distro: Option<&str>,
    source: Option<(&str, &str)>,
) -> Package {
    Package {
        name: name.to_string(),
        version: version.to_string(),
        ecosystem,
        purl: format!("pkg:{}/{name}@{version}", ecosystem.purl_type()),
        arch: None,
        source_name: source.map(|(name, _)| name.to_string()),
        source_version: source.map(|(_, version)| version.to_string()),
        epoch: None,
        release: None,
        status: None,
        distro: distro.map(str::to_string),
        locations: vec![Location { volume: "corpus".to_string(), partition: None, path: "/".to_string() }],
        found_by: "test".to_string(),
        evidence: Evidence::Installed,
    }
}

/// (finding id, fixed version) pairs for one package.
fn findings_for(corpus: &Corpus, package: Package) -> Vec<(String, Option<String>)> {
    findings_with(corpus, package, matcher::MatchOptions::default())
}

fn findings_with(corpus: &Corpus, package: Package, options: matcher::MatchOptions) -> Vec<(String, Option<String>)> {
    let matched = matcher::match_packages_with(&[package], &corpus.database, options);
    assert!(matched.issues.is_empty(), "{:?}", matched.issues);
    let mut found: Vec<(String, Option<String>)> =
        matched.findings.into_iter().map(|finding| (finding.id, finding.fixed_version)).collect();
    found.sort();
    found
}

fn expect(pairs: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    let mut expected: Vec<(String, Option<String>)> =
        pairs.iter().map(|(id, fixed)| (id.to_string(), fixed.map(str::to_string))).collect();
    expected.sort();
    expected
}

#[test]
fn hand_checked_pairs_match_exactly() {
    let corpus = corpus_or_skip!();
    // lxml: PYSEC-2014-9 <3.3.5, PYSEC-2018-12 <4.2.5, PYSEC-2020-62 [1.2,4.6.2), PYSEC-2021-19 <4.6.3,
    // PYSEC-2021-852 (CVE-2021-43818) <4.6.5, PYSEC-2022-230 (CVE-2022-2309) <4.9.1.
    assert_eq!(
        findings_for(corpus, package("lxml", "4.6.3", Ecosystem::Pypi, None, None)),
        expect(&[("CVE-2021-43818", Some("4.6.5")), ("CVE-2022-2309", Some("4.9.1"))])
    );
    assert_eq!(
        findings_for(corpus, package("LXML", "4.9.0", Ecosystem::Pypi, None, None)),
        expect(&[("CVE-2022-2309", Some("4.9.1"))])
    );
    assert_eq!(findings_for(corpus, package("lxml", "4.9.1", Ecosystem::Pypi, None, None)), expect(&[]));
    // Jinja2 2.10: PYSEC-2019-217 (CVE-2019-10906) <2.10.1, PYSEC-2021-66 (CVE-2020-28493) <2.11.3;
    // PYSEC-2014-8 <2.7.2, PYSEC-2014-82 <2.7.3, PYSEC-2019-220 <2.8.1 do not apply.
    assert_eq!(
        findings_for(corpus, package("Jinja2", "2.10", Ecosystem::Pypi, None, None)),
        expect(&[("CVE-2019-10906", Some("2.10.1")), ("CVE-2020-28493", Some("2.11.3"))])
    );
    // smallvec 0.6.9: RUSTSEC-2021-0003 [0.6.3,0.6.14)+[1.0.0,1.6.1), RUSTSEC-2019-0009 [0.6.5,0.6.10),
    // RUSTSEC-2018-0018 [0.0.0-0,0.6.13), RUSTSEC-2019-0012 [0.6.3,0.6.10); RUSTSEC-2018-0003 stops at 0.6.3.
    assert_eq!(
        findings_for(corpus, package("smallvec", "0.6.9", Ecosystem::Cargo, None, None)),
        expect(&[
            ("CVE-2018-25023", Some("0.6.13")),
            ("CVE-2019-15551", Some("0.6.10")),
            ("CVE-2019-15554", Some("0.6.10")),
            ("CVE-2021-25900", Some("0.6.14")),
        ])
    );
    assert_eq!(
        findings_for(corpus, package("smallvec", "1.6.0", Ecosystem::Cargo, None, None)),
        expect(&[("CVE-2021-25900", Some("1.6.1"))])
    );
    // golang.org/x/text v0.3.7: GO-2022-1059 (CVE-2022-32149) <0.3.8, GO-2026-5970 (CVE-2026-56852) <0.39.0;
    // GO-2020-0015 <0.3.3 and GO-2021-0113 <0.3.7 do not apply.
    assert_eq!(
        findings_for(corpus, package("golang.org/x/text", "v0.3.7", Ecosystem::Golang, None, None)),
        expect(&[("CVE-2022-32149", Some("0.3.8")), ("CVE-2026-56852", Some("0.39.0"))])
    );
    // Alpine v3.11 main busybox secfixes: 1.30.1-r2 CVE-2019-5747; 1.29.3-r10 CVE-2018-20679, CVE-2019-5747;
    // 1.27.2-r4 three 2017 CVEs.
    assert_eq!(
        findings_for(corpus, package("busybox", "1.30.1-r1", Ecosystem::Apk, Some("alpine-3.11.6"), None)),
        expect(&[("CVE-2019-5747", Some("1.30.1-r2"))])
    );
    assert_eq!(
        findings_for(corpus, package("busybox", "1.29.3-r9", Ecosystem::Apk, Some("alpine-3.11.6"), None)),
        expect(&[("CVE-2018-20679", Some("1.29.3-r10")), ("CVE-2019-5747", Some("1.29.3-r10"))])
    );
    // ALAS2-2018-942 (CVE-2017-5715): qemu-kvm fixed in 10:1.5.3-141.amzn2.5.3, Amazon Linux 2 only.
    assert_eq!(
        findings_for(corpus, package("qemu-kvm", "10:1.5.3-141.amzn2.5.2", Ecosystem::Rpm, Some("amzn-2"), None)),
        expect(&[("CVE-2017-5715", Some("10:1.5.3-141.amzn2.5.3"))])
    );
    assert_eq!(
        findings_for(corpus, package("qemu-kvm", "10:1.5.3-141.amzn2.5.2", Ecosystem::Rpm, Some("amzn-2023"), None)),
        expect(&[])
    );
    // ALSA-2023:4520: python3-requests fixed in 2.20.0-3.el8_8 on AlmaLinux 8 (no aliases: the record id is the finding).
    assert_eq!(
        findings_for(
            corpus,
            package("python3-requests", "2.20.0-2.1.el8_1", Ecosystem::Rpm, Some("almalinux-8.8"), None)
        ),
        expect(&[("ALSA-2023:4520", Some("2.20.0-3.el8_8"))])
    );

    // Ubuntu Pro (osv-esm-cases): UBUNTU-CVE-2022-24823 (upstream CVE-2022-24823) names netty
    // on 22.04 only under Ubuntu:Pro:22.04:LTS, fixed in 1:4.1.48-4+deb11u2ubuntu0.1~esm1.
    let netty =
        |version: &str| package("netty", version, Ecosystem::Deb, Some("ubuntu-22.04"), Some(("netty", version)));
    let pro = matcher::MatchOptions { ubuntu_pro: true };
    assert_eq!(findings_for(corpus, netty("1:4.1.48-4")), expect(&[]));
    assert_eq!(
        findings_with(corpus, netty("1:4.1.48-4"), pro),
        expect(&[("CVE-2022-24823", Some("1:4.1.48-4+deb11u2ubuntu0.1~esm1"))])
    );
    assert_eq!(findings_with(corpus, netty("1:4.1.48-4+deb11u2ubuntu0.1~esm1"), pro), expect(&[]));
    // wayland 1.20.0-1 on 22.04: USN-5614-1 (upstream UBUNTU-CVE-2021-3782) and UBUNTU-CVE-2021-3782
    // (upstream CVE-2021-3782) both fix it in 1.20.0-1ubuntu0.1: one finding, Pro or not.
    let wayland =
        package("libwayland-client0", "1.20.0-1", Ecosystem::Deb, Some("ubuntu-22.04"), Some(("wayland", "1.20.0-1")));
    let expected = expect(&[("CVE-2021-3782", Some("1.20.0-1ubuntu0.1"))]);
    assert_eq!(findings_for(corpus, wayland.clone()), expected);
    assert_eq!(findings_with(corpus, wayland, pro), expected);
}
