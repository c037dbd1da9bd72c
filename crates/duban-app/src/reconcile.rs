//! Reconciliation of a bank account: its statement lines matched with the ledger's postings on
//! `assets:bank:<code>` by the rule table of `duban_bank::matching` (`match_bank`, a dry run
//! too), the lines left over with why their near candidates failed (`bank_exceptions`), and a
//! person's own match and unmatch (`match_manual`, `unmatch`: an unmatch is a row reversing
//! the match, never a change to it). Every write is one transaction with its audit entry,
//! with the account's row locked so two runs of one account take turns.

use crate::{Actor, App, AppError, Permission};
use duban_bank::matching::{
    BankItem, BookItem, Candidate, Comparison, Match, Rule, Rules, reconcile,
};
use duban_core::money::Money;
use duban_store::bank::{BankAccountRow, NewMatch, standing};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

pub use duban_bank::matching::{Candidate as NearCandidate, Field as MatchField};
pub use duban_store::bank::{BookEntryRow, MatchRow};

/// A match of a run: stored (with its id) or, in a dry run, proposed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunMatch {
    pub id: Option<i64>,
    /// The statement line.
    pub line: i64,
    /// The ledger posting on the bank account.
    pub posting: i64,
    pub rule: Rule,
    /// The rule in Chinese.
    pub rule_zh: String,
    pub agreed: Vec<MatchField>,
    /// Line minus posting, yuan.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub difference: Money,
    pub runners_up: Vec<Candidate>,
}

/// What a matching run did (or would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MatchReport {
    pub account: String,
    pub dry_run: bool,
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

fn run_match(m: Match, id: Option<i64>) -> RunMatch {
    RunMatch {
        id,
        line: m.line,
        posting: m.entry,
        rule: m.rule,
        rule_zh: m.rule.zh().to_string(),
        agreed: m.agreed,
        difference: m.difference,
        runners_up: m.runners_up,
    }
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
    fn reconcile(&self) -> duban_bank::matching::Outcome {
        let lines: Vec<BankItem> = self.lines.iter().filter_map(bank_item).collect();
        let book: Vec<BookItem> = self.book.iter().map(book_item).collect();
        reconcile(&lines, &book, &Rules::default())
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
                let out = open.reconcile();
                let mut report = MatchReport {
                    account: account.code.clone(),
                    dry_run,
                    lines: open.all_lines,
                    matched_before: open.matched,
                    matched: Vec::with_capacity(out.matches.len()),
                    exceptions: out.exceptions.len(),
                };
                for m in out.matches {
                    let id = if dry_run {
                        None
                    } else {
                        let new = NewMatch {
                            line_id: m.line,
                            posting_id: m.entry,
                            rule: m.rule.as_str().to_string(),
                            agreed: m
                                .agreed
                                .iter()
                                .map(|f| f.as_str())
                                .collect::<Vec<_>>()
                                .join(","),
                            difference: m.difference.fen(),
                            detail: serde_json::to_string(&m.runners_up)
                                .map_err(|e| AppError::Internal(e.to_string()))?,
                            matched_by: "system".into(),
                        };
                        Some(
                            tx.insert_match(account.id, &new, &actor.name, now)
                                .await?
                                .id,
                        )
                    };
                    report.matched.push(run_match(m, id));
                }
                if !dry_run {
                    #[derive(Serialize)]
                    struct Run {
                        /// (match, line, posting, rule)
                        matched: Vec<(Option<i64>, i64, i64, &'static str)>,
                        exceptions: usize,
                    }
                    let run = Run {
                        matched: report
                            .matched
                            .iter()
                            .map(|m| (m.id, m.line, m.posting, m.rule.as_str()))
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
        let mut out = open.reconcile();
        let mut rows = Vec::with_capacity(open.lines.len());
        for l in open.lines {
            let would = out
                .matches
                .iter()
                .position(|m| m.line == l.id)
                .map(|i| out.matches.swap_remove(i));
            let near = out
                .exceptions
                .iter()
                .find(|e| e.line == l.id)
                .map(|e| e.near.clone())
                .unwrap_or_default();
            rows.push(ExceptionRow {
                line: l,
                would_match: would.map(|m| run_match(m, None)),
                near,
            });
        }
        Ok(rows)
    }

    /// The standing matches of account `code` (those no unmatch reverses), by id.
    pub async fn bank_matches(&self, actor: &Actor, code: &str) -> Result<Vec<MatchRow>, AppError> {
        actor.require(Permission::ReadLedger)?;
        let account = self.bank_account_named(code).await?;
        let all = self.store().bank_matches(account.id).await?;
        Ok(standing(&all).into_iter().cloned().collect())
    }

    /// A person matches a line with a posting of the same account, both still open; the
    /// fields that agree and the difference are recorded with the reason (audited).
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
                let rules = Rules::default();
                let new = NewMatch {
                    line_id: line.id,
                    posting_id: entry.posting_id,
                    rule: Rule::Manual.as_str().into(),
                    agreed: c
                        .agreed(&rules)
                        .iter()
                        .map(|f| f.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                    difference: c.difference.fen(),
                    detail: serde_json::json!({ "reason": req.reason }).to_string(),
                    matched_by: "manual".into(),
                };
                let row = tx.insert_match(account.id, &new, &actor.name, now).await?;
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

    /// Undoes a standing match of account `code` with a reversing row and the reason; the
    /// match itself is kept (audited).
    pub async fn unmatch(
        &self,
        actor: &Actor,
        id: i64,
        req: Unmatch,
    ) -> Result<MatchRow, AppError> {
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
                if !standing(&matches).iter().any(|s| s.id == id) {
                    return Err(AppError::Refused(format!(
                        "匹配#{id}已经撤销 (match {id} was already undone)"
                    )));
                }
                let row = tx
                    .insert_unmatch(account.id, m, req.reason.trim(), &actor.name, now)
                    .await?;
                crate::accounts::audit(
                    &tx,
                    actor,
                    now,
                    "bank.unmatch",
                    ("bank_match", &id.to_string()),
                    Some(m),
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
}

fn not_on(account: &BankAccountRow, zh: &str, what: &str, id: i64) -> AppError {
    AppError::NotFound(format!(
        "{zh}不在账户“{}”上 ({what} {id} is not on account {})",
        account.code, account.code
    ))
}
