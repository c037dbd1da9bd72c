//! Export of the journal in hledger's plain-text format, so anyone can check the figures
//! with `hledger balance` (or ledger, or beancount after conversion).
//!
//! Amounts are written exactly, to the fen, in one commodity throughout (`CNY` after the
//! number, or `¥` before it). Every account used is declared (with its hledger type where
//! it has one), so `hledger check --strict` passes. Links (transaction number, kind,
//! allocation, unit, reversed transaction) are written as tags.

use crate::account::{Account, is_hledger_account_name};
use crate::journal::PostedTransaction;
use duban_core::money::Money;
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// How amounts are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Commodity {
    /// `2000.00 CNY`
    #[default]
    Cny,
    /// `¥2000.00`
    Yuan,
}

impl Commodity {
    pub fn amount(self, m: Money) -> String {
        match self {
            Commodity::Cny => format!("{m} CNY"),
            // hledger itself writes the sign after a prefix symbol.
            Commodity::Yuan => format!("¥{m}"),
        }
    }

    /// The symbol as hledger reports it.
    pub fn symbol(self) -> &'static str {
        match self {
            Commodity::Cny => "CNY",
            Commodity::Yuan => "¥",
        }
    }

    fn directive(self) -> &'static str {
        match self {
            Commodity::Cny => "commodity 1000.00 CNY",
            Commodity::Yuan => "commodity ¥1000.00",
        }
    }
}

/// Text that cannot break hledger's syntax: one line, and no `;` (which starts a comment).
fn clean(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(';', "；")
}

/// Tag values end at a comma or the end of the line.
fn tag_value(s: &str) -> String {
    s.replace([',', ';'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("_")
}

/// Renders the transactions, in the order given, as an hledger journal.
pub fn render_journal(txns: &[PostedTransaction], commodity: Commodity) -> String {
    let mut out = String::new();
    out.push_str(
        "; duban funds ledger, exported as an hledger journal; amounts exact to the fen.\n",
    );
    out.push_str("; budget:* accounts are the budget-control memorandum accounts of each line.\n");
    out.push_str(commodity.directive());
    out.push_str("\n\n");
    let accounts: BTreeSet<Account> = txns
        .iter()
        .flat_map(|t| t.txn.postings().iter().map(|p| p.account))
        .collect();
    for a in &accounts {
        let name = a.name();
        debug_assert!(is_hledger_account_name(&name));
        match a.account_type().hledger_code() {
            Some(code) => {
                let _ = writeln!(out, "account {name}  ; type: {code}");
            }
            None => {
                let _ = writeln!(out, "account {name}");
            }
        }
    }
    for t in txns {
        out.push('\n');
        render_one(&mut out, t, commodity);
    }
    out
}

fn render_one(out: &mut String, t: &PostedTransaction, commodity: Commodity) {
    let txn = &t.txn;
    let _ = writeln!(
        out,
        "{} * ({}) {}",
        txn.date(),
        t.id,
        clean(txn.description())
    );
    let mut tags = vec![format!("kind:{}", txn.kind())];
    if let Some(r) = txn.reverses() {
        tags.push(format!("reverses:{r}"));
    }
    if let Some(a) = txn.allocation() {
        tags.push(format!("allocation:{a}"));
    }
    if let Some(u) = txn.unit() {
        tags.push(format!("unit:{}", tag_value(u)));
    }
    if let Some(a) = txn.approval() {
        tags.push(format!("approved:{}", a.date));
    }
    let _ = writeln!(out, "    ; {}", tags.join(", "));
    let names: Vec<String> = txn.postings().iter().map(|p| p.account.name()).collect();
    let amounts: Vec<String> = txn
        .postings()
        .iter()
        .map(|p| commodity.amount(p.amount))
        .collect();
    let name_w = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let amount_w = amounts.iter().map(|a| a.chars().count()).max().unwrap_or(0);
    for (n, a) in names.iter().zip(&amounts) {
        let _ = writeln!(out, "    {n:<name_w$}  {a:>amount_w$}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::{BudgetLineKind, LineId, LineRole};
    use crate::journal::{Posting, Transaction, TxnKind};
    use chrono::NaiveDate;

    fn sample() -> Vec<PostedTransaction> {
        let line = LineId::new(2026, BudgetLineKind::StartUp);
        let d = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let t = Transaction::new(
            d,
            TxnKind::Allocation,
            "allocation to U1; approved",
            vec![
                Posting::new(
                    Account::budget(line, LineRole::Committed),
                    Money::yuan(2_000),
                ),
                Posting::new(
                    Account::budget(line, LineRole::Available),
                    Money::yuan(-2_000),
                ),
            ],
        )
        .unwrap()
        .with_allocation(4)
        .with_unit("U,1");
        let dues = Transaction::new(
            d,
            TxnKind::Dues,
            "dues",
            vec![
                Posting::new(Account::DuesAccount, Money::from_fen(1_505)),
                Posting::new(Account::DuesIncome, Money::from_fen(-1_505)),
            ],
        )
        .unwrap();
        vec![
            PostedTransaction { id: 1, txn: t },
            PostedTransaction { id: 2, txn: dues },
        ]
    }

    #[test]
    fn renders_declared_accounts_and_exact_amounts() {
        let j = render_journal(&sample(), Commodity::Cny);
        assert!(j.contains("commodity 1000.00 CNY\n"), "{j}");
        assert!(
            j.contains("account assets:party-dues-account  ; type: A\n"),
            "{j}"
        );
        assert!(j.contains("account budget:2026:startup:available\n"), "{j}");
        assert!(
            j.contains("2026-03-02 * (1) allocation to U1； approved\n"),
            "{j}"
        );
        assert!(
            j.contains("    ; kind:allocation, allocation:4, unit:U_1\n"),
            "{j}"
        );
        assert!(
            j.contains("    budget:2026:startup:committed   2000.00 CNY\n"),
            "{j}"
        );
        assert!(
            j.contains("    budget:2026:startup:available  -2000.00 CNY\n"),
            "{j}"
        );
        assert!(
            j.contains("    income:party-dues          -15.05 CNY\n"),
            "{j}"
        );
    }

    #[test]
    fn yuan_sign_is_used_consistently() {
        let j = render_journal(&sample(), Commodity::Yuan);
        assert!(j.contains("commodity ¥1000.00"));
        assert!(j.contains("¥-2000.00") && j.contains(" ¥2000.00"));
        assert!(!j.contains("CNY"));
    }
}
