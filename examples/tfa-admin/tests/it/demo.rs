//! `tfa-admin demo`: one login through the whole stack.

use crate::{stderr, stdout_lines, tfa_admin};

#[test]
fn the_demo_signs_in_and_prints_every_step() {
    let output = tfa_admin(&["demo", "--answer-after", "200ms"], "");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = stdout_lines(&output);
    let steps: Vec<&str> = lines
        .iter()
        .filter(|l| l.as_bytes().first().is_some_and(u8::is_ascii_digit))
        .map(String::as_str)
        .collect();
    assert_eq!(steps.len(), 6, "{lines:?}");
    assert!(
        steps[0].starts_with("1. username \"alice\" accepted"),
        "{steps:?}"
    );
    assert!(steps[1].starts_with("2. password verified"), "{steps:?}");
    assert!(
        steps[2].starts_with("3. call placed to +1 9259249500"),
        "{steps:?}"
    );
    assert_eq!(steps[3], "4. ringing...");
    assert!(
        steps[4].starts_with("5. answered, # pressed after "),
        "{steps:?}"
    );
    assert!(steps[4].ends_with("(status 2)"), "{steps:?}");
    assert!(
        steps[5].starts_with("6. signed in as alice (approved phone call)"),
        "{steps:?}"
    );
}

#[test]
fn a_bad_duration_is_refused_with_an_example() {
    let output = tfa_admin(&["demo", "--answer-after", "soon"], "");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("such as 2s"),
        "{}",
        stderr(&output)
    );
}
