//! The road network: segments (centrelines between intersections) with their names, classes and widths,
//! decoded from GeoJSON.

use geojson::{FeatureCollection, GeometryValue, JsonObject, JsonValue};

use crate::coord::Wgs84;

/// The largest road width we believe, in metres: wider values are data errors (an eight-lane road with
/// shoulders is about 40 m).
const MAX_WIDTH_M: f64 = 100.0;

/// Lane width used to turn a `lanes` count into a width (CJJ 37-2012 gives 3.5 m for a general lane).
pub const LANE_WIDTH_M: f64 = 3.5;

/// A road network: the segments of one city, in the order of the file.
#[derive(Debug, Clone)]
pub struct RoadNetwork {
    segments: Vec<Segment>,
}

impl RoadNetwork {
    /// Decodes a GeoJSON FeatureCollection of LineStrings and MultiLineStrings.
    ///
    /// Each feature is one segment; a MultiLineString's parts share the segment. The segment id is the
    /// `seg_id` property when present (unique, non-negative), else the feature's index.
    pub fn from_geojson(text: &str) -> Result<RoadNetwork, NetworkError> {
        let collection: FeatureCollection = text
            .parse()
            .map_err(|e: geojson::Error| NetworkError::NotGeoJson(e.to_string()))?;
        let mut segments = Vec::with_capacity(collection.features.len());
        let mut seen_ids = std::collections::HashSet::new();
        for (index, feature) in collection.features.iter().enumerate() {
            let at = |problem: FeatureProblem| NetworkError::Feature { index, problem };
            let empty = JsonObject::new();
            let properties = feature.properties.as_ref().unwrap_or(&empty);
            let id = match properties.get("seg_id") {
                None | Some(JsonValue::Null) => index as u32,
                Some(value) => value
                    .as_u64()
                    .and_then(|id| u32::try_from(id).ok())
                    .ok_or_else(|| at(FeatureProblem::BadProperty("seg_id", value.to_string())))?,
            };
            if !seen_ids.insert(id) {
                return Err(at(FeatureProblem::DuplicateId(id)));
            }
            let geometry = feature
                .geometry
                .as_ref()
                .ok_or_else(|| at(FeatureProblem::NoGeometry))?;
            let parts = match &geometry.value {
                GeometryValue::LineString { coordinates } => vec![coordinates],
                GeometryValue::MultiLineString { coordinates } => coordinates.iter().collect(),
                other => return Err(at(FeatureProblem::WrongGeometry(other.type_name()))),
            };
            let mut lines = Vec::with_capacity(parts.len());
            for part in parts {
                let mut line = Vec::with_capacity(part.len());
                for position in part {
                    // geojson checks position length for some geometries only: check it ourselves.
                    let &[lon, lat, ..] = position.as_slice() else {
                        return Err(at(FeatureProblem::ShortPosition(position.len())));
                    };
                    let point =
                        Wgs84::new(lat, lon).map_err(|e| at(FeatureProblem::Coordinate(e)))?;
                    line.push(point);
                }
                if line.len() < 2 {
                    return Err(at(FeatureProblem::TooFewPoints(line.len())));
                }
                lines.push(line);
            }
            let class = RoadClass::of_properties(properties);
            let width_m = width_of(properties, class).map_err(at)?;
            segments.push(Segment {
                id,
                name: string_property(properties, "name"),
                reference: string_property(properties, "ref"),
                class,
                width_m,
                lines,
            });
        }
        if segments.is_empty() {
            return Err(NetworkError::Empty);
        }
        Ok(RoadNetwork { segments })
    }

    /// The segments, in the order of the file.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Keeps only the segments that have a point inside `bbox`.
    pub fn retain_in(&mut self, bbox: &BoundingBox) -> Result<(), NetworkError> {
        self.segments
            .retain(|segment| segment.points().any(|point| bbox.contains(point)));
        if self.segments.is_empty() {
            return Err(NetworkError::EmptyBox);
        }
        Ok(())
    }

    /// The first position of the network, which chooses its UTM zone.
    pub fn first_position(&self) -> Wgs84 {
        // Invariant: never empty, and every line has at least two points.
        self.segments[0].lines[0][0]
    }
}

/// A piece of road between two intersections, with everything needed to rasterise its surface.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// The segment's id: the `seg_id` property, else the feature index.
    pub id: u32,
    /// The road's name (may be empty).
    pub name: String,
    /// The road's reference number, such as a route number (may be empty).
    pub reference: String,
    /// The class that sets the default width.
    pub class: RoadClass,
    /// Width of the road surface, in metres.
    pub width_m: f64,
    /// The centreline: one or more lines, each of at least two points.
    pub lines: Vec<Vec<Wgs84>>,
}

impl Segment {
    fn points(&self) -> impl Iterator<Item = Wgs84> + '_ {
        self.lines.iter().flatten().copied()
    }
}

/// The class of a road, which sets its default width. Derived from OSM's `highway` tag when present,
/// else from the routing speed of the shipped network (see docs/GRID.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoadClass {
    /// Service roads and alleys (15 km/h routing speed).
    Service,
    /// Residential streets (25 km/h).
    Residential,
    /// Tertiary roads (40 km/h).
    Tertiary,
    /// Secondary roads (55 km/h).
    Secondary,
    /// Primary roads (65 km/h).
    Primary,
    /// Trunk roads and motorways (85 km/h).
    Trunk,
}

impl RoadClass {
    /// Every class, smallest first.
    pub const ALL: [RoadClass; 6] = [
        RoadClass::Service,
        RoadClass::Residential,
        RoadClass::Tertiary,
        RoadClass::Secondary,
        RoadClass::Primary,
        RoadClass::Trunk,
    ];

    /// The class's name.
    pub fn name(self) -> &'static str {
        match self {
            RoadClass::Service => "service",
            RoadClass::Residential => "residential",
            RoadClass::Tertiary => "tertiary",
            RoadClass::Secondary => "secondary",
            RoadClass::Primary => "primary",
            RoadClass::Trunk => "trunk",
        }
    }

    /// The routing speed that the shipped network gives this class by default, in km/h.
    pub fn routing_speed_kmh(self) -> f64 {
        match self {
            RoadClass::Service => 15.0,
            RoadClass::Residential => 25.0,
            RoadClass::Tertiary => 40.0,
            RoadClass::Secondary => 55.0,
            RoadClass::Primary => 65.0,
            RoadClass::Trunk => 85.0,
        }
    }

    /// Default lanes of a road of this class: (two-way road, one carriageway of a one-way piece).
    ///
    /// One-way pieces are mostly one carriageway of a dual road, so they get about half the lanes.
    pub fn default_lanes(self) -> (f64, f64) {
        match self {
            RoadClass::Service => (1.0, 1.0),
            RoadClass::Residential => (2.0, 1.0),
            RoadClass::Tertiary => (2.0, 2.0),
            RoadClass::Secondary => (4.0, 2.0),
            RoadClass::Primary => (6.0, 3.0),
            RoadClass::Trunk => (6.0, 3.0),
        }
    }

    /// The default width of the road surface, in metres, when neither `width` nor `lanes` is given.
    pub fn default_width_m(self, one_way: bool) -> f64 {
        let (two_way, one_way_lanes) = self.default_lanes();
        let lanes = if one_way { one_way_lanes } else { two_way };
        match self {
            // A service road or alley is narrower than a lane per direction but wider than one lane.
            RoadClass::Service if !one_way => 4.5,
            _ => lanes * LANE_WIDTH_M,
        }
    }

    fn of_properties(properties: &JsonObject) -> RoadClass {
        if let Some(class) = properties
            .get("highway")
            .and_then(JsonValue::as_str)
            .and_then(RoadClass::of_highway_tag)
        {
            return class;
        }
        let classes = properties.get("classes").and_then(JsonValue::as_array);
        if classes.is_some_and(|c| c.iter().any(|v| v.as_str() == Some("motorway"))) {
            return RoadClass::Trunk;
        }
        let speed = ["fwd_speed_kmh", "bwd_speed_kmh"]
            .iter()
            .filter_map(|key| properties.get(*key).and_then(JsonValue::as_f64))
            .filter(|speed| speed.is_finite())
            .fold(f64::NAN, f64::max);
        if speed.is_nan() {
            return RoadClass::Residential;
        }
        RoadClass::nearest_to_speed(speed)
    }

    /// The class whose default routing speed is nearest to `speed_kmh`.
    pub fn nearest_to_speed(speed_kmh: f64) -> RoadClass {
        let mut best = RoadClass::Service;
        for class in RoadClass::ALL {
            if (class.routing_speed_kmh() - speed_kmh).abs()
                < (best.routing_speed_kmh() - speed_kmh).abs()
            {
                best = class;
            }
        }
        best
    }

    fn of_highway_tag(tag: &str) -> Option<RoadClass> {
        let tag = tag.strip_suffix("_link").unwrap_or(tag);
        Some(match tag {
            "motorway" | "trunk" => RoadClass::Trunk,
            "primary" => RoadClass::Primary,
            "secondary" => RoadClass::Secondary,
            "tertiary" => RoadClass::Tertiary,
            "residential" | "unclassified" | "living_street" | "road" => RoadClass::Residential,
            "service" | "track" => RoadClass::Service,
            _ => return None,
        })
    }
}

fn is_one_way(properties: &JsonObject) -> bool {
    let forward = properties.get("forward").and_then(JsonValue::as_bool);
    let backward = properties.get("backward").and_then(JsonValue::as_bool);
    let oneway_tag = properties.get("oneway").and_then(JsonValue::as_str);
    matches!(
        (forward, backward),
        (Some(true), Some(false)) | (Some(false), Some(true))
    ) || matches!(oneway_tag, Some("yes" | "-1" | "true" | "1"))
}

/// The width of a segment: `width`, else `lanes` × 3.5 m, else the class default.
fn width_of(properties: &JsonObject, class: RoadClass) -> Result<f64, FeatureProblem> {
    if let Some(value) = properties.get("width").filter(|v| !v.is_null()) {
        let width = number_property(value)
            .filter(|w| *w > 0.0 && *w <= MAX_WIDTH_M)
            .ok_or_else(|| FeatureProblem::BadProperty("width", value.to_string()))?;
        return Ok(width);
    }
    if let Some(value) = properties.get("lanes").filter(|v| !v.is_null()) {
        let lanes = number_property(value)
            .filter(|l| *l >= 1.0 && *l * LANE_WIDTH_M <= MAX_WIDTH_M)
            .ok_or_else(|| FeatureProblem::BadProperty("lanes", value.to_string()))?;
        return Ok(lanes * LANE_WIDTH_M);
    }
    Ok(class.default_width_m(is_one_way(properties)))
}

/// A number, or a string that starts with one (OSM writes `"7.5"`, `"7 m"` and `"2;3"`).
fn number_property(value: &JsonValue) -> Option<f64> {
    let number = match value {
        JsonValue::Number(n) => n.as_f64()?,
        JsonValue::String(s) => {
            let head: String = s
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            head.parse().ok()?
        }
        _ => return None,
    };
    number.is_finite().then_some(number)
}

fn string_property(properties: &JsonObject, key: &str) -> String {
    properties
        .get(key)
        .and_then(JsonValue::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A WGS84 bounding box: `MINLON,MINLAT,MAXLON,MAXLAT` on the command line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    min: Wgs84,
    max: Wgs84,
}

impl BoundingBox {
    /// A box from its south-west and north-east corners.
    pub fn new(min: Wgs84, max: Wgs84) -> Result<BoundingBox, NetworkError> {
        if min.lat() > max.lat() || min.lon() > max.lon() {
            return Err(NetworkError::BadBox(format!(
                "{},{},{},{}: the minimum is above the maximum",
                min.lon(),
                min.lat(),
                max.lon(),
                max.lat()
            )));
        }
        Ok(BoundingBox { min, max })
    }

    /// Whether a position lies inside the box (edges included).
    pub fn contains(&self, position: Wgs84) -> bool {
        (self.min.lat()..=self.max.lat()).contains(&position.lat())
            && (self.min.lon()..=self.max.lon()).contains(&position.lon())
    }

    /// The south-west corner.
    pub fn min(&self) -> Wgs84 {
        self.min
    }

    /// The north-east corner.
    pub fn max(&self) -> Wgs84 {
        self.max
    }
}

impl std::str::FromStr for BoundingBox {
    type Err = NetworkError;

    /// Parses `MINLON,MINLAT,MAXLON,MAXLAT`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| NetworkError::BadBox(format!("{s:?}: {why}"));
        let numbers: Vec<f64> = s
            .split(',')
            .map(|part| part.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad("expected four numbers MINLON,MINLAT,MAXLON,MAXLAT"))?;
        let [min_lon, min_lat, max_lon, max_lat] = numbers[..] else {
            return Err(bad("expected four numbers MINLON,MINLAT,MAXLON,MAXLAT"));
        };
        let min = Wgs84::new(min_lat, min_lon).map_err(|e| bad(&e.to_string()))?;
        let max = Wgs84::new(max_lat, max_lon).map_err(|e| bad(&e.to_string()))?;
        BoundingBox::new(min, max)
    }
}

/// Why a road network could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NetworkError {
    /// The text is not a GeoJSON FeatureCollection.
    #[error("not a GeoJSON FeatureCollection: {0}")]
    NotGeoJson(String),
    /// One feature is unusable.
    #[error("feature {index}: {problem}")]
    Feature {
        /// The feature's index in the collection, from 0.
        index: usize,
        /// What is wrong with it.
        problem: FeatureProblem,
    },
    /// The collection has no features.
    #[error("the road network is empty: no LineString features")]
    Empty,
    /// A bounding box left no segment.
    #[error("no road segment lies inside the bounding box")]
    EmptyBox,
    /// A bounding box that cannot be used.
    #[error("bad bounding box {0}")]
    BadBox(String),
}

/// What is wrong with one feature of a road network.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeatureProblem {
    /// It has no geometry.
    #[error("has no geometry")]
    NoGeometry,
    /// Its geometry is not a LineString or MultiLineString.
    #[error("geometry is a {0}, expected LineString or MultiLineString")]
    WrongGeometry(&'static str),
    /// A position has fewer than two numbers.
    #[error("a position has {0} number(s), needs longitude and latitude")]
    ShortPosition(usize),
    /// A line of it has fewer than two points.
    #[error("a line has {0} point(s), needs at least 2")]
    TooFewPoints(usize),
    /// A coordinate is off the earth.
    #[error("coordinate out of range: {0}")]
    Coordinate(crate::coord::CoordError),
    /// A property has a value that cannot be used.
    #[error("property {0:?} has an unusable value {1}")]
    BadProperty(&'static str, String),
    /// Its `seg_id` is used by an earlier feature.
    #[error("seg_id {0} is used by an earlier feature")]
    DuplicateId(u32),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feature(properties: &str, geometry: &str) -> String {
        format!(
            r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{properties},"geometry":{geometry}}}]}}"#
        )
    }

    const LINE: &str = r#"{"type":"LineString","coordinates":[[120.16,30.27],[120.161,30.271]]}"#;

    fn check_error(text: &str, expected: &str) {
        let error = RoadNetwork::from_geojson(text).unwrap_err();
        assert_eq!(error.to_string(), expected);
    }

    fn width(properties: &str) -> f64 {
        RoadNetwork::from_geojson(&feature(properties, LINE))
            .unwrap()
            .segments()[0]
            .width_m
    }

    #[test]
    fn bad_files_get_clear_errors() {
        check_error(
            "hello",
            "not a GeoJSON FeatureCollection: Error while deserializing GeoJSON: expected value at line 1 column 1",
        );
        check_error(
            r#"{"type":"FeatureCollection","features":[]}"#,
            "the road network is empty: no LineString features",
        );
        check_error(
            &feature("{}", r#"{"type":"Point","coordinates":[120.1,30.2]}"#),
            "feature 0: geometry is a Point, expected LineString or MultiLineString",
        );
        check_error(
            &feature(
                "{}",
                r#"{"type":"LineString","coordinates":[[120.1,30.2],[120.1,95.0]]}"#,
            ),
            "feature 0: coordinate out of range: latitude 95 is not in [-90, 90]",
        );
        check_error(
            &feature(
                "{}",
                r#"{"type":"LineString","coordinates":[[120.1,30.2]]}"#,
            ),
            "feature 0: a line has 1 point(s), needs at least 2",
        );
        check_error(
            &feature(r#"{"width":-3}"#, LINE),
            "feature 0: property \"width\" has an unusable value -3",
        );
        check_error(
            &feature(r#"{"seg_id":"x"}"#, LINE),
            "feature 0: property \"seg_id\" has an unusable value \"x\"",
        );
        check_error(&feature("{}", "null"), "feature 0: has no geometry");
        // Found by the road_network fuzz target: a one-number position in a MultiLineString.
        check_error(
            &feature(
                "{}",
                r#"{"type":"MultiLineString","coordinates":[[[120.1,30.2],[120.2]]]}"#,
            ),
            "feature 0: a position has 1 number(s), needs longitude and latitude",
        );
    }

    #[test]
    fn width_comes_from_width_then_lanes_then_class() {
        assert_eq!(width(r#"{"width":"7.5 m","lanes":4}"#), 7.5);
        assert_eq!(width(r#"{"lanes":"4;3"}"#), 14.0);
        assert_eq!(
            width(r#"{"fwd_speed_kmh":65.1,"bwd_speed_kmh":65.1}"#),
            21.0
        );
        assert_eq!(
            width(r#"{"forward":true,"backward":false,"fwd_speed_kmh":64.9}"#),
            10.5
        );
        assert_eq!(width(r#"{"highway":"secondary_link"}"#), 14.0);
        assert_eq!(
            width(r#"{"classes":["motorway"],"fwd_speed_kmh":15}"#),
            21.0
        );
        assert_eq!(width("{}"), 7.0);
    }

    #[test]
    fn multilinestrings_are_one_segment() {
        let text = feature(
            r#"{"seg_id":7,"name":"湖滨路"}"#,
            r#"{"type":"MultiLineString","coordinates":[[[120.16,30.27],[120.161,30.271]],[[120.17,30.27],[120.171,30.271]]]}"#,
        );
        let network = RoadNetwork::from_geojson(&text).unwrap();
        let segment = &network.segments()[0];
        assert_eq!(
            (segment.id, segment.name.as_str(), segment.lines.len()),
            (7, "湖滨路", 2)
        );
    }

    #[test]
    fn bounding_boxes_parse_and_filter() {
        let bbox: BoundingBox = "120.15,30.26,120.165,30.275".parse().unwrap();
        let mut network = RoadNetwork::from_geojson(&feature("{}", LINE)).unwrap();
        network.retain_in(&bbox).unwrap();
        let far: BoundingBox = "0,0,1,1".parse().unwrap();
        assert_eq!(network.retain_in(&far), Err(NetworkError::EmptyBox));
        assert!("1,2,3".parse::<BoundingBox>().is_err());
        assert!("3,3,1,1".parse::<BoundingBox>().is_err());
    }
}
