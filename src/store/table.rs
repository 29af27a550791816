//! Tables through polars (feature `parquet`, on by default): long-format curve tables in CSV
//! or Parquet (`curve_id`, `voltage`, `current`, optional `irradiance`, `temperature`), and
//! result tables written as Parquet.

use std::path::Path;

use crate::analysis::curve::{IvData, NamedCurve};

use super::StoreError;

/// One row of a batch result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchRow {
    /// The curve's id.
    pub curve_id: String,
    /// Points in the curve.
    pub points: usize,
    /// Mean irradiance [W/m²].
    pub irradiance: Option<f64>,
    /// Mean temperature [°C].
    pub temperature: Option<f64>,
    /// i_sc, v_oc, i_mp, v_mp, p_mp, ff (None when the curve failed).
    pub values: Option<[f64; 6]>,
    /// Why the curve failed.
    pub error: Option<String>,
}

#[cfg(feature = "parquet")]
mod imp {
    use std::collections::HashMap;

    use polars::prelude::*;

    use super::*;

    fn table_error(path: &Path, e: impl std::fmt::Display) -> StoreError {
        StoreError::Table {
            file: path.display().to_string(),
            problem: e.to_string(),
        }
    }

    /// Read a CSV or Parquet table.
    pub fn read_table(path: &Path) -> Result<DataFrame, StoreError> {
        if !path.exists() {
            return Err(StoreError::Read {
                file: path.display().to_string(),
                source: std::io::ErrorKind::NotFound.into(),
            });
        }
        let is_parquet = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
        if is_parquet {
            let file = std::fs::File::open(path).map_err(|e| StoreError::Read {
                file: path.display().to_string(),
                source: e,
            })?;
            ParquetReader::new(file)
                .finish()
                .map_err(|e| table_error(path, e))
        } else {
            CsvReadOptions::default()
                .with_has_header(true)
                .try_into_reader_with_file_path(Some(path.to_path_buf()))
                .and_then(|r| r.finish())
                .map_err(|e| table_error(path, e))
        }
    }

    fn f64_column(df: &DataFrame, path: &Path, name: &str) -> Result<Option<Vec<f64>>, StoreError> {
        let Ok(column) = df.column(name) else {
            return Ok(None);
        };
        let cast = column
            .cast(&DataType::Float64)
            .map_err(|e| table_error(path, format!("column `{name}`: {e}")))?;
        let values = cast.f64().map_err(|e| table_error(path, e))?;
        if let Some(row) = values.iter().position(|v| v.is_none()) {
            return Err(table_error(
                path,
                format!("row {}: `{name}` is missing or not a number", row + 1),
            ));
        }
        Ok(Some(values.into_no_null_iter().collect()))
    }

    /// Split a long table into curves (by `curve_id` in order of first appearance; one curve
    /// when there is no `curve_id` column).
    pub fn table_curves(df: &DataFrame, path: &Path) -> Result<Vec<NamedCurve>, StoreError> {
        let missing = |c: &str| {
            table_error(
                path,
                format!("missing column `{c}`; a curve table needs `voltage` and `current`"),
            )
        };
        let v = f64_column(df, path, "voltage")?.ok_or_else(|| missing("voltage"))?;
        let i = f64_column(df, path, "current")?.ok_or_else(|| missing("current"))?;
        let g = f64_column(df, path, "irradiance")?;
        let t = f64_column(df, path, "temperature")?;
        let ids: Option<Vec<String>> = match df.column("curve_id") {
            Ok(c) => {
                let s = c
                    .cast(&DataType::String)
                    .map_err(|e| table_error(path, e))?;
                let s = s.str().map_err(|e| table_error(path, e))?;
                Some(s.iter().map(|x| x.unwrap_or("").to_string()).collect())
            }
            Err(_) => None,
        };
        let mut curves: Vec<NamedCurve> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut last: Option<(String, usize)> = None;
        for row in 0..v.len() {
            let id = ids.as_ref().map(|ids| ids[row].as_str()).unwrap_or("");
            // Fast path: consecutive rows of the same curve.
            let slot = match &last {
                Some((prev, slot)) if prev == id => *slot,
                _ => {
                    let slot = *index.entry(id.to_string()).or_insert_with(|| {
                        curves.push(NamedCurve {
                            id: id.to_string(),
                            data: IvData {
                                irradiance: g.as_ref().map(|_| Vec::new()),
                                temperature: t.as_ref().map(|_| Vec::new()),
                                ..IvData::default()
                            },
                        });
                        curves.len() - 1
                    });
                    last = Some((id.to_string(), slot));
                    slot
                }
            };
            let d = &mut curves[slot].data;
            d.voltage.push(v[row]);
            d.current.push(i[row]);
            if let (Some(col), Some(g)) = (d.irradiance.as_mut(), &g) {
                col.push(g[row]);
            }
            if let (Some(col), Some(t)) = (d.temperature.as_mut(), &t) {
                col.push(t[row]);
            }
        }
        Ok(curves)
    }

    /// Read curves from a Parquet file.
    pub fn read_parquet_curves(path: &Path) -> Result<Vec<NamedCurve>, StoreError> {
        let df = read_table(path)?;
        table_curves(&df, path)
    }

    /// Write batch results as Parquet.
    pub fn write_batch_parquet(path: &Path, rows: &[BatchRow]) -> Result<(), StoreError> {
        let col = |k: usize| {
            rows.iter()
                .map(|r| r.values.map(|v| v[k]))
                .collect::<Vec<Option<f64>>>()
        };
        let mut df = df!(
            "curve_id" => rows.iter().map(|r| r.curve_id.clone()).collect::<Vec<String>>(),
            "points" => rows.iter().map(|r| r.points as u64).collect::<Vec<u64>>(),
            "irradiance" => rows.iter().map(|r| r.irradiance).collect::<Vec<Option<f64>>>(),
            "temperature" => rows.iter().map(|r| r.temperature).collect::<Vec<Option<f64>>>(),
            "i_sc" => col(0),
            "v_oc" => col(1),
            "i_mp" => col(2),
            "v_mp" => col(3),
            "p_mp" => col(4),
            "ff" => col(5),
            "error" => rows.iter().map(|r| r.error.clone()).collect::<Vec<Option<String>>>(),
        )
        .map_err(|e| table_error(path, e))?;
        let tmp = path.with_extension("parquet.tmp");
        let file = std::fs::File::create(&tmp).map_err(|e| StoreError::Write {
            file: tmp.display().to_string(),
            source: e,
        })?;
        ParquetWriter::new(file)
            .finish(&mut df)
            .map_err(|e| table_error(path, e))?;
        std::fs::rename(&tmp, path).map_err(|e| StoreError::Write {
            file: path.display().to_string(),
            source: e,
        })
    }

    /// Read back a batch result (tests, tools).
    pub fn read_batch_parquet(path: &Path) -> Result<Vec<BatchRow>, StoreError> {
        let df = read_table(path)?;
        let ids = df
            .column("curve_id")
            .and_then(|c| c.cast(&DataType::String))
            .map_err(|e| table_error(path, e))?;
        let ids = ids.str().map_err(|e| table_error(path, e))?;
        let get = |name: &str| -> Result<Vec<Option<f64>>, StoreError> {
            let c = df
                .column(name)
                .and_then(|c| c.cast(&DataType::Float64))
                .map_err(|e| table_error(path, e))?;
            Ok(c.f64().map_err(|e| table_error(path, e))?.iter().collect())
        };
        let cols: Vec<Vec<Option<f64>>> = ["i_sc", "v_oc", "i_mp", "v_mp", "p_mp", "ff"]
            .iter()
            .map(|n| get(n))
            .collect::<Result<_, _>>()?;
        let (g, t) = (get("irradiance")?, get("temperature")?);
        let points = get("points")?;
        let errors = df
            .column("error")
            .and_then(|c| c.cast(&DataType::String))
            .map_err(|e| table_error(path, e))?;
        let errors = errors.str().map_err(|e| table_error(path, e))?;
        Ok((0..df.height())
            .map(|r| BatchRow {
                curve_id: ids.get(r).unwrap_or("").to_string(),
                points: points[r].unwrap_or(0.0) as usize,
                irradiance: g[r],
                temperature: t[r],
                values: (0..6)
                    .map(|k| cols[k][r])
                    .collect::<Option<Vec<f64>>>()
                    .map(|v| [v[0], v[1], v[2], v[3], v[4], v[5]]),
                error: errors.get(r).map(str::to_string),
            })
            .collect())
    }
}

#[cfg(feature = "parquet")]
pub use imp::{
    read_batch_parquet, read_parquet_curves, read_table, table_curves, write_batch_parquet,
};

#[cfg(not(feature = "parquet"))]
fn not_built(path: &Path) -> StoreError {
    StoreError::Table {
        file: path.display().to_string(),
        problem:
            "this pvstation was built without the `parquet` feature; rebuild with default features"
                .into(),
    }
}

/// Read curves from a Parquet file (needs the `parquet` feature).
#[cfg(not(feature = "parquet"))]
pub fn read_parquet_curves(path: &Path) -> Result<Vec<NamedCurve>, StoreError> {
    Err(not_built(path))
}

/// Write batch results (needs the `parquet` feature).
#[cfg(not(feature = "parquet"))]
pub fn write_batch_parquet(path: &Path, _rows: &[BatchRow]) -> Result<(), StoreError> {
    Err(not_built(path))
}
