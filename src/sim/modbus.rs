//! Simulated Modbus instruments in the same world as the SCPI ones: a Kipp & Zonen SMP10 in the
//! module plane (or shaded, reading the diffuse light) and the weather station, each laid out
//! exactly as its profile (`instruments/modbus/*.toml`) says — the simulator builds its
//! registers from the profile, so simulator and driver cannot drift apart. Served over TCP
//! (MBAP) and over any byte stream as RTU (a pseudo-terminal for the serial line: frames end
//! at the 3.5-character silence, wrong CRCs and other units' frames are ignored, as on RS-485).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::world::World;
use crate::instruments::modbus::{ModbusProfile, RegisterEntry};
use crate::modbus::frame::{self, Exception, Request, Response};

/// What a simulated Modbus instrument measures from the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimSensor {
    /// A pyranometer in the module plane.
    PlaneOfArray,
    /// A pyranometer behind a shading ball.
    Diffuse,
    /// The weather station.
    Weather,
}

/// A simulated Modbus instrument: its profile, the world it measures, its unit address.
pub struct ModbusSim {
    profile: ModbusProfile,
    world: Arc<World>,
    sensor: SimSensor,
    /// Unit address.
    pub unit: u8,
}

impl ModbusSim {
    /// A simulated instrument of `profile` reading `sensor` from `world`.
    pub fn new(profile: ModbusProfile, world: Arc<World>, sensor: SimSensor, unit: u8) -> Self {
        ModbusSim {
            profile,
            world,
            sensor,
            unit,
        }
    }

    /// The value of the quantity `name` at `t`, in its unit.
    fn quantity(&self, name: &str, t: f64) -> f64 {
        let w = &self.world;
        match (self.sensor, name) {
            (SimSensor::PlaneOfArray, "irradiance") => w.pyranometer_irradiance(t),
            (SimSensor::Diffuse, "irradiance") => w.diffuse_irradiance(t),
            (_, "body_temperature") => w.ambient(t) + 0.01 * w.irradiance(t),
            (_, "wind_speed") => w.wind_speed(t),
            (_, "wind_direction") => w.wind_direction(t),
            (_, "ambient_temperature") => w.ambient(t),
            (_, "relative_humidity") => w.relative_humidity(t),
            (_, "pressure") => w.pressure(),
            _ => 0.0,
        }
    }

    /// Every register of one kind (input or holding) at `t`: address → word.
    fn image(&self, input: bool, t: f64) -> BTreeMap<u16, u16> {
        let mut words = BTreeMap::new();
        let mut put = |address: u16, values: Vec<u16>| {
            for (k, v) in values.into_iter().enumerate() {
                words.insert(address.wrapping_add(k as u16), v);
            }
        };
        for id in self.profile.identity.iter().filter(|i| i.input == input) {
            put(id.address, id.kind.encode(id.expect, Default::default()));
        }
        // The SMP reports with one decimal: scale factor 1.
        let scale_of = |r: &RegisterEntry| -> i32 {
            match (&r.scale_register, r.scale) {
                (Some(_), _) => 1,
                (None, Some(s)) => s,
                (None, None) => 0,
            }
        };
        for r in self.profile.registers.iter().filter(|r| r.input == input) {
            let is_scale = self
                .profile
                .registers
                .iter()
                .any(|o| o.scale_register.as_deref() == Some(r.name.as_str()));
            let value = if is_scale {
                1.0
            } else if r.name == "status" {
                0.0
            } else {
                self.quantity(&r.name, t) * 10f64.powi(scale_of(r))
            };
            put(r.address, r.kind.encode(value, r.word_order));
        }
        // A device's register block is contiguous: registers the profile does not name
        // (SMP: data-model version, operational mode) read as 0 between the mapped ones.
        if let (Some(&lo), Some(&hi)) = (words.keys().next(), words.keys().next_back()) {
            for a in lo..=hi {
                words.entry(a).or_insert(0);
            }
        }
        words
    }

    /// Answer one request at simulated time `t`.
    pub fn answer(&self, request: &Request, t: f64) -> Response {
        match request {
            Request::ReadHolding { address, count } | Request::ReadInput { address, count } => {
                let image = self.image(matches!(request, Request::ReadInput { .. }), t);
                let values: Option<Vec<u16>> = (0..*count)
                    .map(|k| image.get(&address.wrapping_add(k)).copied())
                    .collect();
                match values {
                    Some(v) => Response::Registers(v),
                    None => Response::Exception(Exception::IllegalDataAddress),
                }
            }
            // The simulated sensors have no writable settings.
            Request::WriteSingle { .. } | Request::WriteMultiple { .. } => {
                Response::Exception(Exception::IllegalDataAddress)
            }
        }
    }

    /// The PDU answering a request PDU (an exception for one it cannot parse).
    fn answer_pdu(&self, pdu: &[u8], t: f64) -> Vec<u8> {
        match Request::parse(pdu) {
            Ok(request) => self.answer(&request, t).pdu(&request),
            Err(e) => vec![pdu.first().copied().unwrap_or(0) | 0x80, e.code()],
        }
    }
}

/// Serve Modbus TCP on one connection until it closes.
pub async fn serve_tcp<S: AsyncRead + AsyncWrite + Unpin>(sim: Arc<ModbusSim>, mut stream: S) {
    loop {
        let mut header = [0u8; 7];
        if stream.read_exact(&mut header).await.is_err() {
            return;
        }
        let Ok((transaction, unit, len)) = frame::mbap(&header) else {
            return;
        };
        let mut pdu = vec![0u8; len];
        if stream.read_exact(&mut pdu).await.is_err() {
            return;
        }
        let answer = sim.answer_pdu(&pdu, sim.world.now());
        if stream
            .write_all(&frame::tcp(transaction, unit, &answer))
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Serve Modbus RTU on a byte stream (a pseudo-terminal) at `baud`: a frame ends after 3.5
/// characters of silence; frames for other units or with a wrong CRC get no answer.
pub async fn serve_rtu<S: AsyncRead + AsyncWrite + Unpin>(
    sim: Arc<ModbusSim>,
    mut stream: S,
    baud: u32,
) {
    let silence = Duration::from_secs_f64((3.5 * 11.0 / f64::from(baud.max(1))).max(0.00175));
    let mut buf = [0u8; 512];
    loop {
        let mut frame_bytes = Vec::new();
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => frame_bytes.extend_from_slice(&buf[..n]),
        }
        // The rest of the frame, until the line goes quiet.
        while let Ok(Ok(n)) = tokio::time::timeout(silence * 2, stream.read(&mut buf)).await {
            if n == 0 {
                break;
            }
            frame_bytes.extend_from_slice(&buf[..n]);
        }
        let Ok(pdu) = frame::rtu_pdu(sim.unit, &frame_bytes) else {
            continue;
        };
        let answer = sim.answer_pdu(pdu, sim.world.now());
        if stream
            .write_all(&frame::rtu(sim.unit, &answer))
            .await
            .is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instruments::modbus::ModbusInstrument;
    use crate::modbus::{Client, Framing};
    use crate::sim::world::WorldConfig;

    fn world() -> Arc<World> {
        Arc::new(World::new(WorldConfig {
            clouds: false,
            ..WorldConfig::default()
        }))
    }

    #[tokio::test]
    async fn the_driver_reads_the_simulated_smp10_over_rtu_and_the_weather_station_over_tcp() {
        let w = world();
        let smp = ModbusProfile::built_in("kipp-zonen-smp10").expect("profile");
        let sim = Arc::new(ModbusSim::new(
            smp.clone(),
            w.clone(),
            SimSensor::PlaneOfArray,
            1,
        ));
        let (client_end, server_end) = tokio::io::duplex(1024);
        tokio::spawn(serve_rtu(sim, server_end, 19_200));
        let client = Client::new(
            client_end,
            Framing::Rtu { baud: 19_200 },
            1,
            "MODBUS-RTU::sim::1",
        );
        let mut smp10 = ModbusInstrument::new(smp, client, "MODBUS-RTU::sim::1");
        assert_eq!(
            smp10.identify().await.expect("identity"),
            "Kipp & Zonen SMP10, device_type=610"
        );
        let g = smp10.read("irradiance").await.expect("irradiance");
        let truth = w.pyranometer_irradiance(w.now());
        // One decimal on the wire.
        assert!((g - truth).abs() <= 0.05 + 1e-9, "{g} vs {truth}");
        assert!(g > 500.0, "a clear plateau noon: {g}");
        let weather = ModbusProfile::built_in("pvstation-weather").expect("profile");
        let sim = Arc::new(ModbusSim::new(
            weather.clone(),
            w.clone(),
            SimSensor::Weather,
            1,
        ));
        let (client_end, server_end) = tokio::io::duplex(1024);
        tokio::spawn(serve_tcp(sim, server_end));
        let client = Client::new(client_end, Framing::Tcp, 1, "MODBUS-TCP::sim::502::1");
        let mut station = ModbusInstrument::new(weather, client, "MODBUS-TCP::sim::502::1");
        station.identify().await.expect("identity");
        let p = station.read("pressure").await.expect("pressure");
        assert!((p - w.pressure()).abs() < 0.01, "{p}");
        let v = station.read("wind_speed").await.expect("wind");
        assert!((0.0..8.0).contains(&v), "{v}");
        // A wrong unit address gets no answer on RS-485: the read times out naming the register.
        let smp = ModbusProfile::built_in("kipp-zonen-smp10").expect("profile");
        let sim = Arc::new(ModbusSim::new(
            smp.clone(),
            w.clone(),
            SimSensor::Diffuse,
            7,
        ));
        let (client_end, server_end) = tokio::io::duplex(1024);
        tokio::spawn(serve_rtu(sim, server_end, 19_200));
        let client = Client::new(
            client_end,
            Framing::Rtu { baud: 19_200 },
            1,
            "MODBUS-RTU::sim::1",
        )
        .with_timeout(Duration::from_millis(100), 1);
        let mut wrong = ModbusInstrument::new(smp, client, "MODBUS-RTU::sim::1");
        let e = wrong.read("irradiance").await.unwrap_err().to_string();
        assert!(e.contains("register 5") && e.contains("no answer"), "{e}");
    }
}
