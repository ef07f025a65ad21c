//! Multinomial logistic regression (softmax) on standardised features: the one learning method of the
//! crate, used by the event detector (two classes) and the window classifier (five).
//!
//! It is small on purpose: the parameters are a mean and scale per feature and one weight per feature and
//! class, stored as readable JSON in `sensors/model/`, and training is deterministic (full-batch gradient
//! descent with L2 regularisation, no random initialisation), so the stored files can be reproduced
//! exactly by `roadcode sensors train`.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A trained softmax model. This struct is a stored format on purpose (the JSON files in `sensors/model/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// What the model is for and how it was made (free text, for people).
    pub description: String,
    /// The names of the features, in the order the model expects them.
    pub features: Vec<String>,
    /// The class names, in the order of `weights`.
    pub classes: Vec<String>,
    /// Per feature: the training mean, subtracted before weighting.
    pub means: Vec<f64>,
    /// Per feature: the training standard deviation, divided by before weighting.
    pub scales: Vec<f64>,
    /// Per class: one weight per feature.
    pub weights: Vec<Vec<f64>>,
    /// Per class: the bias.
    pub biases: Vec<f64>,
    /// For a two-class model used as a detector: the probability of the second class from which it is
    /// reported (chosen on the training data; absent for other models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

/// Settings of [`train`].
#[derive(Debug, Clone, Copy)]
pub struct TrainConfig {
    /// L2 penalty on the weights.
    pub l2: f64,
    /// Gradient-descent steps.
    pub steps: usize,
    /// Step size.
    pub learning_rate: f64,
    /// Whether each class's examples are weighted so that all classes weigh the same.
    pub balance_classes: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            l2: 1e-3,
            steps: 3000,
            learning_rate: 0.5,
            balance_classes: true,
        }
    }
}

impl Model {
    /// Reads a model from its JSON form and checks that its shapes agree with `features`.
    pub fn from_json(json: &str, features: &[&str]) -> Result<Model, Error> {
        let model: Model =
            serde_json::from_str(json).map_err(|error| Error::Model(error.to_string()))?;
        let n = model.features.len();
        if model
            .features
            .iter()
            .map(String::as_str)
            .ne(features.iter().copied())
        {
            return Err(Error::Model(format!(
                "features {:?} differ from the code's {:?}",
                model.features, features
            )));
        }
        let shapes_agree = model.means.len() == n
            && model.scales.len() == n
            && model.weights.len() == model.classes.len()
            && model.biases.len() == model.classes.len()
            && model.weights.iter().all(|w| w.len() == n)
            && !model.classes.is_empty();
        if !shapes_agree {
            return Err(Error::Model("parameter shapes do not agree".to_owned()));
        }
        Ok(model)
    }

    /// The probability of each class for one feature vector (same order as `classes`).
    pub fn probabilities(&self, features: &[f64]) -> Vec<f64> {
        let standardised: Vec<f64> = features
            .iter()
            .zip(self.means.iter().zip(&self.scales))
            .map(|(x, (mean, scale))| (x - mean) / scale)
            .collect();
        let scores: Vec<f64> = self
            .weights
            .iter()
            .zip(&self.biases)
            .map(|(weights, bias)| {
                bias + weights
                    .iter()
                    .zip(&standardised)
                    .map(|(w, x)| w * x)
                    .sum::<f64>()
            })
            .collect();
        softmax(&scores)
    }

    /// The most probable class's index and its probability.
    pub fn predict(&self, features: &[f64]) -> (usize, f64) {
        let probabilities = self.probabilities(features);
        probabilities
            .iter()
            .copied()
            .enumerate()
            .fold(
                (0, f64::MIN),
                |best, (index, p)| {
                    if p > best.1 { (index, p) } else { best }
                },
            )
    }
}

/// Trains a model on rows of features with class indices `labels` (each < `classes.len()`).
pub fn train(
    rows: &[Vec<f64>],
    labels: &[usize],
    features: &[&str],
    classes: &[&str],
    config: &TrainConfig,
    description: String,
) -> Result<Model, Error> {
    let n_features = features.len();
    let n_classes = classes.len();
    if rows.is_empty() || rows.len() != labels.len() {
        return Err(Error::invalid(
            "training set",
            "no rows, or labels that do not match rows",
        ));
    }
    if rows.iter().any(|row| row.len() != n_features) || labels.iter().any(|&l| l >= n_classes) {
        return Err(Error::invalid(
            "training set",
            "a row or label of the wrong shape",
        ));
    }
    let count = rows.len() as f64;
    let means: Vec<f64> = (0..n_features)
        .map(|j| rows.iter().map(|row| row[j]).sum::<f64>() / count)
        .collect();
    let scales: Vec<f64> = (0..n_features)
        .map(|j| {
            let variance = rows
                .iter()
                .map(|row| (row[j] - means[j]).powi(2))
                .sum::<f64>()
                / count;
            if variance > 1e-18 {
                variance.sqrt()
            } else {
                1.0
            }
        })
        .collect();
    let standardised: Vec<Vec<f64>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(means.iter().zip(&scales))
                .map(|(x, (m, s))| (x - m) / s)
                .collect()
        })
        .collect();
    let mut class_weight = vec![1.0; n_classes];
    if config.balance_classes {
        for (class, weight) in class_weight.iter_mut().enumerate() {
            let members = labels.iter().filter(|&&l| l == class).count();
            if members > 0 {
                *weight = count / (n_classes as f64 * members as f64);
            }
        }
    }
    let total_weight: f64 = labels.iter().map(|&l| class_weight[l]).sum();

    let mut weights = vec![vec![0.0; n_features]; n_classes];
    let mut biases = vec![0.0; n_classes];
    let mut scores = vec![0.0; n_classes];
    for _ in 0..config.steps {
        let mut gradient = vec![vec![0.0; n_features]; n_classes];
        let mut bias_gradient = vec![0.0; n_classes];
        for (x, &label) in standardised.iter().zip(labels) {
            for (class, score) in scores.iter_mut().enumerate() {
                *score = biases[class]
                    + weights[class]
                        .iter()
                        .zip(x)
                        .map(|(w, v)| w * v)
                        .sum::<f64>();
            }
            let probabilities = softmax(&scores);
            let sample_weight = class_weight[label] / total_weight;
            for class in 0..n_classes {
                let error =
                    (probabilities[class] - f64::from(u8::from(class == label))) * sample_weight;
                bias_gradient[class] += error;
                for (g, v) in gradient[class].iter_mut().zip(x) {
                    *g += error * v;
                }
            }
        }
        for class in 0..n_classes {
            biases[class] -= config.learning_rate * bias_gradient[class];
            for j in 0..n_features {
                let g = gradient[class][j] + config.l2 * weights[class][j];
                weights[class][j] -= config.learning_rate * g;
            }
        }
    }
    Ok(Model {
        description,
        features: features.iter().map(|s| (*s).to_owned()).collect(),
        classes: classes.iter().map(|s| (*s).to_owned()).collect(),
        means,
        scales,
        weights,
        biases,
        threshold: None,
    })
}

fn softmax(scores: &[f64]) -> Vec<f64> {
    let max = scores.iter().copied().fold(f64::MIN, f64::max);
    let exps: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_two_clusters_and_round_trips_through_json() {
        let rows: Vec<Vec<f64>> = (0..40)
            .map(|i| {
                let side = if i % 2 == 0 { -1.0 } else { 1.0 };
                vec![side * 3.0 + f64::from(i % 5) * 0.1, f64::from(i % 7)]
            })
            .collect();
        let labels: Vec<usize> = (0..40).map(|i| i % 2).collect();
        let model = train(
            &rows,
            &labels,
            &["a", "b"],
            &["left", "right"],
            &TrainConfig::default(),
            "test".into(),
        )
        .unwrap();
        assert_eq!(model.predict(&[-3.0, 2.0]).0, 0);
        assert_eq!(model.predict(&[3.0, 2.0]).0, 1);
        let json = serde_json::to_string(&model).unwrap();
        assert_eq!(Model::from_json(&json, &["a", "b"]).unwrap(), model);
        assert!(Model::from_json(&json, &["a"]).is_err());
        assert!(Model::from_json("{}", &["a", "b"]).is_err());
    }

    #[test]
    fn rejects_a_malformed_training_set() {
        let config = TrainConfig::default();
        assert!(train(&[], &[], &["a"], &["x"], &config, String::new()).is_err());
        assert!(train(&[vec![1.0]], &[3], &["a"], &["x"], &config, String::new()).is_err());
    }
}
