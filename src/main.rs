//! The mfadesk command line.

fn main() {}
