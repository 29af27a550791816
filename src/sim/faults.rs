//! Fault injection for simulated instruments.
//!
//! Grammar (station file `faults = [...]` per instrument, or `--faults` on the command line
//! with an `INSTRUMENT:` prefix, comma-separated):
//!
//! | spec | effect |
//! |---|---|
//! | `latency=MS` | every reply is delayed by MS milliseconds |
//! | `no-reply@N` | the N-th message (1-based, counted over all connections) gets no reply |
//! | `drop@N` | the connection is closed when the N-th message arrives (it is not executed) |
//! | `drop=sweep` | the connection is closed at the first message that arrives while a sweep runs |
//! | `garbage@N` | the reply to the N-th message is replaced by bytes that cannot be framed |
//! | `error=CODE@N` | after the N-th message the instrument reports error CODE (queue or ESR bit) |
//! | `reboot@N` | at the N-th message the instrument power-cycles: settings lost, PON set, connection closed |
//! | `crc@N` | Modbus RTU: the answer to the N-th frame carries a wrong CRC (TCP: garbage) |
//!
//! One-shot faults fire once; `@N` defaults to `@1`. On Modbus instruments `error=CODE@N`
//! answers the N-th request with exception CODE (1–255; 6 = server busy), and `reboot@N` makes
//! the unit silent for 2 s of simulated time, then it answers again with its counters reset.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaultKind {
    /// Delay every reply.
    Latency(Duration),
    /// Swallow one reply.
    NoReply,
    /// Close the connection.
    Drop,
    /// Close the connection during a sweep.
    DropMidSweep,
    /// Replace one reply with garbage.
    Garbage,
    /// Report an error code.
    Error(i32),
    /// Power-cycle.
    Reboot,
    /// A Modbus RTU answer with a wrong CRC.
    Crc,
}

/// A fault and when it fires.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fault {
    /// What goes wrong.
    pub kind: FaultKind,
    /// 1-based message number at which a one-shot fault fires.
    pub at: u64,
}

/// A malformed fault specification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad fault spec `{spec}`: {problem}")]
pub struct FaultSpecError {
    /// The spec as given.
    pub spec: String,
    /// What to fix.
    pub problem: String,
}

impl Fault {
    /// Parse one spec such as `drop@3`, `latency=200`, `error=-222@2`, `drop=sweep`.
    pub fn parse(spec: &str) -> Result<Fault, FaultSpecError> {
        let fail = |problem: &str| FaultSpecError {
            spec: spec.to_string(),
            problem: problem.to_string(),
        };
        let (body, at) = match spec.trim().split_once('@') {
            Some((b, n)) => (
                b,
                n.parse::<u64>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| fail("the message number after `@` must be an integer ≥ 1"))?,
            ),
            None => (spec.trim(), 1),
        };
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let kind = match (name, value) {
            ("latency", Some(ms)) => FaultKind::Latency(Duration::from_millis(
                ms.parse()
                    .map_err(|_| fail("latency needs milliseconds, e.g. latency=200"))?,
            )),
            ("no-reply", None) => FaultKind::NoReply,
            ("drop", None) => FaultKind::Drop,
            ("drop", Some("sweep")) => FaultKind::DropMidSweep,
            ("garbage", None) => FaultKind::Garbage,
            ("error", Some(code)) => FaultKind::Error(
                code.parse()
                    .map_err(|_| fail("error needs an integer code, e.g. error=-222"))?,
            ),
            ("reboot", None) => FaultKind::Reboot,
            ("crc", None) => FaultKind::Crc,
            _ => {
                return Err(fail(
                    "known faults: latency=MS, no-reply@N, drop@N, drop=sweep, garbage@N, error=CODE@N, reboot@N, crc@N",
                ));
            }
        };
        Ok(Fault { kind, at })
    }
}

/// The faults of one simulated instrument and the count of messages it has received (over all
/// its connections): which one-shot faults are due, and the latency to add.
#[derive(Debug, Default)]
pub struct FaultSchedule {
    faults: Vec<Fault>,
    messages: AtomicU64,
    fired: Mutex<Vec<bool>>,
}

impl FaultSchedule {
    /// A schedule of `faults`, none fired yet.
    pub fn new(faults: Vec<Fault>) -> Self {
        FaultSchedule {
            fired: Mutex::new(vec![false; faults.len()]),
            faults,
            messages: AtomicU64::new(0),
        }
    }

    /// Count one more message; its 1-based number.
    pub fn next_message(&self) -> u64 {
        self.messages.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// One-shot faults due at message `n` (`busy`: a sweep runs), marking them fired.
    pub fn due(&self, n: u64, busy: bool) -> Vec<FaultKind> {
        let mut fired = super::world::lock(&self.fired);
        let mut out = Vec::new();
        for (i, f) in self.faults.iter().enumerate() {
            let due = match f.kind {
                FaultKind::Latency(_) => false,
                FaultKind::DropMidSweep => busy,
                _ => n == f.at,
            };
            if due && !fired[i] {
                fired[i] = true;
                out.push(f.kind);
            }
        }
        out
    }

    /// The latency added to every reply.
    pub fn latency(&self) -> Duration {
        self.faults
            .iter()
            .map(|f| match f.kind {
                FaultKind::Latency(d) => d,
                _ => Duration::ZERO,
            })
            .sum()
    }
}

/// Parse a command-line list `INSTRUMENT:SPEC,INSTRUMENT:SPEC,…` into (instrument, fault).
pub fn parse_fault_list(list: &str) -> Result<Vec<(String, Fault)>, FaultSpecError> {
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|item| {
            let (name, spec) = item.split_once(':').ok_or_else(|| FaultSpecError {
                spec: item.to_string(),
                problem: "write INSTRUMENT:FAULT, e.g. smu:drop=sweep".into(),
            })?;
            Ok((name.trim().to_string(), Fault::parse(spec)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        assert_eq!(
            Fault::parse("latency=200").map(|f| f.kind),
            Ok(FaultKind::Latency(Duration::from_millis(200)))
        );
        assert_eq!(
            Fault::parse("error=-222@4"),
            Ok(Fault {
                kind: FaultKind::Error(-222),
                at: 4
            })
        );
        assert_eq!(
            Fault::parse("drop=sweep").map(|f| f.kind),
            Ok(FaultKind::DropMidSweep)
        );
        assert!(Fault::parse("explode").is_err());
        assert!(Fault::parse("drop@0").is_err());
        let list = parse_fault_list("smu:drop=sweep, dmm:garbage@2").expect("parses");
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].0, "dmm");
        assert!(parse_fault_list("smu").is_err());
    }
}
