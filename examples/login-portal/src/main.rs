//! `login-portal`: the login web app. With no arguments it runs the demo (the PhoneFactor
//! simulator embedded, demo users printed); with `--config FILE` it runs a real deployment.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use login_portal::{DemoMode, DemoOptions, PortalConfig, PortalError, PortalHandle};
use tracing_subscriber::EnvFilter;

/// The phonefactor-tfa login portal.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Run against a real deployment described by this TOML file (see
    /// docs/configuration.md, "login-portal"). Without it: the demo.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Listen here (default: the file's `listen`; for the demo 127.0.0.1:8080, or a free
    /// port when that is taken).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Where logins in progress, counters and TFA settings live: `memory` (this process) or
    /// `redis://host[:port][/db][#namespace]` (shared by several portals).
    #[arg(long, value_name = "STORE", default_value = "memory")]
    store: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("login-portal: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("login-portal: {}", chain(&error));
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), PortalError> {
    let portal = match &args.config {
        Some(path) => {
            let mut config = PortalConfig::from_file(path)?;
            if let Some(listen) = args.listen {
                config.set_listen(listen);
            }
            let stores = login_portal::open_stores(&args.store).await?;
            let portal = login_portal::serve(config, stores).await?;
            println!("login-portal: open {}", portal.url());
            println!("audit log: {}", portal.audit_log_path().display());
            portal
        }
        None => {
            let options =
                DemoOptions::default().stores(login_portal::open_stores(&args.store).await?);
            let portal = match args.listen {
                Some(listen) => login_portal::start_demo(options.listen(listen)).await?,
                None => demo_on_default_port(options).await?,
            };
            print_demo(&portal);
            portal
        }
    };
    println!("Press Ctrl-C to stop.");
    if let Err(error) = tokio::signal::ctrl_c().await {
        eprintln!("login-portal: cannot wait for Ctrl-C: {error}");
    }
    portal.shutdown().await;
    Ok(())
}

/// The demo on 127.0.0.1:8080, or on a free port when 8080 is taken.
async fn demo_on_default_port(options: DemoOptions) -> Result<PortalHandle, PortalError> {
    let preferred = SocketAddr::from(([127, 0, 0, 1], 8080));
    match login_portal::start_demo(options.clone().listen(preferred)).await {
        Err(PortalError::Listen { source, .. })
            if source.kind() == std::io::ErrorKind::AddrInUse =>
        {
            eprintln!("login-portal: {preferred} is in use; listening on a free port instead");
            let any = SocketAddr::from(([127, 0, 0, 1], 0));
            login_portal::start_demo(options.listen(any)).await
        }
        other => other,
    }
}

fn print_demo(portal: &PortalHandle) {
    println!("login-portal demo: PhoneFactor simulator embedded (agent mode, TLS on loopback)");
    println!("  open the portal:      {}", portal.url());
    println!(
        "  answer calls here:    {}   (a second tab)",
        portal.phones_url()
    );
    println!(
        "  audit log:            {}",
        portal.audit_log_path().display()
    );
    println!("  demo users:");
    for user in portal.demo_users() {
        let how = match &user.mode {
            DemoMode::PressPound => "answer and press #".to_owned(),
            DemoMode::Pin(pin) => format!("answer, key PIN {pin} then #"),
            DemoMode::NoTfa => "TFA off: no call".to_owned(),
            _ => String::new(),
        };
        println!(
            "    {:<6} password {:<16} phone {}  ({how})",
            user.username, user.password, user.phone
        );
    }
}

/// The error and its causes, one after another.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
