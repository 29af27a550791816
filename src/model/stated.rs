//! Stated results: how a number is written wherever a person reads it (certificate, HTML, DCC
//! text, console, CLI), so that every place states the same digits.
//!
//! Rules (standards.md §12.6; JCGM 100:2008 §7.2.6, ILAC-P14:09/2020 §5.4, JJF 1059.1-2012):
//! - the expanded uncertainty U has two significant digits and is rounded **up** (GUM 7.2.6
//!   allows rounding up rather than to nearest; a stated U is never smaller than the evaluated
//!   one);
//! - the value is rounded to the same decimal place as U, half to even (GB/T 8170-2008 [R]),
//!   trailing zeros kept (9.9980 V stays 9.9980 V);
//! - k has two significant digits (1.96 → "2.0").
//!
//! Rounding works on the decimal form of the binary number (15 significant digits), in integer
//! arithmetic: 0.0012 is rounded as the decimal 0.0012 it was meant to be, not as the binary
//! 0.00120000000000000002 (which "rounding up" would make 0.0013).

use serde::{Deserialize, Serialize};

/// A result as it is printed: strings exactly as they appear on the certificate. The JSON
/// report's `reported` object (a contract: `value`, `U`, `unit`, `k`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stated {
    /// The value, rounded to U's last digit.
    pub value: String,
    /// Expanded uncertainty, two significant digits, rounded up.
    #[serde(rename = "U")]
    pub expanded: String,
    /// Unit symbol of value and U (with the SI prefix chosen for the statement).
    pub unit: String,
    /// Coverage factor, two significant digits.
    pub k: String,
}

impl Stated {
    /// State `value ± expanded` [unit] with coverage factor `k`. None when U is not a positive
    /// finite number or the value is not finite.
    pub fn new(value: f64, expanded: f64, k: f64, unit: &str) -> Option<Stated> {
        Stated::scaled(value, expanded, k, unit, Prefix::None)
    }

    /// As [`Stated::new`], with value and U expressed in `prefix`·unit (values given in unit).
    pub fn scaled(value: f64, expanded: f64, k: f64, unit: &str, prefix: Prefix) -> Option<Stated> {
        if !(value.is_finite() && expanded.is_finite() && expanded > 0.0 && k.is_finite()) {
            return None;
        }
        let f = prefix.factor();
        let (u_text, decimals) = round_up_2(expanded / f)?;
        Some(Stated {
            value: fixed(value / f, decimals)?,
            expanded: u_text,
            unit: format!("{}{unit}", prefix.symbol()),
            k: significant(k, 2)?,
        })
    }

    /// `221.0 W, U = 3.3 W (k = 2.0)`.
    pub fn line(&self) -> String {
        format!(
            "{} {}, U = {} {} (k = {})",
            self.value, self.unit, self.expanded, self.unit, self.k
        )
    }
}

/// A recorded result (the JSON a procedure records: `value`, `unit`, `U`, `k`, optionally
/// `nominal`) stated: Ω, V and A with the SI prefix of the nominal value (else the value).
pub fn of_result(result: &serde_json::Value) -> Option<Stated> {
    let value = result["value"].as_f64()?;
    let unit = result["unit"].as_str().unwrap_or_default();
    let magnitude = result["nominal"].as_f64().unwrap_or(value);
    Stated::scaled(
        value,
        result["U"].as_f64()?,
        result["k"].as_f64()?,
        unit,
        Prefix::for_magnitude(unit, magnitude),
    )
}

/// How a person reads a result's name: `p_mp_stc` → "Pmax(STC)", `resistance SR-1` → "error
/// of indication, resistance SR-1"; others as recorded.
pub fn label(name: &str) -> String {
    match name {
        "p_mp_stc" => "Pmax(STC)".into(),
        "i_sc_stc" => "Isc(STC)".into(),
        "v_oc_stc" => "Voc(STC)".into(),
        "i_mp_stc" => "Impp(STC)".into(),
        "v_mp_stc" => "Vmpp(STC)".into(),
        "ff_stc" => "FF(STC)".into(),
        n if n.starts_with("resistance ") || n.starts_with("voltage ") => {
            format!("error of indication, {n}")
        }
        n => n.replace('_', " "),
    }
}

/// One line for a recorded result: "Pmax(STC) = 221.0 W, U = 3.3 W (k = 2.0)", or the value
/// as recorded when it has no uncertainty (a verdict, a diagnostic).
pub fn result_line(name: &str, result: &serde_json::Value) -> String {
    let unit = result["unit"].as_str().unwrap_or_default();
    let text = match of_result(result) {
        Some(s) => s.line(),
        None => match &result["value"] {
            serde_json::Value::String(t) => t.clone(),
            serde_json::Value::Number(n) => {
                let v = n
                    .as_f64()
                    .and_then(|x| significant(x, 4))
                    .unwrap_or_default();
                if unit.is_empty() || unit == "1" {
                    v
                } else {
                    format!("{v} {unit}")
                }
            }
            other => other.to_string(),
        },
    };
    let unit_one = text.replace(" 1,", ",").replace(" 1 (", " (");
    format!(
        "{} = {}",
        label(name),
        if unit == "1" { unit_one } else { text }
    )
}

/// An SI prefix for a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    /// µ (10⁻⁶).
    Micro,
    /// m (10⁻³).
    Milli,
    /// No prefix.
    None,
    /// k (10³).
    Kilo,
}

impl Prefix {
    /// The prefix that puts `magnitude` in 1 … 1000 (units Ω, V and A only; others keep their
    /// unit: W, °C, 1 are stated as they are).
    pub fn for_magnitude(unit: &str, magnitude: f64) -> Prefix {
        if !matches!(unit, "Ω" | "V" | "A") || !magnitude.is_finite() || magnitude == 0.0 {
            return Prefix::None;
        }
        match magnitude.abs() {
            m if m < 1e-3 => Prefix::Micro,
            m if m < 1.0 => Prefix::Milli,
            m if m < 1e3 => Prefix::None,
            _ => Prefix::Kilo,
        }
    }

    /// The factor to the unprefixed unit.
    pub fn factor(self) -> f64 {
        match self {
            Prefix::Micro => 1e-6,
            Prefix::Milli => 1e-3,
            Prefix::None => 1.0,
            Prefix::Kilo => 1e3,
        }
    }

    /// Its symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            Prefix::Micro => "µ",
            Prefix::Milli => "m",
            Prefix::None => "",
            Prefix::Kilo => "k",
        }
    }
}

/// A relative expanded uncertainty in percent, two significant digits rounded up ("1.5").
pub fn percent_up(expanded: f64, value: f64) -> Option<String> {
    if value == 0.0 {
        return None;
    }
    round_up_2((expanded / value * 100.0).abs()).map(|(t, _)| t)
}

/// `x` with `digits` significant digits (half to even), trailing zeros kept.
pub fn significant(x: f64, digits: i32) -> Option<String> {
    let (_, _, lead) = decimal(x)?;
    if x == 0.0 {
        return fixed(0.0, digits - 1);
    }
    let d = digits - 1 - lead;
    let (neg, n) = round_at(x, d, Mode::HalfEven)?;
    // 9.96 to two digits is 10: one digit more to the left, one decimal less.
    if n.unsigned_abs() >= 10u128.pow(digits as u32) {
        let (neg, n) = round_at(x, d - 1, Mode::HalfEven)?;
        return Some(render(neg, n, d - 1));
    }
    Some(render(neg, n, d))
}

/// `x` rounded half to even to `decimals` decimal places (negative: to tens, hundreds …).
pub fn fixed(x: f64, decimals: i32) -> Option<String> {
    let (neg, n) = round_at(x, decimals, Mode::HalfEven)?;
    Some(render(neg, n, decimals))
}

/// U rounded up to two significant digits: (text, decimal places of its last digit).
fn round_up_2(u: f64) -> Option<(String, i32)> {
    let (_, _, lead) = decimal(u)?;
    let mut d = 1 - lead;
    let (_, mut n) = round_at(u, d, Mode::Up)?;
    if n >= 100 {
        // 0.0996 rounded up is 0.100: two digits are 0.10.
        d -= 1;
        n = round_at(u, d, Mode::Up)?.1;
    }
    Some((render(false, n, d), d))
}

#[derive(Clone, Copy)]
enum Mode {
    HalfEven,
    Up,
}

/// The decimal form of `x` at 15 significant digits: (negative, 15-digit mantissa, exponent of
/// the leading digit).
fn decimal(x: f64) -> Option<(bool, i128, i32)> {
    if !x.is_finite() {
        return None;
    }
    let s = format!("{:.14e}", x.abs());
    let (mantissa, exp) = s.split_once('e')?;
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    Some((x < 0.0, digits.parse().ok()?, exp.parse().ok()?))
}

/// `x` × 10^`decimals` rounded to an integer: (negative, magnitude).
fn round_at(x: f64, decimals: i32, mode: Mode) -> Option<(bool, i128)> {
    let (neg, m, lead) = decimal(x)?;
    if m == 0 {
        return Some((false, 0));
    }
    // x = m × 10^(lead − 14); scaled = m × 10^shift.
    let shift = lead - 14 + decimals;
    let n = if shift >= 0 {
        m.checked_mul(10i128.checked_pow(shift as u32)?)?
    } else if -shift > 30 {
        // Far below the last kept digit: nothing survives but a rounding-up unit.
        match mode {
            Mode::Up => 1,
            Mode::HalfEven => 0,
        }
    } else {
        let p = 10i128.pow((-shift) as u32);
        let (q, r) = (m / p, m % p);
        match mode {
            Mode::Up => q + i128::from(r > 0),
            Mode::HalfEven => match (2 * r).cmp(&p) {
                std::cmp::Ordering::Less => q,
                std::cmp::Ordering::Greater => q + 1,
                std::cmp::Ordering::Equal => q + (q & 1),
            },
        }
    };
    Some((neg && n != 0, n))
}

/// The integer `n` × 10^−`decimals` as text, e.g. (12345, 2) → "123.45", (12, −2) → "1200".
fn render(neg: bool, n: i128, decimals: i32) -> String {
    let sign = if neg { "-" } else { "" };
    if decimals <= 0 {
        let zeros = if n == 0 {
            String::new()
        } else {
            "0".repeat((-decimals) as usize)
        };
        return format!("{sign}{n}{zeros}");
    }
    let d = decimals as usize;
    let digits = format!("{n:0>width$}", width = d + 1);
    let (int, frac) = digits.split_at(digits.len() - d);
    format!("{sign}{int}.{frac}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(v: f64, u: f64, k: f64) -> (String, String, String) {
        let s = Stated::new(v, u, k, "V").expect("finite");
        (s.value, s.expanded, s.k)
    }

    #[test]
    fn rounding_table() {
        // (value, U, k) → (value, U, k) as stated; U from 1e-7 to 1e4.
        let table: &[(f64, f64, f64, &str, &str, &str)] = &[
            (9.998, 0.00012, 2.0, "9.99800", "0.00012", "2.0"),
            (9.998, 0.0012, 2.0, "9.9980", "0.0012", "2.0"),
            (221.0207017, 3.2369722, 1.95996, "221.0", "3.3", "2.0"),
            (
                0.001487000000000016,
                6.685454597506629e-05,
                1.97086,
                "0.001487",
                "0.000067",
                "2.0",
            ),
            (
                3.08e-6,
                1.300559840768928e-06,
                2.259,
                "0.0000031",
                "0.0000014",
                "2.3",
            ),
            (
                1.23456789e-7,
                1.01e-7,
                2.0,
                "0.00000012",
                "0.00000011",
                "2.0",
            ),
            (0.5, 1e-7, 2.0, "0.50000000", "0.00000010", "2.0"),
            (12345.678, 1.0e4, 2.0, "12000", "10000", "2.0"),
            (12345.678, 3401.0, 2.0, "12300", "3500", "2.0"),
            (98.76, 0.0996, 2.0, "98.76", "0.10", "2.0"),
            (
                -0.00017099999999992122,
                1.7949592507591615e-05,
                1.9636,
                "-0.000171",
                "0.000018",
                "2.0",
            ),
            (-0.000001, 0.0012, 2.0, "0.0000", "0.0012", "2.0"),
            (2.5, 1.0, 2.0, "2.5", "1.0", "2.0"),
            // Half to even at the kept digit: 0.125 → 0.12, 0.135 → 0.14.
            (0.125, 0.11, 2.0, "0.12", "0.11", "2.0"),
            (0.135, 0.11, 2.0, "0.14", "0.11", "2.0"),
            (1.0, 0.012, 2.576, "1.000", "0.012", "2.6"),
            (1.0, 0.012, 1.0, "1.000", "0.012", "1.0"),
        ];
        for &(v, u, k, ev, eu, ek) in table {
            assert_eq!(
                st(v, u, k),
                (ev.to_string(), eu.to_string(), ek.to_string()),
                "value {v}, U {u}, k {k}"
            );
        }
    }

    #[test]
    fn uncertainty_is_rounded_up_never_down() {
        for &(u, e) in &[
            (0.0012, "0.0012"),
            (0.00120001, "0.0013"),
            (3.2369, "3.3"),
            (9.91, "10"),
            (99.1, "100"),
            (1e-7, "0.00000010"),
        ] {
            assert_eq!(round_up_2(u).expect("finite").0, e, "U {u}");
        }
    }

    #[test]
    fn prefixes_and_percent() {
        assert_eq!(Prefix::for_magnitude("Ω", 0.001), Prefix::Milli);
        assert_eq!(Prefix::for_magnitude("Ω", 0.0001), Prefix::Micro);
        assert_eq!(Prefix::for_magnitude("W", 0.001), Prefix::None);
        let s = Stated::scaled(3.08e-6, 1.3006e-6, 2.26, "Ω", Prefix::Milli).expect("finite");
        assert_eq!(
            (s.value.as_str(), s.expanded.as_str(), s.unit.as_str()),
            ("0.0031", "0.0014", "mΩ")
        );
        assert_eq!(percent_up(3.2369, 221.02).as_deref(), Some("1.5"));
        assert_eq!(
            significant(-3.612939818367569e-05, 3).as_deref(),
            Some("-0.0000361")
        );
        assert_eq!(significant(9.96, 2).as_deref(), Some("10"));
        assert_eq!(significant(0.0, 3).as_deref(), Some("0.00"));
        assert_eq!(
            Stated::new(221.0207, 3.2369, 1.96, "W")
                .expect("finite")
                .line(),
            "221.0 W, U = 3.3 W (k = 2.0)"
        );
        assert!(Stated::new(1.0, 0.0, 2.0, "W").is_none());
        let pmax = serde_json::json!({"value": 221.0207, "U": 3.2369, "k": 1.96, "unit": "W"});
        assert_eq!(
            result_line("p_mp_stc", &pmax),
            "Pmax(STC) = 221.0 W, U = 3.3 W (k = 2.0)"
        );
        let sr = serde_json::json!({"value": 0.001487000000000016, "U": 6.685e-05, "k": 1.97,
            "unit": "Ω", "nominal": 1.000043});
        assert_eq!(
            result_line("resistance SR-1", &sr),
            "error of indication, resistance SR-1 = 0.001487 Ω, U = 0.000067 Ω (k = 2.0)"
        );
        let sr1m = serde_json::json!({"value": 3.08e-6, "U": 1.3006e-6, "k": 2.26, "unit": "Ω",
            "nominal": 1.00012e-3});
        assert_eq!(
            result_line("resistance SR-1m", &sr1m),
            "error of indication, resistance SR-1m = 0.0031 mΩ, U = 0.0014 mΩ (k = 2.3)"
        );
        let ff = serde_json::json!({"value": 0.72891, "U": 0.0037, "k": 2.0, "unit": "1"});
        assert_eq!(
            result_line("ff_stc", &ff),
            "FF(STC) = 0.7289, U = 0.0037 (k = 2.0)"
        );
        assert_eq!(
            result_line(
                "conformity",
                &serde_json::json!({"value": "pass", "unit": ""})
            ),
            "conformity = pass"
        );
        assert!(Stated::new(f64::NAN, 1.0, 2.0, "W").is_none());
    }
}
