//! `tfa-admin demo`: one scripted login through the whole stack, step by step.

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use phonefactor_sim::Scenario;
use secrecy::SecretString;
use tfa_flow::{FileTfaStateStore, Policy, Progress, SecondFactorStatus};

use crate::stack;

const USER: &str = "alice";
const PASSWORD: &str = "correct horse battery staple";

/// Arguments of `demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// How long the phone rings before it is answered with `#` (e.g. `2s`, `500ms`).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = crate::load::duration)]
    answer_after: Duration,
}

/// Runs `demo`: exit 0 when the login signs in, 1 when it does not, 2 when the stack
/// cannot be set up.
pub(crate) fn run(args: &DemoArgs) -> ExitCode {
    let Some(runtime) = crate::call::runtime() else {
        return ExitCode::from(2);
    };
    match runtime.block_on(demo(args.answer_after)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("tfa-admin: {message}");
            ExitCode::from(2)
        }
    }
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

async fn demo(answer_after: Duration) -> Result<bool, stack::SetupError> {
    let dir = tempfile::Builder::new()
        .prefix("tfa-admin-demo-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let sim = stack::start_simulator(&dir.path().join("simulator"), answer_after).await?;
    // The demo answers alice's phone itself, once it has seen it ring.
    sim.script_user(USER, Scenario::Manual);
    println!(
        "simulator: PhoneFactor direct mode at {} (mutual TLS on loopback; the phone is answered with # after {})",
        sim.direct_url(),
        humantime::format_duration(answer_after)
    );
    let users = stack::local_users(
        dir.path().join("users.json"),
        std::iter::once(USER.to_owned()),
        PASSWORD,
    )
    .await?;
    println!(
        "password store: {} with user {USER:?}, password {PASSWORD:?}, phone {}",
        users.path().display(),
        stack::PHONE_DISPLAY
    );
    let settings_path = dir.path().join("tfa-settings.json");
    let settings = FileTfaStateStore::open_or_create(&settings_path)
        .await
        .map_err(|e| crate::call::error_chain(&e))?;
    println!(
        "tfa settings: {} (no entry: TFA enforced, the default)",
        settings_path.display()
    );
    let client = stack::direct_client(sim.pki_dir(), sim.direct_url(), answer_after)?;
    let mut policy = Policy::default();
    stack::fit_timeouts(&mut policy, answer_after);
    let auth = stack::authenticator(users, client, policy, Some(Arc::new(settings)))?;
    let source = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let started = Instant::now();
    let fail = |what: &str, e: &tfa_flow::FlowError| {
        format!("{what} failed: {}", crate::call::error_chain(e))
    };

    let login = auth
        .begin(USER, source)
        .await
        .map_err(|e| fail("begin", &e))?;
    println!("1. username {USER:?} accepted (login {login})");
    let progress = auth
        .submit_password(login, SecretString::from(PASSWORD))
        .await
        .map_err(|e| fail("password", &e))?;
    let Progress::Calling { .. } = progress else {
        println!("   login ended at the password step: {progress:?}");
        return Ok(false);
    };
    println!(
        "2. password verified ({} ms since the username)",
        ms(started.elapsed())
    );
    // The call rings on its own task; the simulator shows it ringing.
    let outcome = tokio::spawn({
        let auth = auth.clone();
        async move { auth.second_factor(login).await }
    });
    let call = sim
        .wait_for_ringing(USER, Duration::from_secs(10))
        .await
        .map_err(|e| format!("no call rang: {}", crate::call::error_chain(&e)))?;
    let number = match &call.phone.extension {
        Some(ext) => format!(
            "+{} {} extension {ext}",
            call.phone.country_code, call.phone.number
        ),
        None => format!("+{} {}", call.phone.country_code, call.phone.number),
    };
    println!("3. call placed to {number} (simulator call {})", call.id);
    println!("4. ringing...");
    tokio::time::sleep(answer_after.saturating_sub(Duration::from_millis(call.ringing_ms))).await;
    sim.answer(call.id, Scenario::Pound)
        .map_err(|e| format!("cannot answer the call: {}", crate::call::error_chain(&e)))?;
    let progress = outcome
        .await
        .map_err(|e| format!("the login task failed: {e}"))?
        .map_err(|e| fail("second factor", &e))?;
    if let Some(call) = sim.calls().last() {
        let action = call
            .action
            .as_ref()
            .map_or_else(|| "no answer".to_owned(), |a| format!("{a:?}"));
        let keyed = if matches!(call.action, Some(Scenario::Pound)) {
            "answered, # pressed".to_owned()
        } else {
            format!("ended: {action}")
        };
        println!(
            "5. {keyed} after {} ms (status {})",
            call.rang_ms, call.status
        );
    }
    sim.shutdown().await;
    match progress {
        Progress::Authenticated(session) => {
            let how = match session.second_factor() {
                SecondFactorStatus::Approved { .. } => "approved phone call",
                SecondFactorStatus::NotEnforced => "TFA not enforced",
                SecondFactorStatus::Bypassed => "one-time bypass",
                _ => "second factor skipped",
            };
            println!(
                "6. signed in as {} ({how}) in {} ms",
                session.username(),
                ms(started.elapsed())
            );
            Ok(true)
        }
        other => {
            println!("6. not signed in: {:?}", other.message());
            Ok(false)
        }
    }
}
