//! A Modbus client over any byte stream: TCP, or RTU over a serial line (the 3.5-character
//! silent interval before every frame, Serial Line V1.02 §2.5.1.1; 1.75 ms above 19 200 baud).
//! Every call has a timeout; reads are retried after a timeout, a corrupt frame or a "busy"
//! exception (a read is idempotent), writes are not; an exception response is a typed error naming the register;
//! every frame goes to the tap as it is sent or received (the run's I/O log).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::frame::{self, Exception, Malformed, Request, Response};
use super::registers::{Kind, WordOrder};

/// What went wrong with a Modbus exchange, with the resource and the register.
#[derive(Debug, thiserror::Error)]
pub enum ModbusError {
    /// No complete answer in time.
    #[error(
        "{resource}: no answer to function {function:#04x} at register {register} within {timeout_ms} ms"
    )]
    Timeout {
        /// Resource.
        resource: String,
        /// Function code.
        function: u8,
        /// First register.
        register: u16,
        /// The timeout [ms].
        timeout_ms: u64,
    },
    /// The instrument answered with an exception.
    #[error("{resource}: register {register} (function {function:#04x}): {exception}")]
    Exception {
        /// Resource.
        resource: String,
        /// Function code.
        function: u8,
        /// First register.
        register: u16,
        /// The exception.
        exception: Exception,
    },
    /// The answer was not a valid frame (CRC, length, wrong unit or function).
    #[error("{resource}: register {register}: {problem}")]
    Garbled {
        /// Resource.
        resource: String,
        /// First register.
        register: u16,
        /// What was wrong.
        problem: Malformed,
    },
    /// The connection failed.
    #[error("{resource}: {message}")]
    Io {
        /// Resource.
        resource: String,
        /// What failed.
        message: String,
    },
}

/// Pause before asking a busy unit again.
const BUSY_PAUSE: Duration = Duration::from_millis(50);

/// Receives every frame: (true = sent, bytes).
pub type Tap = Arc<dyn Fn(bool, &[u8]) + Send + Sync>;

/// How frames travel.
#[derive(Debug, Clone, Copy)]
pub enum Framing {
    /// RTU at `baud` (for the silent interval).
    Rtu {
        /// Line speed [bit/s].
        baud: u32,
    },
    /// TCP (MBAP header).
    Tcp,
}

/// A Modbus client on one stream, talking to one unit.
pub struct Client<S> {
    stream: S,
    framing: Framing,
    unit: u8,
    resource: String,
    timeout: Duration,
    retries: u32,
    transaction: u16,
    last_frame: Option<Instant>,
    tap: Option<Tap>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// A client of `unit` on `stream` (named `resource` in errors and the log).
    pub fn new(stream: S, framing: Framing, unit: u8, resource: &str) -> Client<S> {
        Client {
            stream,
            framing,
            unit,
            resource: resource.to_string(),
            timeout: Duration::from_millis(1000),
            retries: 2,
            transaction: 0,
            last_frame: None,
            tap: None,
        }
    }

    /// Set the timeout of each attempt and the retries of reads.
    pub fn with_timeout(mut self, timeout: Duration, retries: u32) -> Self {
        self.timeout = timeout;
        self.retries = retries;
        self
    }

    /// Send every frame to `tap`.
    pub fn with_tap(mut self, tap: Tap) -> Self {
        self.tap = Some(tap);
        self
    }

    /// The silent interval before an RTU frame: 3.5 characters of 11 bits, at least 1.75 ms.
    fn silence(&self) -> Duration {
        match self.framing {
            Framing::Rtu { baud } if baud <= 19_200 => {
                Duration::from_secs_f64(3.5 * 11.0 / f64::from(baud.max(1)))
            }
            Framing::Rtu { .. } => Duration::from_micros(1750),
            Framing::Tcp => Duration::ZERO,
        }
    }

    fn io(&self, e: std::io::Error) -> ModbusError {
        ModbusError::Io {
            resource: self.resource.clone(),
            message: e.to_string(),
        }
    }

    /// One request and its response; reads are retried after a timeout or a garbled frame.
    pub async fn call(&mut self, request: &Request) -> Result<Response, ModbusError> {
        let idempotent = matches!(
            request,
            Request::ReadHolding { .. } | Request::ReadInput { .. }
        );
        let mut attempt = 0;
        loop {
            let outcome = tokio::time::timeout(self.timeout, self.exchange(request)).await;
            let error = match outcome {
                Ok(Ok(Response::Exception(exception))) => {
                    let error = ModbusError::Exception {
                        resource: self.resource.clone(),
                        function: request.function(),
                        register: request.address(),
                        exception,
                    };
                    // A busy unit (06) or one still working on an earlier request (05) is
                    // asked again after a pause; any other exception is the answer.
                    if !matches!(exception, Exception::DeviceBusy | Exception::Acknowledge) {
                        return Err(error);
                    }
                    tokio::time::sleep(BUSY_PAUSE).await;
                    error
                }
                Ok(Ok(r)) => return Ok(r),
                Ok(Err(e @ ModbusError::Garbled { .. })) => e,
                Ok(Err(e)) => return Err(e),
                Err(_) => ModbusError::Timeout {
                    resource: self.resource.clone(),
                    function: request.function(),
                    register: request.address(),
                    timeout_ms: self.timeout.as_millis() as u64,
                },
            };
            if !idempotent || attempt >= self.retries {
                return Err(error);
            }
            attempt += 1;
            // A late or broken answer must not be taken for the next one: drain what arrives
            // during one silent interval (RTU), or the stream is out of step (TCP: the
            // transaction id tells answers apart).
            self.drain().await;
        }
    }

    async fn drain(&mut self) {
        let mut buf = [0u8; 256];
        while let Ok(Ok(n)) = tokio::time::timeout(
            self.silence().max(Duration::from_millis(5)),
            self.stream.read(&mut buf),
        )
        .await
        {
            if n == 0 {
                break;
            }
        }
    }

    async fn exchange(&mut self, request: &Request) -> Result<Response, ModbusError> {
        let pdu = request.pdu();
        let garbled = |problem: Malformed, resource: &str| ModbusError::Garbled {
            resource: resource.to_string(),
            register: request.address(),
            problem,
        };
        match self.framing {
            Framing::Rtu { .. } => {
                if let Some(last) = self.last_frame {
                    let wait = self.silence().saturating_sub(last.elapsed());
                    tokio::time::sleep(wait).await;
                }
                let out = frame::rtu(self.unit, &pdu);
                self.send(&out).await?;
                // Address, function, then the rest as the function says.
                let mut got = vec![0u8; 3];
                self.read_exact(&mut got).await?;
                let len = Response::expected_len(request, &got[1..])
                    .ok_or_else(|| garbled(Malformed("no length".into()), &self.resource))?;
                got.resize(1 + len + 2, 0);
                self.read_exact(&mut got[3..]).await?;
                self.received(&got);
                let body =
                    frame::rtu_pdu(self.unit, &got).map_err(|e| garbled(e, &self.resource))?;
                Response::parse(request, body).map_err(|e| garbled(e, &self.resource))
            }
            Framing::Tcp => {
                self.transaction = self.transaction.wrapping_add(1);
                let out = frame::tcp(self.transaction, self.unit, &pdu);
                self.send(&out).await?;
                loop {
                    let mut header = [0u8; 7];
                    self.read_exact(&mut header).await?;
                    let (transaction, _, len) =
                        frame::mbap(&header).map_err(|e| garbled(e, &self.resource))?;
                    let mut body = vec![0u8; len];
                    self.read_exact(&mut body).await?;
                    let mut whole = header.to_vec();
                    whole.extend_from_slice(&body);
                    self.received(&whole);
                    // An answer to an earlier, timed-out request is skipped.
                    if transaction == self.transaction {
                        return Response::parse(request, &body)
                            .map_err(|e| garbled(e, &self.resource));
                    }
                }
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), ModbusError> {
        if let Some(tap) = &self.tap {
            tap(true, bytes);
        }
        self.stream.write_all(bytes).await.map_err(|e| self.io(e))?;
        self.stream.flush().await.map_err(|e| self.io(e))?;
        Ok(())
    }

    fn received(&mut self, bytes: &[u8]) {
        self.last_frame = Some(Instant::now());
        if let Some(tap) = &self.tap {
            tap(false, bytes);
        }
    }

    async fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), ModbusError> {
        match self.stream.read_exact(buf).await {
            Ok(_) => Ok(()),
            Err(e) => Err(self.io(e)),
        }
    }

    /// Read `count` registers (input or holding) from `address`.
    pub async fn read(
        &mut self,
        input: bool,
        address: u16,
        count: u16,
    ) -> Result<Vec<u16>, ModbusError> {
        let request = if input {
            Request::ReadInput { address, count }
        } else {
            Request::ReadHolding { address, count }
        };
        match self.call(&request).await? {
            Response::Registers(r) => Ok(r),
            other => Err(ModbusError::Garbled {
                resource: self.resource.clone(),
                register: address,
                problem: Malformed(format!("{other:?} answers a read")),
            }),
        }
    }

    /// Read one typed value.
    pub async fn value(
        &mut self,
        input: bool,
        address: u16,
        kind: Kind,
        order: WordOrder,
    ) -> Result<f64, ModbusError> {
        let words = self.read(input, address, kind.registers() as u16).await?;
        kind.decode(&words, order)
            .ok_or_else(|| ModbusError::Garbled {
                resource: self.resource.clone(),
                register: address,
                problem: Malformed("too few registers".into()),
            })
    }

    /// Write one holding register.
    pub async fn write(&mut self, address: u16, value: u16) -> Result<(), ModbusError> {
        let request = Request::WriteSingle { address, value };
        match self.call(&request).await? {
            Response::Written {
                address: a,
                value: v,
            } if a == address && v == value => Ok(()),
            other => Err(ModbusError::Garbled {
                resource: self.resource.clone(),
                register: address,
                problem: Malformed(format!("{other:?} does not echo the write")),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scripted unit on the other end of a duplex pipe: for each expected request frame, the
    /// bytes to answer (empty: stay silent).
    fn unit(script: Vec<(Vec<u8>, Vec<u8>)>) -> tokio::io::DuplexStream {
        let (client, mut server) = tokio::io::duplex(1024);
        tokio::spawn(async move {
            for (expect, answer) in script {
                let mut got = vec![0u8; expect.len()];
                if server.read_exact(&mut got).await.is_err() {
                    return;
                }
                assert_eq!(frame::hex(&got), frame::hex(&expect));
                if !answer.is_empty() {
                    let _ = server.write_all(&answer).await;
                }
            }
            // Keep the pipe open until the client is done.
            let mut rest = Vec::new();
            let _ = server.read_to_end(&mut rest).await;
        });
        client
    }

    fn rtu_frame(pdu: &[u8]) -> Vec<u8> {
        frame::rtu(1, pdu)
    }

    #[tokio::test]
    async fn rtu_reads_scale_retry_and_name_exceptions() {
        let read5 = Request::ReadInput {
            address: 4,
            count: 2,
        };
        // Scale 1, irradiance 10234 → 1023.4 W/m² (SMP registers 4 and 5).
        let answer = rtu_frame(&[0x04, 0x04, 0x00, 0x01, 0x27, 0xfa]);
        let mut corrupt = answer.clone();
        corrupt[4] ^= 0xff;
        let exception = rtu_frame(&[0x83, 0x02]);
        let holding = Request::ReadHolding {
            address: 99,
            count: 1,
        };
        let stream = unit(vec![
            (rtu_frame(&read5.pdu()), corrupt),
            (rtu_frame(&read5.pdu()), answer),
            (rtu_frame(&holding.pdu()), exception),
        ]);
        let log: Arc<std::sync::Mutex<Vec<(bool, String)>>> = Arc::default();
        let tap_log = log.clone();
        let mut c = Client::new(
            stream,
            Framing::Rtu { baud: 19_200 },
            1,
            "MODBUS-RTU::/dev/x::1",
        )
        .with_timeout(Duration::from_millis(300), 1)
        .with_tap(Arc::new(move |sent, bytes| {
            if let Ok(mut l) = tap_log.lock() {
                l.push((sent, frame::hex(bytes)));
            }
        }));
        let words = c
            .read(true, 4, 2)
            .await
            .expect("retried after the CRC error");
        assert_eq!(
            super::super::registers::scaled(f64::from(words[1] as i16), words[0] as i32),
            1023.4
        );
        let e = c.read(false, 99, 1).await.unwrap_err().to_string();
        assert!(
            e.contains("register 99") && e.contains("exception 02 (illegal data address)"),
            "{e}"
        );
        let l = log.lock().expect("log");
        assert_eq!(l.len(), 6, "every frame, both ways: {l:?}");
        assert_eq!(l[0], (true, "01 04 00 04 00 02 30 0A".to_string()));
    }

    #[tokio::test]
    async fn tcp_reads_f32_and_a_silent_unit_times_out_naming_the_register() {
        let read = Request::ReadHolding {
            address: 2,
            count: 2,
        };
        let stream = unit(vec![
            (
                frame::tcp(1, 1, &read.pdu()),
                frame::tcp(1, 1, &[0x03, 0x04, 0x44, 0x7a, 0x20, 0x00]),
            ),
            (frame::tcp(2, 1, &read.pdu()), Vec::new()),
        ]);
        let mut c = Client::new(stream, Framing::Tcp, 1, "MODBUS-TCP::h::502::1")
            .with_timeout(Duration::from_millis(100), 0);
        let v = c
            .value(false, 2, Kind::F32, WordOrder::HighFirst)
            .await
            .expect("value");
        assert_eq!(v, 1000.5);
        let e = c.read(false, 2, 2).await.unwrap_err();
        assert!(matches!(e, ModbusError::Timeout { register: 2, .. }), "{e}");
    }
}
