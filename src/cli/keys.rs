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
    /// Create the laboratory's document-signing key (ECDSA P-256) with a self-signed X.509
    /// certificate, for signing PDF certificates (`report --lab-key FILE`).
    LabNew {
        /// Key file to create (PEM: private key and certificate; readable by its owner only).
        #[arg(long)]
        out: PathBuf,
        /// The certificate's common name ("… document signing").
        #[arg(long)]
        name: String,
        /// The laboratory (organisation).
        #[arg(long)]
        organisation: String,
        /// ISO 3166-1 country code.
        #[arg(long, default_value = "CN")]
        country: String,
        /// Validity in years.
        #[arg(long, default_value_t = 3)]
        years: i32,
    },
    /// Import a P-256 key and the certificate a CA issued for it (PEM files) as a laboratory
    /// key file.
    LabImport {
        /// The private key (PKCS#8 "PRIVATE KEY" or SEC1 "EC PRIVATE KEY").
        #[arg(long)]
        key: PathBuf,
        /// Its certificate ("CERTIFICATE").
        #[arg(long)]
        cert: PathBuf,
        /// Key file to create.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Create `path` with `bytes`, readable by its owner only; an existing file is never
/// overwritten.
pub fn write_secret(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "cannot create {} (a key is never overwritten)",
                path.display()
            )
        })?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

fn lab(command: Command) -> anyhow::Result<ExitCode> {
    use crate::report::pades::{LabKey, Subject};
    let (key, out) = match command {
        Command::LabNew {
            out,
            name,
            organisation,
            country,
            years,
        } => {
            if !(1..=30).contains(&years) {
                anyhow::bail!("--years {years}: give 1 to 30");
            }
            let today =
                crate::model::Date::from_unix_seconds(crate::instruments::roles::system_now());
            let key = LabKey::generate(
                &Subject {
                    common_name: &name,
                    organisation: &organisation,
                    country: &country,
                },
                today,
                years,
            )
            .map_err(anyhow::Error::msg)?;
            (key, out)
        }
        Command::LabImport { key, cert, out } => {
            let read = |p: &Path| {
                std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
            };
            let text = format!("{}\n{}", read(&key)?, read(&cert)?);
            let key = LabKey::from_pem(&text).map_err(anyhow::Error::msg)?;
            (key, out)
        }
        Command::New { .. } => {
            anyhow::bail!("`keys new` makes a signatory key, not a laboratory key")
        }
    };
    write_secret(&out, key.to_pem().map_err(anyhow::Error::msg)?.as_bytes())?;
    println!(
        "laboratory document-signing key \"{}\" (ECDSA P-256) in {} (keep it private); sign PDF certificates with: pvstation report RUN --lab-key {}",
        key.signer(),
        out.display(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
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
    let Command::New { out, name, role } = command else {
        return lab(command);
    };
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
