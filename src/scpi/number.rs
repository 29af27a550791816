//! Numeric response data: NR1, NR2, NR3, and the SCPI sentinels for "no valid reading".
//!
//! SCPI-99 (as the `scpi` crate encodes it) reserves `9.91E+37` for *not a number* and
//! `±9.9E+37` for overflow / ±infinity. They must never be stored as measured values, so they
//! are decoded into distinct variants here. Some instruments pad numbers with blanks (Hioki
//! BT356x puts a blank in the sign position and blanks for leading zeros: `-   7.51E+0`), and
//! some append a unit (`+2.619500E+01 C`); both are accepted.

/// A decoded numeric response element.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScpiNumber {
    /// A finite reading.
    Value(f64),
    /// `9.91E+37`: the instrument reports no valid number.
    NotANumber,
    /// `+9.9E+37` / `-9.9E+37`: overflow or infinity; `true` for positive.
    Overflow(bool),
}

impl ScpiNumber {
    /// The finite value, if this is one.
    pub fn value(self) -> Option<f64> {
        match self {
            ScpiNumber::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// Why a response element is not a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not an NR1/NR2/NR3 number")]
pub struct NumberError {
    /// The offending text (truncated to 40 characters).
    pub text: String,
}

/// Relative tolerance used to recognise the sentinels, which instruments print with varying
/// digits (`9.91E37`, `+9.910000E+37`).
const SENTINEL_TOLERANCE: f64 = 1e-6;

/// Parse one numeric response element.
pub fn parse_number(text: &str) -> Result<ScpiNumber, NumberError> {
    let fail = || NumberError {
        text: text.chars().take(40).collect(),
    };
    let compact: String = text.chars().filter(|c| *c != ' ' && *c != '\t').collect();
    let numeric = compact.trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == '%');
    // Accept only what NR1/NR2/NR3 can look like: `f64::from_str` would also take "inf",
    // "nan" and "infinity", which no SCPI instrument sends as a number.
    let plausible = !numeric.is_empty()
        && numeric
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
        && numeric.bytes().any(|b| b.is_ascii_digit());
    if !plausible {
        return Err(fail());
    }
    let value: f64 = numeric.parse().map_err(|_| fail())?;
    let close = |target: f64| ((value - target) / target).abs() < SENTINEL_TOLERANCE;
    Ok(if close(9.91e37) {
        ScpiNumber::NotANumber
    } else if close(9.9e37) {
        ScpiNumber::Overflow(true)
    } else if close(-9.9e37) {
        ScpiNumber::Overflow(false)
    } else if value.is_finite() {
        ScpiNumber::Value(value)
    } else {
        ScpiNumber::Overflow(value > 0.0)
    })
}

/// Parse a comma-separated list of numeric elements (`+1.0E+00,-2.5E-03`).
pub fn parse_number_list(text: &str) -> Result<Vec<ScpiNumber>, NumberError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',').map(parse_number).collect()
}

/// An entry of an instrument error queue: `<code>,"<description>[;<info>]"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorEntry {
    /// Error code; 0 means the queue is empty.
    pub code: i32,
    /// Description without quotes.
    pub message: String,
}

/// Parse an error-queue reply leniently: optional sign and blanks, integer code, comma, text
/// in optional quotes (`+0,"No error"`, `-113,"Undefined header"`, `0, No error`,
/// `1133,"Parameter 4, Syntax error, …"`). Fluke `ERR?` replies `<code>,<text>` the same way.
pub fn parse_error_entry(text: &str) -> Option<ErrorEntry> {
    let text = text.trim();
    let (code, rest) = match text.split_once(',') {
        Some((code, rest)) => (code, rest),
        None => (text, ""),
    };
    let code: i32 = code.trim().trim_start_matches('+').trim().parse().ok()?;
    let message = rest.trim().trim_matches('"').to_string();
    Some(ErrorEntry { code, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_formats_and_sentinels() {
        assert_eq!(parse_number("42"), Ok(ScpiNumber::Value(42.0)));
        assert_eq!(parse_number("-0.125"), Ok(ScpiNumber::Value(-0.125)));
        assert_eq!(
            parse_number("+1.23456789E-02"),
            Ok(ScpiNumber::Value(1.23456789e-2))
        );
        assert_eq!(parse_number(" 12.345E-3"), Ok(ScpiNumber::Value(12.345e-3)));
        assert_eq!(parse_number("-   7.51E+0"), Ok(ScpiNumber::Value(-7.51)));
        assert_eq!(
            parse_number("+2.61950000E+01 C"),
            Ok(ScpiNumber::Value(26.195))
        );
        assert_eq!(parse_number("9.91E37"), Ok(ScpiNumber::NotANumber));
        assert_eq!(parse_number("+9.91000000E+37"), Ok(ScpiNumber::NotANumber));
        assert_eq!(parse_number("9.9E37"), Ok(ScpiNumber::Overflow(true)));
        assert_eq!(parse_number("-9.9E+37"), Ok(ScpiNumber::Overflow(false)));
        assert!(parse_number("inf").is_err());
        assert!(parse_number("").is_err());
        assert!(parse_number("1,2").is_err());
        assert_eq!(parse_number_list("1,2.5,9.91E37").map(|v| v.len()), Ok(3));
    }

    #[test]
    fn error_entries_in_the_wild() {
        let e = parse_error_entry("+0,\"No error\"").expect("parses");
        assert_eq!((e.code, e.message.as_str()), (0, "No error"));
        let e = parse_error_entry("-113,\"Undefined header\"").expect("parses");
        assert_eq!(e.code, -113);
        let e = parse_error_entry("0, No error").expect("parses");
        assert_eq!(e.code, 0);
        let e = parse_error_entry(
            "1133,\"Parameter 4, Syntax error, expected valid name parameters.\"",
        )
        .expect("parses");
        assert_eq!(e.code, 1133);
        assert!(e.message.starts_with("Parameter 4, Syntax"));
        assert!(parse_error_entry("garbage").is_none());
    }
}
