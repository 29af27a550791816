//! Curve files: CSV (always) and Parquet (with the `parquet` feature), single or long format
//! (`curve_id`). Every error names the file, and the line where there is one.

use std::path::Path;

use crate::analysis::AnalysisError;
use crate::analysis::curve::{IvData, NamedCurve, parse_csv_bytes};

use super::StoreError;

/// Read every curve of a CSV or Parquet curve file.
pub fn read_curves(path: &Path) -> Result<Vec<NamedCurve>, StoreError> {
    let file = path.display().to_string();
    let is_parquet = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    let curves = if is_parquet {
        super::table::read_parquet_curves(path)?
    } else {
        let bytes = std::fs::read(path).map_err(|e| StoreError::Read {
            file: file.clone(),
            source: e,
        })?;
        parse_csv_bytes(&bytes).map_err(|e| StoreError::Curve {
            file: file.clone(),
            source: e,
        })?
    };
    Ok(curves)
}

/// Read a file that must hold exactly one curve.
pub fn read_single_curve(path: &Path) -> Result<IvData, StoreError> {
    let mut curves = read_curves(path)?;
    match curves.len() {
        1 => Ok(curves.remove(0).data),
        n => Err(StoreError::Curve {
            file: path.display().to_string(),
            source: AnalysisError::Invalid(format!(
                "the file holds {n} curves (curve_id); give a file with one curve"
            )),
        }),
    }
}

/// Write a curve as CSV (`voltage,current` plus the condition columns present).
pub fn write_curve_csv(path: &Path, data: &IvData) -> Result<(), StoreError> {
    let mut text = String::from("voltage,current");
    if data.irradiance.is_some() {
        text.push_str(",irradiance");
    }
    if data.temperature.is_some() {
        text.push_str(",temperature");
    }
    text.push('\n');
    for k in 0..data.len() {
        text.push_str(&format!("{},{}", data.voltage[k], data.current[k]));
        if let Some(g) = &data.irradiance {
            text.push_str(&format!(",{}", g[k]));
        }
        if let Some(t) = &data.temperature {
            text.push_str(&format!(",{}", t[k]));
        }
        text.push('\n');
    }
    super::write_atomically(path, text.as_bytes())
}
