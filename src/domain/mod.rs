//! Plain data every layer shares: no I/O, and no import from any other
//! module of the crate (everything else may import from here).

pub mod builtin_tools;
