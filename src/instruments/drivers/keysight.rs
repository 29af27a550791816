//! Keysight Truevolt 34465A as an [`IrradianceMeter`] (reference-cell shunt voltage) or a
//! single-sensor [`Thermometer`], and the DAQ970A as a scanning [`Thermometer`]
//! (instruments.md §3).

use super::Base;
use crate::analysis::irradiance::irradiance_from_reference;
use crate::instruments::roles::{
    BoxFuture, Instrument, IrradianceMeter, IrradianceReading, Result, TemperatureReading,
    Thermometer,
};
use crate::instruments::station::ReferenceDevice;
use crate::scpi::ScpiNumber;
use crate::scpi::number::parse_number;

/// Integration time of irradiance readings [PLC]: 1 PLC (20 ms) follows the sun's
/// fluctuations closely enough for a sweep of ~1–3 s while averaging mains pickup.
const IRRADIANCE_NPLC: f64 = 1.0;

/// Keysight Truevolt DMM.
pub struct Truevolt {
    base: Base,
    reference: Option<ReferenceDevice>,
    sensor: String,
}

impl Truevolt {
    /// A DMM reading `reference`'s shunt (irradiance meter), or a PT100 named `sensor`.
    pub fn new(base: Base, reference: Option<ReferenceDevice>, sensor: &str) -> Self {
        Truevolt {
            base,
            reference,
            sensor: sensor.to_string(),
        }
    }

    async fn irradiance(&mut self, cell_temperature: f64) -> Result<IrradianceReading> {
        let Some(reference) = self.reference.clone() else {
            return Err(self
                .base
                .invalid("no reference cell configured for this DMM".into()));
        };
        let cv = reference.certificate.value;
        let shunt = reference
            .parameters
            .get("shunt_resistance")
            .copied()
            .unwrap_or(f64::NAN);
        let alpha = reference
            .parameters
            .get("alpha_rel")
            .copied()
            .unwrap_or(0.0);
        // Smallest range that holds the shunt voltage at 1500 W/m² (cloud enhancement).
        let full = 1.5 * cv * shunt;
        let range = [0.1, 1.0, 10.0, 100.0, 1000.0]
            .into_iter()
            .find(|r| *r >= full)
            .unwrap_or(1000.0);
        let commands = [
            format!("CONF:VOLT:DC {range}"),
            format!("VOLT:DC:NPLC {IRRADIANCE_NPLC}"),
            "VOLT:DC:ZERO:AUTO ON".to_string(),
            // After CONF, which selects 10 MΩ: > 10 GΩ input keeps the shunt unloaded.
            "VOLT:DC:IMP:AUTO ON".to_string(),
        ];
        self.base.configure(&commands, "CONF:VOLT:DC").await?;
        let session = &mut self.base.session;
        let time = self.base.clock.now();
        let reply = session.query_once("READ?").await?;
        let volts = match parse_number(&reply) {
            Ok(ScpiNumber::Value(v)) => v,
            Ok(other) => return Err(session.no_reading("READ?", other).into()),
            Err(e) => return Err(session.parse_error("READ?", &reply, e.to_string()).into()),
        };
        let isc = volts / shunt;
        // Spectrally matched reference assumed here (SMM = 1): the metrology core applies the
        // spectral mismatch factor where the run provides one.
        let irradiance = irradiance_from_reference(isc, cv, alpha, cell_temperature, 1.0);
        if !irradiance.is_finite() || irradiance < -5.0 {
            return Err(self.base.reading_error(format!(
                "irradiance {irradiance:.1} W/m² from shunt voltage {volts} V is not plausible; check the reference cell's polarity and wiring"
            )));
        }
        Ok(IrradianceReading {
            irradiance,
            shunt_voltage: volts,
            short_circuit_current: isc,
            cell_temperature,
            reference: reference.id,
            time,
        })
    }

    async fn temperature(&mut self) -> Result<Vec<TemperatureReading>> {
        self.base
            .configure(&["CONF:TEMP FRTD,85".to_string()], "CONF:TEMP")
            .await?;
        let session = &mut self.base.session;
        let time = self.base.clock.now();
        let reply = session.query_once("READ?").await?;
        let t = match parse_number(&reply) {
            Ok(ScpiNumber::Value(v)) => v,
            Ok(other) => return Err(session.no_reading("READ?", other).into()),
            Err(e) => return Err(session.parse_error("READ?", &reply, e.to_string()).into()),
        };
        Ok(vec![TemperatureReading {
            sensor: self.sensor.clone(),
            channel: 1,
            temperature: t,
            time,
        }])
    }
}

impl Instrument for Truevolt {
    fn name(&self) -> &str {
        &self.base.name
    }
    fn identify(&mut self) -> BoxFuture<'_, Result<String>> {
        Box::pin(self.base.identify())
    }
}

impl IrradianceMeter for Truevolt {
    fn read_irradiance(
        &mut self,
        cell_temperature: f64,
    ) -> BoxFuture<'_, Result<IrradianceReading>> {
        Box::pin(self.irradiance(cell_temperature))
    }
}

impl Thermometer for Truevolt {
    fn read_temperatures(&mut self) -> BoxFuture<'_, Result<Vec<TemperatureReading>>> {
        Box::pin(self.temperature())
    }
}

/// Keysight DAQ970A scanning 4-wire PT100 channels.
pub struct Daq970a {
    base: Base,
    /// (sensor name, channel), in scan order.
    sensors: Vec<(String, u32)>,
}

impl Daq970a {
    /// A DAQ scanning `sensors` (name → channel).
    pub fn new(base: Base, sensors: Vec<(String, u32)>) -> Self {
        Daq970a { base, sensors }
    }

    fn channel_list(&self) -> String {
        let list: Vec<String> = self.sensors.iter().map(|(_, c)| c.to_string()).collect();
        format!("(@{})", list.join(","))
    }

    async fn scan(&mut self) -> Result<Vec<TemperatureReading>> {
        let list = self.channel_list();
        let commands = [
            format!("CONF:TEMP FRTD,85,{list}"),
            format!("ROUT:SCAN {list}"),
            // CONFigure turns the channel field off: switch it on after.
            "FORM:READ:CHAN ON".to_string(),
        ];
        self.base.configure(&commands, "CONF:TEMP").await?;
        let session = &mut self.base.session;
        let time = self.base.clock.now();
        let reply = session.query_once("READ?").await?;
        let fields: Vec<&str> = reply.split(',').collect();
        if fields.len() != 2 * self.sensors.len() {
            return Err(session
                .parse_error(
                    "READ?",
                    &reply,
                    format!("expected {} reading,channel pairs", self.sensors.len()),
                )
                .into());
        }
        let mut out = Vec::with_capacity(self.sensors.len());
        for (pair, (sensor, channel)) in fields.chunks_exact(2).zip(&self.sensors) {
            let reported: u32 = pair[1].trim().parse().map_err(|_| {
                session.parse_error(
                    "READ?",
                    &reply,
                    format!("`{}` is not a channel number", pair[1]),
                )
            })?;
            if reported != *channel {
                return Err(session
                    .parse_error(
                        "READ?",
                        &reply,
                        format!("reading for channel {reported} where {channel} was expected"),
                    )
                    .into());
            }
            let temperature = match parse_number(pair[0]) {
                Ok(ScpiNumber::Value(v)) => v,
                Ok(_) => {
                    return Err(self.base.reading_error(format!(
                        "sensor `{sensor}` (channel {channel}) reads overload: open or broken PT100 wiring"
                    )));
                }
                Err(e) => {
                    return Err(self
                        .base
                        .session
                        .parse_error("READ?", &reply, e.to_string())
                        .into());
                }
            };
            out.push(TemperatureReading {
                sensor: sensor.clone(),
                channel: *channel,
                temperature,
                time,
            });
        }
        Ok(out)
    }
}

impl Instrument for Daq970a {
    fn name(&self) -> &str {
        &self.base.name
    }
    fn identify(&mut self) -> BoxFuture<'_, Result<String>> {
        Box::pin(self.base.identify())
    }
}

impl Thermometer for Daq970a {
    fn read_temperatures(&mut self) -> BoxFuture<'_, Result<Vec<TemperatureReading>>> {
        Box::pin(self.scan())
    }
}
