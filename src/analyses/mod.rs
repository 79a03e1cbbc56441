//! Analyses: each a small pass over the model that produces findings.
