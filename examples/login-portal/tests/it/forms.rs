//! What an attacker or a curious user sees: the same answer for unknown users, refused
//! forged forms, cookie attributes, security headers.

use reqwest::StatusCode;

use crate::support::{
    audit_events, browser, cookieless, csrf, demo, location, page, post, url, user,
    username_and_password,
};

/// A page with its anti-forgery token and the typed username blanked out.
fn normalised(page: &str, token: &str, username: &str) -> String {
    page.replace(token, "TOKEN").replace(username, "USER")
}

#[tokio::test]
async fn unknown_users_get_the_identical_answer_at_the_username_step() {
    let portal = demo().await;
    let mut seen = Vec::new();
    let too_long = "x".repeat(300);
    for name in ["alice", "nobody-here", too_long.as_str()] {
        let browser = browser();
        let start = page(&browser, &portal, "/").await;
        let token = csrf(&start);
        let step = post(
            &browser,
            &portal,
            "/username",
            &[("csrf", &token), ("username", name)],
        )
        .await;
        let status = step.status();
        let location = location(&step);
        let mut header_names: Vec<String> = step
            .headers()
            .keys()
            .map(|k| k.as_str().to_owned())
            .collect();
        header_names.sort();
        header_names.retain(|h| h != "date");
        let body = step.text().await.unwrap();
        let password_page = page(&browser, &portal, "/password").await;
        let shown: String = name.chars().take(256).collect();
        seen.push((
            status,
            location,
            header_names,
            body,
            normalised(&password_page, &csrf(&password_page), &shown),
        ));
    }
    assert_eq!(seen[0].0, StatusCode::SEE_OTHER);
    assert_eq!(seen[0].1, "/password");
    assert_eq!(
        seen[0], seen[1],
        "known and unknown users must look the same"
    );
    assert_eq!(seen[0], seen[2], "refused usernames must look the same too");

    // And their passwords fail the same way as a wrong one.
    let browser = browser();
    let unknown = username_and_password(&browser, &portal, "nobody-here", "guess").await;
    assert_eq!(location(&unknown), "/failed");
    let failed = page(&browser, &portal, "/failed").await;
    assert!(
        failed.contains("The username or password is incorrect."),
        "{failed}"
    );
    portal.shutdown().await;
}

#[tokio::test]
async fn forms_without_the_sessions_token_are_refused() {
    let portal = demo().await;
    let browser = browser();
    let start = page(&browser, &portal, "/").await;
    let token = csrf(&start);

    let missing = post(&browser, &portal, "/username", &[("username", "alice")]).await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let wrong = post(
        &browser,
        &portal,
        "/username",
        &[
            ("csrf", &format!("{}x", &token[1..])),
            ("username", "alice"),
        ],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);

    // Another session's token is no good either.
    let other = crate::support::browser();
    let other_token = csrf(&page(&other, &portal, "/").await);
    let foreign = post(
        &browser,
        &portal,
        "/username",
        &[("csrf", &other_token), ("username", "alice")],
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);

    // Without a session cookie at all.
    let no_session = cookieless()
        .post(url(&portal, "/username"))
        .form(&[("csrf", token.as_str()), ("username", "alice")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_session.status(), StatusCode::FORBIDDEN);

    for path in ["/password", "/call/cancel", "/sign-out"] {
        let refused = post(&browser, &portal, path, &[("csrf", "forged")]).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
    }

    // The right token still works after all that.
    let fine = post(
        &browser,
        &portal,
        "/username",
        &[("csrf", &token), ("username", "alice")],
    )
    .await;
    assert_eq!(fine.status(), StatusCode::SEE_OTHER);
    let refusals = audit_events(&portal)
        .iter()
        .filter(|e| *e == "portal-form-refused")
        .count();
    assert_eq!(refusals, 7);
    portal.shutdown().await;
}

#[tokio::test]
async fn the_session_cookie_is_http_only_same_site_strict_and_replaced_at_sign_in() {
    let portal = demo().await;
    let carol = user(&portal, "carol").clone();
    let browser = browser();
    let first = browser.get(portal.url()).send().await.unwrap();
    let cookie = first.headers()["set-cookie"].to_str().unwrap().to_owned();
    let (pair, attributes) = cookie.split_once("; ").unwrap();
    let (name, value) = pair.split_once('=').unwrap();
    assert_eq!(name, "login-portal");
    assert_eq!(value.len(), 43, "256 random bits, base64url");
    assert_eq!(attributes, "Path=/; HttpOnly; SameSite=Strict");
    let token = csrf(&first.text().await.unwrap());
    assert_ne!(token, value, "the token is not the session id");

    let step = post(
        &browser,
        &portal,
        "/username",
        &[("csrf", &token), ("username", "carol")],
    )
    .await;
    assert!(
        step.headers().get("set-cookie").is_none(),
        "same session until sign-in"
    );
    let password_page = page(&browser, &portal, "/password").await;
    let signed = post(
        &browser,
        &portal,
        "/password",
        &[
            ("csrf", &csrf(&password_page)),
            ("password", &carol.password),
        ],
    )
    .await;
    assert_eq!(location(&signed), "/signed-in");
    let rotated = signed.headers()["set-cookie"].to_str().unwrap().to_owned();
    let new_value = rotated
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1;
    assert_ne!(new_value, value, "a new id at sign-in");
    assert!(
        rotated.ends_with("Path=/; HttpOnly; SameSite=Strict"),
        "{rotated}"
    );

    // The id from before the sign-in is worth nothing now.
    let stale = cookieless()
        .get(url(&portal, "/signed-in"))
        .header("cookie", format!("login-portal={value}"))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&stale), "/");
    portal.shutdown().await;
}

#[tokio::test]
async fn pages_forbid_framing_caching_and_foreign_scripts() {
    let portal = demo().await;
    let response = browser().get(portal.url()).send().await.unwrap();
    let headers = response.headers();
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let page = response.text().await.unwrap();
    for id in ["username-form", "username", "continue"] {
        assert!(page.contains(&format!("id=\"{id}\"")), "{id} in {page}");
    }
    portal.shutdown().await;
}

#[tokio::test]
async fn typed_usernames_are_escaped_on_the_password_page() {
    let portal = demo().await;
    let browser = browser();
    let token = csrf(&page(&browser, &portal, "/").await);
    post(
        &browser,
        &portal,
        "/username",
        &[("csrf", &token), ("username", "<script>alert(1)</script>")],
    )
    .await;
    let page = page(&browser, &portal, "/password").await;
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    portal.shutdown().await;
}

#[tokio::test]
async fn oversized_forms_are_refused_before_they_are_read() {
    let portal = demo().await;
    let browser = browser();
    let token = csrf(&page(&browser, &portal, "/").await);
    let huge = "a".repeat(64 * 1024);
    let refused = post(
        &browser,
        &portal,
        "/username",
        &[("csrf", &token), ("username", &huge)],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    portal.shutdown().await;
}
