//! Plain data the other layers share: no I/O, and nothing else of the
//! crate beneath it.

pub mod principal;
