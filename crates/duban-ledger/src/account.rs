//! The chart of accounts.
//!
//! Two sets of accounts live in one journal, and every transaction balances within each:
//!
//! - **budget accounts** `budget:<year>:<line>:<role>` (memorandum accounts of budget
//!   control, see [`crate::budget`]): appropriated, available, committed, paid, paid-direct;
//! - **financial accounts**: the expense of each line, the fiscal appropriation that pays
//!   for it (财政拨款收入; payments go straight from the treasury), and the party-dues
//!   account that receives remitted dues and pays the dues rebates.
//!
//! Names are lowercase ASCII words joined by `:` so that hledger (and any plain-text
//! accounting tool) reads them as they are.

use crate::budget::{BudgetLineKind, LineId, LineRole};
use crate::error::LedgerError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The five classic account types, plus memorandum accounts of budget control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountType {
    Asset,
    Liability,
    Equity,
    Revenue,
    Expense,
    /// Off-balance accounts that track the budget.
    Budget,
}

impl AccountType {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountType::Asset => "asset",
            AccountType::Liability => "liability",
            AccountType::Equity => "equity",
            AccountType::Revenue => "revenue",
            AccountType::Expense => "expense",
            AccountType::Budget => "budget",
        }
    }

    /// hledger's `type:` tag (A, L, E, R, X); budget accounts have none.
    pub fn hledger_code(self) -> Option<&'static str> {
        match self {
            AccountType::Asset => Some("A"),
            AccountType::Liability => Some("L"),
            AccountType::Equity => Some("E"),
            AccountType::Revenue => Some("R"),
            AccountType::Expense => Some("X"),
            AccountType::Budget => None,
        }
    }
}

/// An account of the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Account {
    /// `budget:2026:startup:available`
    Budget { line: LineId, role: LineRole },
    /// `expenses:startup`: what was paid out of a line.
    Expense(BudgetLineKind),
    /// `income:fiscal-appropriation`: the treasury pays directly (财政直接支付).
    FiscalAppropriation,
    /// `income:party-dues`: dues remitted by the units.
    DuesIncome,
    /// `assets:party-dues-account`: the account that holds remitted dues (党费专户).
    DuesAccount,
    /// `assets:bank:<code>`: a bank or cash account of the office; disbursements paid from
    /// it post against it instead of the appropriation.
    Bank(BankCode),
    /// `expenses:<code>` outside the budget lines (`expenses:bank-fees`): what a bank
    /// charged beyond a payment, booked when a statement line is matched within the
    /// tolerance.
    Fees(BankCode),
}

/// The short code of a bank or cash account (`ccb-basic`): 1–24 lowercase ASCII letters,
/// digits or `-`, starting with a letter or digit. Kept inline so that [`Account`] stays `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BankCode {
    len: u8,
    bytes: [u8; BankCode::MAX],
}

impl BankCode {
    pub const MAX: usize = 24;

    /// Reads a code, refusing anything but 1–24 of `a-z`, `0-9` and `-` (not first).
    pub fn parse(code: &str) -> Result<BankCode, LedgerError> {
        let ok = !code.is_empty()
            && code.len() <= Self::MAX
            && !code.starts_with('-')
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(LedgerError::Invalid(format!(
                "bank_account: {code:?} is not a bank account code (1–24 lowercase letters, digits or -)"
            )));
        }
        let mut bytes = [0u8; Self::MAX];
        bytes[..code.len()].copy_from_slice(code.as_bytes());
        Ok(BankCode {
            len: code.len() as u8,
            bytes,
        })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (see `parse`).
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or_default()
    }
}

impl fmt::Debug for BankCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BankCode({})", self.as_str())
    }
}

impl fmt::Display for BankCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Account {
    pub fn budget(line: LineId, role: LineRole) -> Self {
        Account::Budget { line, role }
    }

    pub fn account_type(&self) -> AccountType {
        match self {
            Account::Budget { .. } => AccountType::Budget,
            Account::Expense(_) | Account::Fees(_) => AccountType::Expense,
            Account::FiscalAppropriation | Account::DuesIncome => AccountType::Revenue,
            Account::DuesAccount | Account::Bank(_) => AccountType::Asset,
        }
    }

    /// The account that pays a line's expenses: dues rebates come out of the dues
    /// account; everything else is paid by the treasury against the appropriation.
    pub fn funding_for(kind: BudgetLineKind) -> Self {
        match kind {
            BudgetLineKind::DuesRebate => Account::DuesAccount,
            _ => Account::FiscalAppropriation,
        }
    }

    /// The budget line this account belongs to, if it is a budget account.
    pub fn line(&self) -> Option<(LineId, LineRole)> {
        match *self {
            Account::Budget { line, role } => Some((line, role)),
            _ => None,
        }
    }

    /// The full colon-separated name.
    pub fn name(&self) -> String {
        match self {
            Account::Budget { line, role } => {
                format!("budget:{}:{}:{}", line.year, line.kind.slug(), role.slug())
            }
            Account::Expense(kind) => format!("expenses:{}", kind.slug()),
            Account::FiscalAppropriation => "income:fiscal-appropriation".into(),
            Account::DuesIncome => "income:party-dues".into(),
            Account::DuesAccount => "assets:party-dues-account".into(),
            Account::Bank(code) => format!("assets:bank:{code}"),
            Account::Fees(code) => format!("expenses:{code}"),
        }
    }

    /// Reads a name written by [`Account::name`].
    pub fn parse(name: &str) -> Result<Self, LedgerError> {
        let bad = || LedgerError::Invalid(format!("{name:?} is not an account of this ledger"));
        let parts: Vec<&str> = name.split(':').collect();
        match parts.as_slice() {
            ["budget", year, kind, role] => {
                let year: i32 = year
                    .parse()
                    .ok()
                    .filter(|y| (1000..=9999).contains(y))
                    .ok_or_else(bad)?;
                let kind = BudgetLineKind::ALL
                    .into_iter()
                    .find(|k| k.slug() == *kind)
                    .ok_or_else(bad)?;
                let role = LineRole::parse(role).ok_or_else(bad)?;
                Ok(Account::Budget {
                    line: LineId::new(year, kind),
                    role,
                })
            }
            ["expenses", kind] => match BudgetLineKind::ALL.into_iter().find(|k| k.slug() == *kind)
            {
                Some(k) => Ok(Account::Expense(k)),
                None => BankCode::parse(kind).map(Account::Fees).map_err(|_| bad()),
            },
            ["income", "fiscal-appropriation"] => Ok(Account::FiscalAppropriation),
            ["income", "party-dues"] => Ok(Account::DuesIncome),
            ["assets", "party-dues-account"] => Ok(Account::DuesAccount),
            ["assets", "bank", code] => BankCode::parse(code).map(Account::Bank).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl PartialOrd for Account {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Account {
    /// Alphabetical by name, the order reports and the hledger export use.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name().cmp(&other.name())
    }
}

impl Serialize for Account {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for Account {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Account::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// True when hledger reads `name` as one account name: non-empty components separated by
/// single colons, no leading or trailing space, no tab, no two spaces in a row (hledger's
/// separator before an amount), and none of the characters that start a comment.
pub fn is_hledger_account_name(name: &str) -> bool {
    !name.is_empty()
        && name.trim() == name
        && !name.contains("  ")
        && !name.contains(['\t', '\n', '\r', ';', '#', '(', ')', '[', ']'])
        && name.split(':').all(|c| !c.is_empty() && c.trim() == c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_accounts() -> Vec<Account> {
        let mut out = vec![
            Account::FiscalAppropriation,
            Account::DuesIncome,
            Account::DuesAccount,
            Account::Bank(BankCode::parse("ccb-basic").unwrap()),
            Account::Bank(BankCode::parse("cash").unwrap()),
            Account::Fees(BankCode::parse("bank-fees").unwrap()),
        ];
        for kind in BudgetLineKind::ALL {
            out.push(Account::Expense(kind));
            for role in LineRole::ALL {
                out.push(Account::budget(LineId::new(2026, kind), role));
            }
        }
        out
    }

    #[test]
    fn names_round_trip_and_hledger_accepts_them() {
        for a in all_accounts() {
            let name = a.name();
            assert!(is_hledger_account_name(&name), "{name}");
            assert_eq!(Account::parse(&name).unwrap(), a, "{name}");
        }
    }

    #[test]
    fn unknown_names_are_refused() {
        for name in [
            "budget:2026:travel:available",
            "budget:26:startup:available",
            "assets:bank",
            "assets:bank:CCB",
            "assets:bank:-x",
            "assets:bank:a-very-long-bank-code-indeed",
            "assets:bank:a:b",
            "expenses",
            "expenses:Bank Fees",
        ] {
            assert!(Account::parse(name).is_err(), "{name}");
        }
    }

    #[test]
    fn hledger_name_rules() {
        assert!(!is_hledger_account_name("a  b"));
        assert!(!is_hledger_account_name("a::b"));
        assert!(!is_hledger_account_name(" a"));
        assert!(!is_hledger_account_name("a;b"));
        assert!(is_hledger_account_name("assets:bank account"));
    }

    #[test]
    fn dues_rebates_are_paid_from_the_dues_account() {
        assert_eq!(
            Account::funding_for(BudgetLineKind::DuesRebate),
            Account::DuesAccount
        );
        assert_eq!(
            Account::funding_for(BudgetLineKind::StartUp),
            Account::FiscalAppropriation
        );
    }
}
