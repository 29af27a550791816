//! Batch analysis of many curves: a long-format table in, one result row per curve out
//! (Parquet). Curves are analysed in parallel on the current rayon pool; a curve that fails
//! gets its error in the `error` column and the batch goes on.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rayon::prelude::*;

use crate::analysis::curve::IvData;
use crate::analysis::extract::{ExtractOptions, Workspace, extract_in};
use crate::analysis::iec60891::{Conditions, Method, translate};

use super::StoreError;
use super::curves::read_curves;
use super::table::{BatchRow, write_batch_parquet};

/// What a batch did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchSummary {
    /// Curves read.
    pub curves: usize,
    /// Curves that failed.
    pub failed: usize,
    /// Wall time [s].
    pub seconds: f64,
    /// Reading the input [s].
    pub read_seconds: f64,
    /// Analysing the curves [s].
    pub analyse_seconds: f64,
    /// Writing the output [s].
    pub write_seconds: f64,
}

/// Analyse one curve: sign normalisation, validation, optional translation, extraction.
pub fn analyse(
    id: String,
    mut data: IvData,
    method: Option<&Method>,
    to: Option<Conditions>,
    ws: &mut Workspace,
) -> BatchRow {
    let mut row = BatchRow {
        curve_id: id,
        points: data.len(),
        irradiance: data.mean_irradiance(),
        temperature: data.mean_temperature(),
        ..BatchRow::default()
    };
    data.normalise_sign();
    let options = ExtractOptions::default();
    let result = data.validate().and_then(|()| match (method, to) {
        (Some(m), Some(to)) => {
            let t = translate(&data, m, None, to)?;
            extract_in(ws, &t.data.voltage, &t.data.current, &options)
        }
        _ => extract_in(ws, &data.voltage, &data.current, &options),
    });
    match result {
        Ok(p) => row.values = Some([p.i_sc, p.v_oc, p.i_mp, p.v_mp, p.p_mp, p.ff]),
        Err(e) => row.error = Some(e.to_string()),
    }
    row
}

/// Read `input`, analyse every curve in parallel, write `output`. `progress(done, total)` is
/// called as curves complete.
pub fn run_batch(
    input: &Path,
    output: &Path,
    method: Option<&Method>,
    to: Option<Conditions>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<BatchSummary, StoreError> {
    let started = Instant::now();
    let curves = read_curves(input)?;
    let read = started.elapsed().as_secs_f64();
    let total = curves.len() as u64;
    let done = AtomicU64::new(0);
    let rows: Vec<BatchRow> = curves
        .into_par_iter()
        .map_init(Workspace::default, |ws, c| {
            let row = analyse(c.id, c.data, method, to, ws);
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_multiple_of(1024) || n == total {
                progress(n, total);
            }
            row
        })
        .collect();
    let analysed = started.elapsed().as_secs_f64();
    write_batch_parquet(output, &rows)?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(BatchSummary {
        curves: rows.len(),
        failed: rows.iter().filter(|r| r.error.is_some()).count(),
        seconds,
        read_seconds: read,
        analyse_seconds: analysed - read,
        write_seconds: seconds - analysed,
    })
}
