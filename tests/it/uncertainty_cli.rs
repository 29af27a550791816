//! `pvstation uncertainty eval` through the real binary: the JSON contract and bad model files.

use crate::cli::{bin, repo, tempdir};

fn eval(args: &[&str]) -> (i32, String, String) {
    let out = bin()
        .args(["uncertainty", "eval"])
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn json_contract_on_the_ea_4_02_example() {
    let model = repo("examples/uncertainty/ea-4-02-s2.toml")
        .display()
        .to_string();
    let (code, out, err) = eval(&[
        &model, "--mcm", "--trials", "100000", "--seed", "3", "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    for key in ["y", "u", "nu_eff", "k", "U", "interval"] {
        assert!(v["gum"].get(key).is_some(), "gum.{key}");
    }
    for key in ["y", "u", "interval", "trials", "converged"] {
        assert!(v["mcm"].get(key).is_some(), "mcm.{key}");
    }
    assert_eq!(v["validation"], "passed");
    assert_eq!(v["budget"].as_array().map(Vec::len), Some(5));
    assert_eq!(v["reported"]["y"], "10000.025");
    assert_eq!(v["reported"]["U"], 0.059);
    assert_eq!(v["mcm"]["trials"], 100_000);
    let (code, out, _) = eval(&[&model, "--adaptive", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(v["mcm"]["converged"], true);
}

#[test]
fn bad_model_files_are_rejected_with_clear_messages() {
    let dir = tempdir("bad-models");
    let cases = [
        (
            "unknown.toml",
            "model = \"a + b\"\n[inputs.a]\ndistribution = \"normal\"\nvalue = 1\nu = 0.1\n",
            "Undefined variable: b (known inputs: a)",
        ),
        (
            "syntax.toml",
            "model = \"a * (b + \"\n[inputs.a]\ndistribution = \"normal\"\nvalue = 1\nu = 0.1\n[inputs.b]\ndistribution = \"normal\"\nvalue = 1\nu = 0.1\n",
            "line 1, column",
        ),
        (
            "negative.toml",
            "model = \"a\"\n[inputs.a]\ndistribution = \"normal\"\nvalue = 1\nu = -0.1\n",
            "inputs.a: uncertainty -0.1 is negative",
        ),
        (
            "width.toml",
            "model = \"a\"\n[inputs.a]\ndistribution = \"rectangular\"\nvalue = 1\nhalf_width = -2\n",
            "half_width -2 is negative",
        ),
        (
            "dof.toml",
            "model = \"a\"\n[inputs.a]\ndistribution = \"t\"\nvalue = 1\nu = 0.1\ndof = 0\n",
            "dof 0 must be > 0",
        ),
        (
            "typea.toml",
            "model = \"a\"\n[inputs.a]\ndistribution = \"typea\"\nobservations = [1.0]\n",
            "at least 2 observations",
        ),
        (
            "kind.toml",
            "model = \"a\"\n[inputs.a]\ndistribution = \"lognormal\"\nvalue = 1\n",
            "unknown distribution `lognormal`",
        ),
        (
            "uk.toml",
            "model = \"a\"\n[inputs.a]\ndistribution = \"normal\"\nvalue = 1\nU = 0.2\n",
            "`U` needs its coverage factor `k`",
        ),
        (
            "corr.toml",
            "model = \"a + b\"\n[inputs.a]\ndistribution = \"normal\"\nvalue = 1\nu = 0.1\n[inputs.b]\ndistribution = \"normal\"\nvalue = 1\nu = 0.1\n[[correlation]]\ninputs = [\"a\", \"c\"]\nr = 0.5\n",
            "unknown input `c`",
        ),
        (
            "range.toml",
            "model = \"a + b\"\n[inputs.a]\ndistribution = \"normal\"\nvalue = 1\nu = 0.1\n[inputs.b]\ndistribution = \"normal\"\nvalue = 1\nu = 0.1\n[[correlation]]\ninputs = [\"a\", \"b\"]\nr = 1.5\n",
            "must lie in [−1, 1]",
        ),
        (
            "nomodel.toml",
            "[inputs.a]\ndistribution = \"normal\"\nvalue = 1\nu = 0.1\n",
            "`model = \"<expression>\"` is missing",
        ),
        (
            "divide.toml",
            "model = \"1.0 / a\"\n[inputs.a]\ndistribution = \"normal\"\nvalue = 0\nu = 0.1\n",
            "the result is inf",
        ),
    ];
    for (name, text, expected) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        let (code, _, err) = eval(&[&path.display().to_string()]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(
            err.contains(expected) && err.contains(name),
            "{name}: {err}"
        );
    }
    // Syntax errors point into the file: the expression starts at column 10 of line 1 and
    // is incomplete at its end, column 19.
    let (_, _, err) = eval(&[&dir.join("syntax.toml").display().to_string()]);
    assert!(
        err.contains("line 1, column 19: in the model expression"),
        "{err}"
    );
    let multi = dir.join("multiline.toml");
    std::fs::write(&multi, "model = \"\"\"\na *\n  (b + 2\"\"\"\n[inputs.a]\ndistribution = \"normal\"\nvalue = 1\nu = 0.1\n[inputs.b]\ndistribution = \"normal\"\nvalue = 1\nu = 0.1\n").expect("write");
    let (code, _, err) = eval(&[&multi.display().to_string()]);
    assert_eq!(code, 2);
    assert!(err.contains("line 3, column 9"), "{err}");
}
