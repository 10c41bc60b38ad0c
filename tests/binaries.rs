//! End to end: the CLI scans a disk holding Java archives, a Go binary, a cargo-auditable
//! binary and hostile neighbours (built by `scripts/make-fixtures-binaries.sh`), and
//! reports exactly the packages inside them, with nested locations, and an issue for each
//! hostile file, reading a small part of the disk.

#[path = "../src/test_fixtures.rs"]
mod test_fixtures;

use serde_json::Value;
use std::process::Command;
use std::sync::OnceLock;

/// One scan shared by the tests (unpacking the fixture from two threads at once races).
fn scan_binaries_image() -> &'static Value {
    static REPORT: OnceLock<Value> = OnceLock::new();
    REPORT.get_or_init(scan)
}

fn scan() -> Value {
    let image = test_fixtures::unpacked("fixtures/binaries/binaries.img.zst");
    let output = Command::new(env!("CARGO_BIN_EXE_snapscan"))
        .args(["scan", "image", "--format", "json"])
        .arg(&image)
        .output()
        .expect("run snapscan");
    assert_eq!(output.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON report")
}

#[test]
fn binaries_image_gives_exact_packages_and_issues() {
    let report = scan_binaries_image();
    let mut packages: Vec<String> = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|package| {
            package["locations"].as_array().unwrap().iter().map(move |location| {
                format!(
                    "{} {} {} {} {} {}",
                    package["found_by"].as_str().unwrap(),
                    package["name"].as_str().unwrap(),
                    package["version"].as_str().unwrap(),
                    package["purl"].as_str().unwrap(),
                    package["evidence"].as_str().unwrap(),
                    location["path"].as_str().unwrap()
                )
            })
        })
        .collect();
    packages.sort();
    let expected = [
        "cargo-auditable auditable-hello 0.3.0 pkg:cargo/auditable-hello@0.3.0 installed /usr/local/bin/auditable-hello",
        "cargo-auditable itoa 1.0.9 pkg:cargo/itoa@1.0.9 installed /usr/local/bin/auditable-hello",
        "cargo-auditable smallvec 1.6.0 pkg:cargo/smallvec@1.6.0 installed /usr/local/bin/auditable-hello",
        "go-module-binary example.org/greeting (devel) pkg:golang/example.org/greeting@%28devel%29 installed /usr/local/bin/hello",
        "go-module-binary example.org/hello (devel) pkg:golang/example.org/hello@%28devel%29 installed /usr/local/bin/hello",
        "go-module-binary example.org/widgets v1.4.0 pkg:golang/example.org/widgets@v1.4.0 installed /usr/local/bin/hello",
        "go-module-binary stdlib 1.19.8 pkg:golang/stdlib@1.19.8 installed /usr/local/bin/hello",
        "go-module-file example.org/greeting (devel) pkg:golang/example.org/greeting@%28devel%29 declared /src/hello/go.mod",
        "go-module-file example.org/widgets v1.4.0 pkg:golang/example.org/widgets@v1.4.0 declared /src/hello/go.mod",
        "java-archive com.example:shaded-tool 2.0.0 pkg:maven/com.example/shaded-tool@2.0.0 installed /opt/tools/shaded-tool-2.0.0.jar",
        "java-archive com.fasterxml.jackson.core:jackson-databind 2.13.4 pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.13.4 installed /opt/app/spring-app.jar!/BOOT-INF/lib/jackson-databind-2.13.4.jar",
        "java-archive com.google.guava:guava 31.0-jre pkg:maven/com.google.guava/guava@31.0-jre installed /opt/tools/shaded-tool-2.0.0.jar",
        "java-archive commons-collections:commons-collections 3.2.1 pkg:maven/commons-collections/commons-collections@3.2.1 installed /srv/webapps/shop.war!/WEB-INF/lib/commons-collections-3.2.1.jar",
        "java-archive evil:bomb 1 pkg:maven/evil/bomb@1 installed /opt/bad/bomb.jar",
        "java-archive org.apache.commons:commons-collections4 4.0 pkg:maven/org.apache.commons/commons-collections4@4.0 installed /opt/tools/shaded-tool-2.0.0.jar",
        "java-archive org.apache.commons:commons-text 1.9 pkg:maven/org.apache.commons/commons-text@1.9 installed /srv/webapps/shop.war!/WEB-INF/lib/commons-text-1.9.jar",
        "java-archive org.apache.tomcat.embed:tomcat-embed-core 9.0.65 pkg:maven/org.apache.tomcat.embed/tomcat-embed-core@9.0.65 installed /opt/app/spring-app.jar!/BOOT-INF/lib/tomcat-embed-core-9.0.65.jar",
        "java-archive org.example.legacy:tool 3.2.1 pkg:maven/org.example.legacy/tool@3.2.1 installed /usr/share/java/tool-3.2.1.jar",
        "java-archive org.yaml:snakeyaml 1.33 pkg:maven/org.yaml/snakeyaml@1.33 installed /opt/app/spring-app.jar!/BOOT-INF/lib/snakeyaml-1.33.jar",
    ];
    assert_eq!(packages, expected);

    let issues: Vec<(String, String)> = report["issues"]
        .as_array()
        .unwrap()
        .iter()
        // Issues about the whole run (no advisory database, say) have no location.
        .filter_map(|issue| {
            Some((issue["location"]["path"].as_str()?.to_string(), issue["message"].as_str()?.to_string()))
        })
        .collect();
    assert!(
        issues.iter().any(|(path, message)| path == "/opt/bad/bomb.jar"
            && message.contains("/opt/bad/bomb.jar!/BOOT-INF/lib/bomb.jar")
            && message.contains("ratio limit")),
        "{issues:?}"
    );
    assert!(
        issues.iter().any(|(path, message)| path == "/opt/bad/truncated-go" && message.contains("Go build info")),
        "{issues:?}"
    );
    // The executable shell script is not ELF: no issue, no package.
    assert!(issues.iter().all(|(path, _)| path.starts_with("/opt/bad/")), "{issues:?}");
}

#[test]
fn binaries_are_read_lazily() {
    let report = scan_binaries_image();
    let bytes_read = report["stats"]["bytes_read"].as_u64().unwrap();
    // The Go and Rust binaries alone are over 1.3 MiB: only headers and sections are read.
    assert!(bytes_read < 1 << 20, "read {bytes_read} bytes");
}
