//! A statement laid out as a table: the header row found by a profile's keywords, the
//! label/value block above it and the footer below it, the lines in between, the direction
//! of each amount, and the balance chain.

use crate::grid::Row;
use crate::profile::{Field, Profile};
use crate::value::{self, Cell, amount, norm};
use crate::{BankError, Chain, DeclaredRows, FileKind, Line, Statement};
use chrono::NaiveDate;
use duban_core::money::Money;
use std::collections::HashMap;

/// How many rows from the top the header is looked for in.
pub(crate) const HEADER_SEARCH: usize = 80;

/// Which column holds which field.
pub(crate) struct Map {
    pub(crate) cols: HashMap<Field, usize>,
    pub(crate) remark: Vec<usize>,
    header: Vec<String>,
}

impl Map {
    fn get<'a>(&self, cells: &'a [Cell], f: Field) -> &'a Cell {
        static EMPTY: Cell = Cell::Empty;
        self.cols
            .get(&f)
            .and_then(|&j| cells.get(j))
            .unwrap_or(&EMPTY)
    }

    fn name(&self, f: Field) -> String {
        self.cols
            .get(&f)
            .and_then(|&j| self.header.get(j))
            .map(|h| h.trim().to_string())
            .unwrap_or_default()
    }

    fn has(&self, f: Field) -> bool {
        self.cols.contains_key(&f)
    }

    /// A table: amounts in two columns or one, and a balance or a date.
    pub(crate) fn usable(&self) -> bool {
        let money = (self.has(Field::Debit) && self.has(Field::Credit)) || self.has(Field::Amount);
        money && (self.has(Field::Balance) || self.has(Field::Date) || self.has(Field::Time))
    }
}

fn is_label(raw: &str) -> bool {
    let t = raw.trim_end();
    t.ends_with(':') || t.ends_with('：')
}

/// Assigns columns to fields: first whole-cell matches in keyword order, then, for the
/// essential fields, headers that contain a keyword.
pub(crate) fn map_header(cells: &[Cell], profile: &Profile) -> Map {
    let header: Vec<String> = cells.iter().map(Cell::text).collect();
    let normed: Vec<String> = header
        .iter()
        .map(|h| if is_label(h) { String::new() } else { norm(h) })
        .collect();
    let mut taken = vec![false; normed.len()];
    let mut cols = HashMap::new();
    for f in Field::ALL {
        for k in profile.columns.keywords(f) {
            let k = norm(k);
            if let Some(j) =
                (0..normed.len()).find(|&j| !taken[j] && !k.is_empty() && normed[j] == k)
            {
                taken[j] = true;
                cols.insert(f, j);
                break;
            }
        }
    }
    for f in Field::ALL.into_iter().filter(|f| f.loose()) {
        if cols.contains_key(&f) {
            continue;
        }
        for k in profile.columns.keywords(f) {
            let k = norm(k);
            if let Some(j) = (0..normed.len())
                .find(|&j| !taken[j] && k.chars().count() >= 2 && normed[j].contains(&k))
            {
                taken[j] = true;
                cols.insert(f, j);
                break;
            }
        }
    }
    let remark_keys: Vec<String> = profile.columns.remark.iter().map(|k| norm(k)).collect();
    let remark = (0..normed.len())
        .filter(|&j| !taken[j] && remark_keys.contains(&normed[j]))
        .collect();
    Map {
        cols,
        remark,
        header,
    }
}

/// The first profile (in order) that finds a usable header row, with that row's index.
pub(crate) fn find_header<'p>(
    rows: &[Row],
    profiles: &'p [Profile],
) -> Option<(&'p Profile, usize, Map)> {
    let limit = rows.len().min(HEADER_SEARCH);
    let normed: Vec<Vec<String>> = rows[..limit]
        .iter()
        .map(|(_, cells)| cells.iter().map(|c| norm(&c.text())).collect())
        .collect();
    for p in profiles {
        for (i, (_, cells)) in rows[..limit].iter().enumerate() {
            let detected = p.detect.iter().all(|d| {
                let d = norm(d);
                normed[..=i]
                    .iter()
                    .any(|r| r.iter().any(|c| c.contains(&d)))
            });
            if !detected {
                continue;
            }
            let map = map_header(cells, p);
            if map.usable() {
                return Some((p, i, map));
            }
        }
    }
    None
}

/// The sign an amount takes in each reading of an ambiguous layout.
#[derive(Clone, Copy)]
struct Signed {
    usual: Money,
    flipped: Money,
}

impl Signed {
    /// An unsigned amount that usually means money leaving when `out`, read either way.
    fn leaving(m: Money, out: bool) -> Signed {
        let neg = m.checked_neg().unwrap_or(m);
        if out {
            Signed {
                usual: neg,
                flipped: m,
            }
        } else {
            Signed {
                usual: m,
                flipped: neg,
            }
        }
    }
}

struct Raw {
    line: Line,
    amount: Signed,
    payer: [String; 3],
    payee: [String; 3],
}

/// Column meaning from its header: `Some(true)` money leaving, `Some(false)` coming in.
fn hint(header: &str) -> Option<bool> {
    let out = ["支", "出", "付", "扣"].iter().any(|h| header.contains(h));
    let inc = ["收", "入", "存"].iter().any(|h| header.contains(h));
    match (out, inc) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

pub fn read(
    file_name: &str,
    kind: FileKind,
    rows: &[Row],
    profiles: &[Profile],
) -> Result<Statement, BankError> {
    let Some((profile, h, map)) = find_header(rows, profiles) else {
        return Err(BankError::file(
            "找不到明细表头：前80行中没有同时含金额列（借方/贷方、收入/支出、转入/转出或交易金额）和余额或日期列的一行",
            "no header row found: none of the first 80 rows names amount columns (debit/credit, in/out or one amount) together with a balance or date column",
        ));
    };
    let mut st = Statement::new(file_name, kind, &profile.name, &profile.bank);
    labels(&rows[..h], profile, &mut st)?;

    // Direction: two columns whose headers say which way (支取, 收入 …), or 借方/贷方 alone,
    // which is money leaving for most banks; a flag; or a signed amount.
    let two = map.has(Field::Debit) && map.has(Field::Credit);
    let (debit_out, ambiguous) = if two {
        match (
            hint(&map.name(Field::Debit)),
            hint(&map.name(Field::Credit)),
        ) {
            (Some(true), Some(false)) | (Some(true), None) | (None, Some(false)) => (true, false),
            (Some(false), Some(true)) | (Some(false), None) | (None, Some(true)) => (false, false),
            _ => (true, true),
        }
    } else {
        (true, false)
    };
    let flag_words = |words: &[String]| words.iter().map(|w| norm(w)).collect::<Vec<_>>();
    let (flag_out, flag_in) = (flag_words(&profile.flag_out), flag_words(&profile.flag_in));
    let footer: Vec<String> = profile.footer.iter().map(|f| norm(f)).collect();

    let mut raws = Vec::new();
    let mut flag_ambiguous = false;
    let mut footer_at = None;
    for (i, (row, cells)) in rows.iter().enumerate().skip(h + 1) {
        if cells.iter().all(Cell::is_empty) {
            continue;
        }
        // The footer starts at a row that opens with a total (合计, 汇总 …) or a label
        // (`借方笔数:`); a remark ending in a colon further along is just text.
        let first = cells
            .iter()
            .find(|c| !c.is_empty())
            .map(Cell::text)
            .unwrap_or_default();
        let first_norm = norm(&first);
        if footer.iter().any(|f| first_norm.starts_with(f.as_str())) || is_label(&first) {
            footer_at = Some(i);
            break;
        }
        let essential = [
            Field::Debit,
            Field::Credit,
            Field::Amount,
            Field::Balance,
            Field::Date,
            Field::Time,
        ];
        if essential.iter().all(|f| map.get(cells, *f).is_empty()) {
            continue;
        }
        let cell_err =
            |f: Field, (zh, en): (String, String)| BankError::cell(*row, &map.name(f), zh, en);
        let money = |f: Field| -> Result<Option<(Money, bool)>, BankError> {
            amount(map.get(cells, f))
                .map(|m| m.filter(|(m, _)| !m.is_zero()))
                .map_err(|e| cell_err(f, e))
        };
        let signed = if two {
            match (money(Field::Debit)?, money(Field::Credit)?) {
                (Some((d, _)), None) => Signed::leaving(d, debit_out),
                (None, Some((c, _))) => Signed::leaving(c, !debit_out),
                (both, _) => {
                    let (d, c) = (map.name(Field::Debit), map.name(Field::Credit));
                    let (zh, en) = if both.is_some() {
                        ("都有金额", format!("both {d} and {c} hold an amount"))
                    } else {
                        ("都没有金额", format!("neither {d} nor {c} holds an amount"))
                    };
                    return Err(BankError::at(*row, format!("“{d}”和“{c}”两列{zh}"), en));
                }
            }
        } else {
            let Some((m, explicit)) = money(Field::Amount)? else {
                return Err(cell_err(
                    Field::Amount,
                    ("没有金额".into(), "no amount".into()),
                ));
            };
            let flag = norm(&map.get(cells, Field::Flag).text());
            let by_flag = if flag.is_empty() || !map.has(Field::Flag) {
                None
            } else if flag_out.contains(&flag) {
                Some(true)
            } else if flag_in.contains(&flag) {
                Some(false)
            } else {
                return Err(cell_err(
                    Field::Flag,
                    (
                        format!("“{flag}”不是已知的借贷标志"),
                        format!("{flag:?} is not a known debit/credit flag"),
                    ),
                ));
            };
            match (explicit || m.is_negative(), by_flag) {
                (true, Some(out)) if out != m.is_negative() => {
                    return Err(cell_err(
                        Field::Amount,
                        (
                            format!("金额的符号与“{}”列的“{flag}”相反", map.name(Field::Flag)),
                            format!(
                                "the amount's sign contradicts {flag:?} in {}",
                                map.name(Field::Flag)
                            ),
                        ),
                    ));
                }
                (true, _) | (false, None) => Signed {
                    usual: m,
                    flipped: m,
                },
                (false, Some(out)) => {
                    flag_ambiguous |=
                        ["借", "贷", "借方", "贷方", "1", "2"].contains(&flag.as_str());
                    Signed::leaving(m, out)
                }
            }
        };
        let balance = amount(map.get(cells, Field::Balance))
            .map_err(|e| cell_err(Field::Balance, e))?
            .map(|(m, _)| m);
        let when = |f: Field| {
            value::when(map.get(cells, f)).ok_or_else(|| {
                let t = map.get(cells, f).text();
                cell_err(
                    f,
                    (
                        format!("“{t}”不是日期或时间"),
                        format!("{t:?} is not a date or time"),
                    ),
                )
            })
        };
        let (d, t, v) = (
            when(Field::Date)?,
            when(Field::Time)?,
            when(Field::ValueDate)?,
        );
        let date = d.date.or(t.date);
        let time = match (t.date.or(d.date), t.time.or(d.time)) {
            (Some(day), Some(at)) => Some(day.and_time(at)),
            _ => None,
        };
        if date.is_none() {
            let f = if map.has(Field::Date) {
                Field::Date
            } else {
                Field::Time
            };
            return Err(cell_err(
                f,
                ("没有交易日期".into(), "no booking date".into()),
            ));
        }
        let text = |f: Field| map.get(cells, f).text();
        let remark = map
            .remark
            .iter()
            .filter_map(|&j| cells.get(j).map(Cell::text))
            .filter(|t| !t.is_empty() && t.chars().any(|c| c.is_alphanumeric()))
            .collect::<Vec<_>>()
            .join("；");
        let serial = Some(text(Field::Serial)).filter(|s| !s.is_empty());
        if st.account.is_none() && !text(Field::Account).is_empty() {
            st.account = Some(text(Field::Account));
        }
        if st.account_name.is_none() && !text(Field::AccountName).is_empty() {
            st.account_name = Some(text(Field::AccountName));
        }
        if st.currency.is_none() && !text(Field::Currency).is_empty() {
            st.currency = Some(text(Field::Currency));
        }
        raws.push(Raw {
            line: Line {
                row: *row,
                date,
                time,
                value_date: v.date,
                amount: signed.usual,
                balance,
                counterparty_name: text(Field::CounterpartyName),
                counterparty_account: text(Field::CounterpartyAccount),
                counterparty_bank: text(Field::CounterpartyBank),
                summary: text(Field::Summary),
                purpose: text(Field::Purpose),
                remark,
                serial,
                id: String::new(),
            },
            amount: signed,
            payer: [
                text(Field::PayerName),
                text(Field::PayerAccount),
                text(Field::PayerBank),
            ],
            payee: [
                text(Field::PayeeName),
                text(Field::PayeeAccount),
                text(Field::PayeeBank),
            ],
        });
    }
    if let Some(f) = footer_at {
        labels(&rows[f..], profile, &mut st)?;
    }

    // An ambiguous direction is the one under which the balance chains.
    let with = |flipped: bool| -> Vec<Line> {
        raws.iter()
            .map(|r| {
                let mut l = r.line.clone();
                l.amount = if flipped {
                    r.amount.flipped
                } else {
                    r.amount.usual
                };
                l
            })
            .collect()
    };
    let mut lines = with(false);
    if (ambiguous || flag_ambiguous) && chain_break(&lines).is_some() {
        let flipped = with(true);
        if chain_break(&flipped).is_none() {
            lines = flipped;
            st.notes.push(
                "按余额连续性判定方向：此文件的借方为收入、贷方为支出  (by the balance chain, this file's 借方 is money coming in)".into(),
            );
        }
    }
    for (l, r) in lines.iter_mut().zip(&raws) {
        if l.counterparty_name.is_empty() && l.counterparty_account.is_empty() {
            let [n, a, b] = if l.amount.is_negative() {
                &r.payee
            } else {
                &r.payer
            };
            l.counterparty_name = n.clone();
            l.counterparty_account = a.clone();
            l.counterparty_bank = b.clone();
        }
    }
    st.lines = lines;
    st.balance_column = map.name(Field::Balance);
    Ok(st)
}

/// Reads label/value pairs (`账号:` `123`, `借方笔数：7`) into the statement.
fn labels(rows: &[Row], profile: &Profile, st: &mut Statement) -> Result<(), BankError> {
    let l = &profile.labels;
    let sets: Vec<(&[String], &str)> = vec![
        (&l.account, "account"),
        (&l.account_name, "account_name"),
        (&l.currency, "currency"),
        (&l.from, "from"),
        (&l.to, "to"),
        (&l.period, "period"),
        (&l.count, "count"),
        (&l.debit_count, "debit_count"),
        (&l.debit_total, "debit_total"),
        (&l.credit_count, "credit_count"),
        (&l.credit_total, "credit_total"),
        (&l.opening, "opening"),
        (&l.closing, "closing"),
    ];
    let which = |label: &str| {
        sets.iter()
            .find(|(keys, _)| keys.iter().any(|k| norm(k) == label))
            .map(|(_, w)| *w)
    };
    for (row, cells) in rows {
        let mut j = 0;
        while j < cells.len() {
            let raw = cells[j].text();
            j += 1;
            if raw.is_empty() {
                continue;
            }
            let (label, inline) = match raw.find([':', '：']) {
                Some(i) => (
                    norm(&raw[..i]),
                    raw[i..].trim_start_matches([':', '：']).trim().to_string(),
                ),
                None => (norm(&raw), String::new()),
            };
            let colon = raw.contains([':', '：']);
            let what = which(&label);
            if what.is_none() && !colon {
                continue;
            }
            let value = if !inline.is_empty() {
                Cell::Text(inline)
            } else {
                match cells[j..].iter().position(|c| !c.is_empty()) {
                    Some(k)
                        if !(is_label(&cells[j + k].text())
                            && which(&norm(&cells[j + k].text())).is_some()) =>
                    {
                        j += k + 1;
                        cells[j - 1].clone()
                    }
                    _ => Cell::Empty,
                }
            };
            let Some(what) = what else { continue };
            let shown = raw
                .split([':', '：'])
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            set_label(st, what, &value, *row, &shown)?;
        }
    }
    Ok(())
}

fn set_label(
    st: &mut Statement,
    what: &str,
    value: &Cell,
    row: usize,
    label: &str,
) -> Result<(), BankError> {
    let text = value.text();
    if text.is_empty() {
        return Ok(());
    }
    let at = Some((row, label.to_string()));
    let bad = |zh: &str, en: &str| {
        BankError::cell(
            row,
            label,
            format!("“{text}”不是{zh}"),
            format!("{text:?} is not {en}"),
        )
    };
    let count = || value::count(value).ok_or_else(|| bad("笔数", "a count"));
    let money = || match amount(value) {
        Ok(Some((m, _))) => Ok(m),
        Ok(None) => Err(bad("金额", "an amount")),
        Err((zh, en)) => Err(BankError::cell(row, label, zh, en)),
    };
    let date = || -> Result<NaiveDate, BankError> {
        value::when(value)
            .and_then(|w| w.date)
            .ok_or_else(|| bad("日期", "a date"))
    };
    let d = &mut st.declared;
    let r: &mut DeclaredRows = &mut d.rows;
    match what {
        "account" => st.account = Some(text),
        "account_name" => st.account_name = Some(text),
        "currency" => st.currency = Some(text),
        "from" => st.period_from = Some(date()?),
        "to" => st.period_to = Some(date()?),
        "period" => {
            let (a, b) = value::period(&text).ok_or_else(|| bad("日期范围", "a period"))?;
            st.period_from = Some(a);
            st.period_to = Some(b);
        }
        "count" => (d.count, r.count) = (Some(count()?), at),
        "debit_count" => (d.debit_count, r.debit_count) = (Some(count()?), at),
        "credit_count" => (d.credit_count, r.credit_count) = (Some(count()?), at),
        "debit_total" => (d.debit_total, r.debit_total) = (Some(money()?.abs_value()), at),
        "credit_total" => (d.credit_total, r.credit_total) = (Some(money()?.abs_value()), at),
        "opening" => (d.opening, r.opening) = (Some(money()?), at),
        "closing" => (d.closing, r.closing) = (Some(money()?), at),
        _ => {}
    }
    Ok(())
}

trait Abs {
    fn abs_value(self) -> Money;
}

impl Abs for Money {
    fn abs_value(self) -> Money {
        if self.is_negative() {
            self.checked_neg().unwrap_or(self)
        } else {
            self
        }
    }
}

/// Index (in the given order) of the first line whose balance does not follow the one
/// before it, with the balance it should have had; `None` when the chain holds. Lines
/// without a balance break it.
fn chain_break_in<'a>(lines: impl Iterator<Item = &'a Line>) -> Option<(usize, Option<Money>)> {
    let mut prev: Option<Money> = None;
    for (k, l) in lines.enumerate() {
        let b = l.balance?;
        if let Some(p) = prev {
            let expected = p.checked_add(l.amount);
            if expected != Some(b) {
                return Some((k, expected));
            }
        }
        prev = Some(b);
    }
    None
}

fn chain_break(lines: &[Line]) -> Option<usize> {
    chain_break_in(lines.iter())?;
    chain_break_in(lines.iter().rev()).map(|(k, _)| k)
}

/// The chain of a checked statement: its kind, opening and closing.
pub fn chain(st: &Statement) -> Result<(Chain, Option<Money>, Option<Money>), BankError> {
    let lines = &st.lines;
    let overflow = || BankError::file("金额合计超出范围", "the sum of the amounts overflows");
    if !st.parts.is_empty() {
        let mut prev_closing: Option<(Money, String)> = None;
        for p in &st.parts {
            if let Some((c, account)) = &prev_closing
                && *account == p.account
                && *c != p.opening
            {
                return Err(BankError::cell(
                    p.opening_row,
                    p.tags.0,
                    format!("期初余额{}与上一段对账单的期末余额{c}不符", p.opening),
                    format!(
                        "the opening balance {} is not the previous statement's closing balance {c}",
                        p.opening
                    ),
                ));
            }
            let mut sum = p.opening;
            for l in &lines[p.start..p.end] {
                sum = sum.checked_add(l.amount).ok_or_else(overflow)?;
            }
            if sum != p.closing {
                return Err(BankError::cell(
                    p.closing_row,
                    p.tags.1,
                    format!(
                        "期末余额{}与期初余额{}加本段明细（={sum}）不符，相差{}",
                        p.closing,
                        p.opening,
                        diff(sum, p.closing)
                    ),
                    format!(
                        "the closing balance {} is not the opening balance {} plus the lines (= {sum}); {} apart",
                        p.closing,
                        p.opening,
                        diff(sum, p.closing)
                    ),
                ));
            }
            prev_closing = Some((p.closing, p.account.clone()));
        }
        let first = st.parts.first().map(|p| p.opening);
        let last = st.parts.last().map(|p| p.closing);
        return Ok((Chain::DeclaredBalances, first, last));
    }
    let with_balance = lines.iter().filter(|l| l.balance.is_some()).count();
    if with_balance == 0 {
        return Ok((Chain::None, None, None));
    }
    let column = if st.balance_column.is_empty() {
        "余额"
    } else {
        st.balance_column.as_str()
    };
    if let Some(l) = lines.iter().find(|l| l.balance.is_none()) {
        return Err(BankError::cell(
            l.row,
            column,
            "没有余额，其他各笔都有",
            "no balance, while the other lines have one",
        ));
    }
    let newest_first = match (
        lines
            .first()
            .and_then(|l| l.time.or(l.date.map(|d| d.and_time(Default::default())))),
        lines
            .last()
            .and_then(|l| l.time.or(l.date.map(|d| d.and_time(Default::default())))),
    ) {
        (Some(a), Some(b)) => a > b,
        _ => false,
    };
    let forward = chain_break_in(lines.iter());
    let backward = chain_break_in(lines.iter().rev());
    let opening_of = |l: &Line| l.balance.and_then(|b| b.checked_sub(l.amount));
    let reverse = backward.is_none() && (forward.is_some() || newest_first);
    match (forward, backward) {
        (None, _) if !reverse => Ok((
            Chain::FileOrder,
            lines.first().and_then(opening_of),
            lines.last().and_then(|l| l.balance),
        )),
        (Some((k, expected)), Some((kr, expected_r))) => {
            let (idx, prev, expected) = if newest_first {
                let idx = lines.len() - 1 - kr;
                (idx, &lines[idx + 1], expected_r)
            } else {
                (k, &lines[k - 1], expected)
            };
            let l = &lines[idx];
            let actual = l.balance.unwrap_or_default();
            let expected = expected.unwrap_or_default();
            let nth = idx + 1;
            Err(BankError::cell(
                l.row,
                column,
                format!(
                    "第{nth}笔的余额{actual}与上一笔余额{}加本笔金额{}（={expected}）不符，相差{}，余额不连续（缺少明细或明细有误）",
                    prev.balance.unwrap_or_default(),
                    l.amount,
                    diff(expected, actual)
                ),
                format!(
                    "line {nth}'s balance {actual} does not follow the previous balance {} plus its amount {} (= {expected}); {} apart: the balance chain is broken (a line is missing or wrong)",
                    prev.balance.unwrap_or_default(),
                    l.amount,
                    diff(expected, actual)
                ),
            ))
        }
        _ => Ok((
            Chain::ReverseFileOrder,
            lines.last().and_then(opening_of),
            lines.first().and_then(|l| l.balance),
        )),
    }
}

fn diff(a: Money, b: Money) -> Money {
    a.checked_sub(b).map(|d| d.abs_value()).unwrap_or_default()
}
