//! Services both operator interfaces share — the command line and the console call these, so
//! a run starts, a dry run checks and a draft is written the same way from either:
//! - [`run`]: build the bench a run needs (real instruments, or a simulated station started
//!   here — the engine never starts a simulator), start or resume the run on it;
//! - [`run::dry_run`]: check a procedure, its parameters and the station's roles without
//!   touching an instrument;
//! - [`reports`]: issue a report (numbered, signed, recorded) or write a draft;
//! - [`queue`]: run the overnight queue.

pub mod lab_export;
pub mod queue;
pub mod reports;
pub mod run;

/// Errors of the application services.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The engine refused or failed.
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    /// The procedure, its parameters or the station are not usable as given.
    #[error("{0}")]
    Invalid(String),
    /// The simulated station or the instruments could not be started.
    #[error("station: {0}")]
    Station(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A report could not be built.
    #[error(transparent)]
    Report(#[from] crate::report::model::ReportError),
}
