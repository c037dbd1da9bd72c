//! Bank statements: what a statement file holds and whether it would import, before
//! anything is written.

use crate::{Actor, App, AppError, Permission};
use duban_core::table::RowError;
use serde::Serialize;

pub use duban_bank::{BankError, Chain, Declared, Figures, FileKind, Line, Statement};

/// A statement file as read, with its integrity verdict. Nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatementPreview {
    pub file_name: String,
    /// The lines and what the file declares; absent when the file cannot be read at all.
    pub statement: Option<Statement>,
    /// The checked figures when the file would import …
    pub figures: Option<Figures>,
    /// … else why it is refused, with its row and column.
    pub refusal: Option<BankError>,
}

impl StatementPreview {
    pub fn would_import(&self) -> bool {
        self.refusal.is_none()
    }

    /// The refusal as the located file error the adapters present (row 0: the whole file).
    pub fn refused(&self) -> Option<AppError> {
        let r = self.refusal.as_ref()?;
        Some(AppError::Rows(vec![RowError {
            row: r.row.unwrap_or(0),
            column: r.column.clone().unwrap_or_default(),
            reason: format!("{}: {r}", self.file_name),
        }]))
    }
}

/// The verdict on a file's bytes: read, then checked.
pub fn preview(file_name: &str, bytes: &[u8]) -> StatementPreview {
    let mut p = StatementPreview {
        file_name: file_name.to_string(),
        statement: None,
        figures: None,
        refusal: None,
    };
    match duban_bank::read(file_name, bytes) {
        Ok(st) => {
            match st.check() {
                Ok(f) => p.figures = Some(f),
                Err(e) => p.refusal = Some(e),
            }
            p.statement = Some(st);
        }
        Err(e) => p.refusal = Some(e),
    }
    p
}

impl App {
    /// Reads a bank statement and checks it as an import would: the balance chain and the
    /// file's own totals and counts. Anyone who may read the ledger may preview; nothing is
    /// written.
    pub async fn preview_statement(
        &self,
        actor: &Actor,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<StatementPreview, AppError> {
        actor.require(Permission::ReadLedger)?;
        Ok(preview(file_name, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_readable_file_with_a_broken_chain_keeps_its_lines_and_names_the_row() {
        let text = "交易日期,支出,收入,余额\n20260301,100.00,,900.00\n20260302,100.00,,700.00\n";
        let p = preview("a.csv", text.as_bytes());
        assert!(!p.would_import());
        assert_eq!(p.statement.as_ref().map(|s| s.lines.len()), Some(2));
        let Some(AppError::Rows(rows)) = p.refused() else {
            panic!("refused as a located file error")
        };
        assert_eq!((rows[0].row, rows[0].column.as_str()), (3, "余额"));
        let ok = preview(
            "b.csv",
            "交易日期,支出,收入,余额\n20260301,100.00,,900.00\n".as_bytes(),
        );
        assert!(ok.would_import() && ok.refused().is_none());
        assert_eq!(ok.figures.map(|f| f.lines), Some(1));
    }
}
