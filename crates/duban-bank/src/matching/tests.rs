use super::*;
use proptest::prelude::*;
use std::collections::HashMap;

fn d(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap() + chrono::Duration::days(i64::from(day))
}

fn line(id: i64, day: u32, fen: i64, name: &str, account: &str, text: &str) -> BankItem {
    BankItem {
        id,
        date: d(day),
        amount: Money::from_fen(fen),
        counterparty_name: name.into(),
        counterparty_account: account.into(),
        serial: None,
        text: text.into(),
    }
}

fn entry(id: i64, day: u32, fen: i64, voucher: &str, name: &str, account: &str) -> BookItem {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
    BookItem {
        id,
        date: d(day),
        amount: Money::from_fen(fen),
        voucher: some(voucher),
        payee_name: some(name),
        payee_account: some(account),
    }
}

#[test]
fn each_rule_matches_in_order_and_says_what_agreed() {
    let book = [
        entry(10, 1, -10_000, "记-0001", "甲支部", "6222 0001"),
        entry(11, 2, -20_000, "", "乙支部", "6222 0002"),
        entry(12, 3, -30_000, "", "", ""),
        entry(13, 9, -40_000, "记-0004", "", ""),
    ];
    let lines = [
        line(1, 2, -10_000, "别名", "", "用途：记-0001 拨付"),
        line(2, 6, -20_000, "乙支部", "", "拨款"),
        line(3, 5, -30_000, "丙", "9", ""),
        line(4, 9, -40_020, "", "", "记-0004"),
    ];
    let out = reconcile(&lines, &book, &Rules::default());
    let got: Vec<(i64, i64, Rule)> = out
        .matches
        .iter()
        .map(|m| (m.line, m.entry, m.rule))
        .collect();
    assert_eq!(
        got,
        [
            (1, 10, Rule::Reference),
            (2, 11, Rule::Counterparty),
            (3, 12, Rule::AmountDate)
        ]
    );
    assert_eq!(
        out.matches[0].agreed,
        [Field::Reference, Field::Amount, Field::Date]
    );
    assert_eq!(
        out.matches[1].agreed,
        [Field::Amount, Field::CounterpartyName]
    );
    // 0.20 apart with no tolerance: an exception that says so.
    assert_eq!(out.exceptions.len(), 1);
    let e = &out.exceptions[0];
    assert_eq!((e.line, e.near[0].entry), (4, 13));
    assert!(
        e.near[0].why_not.contains(&"金额相差-0.20".to_string()),
        "{e:?}"
    );
    // With a tolerance of 0.50 the same pair matches, the difference recorded.
    let rules = Rules {
        tolerance: Money::from_fen(50),
        ..Rules::default()
    };
    let out = reconcile(&lines, &book, &rules);
    let m = out.matches.iter().find(|m| m.line == 4).unwrap();
    assert_eq!(
        (m.entry, m.rule, m.difference),
        (13, Rule::Tolerance, Money::from_fen(-20))
    );
    assert!(out.exceptions.is_empty());
}

#[test]
fn two_entries_the_rule_cannot_tell_apart_are_left_with_the_reason() {
    let book = [
        entry(10, 1, -50_000, "", "", ""),
        entry(11, 2, -50_000, "", "", ""),
    ];
    let lines = [line(1, 2, -50_000, "", "", "")];
    let out = reconcile(&lines, &book, &Rules::default());
    assert!(out.matches.is_empty());
    let near = &out.exceptions[0].near;
    assert_eq!(near.iter().map(|c| c.entry).collect::<Vec<_>>(), [11, 10]);
    assert!(near[0].why_not[0].contains("不唯一"), "{near:?}");
    // Two lines for one entry: neither is taken either.
    let lines = [
        line(1, 1, -50_000, "", "", ""),
        line(2, 1, -50_000, "", "", ""),
    ];
    let out = reconcile(&lines, &book[..1], &Rules::default());
    assert!(out.matches.is_empty());
    // A voucher settles it.
    let book = [
        entry(10, 1, -50_000, "记-0010", "", ""),
        entry(11, 2, -50_000, "记-0011", "", ""),
    ];
    let lines = [line(1, 2, -50_000, "", "", "记-0010")];
    let out = reconcile(&lines, &book, &Rules::default());
    assert_eq!(
        (out.matches[0].entry, out.matches[0].rule),
        (10, Rule::Reference)
    );
    assert_eq!(out.matches[0].runners_up[0].entry, 11);
    assert!(
        out.matches[0].runners_up[0]
            .why_not
            .iter()
            .any(|w| w.contains("凭证号")),
        "{:?}",
        out.matches[0].runners_up
    );
}

#[test]
fn once_one_pair_is_made_the_next_becomes_unique() {
    // Line 1 names its voucher; line 2 then has entry 11 alone.
    let book = [
        entry(10, 1, -50_000, "记-0010", "", ""),
        entry(11, 1, -50_000, "", "", ""),
    ];
    let lines = [
        line(1, 1, -50_000, "", "", ""),
        line(2, 1, -50_000, "", "", "记-0010"),
    ];
    let out = reconcile(&lines, &book, &Rules::default());
    let got: Vec<(i64, i64, Rule)> = out
        .matches
        .iter()
        .map(|m| (m.line, m.entry, m.rule))
        .collect();
    assert_eq!(got, [(2, 10, Rule::Reference), (1, 11, Rule::AmountDate)]);
}

#[test]
fn names_compare_without_width_spaces_or_company_suffix() {
    assert_eq!(
        normalise_name("云南澄岭科技 有限公司"),
        normalise_name("云南澄岭科技（有限公司）")
    );
    assert_eq!(normalise_name("ＡＢＣ　Ltd"), normalise_name("abc ltd"));
    assert_ne!(normalise_name("甲支部"), normalise_name("乙支部"));
}

/// A generated book, the statement the bank would print for it with noise, and for each
/// line the group (its lines and entries) it truly belongs to.
#[derive(Debug, Clone)]
struct World {
    book: Vec<BookItem>,
    lines: Vec<BankItem>,
    /// Line → its group in `groups`.
    truth: HashMap<i64, usize>,
    /// (lines, entries), sorted: one and one, or a split (1:N) or a combination (N:1).
    groups: Vec<(Vec<i64>, Vec<i64>)>,
    /// The groups of more than one line or entry.
    multi: Vec<usize>,
    /// Lines whose text carries their entry's voucher unchanged.
    intact: Vec<i64>,
}

impl World {
    fn group(&mut self, lines: Vec<i64>, entries: Vec<i64>) {
        let g = self.groups.len();
        for l in &lines {
            self.truth.insert(*l, g);
        }
        if lines.len() + entries.len() > 2 {
            self.multi.push(g);
        }
        let (mut lines, mut entries) = (lines, entries);
        lines.sort_unstable();
        entries.sort_unstable();
        self.groups.push((lines, entries));
    }

    /// Whether `m` is exactly one true group.
    fn is_true(&self, m: &Match) -> bool {
        let Some(&g) = self.truth.get(&m.line) else {
            return false;
        };
        let (mut lines, mut entries) = (m.lines(), m.entries());
        lines.sort_unstable();
        entries.sort_unstable();
        self.groups[g] == (lines, entries)
    }
}

/// A payment split over several lines, or several paid in one line: the payee, the day,
/// the parts (fen), each part's shift in days and whether its counterparty is garbled
/// (a typo in both name and account).
#[derive(Debug, Clone)]
struct Grouped {
    payee: usize,
    day: u32,
    parts: Vec<(i64, i64, bool)>,
}

fn grouped() -> impl Strategy<Value = Grouped> {
    (
        0usize..3,
        5u32..55,
        // Three payees share every group. (A part of the amount and party of another open
        // item within its window would be taken by the one-to-one rules first, as a person
        // would take it; amounts drawn from a wide range leave those out.)
        prop::collection::vec(
            (10_000i64..5_000_000, -2i64..=2, prop::bool::weighted(0.05)),
            2..=4,
        ),
    )
        .prop_map(|(payee, day, parts)| Grouped { payee, day, parts })
}

#[derive(Debug, Clone)]
struct Noise {
    dropped: bool,
    /// Paid, but never booked: a line no entry explains.
    unbooked: bool,
    shift: i64,
    voucher_typo: bool,
    name_typo: bool,
    account_typo: bool,
}

fn world() -> impl Strategy<Value = World> {
    let payment = (
        0u32..60,
        prop_oneof![
            // Amounts that repeat (the same rate for several units) and amounts that do not.
            prop::sample::select(vec![100_000i64, 200_000, 500_000, 1_000_000]),
            100_000i64..50_000_000,
        ],
        0usize..8,
        any::<bool>(),
    );
    let noise = (
        (prop::bool::weighted(0.1), prop::bool::weighted(0.1)),
        -3i64..=3,
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.3),
    )
        .prop_map(
            |((dropped, unbooked), shift, voucher_typo, name_typo, account_typo)| Noise {
                dropped,
                unbooked,
                shift,
                voucher_typo,
                name_typo,
                account_typo,
            },
        );
    let fee = (0u32..60, 1i64..5_000);
    (
        prop::collection::vec((payment, noise), 1..40),
        prop::collection::vec(fee, 0..8),
        prop::collection::vec(grouped(), 0..4),
        prop::collection::vec(grouped(), 0..4),
    )
        .prop_map(|(payments, fees, splits, combined)| {
            let payees = [
                "甲党支部",
                "乙党支部",
                "丙党委",
                "丁党总支",
                "戊支部",
                "己支部",
                "庚支部",
                "辛支部",
            ];
            let mut w = World {
                book: vec![],
                lines: vec![],
                truth: HashMap::new(),
                groups: vec![],
                multi: vec![],
                intact: vec![],
            };
            let party = |payee: usize| (payees[payee].to_string(), format!("62220000{payee:04}"));
            for (i, ((day, fen, payee, with_voucher), noise)) in payments.into_iter().enumerate() {
                let id = 1000 + i as i64;
                let voucher = format!("记-{i:04}");
                let account = format!("62220000{payee:04}");
                if !noise.unbooked {
                    w.book.push(BookItem {
                        id,
                        date: d(day),
                        amount: Money::from_fen(-fen),
                        voucher: with_voucher.then(|| voucher.clone()),
                        payee_name: Some(payees[payee].to_string()),
                        payee_account: Some(account.clone()),
                    });
                }
                if noise.dropped {
                    continue;
                }
                let line_id = i as i64 + 1;
                let text = if noise.voucher_typo {
                    format!("拨付 记-X{i:04}")
                } else {
                    format!("拨付 {voucher}")
                };
                w.lines.push(BankItem {
                    id: line_id,
                    date: d(day) + chrono::Duration::days(noise.shift),
                    amount: Money::from_fen(-fen),
                    counterparty_name: if noise.name_typo {
                        format!("{}X", payees[payee])
                    } else {
                        payees[payee].to_string()
                    },
                    counterparty_account: if noise.account_typo {
                        format!("{account}9")
                    } else {
                        account
                    },
                    serial: None,
                    text,
                });
                if noise.unbooked {
                    // Paid to someone else: another unit's name and account.
                    let l = w.lines.last_mut().unwrap();
                    l.counterparty_name = format!("外单位{i}");
                    l.counterparty_account = format!("955880{i:04}");
                    continue;
                }
                w.group(vec![line_id], vec![id]);
                if with_voucher && !noise.voucher_typo {
                    w.intact.push(line_id);
                }
            }
            // Fees and incoming money no entry explains.
            for (j, (day, fen)) in fees.into_iter().enumerate() {
                w.lines.push(BankItem {
                    id: 5000 + j as i64,
                    date: d(day),
                    amount: Money::from_fen(if j % 2 == 0 { -fen } else { fen }),
                    counterparty_name: String::new(),
                    counterparty_account: String::new(),
                    serial: None,
                    text: "手续费".into(),
                });
            }
            // One entry paid in several lines.
            for (j, g) in splits.into_iter().enumerate() {
                let (name, account) = party(g.payee);
                let id = 8000 + j as i64;
                let total: i64 = g.parts.iter().map(|p| p.0).sum();
                w.book.push(BookItem {
                    id,
                    date: d(g.day),
                    amount: Money::from_fen(-total),
                    voucher: None,
                    payee_name: Some(name.clone()),
                    payee_account: Some(account.clone()),
                });
                let mut ids = Vec::new();
                for (p, (fen, shift, garbled)) in g.parts.iter().enumerate() {
                    let line_id = 6000 + 10 * j as i64 + p as i64;
                    ids.push(line_id);
                    let x = if *garbled { "X" } else { "" };
                    w.lines.push(BankItem {
                        id: line_id,
                        date: d(g.day) + chrono::Duration::days(*shift),
                        amount: Money::from_fen(-fen),
                        counterparty_name: format!("{name}{x}"),
                        counterparty_account: format!("{account}{x}"),
                        serial: None,
                        text: "拨付（分笔）".into(),
                    });
                }
                w.group(ids, vec![id]);
            }
            // Several entries paid in one line.
            for (j, g) in combined.into_iter().enumerate() {
                let (name, account) = party(g.payee);
                let line_id = 9000 + j as i64;
                let total: i64 = g.parts.iter().map(|p| p.0).sum();
                w.lines.push(BankItem {
                    id: line_id,
                    date: d(g.day),
                    amount: Money::from_fen(-total),
                    counterparty_name: name.clone(),
                    counterparty_account: account.clone(),
                    serial: None,
                    text: "合并拨付".into(),
                });
                let mut ids = Vec::new();
                for (p, (fen, shift, garbled)) in g.parts.iter().enumerate() {
                    let id = 7000 + 10 * j as i64 + p as i64;
                    ids.push(id);
                    let x = if *garbled { "X" } else { "" };
                    w.book.push(BookItem {
                        id,
                        date: d(g.day) + chrono::Duration::days(*shift),
                        amount: Money::from_fen(-fen),
                        voucher: None,
                        payee_name: Some(format!("{name}{x}")),
                        payee_account: Some(format!("{account}{x}")),
                    });
                }
                w.group(vec![line_id], ids);
            }
            w.lines.sort_by_key(|l| (l.date, l.id));
            w
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// On noisy statements (lines missing, payments never booked, dates ±3 days, typos in vouchers, names and
    /// accounts, repeated amounts, fees, payments split over several lines and several paid
    /// in one) no line is ever matched to another entry than its own, a group is matched
    /// whole or not at all, every line carrying its voucher is matched by it, every line is
    /// either matched or an exception, and each line and entry is used at most once.
    #[test]
    fn no_wrong_match_on_noisy_statements(w in world(), tolerance in prop::sample::select(vec![0i64, 0, 50])) {
        let rules = Rules { tolerance: Money::from_fen(tolerance), ..Rules::default() };
        let out = reconcile(&w.lines, &w.book, &rules);
        for m in &out.matches {
            prop_assert!(w.is_true(m), "lines {:?} matched to {:?} by {:?}", m.lines(), m.entries(), m.rule);
            prop_assert!(m.agreed.contains(&Field::Amount) || m.rule == Rule::Tolerance);
            prop_assert!(m.runners_up.iter().all(|c| !m.entries().contains(&c.entry)));
        }
        for id in &w.intact {
            let m = out.matches.iter().find(|m| m.line == *id);
            prop_assert!(m.is_some_and(|m| m.rule == Rule::Reference), "line {} carries its voucher but is {:?}", id, m);
        }
        let mut entries: Vec<i64> = out.matches.iter().flat_map(Match::entries).collect();
        let used = entries.len();
        entries.sort();
        entries.dedup();
        prop_assert_eq!(entries.len(), used);
        let matched_lines: usize = out.matches.iter().map(|m| m.lines().len()).sum();
        prop_assert_eq!(matched_lines + out.exceptions.len(), w.lines.len());
    }
}

/// The share of split and combined payments the group rules find on the same generated
/// statements (2,000 of them, a fixed seed), with no wrong match: measured 0.854 (5,190 of
/// 6,077). A part whose counterparty is garbled in both name and account (one in twenty)
/// cannot be grouped and leaves its group to a person; held at 0.80 or more.
#[test]
fn group_rules_find_most_splits_and_combinations() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut found, mut total) = (0usize, 0usize);
    for _ in 0..2_000 {
        let w = world().new_tree(&mut runner).unwrap().current();
        let out = reconcile(&w.lines, &w.book, &Rules::default());
        if let Some(m) = out.matches.iter().find(|m| !w.is_true(m)) {
            let l: Vec<_> = w
                .lines
                .iter()
                .filter(|l| m.lines().contains(&l.id))
                .collect();
            let e: Vec<_> = w
                .book
                .iter()
                .filter(|e| m.entries().contains(&e.id))
                .collect();
            panic!("wrong {:?}\n{l:#?}\n{e:#?}\n{:?}", m.rule, w.groups);
        }
        total += w.multi.len();
        found += w
            .multi
            .iter()
            .filter(|&&g| {
                out.matches
                    .iter()
                    .any(|m| m.rule.is_group() && w.truth.get(&m.line) == Some(&g))
            })
            .count();
    }
    let share = found as f64 / total as f64;
    eprintln!("group rules found {found} of {total} split or combined payments ({share:.3})");
    assert!(share >= 0.80, "{found} of {total}");
}

#[test]
fn a_split_and_a_combination_are_matched_and_explained() {
    let book = [
        entry(10, 1, -300_000, "", "甲支部", "6222 0001"),
        entry(20, 2, -10_000, "", "乙支部", "6222 0002"),
        entry(21, 3, -25_000, "", "乙支部", "6222 0002"),
        entry(22, 3, -5_000, "", "乙支部", "6222 0002"),
    ];
    let lines = [
        line(1, 1, -100_000, "甲支部", "62220001", "拨付一"),
        line(2, 2, -200_000, "甲支部", "62220001", "拨付二"),
        line(3, 4, -35_000, "乙支部", "", "合并拨付"),
        line(4, 4, -5_000, "丙支部", "", "另一笔"),
    ];
    let out = reconcile(&lines, &book, &Rules::default());
    let split = out.matches.iter().find(|m| m.rule == Rule::Split).unwrap();
    assert_eq!((split.lines(), split.entries()), (vec![1, 2], vec![10]));
    assert!(split.agreed.contains(&Field::CounterpartyAccount));
    let comb = out
        .matches
        .iter()
        .find(|m| m.rule == Rule::Combined)
        .unwrap();
    assert_eq!((comb.lines(), comb.entries()), (vec![3], vec![20, 21]));
    assert_eq!(comb.difference, Money::ZERO);
    assert!(comb.agreed.contains(&Field::CounterpartyName));
    // Entry 22 (0.05 万) is not part of it: 100 + 250 is the one combination.
    assert_eq!(out.exceptions.len(), 1);
    // Switched off, neither rule runs.
    let rules = Rules {
        order: vec![Rule::Reference, Rule::Counterparty, Rule::AmountDate],
        ..Rules::default()
    };
    let out = reconcile(&lines, &book, &rules);
    assert!(out.matches.iter().all(|m| !m.rule.is_group()));
}

#[test]
fn a_grouping_that_is_not_unique_is_left_with_the_reason() {
    // 100 + 200 and 100 + 200 again: two combinations give 300.
    let book = [
        entry(20, 2, -10_000, "", "乙支部", ""),
        entry(21, 2, -20_000, "", "乙支部", ""),
        entry(22, 3, -10_000, "", "乙支部", ""),
        entry(23, 3, -20_000, "", "乙支部", ""),
    ];
    let lines = [line(3, 4, -30_000, "乙支部", "", "合并拨付")];
    let out = reconcile(&lines, &book, &Rules::default());
    assert!(out.matches.is_empty());
    assert!(
        out.exceptions[0].notes[0].contains("不止一种组合"),
        "{:?}",
        out.exceptions
    );
}

#[test]
fn the_configured_table_is_checked_and_names_the_key() {
    let c = MatchingConfig::default();
    assert_eq!(c.rules().unwrap(), Rules::default());
    let mut bad = c.clone();
    bad.tolerance = "0.005".into();
    assert!(
        bad.rules()
            .unwrap_err()
            .starts_with("bank.matching.tolerance:")
    );
    let mut bad = c.clone();
    bad.rules[1].rule = "amount".into();
    assert!(
        bad.rules()
            .unwrap_err()
            .starts_with("bank.matching.rules[1].rule:")
    );
    let mut bad = c.clone();
    bad.rules[2].rule = "reference".into();
    assert!(bad.rules().unwrap_err().contains("twice"));
    let mut bad = c.clone();
    bad.fee_account = "expenses:Bank Fees".into();
    assert!(
        bad.rules()
            .unwrap_err()
            .starts_with("bank.matching.fee_account:")
    );
    let mut off = c.clone();
    off.rules[4].enabled = false;
    off.tolerance = "0.50".into();
    let r = off.rules().unwrap();
    assert_eq!(r.tolerance, Money::from_fen(50));
    assert!(!r.order.contains(&Rule::Combined));
    let table = r.table();
    assert_eq!(
        table.last().map(|t| (t.rule, t.enabled)),
        Some((Rule::Combined, false))
    );
}
