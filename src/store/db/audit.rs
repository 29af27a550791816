//! The audit trail: a SHA-256 hash chain (21 CFR 11.10(e), ISO/IEC 17025 7.5): every entry
//! carries its predecessor's hash, so editing or deleting any entry — even behind SQLite's
//! back — breaks the chain at that entry; and the check of every raw record against the
//! SHA-256 taken when it was recorded.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Database, sha256_hex};
use crate::store::StoreError;

/// Hash of the first link's predecessor.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of an audit entry: SHA-256 over its fields and its predecessor's hash, each
/// length-prefixed so that no two different entries serialise alike.
pub fn audit_hash(
    prev_hash: &str,
    recorded_at: f64,
    actor: &str,
    action: &str,
    details: &str,
) -> String {
    let mut text = String::new();
    for field in [
        prev_hash,
        &format!("{recorded_at:?}"),
        actor,
        action,
        details,
    ] {
        text.push_str(&format!("{}:{field};", field.len()));
    }
    sha256_hex(text.as_bytes())
}

/// An audit entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Sequence number.
    pub id: i64,
    /// When [s since epoch].
    pub recorded_at: f64,
    /// Who.
    pub actor: String,
    /// What (e.g. `prompt.answer`, `sign-off`, `config.change`).
    pub action: String,
    /// Details (JSON text: before/after, answers, meanings).
    pub details: String,
    /// Predecessor's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// The first broken link of the audit chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrokenLink {
    /// Entry id.
    pub id: i64,
    /// What is wrong.
    pub problem: String,
}

impl Database {
    /// Append an audit entry, chained to the last one; returns it.
    pub fn audit(
        &self,
        recorded_at: f64,
        actor: &str,
        action: &str,
        details: &str,
    ) -> Result<AuditEntry, StoreError> {
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| self.fail(e))?;
        let prev: Option<String> = tx
            .query_row("SELECT hash FROM audit ORDER BY id DESC LIMIT 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.fail(e))?;
        let prev_hash = prev.unwrap_or_else(|| GENESIS.to_string());
        let hash = audit_hash(&prev_hash, recorded_at, actor, action, details);
        tx.execute(
            "INSERT INTO audit (recorded_at, actor, action, details, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![recorded_at, actor, action, details, prev_hash, hash],
        )
        .map_err(|e| self.fail(e))?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(|e| self.fail(e))?;
        Ok(AuditEntry {
            id,
            recorded_at,
            actor: actor.into(),
            action: action.into(),
            details: details.into(),
            prev_hash,
            hash,
        })
    }

    /// All audit entries in order.
    fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError> {
        self.query_all("SELECT id, recorded_at, actor, action, details, prev_hash, hash FROM audit ORDER BY id", [], |r| {
            Ok(AuditEntry { id: r.get(0)?, recorded_at: r.get(1)?, actor: r.get(2)?, action: r.get(3)?, details: r.get(4)?, prev_hash: r.get(5)?, hash: r.get(6)? })
        })
    }

    /// Walk the audit chain; `Ok(n)` with the number of entries when intact, else the first
    /// broken link.
    pub fn verify_audit(&self) -> Result<Result<usize, BrokenLink>, StoreError> {
        let entries = self.audit_entries()?;
        let mut prev = GENESIS.to_string();
        let mut expected_id = None;
        for e in &entries {
            if let Some(id) = expected_id
                && e.id != id
            {
                return Ok(Err(BrokenLink {
                    id,
                    problem: format!("entry {id} is missing (the next entry is {})", e.id),
                }));
            }
            if e.prev_hash != prev {
                return Ok(Err(BrokenLink { id: e.id, problem: "its predecessor's hash does not match: an earlier entry was changed or removed".into() }));
            }
            let hash = audit_hash(&e.prev_hash, e.recorded_at, &e.actor, &e.action, &e.details);
            if hash != e.hash {
                return Ok(Err(BrokenLink {
                    id: e.id,
                    problem: "its content does not match its hash: the entry was edited".into(),
                }));
            }
            prev = e.hash.clone();
            expected_id = Some(e.id + 1);
        }
        Ok(Ok(entries.len()))
    }

    /// Check every raw record against the SHA-256 taken when it was recorded: Ok(count) or
    /// the first altered record.
    pub fn verify_raw(&self) -> Result<Result<usize, BrokenLink>, StoreError> {
        let rows = self.query_all("SELECT id, data, sha256 FROM raw ORDER BY id", [], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for (id, data, hash) in &rows {
            if sha256_hex(data.as_bytes()) != *hash {
                return Ok(Err(BrokenLink {
                    id: *id,
                    problem: "its data no longer match the SHA-256 recorded with them (edited behind the database's back)".into(),
                }));
            }
        }
        Ok(Ok(rows.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db(name: &str) -> (Database, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("pvstation-db-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("station.db");
        (Database::open(&path).expect("opens"), path)
    }

    #[test]
    fn audit_chain_detects_edits_and_deletions() {
        let (db, path) = temp_db("audit");
        for k in 0..5 {
            db.audit(
                1.0e9 + k as f64,
                "operator",
                "config.change",
                &format!("{{\"k\":{k}}}"),
            )
            .expect("append");
        }
        assert_eq!(db.verify_audit().expect("reads"), Ok(5));
        // The triggers refuse edits through SQL …
        let err = db
            .connection()
            .execute("UPDATE audit SET actor = 'mallory' WHERE id = 3", [])
            .expect_err("immutable");
        assert!(err.to_string().contains("append-only"), "{err}");
        // … and an edit behind their back breaks the chain at that entry.
        db.connection()
            .execute_batch(
                "DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'mallory' WHERE id = 3;",
            )
            .expect("tamper");
        let broken = db.verify_audit().expect("reads").expect_err("broken");
        assert_eq!(broken.id, 3);
        assert!(broken.problem.contains("edited"));
        drop(db);
        let db = Database::open(&path).expect("reopens");
        db.connection()
            .execute_batch("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE id = 2;")
            .expect("tamper");
        let broken = db.verify_audit().expect("reads").expect_err("broken");
        assert_eq!(broken.id, 2, "{broken:?}");
    }

    #[test]
    fn raw_observations_are_immutable() {
        let (db, _) = temp_db("raw");
        let c = db.connection();
        c.execute(
            "INSERT INTO runs VALUES ('r1', 'outdoor-pmax', 'h', '{}', 'op', '0.1.0', '{}', 1.0)",
            [],
        )
        .expect("run");
        c.execute("INSERT INTO raw (run_id, kind, data, sha256, recorded_at) VALUES ('r1', 'sweep', '[1,2]', 'x', 1.0)", []).expect("raw");
        assert!(
            c.execute("UPDATE raw SET data = '[3]'", [])
                .expect_err("immutable")
                .to_string()
                .contains("immutable")
        );
        assert!(c.execute("DELETE FROM raw", []).is_err());
        // A correction is a new record pointing at the old one.
        c.execute("INSERT INTO raw (run_id, kind, data, sha256, corrects, recorded_at) VALUES ('r1', 'sweep', '[1,2.5]', 'y', 1, 2.0)", []).expect("correction");
        assert_eq!(db.runs().expect("runs").len(), 1);
    }
}
