//! The versioned rules file: every threshold, weight and constant the engine uses.
//!
//! The rules are a stored format on purpose (codes name the rules version that made them), so they
//! are read with serde; `Rules::default()` is the embedded `default_rules.toml`.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use serde::Deserialize;

use crate::defect::{DefectKind, Severity};
use crate::engine::pci::Grade;
use crate::network::RoadClass;

const DEFAULT_RULES: &str = include_str!("default_rules.toml");

/// The engine's rules, checked: every kind has weights in [0, 1], thresholds are in range.
#[derive(Debug, Clone, PartialEq, bevy_ecs::prelude::Resource)]
pub struct Rules {
    /// The version every code and change names, such as `roadcode-rules-2` (`intern`).
    pub version: &'static str,
    weights: [[f64; 3]; 16],
    hazards: Vec<(DefectKind, Severity)>,
    /// Code thresholds.
    pub codes: CodeRules,
    /// Trust thresholds.
    pub trust: TrustRules,
    /// How observations become defects.
    pub fusion: FusionRules,
    /// Lifecycle thresholds.
    pub lifecycle: LifecycleRules,
    police_classes: Vec<RoadClass>,
    /// PCI constants and grade bands.
    pub pci: PciRules,
    /// Citizen incentive points.
    pub points: PointRules,
}

/// Code thresholds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRules {
    /// Weight at which a confirmed defect makes its cells red.
    pub red_weight: f64,
    /// Weight at which a confirmed defect makes its cells yellow.
    pub yellow_weight: f64,
    #[serde(default)]
    hazards: Vec<RawHazard>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHazard {
    kind: String,
    from: String,
}

/// Trust thresholds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustRules {
    /// A vehicle or camera detection at this confidence or more confirms.
    pub vehicle_confidence: f64,
    /// Independent phones needed to confirm.
    pub phone_devices: usize,
    /// ...within this distance of the defect, metres...
    pub phone_radius_m: f64,
    /// ...and within this many days.
    pub phone_window_days: f64,
}

/// How observations become defects.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FusionRules {
    /// An observation joins an open defect of its kind within this distance, metres.
    pub radius_m: f64,
    /// Evidence less accurate than this is refused, metres.
    pub max_accuracy_m: f64,
    /// Positions this close to the road surface are snapped to it, metres.
    pub snap_m: f64,
    /// A point observation that joins a defect adds the cell under its position to the defect
    /// only when its accuracy is this good or better, metres: a vaguer position does not say
    /// which 1 m cell is damaged, and counting the cells its noise reaches would inflate the
    /// damaged area.
    pub extent_accuracy_m: f64,
}

/// Lifecycle thresholds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleRules {
    /// Patrol passes without a detection that make a red defect "possibly repaired".
    pub passes_to_possibly_repaired: u32,
    /// Half-width of the strip a patrol pass sees, metres.
    pub pass_half_width_m: f64,
}

/// PCI constants and grade bands.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PciRules {
    /// a0 of PCI = 100 − a0·DR^a1.
    pub a0: f64,
    /// a1 of PCI = 100 − a0·DR^a1.
    pub a1: f64,
    /// Longest road section, metres.
    pub section_length_m: f64,
    grades: Vec<RawGrade>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrade {
    grade: String,
    from: f64,
    colour: String,
}

/// Citizen incentive points.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointRules {
    /// For the first phone whose evidence helped confirm a defect.
    pub confirm_first: i64,
    /// For every other phone that helped.
    pub confirm_other: i64,
    /// For a phone pass over a section patrols have not passed recently.
    pub coverage_section: i64,
    /// How old a patrol's last pass must be for coverage points, days.
    pub stale_days: f64,
    /// Faster than this between two records of a device is implausible, m/s.
    pub max_speed_m_per_s: f64,
    /// Same device, kind and cell within this many seconds is a duplicate.
    pub duplicate_window_s: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    version: String,
    weights: BTreeMap<String, [f64; 3]>,
    codes: CodeRules,
    trust: TrustRules,
    fusion: FusionRules,
    lifecycle: LifecycleRules,
    dispatch: RawDispatch,
    pci: PciRules,
    points: PointRules,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDispatch {
    police_road_classes: Vec<String>,
}

impl Default for Rules {
    fn default() -> Rules {
        // The embedded file is checked by the `default_rules_are_valid` test.
        Rules::from_toml(DEFAULT_RULES).expect("the embedded default rules are valid")
    }
}

impl Rules {
    /// The text of the default rules file, to write out and edit.
    pub fn default_text() -> &'static str {
        DEFAULT_RULES
    }

    /// Reads and checks a rules file.
    pub fn from_toml(text: &str) -> Result<Rules, RulesError> {
        let raw: RawRules = toml::from_str(text)
            .map_err(|e| RulesError(e.to_string().trim().replace('\n', " ")))?;
        let bad = |what: String| Err(RulesError(what));
        if raw.version.trim().is_empty() {
            return bad("version must not be empty".into());
        }
        let mut weights = [[f64::NAN; 3]; 16];
        for (name, values) in &raw.weights {
            let kind: DefectKind = name
                .parse()
                .map_err(|e| RulesError(format!("weights: {e}")))?;
            if values.iter().any(|w| !(0.0..=1.0).contains(w))
                || values[0] > values[1]
                || values[1] > values[2]
            {
                return bad(format!(
                    "weights.{name}: each weight in [0, 1], light <= medium <= heavy"
                ));
            }
            weights[kind as usize] = *values;
        }
        if let Some(kind) = DefectKind::ALL
            .into_iter()
            .find(|k| weights[*k as usize][0].is_nan())
        {
            return bad(format!("weights: no weights for {kind}"));
        }
        let mut hazards = Vec::new();
        for hazard in &raw.codes.hazards {
            let kind = hazard
                .kind
                .parse()
                .map_err(|e| RulesError(format!("codes.hazards: {e}")))?;
            let from = hazard
                .from
                .parse()
                .map_err(|e| RulesError(format!("codes.hazards: {e}")))?;
            hazards.push((kind, from));
        }
        let police_classes = raw
            .dispatch
            .police_road_classes
            .iter()
            .map(|name| {
                RoadClass::ALL
                    .into_iter()
                    .find(|c| c.name() == name)
                    .ok_or_else(|| {
                        RulesError(format!(
                            "dispatch.police_road_classes: unknown road class {name:?}"
                        ))
                    })
            })
            .collect::<Result<_, _>>()?;
        let codes = &raw.codes;
        if !(0.0 < codes.yellow_weight
            && codes.yellow_weight <= codes.red_weight
            && codes.red_weight <= 1.0)
        {
            return bad("codes: need 0 < yellow_weight <= red_weight <= 1".into());
        }
        let trust = &raw.trust;
        if !(0.0..=1.0).contains(&trust.vehicle_confidence)
            || trust.phone_devices == 0
            || !positive(trust.phone_radius_m)
            || !positive(trust.phone_window_days)
        {
            return bad(
                "trust: confidence in [0, 1], phone_devices >= 1, positive radius and window"
                    .into(),
            );
        }
        let fusion = &raw.fusion;
        // Upper bounds keep every look-up local: fusion lists a defect in each bucket its radius
        // reaches, and a snap searches the R-tree around a point.
        if !(fusion.radius_m > 0.0
            && fusion.radius_m <= 20.0
            && fusion.max_accuracy_m > 0.0
            && (0.0..=50.0).contains(&fusion.snap_m)
            && fusion.extent_accuracy_m >= 0.0)
        {
            return bad(
                "fusion: radius in (0, 20] m, positive accuracy, snap in [0, 50] m, \
                 extent accuracy >= 0 m"
                    .into(),
            );
        }
        let pci = &raw.pci;
        if !(pci.a0 > 0.0 && pci.a1 > 0.0 && pci.section_length_m >= 1.0) {
            return bad("pci: positive a0, a1, and section_length_m >= 1".into());
        }
        let names: Vec<&str> = pci.grades.iter().map(|g| g.grade.as_str()).collect();
        let expected: Vec<&str> = Grade::ALL.iter().map(|g| g.name()).collect();
        if names != expected
            || pci.grades.windows(2).any(|w| w[0].from <= w[1].from)
            || pci.grades.last().is_some_and(|g| g.from != 0.0)
        {
            return bad(format!(
                "pci.grades: the grades {expected:?} in order, falling bounds, the last from 0"
            ));
        }
        if pci.grades.iter().any(|g| g.colour.is_empty()) {
            return bad("pci.grades: every grade needs a colour".into());
        }
        if !(raw.points.max_speed_m_per_s > 0.0
            && raw.points.duplicate_window_s >= 0.0
            && raw.points.stale_days >= 0.0)
        {
            return bad("points: positive max speed, windows >= 0".into());
        }
        if raw.lifecycle.passes_to_possibly_repaired == 0
            || !positive(raw.lifecycle.pass_half_width_m)
            || raw.lifecycle.pass_half_width_m > 50.0
        {
            return bad("lifecycle: passes >= 1, half-width in (0, 50] m".into());
        }
        Ok(Rules {
            version: intern(raw.version),
            weights,
            hazards,
            codes: raw.codes,
            trust: raw.trust,
            fusion: raw.fusion,
            lifecycle: raw.lifecycle,
            police_classes,
            pci: raw.pci,
            points: raw.points,
        })
    }

    /// The damaged-area weight of a defect.
    pub fn weight(&self, kind: DefectKind, severity: Severity) -> f64 {
        self.weights[kind as usize][severity as usize]
    }

    /// Whether a confirmed defect of this kind and severity is a hazard (makes its cells red).
    pub fn is_hazard(&self, kind: DefectKind, severity: Severity) -> bool {
        self.hazards
            .iter()
            .any(|&(k, from)| k == kind && severity >= from)
    }

    /// Whether confirmed hazards on roads of this class also go to traffic police.
    pub fn notifies_police(&self, class: RoadClass) -> bool {
        self.police_classes.contains(&class)
    }

    /// The grade of a PCI value.
    pub fn grade(&self, pci: f64) -> Grade {
        // Bands are checked to be in Grade::ALL's order with falling lower bounds.
        self.pci
            .grades
            .iter()
            .zip(Grade::ALL)
            .find(|(band, _)| pci >= band.from)
            .map_or(Grade::Bad, |(_, grade)| grade)
    }

    /// The map colour of a grade.
    pub fn colour(&self, grade: Grade) -> &str {
        &self.pci.grades[grade as usize].colour
    }
}

/// Whether a number is above zero (NaN is not).
fn positive(value: f64) -> bool {
    value > 0.0
}

/// A rules file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad rules: {0}")]
pub struct RulesError(String);

/// A rules version as the changes name it, kept for the life of the process: a change then
/// carries a `&'static str`, copied, where an `Arc<str>` would count a reference with an atomic
/// instruction (a barrier to the loads around it) for every changed cell, and again when the
/// change is dropped. A process loads a handful of rules files, so the versions it keeps are a few
/// bytes.
fn intern(version: String) -> &'static str {
    static VERSIONS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut versions = VERSIONS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(&known) = versions.iter().find(|known| **known == version) {
        return known;
    }
    let kept: &'static str = Box::leak(version.into_boxed_str());
    versions.push(kept);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rules_are_valid_and_match_the_design() {
        let rules = Rules::default();
        assert_eq!(rules.version, "roadcode-rules-2");
        assert_eq!(rules.weight(DefectKind::Pothole, Severity::Medium), 0.9);
        assert_eq!(rules.weight(DefectKind::BlockCrack, Severity::Heavy), 0.8);
        assert_eq!(rules.weight(DefectKind::ManholeCover, Severity::Light), 1.0);
        assert!(rules.is_hazard(DefectKind::Pothole, Severity::Medium));
        assert!(!rules.is_hazard(DefectKind::Pothole, Severity::Light));
        assert!(rules.is_hazard(DefectKind::ManholeCover, Severity::Light));
        assert_eq!(rules.grade(90.0), Grade::Excellent);
        assert_eq!(rules.grade(89.99), Grade::Good);
        assert_eq!(rules.grade(59.0), Grade::Bad);
        assert_eq!(rules.colour(Grade::Good), "blue");
        assert!(rules.notifies_police(RoadClass::Primary));
        assert!(!rules.notifies_police(RoadClass::Residential));
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        let text =
            Rules::default_text().replace("pothole = [0.8, 0.9, 1.0]", "pothole = [0.8, 0.9, 1.5]");
        assert_eq!(
            Rules::from_toml(&text).unwrap_err().to_string(),
            "bad rules: weights.pothole: each weight in [0, 1], light <= medium <= heavy"
        );
        let text = Rules::default_text().replace("patching = [0.1, 0.1, 0.1]\n", "");
        assert_eq!(
            Rules::from_toml(&text).unwrap_err().to_string(),
            "bad rules: weights: no weights for patching"
        );
        assert!(
            Rules::from_toml("version = 1")
                .unwrap_err()
                .to_string()
                .starts_with("bad rules: ")
        );
    }
}
