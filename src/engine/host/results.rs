//! Results, the log and the references: what a procedure records (finite numbers only, with
//! their unit and details), the lines it logs, and the reference devices of the station it
//! reads (each read marks the reference as used, for traceability and recalls). None of these
//! is an activity: a resumed run recomputes them from the activities' results.

use rhai::{Dynamic, Engine, Map};
use serde_json::{Value, json};

use super::args::to_dyn;
use super::{Host, HostResult, SharedHost, fail, host_fn};
use crate::engine::events::Event;

/// A recorded value must be made of finite numbers: JSON has no NaN or infinity, and a
/// result that silently became `null` is a lost measurement. `Err` names the first
/// non-finite number's place.
fn finite(value: &Dynamic, at: &str) -> Result<(), String> {
    if let Ok(x) = value.as_float() {
        if !x.is_finite() {
            return Err(format!("{at} is {x}"));
        }
    } else if value.is_array() {
        for (k, item) in value
            .clone()
            .into_array()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            finite(item, &format!("{at}[{k}]"))?;
        }
    } else if let Some(map) = value.clone().try_cast::<Map>() {
        for (k, item) in &map {
            finite(item, &format!("{at}.{k}"))?;
        }
    }
    Ok(())
}

/// `record(name, value, unit[, details])`: `{"value", "unit", …details}` under `name`.
fn record(host: &mut Host, name: &str, value: Dynamic, unit: &str, extra: Map) -> HostResult<()> {
    finite(&value, "the value")
        .and_then(|()| finite(&Dynamic::from_map(extra.clone()), "its details"))
        .map_err(|e| format!("record(`{name}`): {e}; a result must be a finite number"))?;
    let v: Value = rhai::serde::from_dynamic(&value)?;
    let mut entry = json!({"value": v, "unit": unit});
    let extra: Value = rhai::serde::from_dynamic(&Dynamic::from_map(extra))?;
    if let (Some(e), Some(obj)) = (extra.as_object(), entry.as_object_mut()) {
        for (k, v) in e {
            obj.insert(k.clone(), v.clone());
        }
    }
    host.results.insert(name.to_string(), entry.clone());
    (host.events)(Event::Result {
        name: name.to_string(),
        value: entry,
    });
    Ok(())
}

/// `log`, `record`, `reference`, `references`.
pub(super) fn register(engine: &mut Engine, shared: &SharedHost) {
    host_fn!(engine, shared, "log", |host, message: &str| -> () {
        (host.events)(Event::Log {
            message: message.to_string(),
        });
    });
    host_fn!(engine, shared, "record", |host,
                                        name: &str,
                                        value: Dynamic,
                                        unit: &str|
     -> HostResult<()> {
        record(host, name, value, unit, Map::new())
    });
    host_fn!(engine, shared, "record", |host,
                                        name: &str,
                                        value: Dynamic,
                                        unit: &str,
                                        extra: Map|
     -> HostResult<()> {
        record(host, name, value, unit, extra)
    });
    host_fn!(engine, shared, "reference", |host,
                                           id: &str|
     -> HostResult<Dynamic> {
        match host.station.reference(id).cloned() {
            Some(r) => {
                host.used_references.insert(r.id.clone());
                // With its drift since calibration at the run's clock, from its history.
                let mut v = serde_json::to_value(&r).map_err(|e| e.to_string())?;
                let today = crate::model::Date::from_unix_seconds(host.now());
                v["drift"] = serde_json::to_value(r.drift(today)).unwrap_or_default();
                to_dyn(&v)
            }
            None => fail(format!(
                "the station has no reference device `{id}`; it has: {}",
                host.station
                    .file
                    .reference
                    .iter()
                    .map(|r| r.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    });
    // `dut()`: the station's module under test (`[station] dut`), its module file as a map.
    host_fn!(engine, shared, "dut", |host| -> HostResult<Dynamic> {
        let Some(dut) = host.station.file.station.dut.clone() else {
            return fail(
                "the station names no module under test: set `dut` in its [station] table (a shipped module such as \"cs5p-220m\", or a module file path)",
            );
        };
        // A path in the station file is relative to the station file.
        let base = host.station.path.parent().map(std::path::Path::to_path_buf);
        to_dyn(&load_module(&dut, base.as_deref())?)
    });
    // `module_file(path)`: a module file by path (relative to the working directory) or a
    // shipped module by name (`--set module=PATH` in outdoor procedures).
    host_fn!(engine, shared, "module_file", |_host,
                                             name: &str|
     -> HostResult<Dynamic> {
        to_dyn(&load_module(name, None)?)
    });
    // `instruments(role)`: the station's instruments of a role, in station-file order, each
    // with its `accuracy` table (the first irradiance meter is the working one).
    host_fn!(engine, shared, "instruments", |host,
                                             role: &str|
     -> HostResult<Dynamic> {
        let list: Vec<_> = host
            .station
            .file
            .instrument
            .iter()
            .filter(|i| i.role.as_str() == role)
            .collect();
        to_dyn(&list)
    });
    // `interrupt(details)`: record that a sweep is retaken because two determinations of one
    // quantity disagreed (an `inconsistent_measurement` interruption, details as given).
    host_fn!(engine, shared, "interrupt", |host,
                                           details: Map|
     -> HostResult<()> {
        let details: Value = rhai::serde::from_dynamic(&Dynamic::from_map(details))?;
        let seq = host
            .rec
            .as_ref()
            .map(crate::engine::journal::Recorder::next_seq)
            .unwrap_or(0);
        host.interruption(
            seq,
            crate::model::InterruptionKind::InconsistentMeasurement,
            details,
        );
        Ok(())
    });
    // `sky_instruments()`: the station's Modbus instruments, [#{ name, role, sensor }], from
    // the station file (so that a re-executed run sees what the original saw).
    host_fn!(engine, shared, "sky_instruments", |host| -> HostResult<
        Dynamic,
    > {
        let list: Vec<Value> = host
            .station
            .file
            .modbus
            .iter()
            .map(|m| {
                let role = crate::instruments::modbus::ModbusProfile::built_in(&m.profile)
                    .map(|p| p.role.as_str());
                json!({"name": m.name, "role": role, "sensor": m.sensor})
            })
            .collect();
        to_dyn(&list)
    });
    host_fn!(engine, shared, "references", |host,
                                            kind: &str|
     -> HostResult<Dynamic> {
        let list: Vec<_> = host
            .station
            .file
            .reference
            .iter()
            .filter(|r| r.kind.as_str() == kind)
            .collect();
        to_dyn(&list)
    });
}

/// A module file by path (`.toml`, relative to `base` when given) or a shipped module by name.
fn load_module(
    name: &str,
    base: Option<&std::path::Path>,
) -> HostResult<crate::analysis::module::Module> {
    use crate::analysis::module::{BUILT_IN, Module};
    if name.ends_with(".toml") {
        let path = base.map(|d| d.join(name)).unwrap_or_else(|| name.into());
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("the module file {}: {e}", path.display()))?;
        return Ok(Module::from_toml(&text)
            .map_err(|e| format!("the module file {}: {e}", path.display()))?);
    }
    Ok(Module::built_in(name)
        .ok_or_else(|| {
            format!(
                "no shipped module `{name}`; shipped: {} (or give a module file path ending in .toml)",
                BUILT_IN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            )
        })?
        .map_err(|e| format!("the shipped module `{name}`: {e}"))?)
}
