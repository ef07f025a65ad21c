//! The canonical trace CSV (DESIGN.md "Sensor input"): one row per accelerometer sample, columns found by
//! header name, optional columns, gravity included.
//!
//! A comment line before the header may state the datum of the positions (`# datum: gcj02`); it wins
//! over the configured one.
//!
//! Structural problems (oversize input, no header, a missing required column) fail the whole input. A bad
//! row (NaN, a value out of range, time going backwards, a half position) is rejected on its own and
//! reported, so that a long drive with one glitch is "accepted with these rejected lines".

use grid::{Gcj02, Wgs84};

use crate::error::{Error, Problem, check_range};

/// The datum of the positions in an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Datum {
    /// WGS84, as GNSS receivers report it.
    #[default]
    Wgs84,
    /// GCJ-02, as Chinese map apps report it; converted to WGS84 on decoding.
    Gcj02,
}

/// Limits and settings of the decoders.
#[derive(Debug, Clone, Copy)]
pub struct DecodeConfig {
    /// The datum of the input's positions (they are always WGS84 after decoding).
    pub datum: Datum,
    /// The largest input accepted, in bytes.
    pub max_bytes: usize,
    /// The longest line accepted, in bytes.
    pub max_line_bytes: usize,
}

impl Default for DecodeConfig {
    fn default() -> Self {
        DecodeConfig {
            datum: Datum::Wgs84,
            max_bytes: 256 * 1024 * 1024,
            max_line_bytes: 4096,
        }
    }
}

/// A decoded value and the lines that were rejected on the way.
#[derive(Debug, Clone)]
pub struct Decoded<T> {
    /// What was decoded from the acceptable lines.
    pub value: T,
    /// One error per rejected line, in input order.
    pub rejected: Vec<Error>,
}

/// One accelerometer sample of a trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Unix time in seconds.
    pub t: f64,
    /// The GNSS position at this sample, WGS84, when there was a fix.
    pub position: Option<Wgs84>,
    /// Speed over ground in m/s, when the device reported it.
    pub speed: Option<f64>,
    /// Acceleration in the device frame, m/s², gravity included.
    pub accel: [f64; 3],
    /// Angular rate in the device frame, rad/s, when reported.
    pub gyro: Option<[f64; 3]>,
    /// Horizontal accuracy of the position in metres, when reported.
    pub hacc: Option<f64>,
}

/// A decoded trace. Invariant: at least one sample; times never decrease.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    samples: Vec<Sample>,
}

impl Trace {
    /// A trace from samples; fails when there are none or when time goes backwards.
    pub fn new(samples: Vec<Sample>) -> Result<Trace, Error> {
        if samples.is_empty() {
            return Err(Error::Empty { what: "no samples" });
        }
        for (index, pair) in samples.windows(2).enumerate() {
            if pair[1].t < pair[0].t {
                return Err(Error::field(
                    index + 2,
                    "t",
                    Problem::TimeBackwards {
                        time: pair[1].t,
                        previous: pair[0].t,
                    },
                ));
            }
        }
        Ok(Trace { samples })
    }

    /// The samples, in time order.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// The median sampling rate in Hz (0 when the trace has a single instant).
    pub fn rate_hz(&self) -> f64 {
        let mut steps: Vec<f64> = self
            .samples
            .windows(2)
            .map(|pair| pair[1].t - pair[0].t)
            .filter(|dt| *dt > 0.0)
            .collect();
        if steps.is_empty() {
            return 0.0;
        }
        let middle = steps.len() / 2;
        let (_, median, _) = steps.select_nth_unstable_by(middle, f64::total_cmp);
        1.0 / *median
    }
}

/// The columns of the trace CSV that the decoder reads.
#[derive(Debug, Clone, Copy)]
enum Column {
    T,
    Lat,
    Lon,
    Speed,
    Ax,
    Ay,
    Az,
    Gx,
    Gy,
    Gz,
    Hacc,
}

const COLUMNS: [(Column, &str); 11] = [
    (Column::T, "t"),
    (Column::Lat, "lat"),
    (Column::Lon, "lon"),
    (Column::Speed, "speed"),
    (Column::Ax, "ax"),
    (Column::Ay, "ay"),
    (Column::Az, "az"),
    (Column::Gx, "gx"),
    (Column::Gy, "gy"),
    (Column::Gz, "gz"),
    (Column::Hacc, "hacc"),
];
const REQUIRED: [Column; 4] = [Column::T, Column::Ax, Column::Ay, Column::Az];

/// Physical limits: values beyond them are not road measurements but broken devices.
const MAX_ACCEL: f64 = 2000.0; // about 200 g
const MAX_GYRO: f64 = 200.0; // rad/s
const MAX_SPEED: f64 = 150.0; // m/s
const MAX_HACC: f64 = 100_000.0; // m
const MAX_TIME: f64 = 1.0e11; // Unix seconds, about the year 5138

/// Decodes a trace CSV.
pub fn decode_trace(input: &[u8], config: &DecodeConfig) -> Result<Decoded<Trace>, Error> {
    let mut lines = Lines::new(input, config)?;
    let mut datum = config.datum;
    let (header_line, header) = loop {
        match lines.next() {
            None => {
                return Err(Error::Empty {
                    what: "no header line",
                });
            }
            Some(Err(error)) => return Err(error),
            Some(Ok((line, text))) if is_blank_or_comment(text) => {
                if let Some(stated) = stated_datum(line, text)? {
                    datum = stated;
                }
            }
            Some(Ok(found)) => break found,
        }
    };
    let mut index = [usize::MAX; 11];
    for (position, name) in header.split(',').enumerate() {
        let name = unquote(name.trim()).to_ascii_lowercase();
        if let Some((column, _)) = COLUMNS.iter().find(|(_, known)| *known == name)
            && index[*column as usize] == usize::MAX
        {
            index[*column as usize] = position;
        }
    }
    for column in REQUIRED {
        if index[column as usize] == usize::MAX {
            return Err(Error::MissingColumn {
                line: header_line,
                column: COLUMNS[column as usize].1,
            });
        }
    }

    let mut samples = Vec::with_capacity(input.len() / 64);
    let mut rejected = Vec::new();
    let mut previous_t = f64::NEG_INFINITY;
    let mut fields: Vec<&str> = Vec::with_capacity(16);
    for item in lines {
        let (line, text) = match item {
            Ok(found) => found,
            Err(error) => {
                rejected.push(error);
                continue;
            }
        };
        if is_blank_or_comment(text) {
            continue;
        }
        fields.clear();
        fields.extend(text.split(','));
        match decode_row(line, &fields, &index, previous_t, datum) {
            Ok(sample) => {
                previous_t = sample.t;
                samples.push(sample);
            }
            Err(error) => rejected.push(error),
        }
    }
    if samples.is_empty() {
        return Err(rejected.into_iter().next().unwrap_or(Error::Empty {
            what: "no sample after the header",
        }));
    }
    Ok(Decoded {
        value: Trace { samples },
        rejected,
    })
}

fn decode_row(
    line: usize,
    fields: &[&str],
    index: &[usize; 11],
    previous_t: f64,
    datum: Datum,
) -> Result<Sample, Error> {
    let get = |column: Column| -> Result<Option<f64>, Error> {
        let name = COLUMNS[column as usize].1;
        let text = match fields.get(index[column as usize]) {
            Some(text) => unquote(text.trim()),
            None => return Ok(None),
        };
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<f64>()
            .map(Some)
            .map_err(|_| Error::field(line, name, Problem::NotANumber(text.to_owned())))
    };
    let required = |column: Column, min: f64, max: f64| -> Result<f64, Error> {
        let name = COLUMNS[column as usize].1;
        let value = get(column)?.ok_or_else(|| Error::field(line, name, Problem::Required))?;
        check_range(line, name, value, min, max)
    };
    let optional = |column: Column, min: f64, max: f64| -> Result<Option<f64>, Error> {
        let name = COLUMNS[column as usize].1;
        get(column)?
            .map(|value| check_range(line, name, value, min, max))
            .transpose()
    };

    let t = required(Column::T, 0.0, MAX_TIME)?;
    if t < previous_t {
        return Err(Error::field(
            line,
            "t",
            Problem::TimeBackwards {
                time: t,
                previous: previous_t,
            },
        ));
    }
    let accel = [
        required(Column::Ax, -MAX_ACCEL, MAX_ACCEL)?,
        required(Column::Ay, -MAX_ACCEL, MAX_ACCEL)?,
        required(Column::Az, -MAX_ACCEL, MAX_ACCEL)?,
    ];
    let lat = optional(Column::Lat, -90.0, 90.0)?;
    let lon = optional(Column::Lon, -180.0, 180.0)?;
    let position = match (lat, lon) {
        (Some(lat), Some(lon)) => Some(to_wgs84(line, lat, lon, datum)?),
        (None, None) => None,
        (Some(_), None) => return Err(Error::field(line, "lon", Problem::Required)),
        (None, Some(_)) => return Err(Error::field(line, "lat", Problem::Required)),
    };
    let speed = optional(Column::Speed, 0.0, MAX_SPEED)?;
    let gyro = match (
        optional(Column::Gx, -MAX_GYRO, MAX_GYRO)?,
        optional(Column::Gy, -MAX_GYRO, MAX_GYRO)?,
        optional(Column::Gz, -MAX_GYRO, MAX_GYRO)?,
    ) {
        (Some(x), Some(y), Some(z)) => Some([x, y, z]),
        _ => None,
    };
    let hacc = optional(Column::Hacc, 0.0, MAX_HACC)?;
    Ok(Sample {
        t,
        position,
        speed,
        accel,
        gyro,
        hacc,
    })
}

/// A checked WGS84 position from a latitude and longitude in the input's datum.
pub(crate) fn to_wgs84(line: usize, lat: f64, lon: f64, datum: Datum) -> Result<Wgs84, Error> {
    let position = match datum {
        Datum::Wgs84 => Wgs84::new(lat, lon),
        Datum::Gcj02 => Gcj02::new(lat, lon).map(Gcj02::to_wgs84),
    };
    position.map_err(|error| Error::field(line, "lat", Problem::Unexpected(error.to_string())))
}

/// The datum that a comment before the header states (`# datum: gcj02` or `# datum=wgs84`), if any.
fn stated_datum(line: usize, text: &str) -> Result<Option<Datum>, Error> {
    let comment = text.trim().trim_start_matches('#').trim();
    let Some(rest) = comment.strip_prefix("datum") else {
        return Ok(None);
    };
    let name = rest.trim_start().trim_start_matches([':', '=']).trim();
    match name.to_ascii_lowercase().as_str() {
        "wgs84" => Ok(Some(Datum::Wgs84)),
        "gcj02" | "gcj-02" => Ok(Some(Datum::Gcj02)),
        _ => Err(Error::field(
            line,
            "datum",
            Problem::Unexpected(format!("{name:?} is not wgs84 or gcj02")),
        )),
    }
}

fn is_blank_or_comment(text: &str) -> bool {
    let text = text.trim();
    text.is_empty() || text.starts_with('#')
}

fn unquote(text: &str) -> &str {
    text.strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or(text)
}

/// The lines of a text input with their 1-based numbers; checks size, line length and UTF-8.
pub(crate) struct Lines<'a> {
    rest: &'a [u8],
    number: usize,
    max_line_bytes: usize,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(input: &'a [u8], config: &DecodeConfig) -> Result<Lines<'a>, Error> {
        if input.len() > config.max_bytes {
            return Err(Error::Oversize {
                size: input.len(),
                limit: config.max_bytes,
            });
        }
        let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
        Ok(Lines {
            rest: input,
            number: 0,
            max_line_bytes: config.max_line_bytes,
        })
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Result<(usize, &'a str), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        self.number += 1;
        let end = self
            .rest
            .iter()
            .position(|&byte| byte == b'\n')
            .unwrap_or(self.rest.len());
        let raw = &self.rest[..end];
        self.rest = self.rest.get(end + 1..).unwrap_or(&[]);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.len() > self.max_line_bytes {
            return Some(Err(Error::Line {
                line: self.number,
                reason: format!(
                    "line is {} bytes, more than the limit of {}",
                    raw.len(),
                    self.max_line_bytes
                ),
            }));
        }
        Some(
            std::str::from_utf8(raw)
                .map(|text| (self.number, text))
                .map_err(|_| Error::Line {
                    line: self.number,
                    reason: "not valid UTF-8".to_owned(),
                }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<Decoded<Trace>, Error> {
        decode_trace(text.as_bytes(), &DecodeConfig::default())
    }

    fn rejected(text: &str) -> Vec<String> {
        decode(text)
            .unwrap()
            .rejected
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    const HEADER: &str = "t,lat,lon,speed,ax,ay,az,gx,gy,gz,hacc\n";

    #[test]
    fn reads_columns_by_name_in_any_order_and_ignores_unknown_ones() {
        let decoded = decode("az,extra,t,ax,ay,lon,lat\n9.8,x,10.5,0.1,0.2,120.1,30.2\n").unwrap();
        let sample = decoded.value.samples()[0];
        assert_eq!(sample.t, 10.5);
        assert_eq!(sample.accel, [0.1, 0.2, 9.8]);
        let position = sample.position.unwrap();
        assert_eq!((position.lat(), position.lon()), (30.2, 120.1));
        assert_eq!(sample.speed, None);
        assert!(decoded.rejected.is_empty());
    }

    #[test]
    fn empty_position_and_optional_columns_are_none() {
        let decoded = decode(&format!("{HEADER}1.0,,,,0,0,9.8,,,,\n")).unwrap();
        let sample = decoded.value.samples()[0];
        assert_eq!(sample.position, None);
        assert_eq!(sample.gyro, None);
        assert_eq!(sample.hacc, None);
    }

    #[test]
    fn bad_rows_are_rejected_with_line_and_field() {
        let text = format!(
            "{HEADER}1.0,30,120,5,0,0,9.8,,,,\n2.0,30,120,5,NaN,0,9.8,,,,\n\
             3.0,95,120,5,0,0,9.8,,,,\n0.5,30,120,5,0,0,9.8,,,,\n4.0,30,,5,0,0,9.8,,,,\n\
             5.0,30,120,5,0,abc,9.8,,,,\n6.0,30,120,5,0,0,inf,,,,\n"
        );
        assert_eq!(
            rejected(&text),
            [
                "line 3, field `ax`: NaN is not a finite number",
                "line 4, field `lat`: 95 is outside [-90, 90]",
                "line 5, field `t`: time goes backwards: 0.5 after 1",
                "line 6, field `lon`: value is required",
                "line 7, field `ay`: \"abc\" is not a number",
                "line 8, field `az`: inf is not a finite number",
            ]
        );
    }

    #[test]
    fn structural_problems_fail_the_whole_input() {
        let missing = decode("t,lat,lon,ax,ay\n1,2,3,4,5\n").unwrap_err();
        assert_eq!(missing.to_string(), "line 1: missing column `az`");
        assert_eq!(
            decode("").unwrap_err().to_string(),
            "input is empty: no header line"
        );
        let config = DecodeConfig {
            max_bytes: 10,
            ..DecodeConfig::default()
        };
        let oversize = decode_trace(HEADER.as_bytes(), &config).unwrap_err();
        assert_eq!(
            oversize.to_string(),
            "input is 39 bytes, more than the limit of 10 bytes"
        );
        let all_bad = decode(&format!("{HEADER}1.0,,,,x,0,9.8,,,,\n")).unwrap_err();
        assert_eq!(
            all_bad.to_string(),
            "line 2, field `ax`: \"x\" is not a number"
        );
    }

    #[test]
    fn gcj02_positions_are_converted_to_wgs84() {
        let text = "t,lat,lon,ax,ay,az\n1,31.17530398364597,121.531541859215,0,0,9.8\n";
        let config = DecodeConfig {
            datum: Datum::Gcj02,
            ..DecodeConfig::default()
        };
        let decoded = decode_trace(text.as_bytes(), &config).unwrap();
        let position = decoded.value.samples()[0].position.unwrap();
        assert!((position.lat() - 31.1774276).abs() < 1e-9);
        assert!((position.lon() - 121.5272106).abs() < 1e-9);
    }

    #[test]
    fn a_comment_before_the_header_states_the_datum() {
        let text =
            "# datum: gcj02\nt,lat,lon,ax,ay,az\n1,31.17530398364597,121.531541859215,0,0,9.8\n";
        let position = decode(text).unwrap().value.samples()[0].position.unwrap();
        assert!((position.lat() - 31.1774276).abs() < 1e-9);
        let unknown = decode("# datum=bd09\nt,ax,ay,az\n1,0,0,9.8\n").unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "line 1, field `datum`: \"bd09\" is not wgs84 or gcj02"
        );
    }

    #[test]
    fn crlf_bom_quotes_and_comments_are_accepted() {
        let decoded =
            decode("\u{feff}# a comment\r\n\"t\",\"ax\",\"ay\",\"az\"\r\n1,0,0,9.8\r\n").unwrap();
        assert_eq!(decoded.value.samples().len(), 1);
        assert!(decoded.rejected.is_empty());
    }

    #[test]
    fn rate_is_the_median_step() {
        let trace =
            decode("t,ax,ay,az\n0,0,0,9.8\n0.1,0,0,9.8\n0.2,0,0,9.8\n0.2,0,0,9.8\n0.35,0,0,9.8\n")
                .unwrap()
                .value;
        assert!((trace.rate_hz() - 10.0).abs() < 1e-9);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Any text decodes to a trace or an error, never a panic; what is accepted keeps the invariant.
        #[test]
        fn decoding_never_panics_and_keeps_time_order(body in "[0-9a-zA-Z.,\\-+ \n]{0,400}") {
            let text = format!("t,lat,lon,speed,ax,ay,az\n{body}");
            if let Ok(decoded) = decode_trace(text.as_bytes(), &DecodeConfig::default()) {
                let samples = decoded.value.samples();
                prop_assert!(!samples.is_empty());
                prop_assert!(samples.windows(2).all(|pair| pair[0].t <= pair[1].t));
                prop_assert!(samples.iter().all(|s| s.accel.iter().all(|a| a.is_finite())));
            }
        }
    }
}
