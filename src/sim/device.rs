//! What every simulated instrument shares: the device trait the servers drive, the IEEE 488.2
//! status and error-queue core, and parameter helpers over the `scpi` crate's tokens.

use std::collections::VecDeque;

use scpi::error::{Error, ErrorCode};
use scpi::parser::parameters::Parameters;
use scpi::parser::tokenizer::Token;

/// What a device does with one program message.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Reply {
    /// Response message without terminator (`None`: no response).
    pub bytes: Option<Vec<u8>>,
    /// Simulated time before which the reply must not be sent and the next message must
    /// not be processed (`*WAI`, `*OPC?` during a sweep) [s since epoch].
    pub hold_until: Option<f64>,
}

impl Reply {
    /// No response.
    pub fn none() -> Self {
        Reply::default()
    }

    /// A text response.
    pub fn text(s: impl Into<String>) -> Self {
        Reply {
            bytes: Some(s.into().into_bytes()),
            hold_until: None,
        }
    }
}

/// A simulated instrument as the transport servers see it.
pub trait SimDevice: Send {
    /// Handle one program message (terminator already removed) at simulated time `now`.
    fn handle(&mut self, message: &[u8], now: f64) -> Reply;
    /// Power cycle: settings lost, power-on event recorded.
    fn power_cycle(&mut self);
    /// Push an error as the instrument would report it (queue entry or ESR bit).
    fn inject_error(&mut self, code: i32, message: &str);
    /// Whether a sweep or other triggered operation is in progress at `now`.
    fn busy(&self, now: f64) -> bool;
    /// Bytes the instrument sends by itself after power-up (serial instruments that
    /// announce themselves), if any.
    fn announcement(&self) -> Option<Vec<u8>> {
        None
    }
}

/// Capacity of SCPI error queues (SCPI-99 requires at least 2; instruments hold 10–100).
pub const QUEUE_CAPACITY: usize = 32;

/// IEEE 488.2 status registers and the SCPI error queue.
#[derive(Debug, Clone, Default)]
pub struct ScpiCore {
    /// Error queue, oldest first.
    pub errors: VecDeque<(i32, String)>,
    /// Standard Event Status Register.
    pub esr: u8,
    /// Event Status Enable.
    pub ese: u8,
    /// Service Request Enable.
    pub sre: u8,
    /// Set by `*WAI` / `*OPC?`: hold processing until this simulated time.
    pub hold_until: Option<f64>,
}

impl ScpiCore {
    /// A core in the power-on state (PON set).
    pub fn power_on() -> Self {
        ScpiCore {
            esr: 0x80,
            ..ScpiCore::default()
        }
    }

    /// Record an error: queue entry (with −350 overflow) and its ESR class bit.
    pub fn push(&mut self, code: i32, message: &str) {
        self.esr |= esr_bit(code);
        if self.errors.len() >= QUEUE_CAPACITY {
            if let Some(last) = self.errors.back_mut() {
                *last = (-350, "Queue overflow".into());
            }
            return;
        }
        self.errors.push_back((code, message.to_string()));
    }

    /// Record a parser error from the `scpi` crate.
    pub fn push_scpi(&mut self, err: &Error) {
        let mut message = String::from_utf8_lossy(err.get_message()).into_owned();
        if let Some(ext) = err.get_extended() {
            message.push(';');
            message.push_str(&String::from_utf8_lossy(ext));
        }
        self.push(i32::from(err.get_code()), &message);
    }

    /// Next queue entry, SCPI format `<code>,"<text>"`.
    pub fn pop_formatted(&mut self) -> String {
        match self.errors.pop_front() {
            Some((code, text)) => format!("{code},\"{text}\""),
            None => "0,\"No error\"".into(),
        }
    }

    /// Status byte: bit 2 error queue not empty, bit 5 event summary.
    pub fn stb(&self) -> u8 {
        let mut stb = 0;
        if !self.errors.is_empty() {
            stb |= 0x04;
        }
        if self.esr & self.ese != 0 {
            stb |= 0x20;
        }
        stb
    }

    /// `*CLS`: clear event registers and the error queue (SCPI-99).
    pub fn cls(&mut self) {
        self.esr = 0;
        self.errors.clear();
    }

    /// `*ESR?`: read and clear.
    pub fn take_esr(&mut self) -> u8 {
        std::mem::take(&mut self.esr)
    }
}

/// ESR bit of an error class (IEEE 488.2 §11.5.1; instruments.md §1.2, §1.6).
pub fn esr_bit(code: i32) -> u8 {
    match code {
        -199..=-100 => 0x20,
        -299..=-200 => 0x10,
        -399..=-300 => 0x08,
        -499..=-400 => 0x04,
        -599..=-500 => 0x80,
        c if c > 0 => 0x08,
        _ => 0,
    }
}

/// Read a numeric parameter: `MINimum`, `MAXimum`, `DEFault` map to the given bounds and
/// default; values outside `[min, max]` are −222 "Data out of range".
pub fn number(params: &mut Parameters, min: f64, max: f64, default: f64) -> Result<f64, Error> {
    let token = params.next_token()?;
    number_from(token, min, max, default)
}

/// Like [`number`] but the parameter may be absent.
pub fn optional_number(
    params: &mut Parameters,
    min: f64,
    max: f64,
    default: f64,
) -> Result<Option<f64>, Error> {
    match params.next_optional_token()? {
        Some(token) => number_from(token, min, max, default).map(Some),
        None => Ok(None),
    }
}

fn number_from(token: Token, min: f64, max: f64, default: f64) -> Result<f64, Error> {
    if let Token::CharacterProgramData(s) = token {
        let upper = s.to_ascii_uppercase();
        return match upper.as_slice() {
            b"MIN" | b"MINIMUM" => Ok(min),
            b"MAX" | b"MAXIMUM" => Ok(max),
            b"DEF" | b"DEFAULT" => Ok(default),
            _ => Err(ErrorCode::DataTypeError.into()),
        };
    }
    let v: f64 = token.try_into()?;
    if !v.is_finite() || v < min || v > max {
        return Err(ErrorCode::DataOutOfRange.into());
    }
    Ok(v)
}

/// Read character or string data, upper-cased (`VOLT`, `"CURR"`, `defbuffer1`).
pub fn word(params: &mut Parameters) -> Result<String, Error> {
    match params.next_token()? {
        Token::CharacterProgramData(s) | Token::StringProgramData(s) => {
            Ok(String::from_utf8_lossy(s).to_ascii_uppercase())
        }
        _ => Err(ErrorCode::DataTypeError.into()),
    }
}

/// Like [`word`] but optional.
pub fn optional_word(params: &mut Parameters) -> Result<Option<String>, Error> {
    match params.next_optional_token()? {
        Some(Token::CharacterProgramData(s) | Token::StringProgramData(s)) => {
            Ok(Some(String::from_utf8_lossy(s).to_ascii_uppercase()))
        }
        Some(_) => Err(ErrorCode::DataTypeError.into()),
        None => Ok(None),
    }
}

/// Read a boolean: `ON|OFF|1|0`.
pub fn boolean(params: &mut Parameters) -> Result<bool, Error> {
    params.next_data::<bool>()
}

/// Does `given` (upper-cased) match a SCPI mnemonic given in mixed case (`VOLTage`)? Only the
/// short form and the long form match (instruments.md §1.4).
pub fn is(given: &str, mnemonic: &str) -> bool {
    let short: String = mnemonic
        .chars()
        .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        .collect();
    given == short || given == mnemonic.to_ascii_uppercase()
}

/// Read a channel list `(@101,103:105)`.
pub fn channel_list(params: &mut Parameters) -> Result<Vec<u32>, Error> {
    match params.next_token()? {
        Token::ExpressionProgramData(s) => parse_channel_list(s),
        _ => Err(ErrorCode::DataTypeError.into()),
    }
}

/// Like [`channel_list`] but optional.
pub fn optional_channel_list(params: &mut Parameters) -> Result<Option<Vec<u32>>, Error> {
    match params.next_optional_token()? {
        Some(Token::ExpressionProgramData(s)) => parse_channel_list(s).map(Some),
        Some(_) => Err(ErrorCode::DataTypeError.into()),
        None => Ok(None),
    }
}

/// Parse the body of a channel list expression.
pub fn parse_channel_list(s: &[u8]) -> Result<Vec<u32>, Error> {
    let text = String::from_utf8_lossy(s);
    let body = text
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim()
        .trim_start_matches('@');
    let bad = || Error::new(ErrorCode::InvalidExpression).extended(b"Invalid channel list");
    let mut out = Vec::new();
    for part in body.split(',') {
        let part = part.trim();
        if let Some((a, b)) = part.split_once(':') {
            let a: u32 = a.trim().parse().map_err(|_| bad())?;
            let b: u32 = b.trim().parse().map_err(|_| bad())?;
            if b < a || b - a > 1000 {
                return Err(bad());
            }
            out.extend(a..=b);
        } else {
            out.push(part.parse().map_err(|_| bad())?);
        }
    }
    Ok(out)
}

/// NR3 with `digits` decimals and a two-digit signed exponent, as SCPI instruments print
/// (`-4.987654E-01`, `+1.23456789E-02` with `plus`).
pub fn nr3(value: f64, digits: usize, plus: bool) -> String {
    if !value.is_finite() {
        return "9.91E+37".into();
    }
    let s = format!("{value:.digits$E}");
    let (mantissa, exponent) = s.split_once('E').unwrap_or((&s, "0"));
    let exp: i32 = exponent.parse().unwrap_or(0);
    let sign = if plus && !mantissa.starts_with('-') {
        "+"
    } else {
        ""
    };
    format!(
        "{sign}{mantissa}E{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.abs()
    )
}

/// Write a formatted response into a `scpi` response unit.
pub fn respond(resp: &mut scpi::parser::response::ResponseUnit, text: &str) -> Result<(), Error> {
    resp.data(scpi::parser::format::Character(text.as_bytes()))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nr3_formats_like_instruments() {
        assert_eq!(nr3(-0.4987654, 6, false), "-4.987654E-01");
        assert_eq!(nr3(0.0123456789, 8, true), "+1.23456789E-02");
        assert_eq!(nr3(1234.6, 3, false), "1.235E+03");
        assert_eq!(nr3(f64::NAN, 3, false), "9.91E+37");
    }

    #[test]
    fn channel_lists() {
        assert_eq!(
            parse_channel_list(b"(@101,103:105)").ok(),
            Some(vec![101, 103, 104, 105])
        );
        assert!(parse_channel_list(b"(@105:101)").is_err());
        assert!(is("VOLT", "VOLTage") && is("VOLTAGE", "VOLTage") && !is("VOLTA", "VOLTage"));
    }

    #[test]
    fn queue_overflows_to_350_and_sets_esr() {
        let mut core = ScpiCore::default();
        for _ in 0..40 {
            core.push(-222, "Data out of range");
        }
        assert_eq!(core.errors.len(), QUEUE_CAPACITY);
        assert_eq!(core.errors.back().map(|e| e.0), Some(-350));
        assert_eq!(core.take_esr(), 0x10);
        assert_eq!(core.pop_formatted(), "-222,\"Data out of range\"");
    }
}

/// A simulated instrument whose dialect is parsed by the `scpi` crate's command tree. Every
/// such device is a [`SimDevice`] through the blanket implementation below; the hooks let a
/// dialect add its quirks around the parser.
pub trait ScpiDevice: scpi::Device + Send + Sized + 'static {
    /// Delay replies until the operation in progress completes (a DMM's `READ?` answers when
    /// its integration time has passed).
    const REPLY_WAITS_FOR_OPERATION: bool = false;
    /// The command tree.
    fn tree() -> &'static scpi::tree::Node<'static, Self>;
    /// Status and error queue.
    fn core(&mut self) -> &mut ScpiCore;
    /// `*IDN?` reply.
    fn identity(&self) -> String;
    /// `*RST`: instrument defaults.
    fn reset(&mut self);
    /// Record the simulated time of the message being handled [s since epoch].
    fn set_now(&mut self, now: f64);
    /// The simulated time of the message being handled [s since epoch].
    fn now(&self) -> f64;
    /// End of the last triggered operation (sweep, scan, reading), simulated time.
    fn operation_end(&self) -> Option<f64>;
    /// End of the operation still in progress, if any.
    fn busy_until(&self) -> Option<f64> {
        self.operation_end().filter(|end| *end > self.now())
    }
    /// Handle a message before the parser sees it (dialect quirks); `Some` short-cuts.
    fn intercept(&mut self, _message: &[u8]) -> Option<Reply> {
        None
    }
    /// Adjust the reply after the parser ran.
    fn finish(&mut self, reply: Reply) -> Reply {
        reply
    }
}

impl<D: ScpiDevice> SimDevice for D {
    fn handle(&mut self, message: &[u8], now: f64) -> Reply {
        self.set_now(now);
        if let Some(reply) = self.intercept(message) {
            return reply;
        }
        let mut reply = run_tree(D::tree(), self, message);
        if D::REPLY_WAITS_FOR_OPERATION && reply.bytes.is_some() {
            reply.hold_until = reply.hold_until.or(self.busy_until());
        }
        self.finish(reply)
    }

    fn power_cycle(&mut self) {
        self.reset();
        *self.core() = ScpiCore::power_on();
    }

    fn inject_error(&mut self, code: i32, message: &str) {
        self.core().push(code, message);
    }

    fn busy(&self, now: f64) -> bool {
        self.operation_end().is_some_and(|end| end > now)
    }
}

/// IEEE 488.2 common commands and `SYSTem:ERRor` shared by the SCPI simulators.
#[derive(Debug, Clone, Copy)]
pub enum Common {
    /// `*CLS`
    Cls,
    /// `*ESE`
    Ese,
    /// `*ESR?`
    Esr,
    /// `*IDN?`
    Idn,
    /// `*OPC` / `*OPC?`
    Opc,
    /// `*RST`
    Rst,
    /// `*SRE`
    Sre,
    /// `*STB?`
    Stb,
    /// `*TST?`
    Tst,
    /// `*WAI`
    Wai,
    /// `SYSTem:ERRor[:NEXT]?`
    ErrorNext,
    /// `SYSTem:ERRor:COUNt?`
    ErrorCount,
    /// `SYSTem:ERRor:ALL?`
    ErrorAll,
}

/// Handler for [`Common`] commands.
pub struct C(pub Common);

impl<D: ScpiDevice> scpi::tree::command::Command<D> for C {
    fn meta(&self) -> scpi::tree::command::CommandTypeMeta {
        scpi::tree::command::CommandTypeMeta::Both
    }

    fn event(
        &self,
        dev: &mut D,
        _ctx: &mut scpi::Context,
        mut params: Parameters,
    ) -> Result<(), Error> {
        match self.0 {
            Common::Cls => dev.core().cls(),
            Common::Ese => dev.core().ese = number(&mut params, 0.0, 255.0, 0.0)? as u8,
            Common::Sre => dev.core().sre = number(&mut params, 0.0, 255.0, 0.0)? as u8,
            Common::Rst => dev.reset(),
            Common::Opc => dev.core().esr |= 0x01,
            Common::Wai => {
                let until = dev.busy_until();
                dev.core().hold_until = until;
            }
            _ => return Err(ErrorCode::UndefinedHeader.into()),
        }
        Ok(())
    }

    fn query(
        &self,
        dev: &mut D,
        _ctx: &mut scpi::Context,
        _params: Parameters,
        mut resp: scpi::parser::response::ResponseUnit,
    ) -> Result<(), Error> {
        let text = match self.0 {
            Common::Idn => dev.identity(),
            Common::Esr => dev.core().take_esr().to_string(),
            Common::Ese => dev.core().ese.to_string(),
            Common::Sre => dev.core().sre.to_string(),
            Common::Stb => dev.core().stb().to_string(),
            Common::Tst => "0".into(),
            Common::Opc => {
                let until = dev.busy_until();
                dev.core().hold_until = until;
                "1".into()
            }
            Common::ErrorNext => dev.core().pop_formatted(),
            Common::ErrorCount => dev.core().errors.len().to_string(),
            Common::ErrorAll => {
                let core = dev.core();
                if core.errors.is_empty() {
                    "0,\"No error\"".into()
                } else {
                    let all: Vec<String> = std::iter::from_fn(|| {
                        (!core.errors.is_empty()).then(|| core.pop_formatted())
                    })
                    .collect();
                    all.join(",")
                }
            }
            _ => return Err(ErrorCode::UndefinedHeader.into()),
        };
        respond(&mut resp, &text)
    }
}

/// Run one program message through a command tree and collect the reply.
pub fn run_tree<D: ScpiDevice>(tree: &scpi::tree::Node<D>, dev: &mut D, message: &[u8]) -> Reply {
    let mut out: Vec<u8> = Vec::new();
    let mut ctx = scpi::Context::new();
    dev.core().hold_until = None;
    let ok = tree.run(message, dev, &mut ctx, &mut out).is_ok();
    if out.last() == Some(&b'\n') {
        out.pop();
    }
    Reply {
        // An erroneous message produces no response (IEEE 488.2 §6.1.10: the query is
        // discarded and the error queued); the client then times out and reads the queue.
        bytes: (ok && !out.is_empty()).then_some(out),
        hold_until: dev.core().hold_until.take(),
    }
}

/// The `SYSTem:ERRor` branch shared by the SCPI simulators.
#[macro_export]
macro_rules! syst_err_branch {
    () => {
        scpi::Branch![b"ERRor";
            scpi::Leaf!(default b"NEXT" => &$crate::sim::device::C($crate::sim::device::Common::ErrorNext)),
            scpi::Leaf!(b"COUNt" => &$crate::sim::device::C($crate::sim::device::Common::ErrorCount)),
            scpi::Leaf!(b"ALL" => &$crate::sim::device::C($crate::sim::device::Common::ErrorAll))
        ]
    };
}

/// A root node holding the IEEE 488.2 common commands followed by the given children.
#[macro_export]
macro_rules! scpi_root {
    ($($child:expr),+ $(,)?) => {
        scpi::Root![
            scpi::Leaf!(b"*CLS" => &$crate::sim::device::C($crate::sim::device::Common::Cls)),
            scpi::Leaf!(b"*ESE" => &$crate::sim::device::C($crate::sim::device::Common::Ese)),
            scpi::Leaf!(b"*ESR" => &$crate::sim::device::C($crate::sim::device::Common::Esr)),
            scpi::Leaf!(b"*IDN" => &$crate::sim::device::C($crate::sim::device::Common::Idn)),
            scpi::Leaf!(b"*OPC" => &$crate::sim::device::C($crate::sim::device::Common::Opc)),
            scpi::Leaf!(b"*RST" => &$crate::sim::device::C($crate::sim::device::Common::Rst)),
            scpi::Leaf!(b"*SRE" => &$crate::sim::device::C($crate::sim::device::Common::Sre)),
            scpi::Leaf!(b"*STB" => &$crate::sim::device::C($crate::sim::device::Common::Stb)),
            scpi::Leaf!(b"*TST" => &$crate::sim::device::C($crate::sim::device::Common::Tst)),
            scpi::Leaf!(b"*WAI" => &$crate::sim::device::C($crate::sim::device::Common::Wai)),
            $($child),+
        ]
    };
}

/// The plumbing every [`ScpiDevice`] implements the same way from fields named `core`, `now`
/// and `busy_until`: its tree, status core, and simulated time of the current message.
#[macro_export]
macro_rules! scpi_device_plumbing {
    ($tree:expr) => {
        fn tree() -> &'static scpi::tree::Node<'static, Self> {
            &$tree
        }
        fn core(&mut self) -> &mut $crate::sim::device::ScpiCore {
            &mut self.core
        }
        fn set_now(&mut self, now: f64) {
            self.now = now;
        }
        fn now(&self) -> f64 {
            self.now
        }
        fn operation_end(&self) -> Option<f64> {
            self.busy_until
        }
    };
}

/// Implement `scpi::tree::command::Command` for a device-specific handler type `$h` wrapping
/// a command enum, dispatching to the device's `event` and `query` methods.
#[macro_export]
macro_rules! device_handler {
    ($h:ident, $cmd:ty, $dev:ty) => {
        /// Handler wrapping one device command.
        pub struct $h(pub $cmd);
        impl scpi::tree::command::Command<$dev> for $h {
            fn meta(&self) -> scpi::tree::command::CommandTypeMeta {
                scpi::tree::command::CommandTypeMeta::Both
            }
            fn event(
                &self,
                dev: &mut $dev,
                _ctx: &mut scpi::Context,
                mut params: scpi::parser::parameters::Parameters,
            ) -> Result<(), scpi::error::Error> {
                dev.event(self.0, &mut params)
            }
            fn query(
                &self,
                dev: &mut $dev,
                _ctx: &mut scpi::Context,
                mut params: scpi::parser::parameters::Parameters,
                mut resp: scpi::parser::response::ResponseUnit,
            ) -> Result<(), scpi::error::Error> {
                let text = dev.query(self.0, &mut params)?;
                $crate::sim::device::respond(&mut resp, &text)
            }
        }
        impl scpi::Device for $dev {
            fn handle_error(&mut self, err: scpi::error::Error) {
                $crate::sim::device::ScpiDevice::core(self).push_scpi(&err);
            }
        }
    };
}
