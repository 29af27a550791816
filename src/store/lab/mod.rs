//! The laboratory's store: one PostgreSQL database holding every station's runs, journals,
//! raw observations, I/O logs, results, references, issued reports and audit chains.
//!
//! # Why this shape
//! - **Offline first.** Each station measures into its own SQLite file and never waits for the
//!   network; `pvstation sync` copies what the lab store lacks when it can (sync.rs). The lab
//!   store is a union of the stations' files, never their master: nothing flows back.
//! - **Keyed by station.** Every row carries the station's identity (the UUID the station
//!   database made once, station migration 10) and its rowid in the station's file, so two
//!   stations' run ids, raw record numbers and audit chains can never mix, and "rows above
//!   the highest rowid copied" is exactly what is missing (append-only tables only grow).
//! - **Append-only, and provably so.** As in SQLite, triggers refuse UPDATE, DELETE and
//!   TRUNCATE on immutable tables; a superuser can still get behind them, so every immutable
//!   row carries its SHA-256 and `lab audit verify` recomputes them all, walks each station's
//!   audit chain and compares each table's row count with what the last sync saw (views.rs).
//! - **Certificate numbers.** A station numbers its reports itself (it must issue offline);
//!   the lab store holds each number once (a unique index), so a number issued by two
//!   stations is refused at the second one's sync, naming both, before anything of that batch
//!   lands. Give each station its own prefix (`[report] number_prefix` in its station file)
//!   and numbers never collide.
//!
//! The connection is plain TCP (`NoTls`): the lab store is meant for the laboratory's own
//! network or a loopback/SSH tunnel; TLS is not built in (a dependency we chose not to add).

pub mod schema;
pub mod sync;
pub mod tables;
pub mod views;

use tokio_postgres::{Client, NoTls};

/// Errors of the lab store; each says what was being done and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// No connection.
    #[error(
        "cannot reach the lab store {url}: {problem} — check the URL (postgresql://USER@HOST:PORT/DATABASE), that the server runs and that it accepts this user"
    )]
    Connect {
        /// The URL without its password.
        url: String,
        /// What the driver said.
        problem: String,
    },
    /// A statement failed.
    #[error("lab store: {what}: {problem}")]
    Query {
        /// What was being done.
        what: String,
        /// The server's message.
        problem: String,
    },
    /// The station database.
    #[error(transparent)]
    Station(#[from] crate::store::StoreError),
    /// Refused, with the reason.
    #[error("{0}")]
    Refused(String),
}

/// The server's own message for a failed statement (tokio-postgres' Display says only
/// "db error").
pub fn message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut m = db.message().to_string();
            if let Some(detail) = db.detail() {
                m.push_str(&format!(" ({detail})"));
            }
            m
        }
        None => {
            let mut m = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                m.push_str(&format!(": {s}"));
                source = s.source();
            }
            m
        }
    }
}

/// A closure that turns a driver error into [`LabError::Query`] naming `what`.
pub fn query(what: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> LabError {
    let what = what.into();
    move |e| LabError::Query {
        what,
        problem: message(&e),
    }
}

/// The URL as it may be shown: any password replaced by `***`.
pub fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((user, host)) if user.contains(':') => {
            let name = user.split(':').next().unwrap_or_default();
            format!("{scheme}://{name}:***@{host}")
        }
        _ => url.to_string(),
    }
}

/// Where the lab store is: `--store`/`--to`, else `$PVSTATION_LAB_STORE`.
pub fn store_url(given: Option<String>) -> Result<String, LabError> {
    given
        .or_else(|| std::env::var("PVSTATION_LAB_STORE").ok())
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| {
            LabError::Refused(
                "no lab store given: pass --store postgresql://USER@HOST:PORT/DATABASE or set $PVSTATION_LAB_STORE".into(),
            )
        })
}

/// A connection to the lab store, its schema migrated.
pub struct LabStore {
    client: Client,
    url: String,
}

impl std::fmt::Debug for LabStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabStore").field("url", &self.url).finish()
    }
}

impl LabStore {
    /// Connect and bring the schema up to date (creating it in an empty database).
    pub async fn connect(url: &str) -> Result<LabStore, LabError> {
        let shown = shown_url(url);
        let config: tokio_postgres::Config = url.parse().map_err(|e| LabError::Connect {
            url: shown.clone(),
            problem: format!("not a PostgreSQL URL ({})", message(&e)),
        })?;
        let connect = config.connect(NoTls);
        let (client, connection) =
            tokio::time::timeout(std::time::Duration::from_secs(15), connect)
                .await
                .map_err(|_| LabError::Connect {
                    url: shown.clone(),
                    problem: "no answer within 15 s".into(),
                })?
                .map_err(|e| LabError::Connect {
                    url: shown.clone(),
                    problem: message(&e),
                })?;
        tokio::spawn(async move {
            // The connection ends with the client; its error, if any, reaches the next query.
            let _ = connection.await;
        });
        let mut store = LabStore { client, url: shown };
        store.migrate().await?;
        Ok(store)
    }

    /// The URL (password hidden).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The client (views, sync and tests).
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// Apply the migrations this database lacks, in one transaction under an advisory lock (two stations syncing at once migrate once). A database migrated by a
    /// newer pvstation is refused.
    async fn migrate(&mut self) -> Result<(), LabError> {
        let tx = self
            .client
            .transaction()
            .await
            .map_err(query("starting the schema check"))?;
        tx.execute("SELECT pg_advisory_xact_lock(5056535416)", &[])
            .await
            .map_err(query("locking the schema"))?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS lab_schema (version INTEGER NOT NULL)")
            .await
            .map_err(query("creating lab_schema"))?;
        let version: i32 = tx
            .query_opt("SELECT version FROM lab_schema", &[])
            .await
            .map_err(query("reading the schema version"))?
            .map(|r| r.get(0))
            .unwrap_or(0);
        let known = schema::MIGRATIONS.len() as i32;
        if version > known {
            return Err(LabError::Refused(format!(
                "the lab store {} has schema version {version}, newer than this pvstation ({known}); update pvstation",
                self.url
            )));
        }
        for (k, migration) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.batch_execute(migration)
                .await
                .map_err(query(format!("applying lab store migration {}", k + 1)))?;
        }
        if version < known {
            tx.execute("DELETE FROM lab_schema", &[])
                .await
                .map_err(query("recording the schema version"))?;
            tx.execute("INSERT INTO lab_schema VALUES ($1)", &[&known])
                .await
                .map_err(query("recording the schema version"))?;
        }
        tx.commit().await.map_err(query("committing the schema"))
    }
}
