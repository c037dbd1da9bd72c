//! duban's funds ledger: the rules, with no database, no network and no clock.
//!
//! Finance officers appropriate a budget to lines, commit (核定) amounts to party units,
//! disburse them in tranches, record dues and pay dues rebates. Everything that touches
//! money is decided here, as pure functions that the store runs inside its database
//! transactions and that property tests drive with random command sequences:
//!
//! - [`journal`]: transactions of balanced postings in CNY (`duban_core::money::Money`,
//!   whole fen); a correction is a reversal linked to the original, never an edit;
//! - [`account`]: the chart of accounts — budget-control accounts per line alongside the
//!   financial accounts, so the journal itself carries the budget;
//! - [`budget`]: fiscal years, lines, headroom, Stop and Warn;
//! - [`ops`]: every operation (appropriate, virement, allocate, disburse, release, pay
//!   without commitment, dues, rebates, reversal, year end) over the state it touches;
//! - [`rates`], [`dues`], [`split`]: rate cards and batch plans, the dues calculator and
//!   rebate, largest-remainder splits;
//! - [`period`]: monthly close; [`idempotency`]: fingerprints of commands;
//! - [`hledger`], [`report`]: the journal as hledger reads it, balances and the budget report;
//! - [`book`]: the whole ledger in memory, the reference the store is tested against.
//!
//! Why a separate crate: the ledger's invariants (every transaction balances; headroom is
//! never negative; a reversal restores every balance) are easiest to trust when they can
//! be checked exhaustively without a database in the way.

pub mod account;
pub mod book;
pub mod budget;
pub mod command;
pub mod config;
pub mod dues;
pub mod error;
pub mod hledger;
pub mod idempotency;
pub mod journal;
pub mod model;
pub mod ops;
pub mod period;
pub mod rates;
pub mod report;
pub mod signed_money;
pub mod split;

pub use error::LedgerError;
