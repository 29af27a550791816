//! I-V curve data: parsing from curve-file text, validation, sign normalisation to the
//! generator convention, rectification (pvlib `rectify_iv_curve` semantics), forward/reverse
//! hysteresis comparison.
//!
//! Curve-file format (DESIGN.md, a contract): CSV with a header row; columns `voltage` [V],
//! `current` [A]; optional `irradiance` [W/m²], `temperature` [°C], `time` [s], `curve_id`;
//! other columns are ignored. This module parses *text*; reading files is the caller's job.

use serde::Serialize;

use super::AnalysisError;

/// Measured I-V data with optional per-point conditions.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct IvData {
    /// Voltage [V].
    pub voltage: Vec<f64>,
    /// Current [A].
    pub current: Vec<f64>,
    /// Irradiance during each point [W/m²].
    pub irradiance: Option<Vec<f64>>,
    /// Device temperature during each point [°C].
    pub temperature: Option<Vec<f64>>,
    /// Time of each point [s].
    pub time: Option<Vec<f64>>,
}

/// Minimum number of points of a usable curve: three for each axis fit plus the five
/// coefficients of the maximum-power polynomial need at least this many.
pub const MIN_POINTS: usize = 8;

impl IvData {
    /// A curve from voltage and current only.
    pub fn new(voltage: Vec<f64>, current: Vec<f64>) -> Self {
        IvData {
            voltage,
            current,
            ..IvData::default()
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.voltage.len()
    }

    /// No points.
    pub fn is_empty(&self) -> bool {
        self.voltage.is_empty()
    }

    /// Mean of the irradiance column [W/m²], if present.
    pub fn mean_irradiance(&self) -> Option<f64> {
        self.irradiance.as_deref().map(mean)
    }

    /// Mean of the temperature column [°C], if present.
    pub fn mean_temperature(&self) -> Option<f64> {
        self.temperature.as_deref().map(mean)
    }

    /// Check the curve can be analysed: enough finite points, a voltage span, non-negative
    /// irradiance, and data reaching near both axes (a curve that never approaches V = 0 or
    /// I = 0 cannot give Isc or Voc without unbounded extrapolation).
    pub fn validate(&self) -> Result<(), AnalysisError> {
        let n = self.voltage.len();
        if n == 0 {
            return Err(AnalysisError::Empty);
        }
        if self.current.len() != n {
            return Err(AnalysisError::Invalid(format!(
                "{n} voltages but {} currents",
                self.current.len()
            )));
        }
        for (name, column) in [
            ("voltage", Some(&self.voltage)),
            ("current", Some(&self.current)),
            ("irradiance", self.irradiance.as_ref()),
            ("temperature", self.temperature.as_ref()),
        ] {
            if let Some(k) = column.and_then(|c| c.iter().position(|v| !v.is_finite())) {
                return Err(AnalysisError::NotFinite {
                    column: name,
                    index: k,
                });
            }
        }
        if let Some(g) = &self.irradiance
            && let Some(k) = g.iter().position(|v| *v < 0.0)
        {
            return Err(AnalysisError::NegativeIrradiance {
                index: k,
                value: g[k],
            });
        }
        if n < MIN_POINTS {
            return Err(AnalysisError::TooFewPoints {
                points: n,
                needed: MIN_POINTS,
            });
        }
        let (vmin, vmax) = range(&self.voltage);
        if vmax - vmin <= 0.0 {
            return Err(AnalysisError::Invalid(
                "all points have the same voltage; a curve needs a voltage span".into(),
            ));
        }
        let imax = self
            .current
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        if imax <= 0.0 {
            return Err(AnalysisError::Invalid(
                "no point delivers power (current ≤ 0 everywhere); check the sign convention and the connection".into(),
            ));
        }
        // Isc: the sweep must start within 20 % of the voltage span from V = 0.
        let v_nearest_zero = self
            .voltage
            .iter()
            .map(|v| v.abs())
            .fold(f64::INFINITY, f64::min);
        if v_nearest_zero > 0.2 * vmax.abs().max(vmin.abs()) {
            return Err(AnalysisError::NeverReachesIsc {
                nearest_voltage: v_nearest_zero,
            });
        }
        // Voc: some point must come within 20 % of the largest current from I = 0.
        let i_nearest_zero = self
            .current
            .iter()
            .map(|i| i.abs())
            .fold(f64::INFINITY, f64::min);
        if i_nearest_zero > 0.2 * imax {
            return Err(AnalysisError::NeverReachesVoc {
                nearest_current: i_nearest_zero,
            });
        }
        Ok(())
    }

    /// Flip the current to the generator convention if the data are in the load convention
    /// (an SMU sinking a PV generator's current reads it negative). Decided by the sign of the
    /// current at the point nearest V = 0, i.e. of Isc: the largest |V·I| is no guide, since
    /// beyond Voc a conducting diode can draw more power than the module delivers at its
    /// maximum. Returns whether the current was flipped.
    pub fn normalise_sign(&mut self) -> bool {
        let nearest = self
            .voltage
            .iter()
            .zip(&self.current)
            .filter(|(v, i)| v.is_finite() && i.is_finite())
            .min_by(|a, b| a.0.abs().total_cmp(&b.0.abs()));
        if nearest.is_some_and(|(_, i)| *i < 0.0) {
            for i in &mut self.current {
                *i = -*i;
            }
            true
        } else {
            false
        }
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn range(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(*x), hi.max(*x))
        })
}

/// pvlib `ivtools.utils.rectify_iv_curve` (0.16.1) semantics: drop non-finite points and
/// points with negative voltage or current (first quadrant only), sort by voltage (then
/// current descending), and replace points with equal voltage by one point with their mean
/// current. Writes into the given buffers (cleared first) to avoid allocation in batches.
pub fn rectify_into(voltage: &[f64], current: &[f64], v_out: &mut Vec<f64>, i_out: &mut Vec<f64>) {
    v_out.clear();
    i_out.clear();
    // Fast path: the usual sweep, strictly ascending in voltage, whose first-quadrant points
    // form one contiguous run (the fourth quadrant beyond Voc, or a start slightly below 0 V,
    // only trims the ends): copy that run as two slices.
    let valid = |k: usize| {
        let (v, i) = (voltage[k], current[k]);
        v.is_finite() && i.is_finite() && v >= 0.0 && i >= 0.0
    };
    let n = voltage.len().min(current.len());
    let first = (0..n).find(|&k| valid(k)).unwrap_or(n);
    let mut end = first;
    while end < n && valid(end) && (end == first || voltage[end] > voltage[end - 1]) {
        end += 1;
    }
    if (end..n).all(|k| !valid(k)) {
        v_out.extend_from_slice(&voltage[first..end]);
        i_out.extend_from_slice(&current[first..end]);
        return;
    }
    let mut pairs: Vec<(f64, f64)> = voltage
        .iter()
        .zip(current)
        .filter(|(v, i)| v.is_finite() && i.is_finite() && **v >= 0.0 && **i >= 0.0)
        .map(|(v, i)| (*v, *i))
        .collect();
    if !pairs.windows(2).all(|w| w[0].0 < w[1].0) {
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    }
    let mut k = 0;
    while k < pairs.len() {
        let v = pairs[k].0;
        let mut sum = 0.0;
        let mut count = 0usize;
        while k < pairs.len() && pairs[k].0 == v {
            sum += pairs[k].1;
            count += 1;
            k += 1;
        }
        v_out.push(v);
        i_out.push(sum / count as f64);
    }
}

/// [`rectify_into`] returning new vectors.
pub fn rectify(voltage: &[f64], current: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let (mut v, mut i) = (
        Vec::with_capacity(voltage.len()),
        Vec::with_capacity(current.len()),
    );
    rectify_into(voltage, current, &mut v, &mut i);
    (v, i)
}

/// Forward/reverse sweep comparison (capacitive devices show hysteresis; IEC 60904-1 Annex B,
/// Fraunhofer ISE CalLab practice of forward + reverse sweeps, standards.md §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Hysteresis {
    /// Pmax of the forward sweep [W].
    pub p_mp_forward: f64,
    /// Pmax of the reverse sweep [W].
    pub p_mp_reverse: f64,
    /// (forward − reverse)/mean [1].
    pub p_mp_relative_difference: f64,
    /// Largest current difference at common voltages, relative to Isc [1].
    pub max_current_difference: f64,
}

/// Compare a forward and a reverse sweep of the same device.
pub fn hysteresis(forward: &IvData, reverse: &IvData) -> Result<Hysteresis, AnalysisError> {
    let f = super::extract::extract(forward)?;
    let r = super::extract::extract(reverse)?;
    let (rv, ri) = rectify(&reverse.voltage, &reverse.current);
    let mut max_diff: f64 = 0.0;
    for (v, i) in forward.voltage.iter().zip(&forward.current) {
        if *v < 0.0 || rv.is_empty() || *v < rv[0] || *v > rv[rv.len() - 1] {
            continue;
        }
        let j = rv.partition_point(|x| x < v).min(rv.len() - 1).max(1);
        let (v0, v1, i0, i1) = (rv[j - 1], rv[j], ri[j - 1], ri[j]);
        let interp = if v1 > v0 {
            i0 + (i1 - i0) * (v - v0) / (v1 - v0)
        } else {
            i0
        };
        max_diff = max_diff.max((i - interp).abs());
    }
    let mean = 0.5 * (f.p_mp + r.p_mp);
    Ok(Hysteresis {
        p_mp_forward: f.p_mp,
        p_mp_reverse: r.p_mp,
        p_mp_relative_difference: (f.p_mp - r.p_mp) / mean,
        max_current_difference: max_diff / f.i_sc.max(f64::MIN_POSITIVE),
    })
}

/// A curve from a file, with its id in a long-format file.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedCurve {
    /// `curve_id` value, or empty for a single-curve file.
    pub id: String,
    /// The data.
    pub data: IvData,
}

/// Parse curve-file CSV text. Errors carry the 1-based line number where there is one.
/// Several curves come back when a `curve_id` column is present (in order of first
/// appearance).
pub fn parse_csv(text: &str) -> Result<Vec<NamedCurve>, AnalysisError> {
    parse_csv_bytes(text.as_bytes())
}

/// Longest piece of a bad value shown in a message (a 10 MB field is not echoed back).
const SHOWN: usize = 40;

/// `text` for a message: at most [`SHOWN`] characters, marked when cut.
pub fn shown(text: &str) -> String {
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()),
        None => text.to_string(),
    }
}

/// Parse curve-file CSV bytes (RFC 4180: quoted fields may hold commas; a UTF-8 byte-order
/// mark, as Excel's "CSV UTF-8" writes, is skipped; blank lines are ignored). Values are read
/// as numbers with a decimal point; a field such as `"4,97"` (decimal comma) is an error
/// naming its line, never silently misread.
pub fn parse_csv_bytes(bytes: &[u8]) -> Result<Vec<NamedCurve>, AnalysisError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let at = |line: u64, problem: String| AnalysisError::AtLine {
        line: line as usize,
        problem,
    };
    let read = |r: Option<Result<csv::ByteRecord, csv::Error>>| -> Result<Option<(u64, Vec<String>)>, AnalysisError> {
        let Some(r) = r else { return Ok(None) };
        let record = r.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            at(line, format!("not valid CSV: {}", csv_problem(&e)))
        })?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let fields = record
            .iter()
            .map(|f| {
                std::str::from_utf8(f).map(str::to_string).map_err(|_| {
                    at(line, "not UTF-8 text; save the file as UTF-8 (or ASCII)".into())
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some((line, fields)))
    };
    // The header: the first record that is not blank.
    let header = loop {
        match read(records.next())? {
            None => return Err(AnalysisError::Empty),
            Some((_, f)) if f.iter().all(String::is_empty) => continue,
            Some((_, f)) => break f,
        }
    };
    let names: Vec<String> = header.iter().map(|h| h.to_ascii_lowercase()).collect();
    let column = |name: &str| names.iter().position(|n| n == name);
    let missing = |name: &str| AnalysisError::MissingColumn {
        column: name.to_string(),
        header: shown(&header.join(",")),
    };
    let v_col = column("voltage").ok_or_else(|| missing("voltage"))?;
    let i_col = column("current").ok_or_else(|| missing("current"))?;
    let g_col = column("irradiance");
    let t_col = column("temperature");
    let time_col = column("time");
    let id_col = column("curve_id");
    let mut curves: Vec<NamedCurve> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    while let Some((line_no, fields)) = read(records.next())? {
        if fields.iter().all(String::is_empty) {
            continue;
        }
        let value = |col: usize, name: &'static str| -> Result<f64, AnalysisError> {
            let raw = fields.get(col).map(String::as_str).unwrap_or("");
            if raw.is_empty() {
                return Err(at(line_no, format!("`{name}` is empty")));
            }
            let v: f64 = raw.parse().map_err(|_| {
                let hint = if raw.contains(',') {
                    " (a decimal comma? write numbers with a decimal point)"
                } else {
                    ""
                };
                at(
                    line_no,
                    format!("`{name}` value `{}` is not a number{hint}", shown(raw)),
                )
            })?;
            if !v.is_finite() {
                return Err(at(
                    line_no,
                    format!(
                        "`{name}` is {}; every value must be a finite number",
                        shown(raw)
                    ),
                ));
            }
            Ok(v)
        };
        let id = id_col
            .map(|c| fields.get(c).cloned().unwrap_or_default())
            .unwrap_or_default();
        let v = value(v_col, "voltage")?;
        let i = value(i_col, "current")?;
        let g = g_col.map(|c| value(c, "irradiance")).transpose()?;
        if let Some(g) = g
            && g < 0.0
        {
            return Err(at(line_no, format!("negative irradiance {g} W/m²")));
        }
        let t = t_col.map(|c| value(c, "temperature")).transpose()?;
        let time = time_col.map(|c| value(c, "time")).transpose()?;
        let slot = *index.entry(id.clone()).or_insert_with(|| {
            curves.push(NamedCurve {
                id: id.clone(),
                data: IvData {
                    irradiance: g_col.map(|_| Vec::new()),
                    temperature: t_col.map(|_| Vec::new()),
                    time: time_col.map(|_| Vec::new()),
                    ..IvData::default()
                },
            });
            curves.len() - 1
        });
        let d = &mut curves[slot].data;
        d.voltage.push(v);
        d.current.push(i);
        if let (Some(col), Some(g)) = (d.irradiance.as_mut(), g) {
            col.push(g);
        }
        if let (Some(col), Some(t)) = (d.temperature.as_mut(), t) {
            col.push(t);
        }
        if let (Some(col), Some(x)) = (d.time.as_mut(), time) {
            col.push(x);
        }
    }
    if curves.is_empty() {
        return Err(AnalysisError::Invalid(
            "the file has a header but no data rows".into(),
        ));
    }
    Ok(curves)
}

/// The CSV reader's complaint in words (its `Display` repeats the position we already give).
fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text; save the file as UTF-8".into(),
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => "a quoted field is not closed or a quote is misplaced".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rectify_matches_pvlib_semantics() {
        let (v, i) = rectify(
            &[0.3, -0.1, 0.1, 0.2, 0.2, f64::NAN, 0.4],
            &[1.0, 2.0, 3.0, 2.0, 4.0, 1.0, -0.1],
        );
        assert_eq!(v, vec![0.1, 0.2, 0.3]);
        assert_eq!(i, vec![3.0, 3.0, 1.0]);
    }

    #[test]
    fn csv_errors_carry_line_numbers() {
        let err = |text: &str| parse_csv(text).expect_err("invalid").to_string();
        assert!(err("").contains("empty"));
        assert!(err("voltage,amps\n1,2\n").contains("missing column `current`"));
        assert!(
            err("voltage,current\n0,1\n0.5,abc\n")
                .contains("line 3: `current` value `abc` is not a number")
        );
        assert!(err("voltage,current\n0,1\n0.5,NaN\n").contains("line 3: `current` is NaN"));
        assert!(
            err("voltage,current,irradiance\n0,1,800\n0.5,1,-3\n")
                .contains("line 3: negative irradiance")
        );
        let curves = parse_csv("curve_id,voltage,current,extra\na,0,1,x\nb,0,2,y\na,1,0,z\n")
            .expect("valid");
        assert_eq!(curves.len(), 2);
        assert_eq!(curves[0].data.voltage, vec![0.0, 1.0]);
    }

    /// Regression (issue 11, defect 3): `0,"5,0"` was read as current 5 with the rest dropped.
    #[test]
    fn quoted_fields_are_read_whole_never_misread() {
        let curves =
            parse_csv("voltage,current\n\"0\",\"5.0\"\n\"1.5\",\"4.5\"\n").expect("quoted");
        assert_eq!(curves[0].data.voltage, vec![0.0, 1.5]);
        assert_eq!(curves[0].data.current, vec![5.0, 4.5]);
        let err = parse_csv("voltage,current\n0,\"5,0\"\n")
            .expect_err("decimal comma")
            .to_string();
        assert!(
            err.contains("line 2: `current` value `5,0` is not a number (a decimal comma?"),
            "{err}"
        );
        let err = parse_csv("voltage,current\n0,\"5.0\n1,4\n")
            .expect_err("open quote")
            .to_string();
        assert!(
            err.contains("not a number") || err.contains("quote"),
            "{err}"
        );
    }

    /// Regression (issue 11, defect 4): Excel's "CSV UTF-8" starts with a byte-order mark.
    #[test]
    fn a_utf8_byte_order_mark_is_skipped() {
        let curves = parse_csv("\u{feff}voltage,current\n0,5\n1,4\n").expect("BOM");
        assert_eq!(curves[0].data.current, vec![5.0, 4.0]);
        let err = parse_csv_bytes(b"voltage,current\n0,5\n1,\xff4\n").expect_err("latin-1");
        assert!(err.to_string().contains("line 3: not UTF-8"), "{err}");
    }

    /// Regression (issue 11, defect 12): a huge bad value is not echoed back whole.
    #[test]
    fn bad_values_are_shown_cut() {
        let big = "x".repeat(10_000_000);
        let err = parse_csv(&format!("voltage,current\n0,{big}\n"))
            .expect_err("not a number")
            .to_string();
        assert!(err.len() < 200, "{} bytes", err.len());
        assert!(err.contains("… (10000000 bytes)"), "{err}");
    }

    #[test]
    fn sign_normalisation() {
        let mut d = IvData::new(vec![0.0, 1.0, 2.0], vec![-5.0, -4.0, 1.0]);
        assert!(d.normalise_sign());
        assert_eq!(d.current, vec![5.0, 4.0, -1.0]);
        assert!(!d.normalise_sign());
    }
}
