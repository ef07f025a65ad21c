//! Window files for the classifier: one column of vertical acceleration `az` in m/s² (a header line
//! naming the column is optional; with several columns, the header must name `az`).

use crate::error::{Error, Problem, check_range};
use crate::trace::{DecodeConfig, Decoded, Lines};

const MAX_ACCEL: f64 = 2000.0;

/// Decodes a window file into its `az` values. Bad lines are rejected one by one.
pub fn decode_window(input: &[u8], config: &DecodeConfig) -> Result<Decoded<Vec<f64>>, Error> {
    let mut column = 0;
    let mut header_seen = false;
    let mut values = Vec::new();
    let mut rejected = Vec::new();
    for item in Lines::new(input, config)? {
        let (line, text) = match item {
            Ok(found) => found,
            Err(error) => {
                rejected.push(error);
                continue;
            }
        };
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = text.split(',').map(str::trim).collect();
        if !header_seen {
            header_seen = true;
            if fields.iter().any(|f| f.parse::<f64>().is_err()) {
                match fields
                    .iter()
                    .position(|f| f.trim_matches('"').eq_ignore_ascii_case("az"))
                {
                    Some(found) => column = found,
                    None if fields.len() == 1 => column = 0,
                    None => return Err(Error::MissingColumn { line, column: "az" }),
                }
                continue;
            }
            if fields.len() > 1 {
                return Err(Error::MissingColumn { line, column: "az" });
            }
        }
        let row = match fields.get(column) {
            None => Err(Error::field(line, "az", Problem::Required)),
            Some(&"") => Err(Error::field(line, "az", Problem::Required)),
            Some(text) => text
                .parse::<f64>()
                .map_err(|_| Error::field(line, "az", Problem::NotANumber((*text).to_owned())))
                .and_then(|v| check_range(line, "az", v, -MAX_ACCEL, MAX_ACCEL)),
        };
        match row {
            Ok(value) => values.push(value),
            Err(error) => rejected.push(error),
        }
    }
    if values.is_empty() {
        return Err(rejected.into_iter().next().unwrap_or(Error::Empty {
            what: "no `az` value",
        }));
    }
    Ok(Decoded {
        value: values,
        rejected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<Decoded<Vec<f64>>, Error> {
        decode_window(text.as_bytes(), &DecodeConfig::default())
    }

    #[test]
    fn reads_one_column_with_or_without_header() {
        assert_eq!(decode("az\n9.8\n10.1\n").unwrap().value, [9.8, 10.1]);
        assert_eq!(decode("9.8\n10.1\n").unwrap().value, [9.8, 10.1]);
        assert_eq!(
            decode("t,az\n0,9.8\n0.02,10.1\n").unwrap().value,
            [9.8, 10.1]
        );
    }

    #[test]
    fn bad_values_are_rejected_with_their_line() {
        let decoded = decode("az\n9.8\nNaN\nx\n\n1e9\n").unwrap();
        let messages: Vec<String> = decoded.rejected.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "line 3, field `az`: NaN is not a finite number",
                "line 4, field `az`: \"x\" is not a number",
                "line 6, field `az`: 1000000000 is outside [-2000, 2000]",
            ]
        );
        assert!(decode("t,ax\n1,2\n").is_err());
        assert!(decode("az\n").is_err());
    }
}
