//! The HTML pages, rendered on the server with `maud` (which escapes every interpolated
//! value). Element ids are a contract with browser tests: see the crate docs.

use maud::{DOCTYPE, Markup, html};
use tfa_flow::UserMessage;

use crate::CallState;

fn layout(title: &str, head_extra: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Sign in" }
                link rel="stylesheet" href="/static/portal.css";
                (head_extra)
            }
            body {
                main {
                    h1 { "Sign in" }
                    (body)
                }
            }
        }
    }
}

fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

/// The username page. `error` is shown in `#error` (only for an empty username).
pub(crate) fn username(csrf: &str, error: Option<&str>) -> Markup {
    layout(
        "Username",
        html! {},
        html! {
            @if let Some(error) = error {
                p #error role="alert" { (error) }
            }
            form #username-form method="post" action="/username" {
                (csrf_field(csrf))
                label for="username" { "Username" }
                input #username name="username" type="text" autocomplete="username"
                    autocapitalize="none" spellcheck="false" required autofocus;
                button #continue type="submit" { "Continue" }
            }
        },
    )
}

/// The password page, the same for every username.
pub(crate) fn password(csrf: &str, username: &str) -> Markup {
    layout(
        "Password",
        html! {},
        html! {
            p #signing-in-as { "Signing in as " strong { (username) } }
            form #password-form method="post" action="/password" {
                (csrf_field(csrf))
                label for="password" { "Password" }
                input #password name="password" type="password" autocomplete="current-password"
                    required autofocus;
                button #sign-in type="submit" { "Sign in" }
            }
            p { a #start-over href="/" { "Not you? Start over" } }
        },
    )
}

/// The "we are calling your phone" page: `#call-progress` with `data-state`; a script
/// follows the server-sent events, and without scripts the page refreshes itself.
pub(crate) fn calling(csrf: &str, state: CallState) -> Markup {
    layout(
        "Calling your phone",
        html! {
            noscript { meta http-equiv="refresh" content="2"; }
            script src="/static/call.js" defer {}
        },
        html! {
            p { "We are calling your phone. Answer it and press # (or key your PIN and #) to sign in." }
            p #call-progress data-state=(state.as_str()) aria-live="polite" { (state.text()) }
            form #cancel-form method="post" action="/call/cancel" {
                (csrf_field(csrf))
                button #cancel type="submit" { "Cancel" }
            }
        },
    )
}

/// The signed-in page.
pub(crate) fn signed_in(csrf: &str, username: &str) -> Markup {
    layout(
        "Signed in",
        html! {},
        html! {
            p #signed-in { "You are signed in as " strong { (username) } "." }
            form #sign-out-form method="post" action="/sign-out" {
                (csrf_field(csrf))
                button #sign-out type="submit" { "Sign out" }
            }
        },
    )
}

/// The failure page: a generic message and a way back to the start.
pub(crate) fn failed(message: UserMessage) -> Markup {
    layout(
        "Not signed in",
        html! {},
        html! {
            p #login-failed role="alert" { (failure_text(message)) }
            p { a #start-over href="/" { "Start over" } }
        },
    )
}

/// A page for a refused or unknown request.
pub(crate) fn refused(text: &str) -> Markup {
    layout(
        "Request refused",
        html! {},
        html! {
            p #refused role="alert" { (text) }
            p { a #start-over href="/" { "Start over" } }
        },
    )
}

/// The generic text for how a login ended; never more than the user may learn.
pub(crate) fn failure_text(message: UserMessage) -> &'static str {
    match message {
        UserMessage::LoginFailed => "The username or password is incorrect.",
        UserMessage::TooManyAttempts { .. } => "Too many attempts. Try again later.",
        UserMessage::PasswordChangeRequired => {
            "Your password must be changed before you can sign in."
        }
        UserMessage::ContactAdministrator => "Sign-in is not possible. Contact your administrator.",
        UserMessage::SecondFactorFailed => "The phone verification did not succeed.",
        UserMessage::TimedOut => "The sign-in took too long. Start again.",
        UserMessage::Cancelled => "The sign-in was cancelled.",
        // TemporarilyUnavailable, and anything a later flow adds: fail closed, say little.
        _ => "Sign-in is temporarily unavailable. Try again later.",
    }
}
