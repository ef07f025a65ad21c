//! The crate's one error type. A decoder error names the line (1-based, as an editor shows it) and the
//! field, so that a person can find and fix the bad value.

use std::fmt;

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The input is larger than the decoder accepts.
    #[error("input is {size} bytes, more than the limit of {limit} bytes")]
    Oversize {
        /// The size of the input in bytes.
        size: usize,
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The input holds no header line, or nothing after it.
    #[error("input is empty: {what}")]
    Empty {
        /// What was expected and not found.
        what: &'static str,
    },
    /// A column that the format requires is absent from the header.
    #[error("line {line}: missing column `{column}`")]
    MissingColumn {
        /// The header's line number.
        line: usize,
        /// The name of the missing column.
        column: &'static str,
    },
    /// One field of one line is not acceptable.
    #[error("line {line}, field `{field}`: {problem}")]
    Field {
        /// 1-based line number.
        line: usize,
        /// The column or JSON key.
        field: String,
        /// What is wrong with the value.
        problem: Problem,
    },
    /// A whole line is not acceptable (bad JSON, wrong number of fields, too long).
    #[error("line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        reason: String,
    },
    /// A setting or argument that cannot be used (a rate of zero, a segment length of zero, ...).
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The setting.
        what: &'static str,
        /// Why it cannot be used.
        reason: String,
    },
    /// A stored model (learned parameters) that does not fit the code that reads it.
    #[error("model: {0}")]
    Model(String),
}

/// What is wrong with one field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// The field is empty but required.
    Required,
    /// The text is not a number.
    NotANumber(String),
    /// NaN or an infinity.
    NotFinite(f64),
    /// A number outside the range that the field allows.
    OutOfRange {
        /// The value found.
        value: f64,
        /// The smallest value allowed.
        min: f64,
        /// The largest value allowed.
        max: f64,
    },
    /// A time earlier than the line before it.
    TimeBackwards {
        /// The time on this line.
        time: f64,
        /// The time on the last accepted line.
        previous: f64,
    },
    /// A value of the wrong kind (a name that is not known, a string where a number belongs).
    Unexpected(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Required => write!(f, "value is required"),
            Problem::NotANumber(text) => write!(f, "{text:?} is not a number"),
            Problem::NotFinite(value) => write!(f, "{value} is not a finite number"),
            Problem::OutOfRange { value, min, max } => {
                write!(f, "{value} is outside [{min}, {max}]")
            }
            Problem::TimeBackwards { time, previous } => {
                write!(f, "time goes backwards: {time} after {previous}")
            }
            Problem::Unexpected(what) => write!(f, "{what}"),
        }
    }
}

impl Error {
    pub(crate) fn field(line: usize, field: &str, problem: Problem) -> Error {
        Error::Field {
            line,
            field: field.to_owned(),
            problem,
        }
    }

    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Error {
        Error::Invalid {
            what,
            reason: reason.into(),
        }
    }
}

/// Checks that a number is finite and within `[min, max]`.
pub(crate) fn check_range(
    line: usize,
    field: &str,
    value: f64,
    min: f64,
    max: f64,
) -> Result<f64, Error> {
    if !value.is_finite() {
        return Err(Error::field(line, field, Problem::NotFinite(value)));
    }
    if !(min..=max).contains(&value) {
        return Err(Error::field(
            line,
            field,
            Problem::OutOfRange { value, min, max },
        ));
    }
    Ok(value)
}
