//! SWIFT MT940 customer statements: `:25:` account, `:28C:` statement number, `:60F:`/`:60M:`
//! opening, `:61:` lines with their `:86:` information, `:62F:`/`:62M:` closing. Text before the
//! first tag (a preamble), SWIFT envelopes (`{1:…}`) and `-}` trailers are skipped; a line
//! that does not start with a tag continues the tag above it.

use crate::value::amount_text;
use crate::{BankError, FileKind, Line, Part, Statement};
use chrono::{Datelike, NaiveDate};
use duban_core::money::Money;

struct Field {
    row: usize,
    tag: String,
    text: String,
}

fn fields(text: &str) -> Vec<Field> {
    let mut out: Vec<Field> = Vec::new();
    let mut started = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let body = line.trim_start_matches(['{', '}']);
        let tagged = line.starts_with(':') && line[1..].find(':').is_some_and(|k| k <= 4);
        if tagged {
            let end = 1 + line[1..].find(':').unwrap_or(0);
            started = true;
            out.push(Field {
                row: i + 1,
                tag: line[1..end].to_string(),
                text: line[end + 1..].to_string(),
            });
        } else if started
            && !line.starts_with('-')
            && !body.starts_with("1:")
            && !body.starts_with("2:")
            && let Some(last) = out.last_mut()
        {
            last.text.push('\n');
            last.text.push_str(line);
        }
    }
    out
}

fn err(row: usize, tag: &str, zh: String, en: String) -> BankError {
    BankError::cell(row, &format!(":{tag}:"), zh, en)
}

/// `C090924DKK2478926,70` → (date, currency, signed amount).
fn balance(f: &Field) -> Result<(NaiveDate, String, Money), BankError> {
    let t = f.text.trim();
    let bad = || {
        err(
            f.row,
            &f.tag,
            format!("“{t}”不是余额（应为 C/D + YYMMDD + 币种 + 金额）"),
            format!("{t:?} is not a balance (C/D, YYMMDD, currency, amount)"),
        )
    };
    if t.len() < 11 || !t.is_char_boundary(1) || !t.is_char_boundary(7) || !t.is_char_boundary(10) {
        return Err(bad());
    }
    let sign = &t[..1];
    let date = yymmdd(&t[1..7]).ok_or_else(bad)?;
    let ccy = t[7..10].to_string();
    let m = swift_amount(&t[10..]).ok_or_else(bad)?;
    let m = match sign {
        "C" => m,
        "D" => m.checked_neg().ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    Ok((date, ccy, m))
}

fn yymmdd(s: &str) -> Option<NaiveDate> {
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i32 = s[..2].parse().ok()?;
    let m: u32 = s[2..4].parse().ok()?;
    let d: u32 = s[4..6].parse().ok()?;
    NaiveDate::from_ymd_opt(if y < 80 { 2000 + y } else { 1900 + y }, m, d)
}

/// `829419,78` (decimal comma) → an amount.
fn swift_amount(s: &str) -> Option<Money> {
    let s = s.trim();
    if s.is_empty()
        || !s.bytes().all(|b| b.is_ascii_digit() || b == b',')
        || s.matches(',').count() != 1
    {
        return None;
    }
    amount_text(s.replace(',', ".").trim_end_matches('.'))
        .ok()
        .flatten()
        .map(|(m, _)| m)
}

/// A `:61:` statement line: value date, entry date, mark, funds code, amount, type, refs.
fn statement_line(f: &Field) -> Result<Line, BankError> {
    let t = f.text.lines().next().unwrap_or("").trim();
    let bad =
        |why: &str, en: &str| err(f.row, "61", format!("“{t}”：{why}"), format!("{t:?}: {en}"));
    let b = t.as_bytes();
    if b.len() < 8 || !t.is_char_boundary(6) {
        return Err(bad("太短", "too short"));
    }
    let value =
        yymmdd(&t[..6]).ok_or_else(|| bad("起息日不是 YYMMDD", "the value date is not YYMMDD"))?;
    let mut p = 6;
    let mut entry = None;
    if b.len() >= p + 4 && b[p..p + 4].iter().all(u8::is_ascii_digit) {
        let (m, d): (u32, u32) = (
            t[p..p + 2].parse().unwrap_or(0),
            t[p + 2..p + 4].parse().unwrap_or(0),
        );
        // The entry date's year is the value date's, moved across New Year when needed.
        let mut y = value.year();
        if m == 12 && value.month() == 1 {
            y -= 1;
        } else if m == 1 && value.month() == 12 {
            y += 1;
        }
        entry = Some(
            NaiveDate::from_ymd_opt(y, m, d)
                .ok_or_else(|| bad("记账日不是 MMDD", "the entry date is not MMDD"))?,
        );
        p += 4;
    }
    let (sign_in, len) = if t[p..].starts_with("RC") {
        (false, 2)
    } else if t[p..].starts_with("RD") {
        (true, 2)
    } else if t[p..].starts_with('C') {
        (true, 1)
    } else if t[p..].starts_with('D') {
        (false, 1)
    } else {
        return Err(bad(
            "借贷标记应为 C、D、RC 或 RD",
            "the mark must be C, D, RC or RD",
        ));
    };
    p += len;
    // An optional funds code: the third letter of the currency code.
    if b.get(p).is_some_and(u8::is_ascii_alphabetic) {
        p += 1;
    }
    let digits = t[p..]
        .bytes()
        .take_while(|c| c.is_ascii_digit() || *c == b',')
        .count();
    let amount = swift_amount(&t[p..p + digits])
        .ok_or_else(|| bad("金额无效", "the amount is not valid"))?;
    p += digits;
    let rest = &t[p..];
    let (kind, refs) = if rest.len() >= 4 && rest.is_char_boundary(4) {
        rest.split_at(4)
    } else {
        (rest, "")
    };
    let (customer, bank) = refs.split_once("//").unwrap_or((refs, ""));
    let supplementary = f.text.lines().nth(1).unwrap_or("").trim().to_string();
    let amount = if sign_in {
        amount
    } else {
        amount
            .checked_neg()
            .ok_or_else(|| bad("金额超出范围", "the amount is out of range"))?
    };
    Ok(Line {
        row: f.row,
        date: entry.or(Some(value)),
        time: None,
        value_date: Some(value),
        amount,
        balance: None,
        counterparty_name: String::new(),
        counterparty_account: String::new(),
        counterparty_bank: String::new(),
        summary: kind.trim().to_string(),
        purpose: String::new(),
        remark: [customer.trim(), supplementary.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty() && *s != "NONREF")
            .collect::<Vec<_>>()
            .join("；"),
        serial: Some(bank.trim().to_string()).filter(|s| !s.is_empty()),
        id: String::new(),
    })
}

pub fn read(file_name: &str, text: &str) -> Result<Statement, BankError> {
    let mut st = Statement::new(file_name, FileKind::Mt940, "mt940", "");
    let mut open: Option<(usize, Money, usize)> = None;
    let mut last_line_info = false;
    let mut account = String::new();
    for f in fields(text) {
        match f.tag.as_str() {
            "25" => {
                let t = f.text.trim();
                let (bank, acct) = t.split_once('/').unwrap_or(("", t));
                account = acct.to_string();
                if st.account.is_none() {
                    st.account = Some(acct.to_string());
                    st.bank = bank.to_string();
                }
            }
            "60F" | "60M" => {
                if open.is_some() {
                    return Err(err(
                        f.row,
                        &f.tag,
                        "上一段对账单没有期末余额 :62F:".into(),
                        "the previous statement has no closing balance :62F:".into(),
                    ));
                }
                let (date, ccy, m) = balance(&f)?;
                st.currency.get_or_insert(ccy);
                if st.period_from.is_none() {
                    st.period_from = Some(date);
                }
                open = Some((st.lines.len(), m, f.row));
                last_line_info = false;
            }
            "61" => {
                if open.is_none() {
                    return Err(err(
                        f.row,
                        "61",
                        "明细之前没有期初余额 :60F:".into(),
                        "a line before any opening balance :60F:".into(),
                    ));
                }
                st.lines.push(statement_line(&f)?);
                last_line_info = true;
            }
            "86" if last_line_info => {
                if let Some(l) = st.lines.last_mut() {
                    if !l.purpose.is_empty() {
                        l.purpose.push(' ');
                    }
                    l.purpose
                        .push_str(&f.text.split_whitespace().collect::<Vec<_>>().join(" "));
                }
            }
            "62F" | "62M" => {
                let Some((start, opening, opening_row)) = open.take() else {
                    return Err(err(
                        f.row,
                        &f.tag,
                        "期末余额之前没有期初余额 :60F:".into(),
                        "a closing balance without an opening balance :60F:".into(),
                    ));
                };
                let (date, _, closing) = balance(&f)?;
                st.period_to = Some(date);
                st.parts.push(Part {
                    start,
                    end: st.lines.len(),
                    opening,
                    opening_row,
                    closing,
                    closing_row: f.row,
                    tags: (":60F:", ":62F:"),
                    account: account.clone(),
                });
                last_line_info = false;
            }
            _ => last_line_info = false,
        }
    }
    if let Some((_, _, row)) = open {
        return Err(err(
            row,
            "60F",
            "这段对账单没有期末余额 :62F:".into(),
            "this statement has no closing balance :62F:".into(),
        ));
    }
    if st.parts.is_empty() {
        return Err(BankError::file(
            "MT940 文件里没有对账单",
            "the MT940 file holds no statement",
        ));
    }
    st.sections = st.parts.len();
    st.declared.opening = st.parts.first().map(|p| p.opening);
    st.declared.closing = st.parts.last().map(|p| p.closing);
    Ok(st)
}
