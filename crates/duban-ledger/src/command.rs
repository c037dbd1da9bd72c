//! Commands from outside (CLI, HTTP): what a person asks the ledger to do.
//!
//! Each arrives in an [`Envelope`] with an idempotency key and the acting person. The
//! command's JSON is what the fingerprint covers, so two commands are "the same" exactly
//! when every field here is the same.

use crate::budget::BudgetLineKind;
use crate::error::LedgerError;
use crate::idempotency::{IdempotencyKey, fingerprint};
use crate::model::Approval;
use crate::period::YearMonth;
use chrono::NaiveDate;
use duban_core::money::Money;
use serde::{Deserialize, Serialize};

/// Give an amount to a budget line of the year of `date`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Appropriate {
    pub date: NaiveDate,
    pub line: BudgetLineKind,
    pub amount: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
}

/// Move headroom between two lines of the same year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Virement {
    pub date: NaiveDate,
    pub from: BudgetLineKind,
    pub to: BudgetLineKind,
    pub amount: Money,
    pub approval: Approval,
}

/// Apportion (分配下达) part of the year's fund (the `fund` line) to a line, with the
/// decision behind it. It counts as the line's original budget, not as a virement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Apportion {
    pub date: NaiveDate,
    pub to: BudgetLineKind,
    pub amount: Money,
    pub approval: Approval,
}

impl Apportion {
    /// What booking it tells the person who asked.
    pub fn message(&self) -> String {
        format!(
            "apportioned {} of the year's fund to {}",
            self.amount.grouped(),
            self.to
        )
    }
}

/// Commit (核定) an amount to a party unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allocate {
    pub date: NaiveDate,
    pub line: BudgetLineKind,
    /// The unit's register code.
    pub unit: String,
    pub purpose: String,
    pub amount: Money,
    pub approval: Approval,
}

/// Start-up funds for every unit formed in `formed_in` that has none yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocateStartupBatch {
    pub date: NaiveDate,
    pub formed_in: i32,
    pub approval: Approval,
}

/// Pay a tranche of an allocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disburse {
    pub date: NaiveDate,
    pub allocation: i64,
    pub amount: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    /// The voucher, the payee and the bank account paid from, when known. Absent in the
    /// JSON when empty, so a command without them keeps its fingerprint.
    #[serde(default, skip_serializing_if = "Payment::is_empty")]
    pub payment: Payment,
}

/// How a payment went out: its voucher number (凭证号), the payee's name, account and bank,
/// and the office's bank account (its code) it was paid from. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voucher: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payee_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payee_account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payee_bank: Option<String>,
    /// The code of the bank account paid from (`duban bank accounts add --code`): the
    /// payment then posts against `assets:bank:<code>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_account: Option<String>,
}

impl Payment {
    pub fn is_empty(&self) -> bool {
        *self == Payment::default()
    }

    /// The same payment with blank fields dropped and the others trimmed.
    pub fn normalised(&self) -> Payment {
        let f = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        Payment {
            voucher: f(&self.voucher),
            payee_name: f(&self.payee_name),
            payee_account: f(&self.payee_account),
            payee_bank: f(&self.payee_bank),
            bank_account: f(&self.bank_account),
        }
    }

    /// The payment, normalised, with `payee` as the payee's name when it names none.
    pub fn with_payee(&self, payee: &str) -> Payment {
        let mut p = self.normalised();
        if p.payee_name.is_none() && !p.is_empty() {
            p.payee_name = Some(payee.trim().to_string());
        }
        p
    }

    /// Checks each field, naming it (`payment.voucher` …).
    pub fn validate(&self) -> Result<(), LedgerError> {
        counterparty_fields([
            ("payment.voucher", &self.voucher),
            ("payment.payee_name", &self.payee_name),
            ("payment.payee_account", &self.payee_account),
            ("payment.payee_bank", &self.payee_bank),
        ])?;
        if let Some(code) = &self.bank_account {
            crate::account::BankCode::parse(code).map_err(|_| {
                LedgerError::Invalid(format!(
                    "payment.bank_account: {code:?} is not a bank account code (1–24 lowercase letters, digits or -)"
                ))
            })?;
        }
        Ok(())
    }
}

/// Checks a voucher and a counterparty's name, account and bank (in that order): each absent
/// or 1 to 64 (voucher, account) or 200 (name, bank) characters on one line.
fn counterparty_fields(fields: [(&str, &Option<String>); 4]) -> Result<(), LedgerError> {
    for ((field, v), max) in fields.into_iter().zip([64, 200, 64, 200]) {
        if let Some(v) = v
            && (v.trim().is_empty() || v.chars().count() > max || v.chars().any(char::is_control))
        {
            return Err(LedgerError::Invalid(format!(
                "{field}: 1 to {max} characters on one line"
            )));
        }
    }
    Ok(())
}

/// Hand the undisbursed remainder of an allocation back to its line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    pub date: NaiveDate,
    pub allocation: i64,
    pub reason: String,
}

/// Pay without a commitment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayDirect {
    pub date: NaiveDate,
    pub line: BudgetLineKind,
    pub amount: Money,
    pub payee: String,
    pub purpose: String,
    /// The voucher, the payee's account and bank and the bank account paid from, when
    /// known (the payee's name is `payee`). Absent in the JSON when empty, so a command
    /// without them keeps its fingerprint.
    #[serde(default, skip_serializing_if = "Payment::is_empty")]
    pub payment: Payment,
}

/// Dues a unit remitted for a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordDues {
    pub date: NaiveDate,
    pub unit: String,
    pub month: YearMonth,
    pub amount: Money,
}

/// A unit applies for the rebate of the dues it remitted in `dues_year`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyRebate {
    pub date: NaiveDate,
    pub unit: String,
    pub dues_year: i32,
}

/// The level above approves a rebate application; an allocation on the dues-rebate line
/// commits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveRebate {
    pub date: NaiveDate,
    pub application: i64,
    pub approval: Approval,
}

/// Correct a transaction by reversing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reverse {
    pub date: NaiveDate,
    pub transaction: i64,
    pub reason: String,
}

/// Book what a bank charged beyond a payment (or returned short of it) to a fee account:
/// the difference of a statement line matched within the tolerance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankCharge {
    pub date: NaiveDate,
    /// The code of the bank account the line is on.
    pub bank_account: String,
    /// `expenses:<code>`, outside the budget lines.
    pub fee_account: String,
    /// Positive: the bank took this much more than the book paid (a fee); negative: less.
    #[serde(with = "crate::signed_money")]
    pub amount: Money,
    pub memo: String,
}

/// Money received into one of the office's bank accounts: the treasury's transfer of the
/// appropriation (拨款到账), dues paid over from the dues account, or a transfer from another
/// of the office's own accounts (内部转账).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receive {
    pub date: NaiveDate,
    /// The code of the bank account the money came into.
    pub bank_account: String,
    /// Where it came from: `income:fiscal-appropriation`, `assets:party-dues-account` or
    /// `assets:bank:<code>`, another of the office's accounts.
    pub from: String,
    pub amount: Money,
    /// The voucher and the payer (name, account, bank), when known.
    #[serde(default, skip_serializing_if = "Payer::is_empty")]
    pub payer: Payer,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
}

impl Receive {
    /// What booking it tells the person who asked.
    pub fn message(&self) -> String {
        format!(
            "received {} into assets:bank:{} from {}",
            self.amount.grouped(),
            self.bank_account,
            self.from
        )
    }
}

/// Who paid money in: the voucher number (凭证号) and the payer's name, account and bank.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voucher: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank: Option<String>,
}

impl Payer {
    pub fn is_empty(&self) -> bool {
        *self == Payer::default()
    }

    /// The payer as the counterparty of a transaction into `bank_account`: the transaction's
    /// payment link, where the payee of a payment is the payer of a receipt.
    pub fn as_counterparty(&self, bank_account: &str) -> Payment {
        Payment {
            voucher: self.voucher.clone(),
            payee_name: self.name.clone(),
            payee_account: self.account.clone(),
            payee_bank: self.bank.clone(),
            bank_account: Some(bank_account.to_string()),
        }
        .normalised()
    }
}

/// Close every period through `month`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosePeriod {
    pub month: YearMonth,
}

/// Close a fiscal year: lapse or carry forward what is left, by the year-end policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseYear {
    pub year: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    Appropriate(Appropriate),
    Virement(Virement),
    Allocate(Allocate),
    AllocateStartupBatch(AllocateStartupBatch),
    Disburse(Disburse),
    Release(Release),
    PayDirect(PayDirect),
    RecordDues(RecordDues),
    ApplyRebate(ApplyRebate),
    ApproveRebate(ApproveRebate),
    Reverse(Reverse),
    ClosePeriod(ClosePeriod),
    CloseYear(CloseYear),
    BankCharge(BankCharge),
    Receive(Receive),
    Apportion(Apportion),
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Appropriate(_) => "appropriate",
            Command::Virement(_) => "virement",
            Command::Allocate(_) => "allocate",
            Command::AllocateStartupBatch(_) => "allocate_startup_batch",
            Command::Disburse(_) => "disburse",
            Command::Release(_) => "release",
            Command::PayDirect(_) => "pay_direct",
            Command::RecordDues(_) => "record_dues",
            Command::ApplyRebate(_) => "apply_rebate",
            Command::ApproveRebate(_) => "approve_rebate",
            Command::Reverse(_) => "reverse",
            Command::ClosePeriod(_) => "close_period",
            Command::CloseYear(_) => "close_year",
            Command::BankCharge(_) => "bank_charge",
            Command::Receive(_) => "receive",
            Command::Apportion(_) => "apportion",
        }
    }

    /// The SHA-256 fingerprint of the command's canonical JSON.
    pub fn fingerprint(&self) -> Result<String, LedgerError> {
        fingerprint(self)
    }

    /// Checks the fields that need no ledger state, naming the field that is wrong.
    pub fn validate(&self) -> Result<(), LedgerError> {
        match self {
            Command::Appropriate(c) => {
                positive("amount", c.amount)?;
                optional_text("memo", c.memo.as_deref())
            }
            Command::Apportion(c) => {
                positive("amount", c.amount)?;
                if c.to == BudgetLineKind::Fund {
                    return Err(LedgerError::Invalid(
                        "to: the fund is apportioned to another line".into(),
                    ));
                }
                c.approval.validate("approval")?;
                c.approval.check_before("approval", c.date)
            }
            Command::Virement(c) => {
                positive("amount", c.amount)?;
                for (field, line) in [("from", c.from), ("to", c.to)] {
                    if line == BudgetLineKind::Fund {
                        return Err(LedgerError::Invalid(format!(
                            "{field}: the year's fund moves to lines by apportion, not by virement"
                        )));
                    }
                }
                if c.from == c.to {
                    return Err(LedgerError::Invalid(
                        "to: a virement moves money between two different lines".into(),
                    ));
                }
                c.approval.validate("approval")?;
                c.approval.check_before("approval", c.date)
            }
            Command::Allocate(c) => {
                positive("amount", c.amount)?;
                not_the_fund(c.line)?;
                unit_code("unit", &c.unit)?;
                text("purpose", &c.purpose)?;
                c.approval.validate("approval")?;
                c.approval.check_before("approval", c.date)
            }
            Command::AllocateStartupBatch(c) => {
                c.approval.validate("approval")?;
                c.approval.check_before("approval", c.date)?;
                if !(1000..=9999).contains(&c.formed_in) {
                    return Err(LedgerError::Invalid("formed_in: a four-digit year".into()));
                }
                Ok(())
            }
            Command::Disburse(c) => {
                positive("amount", c.amount)?;
                optional_text("memo", c.memo.as_deref())?;
                c.payment.validate()
            }
            Command::Release(c) => text("reason", &c.reason),
            Command::PayDirect(c) => {
                positive("amount", c.amount)?;
                not_the_fund(c.line)?;
                text("payee", &c.payee)?;
                text("purpose", &c.purpose)?;
                c.payment.validate()
            }
            Command::RecordDues(c) => {
                positive("amount", c.amount)?;
                unit_code("unit", &c.unit)?;
                if c.month.first_day() > c.date {
                    return Err(LedgerError::Invalid(format!(
                        "month: dues for {} cannot be recorded on {}, before the month begins",
                        c.month, c.date
                    )));
                }
                Ok(())
            }
            Command::ApplyRebate(c) => unit_code("unit", &c.unit),
            Command::ApproveRebate(c) => {
                c.approval.validate("approval")?;
                c.approval.check_before("approval", c.date)
            }
            Command::Reverse(c) => text("reason", &c.reason),
            Command::ClosePeriod(_) => Ok(()),
            Command::CloseYear(c) => {
                if !(1000..=9999).contains(&c.year) {
                    return Err(LedgerError::Invalid("year: a four-digit year".into()));
                }
                Ok(())
            }
            Command::BankCharge(c) => {
                if c.amount.is_zero() {
                    return Err(LedgerError::Invalid("amount: must not be zero".into()));
                }
                crate::account::BankCode::parse(&c.bank_account)?;
                if !matches!(
                    crate::account::Account::parse(&c.fee_account),
                    Ok(crate::account::Account::Fees(_))
                ) {
                    return Err(LedgerError::Invalid(format!(
                        "fee_account: {:?} is not an expense account outside the budget lines (expenses:<code>)",
                        c.fee_account
                    )));
                }
                text("memo", &c.memo)
            }
            Command::Receive(c) => {
                positive("amount", c.amount)?;
                crate::ops::receipt_source(&c.bank_account, &c.from)?;
                counterparty_fields([
                    ("payer.voucher", &c.payer.voucher),
                    ("payer.name", &c.payer.name),
                    ("payer.account", &c.payer.account),
                    ("payer.bank", &c.payer.bank),
                ])?;
                optional_text("memo", c.memo.as_deref())
            }
        }
    }
}

/// Nothing is committed or paid from the year's fund itself: it is apportioned to lines.
fn not_the_fund(line: BudgetLineKind) -> Result<(), LedgerError> {
    if line == BudgetLineKind::Fund {
        return Err(LedgerError::Invalid(
            "line: the year's fund is apportioned to a line first (duban ledger apportion); commit or pay from that line".into(),
        ));
    }
    Ok(())
}

fn positive(field: &str, m: Money) -> Result<(), LedgerError> {
    if m.is_zero() || m.is_negative() {
        return Err(LedgerError::Invalid(format!(
            "{field}: must be greater than zero"
        )));
    }
    Ok(())
}

fn text(field: &str, s: &str) -> Result<(), LedgerError> {
    if s.trim().is_empty() {
        return Err(LedgerError::Invalid(format!("{field}: must not be empty")));
    }
    optional_text(field, Some(s))
}

fn optional_text(field: &str, s: Option<&str>) -> Result<(), LedgerError> {
    if s.is_some_and(|s| s.chars().count() > 500) {
        return Err(LedgerError::Invalid(format!(
            "{field}: at most 500 characters"
        )));
    }
    Ok(())
}

/// Register codes are short and have no spaces, so they can tag a posting.
fn unit_code(field: &str, s: &str) -> Result<(), LedgerError> {
    let ok = !s.is_empty()
        && s.chars().count() <= 64
        && s.chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, ',' | ';' | ':'));
    if !ok {
        return Err(LedgerError::Invalid(format!(
            "{field}: {s:?} is not a unit code (up to 64 characters, no spaces, commas, colons or semicolons)"
        )));
    }
    Ok(())
}

/// Where a JSON document fails to be a command: the JSON path (`$.command.amount`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct JsonError {
    pub path: String,
    pub message: String,
}

fn json_error(root: &str, e: serde_path_to_error::Error<serde_json::Error>) -> JsonError {
    let path = e.path().to_string();
    let path = if path == "." {
        root.to_string()
    } else {
        format!("{root}.{path}")
    };
    JsonError {
        path,
        message: e.inner().to_string(),
    }
}

macro_rules! by_tag {
    ($tag:expr, $body:expr, $root:expr, $($name:literal => $variant:ident),+ $(,)?) => {
        match $tag {
            $($name => serde_path_to_error::deserialize($body).map(Command::$variant).map_err(|e| json_error($root, e)),)+
            other => Err(JsonError {
                path: format!("{}.command", $root),
                message: format!("unknown command {other:?}"),
            }),
        }
    };
}

impl Command {
    /// Reads a command from JSON, naming the path of the field that is wrong.
    pub fn from_json(value: &serde_json::Value, root: &str) -> Result<Self, JsonError> {
        let serde_json::Value::Object(map) = value else {
            return Err(JsonError {
                path: root.to_string(),
                message: "expected an object".into(),
            });
        };
        let tag = match map.get("command") {
            Some(serde_json::Value::String(t)) => t.as_str(),
            _ => {
                return Err(JsonError {
                    path: format!("{root}.command"),
                    message: "missing: the name of the command, e.g. \"allocate\"".into(),
                });
            }
        };
        let mut body = map.clone();
        body.remove("command");
        let body = serde_json::Value::Object(body);
        by_tag!(tag, body, root,
            "appropriate" => Appropriate,
            "virement" => Virement,
            "allocate" => Allocate,
            "allocate_startup_batch" => AllocateStartupBatch,
            "disburse" => Disburse,
            "release" => Release,
            "pay_direct" => PayDirect,
            "record_dues" => RecordDues,
            "apply_rebate" => ApplyRebate,
            "approve_rebate" => ApproveRebate,
            "reverse" => Reverse,
            "close_period" => ClosePeriod,
            "close_year" => CloseYear,
            "bank_charge" => BankCharge,
            "receive" => Receive,
            "apportion" => Apportion,
        )
    }
}

impl Envelope {
    /// Reads an envelope `{key, actor, command}` from JSON, naming the path of a bad field.
    pub fn from_json(value: &serde_json::Value, root: &str) -> Result<Self, JsonError> {
        let serde_json::Value::Object(map) = value else {
            return Err(JsonError {
                path: root.to_string(),
                message: "expected an object with key, actor and command".into(),
            });
        };
        if let Some(extra) = map
            .keys()
            .find(|k| !matches!(k.as_str(), "key" | "actor" | "command"))
        {
            return Err(JsonError {
                path: format!("{root}.{extra}"),
                message: "unknown field; expected key, actor and command".into(),
            });
        }
        let field = |name: &str| {
            map.get(name).ok_or_else(|| JsonError {
                path: format!("{root}.{name}"),
                message: "missing".into(),
            })
        };
        let key = match field("key")? {
            serde_json::Value::String(k) => IdempotencyKey::new(k).map_err(|e| JsonError {
                path: format!("{root}.key"),
                message: e.to_string(),
            })?,
            _ => {
                return Err(JsonError {
                    path: format!("{root}.key"),
                    message: "expected a string".into(),
                });
            }
        };
        let actor = match field("actor")? {
            serde_json::Value::String(a) if !a.trim().is_empty() => a.clone(),
            _ => {
                return Err(JsonError {
                    path: format!("{root}.actor"),
                    message: "expected the acting person's name".into(),
                });
            }
        };
        let command = Command::from_json(field("command")?, &format!("{root}.command"))?;
        Ok(Envelope {
            key,
            actor,
            command,
        })
    }
}

/// A command with its idempotency key and the person acting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub key: IdempotencyKey,
    pub actor: String,
    pub command: Command,
}

/// The budget line state a command left behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineHeadroom {
    pub line: crate::budget::LineId,
    pub headroom: Money,
}

/// What a command did. A repeat with the same key returns the stored outcome unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub command: String,
    pub message: String,
    #[serde(default)]
    pub transactions: Vec<i64>,
    #[serde(default)]
    pub allocations: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebate_application: Option<i64>,
    #[serde(default)]
    pub headroom: Vec<LineHeadroom>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    fn allocate(amount: Money) -> Command {
        Command::Allocate(Allocate {
            date: d(3, 2),
            line: BudgetLineKind::StartUp,
            unit: "U001".into(),
            purpose: "start-up funds".into(),
            amount,
            approval: Approval::new("部务会 2026-03", d(3, 1)).unwrap(),
        })
    }

    #[test]
    fn json_round_trip_and_shape() {
        let c = allocate(Money::yuan(2_000));
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["command"], "allocate");
        assert_eq!(json["amount"], "2000.00");
        assert_eq!(json["line"], "startup");
        let back: Command = serde_json::from_value(json).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn fingerprint_follows_content_not_typing() {
        let a: Command = serde_json::from_str(
            r#"{"command":"allocate","date":"2026-03-02","line":"startup","unit":"U001","purpose":"start-up funds","amount":"2,000","approval":{"meeting":"部务会 2026-03","date":"2026-03-01"}}"#,
        )
        .unwrap();
        assert_eq!(
            a.fingerprint().unwrap(),
            allocate(Money::yuan(2_000)).fingerprint().unwrap()
        );
        assert_ne!(
            a.fingerprint().unwrap(),
            allocate(Money::yuan(2_001)).fingerprint().unwrap()
        );
    }

    #[test]
    fn validation_names_the_field() {
        let e = allocate(Money::ZERO).validate().unwrap_err().to_string();
        assert!(e.starts_with("amount:"), "{e}");
        let mut c = allocate(Money::yuan(1));
        if let Command::Allocate(a) = &mut c {
            a.unit = "U 1".into();
        }
        assert!(c.validate().unwrap_err().to_string().starts_with("unit:"));
        if let Command::Allocate(a) = &mut c {
            a.unit = "U1".into();
            a.approval.meeting = " ".into();
        }
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .starts_with("approval.meeting:")
        );
        if let Command::Allocate(a) = &mut c {
            a.approval.meeting = "m".into();
            a.approval.date = d(3, 3);
        }
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .starts_with("approval.date:")
        );
    }

    #[test]
    fn json_errors_name_the_path() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{"key":"k","actor":"li","command":{"command":"allocate","date":"2026-03-02","line":"startup","unit":"U1","purpose":"p","amount":"1.234","approval":{"meeting":"m","date":"2026-03-01"}}}"#,
        )
        .unwrap();
        let e = Envelope::from_json(&v, "$[3]").unwrap_err();
        assert_eq!(e.path, "$[3].command.amount");
        assert!(e.message.contains("two decimal places"), "{e}");
        let v = serde_json::json!({"key":"k","actor":"li","command":{"command":"allocate","date":"2026-03-02","line":"startup","unit":"U1","purpose":"p","amount":"1","approval":{"meeting":"m","date":"2026-13-01"}}});
        assert_eq!(
            Envelope::from_json(&v, "$").unwrap_err().path,
            "$.command.approval.date"
        );
        let v = serde_json::json!({"key":"k","actor":"li","command":{"command":"alocate"}});
        assert_eq!(
            Envelope::from_json(&v, "$").unwrap_err().to_string(),
            "$.command.command: unknown command \"alocate\""
        );
        let ok = serde_json::json!({"key":"k","actor":"li","command":{"command":"close_year","year":2026}});
        assert_eq!(
            Envelope::from_json(&ok, "$").unwrap().command,
            Command::CloseYear(CloseYear { year: 2026 })
        );
    }

    #[test]
    fn unknown_fields_and_json_numbers_are_refused() {
        let extra = r#"{"command":"close_year","year":2026,"force":true}"#;
        assert!(serde_json::from_str::<Command>(extra).is_err());
        let float =
            r#"{"command":"appropriate","date":"2026-01-05","line":"training","amount":1000.5}"#;
        assert!(serde_json::from_str::<Command>(float).is_err());
    }
}
