//! The operator, the clock and randomness: prompts (answered from `--answer`, the terminal or
//! the console, and recorded in the audit trail), the run's clock, journaled sleeps, the run's
//! seeded random numbers, and earlier runs' results. Every one of these is an activity, so a
//! resumed run asks nothing twice and waits no second time.

use rhai::{Dynamic, Engine};
use serde_json::{Value, json};

use super::args::to_dyn;
use super::{Host, HostResult, MAX_SLEEP, SharedHost, fail, host_fn};
use crate::engine::events::{ActivityKind, RunStatus};

/// A journaled sleep of `seconds` of station time.
fn sleep(host: &mut Host, seconds: f64) -> HostResult<()> {
    if !(0.0..=MAX_SLEEP).contains(&seconds) {
        return fail(format!(
            "sleep({}): give 0 to {MAX_SLEEP} s (one day); call sleep again for longer waits",
            crate::model::shown(seconds)
        ));
    }
    host.activity(ActivityKind::Sleep, json!({"seconds": seconds}), |h, _| {
        h.pause(seconds)?;
        Ok(((), vec![]))
    })
}

/// `history`, `prompt`, `now`, `sleep`, `random`.
pub(super) fn register(engine: &mut Engine, shared: &SharedHost) {
    host_fn!(engine, shared, "history", |host,
                                         procedure: &str,
                                         result: &str|
     -> HostResult<Dynamic> {
        let (procedure, result) = (procedure.to_string(), result.to_string());
        let v: Value = host.activity(
            ActivityKind::History,
            json!({"procedure": procedure, "result": result}),
            |h, db| {
                let mut out = Vec::new();
                for run in db.runs().map_err(|e| e.to_string())? {
                    if run.procedure != procedure
                        || run.status != Some(RunStatus::Completed)
                        || run.id == h.run_id
                    {
                        continue;
                    }
                    if let Some((_, value)) = db
                        .results(&run.id)
                        .map_err(|e| e.to_string())?
                        .into_iter()
                        .find(|(name, _)| *name == result)
                    {
                        let value: Value = serde_json::from_str(&value).unwrap_or(Value::Null);
                        out.push(json!({"run_id": run.id, "started_at": run.started_at, "result": value}));
                    }
                }
                out.reverse();
                Ok((Value::Array(out), vec![]))
            },
        )?;
        to_dyn(&v)
    });
    host_fn!(engine, shared, "prompt", |host,
                                        id: &str,
                                        text: &str|
     -> HostResult<String> {
        let (id, text) = (id.to_string(), text.to_string());
        host.activity(ActivityKind::Prompt, json!({"id": id, "text": text}), |h, db| {
            let answer = if let Some(a) = h.answers.get(&id) {
                a.clone()
            } else if let Some(p) = h.prompter.as_mut() {
                p(&id, &text)?
            } else {
                return Err(format!(
                    "prompt `{id}` (\"{text}\") has no answer: a headless run never waits; give --answer {id}=VALUE"
                ));
            };
            if let Some(operator) = &h.simulated_operator {
                operator(&id, h.now());
            }
            let details = json!({"run": h.run_id, "prompt": id, "text": text, "answer": answer});
            db.audit(h.now(), &h.operator, "prompt.answer", &details.to_string())
                .map_err(|e| e.to_string())?;
            Ok((answer, vec![]))
        })
    });
    host_fn!(engine, shared, "now", |host| -> HostResult<f64> {
        host.activity(ActivityKind::Now, json!({}), |h, _| Ok((h.now(), vec![])))
    });
    // Rhai's own `sleep(FLOAT|INT)` would block in real time, outside the journal: these
    // overloads, registered with the same types, replace it.
    host_fn!(engine, shared, "sleep", |host,
                                       seconds: f64|
     -> HostResult<()> {
        sleep(host, seconds)
    });
    host_fn!(engine, shared, "sleep", |host,
                                       seconds: i64|
     -> HostResult<()> {
        sleep(host, seconds as f64)
    });
    host_fn!(engine, shared, "random", |host| -> HostResult<f64> {
        host.activity(ActivityKind::Random, json!({}), |h, _| {
            Ok((h.next_random(), vec![]))
        })
    });
}
