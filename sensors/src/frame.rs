//! Live vehicle streams: newline-delimited JSON frames, one object per line, told apart by `type`:
//!
//! ```text
//! {"type":"imu","t":1700000000.02,"ax":0.1,"ay":-0.2,"az":9.8,"gx":0.01,"gy":0.0,"gz":0.0}
//! {"type":"gnss","t":1700000000.0,"lat":30.25,"lon":120.15,"speed":12.5,"hacc":3.0}
//! {"type":"detection","t":1700000000.1,"kind":"pothole","severity":"medium","confidence":0.92,
//!  "outline":[{"lat":30.25,"lon":120.15},{"lat":30.25001,"lon":120.15},{"lat":30.25001,"lon":120.15001}]}
//! ```
//!
//! Units as in the trace CSV; `gx`/`gy`/`gz`, `speed`, `hacc` and `severity` are optional; unknown keys
//! are ignored. Positions are in the stream's datum (or a frame's own `"datum": "gcj02"`), WGS84 after
//! decoding. Times must not go backwards within each type of frame. A bad line is rejected on its own.

use grid::{DefectKind, Severity, Wgs84};
use serde_json::{Map, Value};

use crate::error::{Error, Problem, check_range};
use crate::trace::{Datum, DecodeConfig, Decoded, Lines, Sample, Trace, to_wgs84};

/// One decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// An inertial sample.
    Imu {
        /// Unix seconds.
        t: f64,
        /// Acceleration, device frame, m/s², gravity included.
        accel: [f64; 3],
        /// Angular rate, rad/s, when given.
        gyro: Option<[f64; 3]>,
    },
    /// A GNSS fix.
    Gnss {
        /// Unix seconds.
        t: f64,
        /// WGS84 position.
        position: Wgs84,
        /// Speed over ground, m/s, when given.
        speed: Option<f64>,
        /// Horizontal accuracy, m, when given.
        hacc: Option<f64>,
    },
    /// A defect seen by an on-board camera or lidar.
    Detection {
        /// Unix seconds.
        t: f64,
        /// The kind of defect.
        kind: DefectKind,
        /// Its severity, when the device grades it.
        severity: Option<Severity>,
        /// The device's confidence, in [0, 1].
        confidence: f64,
        /// The defect's outline on the road surface (at least one point), WGS84.
        outline: Vec<Wgs84>,
    },
}

const MAX_OUTLINE_POINTS: usize = 1000;

/// Decodes an NDJSON stream of frames.
pub fn decode_frames(input: &[u8], config: &DecodeConfig) -> Result<Decoded<Vec<Frame>>, Error> {
    let mut frames = Vec::new();
    let mut rejected = Vec::new();
    let mut last_t = [f64::NEG_INFINITY; 3];
    let config = DecodeConfig {
        // A detection's outline makes longer lines than a CSV row.
        max_line_bytes: config.max_line_bytes.max(64 * 1024),
        ..*config
    };
    for item in Lines::new(input, &config)? {
        let (line, text) = match item {
            Ok(found) => found,
            Err(error) => {
                rejected.push(error);
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        match decode_frame(line, text, config.datum, &mut last_t) {
            Ok(frame) => frames.push(frame),
            Err(error) => rejected.push(error),
        }
    }
    if frames.is_empty() {
        return Err(rejected
            .into_iter()
            .next()
            .unwrap_or(Error::Empty { what: "no frame" }));
    }
    Ok(Decoded {
        value: frames,
        rejected,
    })
}

fn decode_frame(
    line: usize,
    text: &str,
    datum: Datum,
    last_t: &mut [f64; 3],
) -> Result<Frame, Error> {
    let value: Value = serde_json::from_str(text).map_err(|error| Error::Line {
        line,
        reason: format!("not a JSON object: {error}"),
    })?;
    let Value::Object(object) = value else {
        return Err(Error::Line {
            line,
            reason: "not a JSON object".to_owned(),
        });
    };
    let fields = Fields {
        line,
        object: &object,
    };
    let kind = fields.string("type")?;
    let slot = match kind {
        "imu" => 0,
        "gnss" => 1,
        "detection" => 2,
        other => {
            return Err(Error::field(
                line,
                "type",
                Problem::Unexpected(format!(
                    "unknown frame type {other:?} (imu, gnss or detection)"
                )),
            ));
        }
    };
    let t = fields.number("t", 0.0, 1.0e11)?;
    if t < last_t[slot] {
        return Err(Error::field(
            line,
            "t",
            Problem::TimeBackwards {
                time: t,
                previous: last_t[slot],
            },
        ));
    }
    let frame = match slot {
        0 => Frame::Imu {
            t,
            accel: [
                fields.number("ax", -2000.0, 2000.0)?,
                fields.number("ay", -2000.0, 2000.0)?,
                fields.number("az", -2000.0, 2000.0)?,
            ],
            gyro: match (
                fields.optional("gx", -200.0, 200.0)?,
                fields.optional("gy", -200.0, 200.0)?,
                fields.optional("gz", -200.0, 200.0)?,
            ) {
                (Some(x), Some(y), Some(z)) => Some([x, y, z]),
                _ => None,
            },
        },
        1 => Frame::Gnss {
            t,
            position: fields.position(&object, datum)?,
            speed: fields.optional("speed", 0.0, 150.0)?,
            hacc: fields.optional("hacc", 0.0, 100_000.0)?,
        },
        _ => {
            let kind_name = fields.string("kind")?;
            let kind = kind_name.parse::<DefectKind>().map_err(|error| {
                Error::field(line, "kind", Problem::Unexpected(error.to_string()))
            })?;
            let severity = match object.get("severity") {
                None | Some(Value::Null) => None,
                Some(_) => Some(fields.string("severity")?.parse::<Severity>().map_err(
                    |error| Error::field(line, "severity", Problem::Unexpected(error.to_string())),
                )?),
            };
            let confidence = fields.number("confidence", 0.0, 1.0)?;
            let Some(Value::Array(points)) = object.get("outline") else {
                return Err(Error::field(
                    line,
                    "outline",
                    Problem::Unexpected(
                        "an array of {\"lat\", \"lon\"} objects is required".into(),
                    ),
                ));
            };
            if points.is_empty() || points.len() > MAX_OUTLINE_POINTS {
                return Err(Error::field(
                    line,
                    "outline",
                    Problem::Unexpected(format!(
                        "{} points; an outline has 1 to {MAX_OUTLINE_POINTS}",
                        points.len()
                    )),
                ));
            }
            let mut outline = Vec::with_capacity(points.len());
            for point in points {
                let Value::Object(point) = point else {
                    return Err(Error::field(
                        line,
                        "outline",
                        Problem::Unexpected("a point is not a {\"lat\", \"lon\"} object".into()),
                    ));
                };
                outline.push(fields.position(point, datum)?);
            }
            Frame::Detection {
                t,
                kind,
                severity,
                confidence,
                outline,
            }
        }
    };
    last_t[slot] = t;
    Ok(frame)
}

/// Field access on one frame's object, with errors that name the line and the key.
struct Fields<'a> {
    line: usize,
    object: &'a Map<String, Value>,
}

impl Fields<'_> {
    fn string(&self, key: &str) -> Result<&str, Error> {
        match self.object.get(key) {
            Some(Value::String(text)) => Ok(text),
            None | Some(Value::Null) => Err(Error::field(self.line, key, Problem::Required)),
            Some(other) => Err(Error::field(
                self.line,
                key,
                Problem::Unexpected(format!("expected a string, found {other}")),
            )),
        }
    }

    fn optional_in(
        &self,
        object: &Map<String, Value>,
        key: &str,
        min: f64,
        max: f64,
    ) -> Result<Option<f64>, Error> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(number)) => {
                let value = number.as_f64().unwrap_or(f64::NAN);
                check_range(self.line, key, value, min, max).map(Some)
            }
            // NaN and infinities cannot be JSON numbers; devices that send them as strings are told so.
            Some(Value::String(text)) => Err(Error::field(
                self.line,
                key,
                match text.parse::<f64>() {
                    Ok(value) if !value.is_finite() => Problem::NotFinite(value),
                    _ => Problem::NotANumber(text.clone()),
                },
            )),
            Some(other) => Err(Error::field(
                self.line,
                key,
                Problem::NotANumber(other.to_string()),
            )),
        }
    }

    fn optional(&self, key: &str, min: f64, max: f64) -> Result<Option<f64>, Error> {
        self.optional_in(self.object, key, min, max)
    }

    fn number(&self, key: &str, min: f64, max: f64) -> Result<f64, Error> {
        self.optional(key, min, max)?
            .ok_or_else(|| Error::field(self.line, key, Problem::Required))
    }

    fn position(&self, object: &Map<String, Value>, datum: Datum) -> Result<Wgs84, Error> {
        let lat = self
            .optional_in(object, "lat", -90.0, 90.0)?
            .ok_or_else(|| Error::field(self.line, "lat", Problem::Required))?;
        let lon = self
            .optional_in(object, "lon", -180.0, 180.0)?
            .ok_or_else(|| Error::field(self.line, "lon", Problem::Required))?;
        let datum = match self.object.get("datum") {
            None | Some(Value::Null) => datum,
            Some(Value::String(name)) if name.eq_ignore_ascii_case("wgs84") => Datum::Wgs84,
            Some(Value::String(name)) if name.eq_ignore_ascii_case("gcj02") => Datum::Gcj02,
            Some(other) => {
                return Err(Error::field(
                    self.line,
                    "datum",
                    Problem::Unexpected(format!("{other} is not \"wgs84\" or \"gcj02\"")),
                ));
            }
        };
        to_wgs84(self.line, lat, lon, datum)
    }
}

/// A trace from a stream's frames: one sample per `imu` frame, with the latest `gnss` fix at or before
/// it (and its speed). Fails when the stream has no `imu` frame.
pub fn frames_to_trace(frames: &[Frame]) -> Result<Trace, Error> {
    let mut fixes: Vec<(f64, Wgs84, Option<f64>, Option<f64>)> = frames
        .iter()
        .filter_map(|frame| match frame {
            Frame::Gnss {
                t,
                position,
                speed,
                hacc,
            } => Some((*t, *position, *speed, *hacc)),
            _ => None,
        })
        .collect();
    fixes.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut samples: Vec<Sample> = frames
        .iter()
        .filter_map(|frame| match frame {
            Frame::Imu { t, accel, gyro } => Some(Sample {
                t: *t,
                position: None,
                speed: None,
                accel: *accel,
                gyro: *gyro,
                hacc: None,
            }),
            _ => None,
        })
        .collect();
    samples.sort_by(|a, b| a.t.total_cmp(&b.t));
    for sample in &mut samples {
        let index = fixes.partition_point(|fix| fix.0 <= sample.t);
        if let Some(&(_, position, speed, hacc)) = index.checked_sub(1).and_then(|i| fixes.get(i)) {
            sample.position = Some(position);
            sample.speed = speed;
            sample.hacc = hacc;
        }
    }
    Trace::new(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<Decoded<Vec<Frame>>, Error> {
        decode_frames(text.as_bytes(), &DecodeConfig::default())
    }

    #[test]
    fn decodes_the_three_kinds() {
        let text = r#"{"type":"gnss","t":10.0,"lat":30.25,"lon":120.15,"speed":12.5}
{"type":"imu","t":10.02,"ax":0.1,"ay":-0.2,"az":9.8,"extra":"ignored"}
{"type":"detection","t":10.1,"kind":"manhole_cover","confidence":0.92,"outline":[{"lat":30.25,"lon":120.15}]}
"#;
        let decoded = decode(text).unwrap();
        assert!(decoded.rejected.is_empty(), "{:?}", decoded.rejected);
        assert_eq!(decoded.value.len(), 3);
        assert!(matches!(
            decoded.value[2],
            Frame::Detection {
                kind: DefectKind::ManholeCover,
                severity: None,
                ..
            }
        ));
        let trace = frames_to_trace(&decoded.value).unwrap();
        assert_eq!(trace.samples()[0].speed, Some(12.5));
        assert!(trace.samples()[0].position.is_some());
    }

    #[test]
    fn bad_frames_name_line_and_field() {
        let text = r#"{"type":"imu","t":1,"ax":0,"ay":0,"az":9.8}
{"type":"imu","t":0.5,"ax":0,"ay":0,"az":9.8}
{"type":"imu","t":2,"ax":"NaN","ay":0,"az":9.8}
{"type":"imu","t":3,"ax":0,"ay":0}
{"type":"gnss","t":3,"lat":95,"lon":0}
{"type":"radar","t":3}
not json
{"type":"detection","t":4,"kind":"crater","confidence":0.5,"outline":[]}
{"type":"detection","t":4,"kind":"pothole","confidence":1.5,"outline":[]}
[1,2]
"#;
        let decoded = decode(text).unwrap();
        let messages: Vec<String> = decoded.rejected.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages[0],
            "line 2, field `t`: time goes backwards: 0.5 after 1"
        );
        assert_eq!(
            messages[1],
            "line 3, field `ax`: NaN is not a finite number"
        );
        assert_eq!(messages[2], "line 4, field `az`: value is required");
        assert_eq!(messages[3], "line 5, field `lat`: 95 is outside [-90, 90]");
        assert!(messages[4].starts_with("line 6, field `type`: unknown frame type \"radar\""));
        assert!(messages[5].starts_with("line 7: not a JSON object"));
        assert_eq!(
            messages[6],
            "line 8, field `kind`: unknown defect kind \"crater\""
        );
        assert_eq!(
            messages[7],
            "line 9, field `confidence`: 1.5 is outside [0, 1]"
        );
        assert_eq!(messages[8], "line 10: not a JSON object");
        assert_eq!(messages.len(), 9);
    }

    #[test]
    fn a_stream_without_imu_frames_makes_no_trace() {
        let decoded = decode(r#"{"type":"gnss","t":1,"lat":30,"lon":120}"#).unwrap();
        assert!(frames_to_trace(&decoded.value).is_err());
    }

    #[test]
    fn gcj02_frames_are_converted() {
        let text = r#"{"type":"gnss","t":1,"lat":31.17530398364597,"lon":121.531541859215,"datum":"gcj02"}"#;
        let decoded = decode(text).unwrap();
        let Frame::Gnss { position, .. } = decoded.value[0] else {
            panic!("not a gnss frame: {:?}", decoded.value[0]);
        };
        assert!((position.lat() - 31.1774276).abs() < 1e-9);
    }
}
