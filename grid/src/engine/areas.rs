//! Maintenance units' and traffic police's areas: named polygons, decoded from GeoJSON.

use geo::{Contains, Coord, LineString, Point, Polygon};
use geojson::{FeatureCollection, GeometryValue, JsonValue};

use crate::coord::Wgs84;

/// Who an area belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AreaRole {
    /// A maintenance unit that repairs defects in its area.
    Maintenance,
    /// A traffic police area notified of hazards on major roads.
    Police,
}

/// One named area.
#[derive(Debug, Clone)]
pub struct Area {
    /// Its name, such as a unit's name.
    pub name: String,
    /// Its role.
    pub role: AreaRole,
    polygons: Vec<Polygon<f64>>,
}

/// All areas. With no maintenance area at all, the whole city is one unit named `city`.
#[derive(Debug, Clone, Default)]
pub struct Areas {
    areas: Vec<Area>,
}

/// The unit every defect goes to when no maintenance areas are configured.
pub const CITY_UNIT: &str = "city";

impl Areas {
    /// Decodes a FeatureCollection of Polygons / MultiPolygons with properties `name` and `role`
    /// (`maintenance` or `police`).
    pub fn from_geojson(text: &str) -> Result<Areas, AreaError> {
        let collection: FeatureCollection = text.parse().map_err(|e: geojson::Error| {
            AreaError(format!("not a GeoJSON FeatureCollection: {e}"))
        })?;
        let mut areas = Vec::new();
        for (index, feature) in collection.features.iter().enumerate() {
            let bad = |why: String| AreaError(format!("area feature {index}: {why}"));
            let property = |key: &str| {
                feature
                    .properties
                    .as_ref()
                    .and_then(|p| p.get(key))
                    .and_then(JsonValue::as_str)
            };
            let name = property("name")
                .filter(|n| !n.is_empty())
                .ok_or_else(|| bad("needs a name".into()))?;
            let role = match property("role") {
                Some("maintenance") => AreaRole::Maintenance,
                Some("police") => AreaRole::Police,
                other => return Err(bad(format!("role {other:?} is not maintenance or police"))),
            };
            let geometry = feature
                .geometry
                .as_ref()
                .ok_or_else(|| bad("has no geometry".into()))?;
            let rings_list: Vec<&Vec<Vec<geojson::Position>>> = match &geometry.value {
                GeometryValue::Polygon { coordinates } => vec![coordinates],
                GeometryValue::MultiPolygon { coordinates } => coordinates.iter().collect(),
                other => {
                    return Err(bad(format!(
                        "geometry is a {}, expected Polygon or MultiPolygon",
                        other.type_name()
                    )));
                }
            };
            let mut polygons = Vec::new();
            for rings in rings_list {
                let mut converted = Vec::new();
                for ring in rings {
                    let mut coords = Vec::new();
                    for position in ring {
                        let &[lon, lat, ..] = position.as_slice() else {
                            return Err(bad("a position needs longitude and latitude".into()));
                        };
                        Wgs84::new(lat, lon).map_err(|e| bad(e.to_string()))?;
                        coords.push(Coord { x: lon, y: lat });
                    }
                    if coords.len() < 4 {
                        return Err(bad("a ring needs at least 4 positions".into()));
                    }
                    converted.push(LineString::new(coords));
                }
                let mut rings = converted.into_iter();
                let exterior = rings
                    .next()
                    .ok_or_else(|| bad("a polygon needs a ring".into()))?;
                polygons.push(Polygon::new(exterior, rings.collect()));
            }
            areas.push(Area {
                name: name.to_owned(),
                role,
                polygons,
            });
        }
        Ok(Areas { areas })
    }

    /// The maintenance unit whose area holds a position: the first in file order; `city` when no
    /// maintenance areas exist; `None` when areas exist and none holds it.
    pub fn maintenance_unit(&self, position: Wgs84) -> Option<&str> {
        if !self.areas.iter().any(|a| a.role == AreaRole::Maintenance) {
            return Some(CITY_UNIT);
        }
        self.holding(position, AreaRole::Maintenance).next()
    }

    /// The police areas that hold a position.
    pub fn police(&self, position: Wgs84) -> Vec<String> {
        self.holding(position, AreaRole::Police)
            .map(str::to_owned)
            .collect()
    }

    fn holding(&self, position: Wgs84, role: AreaRole) -> impl Iterator<Item = &str> {
        let point = Point::new(position.lon(), position.lat());
        self.areas
            .iter()
            .filter(move |a| a.role == role && a.polygons.iter().any(|p| p.contains(&point)))
            .map(|a| a.name.as_str())
    }
}

/// An areas file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad areas: {0}")]
pub struct AreaError(String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_police_by_position() {
        let text = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","properties":{"name":"拱墅区养护一队","role":"maintenance"},"geometry":{"type":"Polygon","coordinates":[[[120.1,30.2],[120.2,30.2],[120.2,30.3],[120.1,30.3],[120.1,30.2]]]}},
          {"type":"Feature","properties":{"name":"交警三大队","role":"police"},"geometry":{"type":"Polygon","coordinates":[[[120.15,30.2],[120.2,30.2],[120.2,30.3],[120.15,30.3],[120.15,30.2]]]}}]}"#;
        let areas = Areas::from_geojson(text).unwrap();
        let inside = Wgs84::new(30.25, 120.17).unwrap();
        assert_eq!(areas.maintenance_unit(inside), Some("拱墅区养护一队"));
        assert_eq!(areas.police(inside), vec!["交警三大队".to_owned()]);
        let west = Wgs84::new(30.25, 120.12).unwrap();
        assert!(areas.police(west).is_empty());
        assert_eq!(
            areas.maintenance_unit(Wgs84::new(31.0, 121.0).unwrap()),
            None
        );
        assert_eq!(Areas::default().maintenance_unit(inside), Some(CITY_UNIT));
        let bad = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"x","role":"army"},"geometry":null}]}"#;
        assert_eq!(
            Areas::from_geojson(bad).unwrap_err().to_string(),
            "bad areas: area feature 0: role Some(\"army\") is not maintenance or police"
        );
    }
}
