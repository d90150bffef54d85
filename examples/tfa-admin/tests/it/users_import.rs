//! `tfa-admin users import` on real files.

use crate::{stdout_lines, tfa_admin};

const CSV: &str = "\
username,password,phone,display_name,groups
carol,carol pw,+1 (925) 924-9500 ext. 7,Carol,sales;eng
dave,dave pw,not a number,Dave,
erin,erin pw,44 2079460958,Erin,
";

#[test]
fn a_bad_row_stops_the_import_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    std::fs::write(&csv, CSV).unwrap();
    let store = dir.path().join("users.json");
    let output = tfa_admin(
        &[
            "users",
            "import",
            "--store",
            store.to_str().unwrap(),
            csv.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert!(stderr.contains("line 3 (user \"dave\")"), "{stderr}");
    assert!(stderr.contains("not a number"), "{stderr}");
    assert_eq!(
        stdout_lines(&output),
        ["nothing written: 1 bad row(s); fix them or pass --skip-bad"]
    );
    assert!(!store.exists());
}

#[test]
fn skip_bad_imports_the_good_rows_with_hashed_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    std::fs::write(&csv, CSV).unwrap();
    let store = dir.path().join("users.json");
    let output = tfa_admin(
        &[
            "users",
            "import",
            "--skip-bad",
            "--store",
            store.to_str().unwrap(),
            csv.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(1), "some rows were refused");
    assert_eq!(
        stdout_lines(&output),
        [format!("imported 2 user(s) into {}", store.display())]
    );
    let text = std::fs::read_to_string(&store).unwrap();
    assert!(
        text.contains("\"carol\"") && text.contains("\"erin\""),
        "{text}"
    );
    assert!(
        text.contains("$argon2id$") && !text.contains("carol pw"),
        "{text}"
    );
    assert!(text.contains("1 9259249500 7"), "{text}");
}
