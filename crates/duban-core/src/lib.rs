//! duban's pure core.
//!
//! Everything here is a plain function of its inputs: no database, no network, no clock
//! (time is passed in through [`clock::Clock`]). The shell crates (store, http, cli) build on
//! it; it never depends on them. Keeping the rules here is what lets them be property-tested.

pub mod audit_chain;
pub mod capitals;
pub mod clock;
pub mod link;
pub mod members;
pub mod money;
pub mod privacy;
pub mod register;
pub mod table;
pub mod text;
