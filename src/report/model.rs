//! The report model: one typed structure, built only from stored data (`super::build`), from
//! which every format is rendered. Its JSON serialisation is the JSON report (a contract: the
//! keys it has always had, sorted). The completeness check lists what ISO/IEC 17025:2017
//! 7.8.2.1, 7.8.4.1 and 7.8.6 ask that the model lacks (standards.md §7.1).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{Date, RunStatus};
use crate::store::StoreError;
use crate::store::record::InterruptionRecord;

/// What the person issuing a report adds to the run (stored with the report).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportMeta {
    /// Customer name (7.8.2.1 e).
    pub customer: Option<String>,
    /// Customer contact e-mail (7.8.2.1 e).
    pub customer_email: Option<String>,
    /// Description and unambiguous identification of the item (7.8.2.1 g).
    pub item: Option<String>,
    /// Date of receipt of the item (7.8.2.1 h).
    pub received: Option<Date>,
    /// Authorising signatory: name (7.8.2.1 o).
    pub signatory: Option<String>,
    /// … and role.
    pub signatory_role: Option<String>,
    /// Laboratory address (7.8.2.1 b), when the station file gives none.
    pub address: Option<String>,
    /// A draft: watermarked, not a certificate.
    pub draft: bool,
    /// Who calibrated (校准员); default: the run's operator.
    #[serde(default)]
    pub calibrated_by: Option<String>,
    /// Who checked the calibration (核验员).
    #[serde(default)]
    pub checked_by: Option<String>,
    /// Model / specification of the item (型号/规格).
    #[serde(default)]
    pub item_model: Option<String>,
    /// Serial number of the item (出厂编号).
    #[serde(default)]
    pub item_serial: Option<String>,
    /// Manufacturer of the item (制造单位).
    #[serde(default)]
    pub item_manufacturer: Option<String>,
    /// Language of the certificate (`en`, `zh`, `zh-en`); default: the station file's.
    #[serde(default)]
    pub language: Option<String>,
    /// The procedure's declared version and roles (read from its script by the caller; not
    /// stored with the report's metadata).
    #[serde(skip)]
    pub procedure: Option<ProcedureFacts>,
}

/// What the procedure's declaration says that the run record does not hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcedureFacts {
    /// Declared version.
    pub version: String,
    /// Roles it drives (`iv_tracer`, `source`, …).
    pub roles: Vec<String>,
}

/// Why a report model could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The run cannot be reported.
    #[error("run {run}: {problem}")]
    Run {
        /// Run id.
        run: String,
        /// Why.
        problem: String,
    },
}

/// The certificate's identity (7.8.2.1 a, d, j).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CertificateInfo {
    /// `PVS-YYYY-NNNN[-Rn]`, or `DRAFT-RUN`.
    pub number: String,
    /// Revision, from 0.
    pub revision: i64,
    /// The number of the report this one replaces.
    pub previous: Option<String>,
    /// Date of issue.
    pub issued: Date,
    /// Time of issue [s since epoch].
    pub issued_at: f64,
    /// A draft (watermarked, not a certificate).
    pub draft: bool,
}

/// The laboratory (7.8.2.1 b, c).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Laboratory {
    /// Laboratory name as accredited.
    pub name: Option<String>,
    /// Postal address.
    pub address: Option<String>,
    /// Contact e-mail.
    pub email: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    /// The station's name.
    pub station: Option<String>,
    /// Where the activity took place.
    pub location: String,
    /// Name in Chinese.
    pub name_zh: Option<String>,
    /// Address in Chinese.
    pub address_zh: Option<String>,
    /// Accreditation body and number, when the laboratory is accredited.
    pub accreditation: Option<Accreditation>,
}

/// The laboratory's accreditation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accreditation {
    /// Body ("CNAS").
    pub body: String,
    /// Number.
    pub number: String,
}

/// The item calibrated (7.8.2.1 g).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// Description and identification.
    pub identification: Option<String>,
    /// Model / specification.
    pub model: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
    /// Manufacturer.
    pub manufacturer: Option<String>,
}

/// The dates (7.8.2.1 h, i, j).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dates {
    /// Receipt of the item.
    pub receipt: Option<Date>,
    /// First day of the measurement.
    pub measurement_start: Date,
    /// Last day of the measurement.
    pub measurement_end: Date,
    /// Date of issue of the certificate.
    pub issue: Date,
}

/// The method (7.8.2.1 f).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Method {
    /// Procedure name.
    pub procedure: String,
    /// Its script file.
    pub script: String,
    /// SHA-256 of the script.
    pub script_sha256: String,
    /// The parameters it ran with.
    pub parameters: Value,
    /// The procedure's declared version (None: its script is not at hand).
    pub version: Option<String>,
    /// The documents applied, with edition.
    pub standards: Vec<String>,
}

/// Software that made the record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Software {
    /// `pvstation`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The run reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    /// Run id.
    pub id: String,
    /// How it stopped.
    pub status: RunStatus,
    /// Why, when not completed.
    pub reason: Option<String>,
    /// Who ran the measurement.
    pub operator: String,
    /// The software that measured and evaluated (name, version).
    pub software: Software,
}

/// An instrument of the station, as its snapshot recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstrumentRecord {
    /// Name in the station file.
    pub name: String,
    /// The instrument's role in the measurement.
    pub role: String,
    /// Its instrument profile (model file).
    pub profile: String,
    /// Manufacturer from `*IDN?` (None if not recorded).
    pub manufacturer: Option<String>,
    /// Model from `*IDN?` (None if not recorded).
    pub model: Option<String>,
    /// VISA-style resource string it was reached at.
    pub resource: String,
    /// `*IDN?` reply.
    pub identity: String,
    /// Firmware from the identity.
    pub firmware: Option<String>,
    /// Serial number from the identity.
    pub serial_number: Option<String>,
}

/// A calibration certificate as the station snapshot recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateRecord {
    /// Certificate number.
    pub number: String,
    /// Issuing laboratory.
    pub laboratory: String,
    /// Certified value.
    pub value: f64,
    /// Unit of the value and U.
    pub unit: String,
    /// Expanded uncertainty U.
    pub expanded_uncertainty: f64,
    /// Coverage factor k.
    pub coverage_factor: f64,
    /// Date of calibration.
    pub calibration_date: Date,
    /// Recalibration due date.
    pub due_date: Date,
}

/// A calibration of an instrument the run used, from the station snapshot (7.8.4.1 c; ISO/IEC
/// 17025:2017 6.5: every instrument whose specification enters a budget).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstrumentCalibration {
    /// Instrument name in the station file.
    pub instrument: String,
    /// Its role in the measurement.
    pub role: String,
    /// What was calibrated ("Keithley 2460 04410001", "PT100 probes …").
    pub item: String,
    /// Certificate number.
    pub number: String,
    /// Issuing laboratory.
    pub laboratory: String,
    /// Date of calibration.
    pub date: Date,
    /// Due date.
    pub due_date: Date,
    /// Valid on the day of the measurement.
    pub valid_at_measurement: bool,
}

/// A person who signs the certificate, in one of the three functions of Chinese practice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignatoryEntry {
    /// `calibrated_by` (校准员), `checked_by` (核验员) or `approved_by` (批准人).
    pub function: String,
    /// Name (None: not yet given).
    pub name: Option<String>,
    /// Date.
    pub date: Date,
}

/// A reference the run used (7.8.4.1 c).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Traceability {
    /// Reference id.
    pub id: String,
    /// Kind (`reference_cell`, `standard_resistor`, …).
    pub kind: String,
    /// What the standard is, as its certificate states it.
    pub description: String,
    /// Serial number of the standard.
    pub serial_number: String,
    /// Its certificate.
    pub certificate: CertificateRecord,
    /// The certificate was valid on the day of the measurement.
    pub valid_at_measurement: bool,
    /// SHA-256 of the certificate record in the references registry.
    pub record_sha256: Option<String>,
}

/// A result: its value and unit, and whatever the procedure recorded with it (u, U, k, the
/// budget, the decision, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultEntry {
    /// The value (a number, or a verdict's text).
    pub value: Value,
    /// Unit symbol (empty for a verdict).
    #[serde(default)]
    pub unit: String,
    /// Everything else recorded with it.
    #[serde(flatten)]
    pub details: serde_json::Map<String, Value>,
}

/// One line of a result's uncertainty budget.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BudgetLine {
    /// Input.
    pub name: String,
    /// Its estimate.
    pub estimate: f64,
    /// Its unit.
    pub unit: Option<String>,
    /// u(x).
    pub u: f64,
    /// Probability distribution assigned to the input (normal, rectangular, …).
    pub distribution: String,
    /// Sensitivity coefficient.
    pub sensitivity: f64,
    /// |c|·u.
    pub contribution: f64,
    /// Share of the variance [1].
    pub share: f64,
    /// Where the input's value and uncertainty came from (certificate, datasheet, file).
    #[serde(default)]
    pub source: Option<String>,
}

impl ResultEntry {
    /// A number recorded with the result (`U`, `k`, `u`, `nominal`, …).
    pub fn number(&self, key: &str) -> Option<f64> {
        self.details.get(key).and_then(Value::as_f64)
    }

    /// The value as a number.
    pub fn value_f64(&self) -> Option<f64> {
        self.value.as_f64()
    }

    /// A recorded detail.
    pub fn detail(&self, key: &str) -> Option<&Value> {
        self.details.get(key)
    }

    /// Its uncertainty budget, if it has one.
    pub fn budget(&self) -> Option<Vec<BudgetLine>> {
        self.details
            .get("budget")
            .and_then(|b| serde_json::from_value(b.clone()).ok())
    }

    /// A measurand (a number that is not marked informative) — it needs an uncertainty.
    fn is_measurand(&self) -> bool {
        self.value.is_number() && self.details.get("informative") != Some(&Value::Bool(true))
    }

    /// Curves the procedure translated (to STC): (direction, voltage, current).
    pub fn translated_curves(&self) -> Vec<(String, Vec<f64>, Vec<f64>)> {
        let nums = |c: &Value, k: &str| -> Option<Vec<f64>> {
            c[k].as_array()?.iter().map(Value::as_f64).collect()
        };
        self.details
            .get("translated_curves")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| {
                Some((
                    c["direction"].as_str().unwrap_or("").to_string(),
                    nums(c, "voltage")?,
                    nums(c, "current")?,
                ))
            })
            .collect()
    }
}

/// A statement of conformity (7.8.6).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conformity {
    /// The result it applies to.
    pub result: String,
    /// The verdict (`pass`, `fail`, `conditionalPass`, …).
    pub verdict: Value,
    /// The decision rule.
    pub rule: Option<Value>,
    /// The rule's name: `simple`, `guarded` or `non_binary`.
    pub rule_name: Option<String>,
    /// Tolerance limits (lower, upper) in the result's unit; None for a set of points.
    pub limits: Option<(f64, f64)>,
    /// Nominal value and relative tolerance, when the specification is "nominal ± t".
    pub nominal: Option<(f64, f64)>,
    /// Acceptance zone (lower, upper).
    pub acceptance: Option<(f64, f64)>,
    /// Probability that the decision is wrong (false acceptance when accepted) [1].
    pub probability_wrong_decision: Option<f64>,
    /// Unit of limits and zone.
    pub unit: String,
}

/// The range of a condition during the measurement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConditionRange {
    /// Quantity (`irradiance`, `module_temperature`, …).
    pub quantity: String,
    /// Lowest value.
    pub min: f64,
    /// Highest value.
    pub max: f64,
    /// Unit symbol of min and max.
    pub unit: String,
}

/// Time series for the conditions figure: (time [s since epoch], value).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// Irradiance [W/m²].
    pub irradiance: Vec<(f64, f64)>,
    /// Mean module temperature [°C].
    pub module_temperature: Vec<(f64, f64)>,
    /// The windows the stability gate accepted (from, to).
    pub stability_windows: Vec<(f64, f64)>,
}

/// Conditions during the measurement (7.8.4.1 b).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conditions {
    /// Ranges.
    pub measured: Vec<ConditionRange>,
    /// What the operator reported (prompt id → answer).
    pub operator_answers: BTreeMap<String, Value>,
    /// Time series.
    pub series: Series,
}

/// A measured curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurveRecord {
    /// The activity that measured it.
    pub activity: i64,
    /// `forward` or `reverse`.
    pub direction: Value,
    /// Voltage [V].
    pub voltage: Value,
    /// Current [A].
    pub current: Value,
}

impl CurveRecord {
    /// The columns as numbers (None when a column is not all numbers).
    pub fn columns(&self) -> Option<(Vec<f64>, Vec<f64>)> {
        let nums =
            |v: &Value| -> Option<Vec<f64>> { v.as_array()?.iter().map(Value::as_f64).collect() };
        Some((nums(&self.voltage)?, nums(&self.current)?))
    }
}

/// The authorising signatory (7.8.2.1 o).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signatory {
    /// Name of the person who authorises the certificate (None: unsigned draft).
    pub name: Option<String>,
    /// Function.
    pub role: Option<String>,
}

/// A raw record's identity in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RawDataRef {
    /// Row id.
    pub id: i64,
    /// The activity it belongs to.
    pub activity: Option<i64>,
    /// What the record holds (`iv_curves`, `conditions`, …).
    pub kind: String,
    /// SHA-256 taken when it was recorded.
    pub sha256: String,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// SHA-256 of the JSON rendering of the report this one replaces.
    pub previous_report_sha256: Option<String>,
    /// Certificate title (`Calibration certificate`, …).
    pub title: String,
    /// Identity.
    pub certificate: CertificateInfo,
    /// The issuing laboratory.
    pub laboratory: Laboratory,
    /// Customer name.
    pub customer: Option<String>,
    /// Customer contact.
    pub customer_email: Option<String>,
    /// The item calibrated or measured.
    pub item: Item,
    /// Dates of measurement and issue.
    pub dates: Dates,
    /// The method and the procedure that applied it.
    pub method: Method,
    /// The run.
    pub run: RunInfo,
    /// Instruments of the station.
    pub instruments: Vec<InstrumentRecord>,
    /// References used.
    pub traceability: Vec<Traceability>,
    /// Results by name.
    pub results: BTreeMap<String, ResultEntry>,
    /// Statements of conformity.
    pub conformity: Vec<Conformity>,
    /// Deviations and interruptions.
    pub deviations: Vec<InterruptionRecord>,
    /// Environmental and measurement conditions during the run.
    pub conditions: Conditions,
    /// Measured curves.
    pub curves: Vec<CurveRecord>,
    /// Fixed statements.
    pub statements: Vec<String>,
    /// Who authorises the certificate.
    pub signatory: Signatory,
    /// Calibrated by, checked by, approved by (Chinese practice).
    pub signatories: Vec<SignatoryEntry>,
    /// Calibrations of the instruments the run used.
    pub instrument_calibrations: Vec<InstrumentCalibration>,
    /// Language of the certificate (`en`, `zh`, `zh-en`).
    pub language: String,
    /// Raw records.
    pub raw_data: Vec<RawDataRef>,
    /// Instruments the run used whose specification enters a budget but that have no
    /// calibration in the station snapshot: (name, role). Not part of the JSON.
    #[serde(skip)]
    pub uncalibrated: Vec<(String, String)>,
}

impl Report {
    /// The JSON report: every key, sorted, pretty-printed.
    pub fn to_json(&self) -> String {
        serde_json::to_value(self)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_default()
    }
}

/// What ISO/IEC 17025:2017 7.8 requires that the report lacks (empty: complete).
pub fn missing(report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let absent = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
    if absent(&report.customer) {
        out.push("customer name (7.8.2.1 e): give --customer".into());
    }
    if absent(&report.customer_email) {
        out.push("customer contact (7.8.2.1 e): give --customer-email".into());
    }
    if absent(&report.laboratory.address) {
        out.push(
            "laboratory address (7.8.2.1 b): set [station] address in the station file".into(),
        );
    }
    if absent(&report.item.identification) {
        out.push("identification of the item (7.8.2.1 g): give --item".into());
    }
    if report.dates.receipt.is_none() {
        out.push("date of receipt of the item (7.8.2.1 h): give --received YYYY-MM-DD".into());
    }
    if absent(&report.signatory.name) {
        out.push("authorising signatory (7.8.2.1 o): give --signatory NAME".into());
    }
    for s in &report.signatories {
        if s.function == "checked_by" && absent(&s.name) {
            out.push("who checked the calibration (核验员): give --checked-by NAME".into());
        }
    }
    if absent(&report.laboratory.name) {
        out.push(
            "laboratory name (7.8.2.1 b): set [station] laboratory in the station file".into(),
        );
    }
    if report.run.status != RunStatus::Completed {
        out.push(format!(
            "the run did not complete (\"{}\"): a certificate reports completed runs",
            report.run.status
        ));
    }
    if report.results.is_empty() {
        out.push("results with units (7.8.2.1 m): the run recorded none".into());
    }
    for (name, r) in &report.results {
        // Informative results (diagnostics such as forward/reverse hysteresis) are not
        // measurands and carry no uncertainty.
        if r.is_measurand() && r.detail("U").is_none() && r.detail("u").is_none() {
            out.push(format!("result `{name}` has no uncertainty (7.8.4.1 a)"));
        }
    }
    if report.conformity.iter().any(|c| c.rule.is_none()) {
        out.push("the decision rule of the conformity statement (7.8.6 c)".into());
    }
    if report.traceability.is_empty() {
        out.push("metrological traceability (7.8.4.1 c): the run used no reference device".into());
    }
    for (instrument, role) in &report.uncalibrated {
        out.push(format!(
            "instrument `{instrument}` ({role}) has no calibration in the station file, but its specification enters the uncertainty budget (17025 6.5, 7.8.4.1 c): add [[instrument.calibration]] with number, laboratory, date and due_date"
        ));
    }
    for c in &report.instrument_calibrations {
        if !c.valid_at_measurement {
            out.push(format!(
                "instrument `{}`: calibration {} ({}) was past its due date {} at the measurement: the result is not traceable",
                c.instrument, c.number, c.item, c.due_date
            ));
        }
    }
    for r in &report.traceability {
        if !r.valid_at_measurement {
            out.push(format!(
                "reference {} (certificate {}) was past its due date {} at the measurement: the result is not traceable",
                r.id, r.certificate.number, r.certificate.due_date
            ));
        }
    }
    out
}
