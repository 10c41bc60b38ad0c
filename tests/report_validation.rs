//! Every document format is checked by its owner's own validator (see
//! `tests/validate_report.py`), and each validator is shown to reject a broken document
//! so a pass means something. The validators live in the project's `.venv`, which
//! `scripts/test.sh` creates from `requirements-test.txt`; without it the test says it
//! skipped, except under `CI=true`, where a missing validator is a failure.

mod model {
    pub use snapscan::model::*;
}
mod catalog {
    pub use snapscan::catalog::*;
}
#[path = "../src/report/sample.rs"]
mod sample;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

type Writer = fn(&snapscan::model::Scan, &mut dyn std::io::Write) -> std::io::Result<()>;

fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's Python, or `None` after saying why the test is skipped.
fn validator_python() -> Option<PathBuf> {
    let python = repository_root().join(".venv/bin/python");
    if python.exists() {
        return Some(python);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but {} is missing: scripts/test.sh must create .venv from requirements-test.txt",
        python.display()
    );
    println!("skipped: .venv not present (scripts/test.sh creates it from requirements-test.txt)");
    None
}

/// Run the validator over (format, file) pairs; returns (exit code, what it printed):
/// 0 all valid, 1 a document rejected, anything else a broken checker.
fn validate(python: &Path, files: &[(&str, &Path)]) -> (Option<i32>, String) {
    let mut command = Command::new(python);
    command.arg(repository_root().join("tests/validate_report.py"));
    for (format, file) in files {
        command.arg(format).arg(file);
    }
    let output = command.output().expect("run tests/validate_report.py");
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code(), printed)
}

fn scratch_file(name: &str) -> PathBuf {
    let directory = repository_root().join("target/report-validation");
    std::fs::create_dir_all(&directory).expect("create target/report-validation");
    directory.join(name)
}

/// Write the sample scan in `format`, check it passes, then break it with `breaker` and
/// check the validator rejects it.
fn check_format(format: &str, extension: &str, writer: Writer, breaker: fn(&mut Vec<u8>)) {
    let Some(python) = validator_python() else {
        return;
    };
    let scan = sample::scan();
    assert_eq!(scan.targets[0].name, sample::VOLUME);
    let mut bytes = Vec::new();
    writer(&scan, &mut bytes).expect("write report");
    let good = scratch_file(&format!("sample.{extension}"));
    std::fs::write(&good, &bytes).expect("write sample report");
    let (code, printed) = validate(&python, &[(format, &good)]);
    assert_eq!(code, Some(0), "{format} validator rejected our document {}:\n{printed}", good.display());
    assert!(printed.contains(": valid"), "{printed}");

    breaker(&mut bytes);
    let broken = scratch_file(&format!("broken.{extension}"));
    std::fs::write(&broken, &bytes).expect("write broken report");
    let (code, printed) = validate(&python, &[(format, &broken)]);
    assert_eq!(code, Some(1), "{format} validator did not reject a broken document {}:\n{printed}", broken.display());
}

/// Parse JSON bytes, change them, and write them back.
fn edit_json(bytes: &mut Vec<u8>, edit: impl FnOnce(&mut Value)) {
    let mut document: Value = serde_json::from_slice(bytes).expect("our output is JSON");
    edit(&mut document);
    *bytes = serde_json::to_vec_pretty(&document).expect("serialize");
}

#[test]
fn cyclonedx_passes_the_cyclonedx_schema() {
    check_format("cyclonedx", "cdx.json", snapscan::report::cyclonedx::write, |bytes| {
        edit_json(bytes, |document| document["components"][1]["type"] = Value::from("gadget"));
    });
}

#[test]
fn spdx_passes_the_spdx_tools_validator() {
    check_format("spdx", "spdx.json", snapscan::report::spdx::write, |bytes| {
        edit_json(bytes, |document| {
            document["relationships"][0]["relatedSpdxElement"] = Value::from("SPDXRef-Nowhere")
        });
    });
}

#[test]
fn sarif_passes_the_oasis_sarif_schema() {
    check_format("sarif", "sarif", snapscan::report::sarif::write, |bytes| {
        edit_json(bytes, |document| document["runs"][0]["results"][0]["level"] = Value::from("fatal"));
    });
}

#[test]
fn csv_reads_back_as_a_rectangular_table_without_formulas() {
    check_format("csv", "csv", snapscan::report::csv::write, |bytes| {
        bytes.extend_from_slice(b"\"package\",=1+1\r\n");
    });
}

#[test]
fn asff_passes_botocores_security_hub_model() {
    let writer: Writer = |scan, output| {
        let context =
            snapscan::report::asff::AwsContext { account_id: "123456789012".into(), region: "eu-west-1".into() };
        snapscan::report::asff::write_for(scan, &context, output)
    };
    check_format("asff", "asff.json", writer, |bytes| {
        edit_json(bytes, |document| document[0]["Severity"]["Label"] = Value::from("SEVERE"));
    });
}

#[test]
fn demo_image_reports_pass_every_validator() {
    let Some(python) = validator_python() else { return };
    let mut files = Vec::new();
    for (format, extension) in
        [("cyclonedx", "cdx.json"), ("spdx", "spdx.json"), ("sarif", "sarif"), ("csv", "csv"), ("asff", "asff.json")]
    {
        let output = Command::new(env!("CARGO_BIN_EXE_snapscan"))
            .args(["scan", "image", "fixtures/demo/debian12.img", "--format", format])
            .current_dir(repository_root())
            .env("SNAPSCAN_AWS_ACCOUNT_ID", "123456789012")
            .output()
            .expect("run snapscan");
        assert_eq!(output.status.code(), Some(0), "{format}: {}", String::from_utf8_lossy(&output.stderr));
        let file = scratch_file(&format!("demo.{extension}"));
        std::fs::write(&file, &output.stdout).expect("write demo report");
        files.push((format, file));
    }
    let pairs: Vec<(&str, &Path)> = files.iter().map(|(format, file)| (*format, file.as_path())).collect();
    let (code, printed) = validate(&python, &pairs);
    assert_eq!(code, Some(0), "a validator rejected a demo report:\n{printed}");
    assert_eq!(printed.matches(": valid").count(), pairs.len(), "{printed}");
}
