//! The ledger end to end in memory: the seeds' figures, every operation, and the
//! invariants under random command sequences.

use super::*;
use crate::budget::LineRole;
use crate::command::*;
use crate::config::{YearEndPolicy, YearEndRule};
use crate::hledger::{Commodity, render_journal};
use crate::journal::balances;
use crate::model::Approval;
use crate::report::{BalanceReport, BudgetReport};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn approval() -> Approval {
    Approval::new("部务会 2026-01", d(2026, 1, 4)).unwrap()
}

struct T {
    book: Book,
    n: u64,
}

impl T {
    fn new() -> Self {
        Self::with(LedgerConfig::default())
    }

    fn with(config: LedgerConfig) -> Self {
        Self {
            book: Book::new(config).unwrap(),
            n: 0,
        }
    }

    fn key(&mut self) -> IdempotencyKey {
        self.n += 1;
        IdempotencyKey::new(&format!("k{}", self.n)).unwrap()
    }

    fn run_on(&mut self, today: NaiveDate, command: Command) -> Result<Outcome, LedgerError> {
        let env = Envelope {
            key: self.key(),
            actor: "finance".into(),
            command,
        };
        self.book.execute(&env, today)
    }

    fn run(&mut self, command: Command) -> Result<Outcome, LedgerError> {
        self.run_on(d(2027, 6, 30), command)
    }

    fn ok(&mut self, command: Command) -> Outcome {
        let name = command.name();
        self.run(command).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn appropriate(&mut self, date: NaiveDate, line: BudgetLineKind, amount: Money) -> Outcome {
        self.ok(Command::Appropriate(Appropriate {
            date,
            line,
            amount,
            memo: None,
        }))
    }

    fn allocate(
        &mut self,
        line: BudgetLineKind,
        unit: &str,
        amount: Money,
    ) -> Result<Outcome, LedgerError> {
        self.run(Command::Allocate(Allocate {
            date: d(2026, 3, 2),
            line,
            unit: unit.into(),
            purpose: "subsidy".into(),
            amount,
            approval: approval(),
        }))
    }

    fn disburse(&mut self, allocation: i64, amount: Money) -> Result<Outcome, LedgerError> {
        self.run(Command::Disburse(Disburse {
            date: d(2026, 4, 1),
            allocation,
            amount,
            memo: None,
            payment: Default::default(),
        }))
    }

    fn headroom(&self, year: i32, kind: BudgetLineKind) -> Money {
        self.book
            .line(LineId::new(year, kind))
            .unwrap_or_default()
            .headroom()
    }

    fn reverse(&mut self, date: NaiveDate, transaction: i64) -> Result<Outcome, LedgerError> {
        self.run(Command::Reverse(Reverse {
            date,
            transaction,
            reason: "entered in error".into(),
        }))
    }
}

/// The journal balances, the budget identity holds on every line, every line balance is
/// non-negative, the lines equal what the journal says, and allocations add up.
fn assert_invariants(book: &Book) {
    for t in book.journal() {
        let sum: i64 = t.txn.postings().iter().map(|p| p.amount.fen()).sum();
        assert_eq!(sum, 0, "transaction #{} does not balance", t.id);
    }
    let mut from_journal: BTreeMap<LineId, LineBalances> = BTreeMap::new();
    for t in book.journal() {
        for p in t.txn.postings() {
            if let Some((line, role)) = p.account.line() {
                from_journal
                    .entry(line)
                    .or_default()
                    .apply(role, p.amount)
                    .unwrap();
            }
        }
    }
    for (id, b) in book.lines() {
        assert!(b.is_consistent(), "{id}: {b:?}");
        assert_eq!(b.first_negative(), None, "{id}: {b:?}");
        assert_eq!(
            from_journal.get(id).copied().unwrap_or_default(),
            *b,
            "{id}"
        );
    }
    for a in book.allocations() {
        assert!(a.is_consistent(), "allocation #{}: {a:?}", a.id);
        let committed: i64 = book
            .journal()
            .iter()
            .filter(|t| t.txn.allocation() == Some(a.id))
            .flat_map(|t| t.txn.postings())
            .filter(|p| matches!(p.account.line(), Some((_, LineRole::Committed))))
            .map(|p| p.amount.fen())
            .sum();
        assert_eq!(
            committed,
            a.outstanding.fen(),
            "allocation #{} outstanding vs journal",
            a.id
        );
    }
}

#[test]
fn jinan_seed_figures() {
    // 济南: 10,000,000 a year; 177 new units × 2,000 = 354,000; 53 sites × 100,000 = 5,300,000.
    let mut t = T::new();
    let jan = d(2026, 1, 5);
    t.appropriate(jan, BudgetLineKind::StartUp, Money::yuan(400_000));
    t.appropriate(
        jan,
        BudgetLineKind::DemonstrationSite,
        Money::yuan(5_300_000),
    );
    t.appropriate(
        jan,
        BudgetLineKind::StandardisedSite,
        Money::yuan(4_300_000),
    );
    for i in 0..180 {
        let formed = if i < 177 {
            d(2026, 1 + (i % 11) as u32, 15)
        } else {
            d(2025, 11, 1)
        };
        t.book.register_unit(&format!("JN{i:03}"), formed);
    }

    let plan = t.book.plan_startup_batch(2026).unwrap();
    assert_eq!((plan.count, plan.total), (177, Money::yuan(354_000)));
    let batch = Command::AllocateStartupBatch(AllocateStartupBatch {
        date: d(2026, 3, 1),
        formed_in: 2026,
        approval: approval(),
    });
    let out = t.ok(batch.clone());
    assert_eq!(out.allocations.len(), 177);
    assert_eq!(
        out.message,
        "allocated start-up funds to 177 units, 354,000.00 in total"
    );
    // A second run under a new key allocates nothing new.
    let again = t.ok(batch);
    assert!(again.allocations.is_empty(), "{again:?}");
    assert_eq!(t.book.plan_startup_batch(2026).unwrap().count, 0);

    for i in 0..53 {
        t.allocate(
            BudgetLineKind::DemonstrationSite,
            &format!("JN{i:03}"),
            Money::yuan(100_000),
        )
        .unwrap();
    }
    let report = BudgetReport::new(2026, t.book.lines()).unwrap();
    assert_eq!(report.total.appropriated, Money::yuan(10_000_000));
    assert_eq!(report.total.committed, Money::yuan(5_654_000));
    assert_eq!(report.total.headroom, Money::yuan(4_346_000));

    // The start-up line's leftover moves to awards, so all 4,346,000 is available to them.
    t.ok(Command::Virement(Virement {
        date: d(2026, 5, 1),
        from: BudgetLineKind::StartUp,
        to: BudgetLineKind::StandardisedSite,
        amount: Money::yuan(46_000),
        approval: approval(),
    }));
    assert_eq!(
        t.headroom(2026, BudgetLineKind::StandardisedSite),
        Money::yuan(4_346_000)
    );
    let mut accepted = 0;
    let refusal = loop {
        match t.allocate(
            BudgetLineKind::StandardisedSite,
            &format!("SS{accepted:03}"),
            Money::yuan(30_000),
        ) {
            Ok(_) => accepted += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(accepted, 144); // 144 × 30,000 = 4,320,000
    assert_eq!(
        refusal,
        LedgerError::OverBudget {
            line: LineId::new(2026, BudgetLineKind::StandardisedSite),
            headroom: Money::yuan(26_000),
            needed: Money::yuan(30_000)
        }
    );
    assert!(
        refusal.to_string().contains("headroom 26,000.00"),
        "{refusal}"
    );
    let report = BudgetReport::new(2026, t.book.lines()).unwrap();
    assert_eq!(report.total.committed, Money::yuan(9_974_000));
    assert_eq!(report.total.headroom, Money::yuan(26_000));
    assert_invariants(&t.book);
}

#[test]
fn luzhou_seed_figures() {
    // 泸州: 6 demonstration sites × 100,000 + 20 standardised sites × 30,000 = 1,200,000.
    let mut t = T::new();
    t.appropriate(
        d(2026, 1, 5),
        BudgetLineKind::DemonstrationSite,
        Money::yuan(600_000),
    );
    t.appropriate(
        d(2026, 1, 5),
        BudgetLineKind::StandardisedSite,
        Money::yuan(600_000),
    );
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.extend(
            t.allocate(
                BudgetLineKind::DemonstrationSite,
                &format!("LZD{i}"),
                Money::yuan(100_000),
            )
            .unwrap()
            .allocations,
        );
    }
    for i in 0..20 {
        ids.extend(
            t.allocate(
                BudgetLineKind::StandardisedSite,
                &format!("LZS{i}"),
                Money::yuan(30_000),
            )
            .unwrap()
            .allocations,
        );
    }
    let r = BudgetReport::new(2026, t.book.lines()).unwrap();
    assert_eq!(r.total.committed, Money::yuan(1_200_000));
    assert_eq!(r.total.headroom, Money::ZERO);
    let e = t
        .allocate(
            BudgetLineKind::StandardisedSite,
            "LZS99",
            Money::yuan(30_000),
        )
        .unwrap_err();
    assert!(e.to_string().contains("headroom 0.00"), "{e}");
    for id in ids {
        let amount = t.book.allocation(id).unwrap().amount;
        t.disburse(id, amount).unwrap();
    }
    let b = balances(t.book.journal().iter().map(|p| &p.txn)).unwrap();
    let spent = b[&crate::account::Account::Expense(BudgetLineKind::DemonstrationSite)]
        .checked_add(b[&crate::account::Account::Expense(BudgetLineKind::StandardisedSite)])
        .unwrap();
    assert_eq!(spent, Money::yuan(1_200_000));
    let r = BudgetReport::new(2026, t.book.lines()).unwrap();
    assert_eq!(
        (r.total.paid, r.total.execution_rate),
        (Money::yuan(1_200_000), Some(Decimal::new(10_000, 2)))
    );
    assert_invariants(&t.book);
}

#[test]
fn disbursement_in_tranches_never_exceeds_the_allocation_and_the_rest_can_be_released() {
    let mut t = T::new();
    t.appropriate(
        d(2026, 1, 5),
        BudgetLineKind::DemonstrationSite,
        Money::yuan(300_000),
    );
    let a = t
        .allocate(
            BudgetLineKind::DemonstrationSite,
            "U1",
            Money::yuan(100_000),
        )
        .unwrap()
        .allocations[0];
    t.disburse(a, Money::yuan(40_000)).unwrap();
    let e = t.disburse(a, Money::yuan(70_000)).unwrap_err();
    assert!(e.to_string().contains("60,000.00 left to disburse"), "{e}");
    t.disburse(a, Money::yuan(30_000)).unwrap();
    assert_eq!(
        t.headroom(2026, BudgetLineKind::DemonstrationSite),
        Money::yuan(200_000)
    );
    let out = t.ok(Command::Release(Release {
        date: d(2026, 5, 1),
        allocation: a,
        reason: "site finished under budget".into(),
    }));
    assert_eq!(
        out.message,
        format!("released 30,000.00 of allocation #{a}")
    );
    assert_eq!(
        t.headroom(2026, BudgetLineKind::DemonstrationSite),
        Money::yuan(230_000)
    );
    let alloc = t.book.allocation(a).unwrap();
    assert_eq!(
        (alloc.status, alloc.disbursed, alloc.released),
        (
            AllocationStatus::Released,
            Money::yuan(70_000),
            Money::yuan(30_000)
        )
    );
    assert!(matches!(
        t.disburse(a, Money::yuan(1)).unwrap_err(),
        LedgerError::AllocationNotOpen {
            status: "released",
            ..
        }
    ));
    // The released 30,000 no longer counts against the unit's 100,000 cap.
    t.allocate(BudgetLineKind::DemonstrationSite, "U1", Money::yuan(30_000))
        .unwrap();
    assert!(
        t.allocate(BudgetLineKind::DemonstrationSite, "U1", Money::yuan(1))
            .is_err()
    );
    assert_invariants(&t.book);
}

#[test]
fn a_units_fund_ledger_runs_its_totals_through_payments_releases_reversals_and_dues() {
    let mut t = T::new();
    t.appropriate(d(2026, 1, 5), BudgetLineKind::Training, Money::yuan(10_000));
    let a = t
        .allocate(BudgetLineKind::Training, "U1", Money::yuan(3_000))
        .unwrap()
        .allocations[0];
    t.allocate(BudgetLineKind::Training, "U2", Money::yuan(500))
        .unwrap();
    let paid = t.disburse(a, Money::yuan(1_000)).unwrap().transactions[0];
    t.reverse(d(2026, 4, 2), paid).unwrap();
    t.disburse(a, Money::yuan(1_200)).unwrap();
    t.ok(Command::Release(Release {
        date: d(2026, 5, 1),
        allocation: a,
        reason: "done".into(),
    }));
    t.ok(Command::RecordDues(RecordDues {
        date: d(2026, 5, 3),
        unit: "U1".into(),
        month: YearMonth::parse("2026-04").unwrap(),
        amount: Money::from_fen(12_345),
    }));
    let of_u1: Vec<PostedTransaction> = t
        .book
        .journal()
        .iter()
        .filter(|p| p.txn.unit() == Some("U1"))
        .cloned()
        .collect();
    let rows = crate::report::unit_ledger(&of_u1).unwrap();
    let y = Money::yuan;
    let seen: Vec<(TxnKind, Money, Money, Money, Money, Money)> = rows
        .iter()
        .map(|r| {
            (
                r.kind,
                r.committed,
                r.disbursed,
                r.total_committed,
                r.total_disbursed,
                r.outstanding,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                TxnKind::Allocation,
                y(3_000),
                y(0),
                y(3_000),
                y(0),
                y(3_000)
            ),
            (
                TxnKind::Disbursement,
                y(0),
                y(1_000),
                y(3_000),
                y(1_000),
                y(2_000)
            ),
            // Dated 1 April like the first payment, so before the reversal of 2 April.
            (
                TxnKind::Disbursement,
                y(0),
                y(1_200),
                y(3_000),
                y(2_200),
                y(800)
            ),
            (
                TxnKind::Reversal,
                y(0),
                y(-1_000),
                y(3_000),
                y(1_200),
                y(1_800)
            ),
            (TxnKind::Release, y(-1_800), y(0), y(1_200), y(1_200), y(0)),
            (TxnKind::Dues, y(0), y(0), y(1_200), y(1_200), y(0)),
        ]
    );
    let last = rows.last().unwrap();
    assert_eq!(
        (last.dues, last.total_dues),
        (Money::from_fen(12_345), Money::from_fen(12_345))
    );
    assert_eq!(rows[3].reverses, Some(paid));
}

#[test]
fn paying_without_commitment_uses_headroom_and_stops_at_it() {
    let mut t = T::new();
    t.appropriate(d(2026, 1, 5), BudgetLineKind::Training, Money::yuan(10_000));
    let pay = |amount| {
        Command::PayDirect(PayDirect {
            date: d(2026, 2, 1),
            line: BudgetLineKind::Training,
            amount,
            payee: "党校".into(),
            purpose: "secretaries' course".into(),
            payment: Default::default(),
        })
    };
    t.ok(pay(Money::yuan(8_000)));
    let e = t.run(pay(Money::yuan(2_001))).unwrap_err();
    assert!(e.to_string().contains("headroom 2,000.00"), "{e}");
    let r = BudgetReport::new(2026, t.book.lines()).unwrap();
    assert_eq!(
        (r.rows[0].paid_without_commitment, r.rows[0].committed),
        (Money::yuan(8_000), Money::ZERO)
    );
}

#[test]
fn warns_past_the_configured_share() {
    let mut config = LedgerConfig::default();
    config.budget.warn_share = Decimal::new(8, 1);
    let mut t = T::with(config);
    t.appropriate(d(2026, 1, 5), BudgetLineKind::Other, Money::yuan(100));
    assert!(
        t.allocate(BudgetLineKind::Other, "U1", Money::yuan(80))
            .unwrap()
            .warnings
            .is_empty()
    );
    let out = t
        .allocate(BudgetLineKind::Other, "U2", Money::yuan(5))
        .unwrap();
    assert_eq!(out.warnings.len(), 1);
    assert!(
        out.warnings[0].contains("85.00% used"),
        "{:?}",
        out.warnings
    );
    assert_eq!(out.headroom[0].headroom, Money::yuan(15));
}

#[test]
fn replaying_a_key_changes_nothing_and_a_changed_amount_is_refused() {
    let mut t = T::new();
    t.appropriate(d(2026, 1, 5), BudgetLineKind::StartUp, Money::yuan(10_000));
    let key = IdempotencyKey::new("alloc-U1").unwrap();
    let cmd = |amount| {
        Command::Allocate(Allocate {
            date: d(2026, 3, 2),
            line: BudgetLineKind::StartUp,
            unit: "U1".into(),
            purpose: "start-up".into(),
            amount,
            approval: approval(),
        })
    };
    let env = |amount| Envelope {
        key: key.clone(),
        actor: "finance".into(),
        command: cmd(amount),
    };
    let today = d(2026, 3, 2);
    let first = t.book.execute(&env(Money::yuan(2_000)), today).unwrap();
    let journal_len = t.book.journal().len();
    let again = t.book.execute(&env(Money::yuan(2_000)), today).unwrap();
    assert_eq!(first, again);
    assert_eq!(t.book.journal().len(), journal_len);
    let e = t.book.execute(&env(Money::yuan(2_001)), today).unwrap_err();
    assert!(matches!(e, LedgerError::IdempotencyConflict { .. }), "{e}");
    assert_eq!(t.book.journal().len(), journal_len);
    assert_eq!(
        t.headroom(2026, BudgetLineKind::StartUp),
        Money::yuan(8_000)
    );
}

#[test]
fn closed_periods_refuse_postings_and_corrections_post_in_the_open_period() {
    let mut t = T::new();
    t.appropriate(d(2026, 1, 5), BudgetLineKind::Training, Money::yuan(5_000));
    let alloc = t
        .allocate(BudgetLineKind::Training, "U1", Money::yuan(1_000))
        .unwrap();
    let march_txn = alloc.transactions[0];
    t.run_on(
        d(2026, 4, 2),
        Command::ClosePeriod(ClosePeriod {
            month: YearMonth::parse("2026-03").unwrap(),
        }),
    )
    .unwrap();
    let e = t
        .allocate(BudgetLineKind::Training, "U2", Money::yuan(1))
        .unwrap_err();
    assert!(matches!(e, LedgerError::PeriodClosed { .. }), "{e}");
    let e = t.reverse(d(2026, 3, 31), march_txn).unwrap_err();
    assert!(matches!(e, LedgerError::PeriodClosed { .. }), "{e}");
    let out = t.reverse(d(2026, 4, 3), march_txn).unwrap();
    let reversal = &t.book.journal()[(out.transactions[0] - 1) as usize];
    assert_eq!(reversal.txn.reverses(), Some(march_txn));
    assert_eq!(reversal.txn.date(), d(2026, 4, 3));
    assert_eq!(
        t.headroom(2026, BudgetLineKind::Training),
        Money::yuan(5_000)
    );
    assert_eq!(
        t.book.allocation(1).unwrap().status,
        AllocationStatus::Reversed
    );
    assert!(matches!(
        t.reverse(d(2026, 4, 3), march_txn).unwrap_err(),
        LedgerError::AlreadyReversed { .. }
    ));
    let e = t.reverse(d(2026, 4, 3), out.transactions[0]).unwrap_err();
    assert!(e.to_string().contains("itself a reversal"), "{e}");
}

#[test]
fn reversals_keep_allocations_in_step() {
    let mut t = T::new();
    t.appropriate(
        d(2026, 1, 5),
        BudgetLineKind::DemonstrationSite,
        Money::yuan(100_000),
    );
    let out = t
        .allocate(
            BudgetLineKind::DemonstrationSite,
            "U1",
            Money::yuan(100_000),
        )
        .unwrap();
    let (a, commit) = (out.allocations[0], out.transactions[0]);
    let pay = t.disburse(a, Money::yuan(100_000)).unwrap().transactions[0];
    assert_eq!(
        t.book.allocation(a).unwrap().status,
        AllocationStatus::Completed
    );
    let e = t.reverse(d(2026, 5, 1), commit).unwrap_err();
    assert!(e.to_string().contains("reverse those first"), "{e}");
    t.reverse(d(2026, 5, 1), pay).unwrap();
    let alloc = t.book.allocation(a).unwrap();
    assert_eq!(
        (alloc.status, alloc.outstanding, alloc.disbursed),
        (AllocationStatus::Open, Money::yuan(100_000), Money::ZERO)
    );
    t.reverse(d(2026, 5, 1), commit).unwrap();
    assert_eq!(
        t.headroom(2026, BudgetLineKind::DemonstrationSite),
        Money::yuan(100_000)
    );
    assert_invariants(&t.book);
    // Reversing the appropriation is refused while anything is committed against it.
    let out = t
        .allocate(BudgetLineKind::DemonstrationSite, "U2", Money::yuan(1))
        .unwrap();
    let e = t.reverse(d(2026, 5, 2), 1).unwrap_err();
    assert!(matches!(e, LedgerError::OverBudget { .. }), "{e}");
    t.reverse(d(2026, 5, 2), out.transactions[0]).unwrap();
    t.reverse(d(2026, 5, 2), 1).unwrap();
    assert!(
        balances(t.book.journal().iter().map(|p| &p.txn))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn year_end_carries_commitments_forward_and_lapses_headroom_by_default() {
    let mut t = T::new();
    t.appropriate(
        d(2026, 1, 5),
        BudgetLineKind::DemonstrationSite,
        Money::yuan(300_000),
    );
    let a = t
        .allocate(
            BudgetLineKind::DemonstrationSite,
            "U1",
            Money::yuan(100_000),
        )
        .unwrap()
        .allocations[0];
    t.disburse(a, Money::yuan(40_000)).unwrap();
    let close = Command::CloseYear(CloseYear { year: 2026 });
    let e = t.run_on(d(2026, 12, 31), close.clone()).unwrap_err();
    assert!(e.to_string().contains("has not ended"), "{e}");
    let out = t.run_on(d(2027, 1, 4), close.clone()).unwrap();
    assert_eq!(out.transactions.len(), 3, "{out:?}");
    let y26 = t
        .book
        .line(LineId::new(2026, BudgetLineKind::DemonstrationSite))
        .unwrap();
    assert_eq!(
        (y26.appropriated, y26.available, y26.committed, y26.paid),
        (
            Money::yuan(40_000),
            Money::ZERO,
            Money::ZERO,
            Money::yuan(40_000)
        )
    );
    let y27 = t
        .book
        .line(LineId::new(2027, BudgetLineKind::DemonstrationSite))
        .unwrap();
    assert_eq!(
        (y27.appropriated, y27.committed, y27.available),
        (Money::yuan(60_000), Money::yuan(60_000), Money::ZERO)
    );
    let alloc = t.book.allocation(a).unwrap();
    assert_eq!(
        (alloc.line.year, alloc.status, alloc.outstanding),
        (2027, AllocationStatus::Open, Money::yuan(60_000))
    );
    // 2026 is closed; the carried allocation is paid out of 2027.
    let e = t.appropriate_err(d(2026, 12, 1));
    assert_eq!(e, LedgerError::YearClosed(2026));
    t.run(Command::Disburse(Disburse {
        date: d(2027, 2, 1),
        allocation: a,
        amount: Money::yuan(60_000),
        memo: None,
        payment: Default::default(),
    }))
    .unwrap();
    assert_eq!(
        t.book.allocation(a).unwrap().status,
        AllocationStatus::Completed
    );
    assert_eq!(
        t.run_on(d(2027, 1, 5), close).unwrap_err(),
        LedgerError::YearClosed(2026)
    );
    assert_invariants(&t.book);
}

impl T {
    fn appropriate_err(&mut self, date: NaiveDate) -> LedgerError {
        self.run(Command::Appropriate(Appropriate {
            date,
            line: BudgetLineKind::Other,
            amount: Money::yuan(1),
            memo: None,
        }))
        .unwrap_err()
    }
}

#[test]
fn year_end_can_lapse_commitments_and_carry_headroom() {
    let config = LedgerConfig {
        year_end: YearEndPolicy {
            commitments: YearEndRule::Lapse,
            headroom: YearEndRule::CarryForward,
        },
        ..LedgerConfig::default()
    };
    let mut t = T::with(config);
    t.appropriate(d(2026, 1, 5), BudgetLineKind::Training, Money::yuan(1_000));
    let a = t
        .allocate(BudgetLineKind::Training, "U1", Money::yuan(300))
        .unwrap()
        .allocations[0];
    t.disburse(a, Money::yuan(100)).unwrap();
    t.run_on(d(2027, 1, 2), Command::CloseYear(CloseYear { year: 2026 }))
        .unwrap();
    let alloc = t.book.allocation(a).unwrap();
    assert_eq!(
        (alloc.status, alloc.lapsed),
        (AllocationStatus::Lapsed, Money::yuan(200))
    );
    assert_eq!(t.headroom(2027, BudgetLineKind::Training), Money::yuan(700));
    assert_eq!(
        t.book
            .line(LineId::new(2026, BudgetLineKind::Training))
            .unwrap()
            .appropriated,
        Money::yuan(100)
    );
    assert_invariants(&t.book);
}

#[test]
fn dues_are_recorded_and_rebated_the_next_year() {
    let mut config = LedgerConfig::default();
    config.dues.rebate_share = Decimal::new(5, 1);
    let mut t = T::with(config);
    for m in 1..=12 {
        t.ok(Command::RecordDues(RecordDues {
            date: d(2026, m, 20),
            unit: "U1".into(),
            month: YearMonth::new(2026, m).unwrap(),
            amount: Money::from_fen(1_505),
        }));
    }
    let dup = t.run(Command::RecordDues(RecordDues {
        date: d(2026, 3, 21),
        unit: "U1".into(),
        month: YearMonth::new(2026, 3).unwrap(),
        amount: Money::yuan(1),
    }));
    assert!(dup.unwrap_err().to_string().contains("already recorded"));
    let apply = |date| {
        Command::ApplyRebate(ApplyRebate {
            date,
            unit: "U1".into(),
            dues_year: 2026,
        })
    };
    assert!(
        t.run(apply(d(2026, 12, 31)))
            .unwrap_err()
            .to_string()
            .contains("applied for in 2027")
    );
    let out = t.ok(apply(d(2027, 1, 10)));
    let app = out.rebate_application.unwrap();
    // 12 × 15.05 = 180.60; half of it is 90.30.
    assert_eq!(t.book.rebate(app).unwrap().amount, Money::from_fen(9_030));
    assert!(
        t.run(apply(d(2027, 1, 11)))
            .unwrap_err()
            .to_string()
            .contains("already applied")
    );
    let approve = Command::ApproveRebate(ApproveRebate {
        date: d(2027, 2, 1),
        application: app,
        approval: Approval::new("部务会 2027-02", d(2027, 2, 1)).unwrap(),
    });
    assert!(matches!(
        t.run(approve.clone()).unwrap_err(),
        LedgerError::UnknownLine(_)
    ));
    t.appropriate(
        d(2027, 1, 5),
        BudgetLineKind::DuesRebate,
        Money::yuan(50_000),
    );
    let out = t.ok(approve);
    let a = out.allocations[0];
    t.run(Command::Disburse(Disburse {
        date: d(2027, 2, 10),
        allocation: a,
        amount: Money::from_fen(9_030),
        memo: None,
        payment: Default::default(),
    }))
    .unwrap();
    let b = balances(t.book.journal().iter().map(|p| &p.txn)).unwrap();
    assert_eq!(
        b[&crate::account::Account::DuesAccount],
        Money::from_fen(18_060 - 9_030)
    );
    assert_eq!(
        b[&crate::account::Account::Expense(BudgetLineKind::DuesRebate)],
        Money::from_fen(9_030)
    );
    // Dues a rebate already counts cannot be reversed.
    let e = t.reverse(d(2027, 3, 1), 1).unwrap_err();
    assert!(
        e.to_string().contains("rebate application already counts"),
        "{e}"
    );
    assert_invariants(&t.book);
}

#[test]
fn start_up_funds_are_given_once_per_unit() {
    let mut t = T::new();
    t.appropriate(d(2026, 1, 5), BudgetLineKind::StartUp, Money::yuan(10_000));
    t.allocate(BudgetLineKind::StartUp, "U1", Money::yuan(2_000))
        .unwrap();
    let e = t
        .allocate(BudgetLineKind::StartUp, "U1", Money::yuan(2_000))
        .unwrap_err();
    assert!(matches!(e, LedgerError::RateCard(_)), "{e}");
    let e = t
        .allocate(BudgetLineKind::StartUp, "U2", Money::yuan(3_000))
        .unwrap_err();
    assert!(e.to_string().contains("2,000.00 per unit"), "{e}");
}

#[test]
fn a_batch_beyond_headroom_is_refused_whole() {
    let mut t = T::new();
    t.appropriate(d(2026, 1, 5), BudgetLineKind::StartUp, Money::yuan(5_000));
    for i in 0..3 {
        t.book.register_unit(&format!("U{i}"), d(2026, 2, 1));
    }
    let e = t
        .run(Command::AllocateStartupBatch(AllocateStartupBatch {
            date: d(2026, 3, 1),
            formed_in: 2026,
            approval: approval(),
        }))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("headroom 5,000.00, and this needs 6,000.00"),
        "{e}"
    );
    assert_eq!(t.book.allocations().count(), 0);
    assert_eq!(
        t.headroom(2026, BudgetLineKind::StartUp),
        Money::yuan(5_000)
    );
}

#[test]
fn the_exported_journal_matches_the_balance_report() {
    let mut t = T::new();
    t.appropriate(d(2026, 1, 5), BudgetLineKind::StartUp, Money::yuan(10_000));
    let a = t
        .allocate(BudgetLineKind::StartUp, "U1", Money::yuan(2_000))
        .unwrap()
        .allocations[0];
    t.disburse(a, Money::yuan(2_000)).unwrap();
    let journal = render_journal(t.book.journal(), Commodity::Cny);
    let report = BalanceReport::new(
        balances(t.book.journal().iter().map(|p| &p.txn))
            .unwrap()
            .into_iter()
            .map(|(a, m)| (a.name(), m)),
    )
    .unwrap();
    // Every reported account is declared, and every posting line's amount is exact.
    for row in &report.rows {
        assert!(
            journal.contains(&format!("account {}", row.account)),
            "{}",
            row.account
        );
    }
    assert!(
        journal.contains("expenses:startup                2000.00 CNY"),
        "{journal}"
    );
    assert_eq!(report.total, Money::ZERO);
    assert_eq!(
        report
            .rows
            .iter()
            .map(|r| (r.account.as_str(), r.balance))
            .collect::<Vec<_>>(),
        vec![
            ("budget:2026:startup:appropriated", Money::yuan(-10_000)),
            ("budget:2026:startup:available", Money::yuan(8_000)),
            ("budget:2026:startup:paid", Money::yuan(2_000)),
            ("expenses:startup", Money::yuan(2_000)),
            ("income:fiscal-appropriation", Money::yuan(-2_000)),
        ]
    );
}

// ---- property tests

#[derive(Debug, Clone)]
enum Op {
    Appropriate(usize, i64),
    Allocate(usize, u8, i64),
    Disburse(usize, i64),
    Release(usize),
    PayDirect(usize, i64),
    Virement(usize, usize, i64),
    Dues(u8, u32, i64),
    Reverse(usize),
}

const KINDS: [BudgetLineKind; 3] = [
    BudgetLineKind::Training,
    BudgetLineKind::Other,
    BudgetLineKind::DemonstrationSite,
];

fn op() -> impl Strategy<Value = Op> {
    let fen = 1i64..5_000_000;
    prop_oneof![
        2 => (0..3usize, fen.clone()).prop_map(|(k, a)| Op::Appropriate(k, a)),
        4 => (0..3usize, 0..20u8, fen.clone()).prop_map(|(k, u, a)| Op::Allocate(k, u, a)),
        3 => (0..64usize, fen.clone()).prop_map(|(i, a)| Op::Disburse(i, a)),
        1 => (0..64usize).prop_map(Op::Release),
        2 => (0..3usize, fen.clone()).prop_map(|(k, a)| Op::PayDirect(k, a)),
        1 => (0..3usize, 0..3usize, fen.clone()).prop_map(|(a, b, x)| Op::Virement(a, b, x)),
        1 => (0..5u8, 1..13u32, fen).prop_map(|(u, m, a)| Op::Dues(u, m, a)),
        2 => (0..64usize).prop_map(Op::Reverse),
    ]
}

fn command_of(book: &Book, op: &Op) -> Command {
    let date = d(2026, 6, 1);
    let pick = |i: usize| -> i64 {
        let n = book.allocations().count();
        if n == 0 { 1 } else { (i % n) as i64 + 1 }
    };
    match *op {
        Op::Appropriate(k, a) => Command::Appropriate(Appropriate {
            date,
            line: KINDS[k],
            amount: Money::from_fen(a),
            memo: None,
        }),
        Op::Allocate(k, u, a) => Command::Allocate(Allocate {
            date,
            line: KINDS[k],
            unit: format!("U{u}"),
            purpose: "p".into(),
            // Demonstration sites are capped per unit; stay under the cap most of the time.
            amount: Money::from_fen(a),
            approval: approval(),
        }),
        Op::Disburse(i, a) => Command::Disburse(Disburse {
            date,
            allocation: pick(i),
            amount: Money::from_fen(a),
            memo: None,
            payment: Default::default(),
        }),
        Op::Release(i) => Command::Release(Release {
            date,
            allocation: pick(i),
            reason: "r".into(),
        }),
        Op::PayDirect(k, a) => Command::PayDirect(PayDirect {
            date,
            line: KINDS[k],
            amount: Money::from_fen(a),
            payee: "p".into(),
            purpose: "p".into(),
            payment: Default::default(),
        }),
        Op::Virement(a, b, x) => Command::Virement(Virement {
            date,
            from: KINDS[a],
            to: KINDS[b],
            amount: Money::from_fen(x),
            approval: approval(),
        }),
        Op::Dues(u, m, a) => Command::RecordDues(RecordDues {
            date: d(2026, 12, 1),
            unit: format!("U{u}"),
            month: YearMonth::new(2026, m).unwrap(),
            amount: Money::from_fen(a),
        }),
        Op::Reverse(i) => {
            let n = book.journal().len().max(1);
            Command::Reverse(Reverse {
                date,
                transaction: (i % n) as i64 + 1,
                reason: "r".into(),
            })
        }
    }
}

fn drive(ops: &[Op]) -> T {
    let mut t = T::new();
    for op in ops {
        let before_len = t.book.journal().len();
        let before_lines = t.book.lines().clone();
        let cmd = command_of(&t.book, op);
        if t.run_on(d(2026, 12, 31), cmd).is_err() {
            // A refused command changes nothing.
            assert_eq!(t.book.journal().len(), before_len);
            assert_eq!(t.book.lines(), &before_lines);
        }
        assert_invariants(&t.book);
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Every transaction balances and no line's headroom (or any balance) is ever
    /// negative, whatever sequence of commands is accepted or refused.
    #[test]
    fn headroom_is_never_negative(ops in prop::collection::vec(op(), 1..60)) {
        let t = drive(&ops);
        for b in t.book.lines().values() {
            prop_assert!(!b.headroom().is_negative());
        }
    }

    /// Reversing the last transaction restores every balance it changed.
    #[test]
    fn a_reversal_restores_every_balance(ops in prop::collection::vec(op(), 1..40)) {
        let mut t = drive(&ops);
        let journal = t.book.journal().to_vec();
        let Some(last) = journal.iter().rev().find(|p| p.txn.kind() != TxnKind::Reversal && t.book.reversed_by(p.id).is_none()) else {
            return Ok(());
        };
        if last.id != journal.len() as i64 {
            return Ok(());
        }
        let before = balances(journal[..journal.len() - 1].iter().map(|p| &p.txn)).unwrap();
        let lines_before: BTreeMap<LineId, LineBalances> = {
            let mut m = BTreeMap::new();
            for p in &journal[..journal.len() - 1] {
                for q in p.txn.postings() {
                    if let Some((line, role)) = q.account.line() {
                        m.entry(line).or_insert_with(LineBalances::default).apply(role, q.amount).unwrap();
                    }
                }
            }
            m
        };
        t.reverse(d(2026, 6, 2), last.id).unwrap();
        let after = balances(t.book.journal().iter().map(|p| &p.txn)).unwrap();
        prop_assert_eq!(before, after);
        for (id, b) in t.book.lines() {
            prop_assert_eq!(lines_before.get(id).copied().unwrap_or_default(), *b);
        }
    }

    /// Reversing everything, newest first, always succeeds and leaves every account at zero
    /// (each reversal takes the ledger back to the state before the original).
    #[test]
    fn reversing_everything_newest_first_empties_the_ledger(ops in prop::collection::vec(op(), 1..40)) {
        let forward: Vec<Op> = ops.into_iter().filter(|o| !matches!(o, Op::Reverse(_))).collect();
        let mut t = drive(&forward);
        let ids: Vec<i64> = t
            .book
            .journal()
            .iter()
            .rev()
            .filter(|p| p.txn.kind() != TxnKind::Reversal && t.book.reversed_by(p.id).is_none())
            .map(|p| p.id)
            .collect();
        for id in ids {
            t.reverse(d(2026, 6, 2), id).map_err(|e| TestCaseError::fail(format!("#{id}: {e}")))?;
        }
        prop_assert!(balances(t.book.journal().iter().map(|p| &p.txn)).unwrap().is_empty());
        assert_invariants(&t.book);
    }
}

#[test]
fn a_unit_holding_beyond_the_range_of_money_is_an_overflow_as_in_the_store() {
    let new = |amount: Money| crate::model::NewAllocation {
        line: LineId::new(2026, BudgetLineKind::DemonstrationSite),
        unit: "U1".into(),
        purpose: "p".into(),
        approval: Approval::new("部务会", d(2026, 1, 4)).unwrap(),
        amount,
        date: d(2026, 2, 1),
    };
    let half = Money::from_fen(i64::MAX / 2 + 1);
    let allocations: BTreeMap<i64, Allocation> = (1..=2)
        .map(|id| (id, Allocation::from_new(id, new(half))))
        .collect();
    assert_eq!(
        holding(&allocations, "U1", BudgetLineKind::DemonstrationSite),
        Err(LedgerError::Overflow)
    );
    let one: BTreeMap<i64, Allocation> = allocations.into_iter().take(1).collect();
    assert_eq!(
        holding(&one, "U1", BudgetLineKind::DemonstrationSite)
            .unwrap()
            .net,
        half
    );
}

#[test]
fn receipts_come_from_the_appropriation_the_dues_account_or_another_bank_account() {
    let mut t = T::new();
    let receive = |from: &str, amount: Money| {
        Command::Receive(Receive {
            date: d(2026, 3, 2),
            bank_account: "basic".into(),
            from: from.into(),
            amount,
            payer: Payer {
                name: Some("济南市财政局".into()),
                ..Payer::default()
            },
            memo: None,
        })
    };
    t.ok(receive("income:fiscal-appropriation", Money::yuan(100_000)));
    t.ok(receive("assets:party-dues-account", Money::yuan(300)));
    t.ok(receive("assets:bank:other", Money::yuan(50)));
    for bad in [
        "assets:bank:basic",
        "expenses:startup",
        "budget:2026:startup:available",
        "nonsense",
    ] {
        let e = receive(bad, Money::yuan(1)).validate().unwrap_err();
        assert!(e.to_string().starts_with("from:"), "{bad}: {e}");
    }
    let e = Command::Receive(Receive {
        payer: Payer {
            account: Some("1\n2".into()),
            ..Payer::default()
        },
        ..match receive("income:fiscal-appropriation", Money::yuan(1)) {
            Command::Receive(r) => r,
            _ => unreachable!(),
        }
    })
    .validate()
    .unwrap_err();
    assert!(e.to_string().starts_with("payer.account:"), "{e}");
    let receipts: Vec<_> = t
        .book
        .journal()
        .iter()
        .filter(|p| p.txn.kind() == TxnKind::Receipt)
        .collect();
    assert_eq!(receipts.len(), 3);
    let into_basic: Money = receipts
        .iter()
        .flat_map(|p| p.txn.postings())
        .filter(|p| p.account.name() == "assets:bank:basic")
        .map(|p| p.amount)
        .sum();
    assert_eq!(into_basic, Money::from_fen(10_035_000));
    let payer = receipts[0].txn.links().payment.as_ref().unwrap();
    assert_eq!(
        (payer.payee_name.as_deref(), payer.bank_account.as_deref()),
        (Some("济南市财政局"), Some("basic"))
    );
}

#[test]
fn period_and_year_close_go_in_either_order() {
    let setup = || {
        let mut t = T::new();
        t.appropriate(d(2026, 1, 5), BudgetLineKind::Training, Money::yuan(1_000));
        let a = t
            .allocate(BudgetLineKind::Training, "U1", Money::yuan(300))
            .unwrap()
            .allocations[0];
        t.disburse(a, Money::yuan(100)).unwrap();
        t
    };
    let close_december = Command::ClosePeriod(ClosePeriod {
        month: YearMonth::parse("2026-12").unwrap(),
    });
    let close_year = Command::CloseYear(CloseYear { year: 2026 });
    // December first, then the year: the closing entries still post on 2026-12-31.
    let mut first = setup();
    first.run_on(d(2027, 1, 4), close_december.clone()).unwrap();
    let out = first.run_on(d(2027, 1, 4), close_year.clone()).unwrap();
    assert!(!out.transactions.is_empty(), "{out:?}");
    // The year first, then December.
    let mut second = setup();
    second.run_on(d(2027, 1, 4), close_year).unwrap();
    second.run_on(d(2027, 1, 4), close_december).unwrap();
    // Both books are the same.
    let summary = |t: &T| {
        t.book
            .journal()
            .iter()
            .map(|p| (p.txn.date(), p.txn.kind(), p.txn.postings().to_vec()))
            .collect::<Vec<_>>()
    };
    assert_eq!(summary(&first), summary(&second));
    assert_eq!(
        first.headroom(2027, BudgetLineKind::Training),
        second.headroom(2027, BudgetLineKind::Training)
    );
    // An ordinary posting into the closed December is still refused.
    let e = first.appropriate_err(d(2026, 12, 31));
    assert!(
        matches!(
            e,
            LedgerError::PeriodClosed { .. } | LedgerError::YearClosed(2026)
        ),
        "{e}"
    );
    assert_invariants(&first.book);
}
