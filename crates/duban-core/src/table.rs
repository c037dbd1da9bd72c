//! A table decoded from a CSV or spreadsheet file, and a located error in one.

use serde::Serialize;
use std::fmt;

/// A header row and data rows, each data row with its 1-based row number in the source
/// file (the header is usually row 1).
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

/// One problem in an input file, located by row and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// 1-based row in the file; 1 is the header row.
    pub row: usize,
    /// The column's header as written in the file (or the expected header when missing).
    pub column: String,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "row {}, column {}: {}",
            self.row, self.column, self.reason
        )
    }
}
