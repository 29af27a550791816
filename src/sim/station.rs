//! Start the simulated instruments of a station file: one simulated world, one device per
//! `[[instrument]]` whose resource is `sim`, each served on its own TCP port on the loopback
//! interface, or on a pseudo-terminal for serial models, exactly as the real instruments would
//! be reached.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use tokio::task::JoinHandle;
use tokio_serial::SerialPort;

use super::device::SimDevice;
use super::faults::{Fault, parse_fault_list};
use super::fluke::Fluke5522a;
use super::hioki::HiokiBt356x;
use super::keithley::Keithley24xx;
use super::keysight::{Daq970a, DmmInput, Keysight34465a};
use super::modbus::{
    ModbusSim, SimSensor, serve_rtu as serve_modbus_rtu, serve_tcp as serve_modbus_tcp,
};
use super::server::{SimInstrument, Wire, serve_stream, serve_tcp};
use super::sky::Plane;
use super::switch::RelaySwitch;
use super::world::SimModule;
use super::world::{World, WorldConfig};
use crate::instruments::InstrumentsError;
use crate::instruments::bench::Resources;
use crate::instruments::profile::{Dialect, Role};
use crate::instruments::station::{InstrumentEntry, Station};
use crate::model::Clock;
use crate::scpi::Resource;

/// How to start the simulation.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    /// Seed (default: the station's, else 1).
    pub seed: Option<u64>,
    /// Clock acceleration (default: the station's, else 1).
    pub speed: Option<f64>,
    /// Simulated start time [s since epoch] (default: a clear plateau noon).
    pub start: Option<f64>,
    /// Extra faults `INSTRUMENT:SPEC,…` (command line).
    pub faults: Option<String>,
    /// Serve serial instruments over TCP instead of pseudo-terminals.
    pub serial_over_tcp: bool,
    /// Let the system choose every TCP port, ignoring ports pinned in the station file.
    pub ephemeral: bool,
}

/// One served instrument, as `pvstation sim` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Served {
    /// Instrument name in the station file.
    pub name: String,
    /// Its role.
    pub role: &'static str,
    /// The simulated model (profile name).
    pub model: String,
    /// Resource string to reach it.
    pub resource: String,
}

/// A running simulated station. Dropping it stops the servers.
pub struct SimulatedStation {
    /// The world all instruments observe.
    pub world: Arc<World>,
    /// What is served where.
    pub served: Vec<Served>,
    tasks: Vec<JoinHandle<()>>,
    // Slave ends of the pseudo-terminals: held so that the master side keeps working when
    // a client closes its end.
    _ptys: Vec<tokio_serial::SerialStream>,
}

impl Drop for SimulatedStation {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Clock for World {
    fn now(&self) -> f64 {
        World::now(self)
    }
}

/// Parse `reference_shunt`, `check_shunt` or `pt100:N` (N = 0–3 module back, 4 reference
/// cell, 5 ambient).
fn parse_sim_input(text: &str) -> Option<DmmInput> {
    match text {
        "reference_shunt" => Some(DmmInput::ReferenceShunt),
        "check_shunt" => Some(DmmInput::CheckShunt),
        _ => {
            let n: usize = text.strip_prefix("pt100:")?.parse().ok()?;
            (n <= 5).then_some(DmmInput::Pt100(n))
        }
    }
}

fn seed_for(seed: u64, name: &str) -> u64 {
    // FNV-1a: a stable per-instrument noise stream from the world seed.
    name.bytes().fold(0xcbf2_9ce4_8422_2325 ^ seed, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn device_for(
    station: &Station,
    entry: &InstrumentEntry,
    world: &Arc<World>,
    seed: u64,
) -> Result<(Box<dyn SimDevice>, Wire), InstrumentsError> {
    let profile = station.profile_of(entry)?;
    let serial = entry
        .serial_number
        .clone()
        .unwrap_or_else(|| "SIM00001".into());
    let seed = seed_for(seed, &entry.name);
    let fail =
        |problem: String| station.fail(format!("instrument `{}`.sim_input", entry.name), problem);
    Ok(match profile.dialect {
        Dialect::Keithley24xx => {
            let model = if profile.model.contains("2461") {
                "2461"
            } else {
                "2460"
            };
            (
                Box::new(Keithley24xx::new(model, &serial, world.clone(), seed)),
                Wire::lf(),
            )
        }
        Dialect::KeysightTruevolt => {
            let input = match (&entry.sim_input, entry.role) {
                (Some(text), _) => parse_sim_input(text).ok_or_else(|| {
                    fail("write `reference_shunt`, `check_shunt` or `pt100:N` (N = 0..5)".into())
                })?,
                (None, Role::IrradianceMeter) => DmmInput::ReferenceShunt,
                (None, _) => DmmInput::Pt100(0),
            };
            (
                Box::new(Keysight34465a::new(&serial, input, world.clone(), seed)),
                Wire::lf(),
            )
        }
        Dialect::KeysightDaq => (
            Box::new(Daq970a::new(&serial, world.clone(), seed)),
            Wire::lf(),
        ),
        Dialect::HiokiBt356x => {
            let model = if profile.model.contains("3563") {
                "BT3563"
            } else {
                "BT3562"
            };
            (
                Box::new(HiokiBt356x::new(model, world.clone(), seed)),
                Wire::crlf_replies(),
            )
        }
        Dialect::Fluke55xx => (
            Box::new(Fluke5522a::new(&serial, world.clone())),
            Wire::cr_or_lf(),
        ),
        Dialect::ScpiSwitch => (
            Box::new(RelaySwitch::new(&serial, 8, world.clone())),
            Wire::lf(),
        ),
    })
}

impl SimulatedStation {
    /// Start every instrument of a simulated `station`. Must run inside a tokio runtime.
    ///
    /// An instrument whose resource is `sim` gets a port chosen by the system (or a
    /// pseudo-terminal if it is a serial model); one whose resource is a loopback TCP socket
    /// (`TCPIP::127.0.0.1::5025::SOCKET`) is served on that port, so that scripts and other
    /// programs can rely on it, unless `options.ephemeral`.
    pub async fn start(
        station: &Station,
        options: &SimOptions,
    ) -> Result<SimulatedStation, InstrumentsError> {
        let info = &station.file.station;
        if !info.simulated {
            return Err(station.fail(
                "station.simulated".into(),
                "this station drives real instruments; set `simulated = true` to simulate it"
                    .into(),
            ));
        }
        let seed = options.seed.or(info.seed).unwrap_or(1);
        let world = Arc::new(World::new(world_config(station, options)));
        let mut extra: BTreeMap<String, Vec<Fault>> = BTreeMap::new();
        if let Some(list) = &options.faults {
            for (name, fault) in parse_fault_list(list).map_err(|e| InstrumentsError::Invalid {
                instrument: "--faults".into(),
                problem: e.to_string(),
            })? {
                if !station.file.instrument.iter().any(|i| i.name == name)
                    && !station.file.modbus.iter().any(|m| m.name == name)
                {
                    return Err(InstrumentsError::Invalid {
                        instrument: "--faults".into(),
                        problem: format!(
                            "no instrument named `{name}` in {}",
                            station.path.display()
                        ),
                    });
                }
                extra.entry(name).or_default().push(fault);
            }
        }
        let mut served = Vec::new();
        let mut tasks = Vec::new();
        let mut ptys = Vec::new();
        for entry in &station.file.instrument {
            let profile = station.profile_of(entry)?;
            let mut faults = Vec::new();
            for spec in &entry.faults {
                faults.push(Fault::parse(spec).map_err(|e| {
                    station.fail(format!("instrument `{}`.faults", entry.name), e.to_string())
                })?);
            }
            faults.extend(extra.remove(&entry.name).unwrap_or_default());
            let (device, wire) = device_for(station, entry, &world, seed)?;
            let instrument = Arc::new(SimInstrument::new(&entry.name, device, wire, faults));
            let io = |e: std::io::Error| InstrumentsError::Invalid {
                instrument: entry.name.clone(),
                problem: format!("cannot serve the simulated instrument: {e}"),
            };
            let resource = if station.is_serial(entry) && !options.serial_over_tcp {
                let (master, slave) =
                    tokio_serial::SerialStream::pair().map_err(|e| io(e.into()))?;
                let path = slave
                    .name()
                    .ok_or_else(|| io(std::io::Error::other("pseudo-terminal without a name")))?;
                tasks.push(tokio::spawn(serve_stream(
                    master,
                    instrument,
                    world.clone(),
                    true,
                )));
                ptys.push(slave);
                format!("ASRL{path}::INSTR")
            } else {
                let pinned = match Resource::parse(&entry.resource) {
                    Ok(Resource::Tcp { host, port })
                        if !options.ephemeral && (host == "127.0.0.1" || host == "localhost") =>
                    {
                        port
                    }
                    _ => 0,
                };
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", pinned))
                    .await
                    .map_err(|e| {
                        io(std::io::Error::new(
                            e.kind(),
                            format!("port {pinned}: {e}; another program holds it (use --ephemeral for free ports)"),
                        ))
                    })?;
                let port = listener.local_addr().map_err(io)?.port();
                tasks.push(tokio::spawn(serve_tcp(listener, instrument, world.clone())));
                format!("TCPIP::127.0.0.1::{port}::SOCKET")
            };
            served.push(Served {
                name: entry.name.clone(),
                role: entry.role.as_str(),
                model: format!("{} {}", profile.manufacturer, profile.model),
                resource,
            });
        }
        // Modbus instruments: Modbus TCP on a loopback port each (unit 1), built from their
        // profiles in the same world.
        for entry in station.file.modbus.iter().filter(|m| m.resource == "sim") {
            let io = |e: std::io::Error| InstrumentsError::Invalid {
                instrument: entry.name.clone(),
                problem: format!("cannot serve the simulated instrument: {e}"),
            };
            let profile = crate::instruments::modbus::ModbusProfile::built_in(&entry.profile)
                .ok_or_else(|| {
                    station.fail(
                        format!("modbus `{}`.profile", entry.name),
                        "unknown Modbus profile".into(),
                    )
                })?;
            let sensor = match entry.sensor.as_deref() {
                Some("diffuse") => SimSensor::Diffuse,
                Some("weather") => SimSensor::Weather,
                Some("spectrum") => SimSensor::Spectrum,
                _ => SimSensor::PlaneOfArray,
            };
            let mut faults = Vec::new();
            for spec in &entry.faults {
                faults.push(Fault::parse(spec).map_err(|e| {
                    station.fail(format!("modbus `{}`.faults", entry.name), e.to_string())
                })?);
            }
            faults.extend(extra.remove(&entry.name).unwrap_or_default());
            let role = profile.role.as_str();
            let model = format!("{} {}", profile.manufacturer, profile.model);
            let baud = profile.serial.baud;
            let sim = Arc::new(
                ModbusSim::new(profile, world.clone(), sensor, 1).with_faults(faults, seed),
            );
            let resource = if entry.rtu && !options.serial_over_tcp {
                let (master, slave) =
                    tokio_serial::SerialStream::pair().map_err(|e| io(e.into()))?;
                let path = slave
                    .name()
                    .ok_or_else(|| io(std::io::Error::other("pseudo-terminal without a name")))?;
                tasks.push(tokio::spawn(serve_modbus_rtu(sim, master, baud)));
                ptys.push(slave);
                format!("MODBUS-RTU::{path}::1")
            } else {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                    .await
                    .map_err(io)?;
                let port = listener.local_addr().map_err(io)?.port();
                tasks.push(tokio::spawn(async move {
                    while let Ok((stream, _)) = listener.accept().await {
                        tokio::spawn(serve_modbus_tcp(sim.clone(), stream));
                    }
                }));
                format!("MODBUS-TCP::127.0.0.1::{port}::1")
            };
            served.push(Served {
                name: entry.name.clone(),
                role,
                model,
                resource,
            });
        }
        if let Some(name) = extra.keys().next() {
            return Err(InstrumentsError::Invalid {
                instrument: "--faults".into(),
                problem: format!(
                    "instrument `{name}` is not simulated (its resource is not `sim`)"
                ),
            });
        }
        Ok(SimulatedStation {
            world,
            served,
            tasks,
            _ptys: ptys,
        })
    }

    /// Resource of each served instrument, to build a [`crate::instruments::bench::Bench`].
    pub fn resources(&self) -> Resources {
        self.served
            .iter()
            .map(|s| (s.name.clone(), s.resource.clone()))
            .collect()
    }
}
/// The simulated world of `station`: its seed and speed (command line first), start, and the
/// sky of its site seen in its module plane.
pub fn world_config(station: &Station, options: &SimOptions) -> WorldConfig {
    let info = &station.file.station;
    let seed = options.seed.or(info.seed).unwrap_or(1);
    let mut config = WorldConfig {
        seed,
        speed: options.speed.or(info.speed).unwrap_or(1.0),
        ..WorldConfig::default()
    };
    if let Some(start) = options.start {
        config.start = start;
    }
    // The module under test, when the simulator has it (`sim truth` refuses one it has not).
    if let Some(module) = info.dut.as_deref().and_then(SimModule::from_dut) {
        config.module = module;
    }
    // The simulated sky is the station's site, seen in its module plane.
    if let Some(site) = &info.site {
        config.latitude = site.latitude;
        config.longitude = site.longitude;
        config.altitude = site.altitude;
        config.plane = match (site.tracker, site.tilt, site.azimuth) {
            (false, Some(tilt), Some(azimuth)) => Plane::Fixed { tilt, azimuth },
            _ => Plane::Tracker,
        };
    }
    config
}
