//! Tables through polars (feature `parquet`, on by default): long-format curve tables in CSV
//! or Parquet (`curve_id`, `voltage`, `current`, optional `irradiance`, `temperature`), and
//! result tables written as Parquet.

use std::path::Path;

use crate::analysis::curve::NamedCurve;

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

/// A column of a generic table (the lab store's export datasets).
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Text.
    Text(Vec<String>),
    /// Text or null.
    OptText(Vec<Option<String>>),
    /// 64-bit integers.
    Int(Vec<i64>),
    /// Reals or null.
    OptReal(Vec<Option<f64>>),
}

#[cfg(feature = "parquet")]
mod imp {
    use std::collections::HashMap;

    use polars::prelude::*;

    use super::*;
    use crate::store::export::{Format, PointRow};

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

    fn f64_column(
        df: &DataFrame,
        path: &Path,
        name: &str,
    ) -> Result<Option<Float64Chunked>, StoreError> {
        let Ok(column) = df.column(name) else {
            return Ok(None);
        };
        let cast = column
            .cast(&DataType::Float64)
            .map_err(|e| table_error(path, format!("column `{name}`: {e}")))?;
        let values = cast
            .f64()
            .map_err(|e| table_error(path, e))?
            .rechunk()
            .into_owned();
        if values.null_count() > 0 {
            let row = values.iter().position(|v| v.is_none()).unwrap_or(0);
            return Err(table_error(
                path,
                format!("row {}: `{name}` is missing or not a number", row + 1),
            ));
        }
        Ok(Some(values))
    }

    fn slice<'a>(c: &'a Float64Chunked, path: &Path) -> Result<&'a [f64], StoreError> {
        c.cont_slice().map_err(|e| table_error(path, e))
    }

    /// Rows where a new run of equal `curve_id` starts, and each run's id. Integer ids are
    /// compared as integers and string ids as borrowed strings: no allocation per row.
    fn runs(df: &DataFrame, path: &Path, rows: usize) -> Result<Vec<(usize, String)>, StoreError> {
        let Ok(column) = df.column("curve_id") else {
            return Ok(vec![(0, String::new())]);
        };
        let mut out = Vec::new();
        if column.dtype().is_integer() {
            let ids = column
                .cast(&DataType::Int64)
                .map_err(|e| table_error(path, e))?;
            let ids = ids.i64().map_err(|e| table_error(path, e))?;
            let mut last = None;
            for (row, id) in ids.iter().enumerate() {
                if row == 0 || id != last {
                    out.push((row, id.map(|v| v.to_string()).unwrap_or_default()));
                    last = id;
                }
            }
        } else {
            let ids = column
                .cast(&DataType::String)
                .map_err(|e| table_error(path, e))?;
            let ids = ids.str().map_err(|e| table_error(path, e))?;
            let mut last: Option<&str> = None;
            for (row, id) in ids.iter().enumerate() {
                if row == 0 || id != last {
                    out.push((row, id.unwrap_or("").to_string()));
                    last = id;
                }
            }
        }
        if rows == 0 {
            out.clear();
        }
        Ok(out)
    }

    /// Split a long table into curves (by `curve_id` in order of first appearance; one curve
    /// when there is no `curve_id` column). Rows of one curve need not be contiguous, but
    /// contiguous runs (the usual layout) are copied as whole slices.
    fn table_curves(df: &DataFrame, path: &Path) -> Result<Vec<NamedCurve>, StoreError> {
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
        let (v, i) = (slice(&v, path)?, slice(&i, path)?);
        let g = g.as_ref().map(|c| slice(c, path)).transpose()?;
        let t = t.as_ref().map(|c| slice(c, path)).transpose()?;
        let rows = v.len();
        let starts = runs(df, path, rows)?;
        let mut curves: Vec<NamedCurve> = Vec::with_capacity(starts.len());
        let mut index: HashMap<String, usize> = HashMap::with_capacity(starts.len());
        for (k, (start, id)) in starts.iter().enumerate() {
            let end = starts.get(k + 1).map(|s| s.0).unwrap_or(rows);
            let slot = match index.get(id) {
                Some(slot) => *slot,
                None => {
                    index.insert(id.clone(), curves.len());
                    curves.push(NamedCurve {
                        id: id.clone(),
                        data: crate::analysis::curve::IvData {
                            irradiance: g.map(|_| Vec::with_capacity(end - start)),
                            temperature: t.map(|_| Vec::with_capacity(end - start)),
                            voltage: Vec::with_capacity(end - start),
                            current: Vec::with_capacity(end - start),
                            time: None,
                        },
                    });
                    curves.len() - 1
                }
            };
            let d = &mut curves[slot].data;
            d.voltage.extend_from_slice(&v[*start..end]);
            d.current.extend_from_slice(&i[*start..end]);
            if let (Some(col), Some(g)) = (d.irradiance.as_mut(), g) {
                col.extend_from_slice(&g[*start..end]);
            }
            if let (Some(col), Some(t)) = (d.temperature.as_mut(), t) {
                col.extend_from_slice(&t[*start..end]);
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
        let mut out = crate::store::AtomicFile::create(path)?;
        ParquetWriter::new(out.file())
            .finish(&mut df)
            .map_err(|e| table_error(path, e))?;
        out.commit()
    }

    /// Write exported run points as Parquet or CSV.
    pub fn write_point_table(
        path: &Path,
        rows: &[PointRow],
        format: Format,
    ) -> Result<(), StoreError> {
        let mut df = df!(
            "run_id" => rows.iter().map(|r| r.run_id.clone()).collect::<Vec<String>>(),
            "activity_seq" => rows.iter().map(|r| r.activity_seq).collect::<Vec<i64>>(),
            "raw_id" => rows.iter().map(|r| r.raw_id).collect::<Vec<i64>>(),
            "raw_sha256" => rows.iter().map(|r| r.raw_sha256.clone()).collect::<Vec<String>>(),
            "curve" => rows.iter().map(|r| r.curve).collect::<Vec<u32>>(),
            "direction" => rows.iter().map(|r| r.direction.clone()).collect::<Vec<String>>(),
            "start_time" => rows.iter().map(|r| r.start_time).collect::<Vec<f64>>(),
            "point" => rows.iter().map(|r| r.point).collect::<Vec<u32>>(),
            "voltage" => rows.iter().map(|r| r.voltage).collect::<Vec<Option<f64>>>(),
            "current" => rows.iter().map(|r| r.current).collect::<Vec<Option<f64>>>(),
            "time" => rows.iter().map(|r| r.time).collect::<Vec<Option<f64>>>(),
        )
        .map_err(|e| table_error(path, e))?;
        let mut out = crate::store::AtomicFile::create(path)?;
        match format {
            Format::Parquet => ParquetWriter::new(out.file())
                .finish(&mut df)
                .map(|_| ())
                .map_err(|e| table_error(path, e))?,
            Format::Csv => CsvWriter::new(out.file())
                .include_header(true)
                .finish(&mut df)
                .map_err(|e| table_error(path, e))?,
        }
        out.commit()
    }

    /// Write named columns of equal length as a Parquet file, atomically.
    pub fn write_parquet_columns(
        path: &Path,
        columns: Vec<(&str, super::Values)>,
    ) -> Result<(), StoreError> {
        let columns: Vec<Column> = columns
            .into_iter()
            .map(|(name, values)| {
                let name: PlSmallStr = name.into();
                match values {
                    super::Values::Text(v) => Column::new(name, v),
                    super::Values::OptText(v) => Column::new(name, v),
                    super::Values::Int(v) => Column::new(name, v),
                    super::Values::OptReal(v) => Column::new(name, v),
                }
            })
            .collect();
        let height = columns.first().map_or(0, Column::len);
        let mut df = DataFrame::new(height, columns).map_err(|e| table_error(path, e))?;
        let mut out = crate::store::AtomicFile::create(path)?;
        ParquetWriter::new(out.file())
            .finish(&mut df)
            .map_err(|e| table_error(path, e))?;
        out.commit()
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
    read_batch_parquet, read_parquet_curves, read_table, write_batch_parquet,
    write_parquet_columns, write_point_table,
};

/// Write named columns as Parquet (needs the `parquet` feature).
#[cfg(not(feature = "parquet"))]
pub fn write_parquet_columns(path: &Path, _columns: Vec<(&str, Values)>) -> Result<(), StoreError> {
    Err(not_built(path))
}

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

/// Write exported run points (needs the `parquet` feature).
#[cfg(not(feature = "parquet"))]
pub fn write_point_table(
    path: &Path,
    _rows: &[super::export::PointRow],
    _format: super::export::Format,
) -> Result<(), StoreError> {
    Err(not_built(path))
}

/// Write batch results (needs the `parquet` feature).
#[cfg(not(feature = "parquet"))]
pub fn write_batch_parquet(path: &Path, _rows: &[BatchRow]) -> Result<(), StoreError> {
    Err(not_built(path))
}
