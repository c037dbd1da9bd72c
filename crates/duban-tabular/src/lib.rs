//! Turns the files offices actually send — CSV saved by Excel (UTF-8 with a BOM, plain
//! UTF-8, or GBK from an older Chinese Windows) and XLSX workbooks — into a [`Table`] whose
//! rows keep their row numbers, so every later error can point at the cell.
//!
//! Pure: bytes in, table out. Reading the file is the caller's job. [`export`] goes the
//! other way: rows to the bytes of a CSV (with a BOM, for Excel) or an XLSX file.

pub mod export;

use calamine::{Data, Reader, Xlsx};
use duban_core::table::Table;
use std::io::Cursor;

/// Which text encoding a CSV file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8 (with or without BOM) when the bytes are valid UTF-8, otherwise GBK.
    #[default]
    Auto,
    Utf8,
    Gbk,
}

impl std::str::FromStr for Encoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Encoding::Auto),
            "utf8" | "utf-8" => Ok(Encoding::Utf8),
            "gbk" | "gb2312" | "gb18030" | "cp936" => Ok(Encoding::Gbk),
            other => Err(format!(
                "unknown encoding {other:?}; use auto, utf-8 or gbk"
            )),
        }
    }
}

/// File formats we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

#[derive(Debug, thiserror::Error)]
pub enum TabularError {
    #[error(
        "the file is not valid UTF-8 (first bad byte at offset {offset}); if it was saved by an older Excel, pass --encoding gbk"
    )]
    NotUtf8 { offset: usize },
    #[error("the file is neither UTF-8 nor GBK (first bad byte near offset {offset})")]
    UnknownEncoding { offset: usize },
    #[error("row {row}: {message}")]
    Csv { row: usize, message: String },
    #[error("the workbook cannot be read: {0}")]
    Workbook(String),
    #[error("cell {cell}: {message}")]
    Cell { cell: String, message: String },
    #[error("the file is empty: it needs a header row")]
    Empty,
}

/// Detects the format from the file name, falling back to the content (XLSX is a zip).
pub fn detect_format(name: &str, bytes: &[u8]) -> Format {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".xlsx") || lower.ends_with(".xlsm") || bytes.starts_with(b"PK\x03\x04") {
        Format::Xlsx
    } else {
        Format::Csv
    }
}

/// Decodes a file's bytes into a table. The first non-empty row is the header.
pub fn read_table(name: &str, bytes: &[u8], encoding: Encoding) -> Result<Table, TabularError> {
    match detect_format(name, bytes) {
        Format::Csv => read_csv(bytes, encoding),
        Format::Xlsx => read_xlsx(bytes),
    }
}

/// Decodes CSV text; see [`Encoding`] for how the bytes become text.
pub fn read_csv(bytes: &[u8], encoding: Encoding) -> Result<Table, TabularError> {
    let text = decode(bytes, encoding)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    // The reader's own line numbers skip blank lines, so count newlines up to each record.
    let bytes = text.as_bytes();
    let (mut scanned, mut line) = (0usize, 1usize);
    let mut line_at = |offset: usize| {
        let mut end = offset.min(bytes.len());
        // A record's position can point at the blank lines the reader skipped before it.
        while end < bytes.len() && matches!(bytes[end], b'\n' | b'\r') {
            end += 1;
        }
        if end > scanned {
            line += bytes[scanned..end].iter().filter(|&&b| b == b'\n').count();
            scanned = end;
        }
        line
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| TabularError::Csv {
            row: e
                .position()
                .map(|p| line_at(p.byte() as usize))
                .unwrap_or(0),
            message: e.to_string(),
        })?;
        let row = record
            .position()
            .map(|p| line_at(p.byte() as usize))
            .unwrap_or(rows.len() + 1);
        rows.push((row, record.iter().map(str::to_string).collect::<Vec<_>>()));
    }
    into_table(rows)
}

fn decode(bytes: &[u8], encoding: Encoding) -> Result<String, TabularError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let gbk = || {
        let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
        if had_errors {
            let offset = text.find('\u{FFFD}').unwrap_or(0);
            Err(TabularError::UnknownEncoding { offset })
        } else {
            Ok(text.into_owned())
        }
    };
    match encoding {
        Encoding::Gbk => gbk(),
        Encoding::Utf8 => {
            std::str::from_utf8(bytes)
                .map(str::to_string)
                .map_err(|e| TabularError::NotUtf8 {
                    offset: e.valid_up_to(),
                })
        }
        Encoding::Auto => match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => gbk(),
        },
    }
}

/// Reads the first worksheet of an XLSX workbook.
pub fn read_xlsx(bytes: &[u8]) -> Result<Table, TabularError> {
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| TabularError::Workbook(e.to_string()))?;
    let sheet = book
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| TabularError::Workbook("it has no worksheet".into()))?;
    let range = book
        .worksheet_range(&sheet)
        .map_err(|e| TabularError::Workbook(e.to_string()))?;
    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    let mut rows = Vec::new();
    for (i, row) in range.rows().enumerate() {
        let row_no = first_row as usize + i + 1;
        let mut cells = vec![String::new(); first_col as usize];
        for (j, cell) in row.iter().enumerate() {
            let col = first_col as usize + j;
            cells.push(cell_text(cell).map_err(|message| TabularError::Cell {
                cell: format!("{}{row_no}", column_letters(col)),
                message,
            })?);
        }
        rows.push((row_no, cells));
    }
    into_table(rows)
}

fn cell_text(cell: &Data) -> Result<String, String> {
    Ok(match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::Float(f) => {
            // Counts and codes typed into numeric cells come back as floats: show them as
            // the integers they are. Amounts are read as text with their decimals.
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else {
                f.to_string()
            }
        }
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) if t.time() == chrono_midnight() => t.date().format("%Y-%m-%d").to_string(),
            Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            None => return Err(format!("{dt} is not a valid date")),
        },
        Data::Error(e) => return Err(format!("the cell holds the spreadsheet error {e:?}")),
    })
}

fn chrono_midnight() -> chrono::NaiveTime {
    chrono::NaiveTime::MIN
}

/// `0` → `A`, `25` → `Z`, `26` → `AA`.
pub fn column_letters(mut col: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

fn into_table(rows: Vec<(usize, Vec<String>)>) -> Result<Table, TabularError> {
    let mut it = rows
        .into_iter()
        .skip_while(|(_, cells)| cells.iter().all(|c| c.trim().is_empty()));
    let (_, headers) = it.next().ok_or(TabularError::Empty)?;
    Ok(Table {
        headers,
        rows: it.collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_bom_without_bom_and_gbk_give_the_same_table() {
        let text = "组织名称,党员数\n泉城科技,5\n\n\"乙,协会\",0\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        for bytes in [text.as_bytes(), &bom[..], &gbk[..]] {
            let t = read_table("a.csv", bytes, Encoding::Auto).unwrap();
            assert_eq!(t.headers, vec!["组织名称", "党员数"]);
            assert_eq!(
                t.rows[0],
                (2, vec!["泉城科技".to_string(), "5".to_string()])
            );
            assert_eq!(t.rows.last().unwrap().1[0], "乙,协会");
            assert_eq!(t.rows.last().unwrap().0, 4);
        }
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let err = read_csv(&gbk, Encoding::Utf8).unwrap_err();
        assert!(err.to_string().contains("--encoding gbk"), "{err}");
    }

    #[test]
    fn xlsx_cells_become_text_with_row_numbers() {
        use rust_xlsxwriter::{ExcelDateTime, Format as XFormat, Workbook};
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "组织名称").unwrap();
        sheet.write_string(0, 1, "党员数").unwrap();
        sheet.write_string(0, 2, "任期开始").unwrap();
        sheet.write_string(1, 0, "泉城科技").unwrap();
        sheet.write_number(1, 1, 5.0).unwrap();
        let date = ExcelDateTime::from_ymd(2026, 10, 9).unwrap();
        sheet
            .write_datetime_with_format(1, 2, &date, &XFormat::new().set_num_format("yyyy-mm-dd"))
            .unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let t = read_table("register.xlsx", &bytes, Encoding::Auto).unwrap();
        assert_eq!(t.headers, vec!["组织名称", "党员数", "任期开始"]);
        assert_eq!(
            t.rows,
            vec![(2, vec!["泉城科技".into(), "5".into(), "2026-10-09".into()])]
        );
    }

    #[test]
    fn column_letters_follow_excel() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
    }

    #[test]
    fn an_empty_file_is_an_error() {
        assert!(matches!(
            read_csv(b"\n\n", Encoding::Auto),
            Err(TabularError::Empty)
        ));
    }
}
