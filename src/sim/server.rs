//! Transports of the simulated instruments: one TCP listener per instrument (any number of
//! clients), and pseudo-terminals for serial instruments, so clients use exactly the code
//! paths they use with real hardware. Message framing uses the client's own block-aware
//! [`Framer`](crate::scpi::framing::Framer); faults are applied here.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::device::SimDevice;
use super::faults::{Fault, FaultKind, FaultSchedule};
use super::world::{World, lock};
use crate::scpi::framing::{FrameError, Framer};

/// Terminators of a simulated instrument's interface.
#[derive(Debug, Clone)]
pub struct Wire {
    /// Program-message terminator (LF for all simulated instruments).
    pub input: Vec<u8>,
    /// Also accept CR alone as a terminator (Fluke RS-232: "CR or LF").
    pub accept_cr: bool,
    /// Response terminator (`\n`, or `\r\n` for the Hioki and Fluke serial ports).
    pub output: Vec<u8>,
    /// Input buffer [bytes]: a longer program message overruns it and is discarded with
    /// error −363 "Input buffer overrun", as instruments do.
    pub input_buffer: usize,
}

impl Wire {
    /// LF both ways (raw socket instruments; 1 MiB input buffer [U]).
    pub fn lf() -> Self {
        Wire {
            input: b"\n".to_vec(),
            accept_cr: false,
            output: b"\n".to_vec(),
            input_buffer: 1 << 20,
        }
    }

    /// Commands end in LF or CR LF, replies in CR LF (Hioki BT356x RS-232C; input buffer
    /// 256 bytes as the BT4560's [V], assumed for the BT356x [U]).
    pub fn crlf_replies() -> Self {
        Wire {
            input: b"\n".to_vec(),
            accept_cr: false,
            output: b"\r\n".to_vec(),
            input_buffer: 256,
        }
    }

    /// Commands end in CR or LF, replies in CR LF (Fluke 55xx RS-232; input buffer 350 bytes
    /// [V], instruments.md §7).
    pub fn cr_or_lf() -> Self {
        Wire {
            input: b"\n".to_vec(),
            accept_cr: true,
            output: b"\r\n".to_vec(),
            input_buffer: 350,
        }
    }
}

/// A simulated instrument ready to be served.
pub struct SimInstrument {
    /// Name from the station file.
    pub name: String,
    /// The device model.
    pub device: Mutex<Box<dyn SimDevice>>,
    /// Interface terminators.
    pub wire: Wire,
    /// Injected faults.
    pub faults: FaultSchedule,
}

impl SimInstrument {
    /// Wrap a device.
    pub fn new(name: &str, device: Box<dyn SimDevice>, wire: Wire, faults: Vec<Fault>) -> Self {
        SimInstrument {
            name: name.to_string(),
            device: Mutex::new(device),
            wire,
            faults: FaultSchedule::new(faults),
        }
    }
}

/// Garbage an instrument might emit after a glitch: a `#` with a non-digit cannot be framed.
pub const GARBAGE: &[u8] = b"#\xff\x13\x00glitch";

/// Serve one byte stream (a TCP connection or a pty master) until it closes or a fault
/// drops it. `serial` streams are never closed: a dropped serial "connection" goes silent
/// instead.
pub async fn serve_stream<S>(
    mut stream: S,
    instrument: Arc<SimInstrument>,
    world: Arc<World>,
    serial: bool,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut framer = Framer::with_limit(&instrument.wire.input, instrument.wire.input_buffer);
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 65536];
    // Bytes of an overrunning block still to be thrown away as they arrive.
    let mut discard = 0usize;
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let skipped = discard.min(n);
        discard -= skipped;
        let start = buf.len();
        buf.extend_from_slice(&chunk[skipped..n]);
        if instrument.wire.accept_cr {
            for b in &mut buf[start..] {
                if *b == b'\r' {
                    *b = b'\n';
                }
            }
        }
        loop {
            let len = match framer.scan(&buf) {
                Ok(Some(len)) => len,
                Ok(None) => break,
                Err(e) => {
                    // Unframeable or overrunning input: discard it, as an instrument's input
                    // parser does; an overrun is reported like the instrument reports it.
                    match e {
                        FrameError::BlockTooLong { end, .. } => {
                            discard = end.saturating_sub(buf.len());
                            lock(&instrument.device).inject_error(-363, "Input buffer overrun");
                        }
                        FrameError::TooLong(_) => {
                            lock(&instrument.device).inject_error(-363, "Input buffer overrun");
                        }
                        FrameError::Block(_) => {}
                    }
                    buf.clear();
                    framer.reset();
                    break;
                }
            };
            let mut message: Vec<u8> = buf.drain(..len).collect();
            while matches!(message.last(), Some(b'\n' | b'\r')) {
                message.pop();
            }
            if message.is_empty() {
                continue;
            }
            match exchange(&instrument, &world, &message).await {
                Outcome::Reply(bytes) => {
                    if stream.write_all(&bytes).await.is_err() || stream.flush().await.is_err() {
                        return;
                    }
                }
                Outcome::Silent => {}
                Outcome::Close => {
                    if serial {
                        buf.clear();
                        framer.reset();
                    } else {
                        return;
                    }
                }
                Outcome::Reboot(announcement) => {
                    if serial {
                        if let Some(a) = announcement {
                            let mut line = a;
                            line.extend_from_slice(&instrument.wire.output);
                            let _ = stream.write_all(&line).await;
                        }
                        buf.clear();
                        framer.reset();
                    } else {
                        return;
                    }
                }
            }
        }
    }
}

enum Outcome {
    Reply(Vec<u8>),
    Silent,
    Close,
    Reboot(Option<Vec<u8>>),
}

async fn exchange(instrument: &SimInstrument, world: &World, message: &[u8]) -> Outcome {
    let n = instrument.faults.next_message();
    let latency = instrument.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let now = world.now();
    let busy = lock(&instrument.device).busy(now);
    let due = instrument.faults.due(n, busy);
    if due
        .iter()
        .any(|k| matches!(k, FaultKind::Drop | FaultKind::DropMidSweep))
    {
        return Outcome::Close;
    }
    if due.contains(&FaultKind::Reboot) {
        let mut device = lock(&instrument.device);
        device.power_cycle();
        return Outcome::Reboot(device.announcement());
    }
    let reply = {
        let mut device = lock(&instrument.device);
        let reply = device.handle(message, now);
        for k in &due {
            if let FaultKind::Error(code) = k {
                device.inject_error(*code, "Injected fault");
            }
        }
        reply
    };
    if let Some(until) = reply.hold_until {
        let wait = world.clock().real_duration(until - world.now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
    if due.contains(&FaultKind::NoReply) {
        return Outcome::Silent;
    }
    match reply.bytes {
        None => Outcome::Silent,
        Some(mut bytes) => {
            if due.contains(&FaultKind::Garbage) {
                bytes = GARBAGE.to_vec();
            }
            bytes.extend_from_slice(&instrument.wire.output);
            Outcome::Reply(bytes)
        }
    }
}

/// Accept TCP clients forever, one task per connection.
pub async fn serve_tcp(
    listener: tokio::net::TcpListener,
    instrument: Arc<SimInstrument>,
    world: Arc<World>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_stream(
            stream,
            instrument.clone(),
            world.clone(),
            false,
        ));
    }
}
