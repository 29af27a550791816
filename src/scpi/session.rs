//! A session with one instrument: write, query, timeouts, reconnect-and-retry of idempotent
//! queries, IEEE 488.2 common commands and error reporting per instrument family.
//!
//! Policy decisions, and why:
//! - **Every call has a timeout.** A timed-out connection is closed, because a late reply
//!   would otherwise be read as the answer to the next query.
//! - **Only idempotent queries are retried** (after reconnecting): re-sending `*IDN?` or a
//!   `FETCh?` is harmless, re-sending `INIT` is not. Callers choose with [`Session::query`]
//!   vs [`Session::query_once`].
//! - **Errors per family** ([`ErrorPolicy`]): SCPI instruments drain `SYSTem:ERRor?` until
//!   code 0; Fluke calibrators drain `ERR?`; Hioki BT356x have no queue and report errors
//!   only as `*ESR?` bits (instruments.md §0.4, §1.5).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ScpiError;
use super::framing::Framer;
use super::iolog::{Direction, IoLog};
use super::number::{ScpiNumber, parse_error_entry, parse_number, parse_number_list};
use super::resource::Resource;
use super::transport::{SerialSettings, Stream, connect};

/// How an instrument reports errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ErrorPolicy {
    /// Drain an error queue with this query until code 0 (`SYST:ERR?`, Fluke `ERR?`).
    Queue {
        /// The query, e.g. `SYST:ERR?`.
        query: String,
    },
    /// No queue: read `*ESR?` and map its bits (QYE 4, DDE 8, EXE 16, CME 32).
    Esr,
}

impl Default for ErrorPolicy {
    fn default() -> Self {
        ErrorPolicy::Queue {
            query: "SYST:ERR?".into(),
        }
    }
}

/// One error reported by an instrument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstrumentError {
    /// SCPI code (negative standard codes, positive device codes; for ESR-only instruments
    /// the class code −100, −200, −300 or −400).
    pub code: i32,
    /// Text as reported, or the class name for ESR-only instruments.
    pub message: String,
}

/// Everything a session needs to know about its instrument.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Instrument name from the station file (appears in every error).
    pub name: String,
    /// Where the instrument is.
    pub resource: Resource,
    /// Serial settings (serial resources only).
    pub serial: SerialSettings,
    /// Appended to every program message.
    pub write_termination: Vec<u8>,
    /// Ends every response message.
    pub read_termination: Vec<u8>,
    /// Time allowed for each write or read.
    pub timeout: Duration,
    /// How errors are reported.
    pub error_policy: ErrorPolicy,
    /// How many times an idempotent query is retried after reconnecting.
    pub retries: u32,
}

impl SessionConfig {
    /// Defaults for a raw-socket SCPI instrument: `\n` both ways, 5 s timeout, one retry.
    pub fn new(name: &str, resource: Resource) -> Self {
        SessionConfig {
            name: name.to_string(),
            resource,
            serial: SerialSettings::default(),
            write_termination: b"\n".to_vec(),
            read_termination: b"\n".to_vec(),
            timeout: Duration::from_secs(5),
            error_policy: ErrorPolicy::default(),
            retries: 1,
        }
    }
}

enum Link {
    /// Connect (and reconnect) through the resource.
    Resource,
    /// A stream handed in from outside (transcripts, in-memory pipes); cannot reconnect.
    Given,
}

/// A session with one instrument.
pub struct Session {
    config: SessionConfig,
    resource_text: String,
    link: Link,
    stream: Option<Box<dyn Stream>>,
    buf: Vec<u8>,
    framer: Framer,
    log: IoLog,
    generation: u64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("name", &self.config.name)
            .field("resource", &self.resource_text)
            .field("connected", &self.stream.is_some())
            .finish()
    }
}

impl Session {
    /// A session that connects on first use (and reconnects after a failure).
    pub fn new(config: SessionConfig, log: IoLog) -> Self {
        let framer = Framer::new(&config.read_termination);
        Session {
            resource_text: config.resource.to_string(),
            config,
            link: Link::Resource,
            stream: None,
            buf: Vec::with_capacity(4096),
            framer,
            log,
            generation: 0,
        }
    }

    /// A session over an existing stream (tests, transcripts); it cannot reconnect.
    pub fn with_stream(config: SessionConfig, stream: Box<dyn Stream>, log: IoLog) -> Self {
        let mut session = Session::new(config, log);
        session.link = Link::Given;
        session.stream = Some(stream);
        session
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Instrument name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Change the timeout of subsequent calls (e.g. for a long sweep).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.config.timeout = timeout;
    }

    /// The I/O log this session writes to.
    pub fn log(&self) -> &IoLog {
        &self.log
    }

    fn event(&self, text: &str) {
        self.log.push(
            &self.config.name,
            &self.resource_text,
            Direction::Event,
            text.as_bytes(),
        );
    }

    /// Number of connections opened so far. A driver that sent settings compares it before
    /// and after: a change means the instrument may have lost them (reconnect, reboot).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Drop the connection; the next call reconnects.
    pub fn disconnect(&mut self) {
        if self.stream.take().is_some() {
            self.event("disconnect");
        }
        self.buf.clear();
        self.framer.reset();
    }

    /// Connect now if not connected.
    pub async fn connect(&mut self) -> Result<(), ScpiError> {
        if self.stream.is_some() {
            return Ok(());
        }
        match self.link {
            Link::Given => Err(ScpiError::Disconnected {
                instrument: self.config.name.clone(),
                resource: self.resource_text.clone(),
                command: String::new(),
            }),
            Link::Resource => {
                let fut = connect(&self.config.resource, &self.config.serial);
                match tokio::time::timeout(self.config.timeout, fut).await {
                    Ok(Ok(stream)) => {
                        self.stream = Some(stream);
                        self.generation += 1;
                        self.buf.clear();
                        self.framer.reset();
                        self.event("connect");
                        Ok(())
                    }
                    Ok(Err(source)) => Err(ScpiError::Connect {
                        instrument: self.config.name.clone(),
                        resource: self.resource_text.clone(),
                        source,
                    }),
                    Err(_) => Err(ScpiError::Timeout {
                        instrument: self.config.name.clone(),
                        resource: self.resource_text.clone(),
                        command: "(connect)".into(),
                        after: self.config.timeout,
                    }),
                }
            }
        }
    }

    fn io_error(&mut self, command: &str, source: std::io::Error) -> ScpiError {
        self.disconnect();
        ScpiError::Io {
            instrument: self.config.name.clone(),
            resource: self.resource_text.clone(),
            command: command.to_string(),
            source,
        }
    }

    fn timeout_error(&mut self, command: &str) -> ScpiError {
        self.event(&format!(
            "timeout after {:?} on {command}",
            self.config.timeout
        ));
        // A late reply must not be taken as the answer to the next query.
        self.disconnect();
        ScpiError::Timeout {
            instrument: self.config.name.clone(),
            resource: self.resource_text.clone(),
            command: command.to_string(),
            after: self.config.timeout,
        }
    }

    /// Send one program message (terminator appended).
    pub async fn write(&mut self, command: &str) -> Result<(), ScpiError> {
        self.write_bytes(command.as_bytes(), command).await
    }

    /// Send raw bytes as one program message (terminator appended).
    pub async fn write_bytes(&mut self, bytes: &[u8], label: &str) -> Result<(), ScpiError> {
        self.connect().await?;
        let mut message = Vec::with_capacity(bytes.len() + self.config.write_termination.len());
        message.extend_from_slice(bytes);
        message.extend_from_slice(&self.config.write_termination);
        self.log.push(
            &self.config.name,
            &self.resource_text,
            Direction::Write,
            &message,
        );
        let timeout = self.config.timeout;
        let Some(stream) = self.stream.as_mut() else {
            return Err(self.io_error(label, std::io::ErrorKind::NotConnected.into()));
        };
        let result = tokio::time::timeout(timeout, async {
            stream.write_all(&message).await?;
            stream.flush().await
        })
        .await;
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.io_error(label, e)),
            Err(_) => Err(self.timeout_error(label)),
        }
    }

    /// Read one response message, terminator removed.
    pub async fn read_raw(&mut self, label: &str) -> Result<Vec<u8>, ScpiError> {
        self.connect().await?;
        let timeout = self.config.timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match self.framer.scan(&self.buf) {
                Ok(Some(len)) => {
                    let message: Vec<u8> = self.buf.drain(..len).collect();
                    self.log.push(
                        &self.config.name,
                        &self.resource_text,
                        Direction::Read,
                        &message,
                    );
                    let term = self.config.read_termination.len().min(message.len());
                    let mut message = message;
                    message.truncate(message.len() - term);
                    return Ok(message);
                }
                Ok(None) => {}
                Err(e) => {
                    let garbage = std::mem::take(&mut self.buf);
                    self.log.push(
                        &self.config.name,
                        &self.resource_text,
                        Direction::Read,
                        &garbage,
                    );
                    self.disconnect();
                    return Err(ScpiError::Garbled {
                        instrument: self.config.name.clone(),
                        resource: self.resource_text.clone(),
                        command: label.to_string(),
                        why: e.to_string(),
                    });
                }
            }
            let Some(stream) = self.stream.as_mut() else {
                return Err(self.io_error(label, std::io::ErrorKind::NotConnected.into()));
            };
            // Read straight into the buffer (no large array on the future's stack).
            self.buf.reserve(65536);
            match tokio::time::timeout_at(deadline, stream.read_buf(&mut self.buf)).await {
                Ok(Ok(0)) => {
                    let e = std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the instrument closed the connection",
                    );
                    return Err(self.io_error(label, e));
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(self.io_error(label, e)),
                Err(_) => return Err(self.timeout_error(label)),
            }
        }
    }

    /// Send a query and read its reply once, without retry (for queries with side effects,
    /// e.g. `READ?` that triggers a measurement).
    pub async fn query_once(&mut self, command: &str) -> Result<String, ScpiError> {
        self.write(command).await?;
        let reply = self.read_raw(command).await?;
        self.text(command, reply)
    }

    fn text(&self, command: &str, reply: Vec<u8>) -> Result<String, ScpiError> {
        String::from_utf8(reply).map_err(|e| ScpiError::Garbled {
            instrument: self.config.name.clone(),
            resource: self.resource_text.clone(),
            command: command.to_string(),
            why: format!("reply is not text: {}", e.into_bytes().escape_ascii()),
        })
    }

    /// Send an idempotent query; on a transport failure reconnect and retry
    /// (`config.retries` times).
    pub async fn query(&mut self, command: &str) -> Result<String, ScpiError> {
        let reply = self.query_bytes(command).await?;
        self.text(command, reply)
    }

    /// Idempotent query returning raw bytes (binary blocks).
    pub async fn query_bytes(&mut self, command: &str) -> Result<Vec<u8>, ScpiError> {
        let mut attempt = 0;
        loop {
            let result = async {
                self.write(command).await?;
                self.read_raw(command).await
            }
            .await;
            match result {
                Err(e) if e.is_transport() && attempt < self.config.retries => {
                    attempt += 1;
                    self.event(&format!("retry {attempt} of {command} after: {e}"));
                    self.disconnect();
                }
                other => return other,
            }
        }
    }

    /// Query one number; NaN/overflow sentinels are returned typed.
    pub async fn query_number(&mut self, command: &str) -> Result<ScpiNumber, ScpiError> {
        let reply = self.query(command).await?;
        parse_number(&reply).map_err(|e| self.parse_error(command, &reply, e.to_string()))
    }

    /// Query one number that must be a finite reading.
    pub async fn query_f64(&mut self, command: &str) -> Result<f64, ScpiError> {
        match self.query_number(command).await? {
            ScpiNumber::Value(v) => Ok(v),
            other => Err(self.no_reading(command, other)),
        }
    }

    /// Query a comma-separated list of numbers.
    pub async fn query_numbers(&mut self, command: &str) -> Result<Vec<ScpiNumber>, ScpiError> {
        let reply = self.query(command).await?;
        parse_number_list(&reply).map_err(|e| self.parse_error(command, &reply, e.to_string()))
    }

    /// A parse error with context.
    pub fn parse_error(&self, command: &str, reply: &str, why: String) -> ScpiError {
        ScpiError::Parse {
            instrument: self.config.name.clone(),
            resource: self.resource_text.clone(),
            command: command.to_string(),
            reply: reply.chars().take(80).collect(),
            why,
        }
    }

    /// A "no valid reading" error for a sentinel value.
    pub fn no_reading(&self, command: &str, value: ScpiNumber) -> ScpiError {
        ScpiError::NoReading {
            instrument: self.config.name.clone(),
            command: command.to_string(),
            value,
        }
    }

    /// `*IDN?`.
    pub async fn idn(&mut self) -> Result<String, ScpiError> {
        self.query("*IDN?").await
    }

    /// `*CLS`.
    pub async fn cls(&mut self) -> Result<(), ScpiError> {
        self.write("*CLS").await
    }

    /// `*OPC?`: wait until pending operations are complete (uses the session timeout).
    pub async fn opc(&mut self) -> Result<(), ScpiError> {
        let reply = self.query_once("*OPC?").await?;
        if reply.trim().trim_start_matches('+') == "1" {
            Ok(())
        } else {
            Err(self.parse_error("*OPC?", &reply, "expected `1`".into()))
        }
    }

    /// Read and clear all errors the instrument holds, per its [`ErrorPolicy`].
    pub async fn drain_errors(&mut self) -> Result<Vec<InstrumentError>, ScpiError> {
        match self.config.error_policy.clone() {
            ErrorPolicy::Queue { query } => {
                let mut errors = Vec::new();
                // SCPI-99 queues hold at most a few dozen entries; bound the loop so a
                // misbehaving instrument cannot keep us here.
                for _ in 0..64 {
                    let reply = self.query(&query).await?;
                    let entry = parse_error_entry(&reply).ok_or_else(|| {
                        self.parse_error(&query, &reply, "not an error-queue entry".into())
                    })?;
                    if entry.code == 0 {
                        return Ok(errors);
                    }
                    errors.push(InstrumentError {
                        code: entry.code,
                        message: entry.message,
                    });
                }
                Ok(errors)
            }
            ErrorPolicy::Esr => {
                let esr = self.query("*ESR?").await?;
                let bits: u8 = esr
                    .trim()
                    .trim_start_matches('+')
                    .parse()
                    .map_err(|_| self.parse_error("*ESR?", &esr, "expected 0..255".into()))?;
                Ok(esr_errors(bits))
            }
        }
    }

    /// Fail with the first error the instrument holds, naming `command`.
    pub async fn check(&mut self, command: &str) -> Result<(), ScpiError> {
        let errors = self.drain_errors().await?;
        match errors.into_iter().next() {
            None => Ok(()),
            Some(first) => Err(ScpiError::Instrument {
                instrument: self.config.name.clone(),
                resource: self.resource_text.clone(),
                command: command.to_string(),
                code: first.code,
                message: first.message,
            }),
        }
    }
}

/// Map Standard Event Status Register bits (IEEE 488.2 §11.5.1; instruments.md §1.2) to
/// error classes.
pub fn esr_errors(bits: u8) -> Vec<InstrumentError> {
    let mut out = Vec::new();
    for (bit, code, message) in [
        (32u8, -100, "Command error (ESR bit 5)"),
        (16, -200, "Execution error (ESR bit 4)"),
        (8, -300, "Device-specific error (ESR bit 3)"),
        (4, -400, "Query error (ESR bit 2)"),
    ] {
        if bits & bit != 0 {
            out.push(InstrumentError {
                code,
                message: message.into(),
            });
        }
    }
    out
}
