//! The simulated world every simulated instrument observes: sky, PV module, reference cell,
//! temperature sensors, standard resistors, battery internal-resistance tester, calibrator.
//!
//! Everything physical is a deterministic function of simulated time and the seed, so two
//! runs with the same seed see the same sun; only instrument noise draws from per-device
//! random streams. Connected devices share state here: the relay switch selects which
//! standard resistor the tester sees, and the calibrator's output is what the tester's
//! voltage input reads.

use std::sync::Mutex;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::diode::SingleDiode;
use super::sky::{Detector, Plane, Site, Sky, clouded};

/// Accelerated clock: simulated seconds since the Unix epoch advance `speed` times faster
/// than real time.
#[derive(Debug, Clone)]
pub struct SimClock {
    real_start: Instant,
    sim_start: f64,
    speed: f64,
}

impl SimClock {
    /// A clock that reads `sim_start` [s since epoch] now and runs `speed` times real time.
    pub fn new(sim_start: f64, speed: f64) -> Self {
        SimClock {
            real_start: Instant::now(),
            sim_start,
            speed: if speed.is_finite() && speed > 0.0 {
                speed
            } else {
                1.0
            },
        }
    }

    /// Simulated now [s since epoch].
    pub fn now(&self) -> f64 {
        self.sim_start + self.real_start.elapsed().as_secs_f64() * self.speed
    }

    /// Acceleration factor.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Real duration corresponding to `sim_seconds` of simulated time.
    pub fn real_duration(&self, sim_seconds: f64) -> std::time::Duration {
        std::time::Duration::from_secs_f64((sim_seconds / self.speed).clamp(0.0, 1e6))
    }
}

/// Configuration of the world.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    /// Seed of clouds and noise.
    pub seed: u64,
    /// Clock acceleration.
    pub speed: f64,
    /// Simulated start, seconds since the Unix epoch; local mean solar time is UTC plus
    /// longitude/15 h.
    pub start: f64,
    /// Site latitude [°] (36.62° N, a high-plateau site).
    pub latitude: f64,
    /// Site longitude [°, east +] (101.77° E).
    pub longitude: f64,
    /// Site altitude [m] (thin air: low air mass, high irradiance).
    pub altitude: f64,
    /// The plane of the module, reference cells and plane-of-array pyranometer.
    pub plane: Plane,
    /// Whether clouds pass; without them the day is clear.
    pub clouds: bool,
    /// The module under test.
    pub module: SimModule,
}

/// The modules a simulated station can test: each a device model with its own spectral and
/// angular response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SimModule {
    /// Canadian Solar CS5P-220M, mono-Si (instruments/modules/cs5p-220m.toml).
    #[default]
    Cs5p220m,
    /// First Solar FS-4117-3, CdTe (instruments/modules/fs-4117-3.toml).
    Fs4117,
}

impl SimModule {
    /// The simulated module a station's `dut` names (a shipped module's name, or a module
    /// file whose name is one), if the simulator has it.
    pub fn from_dut(dut: &str) -> Option<SimModule> {
        let stem = std::path::Path::new(dut)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(dut);
        match stem {
            "cs5p-220m" => Some(SimModule::Cs5p220m),
            "fs-4117-3" => Some(SimModule::Fs4117),
            _ => None,
        }
    }

    /// Its single-diode model.
    pub fn device(self) -> SingleDiode {
        match self {
            SimModule::Cs5p220m => SingleDiode::cs5p_220m(),
            SimModule::Fs4117 => SingleDiode::fs_4117_3(),
        }
    }

    /// Its spectral and angular response.
    pub fn detector(self) -> Detector {
        match self {
            SimModule::Cs5p220m => Detector::Module,
            SimModule::Fs4117 => Detector::ThinFilmModule,
        }
    }
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig {
            seed: 1,
            speed: 1.0,
            // 2026-06-21 05:00 UTC ≈ 11:40 local solar time at 101.8° E.
            start: 1_782_018_000.0,
            latitude: 36.62,
            longitude: 101.77,
            altitude: 2260.0,
            plane: Plane::Tracker,
            clouds: true,
            module: SimModule::Cs5p220m,
        }
    }
}

/// A cloud passing in front of the sun.
#[derive(Debug, Clone, Copy)]
struct Cloud {
    centre: f64,
    half_width: f64,
    depth: f64,
}

/// A four-terminal standard resistor behind a relay channel.
#[derive(Debug, Clone)]
pub struct StandardResistor {
    /// Relay channel that connects it.
    pub channel: u32,
    /// True value at 1 kHz [Ω] (what the certificate states, within its uncertainty).
    pub value: f64,
}

/// Errors of the battery internal-resistance tester under calibration.
#[derive(Debug, Clone, Copy)]
pub struct TesterErrors {
    /// Relative gain error of the resistance function [1].
    pub resistance_gain: f64,
    /// Offset of the resistance function [Ω].
    pub resistance_offset: f64,
    /// Relative gain error of the voltage function [1].
    pub voltage_gain: f64,
    /// Offset of the voltage function [V].
    pub voltage_offset: f64,
}

impl Default for TesterErrors {
    fn default() -> Self {
        TesterErrors {
            resistance_gain: 0.0015,
            resistance_offset: 2e-6,
            voltage_gain: -0.0002,
            voltage_offset: 30e-6,
        }
    }
}

/// State of the calibrator output.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CalibratorOutput {
    /// Programmed DC voltage [V].
    pub volts: f64,
    /// Output operating (true) or standby (false).
    pub operate: bool,
}

/// The simulated world.
#[derive(Debug)]
pub struct World {
    config: WorldConfig,
    clock: Mutex<SimClock>,
    clouds: Vec<Cloud>,
    /// The module under test.
    pub module: SingleDiode,
    /// Reference-cell short-circuit current at STC, true value [A].
    pub reference_cell_isc_stc: f64,
    /// Reference-cell relative temperature coefficient of Isc [1/K].
    pub reference_cell_alpha_rel: f64,
    /// Shunt across the reference cell [Ω].
    pub reference_shunt: f64,
    /// Drift of the working reference cell's true Isc since its calibration [1/year]: the
    /// aging (encapsulant browning) the daily `reference-check` exists to catch.
    pub reference_cell_drift_per_year: f64,
    /// When the working reference cell was calibrated [s since epoch] (2026-03-11).
    pub reference_cell_calibrated: f64,
    /// Check (secondary) reference cell mounted beside it: Isc at STC, true value [A].
    pub check_cell_isc_stc: f64,
    /// Shunt across the check cell [Ω].
    pub check_shunt: f64,
    /// Module back-of-module sensor offsets (non-uniformity) [K], one per channel.
    pub sensor_offsets: Vec<f64>,
    /// Standard resistors behind the switch.
    pub resistors: Vec<StandardResistor>,
    /// Errors of the tester under calibration.
    pub tester: TesterErrors,
    thermal: Mutex<Thermal>,
    sky: Sky,
    /// Phases of the wind's periodic components [rad] (seeded apart from everything else).
    wind_phases: [f64; 4],
    switch_closed: Mutex<Option<u32>>,
    calibrator: Mutex<CalibratorOutput>,
}

/// Lazily integrated module and reference-cell temperatures on a fixed grid.
#[derive(Debug)]
struct Thermal {
    t0: f64,
    module: Vec<f64>,
    cell: Vec<f64>,
    /// Intervals during which the module was shaded (the operator's cover) [s since epoch].
    shades: Vec<(f64, f64)>,
}

/// Transmission of the operator's cover over the module (diffuse light only) [1].
const SHADE_TRANSMISSION: f64 = 0.05;
/// How long the simulated operator keeps the module covered before answering `cooled` [s].
pub const SHADE_DURATION: f64 = 1200.0;

/// Grid step of the thermal integration [s].
const THERMAL_STEP: f64 = 2.0;
/// Thermal time constant of a glass-backsheet module [s] (typically 5–10 min).
const MODULE_TAU: f64 = 420.0;
/// Thermal time constant of an encapsulated reference cell [s].
const CELL_TAU: f64 = 240.0;
/// Faiman heat-loss coefficients of an open-rack glass-backsheet module: constant U0
/// [W/(m²·K)] and wind U1 [W·s/(m³·K)] (Faiman, D. (2008), Prog. Photovolt. 16, 307–315;
/// IEC 61853-2:2016 §8; pvlib `temperature.faiman` defaults): T_m = T_a + G/(U0 + U1·v).
const FAIMAN_U0: f64 = 25.0;
const FAIMAN_U1: f64 = 6.84;
/// Cell minus back-sheet temperature of the simulated module at 1000 W/m² [K]: this module's
/// own value, which the station does not know exactly (its module file states the SAPM
/// open-rack value, 3 ± 1 K) [U].
const BACK_TO_CELL: f64 = 2.5;
/// The reference cell's smaller, metal-backed package runs cooler than the module [U].
const CELL_HEATING: f64 = 0.8;

impl World {
    /// Build the world from its configuration.
    pub fn new(config: WorldConfig) -> Self {
        let mut rng = StdRng::seed_from_u64(config.seed);
        let mut clouds = Vec::new();
        if config.clouds {
            // One cloud every ~20 min on average over three days around the start. The sky
            // is anchored to the simulated day (from 05:00 UTC, ≈ 11:40 local solar time),
            // not to the start itself: a resumed run whose world restarts later that day sees
            // the same sky.
            const ANCHOR: f64 = 5.0 * 3600.0;
            let day = ((config.start - ANCHOR) / 86_400.0).floor() * 86_400.0 + ANCHOR;
            let mut t = day - 86_400.0;
            while t < day + 2.0 * 86_400.0 {
                t += rng.random_range(300.0..2400.0);
                clouds.push(Cloud {
                    centre: t,
                    half_width: rng.random_range(20.0..240.0),
                    depth: rng.random_range(0.15..0.85),
                });
            }
        }
        let sensor_offsets = (0..4).map(|_| rng.random_range(-0.4..0.4)).collect();
        // The wind draws from its own stream: the sky and the sensors stay as they were.
        let mut wind_rng = StdRng::seed_from_u64(config.seed ^ 0x5749_4e44);
        let wind_phases =
            std::array::from_fn(|_| wind_rng.random_range(0.0..std::f64::consts::TAU));
        let sky = Sky::new(
            Site {
                latitude: config.latitude,
                longitude: config.longitude,
                altitude: config.altitude,
            },
            config.plane,
            config.seed,
            standard_pressure(config.altitude),
        );
        World {
            sky,
            clock: Mutex::new(SimClock::new(config.start, config.speed)),
            clouds,
            module: config.module.device(),
            reference_cell_isc_stc: 0.1213,
            reference_cell_alpha_rel: 0.0005,
            reference_shunt: 1.0002,
            reference_cell_drift_per_year: -0.01,
            reference_cell_calibrated: 1_773_187_200.0,
            check_cell_isc_stc: 0.1187,
            check_shunt: 0.9998,
            sensor_offsets,
            resistors: vec![
                StandardResistor {
                    channel: 1,
                    value: 1.00012e-3,
                },
                StandardResistor {
                    channel: 2,
                    value: 10.0008e-3,
                },
                StandardResistor {
                    channel: 3,
                    value: 99.9971e-3,
                },
                StandardResistor {
                    channel: 4,
                    value: 1.000_043,
                },
                StandardResistor {
                    channel: 5,
                    value: 9.999_86,
                },
            ],
            tester: TesterErrors::default(),
            thermal: Mutex::new(Thermal {
                t0: config.start - 3600.0,
                module: Vec::new(),
                cell: Vec::new(),
                shades: Vec::new(),
            }),
            wind_phases,
            switch_closed: Mutex::new(None),
            calibrator: Mutex::new(CalibratorOutput::default()),
            config,
        }
        .warmed()
    }

    /// The sky's first hour and the module's thermal history up to the start, computed now:
    /// an instrument's first reading must not stall its server (a sweep's timing is simulated
    /// time, which runs on while the server computes).
    fn warmed(self) -> Self {
        let start = self.config.start;
        let _ = self.temperatures(start);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &WorldConfig {
        &self.config
    }

    /// Simulated now [s since epoch].
    pub fn now(&self) -> f64 {
        lock(&self.clock).now()
    }

    /// A copy of the clock (for converting simulated to real durations).
    pub fn clock(&self) -> SimClock {
        lock(&self.clock).clone()
    }

    /// Restart the clock at `sim_now` (used when a run resumes at its last journaled time).
    pub fn set_now(&self, sim_now: f64) {
        let speed = lock(&self.clock).speed();
        *lock(&self.clock) = SimClock::new(sim_now, speed);
    }

    /// Local mean solar time of day at `t` [h].
    fn solar_hour(&self, t: f64) -> f64 {
        (t / 3600.0 + self.config.longitude / 15.0).rem_euclid(24.0)
    }

    /// The spectral sky and its detectors.
    pub fn sky(&self) -> &Sky {
        &self.sky
    }

    /// What `detector` reads at `t` [W/m²]: its effective irradiance (its own spectral and
    /// angular response, calibrated to read 1000 under AM1.5G at normal incidence), under the
    /// passing clouds.
    pub fn detector_irradiance(&self, detector: Detector, t: f64) -> f64 {
        clouded(self.sky.effective_parts(detector, t), self.cloud_factor(t)).0
    }

    /// What the module converts at `t` [W/m²]: the effective irradiance behind its glass with
    /// its spectral response (its short-circuit current is proportional to it).
    pub fn module_irradiance(&self, t: f64) -> f64 {
        self.detector_irradiance(self.config.module.detector(), t)
    }

    /// What the reference cells convert at `t` [W/m²].
    pub fn reference_cell_irradiance(&self, t: f64) -> f64 {
        self.detector_irradiance(Detector::ReferenceCell, t)
    }

    /// What a plane-of-array thermopile pyranometer reads at `t` [W/m²].
    pub fn pyranometer_irradiance(&self, t: f64) -> f64 {
        self.detector_irradiance(Detector::Thermopile, t)
    }

    /// Diffuse in-plane irradiance at `t` as a thermopile behind a shading ball reads it
    /// [W/m²]: sky diffuse (with the light clouds scatter) and ground-reflected.
    pub fn diffuse_irradiance(&self, t: f64) -> f64 {
        clouded(
            self.sky.effective_parts(Detector::Thermopile, t),
            self.cloud_factor(t),
        )
        .1
    }

    /// Global spectral irradiance on the plane at `t` [W·m⁻²·nm⁻¹] on the SPECTRL2
    /// wavelengths (`sim::spectrl2::wavelengths`), clouds included.
    pub fn spectrum(&self, t: f64) -> Vec<f64> {
        let cloud = self.cloud_factor(t);
        let [beam, sky, ground] = self.sky.clear_spectra(t);
        (0..beam.len())
            .map(|k| clouded([beam[k], sky[k], ground[k]], cloud).0)
            .collect()
    }

    /// Angle of incidence of the beam on the module plane at `t` [°].
    pub fn angle_of_incidence(&self, t: f64) -> f64 {
        self.sky.aoi(t)
    }

    /// Wind speed at `t` [m/s]: a plateau breeze of ~3 m/s with slow swings and gusts
    /// (periodic components with seeded phases) [U].
    pub fn wind_speed(&self, t: f64) -> f64 {
        let p = &self.wind_phases;
        let tau = std::f64::consts::TAU;
        (3.0 + 1.5 * (tau * t / 1800.0 + p[0]).sin()
            + 0.8 * (tau * t / 97.0 + p[1]).sin()
            + 0.5 * (tau * t / 23.0 + p[2]).sin())
        .max(0.0)
    }

    /// Wind direction at `t` [°, from north, clockwise]: south-westerly, veering ±25° [U].
    pub fn wind_direction(&self, t: f64) -> f64 {
        (220.0 + 25.0 * (std::f64::consts::TAU * t / 3600.0 + self.wind_phases[3]).sin())
            .rem_euclid(360.0)
    }

    /// Relative humidity at `t` [%]: dry plateau afternoons, moister mornings [U].
    pub fn relative_humidity(&self, t: f64) -> f64 {
        let h = self.solar_hour(t);
        35.0 + 20.0 * (std::f64::consts::PI * (h - 5.0) / 12.0).cos()
    }

    /// Station pressure [hPa] at the site's altitude (~770 hPa at 2 260 m).
    pub fn pressure(&self) -> f64 {
        standard_pressure(self.config.altitude)
    }

    /// Transmission of the passing clouds at `t` [1], with cloud enhancement (up to ~+15 %)
    /// at their edges, which is how plateau sites reach ~1300 W/m².
    fn cloud_factor(&self, t: f64) -> f64 {
        let mut factor = 1.0;
        for c in &self.clouds {
            let x = (t - c.centre) / c.half_width;
            if x.abs() > 2.0 {
                continue;
            }
            let core = (-x * x * 4.0).exp();
            let edge = (-(x.abs() - 1.2).powi(2) * 10.0).exp();
            factor *= (1.0 - c.depth * core) * (1.0 + 0.15 * edge);
        }
        factor
    }

    /// Broadband global in-plane irradiance at `t` [W/m²] (300–4000 nm, no angular loss): the
    /// light on the plane, before any detector's responses.
    pub fn irradiance(&self, t: f64) -> f64 {
        clouded(self.sky.clear_parts(t), self.cloud_factor(t)).0
    }

    /// Ambient temperature at `t` [°C]: cold plateau mornings, warm afternoons.
    pub fn ambient(&self, t: f64) -> f64 {
        let h = self.solar_hour(t);
        4.0 + 11.0 * (std::f64::consts::PI * (h - 8.0) / 14.0).sin().max(-0.6)
    }

    fn temperatures(&self, t: f64) -> (f64, f64) {
        let mut th = lock(&self.thermal);
        if th.module.is_empty() {
            let a = self.ambient(th.t0);
            let rise = self.irradiance(th.t0) / self.heat_loss(th.t0);
            th.module.push(a + rise);
            th.cell.push(a + CELL_HEATING * rise);
        }
        if t < th.t0 {
            return (th.module[0], th.cell[0]);
        }
        let index = (t - th.t0) / THERMAL_STEP;
        let needed = index.floor() as usize + 2;
        while th.module.len() < needed {
            let k = th.module.len() - 1;
            let tk = th.t0 + k as f64 * THERMAL_STEP;
            let a = self.ambient(tk);
            let g = self.irradiance(tk);
            let u = self.heat_loss(tk);
            let (m, c) = (th.module[k], th.cell[k]);
            let shaded = th.shades.iter().any(|(from, to)| tk >= *from && tk < *to);
            let g_module = if shaded { g * SHADE_TRANSMISSION } else { g };
            // Exact step of dT/dt = (T_eq − T)/τ with T_eq held over the step; the wind cools.
            let m_eq = a + g_module / u;
            let c_eq = a + CELL_HEATING * g / u;
            th.module
                .push(m_eq + (m - m_eq) * (-THERMAL_STEP / MODULE_TAU).exp());
            th.cell
                .push(c_eq + (c - c_eq) * (-THERMAL_STEP / CELL_TAU).exp());
        }
        let k = index.floor() as usize;
        let f = index - k as f64;
        (
            th.module[k] + f * (th.module[k + 1] - th.module[k]),
            th.cell[k] + f * (th.cell[k + 1] - th.cell[k]),
        )
    }

    /// Faiman heat-loss coefficient at `t` [W/(m²·K)]: U0 + U1 × wind speed.
    fn heat_loss(&self, t: f64) -> f64 {
        FAIMAN_U0 + FAIMAN_U1 * self.wind_speed(t)
    }

    /// What the simulated operator does when answering a prompt. `cooled`: the module was
    /// covered for [`SHADE_DURATION`] before `now` (as the `iec60891-params` procedure asks),
    /// so it is near ambient temperature when the answer arrives. Other prompts change
    /// nothing in the world.
    pub fn operator_action(&self, prompt: &str, now: f64) {
        if prompt != "cooled" {
            return;
        }
        let mut th = lock(&self.thermal);
        let from = now - SHADE_DURATION;
        th.shades.push((from, now));
        // The module's history from the cover on is recomputed with the shade.
        let keep = (((from - th.t0) / THERMAL_STEP).floor().max(0.0) as usize) + 1;
        th.module.truncate(keep);
        th.cell.truncate(keep);
    }

    /// Module cell temperature at `t` [°C], lagging irradiance and ambient.
    pub fn module_temperature(&self, t: f64) -> f64 {
        self.temperatures(t).0
    }

    /// Temperature seen by back-of-module sensor `index` [°C]: the back sheet runs below the
    /// cells in proportion to the light the module converts (the SAPM form, King et al.,
    /// SAND2004-3535), by [`BACK_TO_CELL`] at 1000 W/m², plus the sensor's position-dependent
    /// offset.
    pub fn module_back_temperature(&self, t: f64, index: usize) -> f64 {
        let offset = self.sensor_offsets.get(index).copied().unwrap_or(0.0);
        self.module_temperature(t) - BACK_TO_CELL * self.module_irradiance(t) / 1000.0 + offset
    }

    /// Reference-cell temperature at `t` [°C].
    pub fn reference_cell_temperature(&self, t: f64) -> f64 {
        self.temperatures(t).1
    }

    /// Reference-cell short-circuit current at `t` [A].
    fn reference_cell_isc(&self, t: f64) -> f64 {
        let g = self.reference_cell_irradiance(t);
        let tc = self.reference_cell_temperature(t);
        let years = (t - self.reference_cell_calibrated) / (365.25 * 86_400.0);
        self.reference_cell_isc_stc
            * (1.0 + self.reference_cell_drift_per_year * years.max(0.0))
            * g
            / 1000.0
            * (1.0 + self.reference_cell_alpha_rel * (tc - 25.0))
    }

    /// Voltage across the check cell's shunt at `t` [V]: same plane, same temperature
    /// (mounted beside the working cell, read by its PT100), no drift.
    pub fn check_shunt_voltage(&self, t: f64) -> f64 {
        let tc = self.reference_cell_temperature(t);
        self.check_cell_isc_stc * self.reference_cell_irradiance(t) / 1000.0
            * (1.0 + self.reference_cell_alpha_rel * (tc - 25.0))
            * self.check_shunt
    }

    /// Voltage across the reference-cell shunt at `t` [V].
    pub fn reference_shunt_voltage(&self, t: f64) -> f64 {
        self.reference_cell_isc(t) * self.reference_shunt
    }

    /// Module current at terminal voltage `v` and time `t` [A], generator convention.
    pub fn module_current(&self, v: f64, t: f64) -> f64 {
        self.module
            .current(v, self.module_irradiance(t), self.module_temperature(t))
    }

    /// Close relay `channel` (break-before-make: any other channel opens).
    pub fn close_switch(&self, channel: Option<u32>) {
        *lock(&self.switch_closed) = channel;
    }

    /// The closed relay channel, if any.
    pub fn closed_switch(&self) -> Option<u32> {
        *lock(&self.switch_closed)
    }

    /// The resistance the tester sees [Ω]; `None` when no standard is connected (open input).
    pub fn connected_resistance(&self) -> Option<f64> {
        let channel = self.closed_switch()?;
        self.resistors
            .iter()
            .find(|r| r.channel == channel)
            .map(|r| r.value)
    }

    /// Set the calibrator output.
    pub fn set_calibrator(&self, output: CalibratorOutput) {
        *lock(&self.calibrator) = output;
    }

    /// The calibrator output.
    pub fn calibrator(&self) -> CalibratorOutput {
        *lock(&self.calibrator)
    }

    /// Voltage at the tester's voltage input [V] (the calibrator's, 0 in standby).
    pub fn tester_input_voltage(&self) -> f64 {
        let out = self.calibrator();
        if out.operate { out.volts } else { 0.0 }
    }
}

/// Station pressure [hPa] at `altitude` [m]: the ISO 2533 standard atmosphere (pvlib
/// `atmosphere.alt2pres`).
fn standard_pressure(altitude: f64) -> f64 {
    1013.25 * (1.0 - 2.25577e-5 * altitude).powf(5.25588)
}

/// Lock a mutex, carrying on after a poisoning panic elsewhere: the guarded data are plain
/// values that stay consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plateau_noon_is_bright_and_nights_are_dark() {
        let world = World::new(WorldConfig {
            clouds: false,
            ..WorldConfig::default()
        });
        let noon = world.config().start + 0.3 * 3600.0;
        let g = world.irradiance(noon);
        assert!((1000.0..1250.0).contains(&g), "{g}");
        assert_eq!(world.irradiance(noon + 12.0 * 3600.0), 0.0);
        let t = world.module_temperature(noon);
        assert!((20.0..60.0).contains(&t), "{t}");
    }

    #[test]
    fn clouds_dim_and_enhance() {
        let world = World::new(WorldConfig::default());
        let start = world.config().start;
        let factors: Vec<f64> = (0..20_000)
            .map(|k| world.cloud_factor(start + k as f64 * 5.0))
            .collect();
        let min = factors.iter().copied().fold(f64::INFINITY, f64::min);
        let max = factors.iter().copied().fold(0.0, f64::max);
        assert!(min < 0.6, "{min}");
        assert!(max > 1.05 && max < 1.35, "{max}");
    }
}
