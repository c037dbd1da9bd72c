//! Matching statement lines with the book's entries on the same bank account, pure.
//!
//! An ordered rule table ([`Rules::order`]) is tried rule by rule; the first rule under which
//! a line and an entry pair up *uniquely* makes the match:
//!
//! 1. [`Rule::Reference`]: same amount, and the entry's voucher number is the line's bank
//!    serial or stands in its texts (摘要, 用途, 附言);
//! 2. [`Rule::Counterparty`]: same amount, the counterparty's account (digits) or name
//!    (normalised) is the payee's, booked within [`Rules::counterparty_days`];
//! 3. [`Rule::AmountDate`]: same amount within [`Rules::amount_days`];
//! 4. [`Rule::Tolerance`]: the amounts differ by at most [`Rules::tolerance`] (0 by default,
//!    which switches the rule off), within [`Rules::amount_days`]; the difference is to be
//!    booked to [`Rules::fee_account`].
//!
//! Uniquely means both ways: the line has exactly one entry that passes the rule, and that
//! entry has exactly one line that passes it. A pair the rule cannot tell apart from another
//! is left for the next rule and, failing all, for the exceptions queue, so a match is never
//! a guess. Matches are 1:1. Every match records its rule, the fields that agreed, the
//! difference and the runner-up candidates with why each lost; every line left over is an
//! [`Exception`] with its nearest candidates and why each failed.

use chrono::NaiveDate;
use duban_core::money::Money;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A statement line as matching sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankItem {
    pub id: i64,
    pub date: NaiveDate,
    /// Money in positive, out negative.
    pub amount: Money,
    pub counterparty_name: String,
    pub counterparty_account: String,
    pub serial: Option<String>,
    /// 摘要, 用途, 附言 … joined.
    pub text: String,
}

/// A posting of the book on the bank account, with its transaction's payment details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookItem {
    pub id: i64,
    pub date: NaiveDate,
    /// Debit positive: money into the account positive, as on the statement.
    pub amount: Money,
    pub voucher: Option<String>,
    pub payee_name: Option<String>,
    pub payee_account: Option<String>,
}

/// The rules, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Rule {
    Reference,
    Counterparty,
    AmountDate,
    Tolerance,
    /// Made by a person (`match-manual`), not by the table.
    Manual,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Reference => "reference",
            Rule::Counterparty => "counterparty",
            Rule::AmountDate => "amount_date",
            Rule::Tolerance => "tolerance",
            Rule::Manual => "manual",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Rule::Reference => "凭证号/流水号一致",
            Rule::Counterparty => "金额及对方账号或户名一致",
            Rule::AmountDate => "金额一致且日期相近",
            Rule::Tolerance => "金额在容差内",
            Rule::Manual => "人工匹配",
        }
    }
}

/// A field on which a line and an entry agreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Field {
    Reference,
    Amount,
    CounterpartyAccount,
    CounterpartyName,
    Date,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Reference => "reference",
            Field::Amount => "amount",
            Field::CounterpartyAccount => "counterparty_account",
            Field::CounterpartyName => "counterparty_name",
            Field::Date => "date",
        }
    }
}

/// The rule table and its windows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    pub order: Vec<Rule>,
    /// Days either side for [`Rule::Counterparty`].
    pub counterparty_days: i64,
    /// Days either side for [`Rule::AmountDate`] and [`Rule::Tolerance`].
    pub amount_days: i64,
    /// Largest difference [`Rule::Tolerance`] accepts; zero switches it off.
    pub tolerance: Money,
    /// Where such a difference is booked.
    pub fee_account: String,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            order: vec![
                Rule::Reference,
                Rule::Counterparty,
                Rule::AmountDate,
                Rule::Tolerance,
            ],
            counterparty_days: 5,
            amount_days: 3,
            tolerance: Money::ZERO,
            fee_account: "expenses:bank-fees".into(),
        }
    }
}

/// A candidate that was considered and why it was not taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Candidate {
    pub entry: i64,
    /// The line amount minus the entry amount, in yuan.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub difference: Money,
    pub days_apart: i64,
    /// Why it failed, in Chinese (one reason a line).
    pub why_not: Vec<String>,
}

/// A line and an entry paired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Match {
    pub line: i64,
    pub entry: i64,
    pub rule: Rule,
    pub agreed: Vec<Field>,
    /// Line amount minus entry amount (non-zero only under [`Rule::Tolerance`]).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub difference: Money,
    pub runners_up: Vec<Candidate>,
}

/// A line no rule matched, with its nearest candidates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Exception {
    pub line: i64,
    pub near: Vec<Candidate>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub matches: Vec<Match>,
    pub exceptions: Vec<Exception>,
}

/// How many runner-ups and near candidates are kept.
const NEAR: usize = 3;

/// Full-width to half-width, no spaces, and the usual company suffixes folded, so that
/// `某某科技 有限公司` and `某某科技（有限公司）` compare equal.
pub fn normalise_name(s: &str) -> String {
    let mut t: String = s
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .filter(|c| !c.is_whitespace() && !matches!(c, '(' | ')'))
        .collect::<String>()
        .to_lowercase();
    for suffix in ["股份有限公司", "有限责任公司", "有限公司"] {
        if let Some(stripped) = t.strip_suffix(suffix) {
            t = stripped.to_string();
            break;
        }
    }
    t
}

fn alnum(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase()
}

fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// What one line and one entry have in common, and what they do not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub difference: Money,
    pub days_apart: i64,
    pub reference: bool,
    pub account: bool,
    pub name: bool,
    /// The line names a counterparty and the entry a payee, and neither account nor name
    /// comes close (one inside the other, after normalising): another party.
    pub other_party: bool,
}

impl Comparison {
    pub fn of(l: &BankItem, e: &BookItem) -> Comparison {
        let voucher = e.voucher.as_deref().map(squeeze).unwrap_or_default();
        let reference = voucher.chars().count() >= 3
            && (l.serial.as_deref().map(squeeze).as_deref() == Some(voucher.as_str())
                || squeeze(&l.text).contains(&voucher));
        let account = e
            .payee_account
            .as_deref()
            .map(alnum)
            .is_some_and(|a| !a.is_empty() && a == alnum(&l.counterparty_account));
        let name = e
            .payee_name
            .as_deref()
            .map(normalise_name)
            .is_some_and(|n| !n.is_empty() && n == normalise_name(&l.counterparty_name));
        let close =
            |a: &str, b: &str| !a.is_empty() && !b.is_empty() && (a.contains(b) || b.contains(a));
        let (la, ea) = (
            alnum(&l.counterparty_account),
            e.payee_account.as_deref().map(alnum).unwrap_or_default(),
        );
        let (ln, en) = (
            normalise_name(&l.counterparty_name),
            e.payee_name
                .as_deref()
                .map(normalise_name)
                .unwrap_or_default(),
        );
        let other_party = (!la.is_empty() || !ln.is_empty())
            && (!ea.is_empty() || !en.is_empty())
            && !close(&la, &ea)
            && !close(&ln, &en);
        Comparison {
            difference: Money::from_fen(l.amount.fen().saturating_sub(e.amount.fen())),
            days_apart: (l.date - e.date).num_days().abs(),
            reference,
            account,
            name,
            other_party,
        }
    }

    fn same_amount(&self) -> bool {
        self.difference.is_zero()
    }

    fn within_tolerance(&self, rules: &Rules) -> bool {
        !rules.tolerance.is_zero()
            && self.difference.fen().unsigned_abs() <= rules.tolerance.fen().unsigned_abs()
    }

    /// Whether `self` (another line) could be the entry's line as well when `rule` matches:
    /// it passes the rule too, or, for [`Rule::Counterparty`], it has the amount and the date
    /// and a counterparty close to the payee's but garbled (a typo), so it may be the one.
    fn rivals(&self, rule: Rule, rules: &Rules) -> bool {
        self.passes(rule, rules)
            || (rule == Rule::Counterparty
                && self.same_amount()
                && self.days_apart <= rules.counterparty_days
                && !self.other_party)
    }

    /// Whether the pair passes `rule`.
    pub fn passes(&self, rule: Rule, rules: &Rules) -> bool {
        match rule {
            Rule::Reference => self.same_amount() && self.reference,
            Rule::Counterparty => {
                self.same_amount()
                    && (self.account || self.name)
                    && self.days_apart <= rules.counterparty_days
            }
            Rule::AmountDate => {
                self.same_amount() && self.days_apart <= rules.amount_days && !self.other_party
            }
            Rule::Tolerance => {
                self.within_tolerance(rules)
                    && self.days_apart <= rules.amount_days
                    && !self.other_party
            }
            Rule::Manual => false,
        }
    }

    /// The fields that agree.
    pub fn agreed(&self, rules: &Rules) -> Vec<Field> {
        let mut f = Vec::new();
        if self.reference {
            f.push(Field::Reference);
        }
        if self.same_amount() {
            f.push(Field::Amount);
        }
        if self.account {
            f.push(Field::CounterpartyAccount);
        }
        if self.name {
            f.push(Field::CounterpartyName);
        }
        if self.days_apart <= rules.amount_days {
            f.push(Field::Date);
        }
        f
    }

    /// Why the pair fails every rule, in Chinese.
    fn why_not(&self, rules: &Rules) -> Vec<String> {
        let mut why = Vec::new();
        if !self.same_amount() {
            why.push(if self.within_tolerance(rules) {
                format!("金额相差{}，在容差内", self.difference)
            } else {
                format!("金额相差{}", self.difference)
            });
        }
        if self.days_apart > rules.amount_days {
            why.push(format!(
                "日期相差{}天，超出±{}天",
                self.days_apart, rules.amount_days
            ));
        }
        if !self.reference {
            why.push("凭证号/流水号不符".into());
        }
        if self.other_party {
            why.push("对方是另一单位：账号、户名与收款人都不相近".into());
        } else if !self.account && !self.name {
            why.push("对方账号、户名与收款人不完全一致".into());
        }
        why
    }
}

/// Indexes of both sides by amount (exact and ordered), so that no rule scans N×M.
struct Index<'a> {
    book: &'a [BookItem],
    by_amount: BTreeMap<Money, Vec<usize>>,
    lines_by_amount: BTreeMap<Money, Vec<usize>>,
}

/// The items whose amount lies within `tolerance` of `amount`.
fn within(map: &BTreeMap<Money, Vec<usize>>, amount: Money, tolerance: Money) -> Vec<usize> {
    let t = tolerance.fen().abs();
    let from = Money::from_fen(amount.fen().saturating_sub(t));
    let to = Money::from_fen(amount.fen().saturating_add(t));
    map.range(from..=to)
        .flat_map(|(_, v)| v.iter().copied())
        .collect()
}

impl<'a> Index<'a> {
    fn new(lines: &[BankItem], book: &'a [BookItem]) -> Index<'a> {
        let mut i = Index {
            book,
            by_amount: BTreeMap::new(),
            lines_by_amount: BTreeMap::new(),
        };
        for (k, e) in book.iter().enumerate() {
            i.by_amount.entry(e.amount).or_default().push(k);
        }
        for (k, l) in lines.iter().enumerate() {
            i.lines_by_amount.entry(l.amount).or_default().push(k);
        }
        i
    }

    /// Entries that could pass `rule` with a line (a superset, filtered by the caller).
    fn entries_for(&self, l: &BankItem, rule: Rule, rules: &Rules) -> Vec<usize> {
        match rule {
            Rule::Tolerance => within(&self.by_amount, l.amount, rules.tolerance),
            _ => within(&self.by_amount, l.amount, Money::ZERO),
        }
    }

    /// Lines that could pass `rule` with an entry.
    fn lines_for(&self, e: &BookItem, rule: Rule, rules: &Rules) -> Vec<usize> {
        match rule {
            Rule::Tolerance => within(&self.lines_by_amount, e.amount, rules.tolerance),
            _ => within(&self.lines_by_amount, e.amount, Money::ZERO),
        }
    }

    /// The entries nearest a line: the same amount first, by days apart, then the closest
    /// amounts on the same side (in or out) within the date window.
    fn near(&self, l: &BankItem, rules: &Rules) -> Vec<usize> {
        let days = |k: &usize| (l.date - self.book[*k].date).num_days().abs();
        let mut same: Vec<usize> = within(&self.by_amount, l.amount, Money::ZERO);
        same.sort_by_key(|k| (days(k), *k));
        same.truncate(NEAR);
        let in_window = |k: &usize| {
            days(k) <= rules.amount_days
                && self.book[*k].amount.is_negative() == l.amount.is_negative()
        };
        // Walk outward from the line's amount, a bounded number of amounts each way.
        let below = self
            .by_amount
            .range(..l.amount)
            .rev()
            .take(64)
            .flat_map(|(_, v)| v.iter().copied());
        let above = self
            .by_amount
            .range(l.amount..)
            .skip_while(|(a, _)| **a == l.amount)
            .take(64)
            .flat_map(|(_, v)| v.iter().copied());
        let mut other: Vec<usize> = below.chain(above).filter(in_window).collect();
        other.sort_by_key(|k| {
            (
                l.amount
                    .fen()
                    .saturating_sub(self.book[*k].amount.fen())
                    .unsigned_abs(),
                days(k),
                *k,
            )
        });
        same.into_iter().chain(other).take(NEAR + 1).collect()
    }
}

/// Matches `lines` with `book` by the rule table. Deterministic: the same input gives the
/// same matches in the same order.
pub fn reconcile(lines: &[BankItem], book: &[BookItem], rules: &Rules) -> Outcome {
    let index = Index::new(lines, book);
    let mut line_taken: Vec<Option<usize>> = vec![None; lines.len()];
    let mut entry_taken: Vec<Option<usize>> = vec![None; book.len()];
    let mut made: Vec<(usize, usize, Rule)> = Vec::new();
    for &rule in &rules.order {
        if rule == Rule::Tolerance && rules.tolerance.is_zero() {
            continue;
        }
        loop {
            let mut progress = false;
            for (li, l) in lines.iter().enumerate() {
                if line_taken[li].is_some() {
                    continue;
                }
                let mut passing = index
                    .entries_for(l, rule, rules)
                    .into_iter()
                    .filter(|&k| entry_taken[k].is_none())
                    .filter(|&k| Comparison::of(l, &book[k]).passes(rule, rules));
                let (Some(k), None) = (passing.next(), passing.next()) else {
                    continue;
                };
                let e = &book[k];
                let rivals = index
                    .lines_for(e, rule, rules)
                    .into_iter()
                    .filter(|&j| j != li && line_taken[j].is_none())
                    .any(|j| Comparison::of(&lines[j], e).rivals(rule, rules));
                if rivals {
                    continue;
                }
                line_taken[li] = Some(k);
                entry_taken[k] = Some(li);
                made.push((li, k, rule));
                progress = true;
            }
            if !progress {
                break;
            }
        }
    }
    let taken_by = |k: usize, li: usize| -> Option<String> {
        match entry_taken[k] {
            Some(j) if j != li => Some(format!("已与银行流水#{}匹配", lines[j].id)),
            _ => None,
        }
    };
    // The nearest candidates of line `li` but `winner`, each with why it was not taken:
    // beside a match, how it falls short of the winning rule; for an exception, the rule it
    // passes without being unique, else every way it differs.
    let candidates = |li: usize, winner: Option<(usize, Rule)>| -> Vec<Candidate> {
        let l = &lines[li];
        index
            .near(l, rules)
            .into_iter()
            .filter(|k| Some(*k) != winner.map(|w| w.0))
            .take(NEAR)
            .map(|k| {
                let c = Comparison::of(l, &book[k]);
                let mut why = Vec::new();
                if let Some(t) = taken_by(k, li) {
                    why.push(t);
                }
                let first = rules.order.iter().copied().find(|r| c.passes(*r, rules));
                match (winner, first) {
                    (Some((_, rule)), _) => {
                        why.push(format!("不符合“{}”", rule.zh()));
                        why.extend(c.why_not(rules));
                    }
                    (None, Some(r)) if entry_taken[k].is_none() => why.push(format!(
                        "符合“{}”，但不唯一：还有其他流水或分录同样符合",
                        r.zh()
                    )),
                    (None, Some(_)) => {}
                    (None, None) => why.extend(c.why_not(rules)),
                }
                Candidate {
                    entry: book[k].id,
                    difference: c.difference,
                    days_apart: c.days_apart,
                    why_not: why,
                }
            })
            .collect()
    };
    let mut out = Outcome::default();
    for (li, k, rule) in made {
        let c = Comparison::of(&lines[li], &book[k]);
        out.matches.push(Match {
            line: lines[li].id,
            entry: book[k].id,
            rule,
            agreed: c.agreed(rules),
            difference: c.difference,
            runners_up: candidates(li, Some((k, rule))),
        });
    }
    for (li, l) in lines.iter().enumerate() {
        if line_taken[li].is_none() {
            out.exceptions.push(Exception {
                line: l.id,
                near: candidates(li, None),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests;
