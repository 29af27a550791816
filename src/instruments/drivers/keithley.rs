//! Keithley 2460/2461 in native SCPI as an [`IvTracer`] (instruments.md §2.1).
//!
//! Sequence: configure sense (current, autorange, NPLC, 4-wire), source (voltage, range,
//! current limit, readback), build the sweep with `:SOUR:SWE:VOLT:LIN … "defbuffer1"` with
//! failAbort OFF (the sweep may touch the limit near Isc), `:INIT`, wait with `*OPC?`
//! (timeout from the expected sweep duration), check the buffer holds every reading, read
//! `SOUR, READ, REL` with `:TRAC:DATA?` (indices count readings), output off, drain errors.
//!
//! Sign: the SMU reads the current a PV generator pushes into it as negative; curves leave
//! this driver in the generator convention (current = −reading).

use std::time::Duration;

use super::{Base, on_off};
use crate::instruments::roles::{
    BoxFuture, Instrument, IvTracer, Result, SweepMode, SweepSettings,
};
use crate::model::{IvCurve, IvPoint, SweepDirection};
use crate::scpi::block::{ByteOrder, block_payload, decode_real64};

/// Fixed commands of the sweep sequence.
const SENSE_CURRENT: &str = ":SENS:FUNC \"CURR\"";
/// Current autorange on.
const CURRENT_AUTORANGE: &str = ":SENS:CURR:RANG:AUTO ON";
/// Source voltage, measure current (a sweep in voltage).
const SOURCE_VOLTAGE: &str = ":SOUR:FUNC VOLT";
/// Measured (not programmed) source values in the buffer.
const READBACK: &str = ":SOUR:VOLT:READ:BACK ON";
/// Abort a running trigger model.
const ABORT: &str = ":ABOR";
/// Clear status and error queue.
const CLEAR_STATUS: &str = "*CLS";
/// Start the trigger model.
const INITIATE: &str = ":INIT";
/// Number of readings in the buffer.
const ACTUAL: &str = ":TRAC:ACT?";
/// Output relay open: the module is disconnected.
const OUTPUT_OFF: &str = ":OUTP OFF";

/// Keithley 2460/2461 driver.
pub struct Keithley24xx {
    base: Base,
}

impl Keithley24xx {
    /// A driver over a base.
    pub fn new(base: Base) -> Self {
        Keithley24xx { base }
    }

    fn check_settings(&self, s: &SweepSettings) -> Result<()> {
        let p = &self.base.profile;
        let vmax = p.range("max_voltage").unwrap_or(105.0);
        let imax = p.range("max_current").unwrap_or(7.35);
        let max_points = p.range("max_points").unwrap_or(1e6) as usize;
        let (nmin, nmax) = (
            p.range("nplc_min").unwrap_or(0.01),
            p.range("nplc_max").unwrap_or(10.0),
        );
        let problem = if !(s.start.is_finite() && s.stop.is_finite())
            || s.start.abs() > vmax
            || s.stop.abs() > vmax
        {
            Some(format!(
                "sweep {} V … {} V exceeds ±{vmax} V of the {}",
                s.start, s.stop, p.model
            ))
        } else if s.start == s.stop {
            Some("sweep start and stop are equal; give a voltage span".into())
        } else if !(2..=max_points).contains(&s.points) {
            Some(format!(
                "{} points; the {} sweeps 2 … {max_points} points",
                s.points, p.model
            ))
        } else if !(s.current_limit > 0.0 && s.current_limit <= imax) {
            Some(format!(
                "current limit {} A outside 0 … {imax} A of the {}",
                s.current_limit, p.model
            ))
        } else if !(nmin..=nmax).contains(&s.nplc) {
            Some(format!("NPLC {} outside {nmin} … {nmax}", s.nplc))
        } else if !(0.0..=10_000.0).contains(&s.delay) {
            Some(format!("source delay {} s outside 0 … 10000 s", s.delay))
        } else {
            None
        };
        match problem {
            Some(p) => Err(self.base.invalid(p)),
            None => Ok(()),
        }
    }

    /// Expected duration of the sweep [s].
    fn duration(&self, s: &SweepSettings, readings: usize) -> f64 {
        let line = self.base.profile.timing("line_frequency").unwrap_or(50.0);
        let overhead = self.base.profile.timing("point_overhead_ms").unwrap_or(0.5) / 1000.0;
        readings as f64 * (s.delay + s.nplc / line + overhead)
    }

    async fn run(&mut self, s: &SweepSettings) -> Result<Vec<IvCurve>> {
        self.check_settings(s)?;
        let (start, stop) = match s.mode {
            SweepMode::Reverse => (s.stop, s.start),
            _ => (s.start, s.stop),
        };
        let dual = s.mode == SweepMode::Dual;
        let readings = if dual { 2 * s.points - 1 } else { s.points };
        let expected = Duration::from_secs_f64(self.duration(s, readings) * 1.5);
        let commands = [
            // Stop a trigger model left running by an interrupted sweep, and forget the
            // errors of that operation (they were reported with it).
            ABORT.to_string(),
            CLEAR_STATUS.to_string(),
            SENSE_CURRENT.to_string(),
            CURRENT_AUTORANGE.to_string(),
            format!(":SENS:CURR:NPLC {}", s.nplc),
            format!(":SENS:CURR:RSEN {}", on_off(s.four_wire)),
            SOURCE_VOLTAGE.to_string(),
            format!(":SOUR:VOLT:RANG {}", start.abs().max(stop.abs())),
            format!(":SOUR:VOLT:ILIM {}", s.current_limit),
            READBACK.to_string(),
            format!(
                ":SOUR:SWE:VOLT:LIN {start}, {stop}, {}, {}, 1, BEST, OFF, {}, \"defbuffer1\"",
                s.points,
                s.delay,
                on_off(dual)
            ),
        ];
        self.base.configure(&commands, ":SOUR:SWE:VOLT:LIN").await?;
        let session = &mut self.base.session;
        let start_time = self.base.clock.now();
        session.write(INITIATE).await?;
        let normal = session.config().timeout;
        session.set_timeout(normal + expected);
        let waited = session.opc().await;
        session.set_timeout(normal);
        waited?;
        let actual = session.query_f64(ACTUAL).await? as usize;
        if actual != readings {
            return Err(self.base.reading_error(format!(
                "the sweep stored {actual} of {readings} readings; check the current limit and the connection"
            )));
        }
        let command = format!(":TRAC:DATA? 1, {readings}, \"defbuffer1\", SOUR, READ, REL");
        let values = if s.binary {
            session.write(":FORM REAL").await?;
            session.write(":FORM:BORD SWAP").await?;
            let block = session.query_bytes(&command).await;
            session.write(":FORM ASC").await?;
            let block = block?;
            let payload = block_payload(&block, b"\n")
                .map_err(|e| self.base.reading_error(format!("bad buffer block: {e}")))?;
            decode_real64(payload, ByteOrder::LittleEndian)
                .map_err(|e| self.base.reading_error(format!("bad buffer block: {e}")))?
        } else {
            session
                .query_numbers(&command)
                .await?
                .into_iter()
                .map(|n| n.value().unwrap_or(f64::NAN))
                .collect()
        };
        let session = &mut self.base.session;
        session.write(OUTPUT_OFF).await?;
        session.check(":TRAC:DATA?").await?;
        if values.len() != readings * 3 {
            return Err(self.base.reading_error(format!(
                "buffer returned {} values for {readings} readings × 3 elements",
                values.len()
            )));
        }
        if values.iter().any(|v| !v.is_finite()) {
            return Err(self.base.reading_error(
                "the buffer holds readings that are not numbers (overflow); check the current range and limit".into(),
            ));
        }
        let points: Vec<IvPoint> = values
            .chunks_exact(3)
            .map(|c| IvPoint {
                voltage: c[0],
                current: -c[1],
                time: c[2],
            })
            .collect();
        let first_direction = if s.mode == SweepMode::Reverse {
            SweepDirection::Reverse
        } else {
            SweepDirection::Forward
        };
        if dual {
            let (forward, reverse) = points.split_at(s.points);
            let t_reverse = forward.last().map(|p| p.time).unwrap_or(0.0);
            Ok(vec![
                IvCurve {
                    points: forward.to_vec(),
                    direction: SweepDirection::Forward,
                    start_time,
                },
                IvCurve {
                    points: reverse.to_vec(),
                    direction: SweepDirection::Reverse,
                    start_time: start_time + t_reverse,
                },
            ])
        } else {
            Ok(vec![IvCurve {
                points,
                direction: first_direction,
                start_time,
            }])
        }
    }
}

impl Instrument for Keithley24xx {
    fn name(&self) -> &str {
        &self.base.name
    }
    fn identify(&mut self) -> BoxFuture<'_, Result<String>> {
        Box::pin(self.base.identify())
    }
    fn safe_state(&mut self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.base.session.write(ABORT).await?;
            self.base.session.write(OUTPUT_OFF).await?;
            Ok(())
        })
    }
}

impl IvTracer for Keithley24xx {
    fn sweep<'a>(&'a mut self, settings: &'a SweepSettings) -> BoxFuture<'a, Result<Vec<IvCurve>>> {
        Box::pin(self.run(settings))
    }
}
