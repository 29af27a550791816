//! The procedure engine: Rhai procedures, the host API they call, and the journal recorder
//! that makes runs crash-proof.
//!
//! Every host call of a procedure that touches an instrument, the operator, the clock or
//! randomness is an *activity*, numbered in call order and committed to the database with
//! its result (and raw data) *before* the procedure sees the result. Resuming a run re-runs
//! the procedure from the top: journaled activities return their stored results without
//! touching anything, and execution goes live at the first activity the journal does not
//! hold (DESIGN.md, Key decisions).

pub mod events;
pub mod host;
pub mod journal;
pub mod procedure;
pub mod queue;
pub mod run;
pub mod verify;

/// Errors of the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The station could not be connected or started.
    #[error("station: {0}")]
    Station(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The run cannot be resumed.
    #[error("run {run}: cannot resume: {problem}")]
    CannotResume {
        /// Run id.
        run: String,
        /// Why, and what to do.
        problem: String,
    },
    /// On resume, the procedure asked for something else than the journal holds at this
    /// position: it is not the procedure that made the journal.
    #[error(
        "run {run}: activity {seq} diverges from the journal: the journal holds `{journaled}`, the procedure now asks for `{requested}`"
    )]
    Diverged {
        /// Run id.
        run: String,
        /// Activity number.
        seq: i64,
        /// What the journal holds.
        journaled: String,
        /// What the procedure asked for.
        requested: String,
    },
    /// An activity failed (live now, or when it was journaled).
    #[error("activity {seq} `{kind}` failed: {message}")]
    ActivityFailed {
        /// Activity number.
        seq: i64,
        /// The activity kind (`sweep`, `read_temperatures`, …).
        kind: String,
        /// The failure as journaled.
        message: String,
    },
}
