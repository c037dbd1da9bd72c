//! From bytes to rows of cells, by content: the magic numbers of BIFF8 and zip, then XML,
//! HTML and MT940 text, else delimited text (comma, tab or pipe) in UTF-8 or GBK.

use crate::value::Cell;
use crate::{BankError, FileKind};
use calamine::{Data, Reader};
use std::io::Cursor;

/// A row and its 1-based number in the file.
pub type Row = (usize, Vec<Cell>);

pub enum Sniffed {
    Grid(FileKind, Vec<Row>),
    Mt940(String),
    Camt(String),
}

pub fn sniff(bytes: &[u8]) -> Result<Sniffed, BankError> {
    if bytes.is_empty() {
        return Err(BankError::file("文件是空的", "the file is empty"));
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        let rows = first_sheet::<calamine::Xls<_>>(bytes)?;
        return Ok(Sniffed::Grid(FileKind::Xls, rows));
    }
    if bytes.starts_with(b"PK\x03\x04") {
        let rows = first_sheet::<calamine::Xlsx<_>>(bytes)?;
        return Ok(Sniffed::Grid(FileKind::Xlsx, rows));
    }
    let text = decode(bytes)?;
    let head: String = text.chars().take(4096).collect::<String>().to_lowercase();
    let start = head.trim_start();
    if start.starts_with("<?xml") || start.starts_with("<document") {
        if head.contains("camt.05") || head.contains("bktocstmrstmt") {
            return Ok(Sniffed::Camt(text));
        }
        if !head.contains("<table") {
            return Err(BankError::file(
                "这是XML文件，但不是 camt.053 对账单",
                "the file is XML but not a camt.053 statement",
            ));
        }
    }
    if head.contains("<table") || start.starts_with("<html") || start.starts_with("<!doctype html")
    {
        return Ok(Sniffed::Grid(FileKind::Html, html_rows(&text)));
    }
    if is_mt940(&text) {
        return Ok(Sniffed::Mt940(text));
    }
    Ok(Sniffed::Grid(FileKind::Text, delimited(&text)?))
}

fn workbook(e: impl std::fmt::Display) -> BankError {
    BankError::file(
        format!("无法读取工作簿：{e}"),
        format!("the workbook cannot be read: {e}"),
    )
}

/// The first worksheet's cells, each row with its 1-based number in the sheet. A workbook
/// the spreadsheet reader cannot take apart is refused, whatever it does inside.
fn first_sheet<'a, R>(bytes: &'a [u8]) -> Result<Vec<Row>, BankError>
where
    R: Reader<Cursor<&'a [u8]>>,
    R::Error: std::fmt::Display,
{
    let read = || -> Result<Vec<Row>, BankError> {
        let mut book = R::new(Cursor::new(bytes)).map_err(workbook)?;
        let range = book
            .worksheet_range_at(0)
            .ok_or_else(|| BankError::file("工作簿里没有工作表", "the workbook has no worksheet"))?
            .map_err(workbook)?;
        let (first_row, first_col) = range.start().unwrap_or((0, 0));
        Ok(range
            .rows()
            .enumerate()
            .map(|(i, row)| {
                let mut cells = vec![Cell::Empty; first_col as usize];
                cells.extend(row.iter().map(cell_of));
                (first_row as usize + i + 1, cells)
            })
            .collect())
    };
    std::panic::catch_unwind(read).unwrap_or_else(|_| {
        Err(BankError::file(
            "工作簿已损坏，无法读取",
            "the workbook is damaged and cannot be read",
        ))
    })
}

/// UTF-8 (BOM or not) when valid, else GB18030 (a superset of GBK); refuses bytes that are
/// neither, such as an unknown binary format.
pub fn decode(bytes: &[u8]) -> Result<String, BankError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_string());
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    if had_errors || text.contains('\0') {
        return Err(BankError::file(
            "无法识别的文件格式：既不是 Excel、camt.053、MT940，也不是 UTF-8 或 GBK 文本",
            "unknown file format: not Excel, camt.053, MT940, nor UTF-8 or GBK text",
        ));
    }
    Ok(text.into_owned())
}

fn is_mt940(text: &str) -> bool {
    let mut tags = [false; 3];
    for line in text.lines().take(2000) {
        let l = line.trim_start();
        tags[0] |= l.starts_with(":20:");
        tags[1] |= l.starts_with(":60F:") || l.starts_with(":60M:");
        tags[2] |= l.starts_with(":62F:") || l.starts_with(":62M:");
    }
    tags.iter().all(|t| *t)
}

/// Delimited text: the delimiter is the one of `,` `\t` `|` seen most on a line.
fn delimited(text: &str) -> Result<Vec<Row>, BankError> {
    let best = [b',', b'\t', b'|']
        .into_iter()
        .max_by_key(|d| {
            text.lines()
                .take(60)
                .map(|l| l.bytes().filter(|b| b == d).count())
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(b',');
    // Newline offsets, to name each record's line in the file.
    let newlines: Vec<usize> = text
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i)
        .collect();
    let line_of = |offset: usize| newlines.partition_point(|&n| n < offset) + 1;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(best)
        .quoting(best != b'|')
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let offset = record.position().map(|p| p.byte() as usize).unwrap_or(0);
                let cells = record
                    .iter()
                    .map(|c| {
                        let c = c.trim_start_matches('\t').trim_end_matches('\r');
                        if c.trim().is_empty() {
                            Cell::Empty
                        } else {
                            Cell::Text(c.to_string())
                        }
                    })
                    .collect();
                rows.push((line_of(offset), cells));
            }
            Err(e) => {
                let line = e
                    .position()
                    .map(|p| line_of(p.byte() as usize))
                    .unwrap_or(rows.len() + 1);
                return Err(BankError::at(
                    line,
                    format!("无法按分隔文本读取：{e}"),
                    format!("cannot be read as delimited text: {e}"),
                ));
            }
        }
    }
    Ok(rows)
}

/// The rows of every `<tr>` in an HTML document, numbered 1, 2, … in document order; cells
/// are `<td>`/`<th>` with their tags removed and entities decoded. Linear in the document:
/// each tag is found once.
pub fn html_rows(text: &str) -> Vec<Row> {
    let lower = text.to_ascii_lowercase();
    let trs = tag_positions(&lower, "tr");
    let mut rows = Vec::with_capacity(trs.len());
    for (k, &start) in trs.iter().enumerate() {
        let limit = trs.get(k + 1).copied().unwrap_or(lower.len());
        let end = lower[start..limit]
            .find("</tr")
            .map(|i| start + i)
            .unwrap_or(limit);
        let seg = &lower[start..end];
        let mut opens = tag_positions(seg, "td");
        opens.extend(tag_positions(seg, "th"));
        opens.sort_unstable();
        let cells = opens
            .iter()
            .enumerate()
            .map(|(j, &c)| {
                let next = opens.get(j + 1).copied().unwrap_or(seg.len());
                let inner_start = seg[c..next].find('>').map(|g| c + g + 1).unwrap_or(next);
                let inner = strip_tags(&text[start + inner_start..start + next]);
                if inner.trim().is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(inner.trim().to_string())
                }
            })
            .collect();
        rows.push((k + 1, cells));
    }
    rows
}

/// Offsets of every `<tag` followed by `>`, whitespace or `/`.
fn tag_positions(lower: &str, tag: &str) -> Vec<usize> {
    let pat = format!("<{tag}");
    lower
        .match_indices(&pat)
        .map(|(i, _)| i)
        .filter(|&i| {
            matches!(
                lower.as_bytes().get(i + pat.len()),
                Some(b'>' | b' ' | b'\t' | b'\n' | b'\r' | b'/')
            )
        })
        .collect()
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    entities(&out)
}

fn entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(semi) = rest[..rest.len().min(12)].find(';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let name = &rest[1..semi];
        let decoded = match name {
            "nbsp" => Some(' '),
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            n if n.starts_with("#x") || n.starts_with("#X") => u32::from_str_radix(&n[2..], 16)
                .ok()
                .and_then(char::from_u32),
            n if n.starts_with('#') => n[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

pub(crate) fn cell_of(d: &Data) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
            if s.trim().is_empty() {
                Cell::Empty
            } else {
                Cell::Text(s.clone())
            }
        }
        Data::Int(i) => Cell::Text(i.to_string()),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Text(b.to_string()),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) => Cell::DateTime(t),
            None => Cell::Number(dt.as_f64()),
        },
        Data::Error(e) => Cell::Text(format!("#{e:?}")),
    }
}
