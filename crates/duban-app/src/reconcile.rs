//! Reconciliation of a bank account: its statement lines matched with the ledger's postings on
//! `assets:bank:<code>` by the configured rule table of `duban_bank::matching` (`match_bank`,
//! a dry run too), the lines left over with why their near candidates failed
//! (`bank_exceptions`, one account or every account), and a person's own match and unmatch
//! (`match_manual`, `unmatch`: an unmatch reverses every row of the match, never changes
//! one). A match of several lines or postings is stored as a group of rows. A match within
//! the tolerance books its difference to the fee account through the ledger (a
//! `bank_charge` command, in the same transaction, sealed and audited like every ledger
//! command), and its unmatch reverses that booking. Every write is one transaction with its
//! audit entry, with the account's row locked so two runs of one account take turns.
//!
//! `three_way`: commitments (allocations) not paid yet and payments from a bank account no
//! statement line is matched with, each aged on a date into 0–30, 31–90 and over 90 days.

use crate::{Actor, App, AppError, Permission};
use chrono::NaiveDate;
use duban_bank::matching::{
    BankItem, BookItem, Candidate, Comparison, Match, Rule, Rules, TableRule, reconcile,
};
use duban_core::money::Money;
use duban_ledger::command::{BankCharge, Command, Envelope, Reverse};
use duban_ledger::idempotency::IdempotencyKey;
use duban_store::bank::{BankAccountRow, NewMatch, standing};
use duban_store::engine::WriteTx;
use duban_store::ledger::LedgerContext;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

pub use duban_bank::matching::{
    Candidate as NearCandidate, Field as MatchField, MatchingConfig, TableRule as MatchingRule,
};
pub use duban_store::bank::{BookEntryRow, MatchRow, OpenCommitmentRow, UnclearedPaymentRow};

/// A match of a run: stored (with its id) or, in a dry run, proposed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunMatch {
    pub id: Option<i64>,
    /// The statement line.
    pub line: i64,
    /// The ledger posting on the bank account.
    pub posting: i64,
    /// The other lines of a payment split over several lines.
    pub more_lines: Vec<i64>,
    /// The other postings of several payments made in one line.
    pub more_postings: Vec<i64>,
    pub rule: Rule,
    /// The rule in Chinese.
    pub rule_zh: String,
    pub agreed: Vec<MatchField>,
    /// Line minus posting, yuan.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub difference: Money,
    pub runners_up: Vec<Candidate>,
    /// The ledger transaction that booked the difference to the fee account (a match
    /// within the tolerance, not in a dry run).
    pub fee_transaction: Option<i64>,
}

/// What a matching run did (or would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MatchReport {
    pub account: String,
    pub dry_run: bool,
    /// The rule table, in the order it ran, each rule on or off.
    pub rules: Vec<TableRule>,
    /// Where differences within the tolerance are booked.
    pub fee_account: String,
    /// Lines of the account, and how many were matched before this run.
    pub lines: usize,
    pub matched_before: usize,
    pub matched: Vec<RunMatch>,
    /// Lines still unmatched after the run.
    pub exceptions: usize,
}

/// A line no rule matches, with its nearest candidates and why each failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExceptionRow {
    pub line: crate::bank::BankLineRow,
    /// When a run would match it now (matching has not run since the line or the posting
    /// arrived): the proposal.
    pub would_match: Option<RunMatch>,
    pub near: Vec<Candidate>,
    /// What else was tried, in Chinese (a grouping that was not unique).
    pub notes: Vec<String>,
}

/// The open lines of one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountExceptions {
    pub account: String,
    pub name: String,
    pub exceptions: Vec<ExceptionRow>,
}

/// What an unmatch wrote: a reversing row for each row of the match, and the reversal of
/// the fee booked for it, if there was one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Unmatched {
    pub reversals: Vec<MatchRow>,
    pub fee_reversal: Option<i64>,
}

/// A person's match of a line with a posting.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ManualMatch {
    pub account: String,
    pub line: i64,
    pub posting: i64,
    #[serde(default)]
    pub reason: Option<String>,
    /// The finance officer confirms that the difference of the amounts (line minus posting)
    /// is the bank's charge: it is booked to the fee account with the match. Without it a
    /// match whose amounts differ is refused, naming the difference.
    #[serde(default)]
    pub fee: bool,
}

/// Undoing a match.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Unmatch {
    pub account: String,
    pub reason: String,
}

fn bank_item(l: &crate::bank::BankLineRow) -> Option<BankItem> {
    Some(BankItem {
        id: l.id,
        date: l.date.or(l.time.map(|t| t.date()))?,
        amount: Money::from_fen(l.amount),
        counterparty_name: l.counterparty_name.clone(),
        counterparty_account: l.counterparty_account.clone(),
        serial: l.serial.clone(),
        text: [l.summary.as_str(), l.purpose.as_str(), l.remark.as_str()].join(" "),
    })
}

fn book_item(e: &BookEntryRow) -> BookItem {
    BookItem {
        id: e.posting_id,
        date: e.date,
        amount: Money::from_fen(e.amount),
        voucher: e.voucher.clone(),
        payee_name: e.payee_name.clone(),
        payee_account: e.payee_account.clone(),
    }
}

fn run_match(m: Match, id: Option<i64>, fee_transaction: Option<i64>) -> RunMatch {
    RunMatch {
        id,
        line: m.line,
        posting: m.entry,
        more_lines: m.more_lines,
        more_postings: m.more_entries,
        rule: m.rule,
        rule_zh: m.rule.zh().to_string(),
        agreed: m.agreed,
        difference: m.difference,
        runners_up: m.runners_up,
        fee_transaction,
    }
}

/// The stored rows of match `m`: one per line and posting pair of the group.
fn match_rows(m: &Match) -> Result<Vec<NewMatch>, AppError> {
    let detail =
        serde_json::to_string(&m.runners_up).map_err(|e| AppError::Internal(e.to_string()))?;
    let agreed = m
        .agreed
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let mut rows = Vec::new();
    for line in m.lines() {
        for entry in m.entries() {
            rows.push(NewMatch {
                line_id: line,
                posting_id: entry,
                rule: m.rule.as_str().to_string(),
                agreed: agreed.clone(),
                difference: if rows.is_empty() {
                    m.difference.fen()
                } else {
                    0
                },
                detail: if rows.is_empty() {
                    detail.clone()
                } else {
                    String::new()
                },
                matched_by: "system".into(),
                fee_transaction_id: None,
            });
        }
    }
    Ok(rows)
}

/// What is still open: the lines and postings no standing match holds.
struct Open {
    lines: Vec<crate::bank::BankLineRow>,
    book: Vec<BookEntryRow>,
    all_lines: usize,
    matched: usize,
}

fn open(
    lines: Vec<crate::bank::BankLineRow>,
    book: Vec<BookEntryRow>,
    matches: &[MatchRow],
) -> Open {
    let standing = standing(matches);
    let taken_lines: HashSet<i64> = standing.iter().map(|m| m.line_id).collect();
    let taken_postings: HashSet<i64> = standing.iter().map(|m| m.posting_id).collect();
    let all_lines = lines.len();
    Open {
        lines: lines
            .into_iter()
            .filter(|l| !taken_lines.contains(&l.id))
            .collect(),
        book: book
            .into_iter()
            .filter(|e| !taken_postings.contains(&e.posting_id))
            .collect(),
        all_lines,
        matched: standing.len(),
    }
}

impl Open {
    fn reconcile(&self, rules: &Rules) -> duban_bank::matching::Outcome {
        let lines: Vec<BankItem> = self.lines.iter().filter_map(bank_item).collect();
        let book: Vec<BookItem> = self.book.iter().map(book_item).collect();
        reconcile(&lines, &book, rules)
    }
}

fn key(k: String) -> Result<IdempotencyKey, AppError> {
    IdempotencyKey::new(&k).map_err(|e| AppError::Internal(e.to_string()))
}

/// A line, the posting it is matched with and their difference (line minus posting).
#[derive(Clone, Copy)]
struct Pair {
    line: i64,
    entry: i64,
    difference: Money,
}

/// The row that joins the line of a match to the bank account's posting of its fee.
fn fee_row(line: i64, posting: i64, rule: Rule, matched_by: &str) -> NewMatch {
    NewMatch {
        line_id: line,
        posting_id: posting,
        rule: rule.as_str().to_string(),
        agreed: String::new(),
        difference: 0,
        detail: String::new(),
        matched_by: matched_by.into(),
        fee_transaction_id: None,
    }
}

impl App {
    fn matching_ledger_context(&self) -> LedgerContext<'_> {
        LedgerContext {
            config: &self.ledger,
            now: self.now(),
            today: self.today(),
        }
    }

    /// Books the difference of match `m` (line minus posting, within the tolerance) to the
    /// fee account, inside `tx`; returns the transaction and its posting on the bank
    /// account. The key names the line and how many match rows it had, so a repeat of the
    /// same run books once and a match made again after an unmatch books anew.
    async fn book_fee(
        &self,
        tx: &WriteTx,
        actor: &Actor,
        account: &BankAccountRow,
        m: Pair,
        date: NaiveDate,
        prior_rows: usize,
    ) -> Result<(i64, i64), AppError> {
        let charge = m
            .difference
            .checked_neg()
            .ok_or_else(|| AppError::Internal("difference out of range".into()))?;
        let env = Envelope {
            key: key(format!(
                "bank-fee:{}:{}:{}",
                account.code, m.line, prior_rows
            ))?,
            actor: actor.name.clone(),
            command: Command::BankCharge(BankCharge {
                date,
                bank_account: account.code.clone(),
                fee_account: self.matching.fee_account.clone(),
                amount: charge,
                memo: format!(
                    "difference of bank line #{} and posting #{} (银行流水#{}与分录#{}的差额)",
                    m.line, m.entry, m.line, m.entry
                ),
            }),
        };
        let done = tx
            .ledger_execute(&self.matching_ledger_context(), &env)
            .await?;
        let txn = *done
            .outcome
            .transactions
            .first()
            .ok_or_else(|| AppError::Internal("the fee booking made no transaction".into()))?;
        let posting = *tx
            .postings_on(txn, &account.ledger_account)
            .await?
            .first()
            .ok_or_else(|| AppError::Internal("the fee booking missed the bank account".into()))?;
        Ok((txn, posting))
    }
}

impl App {
    /// Matches the open lines of account `code` with the open postings on its ledger account
    /// by the rule table, and stores every match with its rule, agreed fields, difference
    /// and runner-ups (finance officers; audited). `dry_run` reports the same and writes
    /// nothing.
    pub async fn match_bank(
        &self,
        actor: &Actor,
        code: &str,
        dry_run: bool,
    ) -> Result<MatchReport, AppError> {
        actor.require(Permission::WriteLedger)?;
        let account = self.bank_account_named(code).await?;
        let now = self.now();
        self.from(actor, async {
            let tx = self.store().begin_write().await?;
            let result = async {
                tx.lock_bank_account(code).await?;
                let open = open(
                    tx.bank_lines(account.id).await?,
                    tx.bank_book_entries(&account.ledger_account).await?,
                    &tx.bank_matches(account.id).await?,
                );
                let rules = &*self.matching;
                let out = open.reconcile(rules);
                let mut report = MatchReport {
                    account: account.code.clone(),
                    dry_run,
                    rules: rules.table(),
                    fee_account: rules.fee_account.clone(),
                    lines: open.all_lines,
                    matched_before: open.matched,
                    matched: Vec::with_capacity(out.matches.len()),
                    exceptions: out.exceptions.len(),
                };
                let dates: HashMap<i64, NaiveDate> = open
                    .lines
                    .iter()
                    .filter_map(|l| bank_item(l).map(|b| (l.id, b.date)))
                    .collect();
                let mut prior: HashMap<i64, usize> = HashMap::new();
                if !dry_run {
                    for r in tx.bank_matches(account.id).await? {
                        *prior.entry(r.line_id).or_default() += 1;
                    }
                }
                for m in out.matches {
                    if dry_run {
                        report.matched.push(run_match(m, None, None));
                        continue;
                    }
                    let mut rows = match_rows(&m)?;
                    let mut fee = None;
                    if m.rule == Rule::Tolerance && !m.difference.is_zero() {
                        let date = dates.get(&m.line).copied().unwrap_or_else(|| self.today());
                        let prior_rows = prior.get(&m.line).copied().unwrap_or(0);
                        let pair = Pair {
                            line: m.line,
                            entry: m.entry,
                            difference: m.difference,
                        };
                        let (txn, posting) = self
                            .book_fee(&tx, actor, &account, pair, date, prior_rows)
                            .await?;
                        rows[0].fee_transaction_id = Some(txn);
                        rows.push(fee_row(m.line, posting, m.rule, "system"));
                        fee = Some(txn);
                    }
                    let stored = tx
                        .insert_match_group(account.id, &rows, &actor.name, now)
                        .await?;
                    report
                        .matched
                        .push(run_match(m, stored.first().map(|r| r.id), fee));
                }
                if !dry_run {
                    #[derive(Serialize)]
                    struct Made {
                        id: Option<i64>,
                        lines: Vec<i64>,
                        postings: Vec<i64>,
                        rule: &'static str,
                        fee_transaction: Option<i64>,
                    }
                    #[derive(Serialize)]
                    struct Run {
                        matched: Vec<Made>,
                        rules: Vec<&'static str>,
                        exceptions: usize,
                    }
                    let run = Run {
                        matched: report
                            .matched
                            .iter()
                            .map(|m| {
                                let lines =
                                    std::iter::once(m.line).chain(m.more_lines.iter().copied());
                                let postings = std::iter::once(m.posting)
                                    .chain(m.more_postings.iter().copied());
                                Made {
                                    id: m.id,
                                    lines: lines.collect(),
                                    postings: postings.collect(),
                                    rule: m.rule.as_str(),
                                    fee_transaction: m.fee_transaction,
                                }
                            })
                            .collect(),
                        rules: report
                            .rules
                            .iter()
                            .filter(|r| r.enabled)
                            .map(|r| r.rule.as_str())
                            .collect(),
                        exceptions: report.exceptions,
                    };
                    crate::accounts::audit(
                        &tx,
                        actor,
                        now,
                        "bank.match",
                        ("bank_account", &account.code),
                        None,
                        Some(&run),
                    )
                    .await?;
                }
                Ok::<_, AppError>(report)
            }
            .await;
            crate::bank::finish(tx, result, !dry_run).await
        })
        .await
    }

    /// The open lines of account `code`, each with its nearest candidates and why each
    /// failed (or the match a run would make now).
    pub async fn bank_exceptions(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<Vec<ExceptionRow>, AppError> {
        actor.require(Permission::ReadLedger)?;
        let account = self.bank_account_named(code).await?;
        let store = self.store();
        let open = open(
            store.bank_lines(account.id, None, None).await?,
            store.bank_book_entries(&account.ledger_account).await?,
            &store.bank_matches(account.id).await?,
        );
        let mut out = open.reconcile(&self.matching);
        let mut rows = Vec::with_capacity(open.lines.len());
        for l in open.lines {
            let would = out
                .matches
                .iter()
                .position(|m| m.line == l.id)
                .map(|i| out.matches.swap_remove(i));
            let (near, notes) = out
                .exceptions
                .iter()
                .find(|e| e.line == l.id)
                .map(|e| (e.near.clone(), e.notes.clone()))
                .unwrap_or_default();
            rows.push(ExceptionRow {
                line: l,
                would_match: would.map(|m| run_match(m, None, None)),
                near,
                notes,
            });
        }
        Ok(rows)
    }

    /// [`App::bank_exceptions`] of every account, by account code.
    pub async fn bank_exceptions_all(
        &self,
        actor: &Actor,
    ) -> Result<Vec<AccountExceptions>, AppError> {
        actor.require(Permission::ReadLedger)?;
        let mut out = Vec::new();
        for a in self.store().bank_accounts().await? {
            let exceptions = self.bank_exceptions(actor, &a.code).await?;
            out.push(AccountExceptions {
                account: a.code,
                name: a.name,
                exceptions,
            });
        }
        Ok(out)
    }

    /// The standing matches of account `code` (those no unmatch reverses), by id.
    pub async fn bank_matches(&self, actor: &Actor, code: &str) -> Result<Vec<MatchRow>, AppError> {
        actor.require(Permission::ReadLedger)?;
        let account = self.bank_account_named(code).await?;
        let all = self.store().bank_matches(account.id).await?;
        Ok(standing(&all).into_iter().cloned().collect())
    }

    /// A person matches a line with a posting of the same account, both still open; the
    /// fields that agree and the difference are recorded with the reason (audited). A
    /// difference is refused unless `fee` confirms it as the bank's charge: then it is
    /// booked to the fee account in the same transaction, and an unmatch reverses it.
    pub async fn match_manual(
        &self,
        actor: &Actor,
        req: ManualMatch,
    ) -> Result<MatchRow, AppError> {
        actor.require(Permission::WriteLedger)?;
        let account = self.bank_account_named(&req.account).await?;
        let now = self.now();
        self.from(actor, async {
            let tx = self.store().begin_write().await?;
            let result = async {
                tx.lock_bank_account(&account.code).await?;
                let lines = tx.bank_lines(account.id).await?;
                let book = tx.bank_book_entries(&account.ledger_account).await?;
                let matches = tx.bank_matches(account.id).await?;
                let line = lines.iter().find(|l| l.id == req.line).ok_or_else(|| {
                    not_on(&account, &format!("银行流水#{}", req.line), "line", req.line)
                })?;
                let entry = book.iter().find(|e| e.posting_id == req.posting).ok_or_else(|| {
                    not_on(&account, &format!("分录#{}", req.posting), "posting", req.posting)
                })?;
                if let Some(m) = standing(&matches)
                    .into_iter()
                    .find(|m| m.line_id == req.line || m.posting_id == req.posting)
                {
                    return Err(AppError::Refused(format!(
                        "银行流水#{}已与分录#{}匹配（匹配#{}），先撤销 (line {} is matched with posting {} as match {}; unmatch it first)",
                        m.line_id, m.posting_id, m.id, m.line_id, m.posting_id, m.id
                    )));
                }
                let item = bank_item(line).ok_or_else(|| {
                    AppError::Refused(format!("银行流水#{}没有日期 (line {} has no date)", line.id, line.id))
                })?;
                let c = Comparison::of(&item, &book_item(entry));
                if !c.difference.is_zero() && !req.fee {
                    return Err(AppError::Refused(format!(
                        "银行流水#{}的金额 {} 与分录#{}的金额 {} 相差 {}；确认差额为银行手续费时加 --fee（API：\"fee\": true），差额记入 {} (the amounts differ by {}; confirm the difference as a bank charge with --fee)",
                        line.id,
                        Money::from_fen(line.amount),
                        entry.posting_id,
                        Money::from_fen(entry.amount),
                        c.difference,
                        self.matching.fee_account,
                        c.difference
                    )));
                }
                let rules = &*self.matching;
                let mut new = NewMatch {
                    line_id: line.id,
                    posting_id: entry.posting_id,
                    rule: Rule::Manual.as_str().into(),
                    agreed: c
                        .agreed(rules)
                        .iter()
                        .map(|f| f.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                    difference: c.difference.fen(),
                    detail: serde_json::json!({ "reason": req.reason }).to_string(),
                    matched_by: "manual".into(),
                    fee_transaction_id: None,
                };
                let row = if c.difference.is_zero() {
                    tx.insert_match(account.id, &new, &actor.name, now).await?
                } else {
                    let prior_rows = matches.iter().filter(|r| r.line_id == line.id).count();
                    let pair = Pair {
                        line: line.id,
                        entry: entry.posting_id,
                        difference: c.difference,
                    };
                    let (txn, posting) = self
                        .book_fee(&tx, actor, &account, pair, item.date, prior_rows)
                        .await?;
                    new.fee_transaction_id = Some(txn);
                    let fee = fee_row(line.id, posting, Rule::Manual, "manual");
                    let rows = tx
                        .insert_match_group(account.id, &[new, fee], &actor.name, now)
                        .await?;
                    rows.into_iter().next().ok_or_else(|| {
                        AppError::Internal("the match was not stored".into())
                    })?
                };
                crate::accounts::audit(
                    &tx,
                    actor,
                    now,
                    "bank.match_manual",
                    ("bank_match", &row.id.to_string()),
                    None,
                    Some(&row),
                )
                .await?;
                Ok::<_, AppError>(row)
            }
            .await;
            crate::bank::finish(tx, result, true).await
        })
        .await
    }

    /// Undoes a standing match of account `code`: a reversing row, with the reason, for each
    /// row of its group (any row's id names the match), and the reversal of the fee booked
    /// for it; the match itself is kept (audited).
    pub async fn unmatch(
        &self,
        actor: &Actor,
        id: i64,
        req: Unmatch,
    ) -> Result<Unmatched, AppError> {
        actor.require(Permission::WriteLedger)?;
        if req.reason.trim().is_empty() {
            return Err(AppError::invalid_at(
                "/reason",
                "reason: 撤销匹配须写明原因 (say why the match is undone)",
            ));
        }
        let account = self.bank_account_named(&req.account).await?;
        let now = self.now();
        self.from(actor, async {
            let tx = self.store().begin_write().await?;
            let result = async {
                tx.lock_bank_account(&account.code).await?;
                let matches = tx.bank_matches(account.id).await?;
                let Some(m) = matches
                    .iter()
                    .find(|m| m.id == id && m.reverses_id.is_none())
                else {
                    return Err(not_on(&account, &format!("匹配#{id}"), "match", id));
                };
                let standing = standing(&matches);
                let members: Vec<&MatchRow> = match m.group_id {
                    Some(g) => standing
                        .iter()
                        .copied()
                        .filter(|s| s.group_id == Some(g))
                        .collect(),
                    None => standing.iter().copied().filter(|s| s.id == id).collect(),
                };
                if members.is_empty() {
                    return Err(AppError::Refused(format!(
                        "匹配#{id}已经撤销 (match {id} was already undone)"
                    )));
                }
                let reason = req.reason.trim();
                let mut reversals = Vec::with_capacity(members.len());
                for r in &members {
                    reversals.push(
                        tx.insert_unmatch(account.id, r, reason, &actor.name, now)
                            .await?,
                    );
                }
                let mut fee_reversal = None;
                if let Some(fee) = members.iter().find_map(|r| r.fee_transaction_id) {
                    let env = Envelope {
                        key: key(format!("bank-fee-reversal:{}:{fee}", account.code))?,
                        actor: actor.name.clone(),
                        command: Command::Reverse(Reverse {
                            date: self.today(),
                            transaction: fee,
                            reason: format!("unmatch #{id}: {reason}"),
                        }),
                    };
                    let done = tx
                        .ledger_execute(&self.matching_ledger_context(), &env)
                        .await?;
                    fee_reversal = done.outcome.transactions.first().copied();
                }
                let out = Unmatched {
                    reversals,
                    fee_reversal,
                };
                crate::accounts::audit(
                    &tx,
                    actor,
                    now,
                    "bank.unmatch",
                    ("bank_match", &id.to_string()),
                    Some(&serde_json::json!({ "rows": members })),
                    Some(&serde_json::json!(out)),
                )
                .await?;
                Ok::<_, AppError>(out)
            }
            .await;
            crate::bank::finish(tx, result, true).await
        })
        .await
    }
}

fn not_on(account: &BankAccountRow, zh: &str, what: &str, id: i64) -> AppError {
    AppError::NotFound(format!(
        "{zh}不在账户“{}”上 ({what} {id} is not on account {})",
        account.code, account.code
    ))
}

/// How old an open item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AgeBucket {
    #[serde(rename = "0-30")]
    UpTo30,
    #[serde(rename = "31-90")]
    UpTo90,
    #[serde(rename = "90+")]
    Over90,
}

impl AgeBucket {
    pub const ALL: [AgeBucket; 3] = [AgeBucket::UpTo30, AgeBucket::UpTo90, AgeBucket::Over90];

    /// The bucket of an item `days` old (0–30, 31–90, over 90).
    pub fn of(days: i64) -> AgeBucket {
        match days {
            ..=30 => AgeBucket::UpTo30,
            31..=90 => AgeBucket::UpTo90,
            _ => AgeBucket::Over90,
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            AgeBucket::UpTo30 => "0–30天",
            AgeBucket::UpTo90 => "31–90天",
            AgeBucket::Over90 => "90天以上",
        }
    }
}

/// A commitment not (fully) paid, with its age.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgedCommitment {
    #[serde(flatten)]
    pub row: OpenCommitmentRow,
    pub age_days: i64,
    pub bucket: AgeBucket,
}

/// A payment from a bank account no statement line is matched with, with its age.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgedPayment {
    #[serde(flatten)]
    pub row: UnclearedPaymentRow,
    pub age_days: i64,
    pub bucket: AgeBucket,
}

/// The count and sum of one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BucketTotal {
    pub bucket: AgeBucket,
    pub count: usize,
    /// Yuan.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub amount: Money,
}

/// Commitment ↔ disbursement ↔ bank line: what is open on each link, aged on `as_of`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreeWay {
    pub as_of: NaiveDate,
    /// Allocations with money outstanding (the amount is what is still to pay).
    pub commitments: Vec<AgedCommitment>,
    pub commitment_totals: Vec<BucketTotal>,
    /// Disbursements paid from a bank account that no statement line is matched with.
    pub payments: Vec<AgedPayment>,
    pub payment_totals: Vec<BucketTotal>,
}

fn totals<'a>(
    items: impl Iterator<Item = (AgeBucket, i64)> + 'a,
) -> Result<Vec<BucketTotal>, AppError> {
    let mut t: Vec<BucketTotal> = AgeBucket::ALL
        .into_iter()
        .map(|bucket| BucketTotal {
            bucket,
            count: 0,
            amount: Money::ZERO,
        })
        .collect();
    for (b, fen) in items {
        let row = &mut t[b as usize];
        row.count += 1;
        row.amount = row
            .amount
            .checked_add(Money::from_fen(fen))
            .ok_or_else(|| AppError::Internal("total out of range".into()))?;
    }
    Ok(t)
}

impl ThreeWay {
    /// One sheet for export: both lists, each row with its kind, age and bucket.
    pub fn sheet(&self) -> duban_tabular::export::Sheet {
        use duban_tabular::export::{Cell, Sheet};
        let mut rows: Vec<Vec<Cell>> = Vec::new();
        for c in &self.commitments {
            let r = &c.row;
            rows.push(vec![
                Cell::from("已核定未付款"),
                Cell::Text(format!("核定#{}", r.allocation)),
                Cell::Date(r.date),
                Cell::Text(r.unit_code.clone()),
                Cell::Text(r.unit_name.clone()),
                Cell::Text(r.purpose.clone()),
                Cell::Empty,
                Cell::Amount(Money::from_fen(r.outstanding)),
                Cell::Int(c.age_days),
                Cell::from(c.bucket.zh()),
            ]);
        }
        for p in &self.payments {
            let r = &p.row;
            rows.push(vec![
                Cell::from("已付款未见银行流水"),
                Cell::Text(format!("交易#{}", r.transaction_id)),
                Cell::Date(r.date),
                Cell::from(r.unit_code.as_deref()),
                Cell::from(r.payee_name.as_deref()),
                Cell::from(r.voucher.as_deref()),
                Cell::Text(r.bank_account.clone()),
                Cell::Amount(Money::from_fen(r.amount)),
                Cell::Int(p.age_days),
                Cell::from(p.bucket.zh()),
            ]);
        }
        Sheet {
            name: format!("三方核对 {}", self.as_of),
            headers: [
                "类别",
                "编号",
                "日期",
                "单位代码",
                "单位/收款人",
                "用途/凭证号",
                "银行账户",
                "金额",
                "账龄（天）",
                "账龄区间",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        }
    }
}

impl App {
    /// Commitments not paid and payments not seen on a statement, aged on `as_of` (today
    /// when absent): allocation ↔ disbursement ↔ bank line, within the actor's scope.
    pub async fn three_way(
        &self,
        actor: &Actor,
        as_of: Option<NaiveDate>,
    ) -> Result<ThreeWay, AppError> {
        actor.require(Permission::ReadLedger)?;
        let as_of = as_of.unwrap_or_else(|| self.today());
        // An actor limited to districts or units sees their units' items only; a payment
        // about no unit concerns the whole budget, which is for an actor without limits.
        let within: Option<HashSet<String>> = match actor.list_scope() {
            None => None,
            Some(_) => Some(
                self.unit_export(actor, &crate::units::UnitQuery::default())
                    .await?
                    .into_iter()
                    .map(|u| u.code)
                    .collect(),
            ),
        };
        let covers = |unit: Option<&str>| match (&within, unit) {
            (None, _) => true,
            (Some(codes), Some(u)) => codes.contains(u),
            (Some(_), None) => false,
        };
        let store = self.store();
        let age = |d: NaiveDate| (as_of - d).num_days().max(0);
        let commitments: Vec<AgedCommitment> = store
            .open_commitments(as_of)
            .await?
            .into_iter()
            .filter(|row| covers(Some(&row.unit_code)))
            .map(|row| {
                let age_days = age(row.date);
                AgedCommitment {
                    row,
                    age_days,
                    bucket: AgeBucket::of(age_days),
                }
            })
            .collect();
        let payments: Vec<AgedPayment> = store
            .uncleared_payments(as_of)
            .await?
            .into_iter()
            .filter(|row| covers(row.unit_code.as_deref()))
            .map(|row| {
                let age_days = age(row.date);
                AgedPayment {
                    row,
                    age_days,
                    bucket: AgeBucket::of(age_days),
                }
            })
            .collect();
        Ok(ThreeWay {
            as_of,
            commitment_totals: totals(commitments.iter().map(|c| (c.bucket, c.row.outstanding)))?,
            payment_totals: totals(payments.iter().map(|p| (p.bucket, p.row.amount)))?,
            commitments,
            payments,
        })
    }
}
