//! `sensors` turns what devices send into observations that `grid` can place on cells.
#![deny(missing_docs)]

mod error;
mod iri;
mod profile;
mod trace;

pub use error::{Error, Problem};
pub use iri::{IriSegment, iri_segments};
pub use profile::{ElevationUnit, Profile, decode_profile};
pub use trace::{Datum, DecodeConfig, Decoded, Sample, Trace, decode_trace};
