//! Longitudinal elevation profiles: two columns, distance in metres and elevation, separated by a comma or
//! whitespace, with an optional header line and `#` comments.

use crate::error::{Error, Problem, check_range};
use crate::trace::{DecodeConfig, Decoded, Lines};

/// The unit of a profile's elevation column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ElevationUnit {
    /// Metres.
    #[default]
    Metre,
    /// Millimetres.
    Millimetre,
}

/// A longitudinal profile. Invariant: at least two points, distances strictly increasing, all finite.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    distance_m: Vec<f64>,
    elevation_m: Vec<f64>,
}

impl Profile {
    /// A profile from distances (m) and elevations (m); checks the invariant.
    pub fn new(distance_m: Vec<f64>, elevation_m: Vec<f64>) -> Result<Profile, Error> {
        if distance_m.len() != elevation_m.len() {
            return Err(Error::invalid(
                "profile",
                "distance and elevation differ in length",
            ));
        }
        if distance_m.len() < 2 {
            return Err(Error::Empty {
                what: "a profile needs at least two points",
            });
        }
        for (index, (x, y)) in distance_m.iter().zip(&elevation_m).enumerate() {
            check_range(index + 1, "distance", *x, -MAX_DISTANCE, MAX_DISTANCE)?;
            check_range(index + 1, "elevation", *y, -MAX_ELEVATION, MAX_ELEVATION)?;
            if index > 0 && *x <= distance_m[index - 1] {
                return Err(not_increasing(index + 1, *x, distance_m[index - 1]));
            }
        }
        Ok(Profile {
            distance_m,
            elevation_m,
        })
    }

    /// Distances along the profile, in metres.
    pub fn distance_m(&self) -> &[f64] {
        &self.distance_m
    }

    /// Elevations, in metres.
    pub fn elevation_m(&self) -> &[f64] {
        &self.elevation_m
    }
}

const MAX_DISTANCE: f64 = 1.0e9;
const MAX_ELEVATION: f64 = 1.0e5;

fn not_increasing(line: usize, x: f64, previous: f64) -> Error {
    Error::field(
        line,
        "distance",
        Problem::Unexpected(format!(
            "distance {x} does not increase (previous point at {previous})"
        )),
    )
}

/// Decodes a profile. A line that cannot be read is rejected on its own; fewer than two good points fail.
pub fn decode_profile(
    input: &[u8],
    unit: ElevationUnit,
    config: &DecodeConfig,
) -> Result<Decoded<Profile>, Error> {
    let scale = match unit {
        ElevationUnit::Metre => 1.0,
        ElevationUnit::Millimetre => 0.001,
    };
    let mut distance_m = Vec::new();
    let mut elevation_m = Vec::new();
    let mut rejected = Vec::new();
    let mut seen_first_line = false;
    for item in Lines::new(input, config)? {
        let (line, text) = match item {
            Ok(found) => found,
            Err(error) => {
                rejected.push(error);
                continue;
            }
        };
        let text = text.split('#').next().unwrap_or("").trim();
        if text.is_empty() {
            continue;
        }
        let mut fields = text
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|field| !field.is_empty());
        let first = fields.next().unwrap_or("");
        let second = fields.next();
        let is_first_line = !seen_first_line;
        seen_first_line = true;
        if is_first_line && first.parse::<f64>().is_err() {
            continue; // a header line
        }
        let row = (|| {
            let second =
                second.ok_or_else(|| Error::field(line, "elevation", Problem::Required))?;
            if fields.next().is_some() {
                return Err(Error::Line {
                    line,
                    reason: "more than two fields (distance, elevation)".to_owned(),
                });
            }
            let x = parse(line, "distance", first)?;
            let x = check_range(line, "distance", x, -MAX_DISTANCE, MAX_DISTANCE)?;
            let y = parse(line, "elevation", second)? * scale;
            let y = check_range(line, "elevation", y, -MAX_ELEVATION, MAX_ELEVATION)?;
            if let Some(&previous) = distance_m.last()
                && x <= previous
            {
                return Err(not_increasing(line, x, previous));
            }
            Ok((x, y))
        })();
        match row {
            Ok((x, y)) => {
                distance_m.push(x);
                elevation_m.push(y);
            }
            Err(error) => rejected.push(error),
        }
    }
    if distance_m.len() < 2 {
        return Err(rejected.into_iter().next().unwrap_or(Error::Empty {
            what: "a profile needs at least two points",
        }));
    }
    Ok(Decoded {
        value: Profile {
            distance_m,
            elevation_m,
        },
        rejected,
    })
}

fn parse(line: usize, field: &str, text: &str) -> Result<f64, Error> {
    text.parse::<f64>()
        .map_err(|_| Error::field(line, field, Problem::NotANumber(text.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str, unit: ElevationUnit) -> Result<Decoded<Profile>, Error> {
        decode_profile(text.as_bytes(), unit, &DecodeConfig::default())
    }

    #[test]
    fn reads_comma_and_whitespace_with_header_and_comments() {
        let text = "distance_m,elevation_mm\n# start\n0,0\n0.25 2.5\n0.5\t5 # note\n";
        let decoded = decode(text, ElevationUnit::Millimetre).unwrap();
        assert_eq!(decoded.value.distance_m(), [0.0, 0.25, 0.5]);
        assert_eq!(decoded.value.elevation_m(), [0.0, 0.0025, 0.005]);
        assert!(decoded.rejected.is_empty());
    }

    #[test]
    fn bad_lines_are_rejected_with_line_and_field() {
        let text = "0,0\n1,NaN\n1,x\n-1,1\n2\n3,1,2\n4,1\n";
        let decoded = decode(text, ElevationUnit::Metre).unwrap();
        let messages: Vec<String> = decoded.rejected.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "line 2, field `elevation`: NaN is not a finite number",
                "line 3, field `elevation`: \"x\" is not a number",
                "line 4, field `distance`: distance -1 does not increase (previous point at 0)",
                "line 5, field `elevation`: value is required",
                "line 6: more than two fields (distance, elevation)",
            ]
        );
        assert_eq!(decoded.value.distance_m(), [0.0, 4.0]);
    }

    #[test]
    fn fewer_than_two_points_fail() {
        assert!(decode("x,y\n1,2\n", ElevationUnit::Metre).is_err());
        assert!(decode("", ElevationUnit::Metre).is_err());
    }
}
