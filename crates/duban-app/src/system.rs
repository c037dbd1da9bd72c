//! The database handle for the composition root: the binary's `serve`, `migrate`, `backup`,
//! `restore`, `engine run`, `dispatch` and its benchmarks connect, migrate and build the engine, the dispatcher
//! and the [`App`](crate::App) from these. They are not use cases: everything a person does
//! goes through `App`, which the adapters call; nothing here reads or writes on their behalf.

pub use duban_store::{DbErr, Store, StoreError, StoreOptions, is_unavailable};

/// Copies of the SQLite database taken while it serves (`Store::backup_to`), their
/// inspection and their restore in place of the database file: operations on files the
/// operator runs, not use cases.
pub mod backup {
    pub use duban_store::backup::{COUNTED, Restored, Snapshot, inspect, restore, sqlite_file};
}

/// What the benchmark harness needs below the use cases: scratch databases and the ledger's
/// own executor, measured without the layers above it.
pub mod bench {
    pub use duban_store::ledger::{BenchPayment, LedgerContext};
    pub use duban_store::scratch::ScratchDb;
}
