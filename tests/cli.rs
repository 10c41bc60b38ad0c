//! The binary as users run it: exit codes, stdout/stderr discipline, the JSON contract.

#[path = "../src/test_fixtures.rs"]
mod test_fixtures;

use serde_json::Value;
use std::process::{Command, Output};

fn snapscan(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snapscan"))
        .args(arguments)
        .current_dir(test_fixtures::repository_root())
        .output()
        .expect("run snapscan")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {}", String::from_utf8_lossy(&output.stdout)))
}

#[test]
fn demo_image_json_contract() {
    let output = snapscan(&["scan", "image", "fixtures/demo/debian12.img", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    assert!(output.stderr.is_empty(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let report = json(&output);
    assert_eq!(report["schema_version"], 1);
    let target = &report["targets"][0];
    assert_eq!(target["kind"], "image");
    assert_eq!(target["error"], Value::Null);
    let volume = &target["volumes"][0];
    assert_eq!(volume["partition_table"], "gpt");
    let partitions = volume["partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), 2);
    assert_eq!(partitions[0]["filesystem"], Value::Null);
    assert_eq!(partitions[1]["number"], 2);
    assert_eq!(partitions[1]["offset"], 4096 * 512);
    assert_eq!(partitions[1]["filesystem"]["type"], "ext4");
    assert_eq!(partitions[1]["filesystem"]["label"], "demo-root");
    assert_eq!(partitions[1]["distro"]["id"], "debian");
    assert_eq!(partitions[1]["distro"]["version_id"], "12");

    let packages = report["packages"].as_array().unwrap();
    let dpkg: Vec<&Value> = packages.iter().filter(|package| package["found_by"] == "dpkg").collect();
    // 37 stanzas: one keeps only config files, so 36 are reported.
    assert_eq!(dpkg.len(), 36);
    let login = dpkg.iter().find(|package| package["name"] == "login").unwrap();
    assert_eq!(login["version"], "1:4.13+dfsg1-1+b1");
    assert_eq!(login["source_name"], "shadow");
    assert_eq!(login["source_version"], "1:4.13+dfsg1-1");
    assert_eq!(login["purl"], "pkg:deb/debian/login@1%3A4.13%2Bdfsg1-1%2Bb1?arch=amd64&distro=debian-12");
    assert_eq!(login["locations"][0]["partition"], 2);
    assert_eq!(login["locations"][0]["path"], "/var/lib/dpkg/status");
    assert_eq!(login["evidence"], "installed");
    let vim = dpkg.iter().find(|package| package["name"] == "vim-tiny").unwrap();
    assert_eq!(vim["status"], "half-installed");
    assert!(dpkg.iter().all(|package| package["name"] != "exim4-base"));
    assert_eq!(report["findings"], Value::Array(vec![]));
    assert!(report["stats"]["bytes_read"].as_u64().unwrap() > 0);
    // Lazy: far less than the 16 MiB image.
    assert!(report["stats"]["bytes_read"].as_u64().unwrap() < 2 << 20);
}

#[test]
fn table_is_the_default_and_goes_to_stdout() {
    let output = snapscan(&["scan", "image", "fixtures/demo/debian12.img"]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("Debian GNU/Linux 12 (bookworm)"), "{text}");
    assert!(text.lines().any(|line| line.starts_with("openssl ") && line.contains("3.0.11-1~deb12u2")), "{text}");
    assert!(text.contains("\n75 packages, "), "{text}");
}

#[test]
fn several_images_are_several_targets_and_a_missing_one_exits_3() {
    let output = snapscan(&["scan", "image", "fixtures/demo/debian12.img", "does/not/exist.img", "-f", "json"]);
    // 3: partial, some targets scanned and some not (src/outcome.rs).
    assert_eq!(output.status.code(), Some(3));
    let report = json(&output);
    assert_eq!(report["targets"].as_array().unwrap().len(), 2);
    assert_eq!(report["targets"][0]["error"], Value::Null);
    let error = report["targets"][1]["error"].as_str().unwrap();
    assert!(error.contains("does/not/exist.img") && error.contains("No such file"), "{error}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("does/not/exist.img"));
}

#[test]
fn output_file_is_written_whole() {
    let directory = std::env::temp_dir().join(format!("snapscan-cli-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("report.json");
    let output =
        snapscan(&["-q", "scan", "image", "fixtures/demo/debian12.img", "-f", "json", "-o", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stdout.is_empty());
    let report: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(std::fs::read_dir(&directory).unwrap().count(), 1, "no temporary file left behind");
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn a_skipped_directory_is_not_walked_and_is_reported() {
    let demo = "fixtures/demo/debian12.img";
    let walked = json(&snapscan(&["scan", "image", demo, "-f", "json", "--packages-only"]));
    let output = snapscan(&["scan", "image", demo, "-f", "json", "--packages-only", "--skip-dir", "/var/lib/dpkg/"]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let skipped = json(&output);
    let filesystem = &skipped["targets"][0]["volumes"][0]["partitions"][1]["filesystem"];
    assert_eq!(filesystem["skipped_directories"], serde_json::json!(["/var/lib/dpkg"]));
    let names = |report: &Value, dpkg: bool| -> Vec<String> {
        let packages = report["packages"].as_array().unwrap().iter();
        packages
            .filter(|package| package["found_by"].as_str().unwrap().starts_with("dpkg") == dpkg)
            .map(|package| format!("{} {}", package["name"], package["version"]))
            .collect()
    };
    assert!(!names(&walked, true).is_empty());
    assert!(names(&skipped, true).is_empty(), "the dpkg database was read: {:?}", names(&skipped, true));
    assert_eq!(names(&skipped, false), names(&walked, false));
    // A relative path names nothing on a scanned filesystem.
    let relative = snapscan(&["scan", "image", demo, "--skip-dir", "var/lib"]);
    assert_eq!(relative.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&relative.stderr).contains("absolute path"));
}

#[test]
fn bad_arguments_exit_2() {
    assert_eq!(snapscan(&["scan", "image"]).status.code(), Some(2));
    assert_eq!(snapscan(&["scan", "image", "x.img", "--format", "xml"]).status.code(), Some(2));
    assert_eq!(snapscan(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn a_directory_is_not_an_image() {
    let output = snapscan(&["scan", "image", "fixtures", "-f", "json"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(json(&output)["targets"][0]["error"].as_str().unwrap().contains("is a directory"));
}

#[test]
fn output_to_a_named_pipe_writes_into_it_and_leaves_it_a_pipe() {
    use std::os::unix::fs::FileTypeExt;
    // `-o /dev/null` or a pipe must be written into: a rename over it would replace the
    // device node itself (as root, that breaks the machine's /dev/null).
    let directory = std::env::temp_dir().join(format!("snapscan-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let fifo = directory.join("report.fifo");
    let status = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(status.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(&fifo).expect("read the pipe"))
    };
    let output =
        snapscan(&["-q", "scan", "image", "fixtures/demo/debian12.img", "-f", "json", "-o", fifo.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&reader.join().unwrap()).expect("the report came through the pipe");
    assert_eq!(report["schema_version"], 1);
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn completions_and_man_page_come_from_the_command_definitions() {
    let bash = snapscan(&["completions", "bash"]);
    assert_eq!(bash.status.code(), Some(0));
    let script = String::from_utf8(bash.stdout).unwrap();
    assert!(script.contains("_snapscan()") && script.contains("--fail-on"), "{script}");
    let zsh = snapscan(&["completions", "zsh"]);
    assert!(String::from_utf8_lossy(&zsh.stdout).starts_with("#compdef snapscan"));
    let man = snapscan(&["man"]);
    assert_eq!(man.status.code(), Some(0));
    let page = String::from_utf8(man.stdout).unwrap();
    assert!(page.starts_with(".ie") || page.contains(".TH snapscan"), "{page}");
    assert!(page.contains("scan"), "{page}");
    assert_eq!(snapscan(&["completions", "tcsh"]).status.code(), Some(2));
}
