//! Station files (`instruments/stations/*.toml`): which instrument sits at which resource in
//! which role, and the reference devices and standards with their certificates.
//!
//! Validation happens once, on load, and every message names the file, the key and what to
//! fix, because a station file is edited by hand at the bench.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::InstrumentsError;
use super::profile::{Interface, Profile, Profiles, Role};
use crate::scpi::{Resource, SerialSettings};

mod reference;
pub use reference::{
    CalibrationRecord, Certificate, CertificateStatus, Drift, PastCalibration, ReferenceDevice,
    ReferenceKind,
};

/// `[station]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationInfo {
    /// Human-readable name.
    pub name: String,
    /// Laboratory operating the station.
    #[serde(default)]
    pub laboratory: Option<String>,
    /// The laboratory's postal address (reports, ISO/IEC 17025 7.8.2.1 b).
    #[serde(default)]
    pub address: Option<String>,
    /// The laboratory's e-mail contact (DCC `calibrationLaboratory`).
    #[serde(default)]
    pub email: Option<String>,
    /// ISO 3166-1 alpha-2 country code of the laboratory (DCC `coreData`).
    #[serde(default)]
    pub country: Option<String>,
    /// Whether the instruments are simulated (`resource = "sim"` allowed).
    #[serde(default)]
    pub simulated: bool,
    /// Seed of the simulated world.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Acceleration of the simulated clock.
    #[serde(default)]
    pub speed: Option<f64>,
    /// Language of the certificates: `en`, `zh` or `zh-en` (default `en`).
    #[serde(default)]
    pub language: Option<String>,
    /// The laboratory's name in Chinese (zh certificates).
    #[serde(default)]
    pub laboratory_zh: Option<String>,
    /// The laboratory's postal address in Chinese (zh certificates).
    #[serde(default)]
    pub address_zh: Option<String>,
    /// Accreditation body (e.g. "CNAS"), when the laboratory is accredited.
    #[serde(default)]
    pub accreditation_body: Option<String>,
    /// Accreditation number (e.g. "CNAS L0000").
    #[serde(default)]
    pub accreditation_number: Option<String>,
    /// The outdoor site and the module plane (sun position, angle of incidence, air mass).
    #[serde(default)]
    pub site: Option<SiteInfo>,
    /// The module under test: a module shipped with pvstation by name (`cs5p-220m`, see
    /// `instruments/modules/`) or a module file's path, relative to the station file.
    #[serde(default)]
    pub dut: Option<String>,
    /// Prefix of this station's certificate numbers (`PREFIX-YYYY-NNNN`; default `PVS`).
    /// A laboratory with several stations gives each its own, so that numbers issued offline
    /// never collide in the lab store (which refuses a number issued twice).
    #[serde(default)]
    pub number_prefix: Option<String>,
}

/// `[station.site]`: where the outdoor bench stands and how the module faces the sky.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteInfo {
    /// Latitude [°, north +].
    pub latitude: f64,
    /// Longitude [°, east +].
    pub longitude: f64,
    /// Altitude above sea level [m].
    pub altitude: f64,
    /// The module is on a two-axis tracker pointing at the sun (angle of incidence 0).
    #[serde(default)]
    pub tracker: bool,
    /// Fixed plane: tilt from horizontal [°].
    #[serde(default)]
    pub tilt: Option<f64>,
    /// Fixed plane: azimuth the module faces [°, eastward from north; 180 = south].
    #[serde(default)]
    pub azimuth: Option<f64>,
}

/// `[[instrument]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentEntry {
    /// Unique name.
    pub name: String,
    /// Profile id.
    pub profile: String,
    /// Role played.
    pub role: Role,
    /// VISA resource string, or `sim` on a simulated station.
    pub resource: String,
    /// Serial number (also the simulated instrument's).
    #[serde(default)]
    pub serial_number: Option<String>,
    /// Its calibrations (`[[instrument.calibration]]`): the instrument itself and any sensor
    /// read through it (PT100 probes on a DAQ). Every instrument whose specification enters
    /// an uncertainty budget needs one, valid on the day of the measurement, for a final
    /// certificate (ISO/IEC 17025:2017 6.5, 7.8.4.1 c).
    #[serde(default)]
    pub calibration: Vec<CalibrationRecord>,
    /// Serial line settings (override the profile's).
    #[serde(default)]
    pub serial: Option<SerialSettings>,
    /// Override of the profile's program-message terminator.
    #[serde(default)]
    pub write_termination: Option<String>,
    /// Override of the profile's response terminator.
    #[serde(default)]
    pub read_termination: Option<String>,
    /// Override of the profile's timeout [ms].
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Thermometer channels: sensor name → channel.
    #[serde(default)]
    pub channels: BTreeMap<String, u32>,
    /// Reference device read through this instrument (irradiance meters).
    #[serde(default)]
    pub reference: Option<String>,
    /// What the simulated instrument's input is wired to (`reference_shunt`, `pt100:N`).
    #[serde(default)]
    pub sim_input: Option<String>,
    /// Faults injected into the simulated instrument.
    #[serde(default)]
    pub faults: Vec<String>,
    /// Accuracy specifications and calibrated uncertainties that enter uncertainty budgets, by
    /// function (`voltage`, `current`, `dcv`, `temperature`, …): `[instrument.accuracy.voltage]`.
    #[serde(default)]
    pub accuracy: BTreeMap<String, Accuracy>,
}

/// One function's accuracy: a specification ±(reading·|x| + range·full_scale) read as a
/// rectangular half-width (JCGM 100 4.3.7), and/or a standard uncertainty from a calibration
/// certificate (normal), with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accuracy {
    /// Fraction of reading [1].
    #[serde(default)]
    pub reading: f64,
    /// Fraction of range [1].
    #[serde(default)]
    pub range: f64,
    /// Full scale of the range used [unit of the quantity].
    #[serde(default)]
    pub full_scale: f64,
    /// Standard uncertainty [unit of the quantity] (certificate, k = 1).
    #[serde(default)]
    pub u: Option<f64>,
    /// Datasheet, certificate number, or the lab's estimate.
    pub source: String,
}

/// `[[modbus]]`: an instrument that speaks Modbus (pyranometers, weather stations), described
/// by a Modbus profile (`instruments/modbus/*.toml`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusEntry {
    /// Unique name (among all instruments).
    pub name: String,
    /// Modbus profile id (`kipp-zonen-smp10`, `pvstation-weather`).
    pub profile: String,
    /// `MODBUS-RTU::/dev/ttyUSB0::UNIT`, `MODBUS-TCP::HOST::PORT::UNIT`, or `sim`.
    pub resource: String,
    /// What it measures: `plane_of_array`, `diffuse` (pyranometers), `weather` or `spectrum`
    /// (the spectroradiometer, in the module plane). Required of a simulated instrument; on a
    /// real one it tells procedures which pyranometer is which.
    #[serde(default)]
    pub sensor: Option<String>,
    /// Faults injected into a simulated instrument (`sim::faults` grammar: `no-reply@3`,
    /// `crc@2`, `error=6@4`, `reboot@5`, `latency=200`, …).
    #[serde(default)]
    pub faults: Vec<String>,
    /// A simulated instrument on its RS-485 line: served as Modbus RTU on a pseudo-terminal
    /// (`MODBUS-RTU::/dev/pts/N::1`, the profile's serial settings) instead of Modbus TCP.
    #[serde(default)]
    pub rtu: bool,
    /// Its calibrations.
    #[serde(default)]
    pub calibration: Vec<CalibrationRecord>,
}

/// The whole file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationFile {
    /// `[station]`.
    pub station: StationInfo,
    /// `[[instrument]]`.
    #[serde(default)]
    pub instrument: Vec<InstrumentEntry>,
    /// `[[reference]]`.
    #[serde(default)]
    pub reference: Vec<ReferenceDevice>,
    /// `[[modbus]]`.
    #[serde(default)]
    pub modbus: Vec<ModbusEntry>,
}

/// A loaded, validated station.
#[derive(Debug, Clone)]
pub struct Station {
    /// File it came from.
    pub path: PathBuf,
    /// Contents.
    pub file: StationFile,
    /// Profiles available to it.
    pub profiles: Profiles,
}

/// The shipped simulated station, for `pvstation demo` run from anywhere.
pub const DEMO_SIM_STATION: &str = include_str!("../../instruments/stations/demo-sim.toml");

impl Station {
    /// The built-in simulated station (`instruments/stations/demo-sim.toml`).
    pub fn built_in() -> Result<Station, InstrumentsError> {
        Station::parse(
            Path::new("instruments/stations/demo-sim.toml (built in)"),
            DEMO_SIM_STATION,
            Profiles::built_in()?,
        )
    }

    /// A station file, or the built-in simulated station when none is given.
    pub fn load_or_built_in(path: Option<&Path>) -> Result<Station, InstrumentsError> {
        match path {
            Some(p) => Station::load(p),
            None => Station::built_in(),
        }
    }

    /// Load and validate a station file; profiles come from the built-in set plus the
    /// `instruments/` directory that holds the `stations/` directory of the file.
    pub fn load(path: &Path) -> Result<Station, InstrumentsError> {
        let text = std::fs::read_to_string(path).map_err(|e| InstrumentsError::Read {
            file: path.display().to_string(),
            source: e,
        })?;
        let profile_dir = path
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let profiles = Profiles::with_directory(&profile_dir)?;
        Station::parse(path, &text, profiles)
    }

    /// Parse and validate station text.
    pub fn parse(path: &Path, text: &str, profiles: Profiles) -> Result<Station, InstrumentsError> {
        let file_name = path.display().to_string();
        let file: StationFile = toml::from_str(text).map_err(|e| InstrumentsError::Station {
            file: file_name.clone(),
            key: String::new(),
            problem: e.to_string().trim_end().to_string(),
        })?;
        let station = Station {
            path: path.to_path_buf(),
            file,
            profiles,
        };
        station.validate()?;
        Ok(station)
    }

    /// An error about `key` of this station file.
    pub fn fail(&self, key: String, problem: String) -> InstrumentsError {
        InstrumentsError::Station {
            file: self.path.display().to_string(),
            key,
            problem,
        }
    }

    fn validate(&self) -> Result<(), InstrumentsError> {
        let f = &self.file;
        if let Some(speed) = f.station.speed
            && !(speed.is_finite() && speed > 0.0)
        {
            return Err(self.fail(
                "station.speed".into(),
                "must be a positive number (1 = real time)".into(),
            ));
        }
        if let Some(lang) = &f.station.language
            && !matches!(lang.as_str(), "en" | "zh" | "zh-en")
        {
            return Err(self.fail(
                "station.language".into(),
                format!("`{lang}`: use en, zh or zh-en (Chinese with English)"),
            ));
        }
        if let Some(prefix) = &f.station.number_prefix
            && (!(1..=12).contains(&prefix.len())
                || !prefix
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
        {
            return Err(self.fail(
                "station.number_prefix".into(),
                format!("`{prefix}`: 1 to 12 capital letters A–Z and digits (e.g. PVS2)"),
            ));
        }
        if let Some(site) = &f.station.site {
            let bad = |k: &str, what: &str| self.fail(format!("station.site.{k}"), what.into());
            if !(-90.0..=90.0).contains(&site.latitude) {
                return Err(bad("latitude", "must be −90 … 90°"));
            }
            if !(-180.0..=180.0).contains(&site.longitude) {
                return Err(bad("longitude", "must be −180 … 180° (east positive)"));
            }
            if !(-500.0..=9000.0).contains(&site.altitude) {
                return Err(bad("altitude", "must be −500 … 9000 m"));
            }
            match (site.tracker, site.tilt, site.azimuth) {
                (true, None, None) => {}
                (false, Some(t), Some(a))
                    if (0.0..=90.0).contains(&t) && (0.0..=360.0).contains(&a) => {}
                (true, _, _) => {
                    return Err(bad(
                        "tracker",
                        "a two-axis tracker has no fixed tilt or azimuth: drop them",
                    ));
                }
                _ => {
                    return Err(bad(
                        "tilt",
                        "give the fixed plane's tilt (0 … 90°) and azimuth (0 … 360°, 180 = south), or tracker = true",
                    ));
                }
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, inst) in f.instrument.iter().enumerate() {
            let key = |k: &str| format!("instrument[{i}] (`{}`).{k}", inst.name);
            if inst.name.trim().is_empty() {
                return Err(self.fail(format!("instrument[{i}].name"), "must not be empty".into()));
            }
            if !names.insert(inst.name.as_str()) {
                return Err(self.fail(
                    key("name"),
                    "duplicate instrument name; names must be unique".into(),
                ));
            }
            for (function, a) in &inst.accuracy {
                let numbers = [a.reading, a.range, a.full_scale, a.u.unwrap_or(0.0)];
                if numbers.iter().any(|x| !(x.is_finite() && *x >= 0.0)) {
                    return Err(self.fail(
                        key(&format!("accuracy.{function}")),
                        "reading, range, full_scale and u must be finite and ≥ 0 (fractions of reading and range: 0.015 % is 150e-6)".into(),
                    ));
                }
                if a.reading >= 0.1 || a.range >= 0.1 {
                    return Err(self.fail(
                        key(&format!("accuracy.{function}")),
                        "reading and range are fractions (0.015 % is 150e-6), not percentages"
                            .into(),
                    ));
                }
            }
            let profile = self.profiles.get(&inst.profile).ok_or_else(|| {
                self.fail(
                    key("profile"),
                    format!(
                        "unknown profile `{}`; known profiles: {}",
                        inst.profile,
                        self.profiles.ids().join(", ")
                    ),
                )
            })?;
            if !profile.roles.contains(&inst.role) {
                return Err(self.fail(
                    key("role"),
                    format!(
                        "a {} {} cannot act as `{}`; it can be: {}",
                        profile.manufacturer,
                        profile.model,
                        inst.role.as_str(),
                        profile
                            .roles
                            .iter()
                            .map(|r| r.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            if inst.resource == "sim" {
                if !f.station.simulated {
                    return Err(self.fail(
                        key("resource"),
                        "`sim` is only allowed on a station with `simulated = true`; give a VISA resource such as TCPIP::192.168.1.20::5025::SOCKET".into(),
                    ));
                }
            } else {
                Resource::parse(&inst.resource)
                    .map_err(|e| self.fail(key("resource"), e.problem))?;
            }
            if let Some(s) = &inst.serial {
                s.validate().map_err(|e| self.fail(key("serial"), e))?;
            }
            if inst.timeout_ms == Some(0) {
                return Err(self.fail(key("timeout_ms"), "must be at least 1 ms".into()));
            }
            match inst.role {
                Role::IrradianceMeter => {
                    let id = inst.reference.as_deref().ok_or_else(|| {
                        self.fail(key("reference"), "an irradiance meter must name its reference cell, e.g. reference = \"RC-01\"".into())
                    })?;
                    let r = self.reference(id).ok_or_else(|| {
                        self.fail(key("reference"), format!("no [[reference]] with id `{id}`"))
                    })?;
                    if r.kind != ReferenceKind::ReferenceCell {
                        return Err(
                            self.fail(key("reference"), format!("`{id}` is not a reference_cell"))
                        );
                    }
                }
                Role::Thermometer
                    if profile.dialect == super::profile::Dialect::KeysightDaq
                        && inst.channels.is_empty() =>
                {
                    return Err(self.fail(key("channels"), "a scanning thermometer needs channels, e.g. channels = { module_back_1 = 101 }".into()));
                }
                _ => {}
            }
            // Two sensors on one channel would read the same temperature twice under two
            // names, and one of them would not be measured at all.
            let mut seen: BTreeMap<u32, &str> = BTreeMap::new();
            for (sensor, ch) in &inst.channels {
                if let Some(other) = seen.insert(*ch, sensor) {
                    return Err(self.fail(
                        key(&format!("channels.{sensor}")),
                        format!(
                            "channel {ch} is also `{other}`'s; each sensor needs its own channel"
                        ),
                    ));
                }
            }
            if inst.resource != "sim"
                && let Some(other) = f.instrument[..i]
                    .iter()
                    .find(|o| o.resource.eq_ignore_ascii_case(&inst.resource))
            {
                return Err(self.fail(
                    key("resource"),
                    format!(
                        "`{}` is also `{}`'s resource; two instruments cannot answer at one address",
                        inst.resource, other.name
                    ),
                ));
            }
            if let (Some(lo), Some(hi)) = channel_bounds(profile) {
                for (sensor, ch) in &inst.channels {
                    if *ch < lo || *ch > hi {
                        return Err(self.fail(
                            key(&format!("channels.{sensor}")),
                            format!(
                                "channel {ch} is outside {lo}..{hi} of the {}",
                                profile.model
                            ),
                        ));
                    }
                }
            }
        }
        let mut ids = std::collections::BTreeSet::new();
        for (i, m) in f.modbus.iter().enumerate() {
            let key = |k: &str| format!("modbus[{i}] (`{}`).{k}", m.name);
            if m.name.trim().is_empty() || !names.insert(m.name.as_str()) {
                return Err(self.fail(key("name"), "must be a name no other instrument has".into()));
            }
            if super::modbus::ModbusProfile::built_in(&m.profile).is_none() {
                return Err(self.fail(
                    key("profile"),
                    format!(
                        "unknown Modbus profile `{}`; known: {}",
                        m.profile,
                        super::modbus::BUILT_IN
                            .iter()
                            .map(|(file, _)| file.trim_end_matches(".toml"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            if m.resource == "sim" {
                if !f.station.simulated {
                    return Err(self.fail(
                        key("resource"),
                        "`sim` is only allowed on a station with `simulated = true`; give MODBUS-RTU::/dev/ttyUSB0::1 or MODBUS-TCP::HOST::PORT::UNIT".into(),
                    ));
                }
                if !matches!(
                    m.sensor.as_deref(),
                    Some("plane_of_array" | "diffuse" | "weather" | "spectrum")
                ) {
                    return Err(self.fail(
                        key("sensor"),
                        "a simulated Modbus instrument says what it measures: plane_of_array, diffuse, weather or spectrum".into(),
                    ));
                }
                let role = super::modbus::ModbusProfile::built_in(&m.profile).map(|p| p.role);
                let fits = matches!(
                    (m.sensor.as_deref(), role),
                    (
                        Some("plane_of_array" | "diffuse"),
                        Some(super::modbus::ModbusRole::Pyranometer)
                    ) | (
                        Some("weather"),
                        Some(super::modbus::ModbusRole::WeatherStation)
                    ) | (
                        Some("spectrum"),
                        Some(super::modbus::ModbusRole::Spectroradiometer)
                    )
                );
                if !fits {
                    return Err(self.fail(
                        key("sensor"),
                        format!(
                            "profile `{}` cannot measure `{}`: pyranometers measure plane_of_array or diffuse, a weather station weather, a spectroradiometer spectrum",
                            m.profile,
                            m.sensor.as_deref().unwrap_or("")
                        ),
                    ));
                }
            } else {
                crate::modbus::ModbusResource::parse(&m.resource)
                    .map_err(|e| self.fail(key("resource"), e))?;
            }
        }
        for (i, r) in f.reference.iter().enumerate() {
            let key = |k: &str| format!("reference[{i}] (`{}`).{k}", r.id);
            if !ids.insert(r.id.as_str()) {
                return Err(self.fail(key("id"), "duplicate reference id".into()));
            }
            if let Some(sr) = &r.spectral_response {
                sr.check()
                    .map_err(|e| self.fail(key("spectral_response"), e))?;
            }
            for (j, h) in r.history.iter().enumerate() {
                if !(h.value.is_finite() && h.value != 0.0) {
                    return Err(self.fail(
                        key(&format!("history[{j}].value")),
                        "must be the finite, non-zero value that certificate stated".into(),
                    ));
                }
                if h.calibration_date >= r.certificate.calibration_date {
                    return Err(self.fail(
                        key(&format!("history[{j}].calibration_date")),
                        format!(
                            "{} is not before the current certificate's {}: the history lists earlier certificates",
                            h.calibration_date, r.certificate.calibration_date
                        ),
                    ));
                }
            }
            let c = &r.certificate;
            if !(c.value.is_finite()) {
                return Err(self.fail(key("certificate.value"), "must be a finite number".into()));
            }
            if !(c.expanded_uncertainty.is_finite() && c.expanded_uncertainty >= 0.0) {
                return Err(self.fail(
                    key("certificate.expanded_uncertainty"),
                    "must be ≥ 0 (as on the certificate)".into(),
                ));
            }
            if !(c.coverage_factor.is_finite() && c.coverage_factor >= 1.0) {
                return Err(self.fail(
                    key("certificate.coverage_factor"),
                    "must be ≥ 1 (usually 2)".into(),
                ));
            }
            if c.due_date <= c.calibration_date {
                return Err(self.fail(
                    key("certificate.due_date"),
                    "must be after calibration_date".into(),
                ));
            }
            if r.kind == ReferenceKind::ReferenceCell {
                for p in ["alpha_rel", "shunt_resistance"] {
                    if !r.parameters.contains_key(p) {
                        return Err(self.fail(
                            key(&format!("parameters.{p}")),
                            "a reference cell needs alpha_rel [1/K] and shunt_resistance [Ω]"
                                .into(),
                        ));
                    }
                }
                if r.parameters
                    .get("shunt_resistance")
                    .is_some_and(|v| *v <= 0.0)
                {
                    return Err(
                        self.fail(key("parameters.shunt_resistance"), "must be > 0 Ω".into())
                    );
                }
                if c.value <= 0.0 {
                    return Err(self.fail(
                        key("certificate.value"),
                        "a reference cell's calibration value (Isc at STC) must be > 0 A".into(),
                    ));
                }
            }
            if r.kind == ReferenceKind::StandardResistor && r.switch_channel.is_none() {
                return Err(self.fail(
                    key("switch_channel"),
                    "a standard resistor needs the relay channel that connects it".into(),
                ));
            }
            // One relay connects one standard: two standards on one channel would credit a
            // measurement of one to the other (a wrong verdict with exit 0).
            if let Some(ch) = r.switch_channel
                && let Some(other) = f.reference[..i]
                    .iter()
                    .find(|o| o.switch_channel == Some(ch))
            {
                return Err(self.fail(
                    key("switch_channel"),
                    format!(
                        "channel {ch} already connects `{}`; each standard needs its own relay channel",
                        other.id
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A reference device by id.
    pub fn reference(&self, id: &str) -> Option<&ReferenceDevice> {
        self.file.reference.iter().find(|r| r.id == id)
    }

    /// The instrument playing `role` (the first, if several).
    pub fn instrument(&self, role: Role) -> Option<&InstrumentEntry> {
        self.file.instrument.iter().find(|i| i.role == role)
    }

    /// The profile of an instrument (validated to exist on load).
    pub fn profile_of(&self, entry: &InstrumentEntry) -> Result<&Profile, InstrumentsError> {
        self.profiles.get(&entry.profile).ok_or_else(|| {
            self.fail(
                format!("instrument `{}`.profile", entry.name),
                "unknown profile".into(),
            )
        })
    }

    /// Whether a simulated instrument of this entry is served on a pseudo-terminal.
    pub fn is_serial(&self, entry: &InstrumentEntry) -> bool {
        self.profile_of(entry)
            .map(|p| p.interface == Interface::Serial)
            .unwrap_or(false)
    }
}

fn channel_bounds(profile: &Profile) -> (Option<u32>, Option<u32>) {
    match profile.ranges.get("channels") {
        Some(toml::Value::Array(a)) if a.len() == 2 => (
            a[0].as_integer().map(|v| v as u32),
            a[1].as_integer().map(|v| v as u32),
        ),
        _ => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Date;

    pub(super) fn demo() -> Result<Station, InstrumentsError> {
        Station::parse(
            Path::new("demo-sim.toml"),
            DEMO_SIM_STATION,
            Profiles::built_in().expect("built-in"),
        )
    }

    pub(super) fn broken(from: &str, to: &str) -> String {
        let text = DEMO_SIM_STATION.replacen(from, to, 1);
        assert_ne!(text, DEMO_SIM_STATION, "pattern {from} not found");
        Station::parse(
            Path::new("s.toml"),
            &text,
            Profiles::built_in().expect("built-in"),
        )
        .expect_err("must be rejected")
        .to_string()
    }

    #[test]
    fn reference_kinds_are_written_as_serde_writes_them() {
        for k in [
            ReferenceKind::ReferenceCell,
            ReferenceKind::StandardResistor,
            ReferenceKind::Calibrator,
            ReferenceKind::Multimeter,
            ReferenceKind::Thermometer,
        ] {
            assert_eq!(serde_json::to_value(k).ok(), Some(k.as_str().into()));
        }
    }

    #[test]
    fn the_demo_station_is_valid() {
        let s = demo().expect("valid");
        assert_eq!(s.file.instrument.len(), 7);
        assert_eq!(s.file.reference.len(), 8);
        let cert = &s.reference("RC-01").expect("present").certificate;
        assert_eq!(
            cert.status(Date::parse("2027-03-01").expect("date")),
            CertificateStatus::DueSoon { days_left: 10 }
        );
        assert_eq!(
            cert.status(Date::parse("2027-03-12").expect("date")),
            CertificateStatus::Expired { days_ago: 1 }
        );
    }

    #[test]
    fn errors_name_file_key_and_fix() {
        let cases = [
            (
                "profile = \"keithley-2460\"",
                "profile = \"keithley-9999\"",
                "instrument[0] (`smu`).profile",
            ),
            (
                "role = \"iv_tracer\"",
                "role = \"switch\"",
                "cannot act as `switch`",
            ),
            (
                "simulated = true",
                "simulated = false",
                "only allowed on a station with `simulated = true`",
            ),
            (
                "reference = \"RC-01\"",
                "reference = \"RC-99\"",
                "no [[reference]] with id `RC-99`",
            ),
            (
                "expanded_uncertainty = 0.0011",
                "expanded_uncertainty = -0.0011",
                "expanded_uncertainty",
            ),
            (
                "due_date = \"2027-03-11\"",
                "due_date = \"2025-03-11\"",
                "must be after calibration_date",
            ),
            (
                "calibration_date = \"2026-03-11\"",
                "calibration_date = \"2026-02-30\"",
                "YYYY-MM-DD",
            ),
            (
                "module_back_1 = 101",
                "module_back_1 = 150",
                "channels.module_back_1",
            ),
            (
                "name = \"switch\"",
                "name = \"smu\"",
                "duplicate instrument name",
            ),
            ("speed = 1.0", "speed = 0.0", "station.speed"),
            (
                "latitude = 36.62",
                "latitude = 136.62",
                "station.site.latitude",
            ),
            (
                "tracker = true ",
                "tracker = false ",
                "station.site.tilt: give the fixed plane's tilt",
            ),
            (
                "language = \"zh-en\"",
                "language = \"fr\"",
                "station.language: `fr`: use en, zh or zh-en",
            ),
            (
                "profile = \"kipp-zonen-smp10\"",
                "profile = \"kipp-zonen-smp99\"",
                "modbus[0] (`poa-pyranometer`).profile: unknown Modbus profile",
            ),
            (
                "sensor = \"diffuse\"",
                "sensor = \"moonlight\"",
                "modbus[1] (`diffuse-pyranometer`).sensor",
            ),
            // Regression (issue 11, defect 2): SR-10m moved to channel 1 completed a
            // calibration with a wrong verdict.
            (
                "switch_channel = 2",
                "switch_channel = 1",
                "reference[3] (`SR-10m`).switch_channel: channel 1 already connects `SR-1m`",
            ),
            (
                "module_back_2 = 102",
                "module_back_2 = 101",
                "channel 101 is also `module_back_1`'s",
            ),
            (
                "serial_number = \"04410001\"",
                "serial_numbr = \"04410001\"",
                "unknown field",
            ),
        ];
        for (from, to, expected) in cases {
            let err = broken(from, to);
            assert!(err.contains(expected), "{to}: {err}");
            assert!(err.contains("s.toml"), "{err}");
        }
    }
}
