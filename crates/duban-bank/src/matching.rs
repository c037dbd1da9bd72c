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
//!    booked to [`Rules::fee_account`];
//! 5. [`Rule::Combined`]: several entries paid in one line (N:1): entries of the line's
//!    counterparty (account or name) within [`Rules::group_days`] whose sum is the line's
//!    amount exactly;
//! 6. [`Rule::Split`]: one entry paid in several lines (1:N), the same the other way round.
//!
//! Uniquely means both ways: the line has exactly one entry that passes the rule, and that
//! entry has exactly one line that passes it. A pair the rule cannot tell apart from another
//! is left for the next rule and, failing all, for the exceptions queue, so a match is never
//! a guess. A group is taken only when it is the one combination of at most
//! [`Rules::group_max_parts`] parts that sums to the amount, no other open item could claim
//! any of its parts, and none of its parts has an open counterpart of its own amount. Every
//! match records its rule, the fields that agreed, the difference and the runner-up
//! candidates with why each lost; every line left over is an [`Exception`] with its nearest
//! candidates and why each failed.
//!
//! [`MatchingConfig`] is the table as configured (`[bank.matching]`): the rules in order,
//! each on or off, the windows, the tolerance in yuan as text and the fee account;
//! [`MatchingConfig::rules`] checks it and names the key that is wrong.

use chrono::NaiveDate;
use duban_core::money::Money;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

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
    /// Several entries paid in one line (N:1).
    Combined,
    /// One entry paid in several lines (1:N).
    Split,
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
            Rule::Combined => "combined",
            Rule::Split => "split",
            Rule::Manual => "manual",
        }
    }

    /// The rules the table may hold, in their default order.
    pub const TABLE: [Rule; 6] = [
        Rule::Reference,
        Rule::Counterparty,
        Rule::AmountDate,
        Rule::Tolerance,
        Rule::Combined,
        Rule::Split,
    ];

    /// Reads a rule's name as [`Rule::as_str`] writes it.
    pub fn parse(s: &str) -> Option<Rule> {
        Rule::TABLE
            .into_iter()
            .chain([Rule::Manual])
            .find(|r| r.as_str() == s)
    }

    /// Whether the rule pairs groups (N:1 or 1:N) rather than one line with one entry.
    pub fn is_group(self) -> bool {
        matches!(self, Rule::Combined | Rule::Split)
    }

    pub fn zh(self) -> &'static str {
        match self {
            Rule::Reference => "凭证号/流水号一致",
            Rule::Counterparty => "金额及对方账号或户名一致",
            Rule::AmountDate => "金额一致且日期相近",
            Rule::Tolerance => "金额在容差内",
            Rule::Combined => "多笔分录合并一笔支付（对方一致，合计相等）",
            Rule::Split => "一笔分录分多笔支付（对方一致，合计相等）",
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
    /// Days either side of the line (N:1) or the entry (1:N) for the parts of a group.
    pub group_days: i64,
    /// Most parts a group may have (2 or more).
    pub group_max_parts: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            order: Rule::TABLE.to_vec(),
            counterparty_days: 5,
            amount_days: 3,
            tolerance: Money::ZERO,
            fee_account: "expenses:bank-fees".into(),
            group_days: 5,
            group_max_parts: 6,
        }
    }
}

/// One row of the configured rule table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSetting {
    pub rule: String,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// The rule table as written in the configuration (`[bank.matching]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchingConfig {
    /// The rules in the order they are tried, each on or off.
    pub rules: Vec<RuleSetting>,
    pub counterparty_days: i64,
    pub amount_days: i64,
    pub group_days: i64,
    pub group_max_parts: usize,
    /// In yuan, as text (`"0.50"`); `"0"` switches the tolerance rule off.
    pub tolerance: String,
    /// The expense account a difference within the tolerance is booked to.
    pub fee_account: String,
}

impl Default for MatchingConfig {
    fn default() -> Self {
        let r = Rules::default();
        MatchingConfig {
            rules: Rule::TABLE
                .into_iter()
                .map(|rule| RuleSetting {
                    rule: rule.as_str().into(),
                    enabled: true,
                })
                .collect(),
            counterparty_days: r.counterparty_days,
            amount_days: r.amount_days,
            group_days: r.group_days,
            group_max_parts: r.group_max_parts,
            tolerance: "0".into(),
            fee_account: r.fee_account,
        }
    }
}

/// A rule of the table with whether it is on, as a run reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TableRule {
    pub rule: Rule,
    pub enabled: bool,
}

impl MatchingConfig {
    /// The rules to run, checked: every key that is wrong is named as `bank.matching.<key>`.
    pub fn rules(&self) -> Result<Rules, String> {
        let key = |k: &str, why: String| format!("bank.matching.{k}: {why}");
        let mut order = Vec::new();
        let mut seen = Vec::new();
        for (i, s) in self.rules.iter().enumerate() {
            let at = format!("rules[{i}].rule");
            let rule = Rule::parse(&s.rule)
                .filter(|r| *r != Rule::Manual)
                .ok_or_else(|| {
                    key(
                        &at,
                        format!(
                            "{:?} is not a rule (one of {})",
                            s.rule,
                            Rule::TABLE.map(Rule::as_str).join(", ")
                        ),
                    )
                })?;
            if seen.contains(&rule) {
                return Err(key(&at, format!("{:?} is listed twice", s.rule)));
            }
            seen.push(rule);
            if s.enabled {
                order.push(rule);
            }
        }
        for (k, days) in [
            ("counterparty_days", self.counterparty_days),
            ("amount_days", self.amount_days),
            ("group_days", self.group_days),
        ] {
            if !(0..=60).contains(&days) {
                return Err(key(k, format!("{days} is not between 0 and 60 days")));
            }
        }
        if !(2..=8).contains(&self.group_max_parts) {
            return Err(key(
                "group_max_parts",
                format!("{} is not between 2 and 8", self.group_max_parts),
            ));
        }
        let tolerance = duban_core::money::parse_amount(&self.tolerance)
            .map_err(|e| key("tolerance", format!("{:?}: {e}", self.tolerance)))?;
        if tolerance.is_negative() {
            return Err(key(
                "tolerance",
                format!("{:?} is negative", self.tolerance),
            ));
        }
        let fee = self.fee_account.trim();
        let ok = fee.strip_prefix("expenses:").is_some_and(|c| {
            !c.is_empty()
                && c.len() <= 24
                && !c.starts_with('-')
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
        if !ok {
            return Err(key(
                "fee_account",
                format!(
                    "{:?} is not an expense account (expenses:<1–24 of a-z, 0-9, ->)",
                    self.fee_account
                ),
            ));
        }
        Ok(Rules {
            order,
            counterparty_days: self.counterparty_days,
            amount_days: self.amount_days,
            tolerance,
            fee_account: fee.to_string(),
            group_days: self.group_days,
            group_max_parts: self.group_max_parts,
        })
    }
}

impl Rules {
    /// Every rule of the table, each with whether it runs, in the order they run (the
    /// rules switched off after those that run).
    pub fn table(&self) -> Vec<TableRule> {
        let on = |r: &Rule| {
            self.order.contains(r) && !(*r == Rule::Tolerance && self.tolerance.is_zero())
        };
        self.order
            .iter()
            .chain(Rule::TABLE.iter().filter(|r| !self.order.contains(r)))
            .map(|r| TableRule {
                rule: *r,
                enabled: on(r),
            })
            .collect()
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

/// A line and an entry paired, or a group: one line and several entries
/// ([`Rule::Combined`]) or one entry and several lines ([`Rule::Split`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Match {
    pub line: i64,
    pub entry: i64,
    /// The group's other lines (1:N), in date order; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_lines: Vec<i64>,
    /// The group's other entries (N:1), in date order; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_entries: Vec<i64>,
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
    /// What else was tried, in Chinese (a grouping that was not unique).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Match {
    /// Every line of the match.
    pub fn lines(&self) -> Vec<i64> {
        std::iter::once(self.line)
            .chain(self.more_lines.iter().copied())
            .collect()
    }

    /// Every entry of the match.
    pub fn entries(&self) -> Vec<i64> {
        std::iter::once(self.entry)
            .chain(self.more_entries.iter().copied())
            .collect()
    }
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
            Rule::Combined | Rule::Split | Rule::Manual => false,
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

/// Who an item is paid to or by, normalised once: account digits and folded name; for a
/// line that names no counterparty (MT940 and camt.053 put it in the free text), its text.
struct Party {
    date: NaiveDate,
    amount: Money,
    account: String,
    name: String,
    text: String,
}

/// The shortest payee name looked for in a line's free text.
const NAME_IN_TEXT_MIN: usize = 4;

impl Party {
    fn of_line(l: &BankItem) -> Party {
        Party {
            date: l.date,
            amount: l.amount,
            account: alnum(&l.counterparty_account),
            name: normalise_name(&l.counterparty_name),
            text: if l.counterparty_account.trim().is_empty()
                && l.counterparty_name.trim().is_empty()
            {
                normalise_name(&l.text)
            } else {
                String::new()
            },
        }
    }

    fn of_entry(e: &BookItem) -> Party {
        Party {
            date: e.date,
            amount: e.amount,
            account: e.payee_account.as_deref().map(alnum).unwrap_or_default(),
            name: e
                .payee_name
                .as_deref()
                .map(normalise_name)
                .unwrap_or_default(),
            text: String::new(),
        }
    }
}

/// Most candidates a group is searched among; an item with more is left to a person.
const GROUP_CANDIDATES: usize = 16;

/// What the search for one anchor's group found.
enum Found {
    None,
    /// Exactly one combination.
    One(Vec<usize>),
    /// Several combinations (the parts of the first two), or too many candidates.
    Many(Vec<usize>, String),
}

/// One side's items indexed by counterparty account and name.
struct PartyIndex {
    by_account: HashMap<String, Vec<usize>>,
    by_name: HashMap<String, Vec<usize>>,
    /// Items that name no party, only a text.
    texts: Vec<usize>,
}

impl PartyIndex {
    fn new(parties: &[Party]) -> PartyIndex {
        let mut i = PartyIndex {
            by_account: HashMap::new(),
            by_name: HashMap::new(),
            texts: Vec::new(),
        };
        for (k, p) in parties.iter().enumerate() {
            if !p.text.is_empty() {
                i.texts.push(k);
            }
            if !p.account.is_empty() {
                i.by_account.entry(p.account.clone()).or_default().push(k);
            }
            if !p.name.is_empty() {
                i.by_name.entry(p.name.clone()).or_default().push(k);
            }
        }
        i
    }

    /// The open items of the same party as `a` within `days`, on the same side (in or out).
    /// A line that names no party is of the party whose name its text contains.
    fn around(&self, a: &Party, parts: &[Party], open: &[bool], days: i64) -> Vec<usize> {
        let named_in = |text: &str, name: &str| {
            name.chars().count() >= NAME_IN_TEXT_MIN && text.contains(name)
        };
        let in_text: Vec<usize> = if !a.text.is_empty() {
            self.by_name
                .iter()
                .filter(|(n, _)| named_in(&a.text, n))
                .flat_map(|(_, ks)| ks.iter().copied())
                .collect()
        } else if !a.name.is_empty() {
            self.texts
                .iter()
                .copied()
                .filter(|&k| named_in(&parts[k].text, &a.name))
                .collect()
        } else {
            Vec::new()
        };
        let mut out: Vec<usize> = self
            .by_account
            .get(&a.account)
            .into_iter()
            .chain(self.by_name.get(&a.name))
            .flatten()
            .copied()
            .chain(in_text)
            .filter(|&k| {
                open[k]
                    && parts[k].amount.is_negative() == a.amount.is_negative()
                    && !parts[k].amount.is_zero()
                    && (a.date - parts[k].date).num_days().abs() <= days
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The combinations of 2 to `max` of `cands` whose amounts sum to `target`, stopping at the
/// second one. All amounts are on one side, so a partial sum past the target ends a branch.
fn combinations(target: i64, cands: &[(usize, i64)], max: usize) -> Vec<Vec<usize>> {
    fn walk(
        target: i64,
        cands: &[(usize, i64)],
        from: usize,
        max: usize,
        sum: i64,
        picked: &mut Vec<usize>,
        found: &mut Vec<Vec<usize>>,
    ) {
        for k in from..cands.len() {
            if found.len() >= 2 {
                return;
            }
            let s = sum + cands[k].1;
            if s > target {
                continue;
            }
            picked.push(cands[k].0);
            if s == target && picked.len() >= 2 {
                found.push(picked.clone());
            } else if s < target && picked.len() < max {
                walk(target, cands, k + 1, max, s, picked, found);
            }
            picked.pop();
        }
    }
    let mut found = Vec::new();
    walk(target, cands, 0, max, 0, &mut Vec::new(), &mut found);
    found
}

/// The groups a pass took (anchor, parts) and its notes (anchor, why not).
type GroupPass = (Vec<(usize, Vec<usize>)>, Vec<(usize, String)>);

/// One pass of a group rule: `anchors` (lines for [`Rule::Combined`], entries for
/// [`Rule::Split`]) each looking for a unique combination of open `parts`. Returns the
/// groups taken, anchor first, and a note for each anchor whose grouping was not unique.
fn group_pass(
    anchors: &[Party],
    anchor_open: &[bool],
    parts: &[Party],
    part_open: &[bool],
    part_index: &PartyIndex,
    anchor_index: &PartyIndex,
    rules: &Rules,
) -> GroupPass {
    let days = rules.group_days;
    let mut results: Vec<(usize, Found)> = Vec::new();
    for (a, anchor) in anchors.iter().enumerate() {
        if !anchor_open[a] || anchor.amount.is_zero() {
            continue;
        }
        let around = part_index.around(anchor, parts, part_open, days);
        let smaller: Vec<(usize, i64)> = around
            .iter()
            .map(|&k| (k, parts[k].amount.fen().saturating_abs()))
            .filter(|(_, f)| *f < anchor.amount.fen().saturating_abs())
            .collect();
        if smaller.len() < 2 {
            continue;
        }
        if smaller.len() > GROUP_CANDIDATES {
            results.push((
                a,
                Found::Many(
                    Vec::new(),
                    format!(
                        "对方相同的候选有{}笔，超过{}笔，不自动组合",
                        smaller.len(),
                        GROUP_CANDIDATES
                    ),
                ),
            ));
            continue;
        }
        let mut sorted = smaller;
        sorted.sort_by_key(|&(k, f)| (std::cmp::Reverse(f), k));
        let target = anchor.amount.fen().saturating_abs();
        let found = combinations(target, &sorted, rules.group_max_parts);
        let f = match found.len() {
            0 => Found::None,
            1 => Found::One(found.into_iter().next().unwrap_or_default()),
            _ => Found::Many(
                found.concat(),
                "对方相同的多笔中，有不止一种组合的合计等于此金额，不能确定".into(),
            ),
        };
        results.push((a, f));
    }
    // How many anchors' combinations name each part.
    let mut claims: HashMap<usize, usize> = HashMap::new();
    for (_, f) in &results {
        let mut named: Vec<usize> = match f {
            Found::One(v) | Found::Many(v, _) => v.clone(),
            Found::None => Vec::new(),
        };
        named.sort_unstable();
        named.dedup();
        for k in named {
            *claims.entry(k).or_default() += 1;
        }
    }
    let mut taken = Vec::new();
    let mut notes = Vec::new();
    for (a, f) in results {
        match f {
            Found::One(group) => {
                let anchor = &anchors[a];
                let contested = group.iter().any(|k| claims.get(k) != Some(&1));
                // A part that has an open counterpart of its own amount may be that one's.
                let own = group.iter().any(|&k| {
                    anchor_index
                        .around(&parts[k], anchors, anchor_open, days)
                        .into_iter()
                        .any(|j| j != a && anchors[j].amount == parts[k].amount)
                });
                // The anchor may be paid by one part of its whole amount (left ambiguous
                // by the one-to-one rules).
                let whole = part_index
                    .around(anchor, parts, part_open, days)
                    .into_iter()
                    .any(|k| parts[k].amount == anchor.amount);
                if contested || own || whole {
                    notes.push((
                        a,
                        "对方相同的组合合计相等，但其中的款项另有可能的对应，不能确定".into(),
                    ));
                } else {
                    let mut group = group;
                    group.sort_by_key(|&k| (parts[k].date, k));
                    taken.push((a, group));
                }
            }
            Found::Many(_, why) => notes.push((a, why)),
            Found::None => {}
        }
    }
    (taken, notes)
}

/// Matches `lines` with `book` by the rule table. Deterministic: the same input gives the
/// same matches in the same order.
pub fn reconcile(lines: &[BankItem], book: &[BookItem], rules: &Rules) -> Outcome {
    let index = Index::new(lines, book);
    let mut line_taken: Vec<Option<usize>> = vec![None; lines.len()];
    let mut entry_taken: Vec<Option<usize>> = vec![None; book.len()];
    // (lines, entries, rule) of each match, by index.
    let mut made: Vec<(Vec<usize>, Vec<usize>, Rule)> = Vec::new();
    let mut notes: HashMap<usize, Vec<String>> = HashMap::new();
    let mut parties: Option<(Vec<Party>, Vec<Party>, PartyIndex, PartyIndex)> = None;
    for &rule in &rules.order {
        if rule == Rule::Tolerance && rules.tolerance.is_zero() {
            continue;
        }
        if rule.is_group() {
            let (lp, ep, li, ei) = parties.get_or_insert_with(|| {
                let lp: Vec<Party> = lines.iter().map(Party::of_line).collect();
                let ep: Vec<Party> = book.iter().map(Party::of_entry).collect();
                let (li, ei) = (PartyIndex::new(&lp), PartyIndex::new(&ep));
                (lp, ep, li, ei)
            });
            let line_open: Vec<bool> = line_taken.iter().map(Option::is_none).collect();
            let entry_open: Vec<bool> = entry_taken.iter().map(Option::is_none).collect();
            if rule == Rule::Combined {
                let (groups, why) = group_pass(lp, &line_open, ep, &entry_open, ei, li, rules);
                for (l, es) in groups {
                    line_taken[l] = Some(es[0]);
                    for &k in &es {
                        entry_taken[k] = Some(l);
                    }
                    made.push((vec![l], es, rule));
                }
                for (l, w) in why {
                    notes.entry(l).or_default().push(w);
                }
            } else {
                let (groups, _) = group_pass(ep, &entry_open, lp, &line_open, li, ei, rules);
                for (k, ls) in groups {
                    entry_taken[k] = Some(ls[0]);
                    for &l in &ls {
                        line_taken[l] = Some(k);
                    }
                    made.push((ls, vec![k], rule));
                }
            }
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
                made.push((vec![li], vec![k], rule));
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
    // The nearest candidates of line `li` but the winners, each with why it was not taken:
    // beside a match, how it falls short of the winning rule; for an exception, the rule it
    // passes without being unique, else every way it differs.
    let candidates = |li: usize, winner: Option<(&[usize], Rule)>| -> Vec<Candidate> {
        let l = &lines[li];
        index
            .near(l, rules)
            .into_iter()
            .filter(|k| !winner.is_some_and(|w| w.0.contains(k)))
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
    for (ls, ks, rule) in made {
        let (li, k) = (ls[0], ks[0]);
        let m = if ls.len() == 1 && ks.len() == 1 {
            let c = Comparison::of(&lines[li], &book[k]);
            Match {
                line: lines[li].id,
                entry: book[k].id,
                more_lines: Vec::new(),
                more_entries: Vec::new(),
                rule,
                agreed: c.agreed(rules),
                difference: c.difference,
                runners_up: candidates(li, Some((&ks, rule))),
            }
        } else {
            // Every pair of the group agrees on the party (account or name) and the date
            // window; the amounts agree as a sum.
            let pairs: Vec<Comparison> = ls
                .iter()
                .flat_map(|&l| ks.iter().map(move |&e| (l, e)))
                .map(|(l, e)| Comparison::of(&lines[l], &book[e]))
                .collect();
            let mut agreed = vec![Field::Amount];
            if pairs.iter().all(|c| c.account) {
                agreed.push(Field::CounterpartyAccount);
            }
            if pairs.iter().all(|c| c.name) {
                agreed.push(Field::CounterpartyName);
            }
            if pairs.iter().all(|c| c.days_apart <= rules.group_days) {
                agreed.push(Field::Date);
            }
            Match {
                line: lines[li].id,
                entry: book[k].id,
                more_lines: ls[1..].iter().map(|&l| lines[l].id).collect(),
                more_entries: ks[1..].iter().map(|&e| book[e].id).collect(),
                rule,
                agreed,
                difference: Money::ZERO,
                runners_up: candidates(li, Some((&ks, rule))),
            }
        };
        out.matches.push(m);
    }
    for (li, l) in lines.iter().enumerate() {
        if line_taken[li].is_none() {
            out.exceptions.push(Exception {
                line: l.id,
                near: candidates(li, None),
                notes: notes.remove(&li).unwrap_or_default(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests;
