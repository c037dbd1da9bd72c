//! The journal: transactions of balanced postings in CNY.
//!
//! A posting's amount is signed the way plain-text accounting writes it: debit positive,
//! credit negative. A [`Transaction`] can only be built balanced — at least two postings,
//! none zero, summing to zero overall and, for budget accounts, within each budget line —
//! and it is never changed after it is posted: a correction is a reversal that negates
//! every posting and links to the original.

use crate::account::Account;
use crate::budget::{LineBalances, LineId};
use crate::error::LedgerError;
use crate::model::Approval;
use chrono::NaiveDate;
use duban_core::money::Money;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// One line of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    pub account: Account,
    /// Debit positive, credit negative.
    #[serde(with = "crate::signed_money")]
    pub amount: Money,
}

impl Posting {
    pub fn new(account: Account, amount: Money) -> Self {
        Self { account, amount }
    }
}

/// What a transaction records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxnKind {
    /// An amount given to a budget line.
    Appropriation,
    /// An amount moved between two lines of a year, with a recorded approval.
    Virement,
    /// A commitment (核定) to a party unit.
    Allocation,
    /// A payment against an allocation.
    Disbursement,
    /// The unused remainder of an allocation handed back to the line.
    Release,
    /// A payment without a commitment.
    DirectPayment,
    /// Dues a unit remitted for a month.
    Dues,
    /// A year-end lapse or carry-forward.
    YearEnd,
    /// The negation of an earlier transaction.
    Reversal,
    /// What a bank charged (or returned) beyond a payment, booked to a fee account.
    BankCharge,
    /// Money received into a bank account (拨款到账, dues paid over, a transfer between the
    /// office's own accounts).
    Receipt,
    /// Part of the year's fund given to a line (分配下达).
    Apportionment,
}

impl TxnKind {
    pub const ALL: [TxnKind; 12] = [
        TxnKind::Appropriation,
        TxnKind::Virement,
        TxnKind::Allocation,
        TxnKind::Disbursement,
        TxnKind::Release,
        TxnKind::DirectPayment,
        TxnKind::Dues,
        TxnKind::YearEnd,
        TxnKind::Reversal,
        TxnKind::BankCharge,
        TxnKind::Receipt,
        TxnKind::Apportionment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TxnKind::Appropriation => "appropriation",
            TxnKind::Virement => "virement",
            TxnKind::Allocation => "allocation",
            TxnKind::Disbursement => "disbursement",
            TxnKind::Release => "release",
            TxnKind::DirectPayment => "direct_payment",
            TxnKind::Dues => "dues",
            TxnKind::YearEnd => "year_end",
            TxnKind::Reversal => "reversal",
            TxnKind::BankCharge => "bank_charge",
            TxnKind::Receipt => "receipt",
            TxnKind::Apportionment => "apportionment",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for TxnKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A balanced transaction, not yet numbered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transaction {
    date: NaiveDate,
    kind: TxnKind,
    description: String,
    postings: Vec<Posting>,
    #[serde(flatten)]
    links: Links,
}

/// What a transaction is linked to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Links {
    /// The transaction this one reverses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverses: Option<i64>,
    /// The allocation this transaction commits, pays or releases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation: Option<i64>,
    /// The party unit (its register code) the money is for or from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The approval behind it (allocations, virements).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// Voucher, payee and bank account of a payment, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<crate::command::Payment>,
}

impl Transaction {
    /// Builds a transaction, refusing one that does not balance.
    pub fn new(
        date: NaiveDate,
        kind: TxnKind,
        description: &str,
        postings: Vec<Posting>,
    ) -> Result<Self, LedgerError> {
        let description = one_line(description);
        if description.is_empty() {
            return Err(LedgerError::NoDescription);
        }
        check_balanced(&postings)?;
        Ok(Self {
            date,
            kind,
            description,
            postings,
            links: Links::default(),
        })
    }

    /// Links the transaction to an allocation.
    pub fn with_allocation(mut self, allocation: i64) -> Self {
        self.links.allocation = Some(allocation);
        self
    }

    /// Links the transaction to a party unit (by register code).
    pub fn with_unit(mut self, unit: &str) -> Self {
        self.links.unit = Some(unit.to_string());
        self
    }

    /// Records how a payment went out (nothing when `payment` is empty).
    pub fn with_payment(mut self, payment: &crate::command::Payment) -> Self {
        self.links.payment = (!payment.is_empty()).then(|| payment.clone());
        self
    }

    /// Records the approval behind the transaction.
    pub fn with_approval(mut self, approval: &Approval) -> Self {
        self.links.approval = Some(approval.clone());
        self
    }

    /// The reversal of `original`: every posting negated, dated `date`, linked to it.
    pub fn reversal_of(
        original: &PostedTransaction,
        date: NaiveDate,
        reason: &str,
    ) -> Result<Self, LedgerError> {
        let postings = original
            .txn
            .postings
            .iter()
            .map(|p| {
                p.amount
                    .checked_neg()
                    .map(|a| Posting::new(p.account, a))
                    .ok_or(LedgerError::Overflow)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let reason = one_line(reason);
        let description = if reason.is_empty() {
            format!("reversal of #{}: {}", original.id, original.txn.description)
        } else {
            format!(
                "reversal of #{} ({reason}): {}",
                original.id, original.txn.description
            )
        };
        let mut txn = Transaction::new(date, TxnKind::Reversal, &description, postings)?;
        txn.links = Links {
            reverses: Some(original.id),
            allocation: original.txn.links.allocation,
            unit: original.txn.links.unit.clone(),
            approval: None,
            payment: None,
        };
        Ok(txn)
    }

    /// Rebuilds a stored transaction, checking again that it balances.
    pub fn restore(
        date: NaiveDate,
        kind: TxnKind,
        description: &str,
        postings: Vec<Posting>,
        links: Links,
    ) -> Result<Self, LedgerError> {
        let mut txn = Transaction::new(date, kind, description, postings)?;
        txn.links = links;
        Ok(txn)
    }

    pub fn date(&self) -> NaiveDate {
        self.date
    }
    pub fn kind(&self) -> TxnKind {
        self.kind
    }
    pub fn description(&self) -> &str {
        &self.description
    }
    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }
    pub fn reverses(&self) -> Option<i64> {
        self.links.reverses
    }
    pub fn allocation(&self) -> Option<i64> {
        self.links.allocation
    }
    pub fn unit(&self) -> Option<&str> {
        self.links.unit.as_deref()
    }
    pub fn approval(&self) -> Option<&Approval> {
        self.links.approval.as_ref()
    }
    pub fn payment(&self) -> Option<&crate::command::Payment> {
        self.links.payment.as_ref()
    }
    pub fn links(&self) -> &Links {
        &self.links
    }

    /// The budget lines this transaction touches, in order.
    pub fn lines(&self) -> Vec<LineId> {
        let mut lines: Vec<LineId> = self
            .postings
            .iter()
            .filter_map(|p| p.account.line().map(|(l, _)| l))
            .collect();
        lines.sort();
        lines.dedup();
        lines
    }

    /// The sum of the positive postings: the size of the transaction.
    pub fn total(&self) -> Money {
        self.postings
            .iter()
            .filter(|p| !p.amount.is_negative())
            .map(|p| p.amount)
            .sum()
    }

    /// Adds this transaction's budget postings to the balances of the lines in `lines`.
    /// A line missing from the map is an error: the caller loads every line it touches.
    pub fn apply_to_lines(
        &self,
        lines: &mut BTreeMap<LineId, LineBalances>,
    ) -> Result<(), LedgerError> {
        for p in &self.postings {
            if let Some((line, role)) = p.account.line() {
                lines
                    .get_mut(&line)
                    .ok_or(LedgerError::UnknownLine(line))?
                    .apply(role, p.amount)?;
            }
        }
        Ok(())
    }

    /// The postings of the one budget line `line`, as `(role, amount)`.
    pub fn on_line(
        &self,
        line: LineId,
    ) -> impl Iterator<Item = (crate::budget::LineRole, Money)> + '_ {
        self.postings
            .iter()
            .filter_map(move |p| match p.account.line() {
                Some((l, role)) if l == line => Some((role, p.amount)),
                _ => None,
            })
    }
}

/// A transaction with its number in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostedTransaction {
    pub id: i64,
    #[serde(flatten)]
    pub txn: Transaction,
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn check_balanced(postings: &[Posting]) -> Result<(), LedgerError> {
    if postings.len() < 2 {
        return Err(LedgerError::TooFewPostings(postings.len()));
    }
    if let Some((index, p)) = postings
        .iter()
        .enumerate()
        .find(|(_, p)| p.amount.is_zero())
    {
        return Err(LedgerError::ZeroPosting {
            index,
            account: p.account.name(),
        });
    }
    let sum: i128 = postings.iter().map(|p| i128::from(p.amount.fen())).sum();
    if sum != 0 {
        return Err(LedgerError::Unbalanced(fen_text(sum)));
    }
    let mut per_line: BTreeMap<LineId, i128> = BTreeMap::new();
    for p in postings {
        if let Some((line, _)) = p.account.line() {
            *per_line.entry(line).or_default() += i128::from(p.amount.fen());
        }
    }
    if let Some((line, sum)) = per_line.into_iter().find(|(_, s)| *s != 0) {
        return Err(LedgerError::LineUnbalanced {
            line,
            sum: fen_text(sum),
        });
    }
    Ok(())
}

fn fen_text(fen: i128) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// The balance of every account over `txns` (debit positive), accounts in name order.
/// Accounts whose balance is zero are left out, as `hledger balance` does.
pub fn balances<'a>(
    txns: impl IntoIterator<Item = &'a Transaction>,
) -> Result<BTreeMap<Account, Money>, LedgerError> {
    let mut out: BTreeMap<Account, Money> = BTreeMap::new();
    for t in txns {
        for p in &t.postings {
            let slot = out.entry(p.account).or_default();
            *slot = slot.checked_add(p.amount).ok_or(LedgerError::Overflow)?;
        }
    }
    out.retain(|_, m| !m.is_zero());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::{BudgetLineKind, LineRole};

    fn d() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
    }

    fn line() -> LineId {
        LineId::new(2026, BudgetLineKind::StartUp)
    }

    fn commit(yuan: i64) -> Vec<Posting> {
        vec![
            Posting::new(
                Account::budget(line(), LineRole::Committed),
                Money::yuan(yuan),
            ),
            Posting::new(
                Account::budget(line(), LineRole::Available),
                Money::yuan(-yuan),
            ),
        ]
    }

    #[test]
    fn refuses_unbalanced_short_or_zero() {
        let mut p = commit(10);
        p[1].amount = Money::yuan(-9);
        assert_eq!(
            Transaction::new(d(), TxnKind::Allocation, "x", p).unwrap_err(),
            LedgerError::Unbalanced("1.00".into())
        );
        assert_eq!(
            Transaction::new(d(), TxnKind::Allocation, "x", commit(10)[..1].to_vec()).unwrap_err(),
            LedgerError::TooFewPostings(1)
        );
        let zero = vec![
            Posting::new(Account::DuesAccount, Money::ZERO),
            Posting::new(Account::DuesIncome, Money::ZERO),
        ];
        assert!(matches!(
            Transaction::new(d(), TxnKind::Dues, "x", zero).unwrap_err(),
            LedgerError::ZeroPosting { index: 0, .. }
        ));
        assert_eq!(
            Transaction::new(d(), TxnKind::Allocation, " \n ", commit(1)).unwrap_err(),
            LedgerError::NoDescription
        );
    }

    #[test]
    fn budget_postings_must_balance_within_their_line() {
        let other = LineId::new(2026, BudgetLineKind::Training);
        let p = vec![
            Posting::new(Account::budget(line(), LineRole::Committed), Money::yuan(5)),
            Posting::new(Account::budget(other, LineRole::Available), Money::yuan(-5)),
        ];
        let err = Transaction::new(d(), TxnKind::Allocation, "x", p).unwrap_err();
        assert!(matches!(err, LedgerError::LineUnbalanced { .. }), "{err}");
    }

    #[test]
    fn reversal_negates_and_links() {
        let t = Transaction::new(d(), TxnKind::Allocation, "start-up\nfunds", commit(2000))
            .unwrap()
            .with_allocation(7)
            .with_unit("U1");
        assert_eq!(t.description(), "start-up funds");
        let posted = PostedTransaction { id: 3, txn: t };
        let r = Transaction::reversal_of(&posted, d(), "typo").unwrap();
        assert_eq!(r.reverses(), Some(3));
        assert_eq!(r.allocation(), Some(7));
        assert_eq!(r.unit(), Some("U1"));
        assert_eq!(r.kind(), TxnKind::Reversal);
        let all = balances([&posted.txn, &r]).unwrap();
        assert!(all.is_empty(), "{all:?}");
    }

    #[test]
    fn serialises_signed_amounts() {
        let t = Transaction::new(d(), TxnKind::Allocation, "x", commit(2000)).unwrap();
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["postings"][1]["amount"], "-2000.00");
        assert_eq!(
            json["postings"][1]["account"],
            "budget:2026:startup:available"
        );
        let back: Posting = serde_json::from_value(json["postings"][1].clone()).unwrap();
        assert_eq!(back.amount, Money::yuan(-2000));
    }
}
