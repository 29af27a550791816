//! Instrument model profiles (`instruments/*.toml`): identity pattern, dialect, default
//! interface and terminators, ranges and timing. A new model of a known dialect needs only a
//! new profile file: profiles are loaded from the built-in set and from the `instruments/`
//! directory of the station file, so a file dropped there is used without rebuilding.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::InstrumentsError;
use crate::scpi::{ErrorPolicy, SerialSettings};

/// The command dialect a driver speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    /// Keithley 2450/2460/2461 native SCPI.
    #[serde(rename = "keithley-24xx")]
    Keithley24xx,
    /// Keysight Truevolt DMMs (34465A, 34470A).
    KeysightTruevolt,
    /// Keysight DAQ970A / 34970A-family scanning DAQ.
    KeysightDaq,
    /// Hioki BT356x battery testers.
    HiokiBt356x,
    /// Fluke 55xx calibrators.
    #[serde(rename = "fluke-55xx")]
    Fluke55xx,
    /// Generic SCPI relay switch.
    ScpiSwitch,
}

/// The role an instrument plays in a procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sweeps I-V curves.
    IvTracer,
    /// Reads irradiance from a reference cell.
    IrradianceMeter,
    /// Reads temperatures.
    Thermometer,
    /// The battery internal-resistance tester under calibration.
    ResistanceMeter,
    /// A DC voltage source (calibrator).
    Source,
    /// A relay switch selecting standards.
    Switch,
}

impl Role {
    /// The name used in files and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::IvTracer => "iv_tracer",
            Role::IrradianceMeter => "irradiance_meter",
            Role::Thermometer => "thermometer",
            Role::ResistanceMeter => "resistance_meter",
            Role::Source => "source",
            Role::Switch => "switch",
        }
    }
}

/// Default transport of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interface {
    /// Raw TCP socket.
    Tcp,
    /// RS-232.
    Serial,
    /// USB Test & Measurement Class (`/dev/usbtmcN`).
    Usbtmc,
}

/// One instrument model profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Profile identifier referenced by station files.
    pub id: String,
    /// Manufacturer as `*IDN?` reports it.
    pub manufacturer: String,
    /// Model as `*IDN?` reports it.
    pub model: String,
    /// Regular expression the `*IDN?` reply must match.
    pub identity: String,
    /// Command dialect.
    pub dialect: Dialect,
    /// Roles this model can play.
    pub roles: Vec<Role>,
    /// Default interface.
    pub interface: Interface,
    /// Program-message terminator.
    pub write_termination: String,
    /// Response terminator.
    pub read_termination: String,
    /// Timeout of each exchange [ms].
    pub timeout_ms: u64,
    /// `queue` (with `error_query`) or `esr`.
    pub error_policy: String,
    /// Error-queue query (`SYST:ERR?`, `ERR?`).
    #[serde(default)]
    pub error_query: Option<String>,
    /// Default serial settings for serial models.
    #[serde(default)]
    pub serial: Option<SerialSettings>,
    /// Ranges (model-specific keys; numbers or lists of numbers).
    #[serde(default)]
    pub ranges: BTreeMap<String, toml::Value>,
    /// Timing (model-specific keys) [ms] unless the key says otherwise.
    #[serde(default)]
    pub timing: BTreeMap<String, f64>,
    /// Where the profile came from (file path or `built-in`).
    #[serde(skip)]
    pub source: String,
}

impl Profile {
    /// The error policy as the session uses it.
    pub fn error_policy(&self) -> ErrorPolicy {
        match (self.error_policy.as_str(), &self.error_query) {
            ("esr", _) => ErrorPolicy::Esr,
            (_, Some(q)) => ErrorPolicy::Queue { query: q.clone() },
            _ => ErrorPolicy::default(),
        }
    }

    /// Whether `idn` matches the identity pattern.
    pub fn matches(&self, idn: &str) -> bool {
        regex_lite::Regex::new(&self.identity)
            .map(|re| re.is_match(idn.trim()))
            .unwrap_or(false)
    }

    /// A numeric range entry.
    pub fn range(&self, key: &str) -> Option<f64> {
        match self.ranges.get(key)? {
            toml::Value::Float(f) => Some(*f),
            toml::Value::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// A timing entry [ms].
    pub fn timing(&self, key: &str) -> Option<f64> {
        self.timing.get(key).copied()
    }

    fn validate(&self, file: &str) -> Result<(), InstrumentsError> {
        let fail = |key: &str, problem: String| InstrumentsError::Profile {
            file: file.to_string(),
            key: key.to_string(),
            problem,
        };
        regex_lite::Regex::new(&self.identity)
            .map_err(|e| fail("identity", format!("not a valid regular expression: {e}")))?;
        if !matches!(self.error_policy.as_str(), "queue" | "esr") {
            return Err(fail("error_policy", "must be \"queue\" or \"esr\"".into()));
        }
        if self.error_policy == "queue" && self.error_query.is_none() {
            return Err(fail(
                "error_query",
                "an error queue needs its query, e.g. \"SYST:ERR?\"".into(),
            ));
        }
        if self.roles.is_empty() {
            return Err(fail("roles", "list at least one role".into()));
        }
        if self.timeout_ms == 0 {
            return Err(fail("timeout_ms", "must be at least 1 ms".into()));
        }
        if self.read_termination.is_empty() || self.write_termination.is_empty() {
            return Err(fail(
                "read_termination",
                "terminators must not be empty".into(),
            ));
        }
        if let Some(s) = &self.serial {
            s.validate().map_err(|e| fail("serial", e))?;
        }
        Ok(())
    }
}

/// The profiles shipped in the binary (the files of `instruments/`).
const BUILT_IN: [(&str, &str); 8] = [
    (
        "keithley-2460.toml",
        include_str!("../../instruments/keithley-2460.toml"),
    ),
    (
        "keithley-2461.toml",
        include_str!("../../instruments/keithley-2461.toml"),
    ),
    (
        "keysight-34465a.toml",
        include_str!("../../instruments/keysight-34465a.toml"),
    ),
    (
        "keysight-daq970a.toml",
        include_str!("../../instruments/keysight-daq970a.toml"),
    ),
    (
        "hioki-bt3562.toml",
        include_str!("../../instruments/hioki-bt3562.toml"),
    ),
    (
        "hioki-bt3563.toml",
        include_str!("../../instruments/hioki-bt3563.toml"),
    ),
    (
        "fluke-5522a.toml",
        include_str!("../../instruments/fluke-5522a.toml"),
    ),
    (
        "scpi-relay-switch.toml",
        include_str!("../../instruments/scpi-relay-switch.toml"),
    ),
];

/// All known profiles by id.
#[derive(Debug, Clone, Default)]
pub struct Profiles {
    by_id: BTreeMap<String, Profile>,
}

impl Profiles {
    /// The built-in profiles.
    pub fn built_in() -> Result<Self, InstrumentsError> {
        let mut profiles = Profiles::default();
        for (name, text) in BUILT_IN {
            profiles.add(&format!("built-in {name}"), text)?;
        }
        Ok(profiles)
    }

    /// Built-in profiles plus every `*.toml` in `dir` (a file there overrides a built-in
    /// profile with the same id).
    pub fn with_directory(dir: &Path) -> Result<Self, InstrumentsError> {
        let mut profiles = Profiles::built_in()?;
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(profiles);
        };
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|e| InstrumentsError::Read {
                file: path.display().to_string(),
                source: e,
            })?;
            profiles.add(&path.display().to_string(), &text)?;
        }
        Ok(profiles)
    }

    /// Parse and add one profile.
    pub fn add(&mut self, file: &str, text: &str) -> Result<(), InstrumentsError> {
        let mut profile: Profile = toml::from_str(text).map_err(|e| InstrumentsError::Profile {
            file: file.to_string(),
            key: String::new(),
            problem: e.to_string(),
        })?;
        profile.validate(file)?;
        profile.source = file.to_string();
        self.by_id.insert(profile.id.clone(), profile);
        Ok(())
    }

    /// A profile by id.
    pub fn get(&self, id: &str) -> Option<&Profile> {
        self.by_id.get(id)
    }

    /// All ids, sorted.
    pub fn ids(&self) -> Vec<&str> {
        self.by_id.keys().map(String::as_str).collect()
    }
}

/// Decode `\n`, `\r` written literally in a terminator string (TOML basic strings already do
/// this; command-line arguments do not).
pub fn terminator_bytes(text: &str) -> Vec<u8> {
    text.replace("\\r", "\r").replace("\\n", "\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_profiles_load_and_match_their_simulators() {
        let p = Profiles::built_in().expect("valid built-in profiles");
        assert_eq!(p.ids().len(), 8);
        let k = p.get("keithley-2460").expect("present");
        assert!(k.matches("KEITHLEY INSTRUMENTS,MODEL 2460,04410001,1.7.12b"));
        assert!(!k.matches("KEITHLEY INSTRUMENTS,MODEL 2461,04410001,1.7.12b"));
        assert_eq!(
            p.get("hioki-bt3562").map(|h| h.error_policy()),
            Some(ErrorPolicy::Esr)
        );
        assert_eq!(k.range("max_current"), Some(7.35));
    }

    #[test]
    fn bad_profiles_name_the_key() {
        let mut p = Profiles::default();
        let text = include_str!("../../instruments/keithley-2460.toml").replace(
            "identity = '^KEITHLEY INSTRUMENTS( INC\\.)?,MODEL 2460,'",
            "identity = '^KEITHLEY ('",
        );
        let err = p.add("x.toml", &text).expect_err("bad regex").to_string();
        assert!(err.contains("x.toml") && err.contains("identity"), "{err}");
        let err = p.add("y.toml", "id = 3").expect_err("bad toml").to_string();
        assert!(err.contains("y.toml"), "{err}");
    }
}
