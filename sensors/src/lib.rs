//! `sensors` turns what devices send into observations that `grid` can place on cells.
//!
//! - Decoders: [`decode_trace`] (the canonical trace CSV), [`decode_frames`] (live NDJSON frames),
//!   [`decode_profile`] (longitudinal profiles), [`decode_window`] (classifier windows). Each rejects bad
//!   lines with an [`Error`] naming line and field, and never panics; positions may be WGS84 or GCJ-02
//!   ([`Datum`]) and are WGS84 after decoding.
//! - [`orient`]: device axes to vertical / forward / lateral; [`Track`]: position, speed and heading
//!   from GNSS.
//! - [`Detector`]: road events ([`Event`]: pothole, asphalt bump, metal bump, rough) with severity,
//!   confidence and position; [`Baseline`]: the threshold detectors of Mednis et al. (2011).
//! - [`WindowClassifier`]: the class of a short window of vertical acceleration.
//! - [`iri_segments`]: IRI of a profile (golden car, ASTM E1926); [`roughness_segments`]: IRI estimated
//!   from an accelerometer trace.
//! - [`train`], [`Model`]: the small softmax models whose parameters ship in `sensors/model/`;
//!   [`Counts`], [`Confusion`]: scoring.
//!
//! ```
//! use sensors::{DecodeConfig, Detector, decode_trace};
//!
//! let csv = "t,lat,lon,speed,ax,ay,az\n0.0,30.25,120.15,10,0.1,0.0,9.8\n0.1,30.25,120.15,10,0.0,0.1,9.8\n";
//! let trace = decode_trace(csv.as_bytes(), &DecodeConfig::default()).unwrap().value;
//! let events = Detector::shipped().unwrap().detect(&trace);
//! assert!(events.is_empty()); // a smooth fifth of a second
//! ```
#![deny(missing_docs)]

mod baseline;
mod class;
mod classify;
mod detect;
mod error;
mod frame;
mod iri;
mod learn;
mod orient;
mod profile;
mod roughness;
mod score;
mod synthetic;
mod trace;
mod track;
mod window;

pub use baseline::{Baseline, BaselineEvent, BaselineSignal};
pub use class::EventClass;
pub use classify::{MODEL_RATE_HZ, WINDOW_FEATURES, WindowClassifier, window_features};
pub use detect::{CANDIDATE_FEATURES, Candidate, Detector, Event, candidates};
pub use error::{Error, Problem};
pub use frame::{Frame, decode_frames, frames_to_trace};
pub use iri::{IriSegment, iri_segments};
pub use learn::{Model, TrainConfig, train};
pub use orient::{Oriented, orient};
pub use profile::{ElevationUnit, Profile, decode_profile};
pub use roughness::{RoughnessSegment, calibration_factor, roughness_segments};
pub use score::{Confusion, Counts, match_by_distance, match_by_time};
pub use synthetic::pothole_impact;
pub use trace::{Datum, DecodeConfig, Decoded, Sample, Trace, decode_trace};
pub use track::{Fix, Track, distance_m};
pub use window::decode_window;
