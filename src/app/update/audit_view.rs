//! The audit view.
