//! Seals over rows kept outside the audit log, so that what was booked and what was sent
//! can be proven like any other change.
//!
//! - **Ledger transactions.** The audit entry of every ledger command records what the
//!   command booked: the transaction ids (as ranges) and a [`ContentDigest`] of each
//!   transaction with its postings, as stored. A transaction changed, removed or added
//!   around duban no longer matches, or is covered by no entry.
//! - **Delivery attempts.** The dispatcher seals the attempts it logged in batches
//!   ([`Store::seal_deliveries`]): one audit entry records how many and the digest of their
//!   content with the message each one sent (address, subject, body), and every row names
//!   that entry in `deliveries.seal`.
//!
//! [`check`] recomputes both inside `audit verify`'s read transaction.

use crate::audit::{self, Change, Finding, Problem};
use crate::entities::{deliveries, ledger_postings, ledger_transactions, outbox};
use crate::{Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use duban_core::audit_chain::{ContentDigest, Sealed, format_at};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

const BOOKED: &str = "duban-booked-v1";
const DELIVERED: &str = "duban-delivered-v1";

/// The audit entity of a delivery seal.
pub const DELIVERY_SEAL_ENTITY: &str = "deliveries";
/// The audit entity of a ledger command, and of a benchmark's bulk seed.
pub const LEDGER_COMMAND_ENTITY: &str = "ledger_command";
pub const LEDGER_SEED_ENTITY: &str = "ledger_seed";

/// Delivery attempts sealed by one entry, at most.
const SEAL_BATCH: u64 = 2_000;
/// Transactions read at a time when checking bookings.
const CHUNK: i64 = 1_000;

/// What a ledger command booked, as its audit entry records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booked {
    /// The transaction ids, as inclusive ranges in ascending order.
    pub transactions: Vec<(i64, i64)>,
    pub count: u64,
    pub sha256: String,
}

/// One transaction as the booking digest covers it: every stored column that says what was
/// booked, and its postings in order.
#[derive(Serialize)]
struct BookedTxn<'a> {
    id: i64,
    date: NaiveDate,
    kind: &'a str,
    description: &'a str,
    reverses: Option<i64>,
    allocation: Option<i64>,
    unit: Option<i64>,
    approval_meeting: Option<&'a str>,
    approval_date: Option<NaiveDate>,
    /// The payment's details, only when set: a transaction without them digests exactly as
    /// it did before they existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    voucher: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payee_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payee_account: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payee_bank: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bank_account: Option<&'a str>,
    /// Account, amount in fen, budget line row.
    postings: Vec<(&'a str, i64, Option<i64>)>,
}

/// The canonical bytes of a stored transaction with its postings (in `seq` order).
pub(crate) fn booked_bytes(
    t: &ledger_transactions::Model,
    postings: &[(&str, i64, Option<i64>)],
) -> Vec<u8> {
    serde_json::to_vec(&BookedTxn {
        id: t.id,
        date: t.date,
        kind: &t.kind,
        description: &t.description,
        reverses: t.reverses_id,
        allocation: t.allocation_id,
        unit: t.unit_id,
        approval_meeting: t.approval_meeting.as_deref(),
        approval_date: t.approval_date,
        voucher: t.voucher.as_deref(),
        payee_name: t.payee_name.as_deref(),
        payee_account: t.payee_account.as_deref(),
        payee_bank: t.payee_bank.as_deref(),
        bank_account: t.bank_account.as_deref(),
        postings: postings.to_vec(),
    })
    .unwrap_or_default()
}

/// The transactions one command books, in the order it books them.
pub(crate) struct Booking {
    ids: Vec<i64>,
    digest: ContentDigest,
}

impl Default for Booking {
    fn default() -> Self {
        Self {
            ids: Vec::new(),
            digest: ContentDigest::new(BOOKED),
        }
    }
}

impl Booking {
    pub fn add(&mut self, id: i64, bytes: &[u8]) {
        self.ids.push(id);
        self.digest.add(bytes);
    }

    pub fn finish(self) -> Booked {
        let Sealed { count, sha256 } = self.digest.finish();
        Booked {
            transactions: ranges(&self.ids),
            count,
            sha256,
        }
    }
}

/// Ids as inclusive ranges, in the order given (a command books ascending ids).
fn ranges(ids: &[i64]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &id in ids {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == id => *last = id,
            _ => out.push((id, id)),
        }
    }
    out
}

/// What an audit entry seals, read from it during the walk.
pub(crate) enum SealRef {
    /// A ledger command's booking; `sha256` is `None` for entries written before bookings
    /// were sealed (their transactions count as covered, unchecked).
    Booking {
        seq: i64,
        id: i64,
        transactions: Vec<(i64, i64)>,
        sealed: Option<(u64, String)>,
    },
    Deliveries {
        seq: i64,
        id: i64,
        count: u64,
        sha256: String,
    },
}

#[derive(Deserialize)]
struct DeliverySeal {
    count: u64,
    sha256: String,
}

/// Reads what the entry seals, if it is one that does.
pub(crate) fn seal_of(
    seq: i64,
    id: i64,
    entity: &str,
    action: &str,
    after: Option<&str>,
) -> Option<SealRef> {
    let after = after?;
    match entity {
        LEDGER_COMMAND_ENTITY | LEDGER_SEED_ENTITY => {
            #[derive(Deserialize)]
            struct Outcome {
                #[serde(default)]
                transactions: Vec<i64>,
            }
            #[derive(Deserialize)]
            struct Record {
                booked: Option<Booked>,
                outcome: Option<Outcome>,
            }
            let r: Record = serde_json::from_str(after).ok()?;
            Some(match (r.booked, r.outcome) {
                (Some(b), _) => SealRef::Booking {
                    seq,
                    id,
                    transactions: b.transactions,
                    sealed: Some((b.count, b.sha256)),
                },
                (None, Some(o)) => SealRef::Booking {
                    seq,
                    id,
                    transactions: ranges(&o.transactions),
                    sealed: None,
                },
                (None, None) => return None,
            })
        }
        DELIVERY_SEAL_ENTITY if action == "seal" => {
            let s: DeliverySeal = serde_json::from_str(after).ok()?;
            Some(SealRef::Deliveries {
                seq,
                id,
                count: s.count,
                sha256: s.sha256,
            })
        }
        _ => None,
    }
}

fn list(ranges: &[(i64, i64)]) -> String {
    let shown: Vec<String> = ranges
        .iter()
        .take(5)
        .map(|&(a, b)| {
            if a == b {
                format!("#{a}")
            } else {
                format!("#{a}–#{b}")
            }
        })
        .collect();
    let more = if ranges.len() > 5 { ", …" } else { "" };
    format!("{}{more}", shown.join(", "))
}

/// Recomputes every seal found in the walk and looks for rows no seal covers; each problem
/// goes to `found`.
pub(crate) async fn check<C: ConnectionTrait>(
    c: &C,
    seals: &[SealRef],
    found: &mut (dyn FnMut(Finding) + Send),
) -> Result<(), StoreError> {
    check_bookings(c, seals, found).await?;
    check_deliveries(c, seals, found).await
}

async fn check_bookings<C: ConnectionTrait>(
    c: &C,
    seals: &[SealRef],
    found: &mut (dyn FnMut(Finding) + Send),
) -> Result<(), StoreError> {
    let mut covered: BTreeMap<i64, i64> = BTreeMap::new();
    for s in seals {
        let SealRef::Booking {
            seq,
            id,
            transactions,
            sealed,
        } = s
        else {
            continue;
        };
        for &(a, b) in transactions {
            covered.insert(a, b);
        }
        let Some((count, sha256)) = sealed else {
            continue;
        };
        let mut digest = ContentDigest::new(BOOKED);
        let mut seen = 0u64;
        let mut gone = Vec::new();
        for &(a, b) in transactions {
            let mut from = a;
            while from <= b {
                let to = b.min(from + CHUNK - 1);
                let rows = transactions_between(c, from, to).await?;
                let mut expect = from;
                for (t, ps) in &rows {
                    if t.id != expect {
                        gone.push((expect, t.id - 1));
                    }
                    let ps: Vec<(&str, i64, Option<i64>)> = ps
                        .iter()
                        .map(|p| (p.account.as_str(), p.amount, p.line_id))
                        .collect();
                    digest.add(&booked_bytes(t, &ps));
                    seen += 1;
                    expect = t.id + 1;
                }
                if expect <= to {
                    gone.push((expect, to));
                }
                from = to + 1;
            }
        }
        let at = |detail: String| Finding {
            seq: Some(*seq),
            id: Some(*id),
            problem: Problem::Altered,
            detail,
        };
        if !gone.is_empty() {
            found(at(format!(
                "transactions it booked are gone: {}",
                list(&gone)
            )));
        } else if seen != *count || digest.finish().sha256 != *sha256 {
            found(at(format!(
                "the transactions it booked ({}) no longer match what it booked: changed after they were written",
                list(transactions)
            )));
        }
    }
    // Transactions no command's entry covers.
    let mut after = i64::MIN;
    let mut outside = Vec::new();
    loop {
        let ids: Vec<i64> = ledger_transactions::Entity::find()
            .select_only()
            .column(ledger_transactions::Column::Id)
            .filter(ledger_transactions::Column::Id.gt(after))
            .order_by_asc(ledger_transactions::Column::Id)
            .limit(10_000)
            .into_tuple()
            .all(c)
            .await?;
        let Some(&last) = ids.last() else { break };
        for id in ids {
            let inside = covered
                .range(..=id)
                .next_back()
                .is_some_and(|(_, &end)| id <= end);
            if !inside {
                outside.push(id);
            }
        }
        after = last;
    }
    if !outside.is_empty() {
        found(Finding {
            seq: None,
            id: None,
            problem: Problem::Unaudited,
            detail: format!(
                "ledger transactions {} were booked by no audited command: written around duban",
                list(&ranges(&outside))
            ),
        });
    }
    Ok(())
}

type TxnWithPostings = (ledger_transactions::Model, Vec<ledger_postings::Model>);

async fn transactions_between<C: ConnectionTrait>(
    c: &C,
    from: i64,
    to: i64,
) -> Result<Vec<TxnWithPostings>, StoreError> {
    let txns = ledger_transactions::Entity::find()
        .filter(ledger_transactions::Column::Id.between(from, to))
        .order_by_asc(ledger_transactions::Column::Id)
        .all(c)
        .await?;
    let mut postings: HashMap<i64, Vec<ledger_postings::Model>> = HashMap::new();
    for p in ledger_postings::Entity::find()
        .filter(ledger_postings::Column::TransactionId.between(from, to))
        .order_by_asc(ledger_postings::Column::TransactionId)
        .order_by_asc(ledger_postings::Column::Seq)
        .all(c)
        .await?
    {
        postings.entry(p.transaction_id).or_default().push(p);
    }
    Ok(txns
        .into_iter()
        .map(|t| {
            let ps = postings.remove(&t.id).unwrap_or_default();
            (t, ps)
        })
        .collect())
}

/// One delivery attempt as its seal covers it, with the message it was about.
#[derive(Serialize)]
struct DeliveredRow<'a> {
    id: i64,
    outbox_id: i64,
    attempt: i32,
    at: String,
    channel: &'a str,
    provider: &'a str,
    provider_message_id: Option<&'a str>,
    status: &'a str,
    error: Option<&'a str>,
    node: &'a str,
    address: Option<&'a str>,
    subject: Option<&'a str>,
    body: Option<&'a str>,
}

/// The digest of `rows` (in id order) with the messages they were about.
fn delivered_digest(rows: &[deliveries::Model], messages: &HashMap<i64, outbox::Model>) -> Sealed {
    let mut d = ContentDigest::new(DELIVERED);
    for r in rows {
        let m = messages.get(&r.outbox_id);
        let bytes = serde_json::to_vec(&DeliveredRow {
            id: r.id,
            outbox_id: r.outbox_id,
            attempt: r.attempt,
            at: format_at(r.at),
            channel: &r.channel,
            provider: &r.provider,
            provider_message_id: r.provider_message_id.as_deref(),
            status: &r.status,
            error: r.error.as_deref(),
            node: &r.node,
            address: m.map(|m| m.address.as_str()),
            subject: m.map(|m| m.subject.as_str()),
            body: m.map(|m| m.body.as_str()),
        })
        .unwrap_or_default();
        d.add(&bytes);
    }
    d.finish()
}

async fn messages_of<C: ConnectionTrait>(
    c: &C,
    rows: &[deliveries::Model],
) -> Result<HashMap<i64, outbox::Model>, StoreError> {
    let mut ids: Vec<i64> = rows.iter().map(|r| r.outbox_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        for m in outbox::Entity::find()
            .filter(outbox::Column::Id.is_in(chunk.to_vec()))
            .all(c)
            .await?
        {
            out.insert(m.id, m);
        }
    }
    Ok(out)
}

async fn check_deliveries<C: ConnectionTrait>(
    c: &C,
    seals: &[SealRef],
    found: &mut (dyn FnMut(Finding) + Send),
) -> Result<(), StoreError> {
    let mut known = std::collections::HashSet::new();
    for s in seals {
        let SealRef::Deliveries {
            seq,
            id,
            count,
            sha256,
        } = s
        else {
            continue;
        };
        known.insert(*seq);
        let rows = deliveries::Entity::find()
            .filter(deliveries::Column::Seal.eq(*seq))
            .order_by_asc(deliveries::Column::Id)
            .all(c)
            .await?;
        let messages = messages_of(c, &rows).await?;
        let now = delivered_digest(&rows, &messages);
        if now.count != *count || now.sha256 != *sha256 {
            let detail = if now.count < *count {
                format!(
                    "it sealed {count} delivery attempts and {} are left: removed or unsealed",
                    now.count
                )
            } else if now.count > *count {
                format!(
                    "it sealed {count} delivery attempts and {} name it: added around duban",
                    now.count
                )
            } else {
                format!(
                    "the {count} delivery attempts it sealed (ids {}–{}) or their messages were changed",
                    rows.first().map_or(0, |r| r.id),
                    rows.last().map_or(0, |r| r.id)
                )
            };
            found(Finding {
                seq: Some(*seq),
                id: Some(*id),
                problem: Problem::Altered,
                detail,
            });
        }
    }
    let seals_named: Vec<Option<i64>> = deliveries::Entity::find()
        .select_only()
        .column(deliveries::Column::Seal)
        .filter(deliveries::Column::Seal.is_not_null())
        .distinct()
        .into_tuple()
        .all(c)
        .await?;
    for seal in seals_named.into_iter().flatten() {
        if !known.contains(&seal) {
            found(Finding {
                seq: Some(seal),
                id: None,
                problem: Problem::Unaudited,
                detail: format!(
                    "delivery attempts name seal seq {seal}, which is no delivery seal of the chain"
                ),
            });
        }
    }
    Ok(())
}

/// How many delivery attempts a seal covered, and the entry that sealed them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SealReport {
    pub sealed: u64,
    pub entries: u64,
}

impl Store {
    /// Seals the delivery attempts logged since the last seal, in batches of
    /// [`SEAL_BATCH`], each with one audit entry (actor `duban`, origin `engine`).
    pub async fn seal_deliveries(&self, now: DateTime<Utc>) -> Result<SealReport, StoreError> {
        let mut report = SealReport::default();
        // Most passes log nothing new: look before taking the write lock.
        let any: Option<i64> = deliveries::Entity::find()
            .select_only()
            .column(deliveries::Column::Id)
            .filter(deliveries::Column::Seal.is_null())
            .limit(1)
            .into_tuple()
            .one(self.conn())
            .await?;
        if any.is_none() {
            return Ok(report);
        }
        loop {
            let tx = self.begin_write().await?;
            let c = tx.conn();
            // Taking the chain's head first serialises sealers: a second one waits here and
            // then finds the rows sealed.
            audit::lock_head(c).await?;
            let rows = deliveries::Entity::find()
                .filter(deliveries::Column::Seal.is_null())
                .order_by_asc(deliveries::Column::Id)
                .limit(SEAL_BATCH)
                .all(c)
                .await?;
            let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
                tx.rollback().await?;
                return Ok(report);
            };
            let (first, last) = (first.id, last.id);
            let messages = messages_of(c, &rows).await?;
            let sealed = delivered_digest(&rows, &messages);
            #[derive(Serialize)]
            struct Seal<'a> {
                first: i64,
                last: i64,
                count: u64,
                sha256: &'a str,
            }
            let seq = audit::record(
                c,
                Change {
                    actor: "duban",
                    origin: "engine",
                    at: now,
                    action: "seal",
                    entity: DELIVERY_SEAL_ENTITY,
                    key: &format!("{first}-{last}"),
                    before: None,
                    after: Some(&Seal {
                        first,
                        last,
                        count: sealed.count,
                        sha256: &sealed.sha256,
                    }),
                },
            )
            .await?;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            for chunk in ids.chunks(500) {
                deliveries::Entity::update_many()
                    .col_expr(deliveries::Column::Seal, Expr::value(seq))
                    .filter(deliveries::Column::Id.is_in(chunk.to_vec()))
                    .filter(deliveries::Column::Seal.is_null())
                    .exec(c)
                    .await?;
            }
            tx.commit().await?;
            report.sealed += sealed.count;
            report.entries += 1;
            if (rows.len() as u64) < SEAL_BATCH {
                return Ok(report);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_ranges() {
        assert_eq!(ranges(&[]), Vec::<(i64, i64)>::new());
        assert_eq!(
            ranges(&[4, 5, 6, 9, 11, 12]),
            vec![(4, 6), (9, 9), (11, 12)]
        );
        assert_eq!(list(&[(4, 6), (9, 9)]), "#4–#6, #9");
    }

    fn txn(payment: bool) -> ledger_transactions::Model {
        let d = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let p = |s: &str| payment.then(|| s.to_string());
        ledger_transactions::Model {
            id: 7,
            date: d,
            kind: "disbursement".into(),
            description: "d".into(),
            reverses_id: None,
            allocation_id: Some(3),
            unit_id: Some(4),
            approval_meeting: None,
            approval_date: None,
            voucher: p("记-0012"),
            payee_name: None,
            payee_account: p("6222"),
            payee_bank: None,
            bank_account: p("ccb"),
            command_id: 1,
            created_at: d.and_hms_opt(0, 0, 0).unwrap(),
            created_by: "x".into(),
        }
    }

    #[test]
    fn a_transaction_without_payment_details_digests_as_before_they_existed() {
        let ps = [("expenses:startup", 100, None)];
        assert_eq!(
            String::from_utf8(booked_bytes(&txn(false), &ps)).unwrap(),
            r#"{"id":7,"date":"2026-03-02","kind":"disbursement","description":"d","reverses":null,"allocation":3,"unit":4,"approval_meeting":null,"approval_date":null,"postings":[["expenses:startup",100,null]]}"#
        );
        let with = String::from_utf8(booked_bytes(&txn(true), &ps)).unwrap();
        assert!(
            with.contains(
                r#""voucher":"记-0012","payee_account":"6222","bank_account":"ccb","postings""#
            ),
            "{with}"
        );
    }

    #[test]
    fn an_entry_without_a_booking_covers_its_outcome() {
        let old = r#"{"command":{},"outcome":{"transactions":[7,8,10]}}"#;
        match seal_of(3, 30, LEDGER_COMMAND_ENTITY, "allocate", Some(old)) {
            Some(SealRef::Booking {
                transactions,
                sealed: None,
                ..
            }) => assert_eq!(transactions, vec![(7, 8), (10, 10)]),
            _ => panic!("not read as a booking"),
        }
        assert!(seal_of(3, 30, "allocation", "create", Some(old)).is_none());
        assert!(seal_of(3, 30, DELIVERY_SEAL_ENTITY, "seal", Some("{}")).is_none());
    }
}
