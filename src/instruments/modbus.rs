//! Modbus instruments as data: a profile (`instruments/modbus/*.toml`) names the identity
//! registers with the values they must hold and the register map (address, type, scale or
//! scale register, unit, meaning), so a new pyranometer or weather station is a new profile,
//! not new code. [`ModbusInstrument`] identifies a unit against its profile and reads named
//! quantities in their units.

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::modbus::registers::scaled;
use crate::modbus::{Client, Kind, ModbusError, WordOrder};

/// The built-in Modbus profiles: (file name, text).
pub const BUILT_IN: [(&str, &str); 4] = [
    (
        "kipp-zonen-smp10.toml",
        include_str!("../../instruments/modbus/kipp-zonen-smp10.toml"),
    ),
    (
        "eko-ms80m.toml",
        include_str!("../../instruments/modbus/eko-ms80m.toml"),
    ),
    (
        "pvstation-spectroradiometer.toml",
        include_str!("../../instruments/modbus/pvstation-spectroradiometer.toml"),
    ),
    (
        "pvstation-weather.toml",
        include_str!("../../instruments/modbus/pvstation-weather.toml"),
    ),
];

/// What a Modbus instrument measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModbusRole {
    /// Broadband irradiance (plane of array, or diffuse behind a shade).
    Pyranometer,
    /// Wind, ambient temperature, humidity, pressure.
    WeatherStation,
    /// Spectral irradiance.
    Spectroradiometer,
}

impl ModbusRole {
    /// The name used in files, output and the console.
    pub fn as_str(self) -> &'static str {
        match self {
            ModbusRole::Pyranometer => "pyranometer",
            ModbusRole::WeatherStation => "weather_station",
            ModbusRole::Spectroradiometer => "spectroradiometer",
        }
    }
}

/// A tap writing every frame of instrument `name` at `resource` to the I/O log.
pub fn io_log_tap(log: &crate::scpi::IoLog, name: &str, resource: &str) -> crate::modbus::Tap {
    let (log, name, resource) = (log.clone(), name.to_string(), resource.to_string());
    std::sync::Arc::new(move |sent, bytes| {
        let direction = if sent {
            crate::scpi::iolog::Direction::Write
        } else {
            crate::scpi::iolog::Direction::Read
        };
        log.push(&name, &resource, direction, bytes);
    })
}

/// Serial defaults of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SerialDefaults {
    /// Line speed [bit/s].
    pub baud: u32,
    /// Data bits.
    pub data_bits: u8,
    /// `none`, `even` or `odd`.
    pub parity: Parity,
    /// Stop bits.
    pub stop_bits: u8,
}

/// Serial parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Parity {
    /// No parity.
    None,
    /// Even parity.
    Even,
    /// Odd parity.
    Odd,
}

/// A register that identifies the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityRegister {
    /// Its name.
    pub name: String,
    /// PDU address.
    pub address: u16,
    /// Input (04) or holding (03) register.
    pub input: bool,
    /// Type.
    pub kind: Kind,
    /// The value the model holds there.
    pub expect: f64,
}

/// A quantity in the register map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterEntry {
    /// Name (`irradiance`, `wind_speed`, …).
    pub name: String,
    /// PDU address of its first register.
    pub address: u16,
    /// Input (04) or holding (03) register.
    pub input: bool,
    /// Type.
    pub kind: Kind,
    /// Word order of 32-bit values.
    #[serde(default)]
    pub word_order: WordOrder,
    /// Fixed decimal scale: value = raw × 10^−scale.
    #[serde(default)]
    pub scale: Option<i32>,
    /// …or the register holding the scale (SMP register 4).
    #[serde(default)]
    pub scale_register: Option<String>,
    /// Unit of the scaled value.
    pub unit: String,
    /// What it is.
    pub meaning: String,
}

/// A Modbus instrument model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusProfile {
    /// Identifier referenced by station files.
    pub id: String,
    /// Manufacturer.
    pub manufacturer: String,
    /// Model.
    pub model: String,
    /// What it measures.
    pub role: ModbusRole,
    /// Its stated accuracy (enters budgets that use it).
    pub accuracy: String,
    /// Serial defaults (RTU).
    pub serial: SerialDefaults,
    /// Identity registers (none when the model has no identifying register).
    #[serde(default)]
    pub identity: Vec<IdentityRegister>,
    /// Register map.
    #[serde(rename = "register")]
    pub registers: Vec<RegisterEntry>,
    /// A spectroradiometer's block of spectral values.
    #[serde(default)]
    pub spectrum: Option<SpectrumBlock>,
}

/// A block of spectral values: `points` values of `kind` from `address`, at wavelengths
/// `first_wavelength + k·wavelength_step`. Where the map also has registers named
/// `first_wavelength`, `wavelength_step` and `points`, the instrument's own values take
/// precedence; a `scan_counter` register, read before and after the block, proves the block
/// came from one scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpectrumBlock {
    /// PDU address of the first value.
    pub address: u16,
    /// Input (04) or holding (03) registers.
    pub input: bool,
    /// Type of each value.
    pub kind: Kind,
    /// Word order of 32-bit values.
    #[serde(default)]
    pub word_order: WordOrder,
    /// Wavelength of the first value [nm].
    pub first_wavelength: f64,
    /// Step [nm].
    pub wavelength_step: f64,
    /// Number of values.
    pub points: u16,
    /// Unit of the values.
    pub unit: String,
    /// Registers per read request (≤ 125, FC 03/04), a whole number of values.
    #[serde(default = "default_registers_per_read")]
    pub registers_per_read: u16,
    /// The specification as relative standard uncertainties (k = 1): an error of the spectral
    /// shape correlated over the range (a tilt, at the range's ends) [1]…
    #[serde(default)]
    pub u_tilt: f64,
    /// …and an independent error of each value [1].
    #[serde(default)]
    pub u_point: f64,
}

fn default_registers_per_read() -> u16 {
    120
}

impl ModbusProfile {
    /// Parse and check a profile: unique names, every scale register in the map, registers
    /// that fit in the address space.
    pub fn parse(file: &str, text: &str) -> Result<ModbusProfile, String> {
        let p: ModbusProfile = toml::from_str(text).map_err(|e| format!("{file}: {e}"))?;
        let mut names = std::collections::BTreeSet::new();
        for r in &p.registers {
            if !names.insert(r.name.as_str()) {
                return Err(format!("{file}: register `{}` is named twice", r.name));
            }
            if usize::from(r.address) + r.kind.registers() > 65_536 {
                return Err(format!("{file}: register `{}` runs past 65535", r.name));
            }
        }
        for r in &p.registers {
            if let Some(s) = &r.scale_register
                && !names.contains(s.as_str())
            {
                return Err(format!(
                    "{file}: register `{}` is scaled by `{s}`, which the map lacks",
                    r.name
                ));
            }
        }
        if let Some(b) = &p.spectrum {
            let per_value = b.kind.registers();
            if !(b.first_wavelength.is_finite()
                && b.wavelength_step.is_finite()
                && b.wavelength_step > 0.0
                && b.points >= 2)
            {
                return Err(format!(
                    "{file}: [spectrum] needs a finite first_wavelength, a positive wavelength_step and points ≥ 2"
                ));
            }
            if b.registers_per_read > 125
                || usize::from(b.registers_per_read) < per_value
                || usize::from(b.registers_per_read) % per_value != 0
            {
                return Err(format!(
                    "{file}: [spectrum] registers_per_read must be a whole number of values and at most 125"
                ));
            }
            if usize::from(b.address) + usize::from(b.points) * per_value > 65_536 {
                return Err(format!("{file}: [spectrum] runs past register 65535"));
            }
        }
        if (p.role == ModbusRole::Spectroradiometer) != p.spectrum.is_some() {
            return Err(format!(
                "{file}: a spectroradiometer profile has a [spectrum] block, and only a spectroradiometer has one"
            ));
        }
        Ok(p)
    }

    /// The built-in profile `id`.
    pub fn built_in(id: &str) -> Option<ModbusProfile> {
        BUILT_IN
            .iter()
            .filter_map(|(file, text)| ModbusProfile::parse(file, text).ok())
            .find(|p| p.id == id)
    }

    /// The map entry `name`.
    pub fn register(&self, name: &str) -> Option<&RegisterEntry> {
        self.registers.iter().find(|r| r.name == name)
    }
}

/// Why a Modbus instrument failed.
#[derive(Debug, thiserror::Error)]
pub enum ModbusInstrumentError {
    /// The exchange failed.
    #[error(transparent)]
    Modbus(#[from] ModbusError),
    /// The unit is not the model the profile describes.
    #[error(
        "{resource}: identity register `{register}` holds {found}, the profile {profile} expects {expected}: wrong model or unit address"
    )]
    Identity {
        /// Resource.
        resource: String,
        /// Profile id.
        profile: String,
        /// Register name.
        register: String,
        /// Value found.
        found: f64,
        /// Value expected.
        expected: f64,
    },
    /// The spectrum changed under every attempt to read it whole.
    #[error(
        "{resource}: the spectrum changed while it was read ({attempts} attempts, scan counter moving): the scan period is shorter than a block read; lengthen it or read faster"
    )]
    Torn {
        /// Resource.
        resource: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The profile has no such quantity.
    #[error("profile {profile} has no register `{name}`")]
    Unknown {
        /// Profile id.
        profile: String,
        /// Quantity asked for.
        name: String,
    },
}

/// Any byte stream a Modbus instrument is reached over (TCP socket, serial port).
pub trait ByteStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> ByteStream for T {}

/// Connect to the instrument of `profile` at `resource` (RTU: the profile's serial
/// settings), each frame going to `tap`.
pub async fn connect(
    resource: &crate::modbus::ModbusResource,
    profile: ModbusProfile,
    timeout: std::time::Duration,
    tap: crate::modbus::Tap,
) -> Result<ModbusInstrument<Box<dyn ByteStream>>, ModbusInstrumentError> {
    use crate::modbus::{Framing, ModbusResource};
    let text = resource.to_string();
    let io = |e: String| {
        ModbusInstrumentError::Modbus(ModbusError::Io {
            resource: text.clone(),
            message: e,
        })
    };
    let (stream, framing): (Box<dyn ByteStream>, Framing) = match resource {
        ModbusResource::Tcp { host, port, .. } => {
            let s = tokio::time::timeout(
                timeout,
                tokio::net::TcpStream::connect((host.as_str(), *port)),
            )
            .await
            .map_err(|_| io(format!("no connection within {} ms", timeout.as_millis())))?
            .map_err(|e| io(format!("cannot connect: {e}")))?;
            (Box::new(s), Framing::Tcp)
        }
        ModbusResource::Rtu { path, .. } => {
            use tokio_serial::SerialPortBuilderExt;
            let serial = profile.serial;
            let s = tokio_serial::new(path, serial.baud)
                .data_bits(match serial.data_bits {
                    7 => tokio_serial::DataBits::Seven,
                    _ => tokio_serial::DataBits::Eight,
                })
                .parity(match serial.parity {
                    Parity::None => tokio_serial::Parity::None,
                    Parity::Even => tokio_serial::Parity::Even,
                    Parity::Odd => tokio_serial::Parity::Odd,
                })
                .stop_bits(if serial.stop_bits == 2 {
                    tokio_serial::StopBits::Two
                } else {
                    tokio_serial::StopBits::One
                })
                .open_native_async()
                .map_err(|e| io(format!("cannot open {path}: {e}")))?;
            (Box::new(s), Framing::Rtu { baud: serial.baud })
        }
    };
    let client = Client::new(stream, framing, resource.unit(), &text)
        .with_timeout(timeout, 2)
        .with_tap(tap);
    Ok(ModbusInstrument::new(profile, client, &text))
}

/// One spectrum from a spectroradiometer: its wavelength grid, values, and the scan's
/// bookkeeping as the instrument stated it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpectrumScan {
    /// Wavelengths [nm].
    pub wavelength: Vec<f64>,
    /// Spectral irradiance, in `unit`.
    pub irradiance: Vec<f64>,
    /// Unit of the values (`W/m²/nm`).
    pub unit: String,
    /// The instrument's scan counter, when its map has one.
    pub scan: Option<f64>,
    /// The other quantities of its map (integration time, status, detector temperature), in
    /// their units.
    pub registers: std::collections::BTreeMap<String, f64>,
    /// The profile's specification: correlated (tilt) relative standard uncertainty [1].
    pub u_tilt: f64,
    /// … and independent per value [1].
    pub u_point: f64,
}

/// A Modbus instrument driven by its profile.
pub struct ModbusInstrument<S> {
    /// Its model.
    pub profile: ModbusProfile,
    client: Client<S>,
    resource: String,
}

impl<S: AsyncRead + AsyncWrite + Unpin> ModbusInstrument<S> {
    /// An instrument of `profile` behind `client` (reached at `resource`).
    pub fn new(profile: ModbusProfile, client: Client<S>, resource: &str) -> Self {
        ModbusInstrument {
            profile,
            client,
            resource: resource.to_string(),
        }
    }

    /// Check every identity register; the identity as text ("Kipp & Zonen SMP10,
    /// device_type=610").
    pub async fn identify(&mut self) -> Result<String, ModbusInstrumentError> {
        let mut found = Vec::new();
        for id in self.profile.identity.clone() {
            let v = self
                .client
                .value(id.input, id.address, id.kind, WordOrder::HighFirst)
                .await?;
            if v != id.expect {
                return Err(ModbusInstrumentError::Identity {
                    resource: self.resource.clone(),
                    profile: self.profile.id.clone(),
                    register: id.name.clone(),
                    found: v,
                    expected: id.expect,
                });
            }
            found.push(format!("{}={v}", id.name));
        }
        if found.is_empty() {
            return Ok(format!(
                "{} {} (no identity register in its profile)",
                self.profile.manufacturer, self.profile.model
            ));
        }
        Ok(format!(
            "{} {}, {}",
            self.profile.manufacturer,
            self.profile.model,
            found.join(", ")
        ))
    }

    /// Read the quantity `name` in its unit (scale applied).
    pub async fn read(&mut self, name: &str) -> Result<f64, ModbusInstrumentError> {
        let entry =
            self.profile
                .register(name)
                .cloned()
                .ok_or_else(|| ModbusInstrumentError::Unknown {
                    profile: self.profile.id.clone(),
                    name: name.to_string(),
                })?;
        let raw = self
            .client
            .value(entry.input, entry.address, entry.kind, entry.word_order)
            .await?;
        let scale = match (&entry.scale_register, entry.scale) {
            (Some(reg), _) => Box::pin(self.read(reg)).await?.round() as i32,
            (None, Some(s)) => s,
            (None, None) => 0,
        };
        Ok(scaled(raw, scale))
    }

    /// Read the whole spectral block of a spectroradiometer, whole: the scan counter before
    /// and after the block must agree (else read again, three attempts); the grid from the
    /// instrument's own registers where its map has them.
    pub async fn read_spectrum(&mut self) -> Result<SpectrumScan, ModbusInstrumentError> {
        let block =
            self.profile
                .spectrum
                .clone()
                .ok_or_else(|| ModbusInstrumentError::Unknown {
                    profile: self.profile.id.clone(),
                    name: "[spectrum]".into(),
                })?;
        let has = |name: &str| self.profile.register(name).is_some();
        let (has_counter, has_grid) = (
            has("scan_counter"),
            has("first_wavelength") && has("wavelength_step") && has("points"),
        );
        let (first, step, points) = if has_grid {
            (
                self.read("first_wavelength").await?,
                self.read("wavelength_step").await?,
                self.read("points").await?.round().max(0.0) as usize,
            )
        } else {
            (
                block.first_wavelength,
                block.wavelength_step,
                usize::from(block.points),
            )
        };
        let per_value = block.kind.registers();
        let total = points * per_value;
        if points < 2 || usize::from(block.address) + total > 65_536 {
            return Err(ModbusInstrumentError::Modbus(ModbusError::Garbled {
                resource: self.resource.clone(),
                register: block.address,
                problem: crate::modbus::frame::Malformed(format!(
                    "the instrument states {points} spectral values, which do not fit its block"
                )),
            }));
        }
        const ATTEMPTS: u32 = 3;
        for _ in 0..ATTEMPTS {
            let before = if has_counter {
                Some(self.read("scan_counter").await?)
            } else {
                None
            };
            let mut words = Vec::with_capacity(total);
            while words.len() < total {
                let count = (total - words.len()).min(usize::from(block.registers_per_read));
                let address = block.address + words.len() as u16;
                words.extend(self.client.read(block.input, address, count as u16).await?);
            }
            let after = if has_counter {
                Some(self.read("scan_counter").await?)
            } else {
                None
            };
            if before != after {
                continue;
            }
            let irradiance = words
                .chunks(per_value)
                .enumerate()
                .map(|(k, w)| {
                    block.kind.decode(w, block.word_order).ok_or_else(|| {
                        ModbusInstrumentError::Modbus(ModbusError::Garbled {
                            resource: self.resource.clone(),
                            register: block.address + (k * per_value) as u16,
                            problem: crate::modbus::frame::Malformed(
                                "a spectral value that does not decode".into(),
                            ),
                        })
                    })
                })
                .collect::<Result<Vec<f64>, _>>()?;
            let mut registers = std::collections::BTreeMap::new();
            let others: Vec<String> = self
                .profile
                .registers
                .iter()
                .map(|r| r.name.clone())
                .filter(|n| {
                    !matches!(
                        n.as_str(),
                        "scan_counter" | "first_wavelength" | "wavelength_step" | "points"
                    )
                })
                .collect();
            for name in others {
                registers.insert(name.clone(), self.read(&name).await?);
            }
            return Ok(SpectrumScan {
                wavelength: (0..points).map(|k| first + step * k as f64).collect(),
                irradiance,
                unit: block.unit.clone(),
                scan: after,
                registers,
                u_tilt: block.u_tilt,
                u_point: block.u_point,
            });
        }
        Err(ModbusInstrumentError::Torn {
            resource: self.resource.clone(),
            attempts: ATTEMPTS,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_profiles_parse_and_bad_ones_are_refused() {
        for (file, text) in BUILT_IN {
            ModbusProfile::parse(file, text).unwrap_or_else(|e| panic!("{e}"));
        }
        let smp = ModbusProfile::built_in("kipp-zonen-smp10").expect("smp10");
        assert_eq!(smp.role, ModbusRole::Pyranometer);
        let irr = smp.register("irradiance").expect("irradiance");
        assert_eq!((irr.address, irr.kind, irr.input), (5, Kind::S16, true));
        assert_eq!(smp.serial.baud, 19_200);
        let broken = BUILT_IN[0].1.replace(
            "scale_register = \"scale_factor\"",
            "scale_register = \"nope\"",
        );
        assert!(
            ModbusProfile::parse("x.toml", &broken)
                .unwrap_err()
                .contains("lacks")
        );
        let twice = format!(
            "{}\n[[register]]\nname = \"status\"\naddress = 9\ninput = true\nkind = \"u16\"\nunit = \"1\"\nmeaning = \"x\"\n",
            BUILT_IN[0].1
        );
        assert!(
            ModbusProfile::parse("x.toml", &twice)
                .unwrap_err()
                .contains("named twice")
        );
    }
}
