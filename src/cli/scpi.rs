//! `pvstation scpi RESOURCE CMD...`: talk to an instrument by hand.

use std::process::ExitCode;
use std::time::Duration;

use crate::instruments::profile::terminator_bytes;
use crate::scpi::{IoLog, Resource, SerialSettings, Session, SessionConfig};

/// Arguments of `pvstation scpi`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// VISA resource, e.g. `TCPIP::192.168.1.20::5025::SOCKET` or `ASRL/dev/ttyUSB0::INSTR`.
    resource: String,
    /// Commands; those containing `?` are queries and their replies are printed.
    #[arg(required = true)]
    commands: Vec<String>,
    /// Timeout of each exchange [ms].
    #[arg(long, default_value_t = 3000)]
    timeout: u64,
    /// Program-message terminator (`\n`, `\r\n`).
    #[arg(long, default_value = "\\n")]
    write_termination: String,
    /// Response terminator.
    #[arg(long, default_value = "\\n")]
    read_termination: String,
    /// Serial baud rate.
    #[arg(long, default_value_t = 9600)]
    baud: u32,
    /// Print the I/O log (every byte, with time and direction) to stderr.
    #[arg(long)]
    log: bool,
}

/// Run `pvstation scpi`.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let resource = Resource::parse(&args.resource)?;
    let mut config = SessionConfig::new("scpi", resource);
    config.timeout = Duration::from_millis(args.timeout.max(1));
    config.write_termination = terminator_bytes(&args.write_termination);
    config.read_termination = terminator_bytes(&args.read_termination);
    config.serial = SerialSettings {
        baud: args.baud,
        ..SerialSettings::default()
    };
    config.retries = 0;
    let log = IoLog::new();
    let mut session = Session::new(config, log.clone());
    let mut status = ExitCode::SUCCESS;
    for command in &args.commands {
        let result = if command.contains('?') {
            session.query_once(command).await.map(|r| println!("{r}"))
        } else {
            session.write(command).await
        };
        if let Err(e) = result {
            eprintln!("error: {e}");
            status = ExitCode::from(1);
            break;
        }
    }
    if args.log {
        for r in log.drain() {
            eprintln!(
                "{:.6} {:?} {}",
                r.time,
                r.direction,
                crate::scpi::iolog::escape(&r.bytes)
            );
        }
    }
    Ok(status)
}
