//! `tfa-admin agent ...`: the PhoneFactor agent connection.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use phonefactor::config::{Mode, VerifierConfig};

/// Commands on the agent connection.
#[derive(Debug, Subcommand)]
pub(crate) enum AgentCommand {
    /// Run `TestSecurity` against the configured agent and print `secure` or the exact reason
    /// it failed. Exits 0 on success, 1 on failure, 2 on a configuration error.
    Test(TestArgs),
}

/// Arguments of `agent test`.
#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// The TOML configuration (`mode = "agent"`).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
}

/// Runs an `agent` command.
pub(crate) fn run(command: AgentCommand) -> ExitCode {
    match command {
        AgentCommand::Test(args) => test(&args),
    }
}

fn test(args: &TestArgs) -> ExitCode {
    let base = crate::call::config_base(&args.config);
    let client = VerifierConfig::from_file(&args.config).and_then(|config| {
        if config.mode != Mode::Agent {
            return Err(phonefactor::Error::InvalidSetting {
                field: "mode",
                reason: "agent test needs mode = \"agent\"".into(),
            });
        }
        let proxy = config.proxy(&base, None)?;
        config.agent_client(&base, proxy)
    });
    let client = match client {
        Ok(c) => c,
        Err(error) => {
            eprintln!("tfa-admin: {}", crate::call::error_chain(&error));
            return ExitCode::from(2);
        }
    };
    let Some(runtime) = crate::call::runtime() else {
        return ExitCode::from(2);
    };
    match runtime.block_on(client.test_security()) {
        Ok(()) => {
            println!("secure ({})", client.url());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("tfa-admin: {}", crate::call::error_chain(&error));
            ExitCode::from(1)
        }
    }
}
