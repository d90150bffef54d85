//! The `tfa-admin` configurations the simulator writes beside its PKI (`direct.toml`,
//! `agent.toml`), with every secret by reference to a file. Key names are documented in
//! `docs/configuration.md` under "Simulator-written configuration".

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::SimError;
use crate::files;

#[derive(Serialize)]
struct DirectFile<'a> {
    mode: &'static str,
    direct: DirectSection<'a>,
}

#[derive(Serialize)]
struct DirectSection<'a> {
    license_dir: &'a Path,
    password_file: &'a Path,
    primary_url: &'a str,
    backup_url: &'a str,
    extra_roots: Vec<&'a Path>,
    phonefactor_cn_check: bool,
}

#[derive(Serialize)]
struct AgentFile<'a> {
    mode: &'static str,
    agent: AgentSection<'a>,
}

#[derive(Serialize)]
struct AgentSection<'a> {
    url: &'a str,
    username: &'a str,
    password_file: &'a Path,
    trust_roots: Vec<&'a Path>,
}

/// Everything the two files point at.
pub(crate) struct ConfigInputs<'a> {
    pub(crate) dir: &'a Path,
    pub(crate) license_dir: &'a Path,
    pub(crate) pkcs12_password_file: &'a Path,
    pub(crate) ca_file: &'a Path,
    pub(crate) direct_url: &'a str,
    pub(crate) agent: Option<AgentInputs<'a>>,
}

pub(crate) struct AgentInputs<'a> {
    pub(crate) url: &'a str,
    pub(crate) username: &'a str,
    pub(crate) password_file: &'a Path,
    pub(crate) trust_file: &'a Path,
}

const HEADER: &str = "# Written by phonefactor-sim: a tfa-admin configuration pointing at this simulator.\n\
                      # Secrets are referenced by file, never written here.\n";

fn to_toml(value: &impl Serialize, path: &Path) -> Result<Vec<u8>, SimError> {
    let body = toml::to_string(value).map_err(|e| SimError::File {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(format!("{HEADER}{body}").into_bytes())
}

/// Writes `direct.toml` and, with an agent, `agent.toml`; returns their paths.
pub(crate) fn write(inputs: &ConfigInputs<'_>) -> Result<(PathBuf, Option<PathBuf>), SimError> {
    let direct_path = inputs.dir.join("direct.toml");
    let direct = DirectFile {
        mode: "direct",
        direct: DirectSection {
            license_dir: inputs.license_dir,
            password_file: inputs.pkcs12_password_file,
            primary_url: inputs.direct_url,
            backup_url: inputs.direct_url,
            extra_roots: vec![inputs.ca_file],
            phonefactor_cn_check: true,
        },
    };
    files::write(
        &direct_path,
        &to_toml(&direct, &direct_path)?,
        files::Mode::Public,
    )?;
    let agent_path = match &inputs.agent {
        None => None,
        Some(a) => {
            let path = inputs.dir.join("agent.toml");
            let agent = AgentFile {
                mode: "agent",
                agent: AgentSection {
                    url: a.url,
                    username: a.username,
                    password_file: a.password_file,
                    trust_roots: vec![a.trust_file],
                },
            };
            files::write(&path, &to_toml(&agent, &path)?, files::Mode::Public)?;
            Some(path)
        }
    };
    Ok((direct_path, agent_path))
}
