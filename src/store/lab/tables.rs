//! What the lab store copies from a station database: every table, its columns and types, its
//! key, and whether it is immutable. One description serves the sync (what to read and
//! write), the row hashes (what `lab audit verify` recomputes) and the schema test (the
//! PostgreSQL migrations must agree with it column by column).

/// A column's type, the same meaning in SQLite and PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// TEXT / TEXT.
    Text,
    /// INTEGER / BIGINT.
    Int,
    /// REAL / DOUBLE PRECISION.
    Real,
    /// BLOB / BYTEA.
    Blob,
}

impl Type {
    /// The PostgreSQL type name as `information_schema.columns.data_type` gives it.
    pub fn postgres(self) -> &'static str {
        match self {
            Type::Text => "text",
            Type::Int => "bigint",
            Type::Real => "double precision",
            Type::Blob => "bytea",
        }
    }
}

/// A copied table.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    /// Name, the same in both stores.
    pub name: &'static str,
    /// Columns `(name, type)` in the station database's order.
    pub columns: &'static [(&'static str, Type)],
    /// Immutable (append-only in both stores; rows carry a hash). The queue is not: its rows
    /// change status, and the lab store keeps their latest state.
    pub immutable: bool,
    /// The column naming the run a row belongs to, when it has one.
    pub run_column: Option<&'static str>,
}

use Type::{Blob, Int, Real, Text};

/// Every table, in the order the sync copies them (a row's run is always copied before it).
pub const TABLES: [Table; 13] = [
    Table {
        name: "runs",
        columns: &[
            ("id", Text),
            ("procedure", Text),
            ("procedure_hash", Text),
            ("parameters", Text),
            ("operator", Text),
            ("software_version", Text),
            ("station", Text),
            ("started_at", Real),
        ],
        immutable: true,
        run_column: Some("id"),
    },
    Table {
        name: "scripts",
        columns: &[("sha256", Text), ("file", Text), ("source", Text)],
        immutable: true,
        run_column: None,
    },
    Table {
        name: "activities",
        columns: &[
            ("run_id", Text),
            ("seq", Int),
            ("kind", Text),
            ("request", Text),
            ("result", Text),
            ("status", Text),
            ("recorded_at", Real),
        ],
        immutable: true,
        run_column: Some("run_id"),
    },
    Table {
        name: "raw",
        columns: &[
            ("id", Int),
            ("run_id", Text),
            ("activity_seq", Int),
            ("kind", Text),
            ("data", Text),
            ("sha256", Text),
            ("corrects", Int),
            ("recorded_at", Real),
        ],
        immutable: true,
        run_column: Some("run_id"),
    },
    Table {
        name: "io_log",
        columns: &[
            ("id", Int),
            ("run_id", Text),
            ("recorded_at", Real),
            ("instrument", Text),
            ("resource", Text),
            ("direction", Text),
            ("bytes", Blob),
        ],
        immutable: true,
        run_column: Some("run_id"),
    },
    Table {
        name: "interruptions",
        columns: &[
            ("id", Int),
            ("run_id", Text),
            ("seq", Int),
            ("kind", Text),
            ("details", Text),
            ("recorded_at", Real),
        ],
        immutable: true,
        run_column: Some("run_id"),
    },
    Table {
        name: "results",
        columns: &[("run_id", Text), ("name", Text), ("value", Text)],
        immutable: true,
        run_column: Some("run_id"),
    },
    Table {
        name: "run_stops",
        columns: &[
            ("run_id", Text),
            ("status", Text),
            ("reason", Text),
            ("stopped_at", Real),
        ],
        immutable: true,
        run_column: Some("run_id"),
    },
    Table {
        name: "reference_certificates",
        columns: &[
            ("certificate", Text),
            ("reference_id", Text),
            ("record", Text),
            ("sha256", Text),
            ("first_seen", Real),
        ],
        immutable: true,
        run_column: None,
    },
    Table {
        name: "run_references",
        columns: &[
            ("run_id", Text),
            ("reference_id", Text),
            ("certificate", Text),
        ],
        immutable: true,
        run_column: Some("run_id"),
    },
    Table {
        name: "reports",
        columns: &[
            ("id", Int),
            ("number", Text),
            ("run_id", Text),
            ("revision", Int),
            ("previous", Text),
            ("issued_at", Real),
            ("issued_by", Text),
            ("metadata", Text),
            ("files", Text),
        ],
        immutable: true,
        run_column: Some("run_id"),
    },
    Table {
        name: "audit",
        columns: &[
            ("id", Int),
            ("recorded_at", Real),
            ("actor", Text),
            ("action", Text),
            ("details", Text),
            ("prev_hash", Text),
            ("hash", Text),
        ],
        immutable: true,
        run_column: None,
    },
    Table {
        name: "queue",
        columns: &[
            ("id", Int),
            ("position", Int),
            ("procedure", Text),
            ("sets", Text),
            ("answers", Text),
            ("station", Text),
            ("not_before", Real),
            ("time_window", Text),
            ("added_at", Real),
            ("added_by", Text),
            ("status", Text),
            ("run_id", Text),
            ("started_wall", Real),
            ("finished_wall", Real),
        ],
        immutable: false,
        run_column: None,
    },
];

/// A value of a copied row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A real.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

/// SHA-256 of a row as the lab store holds it: the table, the station and every column,
/// each length-prefixed and typed, so that no two different rows serialise alike (the audit
/// chain's rule, applied to every immutable row). Reals by their shortest round-trip text.
pub fn row_hash(table: &str, station: &str, cells: &[Cell]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut put = |tag: &str, bytes: &[u8]| {
        h.update(format!("{tag}{}:", bytes.len()).as_bytes());
        h.update(bytes);
    };
    put("t", table.as_bytes());
    put("s", station.as_bytes());
    for c in cells {
        match c {
            Cell::Null => put("n", b""),
            Cell::Int(v) => put("i", v.to_string().as_bytes()),
            Cell::Real(v) => put("r", format!("{v:?}").as_bytes()),
            Cell::Text(v) => put("x", v.as_bytes()),
            Cell::Blob(v) => put("b", v),
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::scratch;

    /// The description matches the station database's schema column by column, so a
    /// migration that adds a column to a copied table fails here until the lab store copies it.
    #[test]
    fn every_station_table_is_described_exactly() {
        let db = scratch("lab-tables");
        let c = db.connection();
        for t in TABLES {
            let mut stmt = c
                .prepare(&format!(
                    "SELECT name, type FROM pragma_table_info('{}')",
                    t.name
                ))
                .expect("prepare");
            let got: Vec<(String, String)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows");
            let want: Vec<(String, String)> = t
                .columns
                .iter()
                .map(|(n, ty)| {
                    let sqlite = match ty {
                        Type::Text => "TEXT",
                        Type::Int => "INTEGER",
                        Type::Real => "REAL",
                        Type::Blob => "BLOB",
                    };
                    (n.to_string(), sqlite.to_string())
                })
                .collect();
            assert_eq!(got, want, "table {}", t.name);
        }
        // Every station table but the identity and SQLite's own is copied.
        let mut stmt = c
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .expect("prepare");
        let names: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        for n in names {
            assert!(
                n == "station_identity" || TABLES.iter().any(|t| t.name == n),
                "table {n} is not copied to the lab store"
            );
        }
    }

    #[test]
    fn row_hashes_tell_every_field_apart() {
        let a = row_hash(
            "raw",
            "s",
            &[Cell::Text("ab".into()), Cell::Text("c".into())],
        );
        let b = row_hash(
            "raw",
            "s",
            &[Cell::Text("a".into()), Cell::Text("bc".into())],
        );
        let c = row_hash("raw", "s", &[Cell::Int(1), Cell::Null]);
        let d = row_hash("raw", "s", &[Cell::Real(1.0), Cell::Null]);
        let e = row_hash("raw", "t", &[Cell::Int(1), Cell::Null]);
        let all = [a, b, c, d, e];
        for i in 0..all.len() {
            for j in i + 1..all.len() {
                assert_ne!(all[i], all[j], "{i} {j}");
            }
        }
    }
}
