//! Simulated Modbus instruments in the same world as the SCPI ones: pyranometers in the module
//! plane (or shaded, reading the diffuse light), the weather station and the spectroradiometer,
//! each laid out exactly as its profile (`instruments/modbus/*.toml`) says — the simulator
//! builds its registers from the profile, so simulator and driver cannot drift apart. Served
//! over TCP (MBAP) and over any byte stream as RTU (a pseudo-terminal for the serial line:
//! frames end at the 3.5-character silence, wrong CRCs and other units' frames are ignored, as
//! on RS-485), with the fault injection of `sim::faults` (latency, no reply, dropped
//! connections, garbage, CRC errors, exception codes, reboots).
//!
//! The spectroradiometer latches a scan every second of simulated time (longer when the clock
//! runs faster than four times real time, so that a block read fits in one scan): the block holds the
//! world's plane-of-array spectrum at that scan, interpolated to the profile's grid, with the
//! simulated unit's own errors — a calibration tilt of +1 % per 400 nm about 700 nm and 0.5 %
//! noise per value and scan [U: the simulated unit's, within its stated accuracy].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::faults::{Fault, FaultKind, FaultSchedule};
use super::server::GARBAGE;
use super::world::{World, lock};
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
    /// The spectroradiometer in the module plane.
    Spectrum,
}

/// Seconds of simulated time between the spectroradiometer's scans.
const SCAN_PERIOD: f64 = 1.0;
/// Seconds of simulated time a rebooting unit stays silent.
const REBOOT_SILENCE: f64 = 2.0;

/// A simulated Modbus instrument: its profile, the world it measures, its unit address.
pub struct ModbusSim {
    profile: ModbusProfile,
    world: Arc<World>,
    sensor: SimSensor,
    /// Unit address.
    pub unit: u8,
    faults: FaultSchedule,
    seed: u64,
    /// Simulated time of the last power-up [s since epoch]: silent before it, counters from it.
    booted: Mutex<f64>,
}

impl ModbusSim {
    /// A simulated instrument of `profile` reading `sensor` from `world`.
    pub fn new(profile: ModbusProfile, world: Arc<World>, sensor: SimSensor, unit: u8) -> Self {
        let booted = Mutex::new(world.now() - 3600.0);
        ModbusSim {
            profile,
            world,
            sensor,
            unit,
            faults: FaultSchedule::default(),
            seed: 1,
            booted,
        }
    }

    /// With injected `faults`, and noise drawn from `seed`.
    pub fn with_faults(mut self, faults: Vec<Fault>, seed: u64) -> Self {
        self.faults = FaultSchedule::new(faults);
        self.seed = seed;
        self
    }

    /// The latched scan at `t`: (counter, its time). A scan takes 1 s of simulated time, or
    /// 0.25 s of real time when the clock is accelerated beyond that (a block read must fit in
    /// one scan, as with the real instrument at real speed).
    fn scan(&self, t: f64) -> (f64, f64) {
        let booted = *lock(&self.booted);
        let period = SCAN_PERIOD.max(0.25 * self.world.clock().speed());
        let n = ((t - booted) / period).floor().max(0.0);
        (n, booted + n * period)
    }

    /// The spectral block at `t` on the profile's grid, in W·m⁻²·nm⁻¹.
    fn spectrum_values(&self, t: f64) -> Vec<f64> {
        let Some(block) = &self.profile.spectrum else {
            return Vec::new();
        };
        let (n, at) = self.scan(t);
        let grid = super::spectrl2::wavelengths();
        let values = self.world.spectrum(at);
        let mut rng =
            StdRng::seed_from_u64(self.seed ^ (n as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
        let noise = Normal::new(0.0, 0.005).ok();
        (0..block.points)
            .map(|k| {
                let wl = block.first_wavelength + block.wavelength_step * f64::from(k);
                let j = grid.partition_point(|x| *x < wl).clamp(1, grid.len() - 1);
                let f = (wl - grid[j - 1]) / (grid[j] - grid[j - 1]);
                let truth = values[j - 1] + f * (values[j] - values[j - 1]);
                let tilt = 1.0 + 0.01 * (wl - 700.0) / 400.0;
                let e = noise.map(|d| d.sample(&mut rng)).unwrap_or(0.0);
                (truth * tilt * (1.0 + e)).max(0.0)
            })
            .collect()
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
            (SimSensor::Spectrum, "scan_counter") => self.scan(t).0,
            (SimSensor::Spectrum, "integration_time") => {
                (8000.0 / w.irradiance(self.scan(t).1).max(1.0)).clamp(2.0, 5000.0)
            }
            (SimSensor::Spectrum, "detector_temperature") => 25.0,
            (SimSensor::Spectrum, "status") if w.irradiance(self.scan(t).1) < 5.0 => 2.0,
            (_, "first_wavelength") => self
                .profile
                .spectrum
                .as_ref()
                .map_or(0.0, |b| b.first_wavelength),
            (_, "wavelength_step") => self
                .profile
                .spectrum
                .as_ref()
                .map_or(0.0, |b| b.wavelength_step),
            (_, "points") => self
                .profile
                .spectrum
                .as_ref()
                .map_or(0.0, |b| f64::from(b.points)),
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
            } else if r.name == "status" && self.sensor != SimSensor::Spectrum {
                0.0
            } else {
                self.quantity(&r.name, t) * 10f64.powi(scale_of(r))
            };
            put(r.address, r.kind.encode(value, r.word_order));
        }
        if let Some(block) = self.profile.spectrum.as_ref().filter(|b| b.input == input) {
            let per_value = block.kind.registers() as u16;
            for (k, v) in self.spectrum_values(t).into_iter().enumerate() {
                put(
                    block.address + k as u16 * per_value,
                    block.kind.encode(v, block.word_order),
                );
            }
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

    /// What happens to the next request, after the configured latency: `None` when it gets
    /// no answer (or the connection closes: `Reply::Close`).
    async fn handle(&self, pdu: &[u8]) -> Reply {
        let n = self.faults.next_message();
        let latency = self.faults.latency();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let now = self.world.now();
        let due = self.faults.due(n, false);
        if due.contains(&FaultKind::Reboot) {
            *lock(&self.booted) = now + REBOOT_SILENCE;
            return Reply::Close;
        }
        if now < *lock(&self.booted) || due.contains(&FaultKind::NoReply) {
            return Reply::Silent;
        }
        if due.contains(&FaultKind::Drop) {
            return Reply::Close;
        }
        let answer = match due.iter().find_map(|k| match k {
            FaultKind::Error(code) => Some(*code),
            _ => None,
        }) {
            Some(code) => vec![
                pdu.first().copied().unwrap_or(0) | 0x80,
                code.clamp(1, 255) as u8,
            ],
            None => self.answer_pdu(pdu, now),
        };
        if due.contains(&FaultKind::Garbage) {
            Reply::Garbage
        } else if due.contains(&FaultKind::Crc) {
            Reply::BadCrc(answer)
        } else {
            Reply::Pdu(answer)
        }
    }
}

/// The fate of one request.
enum Reply {
    /// The answer.
    Pdu(Vec<u8>),
    /// The answer with a corrupted CRC (RTU; garbage on TCP).
    BadCrc(Vec<u8>),
    /// Bytes that are no frame.
    Garbage,
    /// No answer.
    Silent,
    /// The connection closes (TCP) / the unit goes silent (RTU).
    Close,
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
        let bytes = match sim.handle(&pdu).await {
            Reply::Pdu(answer) => frame::tcp(transaction, unit, &answer),
            Reply::BadCrc(_) | Reply::Garbage => GARBAGE.to_vec(),
            Reply::Silent => continue,
            Reply::Close => return,
        };
        if stream.write_all(&bytes).await.is_err() {
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
        let bytes = match sim.handle(pdu).await {
            Reply::Pdu(answer) => frame::rtu(sim.unit, &answer),
            Reply::BadCrc(answer) => {
                let mut f = frame::rtu(sim.unit, &answer);
                if let Some(last) = f.last_mut() {
                    *last ^= 0xA5;
                }
                f
            }
            Reply::Garbage => GARBAGE.to_vec(),
            Reply::Silent | Reply::Close => continue,
        };
        if stream.write_all(&bytes).await.is_err() {
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

    /// The driver of built-in profile `id` talking Modbus TCP to its simulator of `sensor`.
    fn over_tcp(
        id: &str,
        w: &Arc<World>,
        sensor: SimSensor,
    ) -> ModbusInstrument<tokio::io::DuplexStream> {
        let profile = ModbusProfile::built_in(id).expect("profile");
        let sim = Arc::new(ModbusSim::new(profile.clone(), w.clone(), sensor, 1));
        let (client_end, server_end) = tokio::io::duplex(4096);
        tokio::spawn(serve_tcp(sim, server_end));
        let client = Client::new(client_end, Framing::Tcp, 1, "MODBUS-TCP::sim::502::1");
        ModbusInstrument::new(profile, client, "MODBUS-TCP::sim::502::1")
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
        let mut station = over_tcp("pvstation-weather", &w, SimSensor::Weather);
        station.identify().await.expect("identity");
        let p = station.read("pressure").await.expect("pressure");
        assert!((p - w.pressure()).abs() < 0.01, "{p}");
        let v = station.read("wind_speed").await.expect("wind");
        assert!((0.0..8.0).contains(&v), "{v}");
        // The EKO MS-80M: F32 in holding registers 2–3, high word first, no identity register.
        let mut ms80 = over_tcp("eko-ms80m", &w, SimSensor::PlaneOfArray);
        assert!(
            ms80.identify()
                .await
                .expect("identity")
                .contains("no identity register")
        );
        let g = ms80.read("irradiance").await.expect("irradiance");
        let truth = w.pyranometer_irradiance(w.now());
        assert!((g - truth).abs() < 0.01, "{g} vs {truth}");
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

    #[tokio::test]
    async fn the_spectroradiometer_reads_the_worlds_spectrum_whole() {
        let w = world();
        let profile = ModbusProfile::built_in("pvstation-spectroradiometer").expect("profile");
        let sim = Arc::new(ModbusSim::new(
            profile.clone(),
            w.clone(),
            SimSensor::Spectrum,
            1,
        ));
        let (client_end, server_end) = tokio::io::duplex(4096);
        tokio::spawn(serve_tcp(sim.clone(), server_end));
        let client = Client::new(client_end, Framing::Tcp, 1, "MODBUS-TCP::sim::502::1");
        let mut sr = ModbusInstrument::new(profile, client, "MODBUS-TCP::sim::502::1");
        sr.identify().await.expect("identity");
        let scan = sr.read_spectrum().await.expect("spectrum");
        assert_eq!(scan.wavelength.len(), 161);
        assert_eq!((scan.wavelength[0], scan.wavelength[160]), (300.0, 1100.0));
        assert_eq!(scan.unit, "W/m²/nm");
        assert_eq!(scan.registers.get("status"), Some(&0.0));
        let integration = scan.registers["integration_time"];
        assert!((2.0..5000.0).contains(&integration), "{integration}");
        // The world's spectrum at the latched scan, on the SPECTRL2 grid: every value within the
        // simulated unit's calibration tilt (≤ 1 %) and 4σ of its 0.5 % noise.
        let (_, at) = sim.scan(w.now());
        let truth = w.spectrum(at);
        let grid = crate::sim::spectrl2::wavelengths();
        for (wl, got) in scan.wavelength.iter().zip(&scan.irradiance) {
            if let Some(k) = grid.iter().position(|g| g == wl) {
                let want = truth[k];
                assert!(
                    (got - want).abs() <= 0.03 * want + 1e-4,
                    "{wl} nm: {got} vs {want}"
                );
            }
        }
    }

    #[tokio::test]
    async fn modbus_faults_are_retried_or_named() {
        use crate::sim::faults::Fault;
        let w = Arc::new(World::new(WorldConfig {
            clouds: false,
            speed: 4.0,
            ..WorldConfig::default()
        }));
        let smp = ModbusProfile::built_in("kipp-zonen-smp10").expect("profile");
        let faults = [
            "crc@1",
            "no-reply@3",
            "error=6@5",
            "garbage@7",
            "error=4@9",
            "reboot@11",
        ]
        .iter()
        .map(|f| Fault::parse(f).expect("fault"))
        .collect();
        let sim = Arc::new(
            ModbusSim::new(smp.clone(), w.clone(), SimSensor::PlaneOfArray, 1)
                .with_faults(faults, 1),
        );
        let (client_end, server_end) = tokio::io::duplex(1024);
        tokio::spawn(serve_rtu(sim, server_end, 19_200));
        let client = Client::new(
            client_end,
            Framing::Rtu { baud: 19_200 },
            1,
            "MODBUS-RTU::sim::1",
        )
        .with_timeout(Duration::from_millis(100), 2);
        let mut smp10 = ModbusInstrument::new(smp, client, "MODBUS-RTU::sim::1");
        // 1: bad CRC, 2: retried. 3: silence, 4: retried. 5: busy, 6: asked again.
        smp10.identify().await.expect("CRC error retried");
        smp10.read("status").await.expect("silence retried");
        smp10.read("status").await.expect("busy retried");
        // 7: garbage, 8: retried.
        smp10.read("status").await.expect("garbage retried");
        // 9: a device failure is the answer: named with its register and resource.
        let e = smp10
            .read("body_temperature")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("MODBUS-RTU::sim::1") && e.contains("register 8"),
            "{e}"
        );
        // 10: fine. 11: the unit reboots and stays silent for 2 s of simulated time (0.5 s here):
        // three attempts of 100 ms time out, then it answers again.
        smp10.read("status").await.expect("before the reboot");
        let e = smp10.read("status").await.unwrap_err().to_string();
        assert!(e.contains("no answer") && e.contains("register 3"), "{e}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        smp10.read("irradiance").await.expect("after the reboot");
    }
}
