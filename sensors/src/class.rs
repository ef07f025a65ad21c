//! The classes of road events that sensors tell apart, and the grid defect kind each one evidences.

use std::fmt;
use std::str::FromStr;

use grid::DefectKind;

use crate::error::{Error, Problem};

/// What a stretch of vertical acceleration shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventClass {
    /// A hole: the wheel drops, then strikes the far edge.
    Pothole,
    /// A rise in the asphalt: a hump, shoving, a speed bump.
    AsphaltBump,
    /// A metal edge: a manhole cover or frame, an expansion joint, a plate.
    MetalBump,
    /// A rough stretch: worn or broken surface over some distance.
    Rough,
    /// Smooth road: nothing to report.
    Smooth,
}

impl EventClass {
    /// Every class, in a fixed order (the order of the window classifier's model).
    pub const ALL: [EventClass; 5] = [
        EventClass::Pothole,
        EventClass::AsphaltBump,
        EventClass::MetalBump,
        EventClass::Rough,
        EventClass::Smooth,
    ];

    /// The stable wire name: `pothole`, `asphalt_bump`, `metal_bump`, `rough`, `smooth`.
    pub fn name(self) -> &'static str {
        match self {
            EventClass::Pothole => "pothole",
            EventClass::AsphaltBump => "asphalt_bump",
            EventClass::MetalBump => "metal_bump",
            EventClass::Rough => "rough",
            EventClass::Smooth => "smooth",
        }
    }

    /// The grid defect kind that an event of this class is evidence of (none for smooth road).
    /// A bump in the asphalt is shoving (波浪拥包); a metal bump is most often a manhole frame that
    /// stands proud of the surface (路框差); a rough stretch is loss of surface (松散/剥落).
    pub fn defect_kind(self) -> Option<DefectKind> {
        match self {
            EventClass::Pothole => Some(DefectKind::Pothole),
            EventClass::AsphaltBump => Some(DefectKind::Shoving),
            EventClass::MetalBump => Some(DefectKind::ManholeFrame),
            EventClass::Rough => Some(DefectKind::Raveling),
            EventClass::Smooth => None,
        }
    }
}

impl fmt::Display for EventClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EventClass {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventClass::ALL
            .into_iter()
            .find(|class| class.name() == s)
            .ok_or_else(|| {
                Error::field(
                    0,
                    "class",
                    Problem::Unexpected(format!("unknown class {s:?}")),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for class in EventClass::ALL {
            assert_eq!(class.name().parse::<EventClass>().unwrap(), class);
        }
        assert!("hole".parse::<EventClass>().is_err());
        assert_eq!(EventClass::Smooth.defect_kind(), None);
    }
}
