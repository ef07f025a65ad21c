//! The defect vocabulary of CJJ 36-2016 / JTG 5210-2018: sixteen kinds and three severities.

use std::fmt;
use std::str::FromStr;

/// One of the sixteen kinds of road-surface defect that roadcode recognises (DESIGN.md, "Defects").
///
/// The names are the stable wire names (`snake_case`), used in every file format and in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DefectKind {
    /// 坑槽: a bowl-shaped hole in the surface.
    Pothole,
    /// 沉陷: a depression of the surface over a failed base.
    Subsidence,
    /// 纵向裂缝: a crack along the direction of travel.
    LongitudinalCrack,
    /// 横向裂缝: a crack across the direction of travel.
    TransverseCrack,
    /// 块状裂缝/网裂: cracks that divide the surface into rough rectangles.
    BlockCrack,
    /// 龟裂: interconnected cracks in a fine, many-sided pattern (fatigue).
    AlligatorCrack,
    /// 车辙: longitudinal depressions in the wheel paths.
    Rutting,
    /// 波浪拥包: ripples and humps pushed up by traffic.
    Shoving,
    /// 松散/剥落: loss of aggregate from the surface.
    Raveling,
    /// 泛油: binder rising to the surface.
    Bleeding,
    /// 修补: a repaired patch.
    Patching,
    /// 啃边: a broken pavement edge.
    EdgeBreak,
    /// 唧浆: fines pumped up through cracks by water under load.
    Pumping,
    /// 翻浆: a soft spot from thawing or saturated subgrade.
    FrostBoil,
    /// 路框差: a height difference between a manhole frame and the surface.
    ManholeFrame,
    /// 井盖缺失/破损: a missing or broken manhole cover.
    ManholeCover,
}

impl DefectKind {
    /// Every kind, in the order of DESIGN.md's table.
    pub const ALL: [DefectKind; 16] = [
        DefectKind::Pothole,
        DefectKind::Subsidence,
        DefectKind::LongitudinalCrack,
        DefectKind::TransverseCrack,
        DefectKind::BlockCrack,
        DefectKind::AlligatorCrack,
        DefectKind::Rutting,
        DefectKind::Shoving,
        DefectKind::Raveling,
        DefectKind::Bleeding,
        DefectKind::Patching,
        DefectKind::EdgeBreak,
        DefectKind::Pumping,
        DefectKind::FrostBoil,
        DefectKind::ManholeFrame,
        DefectKind::ManholeCover,
    ];

    /// The stable wire name, for example `longitudinal_crack`.
    pub fn name(self) -> &'static str {
        match self {
            DefectKind::Pothole => "pothole",
            DefectKind::Subsidence => "subsidence",
            DefectKind::LongitudinalCrack => "longitudinal_crack",
            DefectKind::TransverseCrack => "transverse_crack",
            DefectKind::BlockCrack => "block_crack",
            DefectKind::AlligatorCrack => "alligator_crack",
            DefectKind::Rutting => "rutting",
            DefectKind::Shoving => "shoving",
            DefectKind::Raveling => "raveling",
            DefectKind::Bleeding => "bleeding",
            DefectKind::Patching => "patching",
            DefectKind::EdgeBreak => "edge_break",
            DefectKind::Pumping => "pumping",
            DefectKind::FrostBoil => "frost_boil",
            DefectKind::ManholeFrame => "manhole_frame",
            DefectKind::ManholeCover => "manhole_cover",
        }
    }

    /// The Chinese name used by CJJ 36-2016 and JTG 5210-2018.
    pub fn chinese_name(self) -> &'static str {
        match self {
            DefectKind::Pothole => "坑槽",
            DefectKind::Subsidence => "沉陷",
            DefectKind::LongitudinalCrack => "纵向裂缝",
            DefectKind::TransverseCrack => "横向裂缝",
            DefectKind::BlockCrack => "块状裂缝",
            DefectKind::AlligatorCrack => "龟裂",
            DefectKind::Rutting => "车辙",
            DefectKind::Shoving => "波浪拥包",
            DefectKind::Raveling => "松散",
            DefectKind::Bleeding => "泛油",
            DefectKind::Patching => "修补",
            DefectKind::EdgeBreak => "啃边",
            DefectKind::Pumping => "唧浆",
            DefectKind::FrostBoil => "翻浆",
            DefectKind::ManholeFrame => "路框差",
            DefectKind::ManholeCover => "井盖缺失/破损",
        }
    }
}

impl fmt::Display for DefectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DefectKind {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DefectKind::ALL
            .into_iter()
            .find(|kind| kind.name() == s)
            .ok_or_else(|| UnknownName {
                what: "defect kind",
                name: s.to_owned(),
            })
    }
}

/// How bad a defect is, after JTG 5210-2018's light / medium / heavy (轻 / 中 / 重).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// 轻
    Light,
    /// 中
    Medium,
    /// 重
    Heavy,
}

impl Severity {
    /// Every severity, lightest first.
    pub const ALL: [Severity; 3] = [Severity::Light, Severity::Medium, Severity::Heavy];

    /// The stable wire name: `light`, `medium` or `heavy`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Light => "light",
            Severity::Medium => "medium",
            Severity::Heavy => "heavy",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Severity {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|severity| severity.name() == s)
            .ok_or_else(|| UnknownName {
                what: "severity",
                name: s.to_owned(),
            })
    }
}

/// A name that is not one of a vocabulary's wire names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {name:?}")]
pub struct UnknownName {
    /// Which vocabulary was asked, for example "defect kind".
    pub what: &'static str,
    /// The name that was given.
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_name() {
        for kind in DefectKind::ALL {
            assert_eq!(kind.name().parse::<DefectKind>(), Ok(kind));
        }
        for severity in Severity::ALL {
            assert_eq!(severity.name().parse::<Severity>(), Ok(severity));
        }
    }

    #[test]
    fn unknown_names_are_rejected_with_the_name() {
        let error = "crater".parse::<DefectKind>().unwrap_err();
        assert_eq!(error.to_string(), "unknown defect kind \"crater\"");
    }
}
