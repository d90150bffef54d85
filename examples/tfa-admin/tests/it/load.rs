//! `tfa-admin load`: many logins through the whole stack, figures as JSON.

use crate::{stderr, stdout_lines, tfa_admin};

#[test]
fn twenty_logins_sign_in_and_the_last_line_has_the_figures() {
    let output = tfa_admin(
        &[
            "load",
            "--logins",
            "20",
            "--concurrency",
            "5",
            "--answer-after",
            "100ms",
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = stdout_lines(&output);
    let figures: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(figures["signed_in"], 20);
    assert_eq!(figures["failed"], 0);
    assert_eq!(figures["simulator"], "in-process");
    // Four rounds of five logins, each ringing 100 ms.
    assert!(figures["wall_ms"].as_u64().unwrap() >= 400, "{figures}");
    for field in ["logins_per_s", "p50_ms", "p99_ms", "peak_rss_mb"] {
        assert!(figures[field].as_f64().unwrap() > 0.0, "{field}: {figures}");
    }
    assert!(figures["p50_ms"].as_f64() <= figures["p99_ms"].as_f64());
    assert!(
        output.stderr.is_empty(),
        "no progress bar when piped: {}",
        stderr(&output)
    );
}

#[test]
fn zero_logins_or_zero_concurrency_is_refused() {
    for (flag, value) in [("--logins", "0"), ("--concurrency", "0")] {
        let mut args = vec![
            "load",
            "--logins",
            "5",
            "--concurrency",
            "1",
            "--answer-after",
            "0s",
        ];
        let at = args.iter().position(|a| *a == flag).unwrap();
        args[at + 1] = value;
        let output = tfa_admin(&args, "");
        assert_eq!(output.status.code(), Some(2), "{flag} {value}");
        assert!(stderr(&output).contains(flag), "{}", stderr(&output));
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn an_unreadable_duration_is_refused() {
    let output = tfa_admin(
        &[
            "load",
            "--logins",
            "1",
            "--concurrency",
            "1",
            "--answer-after",
            "2 parsecs",
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--answer-after"),
        "{}",
        stderr(&output)
    );
}
