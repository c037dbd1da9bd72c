//! Tables written for people to open in Excel or WPS: CSV with a UTF-8 BOM (so Excel does
//! not read it as GBK), and XLSX with codes kept as text, dates as dates, a frozen header
//! row with an autofilter, and A4 landscape print settings. Pure: rows in, bytes out.

use chrono::{Datelike, NaiveDate};
use duban_core::money::Money;
use rust_xlsxwriter::{ExcelDateTime, Format, FormatBorder, Workbook, XlsxError};

/// One cell of an exported table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Empty,
    /// Kept as text, so codes and numbers with leading zeros stay as written.
    Text(String),
    Date(NaiveDate),
    Int(i64),
    /// An amount of money, written as people see it: `1,234.50` in CSV; in XLSX the number
    /// Excel would keep had `1234.50` been typed, shown as `#,##0.00`.
    Amount(Money),
}

impl From<Money> for Cell {
    fn from(m: Money) -> Cell {
        Cell::Amount(m)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

impl From<Option<&str>> for Cell {
    fn from(s: Option<&str>) -> Cell {
        s.map(Cell::from).unwrap_or(Cell::Empty)
    }
}

impl From<Option<NaiveDate>> for Cell {
    fn from(d: Option<NaiveDate>) -> Cell {
        d.map(Cell::Date).unwrap_or(Cell::Empty)
    }
}

/// A titled table: a header row and its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    /// The worksheet's name (at most 31 characters in Excel; longer names are cut).
    pub name: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// UTF-8 CSV with a byte-order mark; dates in ISO 8601 (`2026-12-02`).
pub fn to_csv(sheet: &Sheet) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let text = |c: &Cell| match c {
        Cell::Empty => String::new(),
        Cell::Text(s) => s.clone(),
        Cell::Date(d) => d.to_string(),
        Cell::Int(i) => i.to_string(),
        Cell::Amount(m) => m.grouped(),
    };
    // Writing to memory cannot fail.
    let _ = w.write_record(&sheet.headers);
    for row in &sheet.rows {
        let _ = w.write_record(row.iter().map(text));
    }
    w.into_inner().unwrap_or_default()
}

/// An XLSX workbook with the one sheet.
pub fn to_xlsx(sheet: &Sheet) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    let name: String = sheet
        .name
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\'))
        .take(31)
        .collect();
    ws.set_name(&name)?;
    let header = Format::new()
        .set_bold()
        .set_border_bottom(FormatBorder::Thin);
    let text = Format::new().set_num_format("@");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let amount = Format::new().set_num_format("#,##0.00");
    for (c, h) in sheet.headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, &header)?;
    }
    for (r, row) in sheet.rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Empty => {}
                Cell::Text(s) => {
                    ws.write_string_with_format(r, c, s, &text)?;
                }
                Cell::Date(d) => {
                    let when =
                        ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?;
                    ws.write_datetime_with_format(r, c, &when, &date)?;
                }
                // Whole numbers below 2^53 are exact in Excel's numbers.
                Cell::Int(i) => {
                    ws.write_number(r, c, *i as f64)?;
                }
                // A spreadsheet's numbers are binary; the decimal text of the amount is
                // what Excel itself would read.
                Cell::Amount(m) => {
                    let number: f64 = m.to_string().parse().unwrap_or_default();
                    ws.write_number_with_format(r, c, number, &amount)?;
                }
            }
        }
    }
    let last_col = sheet.headers.len().max(1) as u16 - 1;
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, sheet.rows.len() as u32, last_col)?;
    ws.autofit();
    ws.set_landscape();
    ws.set_paper_size(9); // A4
    ws.set_print_fit_to_pages(1, 0);
    ws.set_repeat_rows(0, 0)?;
    book.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader, Xlsx};

    fn sheet() -> Sheet {
        Sheet {
            name: "党组织名册".into(),
            headers: vec![
                "编码".into(),
                "名称".into(),
                "任期届满".into(),
                "人数".into(),
                "金额".into(),
            ],
            rows: vec![
                vec![
                    "007".into(),
                    "济南,第一\"党支部\"".into(),
                    Cell::Date(NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()),
                    Cell::Int(12),
                    Money::from_fen(123_456_789).into(),
                ],
                vec![
                    "008".into(),
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Int(0),
                    Money::ZERO.into(),
                ],
            ],
        }
    }

    #[test]
    fn csv_starts_with_a_bom_and_quotes_what_needs_it() {
        let bytes = to_csv(&sheet());
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        assert_eq!(
            text,
            "编码,名称,任期届满,人数,金额\n007,\"济南,第一\"\"党支部\"\"\",2026-12-02,12,\"1,234,567.89\"\n008,,,0,0.00\n"
        );
    }

    #[test]
    fn xlsx_keeps_codes_as_text_and_dates_as_dates() {
        let bytes = to_xlsx(&sheet()).unwrap();
        let mut book: Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let range = book.worksheet_range("党组织名册").unwrap();
        assert_eq!(range.get((1, 0)), Some(&Data::String("007".into())));
        assert!(matches!(range.get((1, 2)), Some(Data::DateTime(_))));
        assert_eq!(range.get((1, 3)), Some(&Data::Float(12.0)));
        assert_eq!(range.get((1, 4)), Some(&Data::Float(1_234_567.89)));
        assert_eq!(range.height(), 3);
    }
}
