//! When the overnight queue's items may run: daily windows in local time (which may wrap
//! midnight), start times, and the station's offset from UTC. The runner that starts them is
//! `app::queue`.

/// Offset of the station's local time from UTC [s]: `$PVSTATION_UTC_OFFSET` (`+08:00`), else
/// the system's (`date +%z`), else 0.
pub fn local_offset() -> i64 {
    let parse = |t: &str| -> Option<i64> {
        let t = t.trim();
        let (sign, rest) = match t.as_bytes().first()? {
            b'+' => (1, &t[1..]),
            b'-' => (-1, &t[1..]),
            _ => (1, t),
        };
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        if digits.len() != 4 {
            return None;
        }
        let h: i64 = digits[..2].parse().ok()?;
        let m: i64 = digits[2..].parse().ok()?;
        Some(sign * (h * 3600 + m * 60))
    };
    if let Ok(v) = std::env::var("PVSTATION_UTC_OFFSET") {
        return parse(&v).unwrap_or(0);
    }
    std::process::Command::new("date")
        .arg("+%z")
        .output()
        .ok()
        .and_then(|o| parse(&String::from_utf8_lossy(&o.stdout)))
        .unwrap_or(0)
}

/// Parse `HH:MM` into minutes of the day.
fn hhmm(text: &str) -> Option<u32> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// Parse a daily window `HH:MM-HH:MM` (local time; may wrap midnight, e.g. `22:00-04:00`).
pub fn parse_window(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("window `{text}`: write HH:MM-HH:MM in local time, e.g. 10:30-14:00");
    let (a, b) = text.split_once('-').ok_or_else(bad)?;
    let (a, b) = (hhmm(a).ok_or_else(bad)?, hhmm(b).ok_or_else(bad)?);
    if a == b {
        return Err(format!("window `{text}` is empty"));
    }
    Ok((a, b))
}

/// Parse a time: Unix seconds, or `YYYY-MM-DD HH:MM[:SS]` / `YYYY-MM-DDTHH:MM[:SS]` in local
/// time, or with a trailing `Z` in UTC.
pub fn parse_time(text: &str, offset: i64) -> Result<f64, String> {
    let t = text.trim();
    if let Ok(x) = t.parse::<f64>() {
        return Ok(x);
    }
    let bad = || format!("time `{text}`: write YYYY-MM-DD HH:MM (local), …Z (UTC) or Unix seconds");
    let (utc, t) = match t.strip_suffix('Z') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (date, time) = t.split_once(['T', ' ']).ok_or_else(bad)?;
    let date = crate::model::Date::parse(date).map_err(|_| bad())?;
    let mut parts = time.split(':');
    let h: i64 = parts.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    let m: i64 = parts.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    let s: f64 = parts
        .next()
        .map(|x| x.parse().map_err(|_| bad()))
        .transpose()?
        .unwrap_or(0.0);
    if !(0..24).contains(&h) || !(0..60).contains(&m) || !(0.0..60.0).contains(&s) {
        return Err(bad());
    }
    let local = date.days_since_epoch() * 86_400 + h * 3600 + m * 60;
    Ok((local - if utc { 0 } else { offset }) as f64 + s)
}

/// Seconds until the window is open at `now` (0 when it is).
pub fn until_open(window: (u32, u32), now: f64, offset: i64) -> f64 {
    let local = now + offset as f64;
    let minute = local.rem_euclid(86_400.0) / 60.0;
    let (a, b) = (f64::from(window.0), f64::from(window.1));
    let open = if a < b {
        minute >= a && minute < b
    } else {
        minute >= a || minute < b
    };
    if open {
        0.0
    } else {
        ((a - minute).rem_euclid(1440.0)) * 60.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_times() {
        assert_eq!(parse_window("10:30-14:00"), Ok((630, 840)));
        assert!(parse_window("25:00-14:00").is_err());
        assert!(parse_window("10:00").is_err());
        // 2026-11-28 12:00 UTC.
        let noon = parse_time("2026-11-28T12:00Z", 0).expect("time");
        assert_eq!(noon, 1_795_867_200.0);
        assert_eq!(parse_time("2026-11-28 20:00", 8 * 3600), Ok(noon));
        assert_eq!(parse_time("1795867200", 0), Ok(noon));
        assert!(parse_time("tomorrow", 0).is_err());
        // Inside, before and after a window; wrapping midnight.
        assert_eq!(until_open((600, 840), noon, 0), 0.0);
        assert_eq!(until_open((780, 840), noon, 0), 3600.0);
        assert_eq!(until_open((600, 700), noon, 0), (1440.0 - 120.0) * 60.0);
        assert_eq!(until_open((1320, 240), noon, 0), 600.0 * 60.0);
        assert_eq!(until_open((1320, 240), noon + 12.0 * 3600.0, 0), 0.0);
        assert_eq!(
            until_open((600, 840), noon, 8 * 3600),
            (1440.0 - 1200.0 + 600.0) * 60.0
        );
    }
}
