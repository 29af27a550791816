//! A connected station: one driver per role, built from a station file, and the probe that
//! checks every instrument is there and is what its profile says.

use std::collections::BTreeMap;

use serde::Serialize;

use super::InstrumentsError;
use super::drivers::{Base, fluke, hioki, keithley, keysight, open_session, switch};
use super::profile::{Dialect, Role};
use super::roles::{
    Instrument, IrradianceMeter, IvTracer, ResistanceMeter, Result, Source, Switch, Thermometer,
};
use super::station::{CertificateStatus, InstrumentEntry, Station};
use crate::model::Date;
use crate::model::SharedClock;
use crate::scpi::IoLog;

/// Resolved resource of each instrument (station resources, with `sim` replaced by the
/// simulated station's).
pub type Resources = BTreeMap<String, String>;

/// The station's instruments by role.
#[derive(Default)]
pub struct Bench {
    /// Sweeps the module's I-V curve (SMU or electronic load).
    pub iv_tracer: Option<Box<dyn IvTracer>>,
    /// Reads the working reference cell (a DMM on its shunt).
    pub irradiance_meter: Option<Box<dyn IrradianceMeter>>,
    /// Further irradiance meters (check reference cells), in station-file order.
    pub check_irradiance_meters: Vec<Box<dyn IrradianceMeter>>,
    /// Reads the PT100 sensors (module back sheet, reference cell).
    pub thermometer: Option<Box<dyn Thermometer>>,
    /// Battery internal-resistance tester under calibration.
    pub resistance_meter: Option<Box<dyn ResistanceMeter>>,
    /// Calibrator.
    pub source: Option<Box<dyn Source>>,
    /// Relay switch.
    pub switch: Option<Box<dyn Switch>>,
    /// Modbus sky instruments (pyranometers, weather station), in station-file order.
    pub sky: Vec<SkyInstrument>,
}

/// A Modbus sky instrument of the station, connected on first use (and again after a
/// failure); every frame goes to the I/O log.
pub struct SkyInstrument {
    /// Name in the station file.
    pub name: String,
    /// Resource.
    pub resource: String,
    /// Its model.
    pub profile: super::modbus::ModbusProfile,
    /// What it measures (`plane_of_array`, `diffuse`, `weather`, `spectrum`), as the station
    /// file says.
    pub sensor: Option<String>,
    log: IoLog,
    connection: Option<super::modbus::ModbusInstrument<Box<dyn super::modbus::ByteStream>>>,
    /// The identity found on connecting.
    identity: String,
}

impl SkyInstrument {
    fn fail(&self, e: &dyn std::fmt::Display) -> String {
        format!("{}: {e}", self.name)
    }

    /// The connection, opened (and the unit identified against its profile) if needed; the
    /// identity found.
    async fn connection(
        &mut self,
    ) -> std::result::Result<
        &mut super::modbus::ModbusInstrument<Box<dyn super::modbus::ByteStream>>,
        String,
    > {
        if self.connection.is_none() {
            let resource =
                crate::modbus::ModbusResource::parse(&self.resource).map_err(|e| self.fail(&e))?;
            let tap = super::modbus::io_log_tap(&self.log, &self.name, &self.resource);
            let mut inst = super::modbus::connect(
                &resource,
                self.profile.clone(),
                std::time::Duration::from_millis(1000),
                tap,
            )
            .await
            .map_err(|e| self.fail(&e))?;
            self.identity = inst.identify().await.map_err(|e| self.fail(&e))?;
            self.connection = Some(inst);
        }
        self.connection
            .as_mut()
            .ok_or_else(|| format!("{}: not connected", self.name))
    }

    /// Connect and check the unit against its profile; its identity ("Kipp & Zonen SMP10,
    /// device_type=610").
    pub async fn identify(&mut self) -> std::result::Result<String, String> {
        let result = self.connection().await.map(|_| ());
        self.settle(result)?;
        Ok(self.identity.clone())
    }

    /// After a failure the next call connects afresh (a rebooted or replugged sensor).
    fn settle<T>(&mut self, r: std::result::Result<T, String>) -> std::result::Result<T, String> {
        if r.is_err() {
            self.connection = None;
        }
        r
    }

    /// Every quantity of its map (scale, status and grid registers aside) in its unit. Err
    /// names the instrument, resource and register.
    pub async fn read_all(&mut self) -> std::result::Result<BTreeMap<String, f64>, String> {
        let names: Vec<String> = self
            .profile
            .registers
            .iter()
            .filter(|r| r.unit != "1" && r.unit != "nm")
            .map(|r| r.name.clone())
            .collect();
        let name = self.name.clone();
        let result = async {
            let inst = self.connection().await?;
            let mut out = BTreeMap::new();
            for register in names {
                let v = inst
                    .read(&register)
                    .await
                    .map_err(|e| format!("{name}: {e}"))?;
                out.insert(register, v);
            }
            Ok(out)
        }
        .await;
        self.settle(result)
    }

    /// One whole spectrum (spectroradiometers). Err names the instrument, resource and
    /// register.
    pub async fn read_spectrum(
        &mut self,
    ) -> std::result::Result<super::modbus::SpectrumScan, String> {
        let name = self.name.clone();
        let result = async {
            let inst = self.connection().await?;
            inst.read_spectrum()
                .await
                .map_err(|e| format!("{name}: {e}"))
        }
        .await;
        self.settle(result)
    }
}

fn resource_of<'a>(entry: &'a InstrumentEntry, resources: &'a Resources) -> &'a str {
    resources
        .get(&entry.name)
        .map(String::as_str)
        .unwrap_or(&entry.resource)
}

fn base(
    station: &Station,
    entry: &InstrumentEntry,
    resources: &Resources,
    log: &IoLog,
    clock: &SharedClock,
) -> Result<Base> {
    let profile = station.profile_of(entry)?.clone();
    let session = open_session(entry, &profile, resource_of(entry, resources), log)?;
    Ok(Base::new(session, profile, clock.clone()))
}

impl Bench {
    /// Build drivers for every instrument of `station` (connections open on first use).
    pub fn new(
        station: &Station,
        resources: &Resources,
        log: &IoLog,
        clock: &SharedClock,
    ) -> Result<Bench> {
        let mut bench = Bench::default();
        for entry in &station.file.modbus {
            let profile =
                super::modbus::ModbusProfile::built_in(&entry.profile).ok_or_else(|| {
                    station.fail(
                        format!("modbus `{}`.profile", entry.name),
                        "unknown Modbus profile".into(),
                    )
                })?;
            bench.sky.push(SkyInstrument {
                name: entry.name.clone(),
                resource: resources
                    .get(&entry.name)
                    .cloned()
                    .unwrap_or_else(|| entry.resource.clone()),
                profile,
                sensor: entry.sensor.clone(),
                log: log.clone(),
                connection: None,
                identity: String::new(),
            });
        }
        for entry in &station.file.instrument {
            let b = base(station, entry, resources, log, clock)?;
            let dialect = b.profile.dialect;
            match (dialect, entry.role) {
                (Dialect::Keithley24xx, Role::IvTracer) => {
                    bench.iv_tracer = Some(Box::new(keithley::Keithley24xx::new(b)));
                }
                (Dialect::KeysightTruevolt, Role::IrradianceMeter) => {
                    let reference = entry
                        .reference
                        .as_deref()
                        .and_then(|id| station.reference(id))
                        .cloned();
                    let meter = Box::new(keysight::Truevolt::new(b, reference, "dmm"));
                    if bench.irradiance_meter.is_none() {
                        bench.irradiance_meter = Some(meter);
                    } else {
                        bench.check_irradiance_meters.push(meter);
                    }
                }
                (Dialect::KeysightTruevolt, Role::Thermometer) => {
                    let sensor = entry
                        .channels
                        .keys()
                        .next()
                        .cloned()
                        .unwrap_or_else(|| entry.name.clone());
                    bench.thermometer = Some(Box::new(keysight::Truevolt::new(b, None, &sensor)));
                }
                (Dialect::KeysightDaq, Role::Thermometer) => {
                    let mut sensors: Vec<(String, u32)> = entry
                        .channels
                        .iter()
                        .map(|(k, v)| (k.clone(), *v))
                        .collect();
                    sensors.sort_by_key(|(_, c)| *c);
                    bench.thermometer = Some(Box::new(keysight::Daq970a::new(b, sensors)));
                }
                (Dialect::HiokiBt356x, Role::ResistanceMeter) => {
                    bench.resistance_meter = Some(Box::new(hioki::HiokiBt356x::new(b)));
                }
                (Dialect::Fluke55xx, Role::Source) => {
                    bench.source = Some(Box::new(fluke::Fluke55xx::new(b)));
                }
                (Dialect::ScpiSwitch, Role::Switch) => {
                    bench.switch = Some(Box::new(switch::ScpiSwitch::new(b)));
                }
                (dialect, role) => {
                    return Err(InstrumentsError::Station {
                        file: station.path.display().to_string(),
                        key: format!("instrument `{}`.role", entry.name),
                        problem: format!(
                            "no driver for dialect {dialect:?} in role `{}`; fix the profile's roles",
                            role.as_str()
                        ),
                    });
                }
            }
        }
        Ok(bench)
    }

    /// Every instrument, for identification and safe-state.
    pub fn instruments(&mut self) -> Vec<&mut dyn Instrument> {
        let mut out: Vec<&mut dyn Instrument> = Vec::new();
        if let Some(i) = self.iv_tracer.as_deref_mut() {
            out.push(i);
        }
        if let Some(i) = self.irradiance_meter.as_deref_mut() {
            out.push(i);
        }
        for i in &mut self.check_irradiance_meters {
            out.push(i.as_mut());
        }
        if let Some(i) = self.thermometer.as_deref_mut() {
            out.push(i);
        }
        if let Some(i) = self.resistance_meter.as_deref_mut() {
            out.push(i);
        }
        if let Some(i) = self.source.as_deref_mut() {
            out.push(i);
        }
        if let Some(i) = self.switch.as_deref_mut() {
            out.push(i);
        }
        out
    }

    /// Put every instrument in its safe state; returns the failures (one failing instrument
    /// must not stop the others from being made safe).
    pub async fn safe_state(&mut self) -> Vec<InstrumentsError> {
        let mut failures = Vec::new();
        for inst in self.instruments() {
            if let Err(e) = inst.safe_state().await {
                failures.push(e);
            }
        }
        failures
    }
}

/// What `instruments probe` reports per instrument.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    /// Instrument name in the station file.
    pub name: String,
    /// Its role (`iv_tracer`, `irradiance_meter`, …).
    pub role: &'static str,
    /// Profile id.
    pub profile: String,
    /// The profile's model name.
    pub model: String,
    /// Resource used.
    pub resource: String,
    /// `*IDN?` reply, if any.
    pub identity: Option<String>,
    /// Errors found in the instrument's queue or status.
    pub instrument_errors: Vec<String>,
    /// No problem found.
    pub ok: bool,
    /// Problems and how to fix them.
    pub problems: Vec<String>,
}

/// Certificate status of a reference device.
#[derive(Debug, Clone, Serialize)]
pub struct CertificateReport {
    /// Reference id.
    pub reference: String,
    /// Certificate number.
    pub certificate: String,
    /// Recalibration due date.
    pub due_date: Date,
    /// Status today.
    #[serde(flatten)]
    pub status: CertificateStatus,
}

/// Identify every instrument and check it against its profile; drain its errors.
pub async fn probe(
    station: &Station,
    resources: &Resources,
    log: &IoLog,
    clock: &SharedClock,
) -> Vec<ProbeReport> {
    let mut reports = Vec::new();
    for entry in &station.file.instrument {
        let resource = resource_of(entry, resources).to_string();
        let mut report = ProbeReport {
            name: entry.name.clone(),
            role: entry.role.as_str(),
            profile: entry.profile.clone(),
            model: String::new(),
            resource: resource.clone(),
            identity: None,
            instrument_errors: Vec::new(),
            ok: false,
            problems: Vec::new(),
        };
        match base(station, entry, resources, log, clock) {
            Err(e) => report.problems.push(e.to_string()),
            Ok(mut b) => {
                report.model = format!("{} {}", b.profile.manufacturer, b.profile.model);
                match b.session.idn().await {
                    Err(e) => report.problems.push(e.to_string()),
                    Ok(idn) => {
                        if !b.profile.matches(&idn) {
                            report.problems.push(format!(
                                "identity `{idn}` does not match profile `{}` (`{}`): wrong instrument at this resource, or wrong profile",
                                b.profile.id, b.profile.identity
                            ));
                        }
                        report.identity = Some(idn);
                        match b.session.drain_errors().await {
                            Ok(errors) => {
                                report.instrument_errors = errors
                                    .iter()
                                    .map(|e| format!("{},\"{}\"", e.code, e.message))
                                    .collect();
                            }
                            Err(e) => report.problems.push(format!("error query failed: {e}")),
                        }
                    }
                }
            }
        }
        report.ok = report.problems.is_empty();
        reports.push(report);
    }
    for entry in &station.file.modbus {
        reports.push(probe_modbus(entry, resources, log).await);
    }
    reports
}

/// Identify a Modbus instrument against its profile and read its first quantity.
async fn probe_modbus(
    entry: &super::station::ModbusEntry,
    resources: &Resources,
    log: &IoLog,
) -> ProbeReport {
    use super::modbus::{ModbusProfile, ModbusRole, connect};
    let resource = resources
        .get(&entry.name)
        .cloned()
        .unwrap_or_else(|| entry.resource.clone());
    let profile = ModbusProfile::built_in(&entry.profile);
    let mut report = ProbeReport {
        name: entry.name.clone(),
        role: profile
            .as_ref()
            .map_or(ModbusRole::Pyranometer, |p| p.role)
            .as_str(),
        profile: entry.profile.clone(),
        model: profile
            .as_ref()
            .map(|p| format!("{} {}", p.manufacturer, p.model))
            .unwrap_or_default(),
        resource: resource.clone(),
        identity: None,
        instrument_errors: Vec::new(),
        ok: false,
        problems: Vec::new(),
    };
    let Some(profile) = profile else {
        report
            .problems
            .push(format!("unknown Modbus profile `{}`", entry.profile));
        return report;
    };
    let parsed = match crate::modbus::ModbusResource::parse(&resource) {
        Ok(r) => r,
        Err(e) => {
            report.problems.push(e);
            return report;
        }
    };
    let tap = super::modbus::io_log_tap(log, &entry.name, &resource);
    let first = profile
        .registers
        .iter()
        .find(|r| r.scale_register.is_some() || r.unit != "1")
        .cloned();
    match connect(
        &parsed,
        profile,
        std::time::Duration::from_millis(1000),
        tap,
    )
    .await
    {
        Err(e) => report.problems.push(e.to_string()),
        Ok(mut inst) => match inst.identify().await {
            Err(e) => report.problems.push(e.to_string()),
            Ok(id) => {
                let reading = if inst.profile.spectrum.is_some() {
                    // A spectroradiometer is probed by reading one whole spectrum.
                    match inst.read_spectrum().await {
                        Ok(scan) => format!(
                            "; spectrum {} values {}–{} nm",
                            scan.irradiance.len(),
                            scan.wavelength.first().copied().unwrap_or_default(),
                            scan.wavelength.last().copied().unwrap_or_default()
                        ),
                        Err(e) => {
                            report.problems.push(e.to_string());
                            String::new()
                        }
                    }
                } else {
                    match &first {
                        Some(r) => match inst.read(&r.name).await {
                            Ok(v) => format!(
                                "; {} {} {}",
                                r.name,
                                crate::model::stated::significant(v, 4).unwrap_or_default(),
                                r.unit
                            ),
                            Err(e) => {
                                report.problems.push(e.to_string());
                                String::new()
                            }
                        },
                        None => String::new(),
                    }
                };
                report.identity = Some(format!("{id}{reading}"));
            }
        },
    }
    report.ok = report.problems.is_empty();
    report
}

/// Certificate status of every reference device on `today`.
pub fn certificates(station: &Station, today: Date) -> Vec<CertificateReport> {
    station
        .file
        .reference
        .iter()
        .map(|r| CertificateReport {
            reference: r.id.clone(),
            certificate: r.certificate.number.clone(),
            due_date: r.certificate.due_date,
            status: r.certificate.status(today),
        })
        .collect()
}
