//! Instruments and conditions: temperature scans and reference-cell irradiance, the stable-sun
//! gate, I-V sweeps with the irradiance sampled around them (and their retakes), the relay
//! switch, the calibrator, the tester under calibration, and the reference-cell comparison.
//! Every one of these is an activity.

use std::collections::BTreeMap;

use rhai::{Dynamic, Engine, Map};
use serde_json::{Value, json};

use super::args::{from_dyn, num, sweep_settings, to_dyn};
use super::gate::{ConditionSample, Gate, SkyConditions, gate_problem, summarise_window};
use super::{Host, HostResult, SharedHost, fail, host_fn};
use crate::analysis::validity::{Observation, ValidityLimits, check};
use crate::engine::events::{ActivityKind, CurveData, Event, InterruptionKind};
use crate::engine::journal::Recorder;
use crate::instruments::bench::Bench;
use crate::instruments::roles::{SweepSettings, TemperatureReading};
use crate::instruments::station::ReferenceKind;

impl Host {
    fn module_sensors(&self) -> Vec<String> {
        self.station
            .file
            .instrument
            .iter()
            .flat_map(|i| i.channels.keys())
            .filter(|k| k.starts_with("module"))
            .cloned()
            .collect()
    }

    fn reference_cell_sensor(&self) -> Option<String> {
        self.station
            .file
            .instrument
            .iter()
            .filter_map(|i| i.reference.as_deref())
            .filter_map(|r| self.station.reference(r))
            .find_map(|r| r.temperature_sensor.clone())
    }

    fn read_temperatures(&mut self) -> Result<Vec<TemperatureReading>, String> {
        let t = self
            .bench
            .thermometer
            .as_mut()
            .ok_or("the station has no thermometer")?;
        self.rt
            .block_on(t.read_temperatures())
            .map_err(|e| self.fault(e))
    }

    /// Temperatures, then the irradiance corrected with the reference cell's temperature.
    fn sample(&mut self) -> Result<ConditionSample, String> {
        let temps = self.read_temperatures()?;
        let temperatures: BTreeMap<String, f64> = temps
            .iter()
            .map(|t| (t.sensor.clone(), t.temperature))
            .collect();
        let modules = self.module_sensors();
        let module_temperatures = temperatures
            .iter()
            .filter(|(k, _)| modules.contains(k))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let cell_temperature = match self.reference_cell_sensor() {
            Some(s) => *temperatures.get(&s).ok_or(format!(
                "the thermometer has no sensor `{s}` for the reference cell"
            ))?,
            None => 25.0,
        };
        let meter = self
            .bench
            .irradiance_meter
            .as_mut()
            .ok_or("the station has no irradiance meter")?;
        let r = self
            .rt
            .block_on(meter.read_irradiance(cell_temperature))
            .map_err(|e| self.fault(e))?;
        let sample = ConditionSample {
            time: r.time,
            irradiance: r.irradiance,
            shunt_voltage: r.shunt_voltage,
            cell_temperature,
            module_temperatures,
            temperatures,
            sky: None,
        };
        (self.events)(Event::Conditions {
            time: sample.time,
            irradiance: sample.irradiance,
            module_temperature: (!sample.module_temperatures.is_empty())
                .then(|| sample.module_mean()),
        });
        Ok(sample)
    }

    /// Live part of `wait_stable`: sample until the gate holds over its window.
    fn wait_live(&mut self, gate: &Gate) -> Result<(Value, Vec<(String, String)>), String> {
        let start = self.now();
        let mut window: Vec<ConditionSample> = Vec::new();
        let mut last_message = String::new();
        loop {
            if self.aborted() {
                return Err("aborted by the operator".into());
            }
            let mut s = self.sample()?;
            if gate.has_sky_limits() {
                s.sky = Some(self.sky_conditions(gate)?);
            }
            let t = s.time;
            window.push(s);
            // Keep the shortest tail of samples that spans the gate's duration.
            while window.len() >= 2 && t - window[1].time >= gate.duration {
                window.remove(0);
            }
            // The window restarts whenever the sun breaks the gate's level or band.
            match gate_problem(gate, &window) {
                None => {
                    let w = summarise_window(&window, self.now() - start);
                    let raw = serde_json::to_string(&window).unwrap_or_default();
                    return Ok((w, vec![("conditions_window".into(), raw)]));
                }
                Some(message) => {
                    if !message.contains("stable for") {
                        // Broken: only the newest sample starts the next window.
                        let keep = window.pop();
                        window.clear();
                        window.extend(keep);
                    }
                    if message != last_message {
                        (self.events)(Event::Waiting {
                            message: message.clone(),
                            gate: *gate,
                        });
                        last_message = message.clone();
                    }
                    if self.now() - start > gate.timeout {
                        return Err(format!(
                            "the gate did not hold within {:.0} s: {message}",
                            gate.timeout
                        ));
                    }
                }
            }
            self.pause(gate.interval)?;
        }
    }

    /// What the sky instruments say about the gate's sky limits: the angle of incidence from
    /// the station's site, the wind from a weather station, the diffuse fraction from the
    /// shaded over the plane-of-array pyranometer. A limit the station cannot check is listed
    /// as unchecked with the missing part.
    fn sky_conditions(&mut self, gate: &Gate) -> Result<SkyConditions, String> {
        let mut out = SkyConditions::default();
        let reading =
            |h: &mut Self, sensor: &str| -> Result<Option<BTreeMap<String, f64>>, String> {
                let Some(inst) = h
                    .bench
                    .sky
                    .iter_mut()
                    .find(|s| s.sensor.as_deref() == Some(sensor))
                else {
                    return Ok(None);
                };
                h.rt.block_on(inst.read_all()).map(Some)
            };
        if gate.max_wind.is_some() {
            match reading(self, "weather")? {
                Some(w) => out.wind_speed = w.get("wind_speed").copied(),
                None => out.unchecked.push(
                    "max_wind: no weather station (sensor = \"weather\") in the station file"
                        .into(),
                ),
            }
        }
        if gate.max_diffuse_fraction.is_some() {
            match (reading(self, "plane_of_array")?, reading(self, "diffuse")?) {
                (Some(g), Some(d)) => {
                    out.diffuse_fraction = match (g.get("irradiance"), d.get("irradiance")) {
                        (Some(g), Some(d)) if *g > 0.0 => Some(d / g),
                        _ => None,
                    }
                }
                _ => out.unchecked.push(
                    "max_diffuse_fraction: needs a plane_of_array and a diffuse pyranometer in the station file".into(),
                ),
            }
        }
        if gate.max_aoi.is_some() {
            match self.station.file.station.site {
                Some(site) => {
                    let sun = sun_at(self.now(), site, &serde_json::Map::new());
                    out.aoi = sun["angle_of_incidence"].as_f64();
                    // A two-axis tracker tilts its plane by the sun's zenith angle.
                    out.tilt = site.tilt.or_else(|| sun["zenith"].as_f64());
                }
                None => out
                    .unchecked
                    .push("max_aoi: no [station.site] in the station file".into()),
            }
        }
        Ok(out)
    }

    /// Live part of `sweep`: temperatures, then the sweep with the irradiance sampled
    /// continuously around it (the sample in flight when the sweep ends is completed, never
    /// cancelled, so no reply is left on the line).
    fn sweep_live(
        &mut self,
        settings: &SweepSettings,
    ) -> Result<(Value, Vec<(String, String)>), String> {
        let before = self.sample()?;
        let cell_t = before.cell_temperature;
        let Bench {
            iv_tracer,
            irradiance_meter,
            ..
        } = &mut self.bench;
        let tracer = iv_tracer.as_mut().ok_or("the station has no I-V tracer")?;
        let meter = irradiance_meter
            .as_mut()
            .ok_or("the station has no irradiance meter")?;
        let (curves, samples) = self.rt.block_on(async {
            let mut sweep = std::pin::pin!(tracer.sweep(settings));
            let mut done = None;
            let mut samples = Vec::new();
            while done.is_none() {
                let mut read = std::pin::pin!(meter.read_irradiance(cell_t));
                let r = loop {
                    tokio::select! {
                        biased;
                        r = &mut read => break r,
                        res = &mut sweep, if done.is_none() => done = Some(res),
                    }
                };
                samples.push(r);
            }
            (done, samples)
        });
        let curves = curves
            .ok_or("sweep did not finish")?
            .map_err(|e| self.fault(e))?;
        let samples: Vec<(f64, f64, f64)> = samples
            .into_iter()
            .map(|r| r.map(|r| (r.time, r.irradiance, r.shunt_voltage)))
            .collect::<Result<_, _>>()
            .map_err(|e| self.fault(e))?;
        let data: Vec<CurveData> = curves.iter().map(CurveData::from_curve).collect();
        (self.events)(Event::Sweep {
            curves: data.clone(),
        });
        // The module temperature right after the sweep: its change across the sweep is judged.
        let after = self.sample()?;
        let raw = vec![
            (
                "iv_curves".to_string(),
                serde_json::to_string(&curves).unwrap_or_default(),
            ),
            (
                "irradiance_during_sweep".to_string(),
                serde_json::to_string(&samples).unwrap_or_default(),
            ),
            (
                "conditions_before_sweep".to_string(),
                serde_json::to_string(&before).unwrap_or_default(),
            ),
            (
                "conditions_after_sweep".to_string(),
                serde_json::to_string(&after).unwrap_or_default(),
            ),
        ];
        Ok((
            json!({
                "curves": data,
                "irradiance": samples.iter().map(|s| json!([s.0, s.1, s.2])).collect::<Vec<_>>(),
                "before": before.to_value(),
                "after": after.to_value(),
                "settings": settings,
            }),
            raw,
        ))
    }

    /// Live part of `compare_references`: the working cell and every check cell read in
    /// turn, `n` times, all with the cells' (shared) temperature read once before.
    fn compare_live(&mut self, n: usize) -> Result<(Value, Vec<(String, String)>), String> {
        let before = self.sample()?;
        let tc = before.cell_temperature;
        let Bench {
            irradiance_meter,
            check_irradiance_meters,
            ..
        } = &mut self.bench;
        let working = irradiance_meter
            .as_mut()
            .ok_or("the station has no irradiance meter")?;
        if check_irradiance_meters.is_empty() {
            return Err("the station has no second irradiance meter with a check reference cell; add one to the station file".into());
        }
        let mut w = Vec::with_capacity(n);
        let mut checks: Vec<Vec<crate::instruments::roles::IrradianceReading>> =
            vec![Vec::with_capacity(n); check_irradiance_meters.len()];
        for _ in 0..n {
            w.push(
                self.rt
                    .block_on(working.read_irradiance(tc))
                    .map_err(|e| e.to_string())?,
            );
            for (k, m) in check_irradiance_meters.iter_mut().enumerate() {
                checks[k].push(
                    self.rt
                        .block_on(m.read_irradiance(tc))
                        .map_err(|e| e.to_string())?,
                );
            }
        }
        let series = |r: &[crate::instruments::roles::IrradianceReading]| {
            json!({
                "reference": r.first().map(|x| x.reference.clone()),
                "irradiance": r.iter().map(|x| x.irradiance).collect::<Vec<_>>(),
                "shunt_voltage": r.iter().map(|x| x.shunt_voltage).collect::<Vec<_>>(),
                "time": r.iter().map(|x| x.time).collect::<Vec<_>>(),
            })
        };
        let value = json!({
            "cell_temperature": tc,
            "working": series(&w),
            "checks": checks.iter().map(|c| series(c)).collect::<Vec<_>>(),
        });
        let raw = vec![("reference_comparison".to_string(), value.to_string())];
        Ok((value, raw))
    }

    /// `stable_sweep`: wait for the gate, sweep with the irradiance sampled around it, judge
    /// validity; an invalid sweep (conditions broke) or a failed one (instrument fault) is
    /// recorded as an interruption and retaken after recovery, at most `retries` times.
    pub(super) fn stable_sweep(
        &mut self,
        gate: &Gate,
        settings: &SweepSettings,
        retries: i64,
    ) -> HostResult<Value> {
        let limits = ValidityLimits {
            min_irradiance: gate.min_irradiance,
            max_sweep_variation: gate.max_variation,
            max_temperature_spread: gate.max_temperature_spread,
            stability_duration: gate.duration,
            ..ValidityLimits::default()
        };
        let limits = ValidityLimits {
            max_temperature_change: gate
                .max_temperature_change
                .unwrap_or(limits.max_temperature_change),
            max_temperature_age: gate
                .max_temperature_age
                .unwrap_or(limits.max_temperature_age),
            ..limits
        };
        let mut interruptions = Vec::new();
        for attempt in 1..=(retries.max(0) + 1) {
            let window: Value =
                self.activity(ActivityKind::WaitStable, json!({"gate": gate}), |h, _| {
                    h.wait_live(gate)
                })?;
            let seq = self.rec.as_ref().map(Recorder::next_seq).unwrap_or(0);
            let swept: Result<Value, _> = self.try_activity(
                ActivityKind::Sweep,
                json!({"settings": settings}),
                |h, _| h.sweep_live(settings),
            );
            let sweep = match swept {
                Ok(s) => s,
                Err(e) => {
                    let details = json!({"attempt": attempt, "error": e});
                    self.interruption(seq, InterruptionKind::InstrumentFault, details.clone());
                    interruptions.push(details);
                    continue;
                }
            };
            let g: Vec<f64> = sweep["irradiance"]
                .as_array()
                .map(|a| a.iter().filter_map(|s| s[1].as_f64()).collect())
                .unwrap_or_default();
            let sensors = |when: &str| -> Vec<f64> {
                sweep[when]["module_temperatures"]
                    .as_object()
                    .map(|m| m.values().filter_map(Value::as_f64).collect())
                    .unwrap_or_default()
            };
            let (modules, after) = (sensors("before"), sensors("after"));
            // The gate's window is the band before the sweep, judged relative to its level as
            // the gate judges it.
            let before: Vec<(f64, f64)> = window["series"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| Some((p[0].as_f64()?, p[1].as_f64()?)))
                        .collect()
                })
                .unwrap_or_default();
            let level = window["irradiance"].as_f64().unwrap_or(gate.min_irradiance);
            let age = sweep["curves"][0]["start_time"]
                .as_f64()
                .zip(sweep["before"]["time"].as_f64())
                .map(|(start, read)| start - read);
            let checks = check(
                &Observation {
                    sweep_irradiance: &g,
                    before: &before,
                    module_temperatures: &modules,
                    temperature_age: age,
                    module_temperatures_after: &after,
                },
                &ValidityLimits {
                    stability_band: gate.max_variation * level,
                    ..limits
                },
            );
            let failed: Vec<_> = checks.iter().filter(|c| !c.passed).collect();
            if failed.is_empty() {
                let mut out = sweep;
                out["window"] = window;
                out["checks"] = serde_json::to_value(&checks).unwrap_or_default();
                out["attempts"] = json!(attempt);
                out["interruptions"] = json!(interruptions);
                return Ok(out);
            }
            let details = json!({
                "attempt": attempt,
                "failed_checks": failed,
            });
            self.interruption(seq, InterruptionKind::UnstableConditions, details.clone());
            interruptions.push(details);
        }
        fail(format!(
            "no valid sweep after {} attempts: {}",
            retries.max(0) + 1,
            serde_json::to_string(&interruptions).unwrap_or_default()
        ))
    }
}

/// `conditions`, `wait_stable`, `sweep`, `stable_sweep`, `select_channel`, `set_voltage`,
/// `standby`, `read_tester`, `read_sky`, `read_spectrum`, `compare_references`.
pub(super) fn register(engine: &mut Engine, shared: &SharedHost) {
    host_fn!(
        engine,
        shared,
        "conditions",
        |host| -> HostResult<Dynamic> {
            host.use_irradiance_references(false);
            let v: ConditionSample =
                host.activity(ActivityKind::Conditions, json!({}), |h, _| {
                    let s = h.sample()?;
                    let raw = serde_json::to_string(&s).unwrap_or_default();
                    Ok((s, vec![("conditions".into(), raw)]))
                })?;
            to_dyn(&v.to_value())
        }
    );
    host_fn!(engine, shared, "wait_stable", |host,
                                             gate: Map|
     -> HostResult<Dynamic> {
        let gate: Gate = from_dyn("gate", &Dynamic::from_map(gate))?;
        host.use_irradiance_references(false);
        let v: Value = host.activity(ActivityKind::WaitStable, json!({"gate": gate}), |h, _| {
            h.wait_live(&gate)
        })?;
        to_dyn(&v)
    });
    host_fn!(engine, shared, "sweep", |host,
                                       settings: Map|
     -> HostResult<Dynamic> {
        let s = sweep_settings(&Dynamic::from_map(settings))?;
        host.use_irradiance_references(false);
        let v: Value = host.activity(ActivityKind::Sweep, json!({"settings": s}), |h, _| {
            h.sweep_live(&s)
        })?;
        to_dyn(&v)
    });
    host_fn!(engine, shared, "stable_sweep", |host,
                                              gate: Map,
                                              settings: Map,
                                              retries: i64|
     -> HostResult<Dynamic> {
        let gate: Gate = from_dyn("gate", &Dynamic::from_map(gate))?;
        let s = sweep_settings(&Dynamic::from_map(settings))?;
        host.use_irradiance_references(false);
        let v = host.stable_sweep(&gate, &s, retries)?;
        to_dyn(&v)
    });
    host_fn!(engine, shared, "select_channel", |host,
                                                channel: i64|
     -> HostResult<()> {
        let standards: Vec<String> = host
            .station
            .file
            .reference
            .iter()
            .filter(|r| r.switch_channel.is_some_and(|c| i64::from(c) == channel))
            .map(|r| r.id.clone())
            .collect();
        host.used_references.extend(standards);
        host.activity(
            ActivityKind::SelectChannel,
            json!({"channel": channel}),
            |h, _| {
                let sw = h.bench.switch.as_mut().ok_or("the station has no switch")?;
                let ch = (channel > 0).then_some(channel as u32);
                h.rt.block_on(sw.select(ch)).map_err(|e| e.to_string())?;
                Ok(((), vec![]))
            },
        )
    });
    host_fn!(engine, shared, "set_voltage", |host,
                                             volts: Dynamic|
     -> HostResult<()> {
        let v = num("set_voltage", &volts)?;
        host.use_references_of_kind(ReferenceKind::Calibrator);
        host.activity(ActivityKind::SetVoltage, json!({"volts": v}), |h, _| {
            let s = h.bench.source.as_mut().ok_or("the station has no source")?;
            h.rt.block_on(s.set_voltage(v)).map_err(|e| e.to_string())?;
            Ok(((), vec![]))
        })
    });
    host_fn!(engine, shared, "standby", |host| -> HostResult<()> {
        host.activity(ActivityKind::Standby, json!({}), |h, _| {
            let s = h.bench.source.as_mut().ok_or("the station has no source")?;
            h.rt.block_on(s.safe_state()).map_err(|e| e.to_string())?;
            Ok(((), vec![]))
        })
    });
    host_fn!(
        engine,
        shared,
        "read_tester",
        |host| -> HostResult<Dynamic> {
            let v: Value = host.activity(ActivityKind::ReadTester, json!({}), |h, _| {
                let m = h
                    .bench
                    .resistance_meter
                    .as_mut()
                    .ok_or("the station has no resistance meter")?;
                let r = h.rt.block_on(m.read()).map_err(|e| e.to_string())?;
                let v = serde_json::to_value(&r).map_err(|e| e.to_string())?;
                Ok((v.clone(), vec![("tester_reading".into(), v.to_string())]))
            })?;
            to_dyn(&v)
        }
    );
    // `read_sky()`: every Modbus sky instrument once — #{ "poa-pyranometer": #{ irradiance,
    // body_temperature, sensor: "plane_of_array" }, "weather": #{ wind_speed, … } } in the
    // profiles' units, `sensor` as the station file says.
    host_fn!(engine, shared, "read_sky", |host| -> HostResult<Dynamic> {
        let v: Value = host.activity(ActivityKind::ReadSky, json!({}), |h, _| {
            if h.bench.sky.is_empty() {
                return Err("the station has no sky instruments: add [[modbus]] pyranometers or a weather station to the station file".into());
            }
            let mut out = serde_json::Map::new();
            // Spectroradiometers are read whole by `read_spectrum()`.
            for s in h.bench.sky.iter_mut().filter(|s| s.profile.spectrum.is_none()) {
                let r = h.rt.block_on(s.read_all())?;
                let mut v = json!(r);
                if let Some(sensor) = &s.sensor {
                    v["sensor"] = json!(sensor);
                }
                out.insert(s.name.clone(), v);
            }
            if let Some(site) = h.station.file.station.site {
                out.insert("sun".into(), sun_at(h.now(), site, &out));
            }
            let v = Value::Object(out);
            (h.events)(Event::Sky {
                time: h.now(),
                readings: v.clone(),
            });
            Ok((v.clone(), vec![("sky_reading".into(), v.to_string())]))
        })?;
        to_dyn(&v)
    });
    // `read_spectrum()`: every spectroradiometer's latched spectrum once — #{ "spectroradiometer":
    // #{ wavelength: [nm…], irradiance: [W/m²/nm…], unit, scan, registers: #{ integration_time,
    // status, … }, broadband: ∫ over the range [W/m²], time: the run's clock [s since epoch] } };
    // the raw scan is journaled whole.
    host_fn!(
        engine,
        shared,
        "read_spectrum",
        |host| -> HostResult<Dynamic> {
            let v: Value = host.activity(ActivityKind::ReadSpectrum, json!({}), |h, _| {
            let mut out = serde_json::Map::new();
            let now = h.now();
            for s in h.bench.sky.iter_mut().filter(|s| s.profile.spectrum.is_some()) {
                let scan = h.rt.block_on(s.read_spectrum())?;
                let broadband: f64 = scan
                    .wavelength
                    .windows(2)
                    .zip(scan.irradiance.windows(2))
                    .map(|(w, e)| 0.5 * (e[0] + e[1]) * (w[1] - w[0]))
                    .sum();
                (h.events)(Event::Spectrum {
                    time: now,
                    instrument: s.name.clone(),
                    wavelength: scan.wavelength.clone(),
                    irradiance: scan.irradiance.clone(),
                });
                let mut v = serde_json::to_value(&scan).map_err(|e| e.to_string())?;
                v["broadband"] = json!(broadband);
                v["time"] = json!(now);
                out.insert(s.name.clone(), v);
            }
            if out.is_empty() {
                return Err("the station has no spectroradiometer: add a [[modbus]] entry with a spectroradiometer profile (pvstation-spectroradiometer) to the station file".into());
            }
            let v = Value::Object(out);
            Ok((v.clone(), vec![("spectrum".into(), v.to_string())]))
        })?;
            to_dyn(&v)
        }
    );
    host_fn!(engine, shared, "compare_references", |host,
                                                    readings: i64|
     -> HostResult<
        Dynamic,
    > {
        let n = readings.clamp(1, 10_000);
        host.use_irradiance_references(true);
        let v: Value = host.activity(
            ActivityKind::CompareReferences,
            json!({"readings": n}),
            |h, _| h.compare_live(n as usize),
        )?;
        to_dyn(&v)
    });
}

/// The sun at `t` from the station's site (NREL SPA, `analysis::sun`), with the angle of
/// incidence on the module plane and the air mass; pressure and temperature for the refraction
/// and the absolute air mass from a weather station read in the same activity, else the ISO 2533
/// standard atmosphere at the site's altitude and 15 °C. ΔT = 69 s (TT − UT1 for 2026, IERS
/// Bulletin A order of magnitude [U]; its effect on the position is < 0.001°).
fn sun_at(
    t: f64,
    site: crate::instruments::station::SiteInfo,
    readings: &serde_json::Map<String, Value>,
) -> Value {
    use crate::analysis::sun::{
        Site, absolute_air_mass, angle_of_incidence, relative_air_mass, sun_position,
    };
    let weather = readings
        .values()
        .find(|r| r.get("pressure").is_some())
        .cloned()
        .unwrap_or(Value::Null);
    let pressure = weather["pressure"]
        .as_f64()
        .unwrap_or_else(|| 1013.25 * (1.0 - 2.25577e-5 * site.altitude).powf(5.25588));
    let temperature = weather["ambient_temperature"].as_f64().unwrap_or(15.0);
    let p = sun_position(
        t,
        Site {
            latitude: site.latitude,
            longitude: site.longitude,
            altitude: site.altitude,
        },
        pressure,
        temperature,
        69.0,
    );
    let aoi = match (site.tracker, site.tilt, site.azimuth) {
        (false, Some(tilt), Some(azimuth)) => {
            angle_of_incidence(p.zenith, p.azimuth, tilt, azimuth)
        }
        _ => 0.0,
    };
    let am = relative_air_mass(p.apparent_zenith);
    json!({
        "zenith": p.zenith,
        "apparent_zenith": p.apparent_zenith,
        "azimuth": p.azimuth,
        "angle_of_incidence": aoi,
        "air_mass": am,
        "air_mass_absolute": am.map(|m| absolute_air_mass(m, pressure)),
        "pressure": pressure,
    })
}
