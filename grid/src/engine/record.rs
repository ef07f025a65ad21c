//! What the engine takes in: observations of defects, inspectors' actions and patrol passes, and the
//! NDJSON lines they arrive as (docs/OBSERVATIONS.md).
//!
//! Records are a stored format on purpose (the ledger keeps them as evidence), so the wire struct is
//! read with serde and checked into domain types here, where the fuzz target can reach it.

use serde::Deserialize;
use smol_str::SmolStr;

use crate::coord::Wgs84;
use crate::defect::{DefectKind, Severity};

/// The largest NDJSON line the decoder accepts, bytes (an outline of a few thousand points).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The most points an outline or a pass path may have.
pub const MAX_POINTS: usize = 4096;

/// Who made an observation: the trust rules depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// A patrol vehicle's own sensors (accelerometers, profilometer).
    Vehicle,
    /// A patrol vehicle's camera or lidar, which names a kind, an outline and a confidence.
    Camera,
    /// A citizen's phone.
    Phone,
    /// An urban-management inspector on site.
    Inspector,
}

impl Source {
    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Source::Vehicle => "vehicle",
            Source::Camera => "camera",
            Source::Phone => "phone",
            Source::Inspector => "inspector",
        }
    }

    fn parse(name: &str) -> Option<Source> {
        [
            Source::Vehicle,
            Source::Camera,
            Source::Phone,
            Source::Inspector,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }

    /// Whether this source is a patrol vehicle (its sensors or its camera).
    pub fn is_patrol(self) -> bool {
        matches!(self, Source::Vehicle | Source::Camera)
    }
}

/// One piece of evidence about a defect.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Unix time, seconds.
    pub t: f64,
    /// Where the defect was seen.
    pub position: Wgs84,
    /// Who saw it.
    pub source: Source,
    /// The device's pseudonymous id.
    pub device: SmolStr,
    /// The citizen a phone belongs to (defaults to the device).
    pub citizen: Option<SmolStr>,
    /// What was seen.
    pub kind: DefectKind,
    /// How bad it is.
    pub severity: Severity,
    /// The detector's confidence in [0, 1] (1 for inspectors).
    pub confidence: f64,
    /// Horizontal accuracy of the position, metres.
    pub accuracy_m: f64,
    /// For detections that cover an area: its outline (a closed or open ring, WGS84).
    pub outline: Option<Vec<Wgs84>>,
}

/// What an inspector says about a defect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// The defect is real (confirms a pending defect).
    Confirmed,
    /// The defect is not real: it stops counting.
    Rejected,
    /// A repair crew has been sent.
    Dispatched,
    /// The crew reports it repaired.
    Repaired,
    /// An inspector saw the repair: the defect is closed.
    Verified,
}

impl ActionKind {
    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            ActionKind::Confirmed => "confirmed",
            ActionKind::Rejected => "rejected",
            ActionKind::Dispatched => "dispatched",
            ActionKind::Repaired => "repaired",
            ActionKind::Verified => "verified",
        }
    }

    fn parse(name: &str) -> Option<ActionKind> {
        [
            ActionKind::Confirmed,
            ActionKind::Rejected,
            ActionKind::Dispatched,
            ActionKind::Repaired,
            ActionKind::Verified,
        ]
        .into_iter()
        .find(|a| a.name() == name)
    }
}

/// Which defect an action is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A defect by its id.
    Defect(u64),
    /// The defect nearest to a position (within the fusion radius), optionally of one kind.
    Position(Wgs84, Option<DefectKind>),
}

/// An inspector's action on a defect.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// Unix time, seconds.
    pub t: f64,
    /// The inspector's device.
    pub device: SmolStr,
    /// What they say.
    pub action: ActionKind,
    /// About which defect.
    pub target: Target,
}

/// A drive over a path that detected nothing there: patrols' passes make red defects "possibly
/// repaired"; phones' passes earn coverage points where patrols have not been lately.
#[derive(Debug, Clone, PartialEq)]
pub struct Pass {
    /// Unix time of the pass, seconds.
    pub t: f64,
    /// Vehicle or phone.
    pub source: Source,
    /// The device.
    pub device: SmolStr,
    /// The citizen a phone belongs to (defaults to the device).
    pub citizen: Option<SmolStr>,
    /// The path driven, at least two points.
    pub path: Vec<Wgs84>,
}

/// One input record of the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// Evidence of a defect.
    Observation(Observation),
    /// An inspector's action.
    Action(Action),
    /// A pass without detections.
    Pass(Pass),
}

impl Record {
    /// The record's time, Unix seconds.
    pub fn t(&self) -> f64 {
        match self {
            Record::Observation(o) => o.t,
            Record::Action(a) => a.t,
            Record::Pass(p) => p.t,
        }
    }

    /// Encodes the record as one NDJSON line (the inverse of `from_json_line`).
    pub fn to_json_line(&self) -> String {
        use serde_json::{Value, json};
        let points = |points: &[Wgs84]| -> Value {
            points.iter().map(|p| json!([p.lon(), p.lat()])).collect()
        };
        let mut object = match self {
            Record::Observation(o) => {
                let mut value = json!({
                    "t": o.t, "lat": o.position.lat(), "lon": o.position.lon(), "source": o.source.name(),
                    "device": o.device, "kind": o.kind.name(), "severity": o.severity.name(),
                    "confidence": o.confidence, "accuracy_m": o.accuracy_m,
                });
                if let Some(outline) = &o.outline {
                    value["outline"] = points(outline);
                }
                if let Some(citizen) = &o.citizen {
                    value["citizen"] = json!(citizen);
                }
                value
            }
            Record::Action(a) => {
                let mut value = json!({"t": a.t, "source": "inspector", "device": a.device, "action": a.action.name()});
                match &a.target {
                    Target::Defect(id) => value["defect"] = json!(id),
                    Target::Position(position, kind) => {
                        value["lat"] = json!(position.lat());
                        value["lon"] = json!(position.lon());
                        if let Some(kind) = kind {
                            value["kind"] = json!(kind.name());
                        }
                    }
                }
                value
            }
            Record::Pass(p) => {
                let mut value = json!({"t": p.t, "source": p.source.name(), "device": p.device, "path": points(&p.path)});
                if let Some(citizen) = &p.citizen {
                    value["citizen"] = json!(citizen);
                }
                value
            }
        };
        object.take().to_string()
    }

    /// Decodes one NDJSON line.
    pub fn from_json_line(line: &str) -> Result<Record, RecordError> {
        if line.len() > MAX_LINE_BYTES {
            return Err(RecordError::TooLong(line.len()));
        }
        let raw: RawRecord =
            serde_json::from_str(line).map_err(|e| RecordError::Json(e.to_string()))?;
        raw.check()
    }
}

/// The wire form of every record: one flat JSON object.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    t: f64,
    lat: Option<f64>,
    lon: Option<f64>,
    source: String,
    // Names are short: up to 23 bytes, a `SmolStr` keeps one inline, so it costs no allocation
    // and the engine reads it without a second load.
    device: SmolStr,
    citizen: Option<SmolStr>,
    kind: Option<String>,
    severity: Option<String>,
    confidence: Option<f64>,
    accuracy_m: Option<f64>,
    outline: Option<Vec<[f64; 2]>>,
    action: Option<String>,
    defect: Option<u64>,
    path: Option<Vec<[f64; 2]>>,
}

/// Unix times before 2000 or after 2100 are taken for unit mistakes (milliseconds, or no time).
const TIME_RANGE: std::ops::RangeInclusive<f64> = 946_684_800.0..=4_102_444_800.0;

impl RawRecord {
    fn check(self) -> Result<Record, RecordError> {
        use RecordError::Field;
        if !TIME_RANGE.contains(&self.t) {
            return Err(Field(
                "t",
                format!(
                    "{} is not a Unix time in seconds between 2000 and 2100",
                    self.t
                ),
            ));
        }
        let source = Source::parse(&self.source).ok_or_else(|| {
            Field(
                "source",
                format!(
                    "{:?} is not vehicle, camera, phone or inspector",
                    self.source
                ),
            )
        })?;
        if self.device.trim().is_empty() || self.device.len() > 128 {
            return Err(Field(
                "device",
                "must be a non-empty id of at most 128 bytes".into(),
            ));
        }
        let kind = self
            .kind
            .as_deref()
            .map(|k| {
                k.parse::<DefectKind>()
                    .map_err(|e| Field("kind", e.to_string()))
            })
            .transpose()?;
        let position = match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => {
                Some(Wgs84::new(lat, lon).map_err(|e| Field("lat/lon", e.to_string()))?)
            }
            (None, None) => None,
            _ => return Err(Field("lat/lon", "give both or neither".into())),
        };
        if let Some(action) = self.action {
            let action = ActionKind::parse(&action).ok_or_else(|| {
                Field(
                    "action",
                    format!(
                        "{action:?} is not confirmed, rejected, dispatched, repaired or verified"
                    ),
                )
            })?;
            if source != Source::Inspector {
                return Err(Field("source", "only an inspector acts on defects".into()));
            }
            let target = match (self.defect, position) {
                (Some(id), None) => Target::Defect(id),
                (None, Some(position)) => Target::Position(position, kind),
                _ => {
                    return Err(Field(
                        "defect",
                        "an action names a defect id or a lat/lon, not both".into(),
                    ));
                }
            };
            return Ok(Record::Action(Action {
                t: self.t,
                device: self.device,
                action,
                target,
            }));
        }
        if let Some(path) = self.path {
            if kind.is_some() || position.is_some() {
                return Err(Field(
                    "path",
                    "a pass has a path and no kind or lat/lon".into(),
                ));
            }
            if !matches!(source, Source::Vehicle | Source::Camera | Source::Phone) {
                return Err(Field(
                    "source",
                    "passes come from vehicles and phones".into(),
                ));
            }
            let path = points("path", &path)?;
            if path.len() < 2 {
                return Err(Field("path", "needs at least 2 points".into()));
            }
            return Ok(Record::Pass(Pass {
                t: self.t,
                source,
                device: self.device,
                citizen: self.citizen,
                path,
            }));
        }
        let kind = kind.ok_or_else(|| {
            Field(
                "kind",
                "missing (an observation names a defect kind)".into(),
            )
        })?;
        let position = position.ok_or_else(|| Field("lat/lon", "missing".into()))?;
        let severity = match self.severity.as_deref() {
            Some(s) => s
                .parse::<Severity>()
                .map_err(|e| Field("severity", e.to_string()))?,
            None => return Err(Field("severity", "missing (light, medium or heavy)".into())),
        };
        let confidence = self.confidence.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&confidence) {
            return Err(Field(
                "confidence",
                format!("{confidence} is not in [0, 1]"),
            ));
        }
        let accuracy_m = self.accuracy_m.unwrap_or(match source {
            Source::Phone => 5.0,
            _ => 1.0,
        });
        if !(0.0..=10_000.0).contains(&accuracy_m) {
            return Err(Field(
                "accuracy_m",
                format!("{accuracy_m} is not a distance in metres"),
            ));
        }
        let outline = self
            .outline
            .map(|outline| points("outline", &outline))
            .transpose()?;
        if outline.as_ref().is_some_and(|o| o.len() < 3) {
            return Err(Field("outline", "needs at least 3 points".into()));
        }
        Ok(Record::Observation(Observation {
            t: self.t,
            position,
            source,
            device: self.device,
            citizen: self.citizen,
            kind,
            severity,
            confidence,
            accuracy_m,
            outline,
        }))
    }
}

fn points(field: &'static str, raw: &[[f64; 2]]) -> Result<Vec<Wgs84>, RecordError> {
    if raw.len() > MAX_POINTS {
        return Err(RecordError::Field(
            field,
            format!("{} points, at most {MAX_POINTS}", raw.len()),
        ));
    }
    raw.iter()
        .map(|&[lon, lat]| {
            Wgs84::new(lat, lon).map_err(|e| RecordError::Field(field, e.to_string()))
        })
        .collect()
}

/// Why a line is not a record.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecordError {
    /// The line is longer than `MAX_LINE_BYTES`.
    #[error("line of {0} bytes is longer than {MAX_LINE_BYTES}")]
    TooLong(usize),
    /// Not a JSON object of the record's fields.
    #[error("{0}")]
    Json(String),
    /// A field has a value that cannot be used.
    #[error("field {0}: {1}")]
    Field(&'static str, String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(line: &str, expected: &str) {
        let got = match Record::from_json_line(line) {
            Ok(record) => format!("{record:?}"),
            Err(error) => format!("error: {error}"),
        };
        assert!(
            got.contains(expected),
            "{line}\n got: {got}\n expected to contain: {expected}"
        );
    }

    #[test]
    fn records_round_trip_through_json_lines() {
        let lines = [
            r#"{"t":1763800000,"lat":30.27,"lon":120.16,"source":"camera","device":"c1","kind":"rutting","severity":"heavy","confidence":0.8,"accuracy_m":0.5,"outline":[[120.16,30.27],[120.1601,30.27],[120.1601,30.2701]]}"#,
            r#"{"t":1763800000,"source":"inspector","device":"i1","action":"verified","lat":30.27,"lon":120.16,"kind":"pothole"}"#,
            r#"{"t":1763800000,"source":"phone","device":"p1","citizen":"c9","path":[[120.16,30.27],[120.17,30.27]]}"#,
            // Found by the engine_record fuzz target: more digits than f64 holds must round the same
            // way when read again (serde_json's float_roundtrip).
            r#"{"t":1793500000,"lat":30.27,"lon":12,"source":"camera","device":"c1","kind":"rutting","severity":"heavy","outline":[[120.1611111111111111111111111111111111111111111111111111111111111111,30.27],[120.1601,30.27],[120.1601,30.2701]]}"#,
        ];
        for line in lines {
            let record = Record::from_json_line(line).unwrap();
            assert_eq!(
                Record::from_json_line(&record.to_json_line()).unwrap(),
                record
            );
        }
    }

    #[test]
    fn records_decode_or_name_the_bad_field() {
        check(
            r#"{"t":1763800000,"lat":30.27,"lon":120.16,"source":"phone","device":"p1","kind":"pothole","severity":"medium","confidence":0.8,"accuracy_m":4}"#,
            "Observation(Observation { t: 1763800000.0",
        );
        check(
            r#"{"t":1763800000,"source":"inspector","device":"i1","action":"repaired","defect":7}"#,
            "Defect(7)",
        );
        check(
            r#"{"t":1763800000,"source":"vehicle","device":"v1","path":[[120.16,30.27],[120.17,30.27]]}"#,
            "Pass(Pass",
        );
        check(
            r#"{"t":1763800000000,"lat":30.27,"lon":120.16,"source":"phone","device":"p1","kind":"pothole","severity":"light"}"#,
            "error: field t: 1763800000000 is not a Unix time",
        );
        check(
            r#"{"t":1763800000,"lat":30.27,"lon":120.16,"source":"drone","device":"p1","kind":"pothole","severity":"light"}"#,
            "error: field source: \"drone\"",
        );
        check(
            r#"{"t":1763800000,"lat":91,"lon":120.16,"source":"phone","device":"p1","kind":"pothole","severity":"light"}"#,
            "error: field lat/lon: latitude 91",
        );
        check(
            r#"{"t":1763800000,"lat":30.27,"lon":120.16,"source":"phone","device":"p1","kind":"crater","severity":"light"}"#,
            "error: field kind: unknown defect kind \"crater\"",
        );
        check(
            r#"{"t":1763800000,"lat":30.27,"lon":120.16,"source":"phone","device":"p1","kind":"pothole"}"#,
            "error: field severity: missing",
        );
        check(
            r#"{"t":1763800000,"lat":30.27,"lon":120.16,"source":"phone","device":"p1","kind":"pothole","severity":"light","confidence":1.5}"#,
            "error: field confidence: 1.5 is not in [0, 1]",
        );
        check(
            r#"{"t":1763800000,"lat":30.27,"lon":120.16,"source":"phone","device":"p1","kind":"pothole","severity":"light","colour":"red"}"#,
            "error: unknown field `colour`",
        );
        check(
            r#"{"t":1763800000,"source":"phone","device":"p1","action":"repaired","defect":1}"#,
            "error: field source: only an inspector",
        );
        check("[1,2]", "error: invalid length");
        check(
            &format!("{{\"t\":1,\"pad\":\"{}\"}}", "x".repeat(MAX_LINE_BYTES)),
            "error: line of",
        );
    }
}
