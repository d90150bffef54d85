use std::path::Path;

use serde_json::{Value, json};

use crate::{stdout_lines, tfa_admin};

fn json_lines(args: &[&str], stdin: &str) -> (Option<i32>, Vec<Value>) {
    let output = tfa_admin(args, stdin);
    let values = stdout_lines(&output)
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (output.status.code(), values)
}

#[test]
fn all_valid_file_exits_zero_with_one_json_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("numbers.txt");
    std::fs::write(&path, "1 9259249500 292\n91 9876543210\n+44 20 7946 0958\n").unwrap();
    let (code, lines) = json_lines(
        &[
            "phones",
            "check",
            "--format",
            "json",
            path.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, Some(0));
    assert_eq!(
        lines[0],
        json!({
            "line": 1, "input": "1 9259249500 292", "ok": true, "e164": "+19259249500",
            "stored": "1 9259249500 292", "extension": "292", "kind": "fixed-line-or-mobile",
            "country_code": 1, "region": "US",
        })
    );
    assert_eq!(lines[1]["kind"], "mobile");
    assert_eq!(lines[1]["extension"], Value::Null);
    assert_eq!(lines[2]["stored"], "44 2079460958");
    assert_eq!(lines.len(), 3);
}

#[test]
fn json_keys_come_in_the_documented_order() {
    let output = tfa_admin(&["phones", "check", "--format", "json"], "91 9876543210\n");
    let line = &stdout_lines(&output)[0];
    assert!(
        line.starts_with(r#"{"line":1,"input":"91 9876543210","ok":true,"e164":"#),
        "{line}"
    );
}

#[test]
fn any_invalid_line_exits_one_and_every_line_is_reported() {
    let (code, lines) = json_lines(
        &["phones", "check", "--format", "json", "-"],
        "1 925924\n\n91 9876543210\n999 12345678\n",
    );
    assert_eq!(code, Some(1));
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines[0],
        json!({"line": 1, "input": "1 925924", "ok": false,
               "error": "number 925924 is too short for country code +1"})
    );
    assert_eq!(
        lines[1],
        json!({"line": 2, "input": "", "ok": false, "error": "empty phone number"})
    );
    assert_eq!(lines[2]["ok"], true);
    assert_eq!(lines[3]["error"], "unknown country code +999");
}

#[test]
fn default_region_reads_national_numbers() {
    let args = [
        "phones",
        "check",
        "--format",
        "json",
        "--default-region",
        "GB",
    ];
    let (code, lines) = json_lines(&args, "020 7946 0958\n00 1 925 924 9500\n");
    assert_eq!(code, Some(0));
    assert_eq!(lines[0]["e164"], "+442079460958");
    assert_eq!(lines[1]["e164"], "+19259249500");
    let (code, lines) = json_lines(&args[..4], "020 7946 0958\n");
    assert_eq!(code, Some(1));
    assert!(
        lines[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("no country code")
    );
}

#[test]
fn text_format_prints_one_readable_line_per_input_and_a_summary() {
    let output = tfa_admin(
        &["phones", "check"],
        "1 9259249500 292\n\n+1 900 200 5555\n",
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout_lines(&output),
        [
            "1: ok    1 9259249500 292 -> 1 9259249500 292 (+19259249500, fixed-line-or-mobile, US)",
            "2: error (blank): empty phone number",
            "3: error +1 900 200 5555: +19002005555 is a premium-rate number, which is refused",
        ]
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr, "3 lines: 1 valid, 2 invalid\n");
}

#[test]
fn crlf_line_endings_and_a_missing_final_newline_are_handled() {
    let (code, lines) = json_lines(
        &["phones", "check", "--format", "json"],
        "91 9876543210\r\n1 9259249500",
    );
    assert_eq!(code, Some(0));
    assert_eq!(lines[0]["input"], "91 9876543210");
    assert_eq!(lines[1]["e164"], "+19259249500");
}

#[test]
fn invalid_utf8_is_a_bad_line_not_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.txt");
    std::fs::write(&path, b"91 9876543210\n\xe9\xe9\n").unwrap();
    let (code, lines) = json_lines(
        &[
            "phones",
            "check",
            "--format",
            "json",
            path.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, Some(1));
    assert_eq!(lines[1]["ok"], false);
}

#[test]
fn missing_file_exits_two() {
    let output = tfa_admin(&["phones", "check", "/nonexistent/numbers.txt"], "");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("cannot open /nonexistent/numbers.txt"),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_two() {
    assert_eq!(
        tfa_admin(&["phones", "check", "--default-region", "XX"], "")
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        tfa_admin(&["phones", "check", "--format", "xml"], "")
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        tfa_admin(&["phones", "frobnicate"], "").status.code(),
        Some(2)
    );
}

#[test]
fn shipped_sample_mixes_good_and_bad_lines() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/phones.txt");
    let (code, lines) = json_lines(
        &[
            "phones",
            "check",
            "--format",
            "json",
            sample.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, Some(1));
    let text = std::fs::read_to_string(&sample).unwrap();
    assert_eq!(lines.len(), text.lines().count());
    let pam360 = lines
        .iter()
        .find(|l| l["input"] == "1 9259249500 292")
        .unwrap();
    assert_eq!(pam360["extension"], "292");
    let mobile = lines
        .iter()
        .find(|l| l["input"] == "91 9876543210")
        .unwrap();
    assert_eq!(mobile["kind"], "mobile");
    assert!(lines.iter().any(|l| l["ok"] == true));
    assert!(lines.iter().any(|l| l["ok"] == false && l["input"] == ""));
}
