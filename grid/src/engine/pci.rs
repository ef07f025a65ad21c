//! The pavement condition index of JTG 5210-2018 and its grades: plain functions, no ECS.

use crate::engine::rules::Rules;

/// A section's grade on the five-colour map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grade {
    /// 优, PCI ≥ 90.
    Excellent,
    /// 良, 80 ≤ PCI < 90.
    Good,
    /// 中, 70 ≤ PCI < 80.
    Fair,
    /// 次, 60 ≤ PCI < 70.
    Poor,
    /// 差, PCI < 60.
    Bad,
}

impl Grade {
    /// Every grade, best first.
    pub const ALL: [Grade; 5] = [
        Grade::Excellent,
        Grade::Good,
        Grade::Fair,
        Grade::Poor,
        Grade::Bad,
    ];

    /// The grade's name in JTG 5210: 优, 良, 中, 次, 差.
    pub fn name(self) -> &'static str {
        match self {
            Grade::Excellent => "优",
            Grade::Good => "良",
            Grade::Fair => "中",
            Grade::Poor => "次",
            Grade::Bad => "差",
        }
    }
}

/// The damage ratio DR = 100 · Σ(wᵢ·Aᵢ) / A, in percent, at most 100.
///
/// `weighted_damage_m2` is Σ(wᵢ·Aᵢ) over the section's damaged cells, `surface_m2` is A.
pub fn damage_ratio(weighted_damage_m2: f64, surface_m2: f64) -> f64 {
    if surface_m2 <= 0.0 {
        return 0.0;
    }
    (100.0 * weighted_damage_m2 / surface_m2).clamp(0.0, 100.0)
}

/// PCI = 100 − a0 · DR^a1, in [0, 100].
pub fn pci(rules: &Rules, damage_ratio_percent: f64) -> f64 {
    if damage_ratio_percent <= 0.0 {
        return 100.0;
    }
    (100.0 - rules.pci.a0 * damage_ratio_percent.powf(rules.pci.a1)).clamp(0.0, 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pci_matches_a_hand_computed_section() {
        // A 100 m × 7 m section (700 m²) with a 2 m² medium pothole (w = 0.9) and a 20 m² light
        // longitudinal crack (w = 0.6): Σ wA = 1.8 + 12 = 13.8, DR = 1.9714 %,
        // PCI = 100 − 15 × 1.9714^0.412 = 100 − 15 × 1.32262 = 80.16 → 良.
        let rules = Rules::default();
        let dr = damage_ratio(0.9 * 2.0 + 0.6 * 20.0, 700.0);
        assert!((dr - 1.971_428_6).abs() < 1e-6, "{dr}");
        let value = pci(&rules, dr);
        assert!((value - 80.16).abs() < 0.01, "{value}");
        assert_eq!(rules.grade(value), Grade::Good);
        assert_eq!(pci(&rules, 0.0), 100.0);
        // 100 − 15 × 100^0.412 is just below 0: PCI is clamped to [0, 100].
        assert_eq!(pci(&rules, 100.0), 0.0);
    }
}
