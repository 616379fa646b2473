//! Deterministic pull-request gates (work in progress).
