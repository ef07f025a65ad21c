//! Scoring detections against labels: precision, recall and F1 with a matching tolerance in time or in
//! distance, and confusion matrices for classification.

use grid::Wgs84;

use crate::track::distance_m;

/// Counts from matching detections to labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Detections that match some label.
    pub true_detections: usize,
    /// All detections.
    pub detections: usize,
    /// Labels matched by some detection.
    pub found_labels: usize,
    /// All labels.
    pub labels: usize,
}

impl Counts {
    /// Sum of two counts (to pool files).
    pub fn plus(self, other: Counts) -> Counts {
        Counts {
            true_detections: self.true_detections + other.true_detections,
            detections: self.detections + other.detections,
            found_labels: self.found_labels + other.found_labels,
            labels: self.labels + other.labels,
        }
    }

    /// The share of detections that match a label (1 when there are none).
    pub fn precision(self) -> f64 {
        ratio(self.true_detections, self.detections)
    }

    /// The share of labels that some detection matches (1 when there are none).
    pub fn recall(self) -> f64 {
        ratio(self.found_labels, self.labels)
    }

    /// The harmonic mean of precision and recall.
    pub fn f1(self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        }
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

/// Matches detection times to label times within `tolerance_s`.
pub fn match_by_time(detections: &[f64], labels: &[f64], tolerance_s: f64) -> Counts {
    let near = |a: f64, b: f64| (a - b).abs() <= tolerance_s;
    Counts {
        true_detections: detections
            .iter()
            .filter(|&&d| labels.iter().any(|&l| near(d, l)))
            .count(),
        detections: detections.len(),
        found_labels: labels
            .iter()
            .filter(|&&l| detections.iter().any(|&d| near(d, l)))
            .count(),
        labels: labels.len(),
    }
}

/// Matches detection positions to label positions within `tolerance_m`; a detection without a position
/// matches nothing.
pub fn match_by_distance(
    detections: &[Option<Wgs84>],
    labels: &[Wgs84],
    tolerance_m: f64,
) -> Counts {
    let near = |a: Wgs84, b: Wgs84| distance_m(a, b) <= tolerance_m;
    Counts {
        true_detections: detections
            .iter()
            .filter(|d| d.is_some_and(|d| labels.iter().any(|&l| near(d, l))))
            .count(),
        detections: detections.len(),
        found_labels: labels
            .iter()
            .filter(|&&l| detections.iter().any(|d| d.is_some_and(|d| near(d, l))))
            .count(),
        labels: labels.len(),
    }
}

/// A confusion matrix: `counts[truth][predicted]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confusion {
    /// Rows: true class; columns: predicted class.
    pub counts: Vec<Vec<usize>>,
}

impl Confusion {
    /// An empty matrix for `classes` classes.
    pub fn new(classes: usize) -> Confusion {
        Confusion {
            counts: vec![vec![0; classes]; classes],
        }
    }

    /// Records one prediction.
    pub fn record(&mut self, truth: usize, predicted: usize) {
        if let Some(cell) = self
            .counts
            .get_mut(truth)
            .and_then(|row| row.get_mut(predicted))
        {
            *cell += 1;
        }
    }

    /// The share of predictions on the diagonal.
    pub fn accuracy(&self) -> f64 {
        let total: usize = self.counts.iter().flatten().sum();
        let right: usize = (0..self.counts.len()).map(|i| self.counts[i][i]).sum();
        ratio(right, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_matching_counts_both_sides() {
        let counts = match_by_time(&[10.0, 10.5, 30.0], &[10.2, 20.0], 1.5);
        assert_eq!(
            counts,
            Counts {
                true_detections: 2,
                detections: 3,
                found_labels: 1,
                labels: 2
            }
        );
        assert!((counts.precision() - 2.0 / 3.0).abs() < 1e-12);
        assert!((counts.recall() - 0.5).abs() < 1e-12);
        assert!((counts.f1() - 4.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn distance_matching_uses_metres() {
        let label = Wgs84::new(51.0, 22.0).unwrap();
        let near = Wgs84::new(51.0001, 22.0).unwrap(); // 11 m north
        let far = Wgs84::new(51.001, 22.0).unwrap(); // 111 m north
        let counts = match_by_distance(&[Some(near), Some(far), None], &[label], 20.0);
        assert_eq!(
            counts,
            Counts {
                true_detections: 1,
                detections: 3,
                found_labels: 1,
                labels: 1
            }
        );
    }

    #[test]
    fn confusion_accuracy() {
        let mut confusion = Confusion::new(2);
        confusion.record(0, 0);
        confusion.record(1, 0);
        confusion.record(1, 1);
        confusion.record(5, 0); // out of range: ignored
        assert!((confusion.accuracy() - 2.0 / 3.0).abs() < 1e-12);
    }
}
