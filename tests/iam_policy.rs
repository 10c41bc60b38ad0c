//! `docs/iam-policy.json` is checked by a tool and against the code: parliament (Duo Labs'
//! IAM linter, pinned in requirements-test.txt) finds nothing above LOW except the findings
//! explained below, and every AWS API action the code calls is allowed by the policy (and
//! the policy allows nothing the code does not need).

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const POLICY: &str = "docs/iam-policy.json";

fn policy() -> Value {
    let text = std::fs::read_to_string(support::repository_root().join(POLICY)).expect("read the policy");
    serde_json::from_str(&text).expect("the policy is JSON")
}

/// A policy field that is a string or a list of strings, as a list.
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// parliament's findings (every severity) for the policy file at `path`; `None` without the venv.
fn parliament(path: &Path) -> Option<Vec<Value>> {
    let Some(python) = support::venv_python() else {
        println!("skipped: .venv with parliament not present (scripts/test.sh creates it)");
        return None;
    };
    let parliament = python.with_file_name("parliament");
    let output = Command::new(parliament)
        .args(["--json", "--minimum_severity", "INFO", "--include-community-auditors", "--files"])
        .arg(path)
        // parliament refuses a file argument when stdin is not a terminal unless stdin is empty.
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run parliament");
    let stdout = String::from_utf8_lossy(&output.stdout);
    // It exits 1 when it has findings; anything else (2: usage, a crash) is a broken run.
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "parliament failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(
        stdout
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}")))
            .collect(),
    )
}

fn statements_allowing(policy: &Value, action: &str) -> Vec<Value> {
    policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter(|statement| statement["Effect"] == "Allow")
        .filter(|statement| strings(&statement["Action"]).iter().any(|allowed| allowed.eq_ignore_ascii_case(action)))
        .cloned()
        .collect()
}

/// The resource type of an EC2 ARN (`arn:*:ec2:*:*:instance/*` → `instance`).
fn resource_type(arn: &str) -> Option<&str> {
    arn.splitn(6, ':').nth(5)?.split('/').next()
}

/// Why a finding above LOW is accepted, or `None` when it is not.
fn accepted(finding: &Value, policy: &Value) -> Option<&'static str> {
    match finding["issue"].as_str()? {
        // parliament checks each statement on its own; CreateSnapshots needs instance,
        // volume and snapshot resources, and the policy grants them in two statements so
        // that the tag conditions apply to the snapshots only (the split AWS documents for
        // "create multi-volume snapshots with tags"). Accepted when the statements
        // together cover every resource type parliament asks for.
        "RESOURCE_MISMATCH" => {
            let details = finding["detail"].as_array()?;
            let covered: BTreeSet<String> = statements_allowing(policy, "ec2:CreateSnapshots")
                .iter()
                .flat_map(|statement| strings(&statement["Resource"]))
                .filter_map(|arn| resource_type(&arn).map(str::to_string))
                .collect();
            details
                .iter()
                .all(|detail| {
                    detail["action"] == "ec2:CreateSnapshots"
                        && detail["required_format"]
                            .as_str()
                            .and_then(resource_type)
                            .is_some_and(|kind| covered.contains(kind))
                })
                .then_some("CreateSnapshots is split across statements that together cover its resources")
        }
        // A grant lets EBS decrypt the blocks of a snapshot of an encrypted volume; the
        // statement allows it only for AWS resources, through EC2/EBS.
        "PERMISSIONS_MANAGEMENT_ACTIONS" => {
            let actions = strings(&finding["location"]["actions"]);
            let grant_statements = statements_allowing(policy, "kms:CreateGrant");
            let restricted = !grant_statements.is_empty()
                && grant_statements.iter().all(|statement| {
                    statement["Condition"]["Bool"]["kms:GrantIsForAWSResource"] == "true"
                        && !strings(&statement["Condition"]["StringLike"]["kms:ViaService"]).is_empty()
                });
            (actions == ["kms:creategrant"] && restricted)
                .then_some("kms:CreateGrant is limited to grants for AWS resources via EC2/EBS")
        }
        _ => None,
    }
}

#[test]
fn parliament_finds_nothing_above_low_but_the_explained() {
    let path = support::repository_root().join(POLICY);
    let Some(findings) = parliament(&path) else { return };
    let policy = policy();
    let unexplained: Vec<&Value> = findings
        .iter()
        .filter(|finding| !matches!(finding["severity"].as_str(), Some("LOW" | "INFO")))
        .filter(|finding| accepted(finding, &policy).is_none())
        .collect();
    assert!(unexplained.is_empty(), "parliament findings above LOW: {unexplained:#?}");
}

#[test]
fn parliament_does_flag_a_careless_policy() {
    // The check above can fail: the same run over an over-broad policy reports findings
    // above LOW that no explanation accepts.
    let careless = std::env::temp_dir().join(format!("snapscan-careless-policy-{}.json", std::process::id()));
    std::fs::write(
        &careless,
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["ec2:DeleteSnapshot", "iam:PassRole", "kms:CreateGrant"], "Resource": "*"}]}"#,
    )
    .expect("write a policy");
    let findings = parliament(&careless);
    std::fs::remove_file(&careless).ok();
    let Some(findings) = findings else { return };
    let policy = policy();
    assert!(
        findings.iter().any(|finding| {
            !matches!(finding["severity"].as_str(), Some("LOW" | "INFO")) && accepted(finding, &policy).is_none()
        }),
        "{findings:#?}"
    );
}

/// `describe_snapshots` → `DescribeSnapshots`.
fn action_name(method: &str) -> String {
    method
        .split('_')
        .map(|word| {
            let mut characters = word.chars();
            characters
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + characters.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// `text` with the whitespace around `.` removed, so that method chains split over lines
/// (`client\n    .get_snapshot_block()`) read as one.
fn join_method_chains(text: &str) -> String {
    let mut joined = String::with_capacity(text.len());
    let characters: Vec<char> = text.chars().collect();
    for (index, &character) in characters.iter().enumerate() {
        if character.is_whitespace() {
            let after_dot = joined.ends_with('.');
            let before_dot = characters[index..].iter().find(|next| !next.is_whitespace()) == Some(&'.');
            if after_dot || before_dot {
                continue;
            }
        }
        joined.push(character);
    }
    joined
}

fn is_identifier(character: char) -> bool {
    character.is_ascii_alphanumeric() || character == '_'
}

/// Every `service:Action` the sources call through an AWS SDK client. A client is a
/// binding made by `let NAME = session.ec2(…)` (or `.kms`, `.ebs`), or `self.client` in a
/// file that imports one SDK's `Client`; the operation is the method called on it.
fn called_actions() -> BTreeSet<String> {
    let root = support::repository_root();
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(root.join("src/aws"))
        .expect("src/aws")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "rs"))
        .collect();
    files.push(root.join("src/source/ebs.rs"));
    let mut actions = BTreeSet::new();
    for file in files {
        let text = join_method_chains(&std::fs::read_to_string(&file).expect("read source"));
        let mut clients: Vec<(String, String)> = Vec::new();
        for service in ["ec2", "kms", "ebs", "sts"] {
            for (position, _) in text.match_indices(&format!("session.{service}(")) {
                let Some(before) = text[..position].trim_end().strip_suffix('=') else { continue };
                let before = before.trim_end();
                let name: String = before.chars().rev().take_while(|&c| is_identifier(c)).collect();
                let name: String = name.chars().rev().collect();
                if !name.is_empty() {
                    clients.push((name, service.to_string()));
                }
            }
            if text.contains(&format!("use aws_sdk_{service}::Client;")) {
                clients.push(("self.client".to_string(), service.to_string()));
            }
        }
        for (binding, service) in clients {
            let pattern = format!("{binding}.");
            for (position, _) in text.match_indices(&pattern) {
                // A bare name must not be the tail of a longer identifier or path.
                let previous = text[..position].chars().last();
                if previous.is_some_and(|c| is_identifier(c) || c == '.') {
                    continue;
                }
                let rest = &text[position + pattern.len()..];
                let method: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                if !method.is_empty() && rest[method.len()..].starts_with("()") {
                    actions.insert(format!("{service}:{}", action_name(&method)));
                }
            }
        }
    }
    actions
}

#[test]
fn the_policy_allows_every_call_the_code_makes_and_no_more() {
    let called = called_actions();
    // The search must see the calls it is about, or it proves nothing.
    for expected in ["ebs:GetSnapshotBlock", "ebs:ListSnapshotBlocks", "ec2:CreateSnapshots", "ec2:DeleteSnapshot"] {
        assert!(called.contains(expected), "{expected} not found among the calls: {called:?}");
    }
    let policy = policy();
    let allowed: BTreeSet<String> = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter(|statement| statement["Effect"] == "Allow")
        .flat_map(|statement| strings(&statement["Action"]))
        .collect();
    let missing: Vec<&String> = called.iter().filter(|action| !allowed.contains(*action)).collect();
    assert!(missing.is_empty(), "called but not in {POLICY}: {missing:?}");
    // Allowed without a direct call: tags ride on CreateSnapshots' TagSpecifications, and
    // EBS uses the KMS key of an encrypted snapshot on our behalf.
    let implied = ["ec2:CreateTags", "kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"];
    let unneeded: Vec<&String> =
        allowed.iter().filter(|action| !called.contains(*action) && !implied.contains(&action.as_str())).collect();
    assert!(unneeded.is_empty(), "{POLICY} allows actions the code never calls: {unneeded:?}");
}
