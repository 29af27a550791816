//! `pvstation keys new`: an Ed25519 signing key for a report signatory (secret file readable
//! by its owner only) and its public key next to it (`.pub`), to give to anyone who verifies.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use serde_json::{Value, json};

/// `pvstation keys …`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a signing key for a signatory.
    New {
        /// Secret key file to create (the public key goes to FILE.pub).
        #[arg(long)]
        out: PathBuf,
        /// The signatory's name.
        #[arg(long)]
        name: String,
        /// The signatory's role.
        #[arg(long, default_value = "Authorised signatory")]
        role: String,
    },
}

/// The public-key file next to a secret-key file.
fn public_path(secret: &Path) -> PathBuf {
    let mut p = secret.as_os_str().to_owned();
    p.push(".pub");
    PathBuf::from(p)
}

/// Read a key file (secret or public).
pub fn read_key(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a pvstation key file", path.display()))?;
    if v["public"].as_str().is_none() {
        anyhow::bail!("{} holds no public key", path.display());
    }
    Ok(v)
}

/// Run `pvstation keys …`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    let Command::New { out, name, role } = command;
    if out.exists() {
        anyhow::bail!("{} exists: a key is never overwritten", out.display());
    }
    let (secret, public) = crate::report::sign::new_key().map_err(anyhow::Error::msg)?;
    let secret_file = json!({"kind": "pvstation ed25519 signing key", "name": name, "role": role,
                             "public": public, "secret": secret});
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&out)
            .with_context(|| format!("cannot create {}", out.display()))?;
        f.write_all(serde_json::to_string_pretty(&secret_file)?.as_bytes())?;
        f.sync_all()?;
    }
    let pub_path = public_path(&out);
    let public_file = json!({"kind": "pvstation ed25519 public key", "name": name, "role": role, "public": public});
    crate::store::write_atomically(
        &pub_path,
        serde_json::to_string_pretty(&public_file)?.as_bytes(),
    )?;
    println!(
        "signing key for {name} ({role}) in {} (keep it private); public key {public} in {}",
        out.display(),
        pub_path.display()
    );
    Ok(ExitCode::SUCCESS)
}
