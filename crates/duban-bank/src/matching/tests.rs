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
/// line the entry it truly belongs to.
#[derive(Debug, Clone)]
struct World {
    book: Vec<BookItem>,
    lines: Vec<BankItem>,
    truth: HashMap<i64, i64>,
    /// Lines whose text carries their entry's voucher unchanged.
    intact: Vec<i64>,
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
    )
        .prop_map(|(payments, fees)| {
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
                intact: vec![],
            };
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
                w.truth.insert(line_id, id);
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
            w.lines.sort_by_key(|l| (l.date, l.id));
            w
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// On noisy statements (lines missing, payments never booked, dates ±3 days, typos in vouchers, names and
    /// accounts, repeated amounts, fees) no line is ever matched to another entry than its
    /// own, every line carrying its voucher is matched by it, every line is either matched or
    /// an exception, and each entry is used at most once.
    #[test]
    fn no_wrong_match_on_noisy_statements(w in world(), tolerance in prop::sample::select(vec![0i64, 0, 50])) {
        let rules = Rules { tolerance: Money::from_fen(tolerance), ..Rules::default() };
        let out = reconcile(&w.lines, &w.book, &rules);
        for m in &out.matches {
            prop_assert_eq!(w.truth.get(&m.line), Some(&m.entry), "line {} matched to {} by {:?}", m.line, m.entry, m.rule);
            prop_assert!(m.agreed.contains(&Field::Amount) || m.rule == Rule::Tolerance);
            prop_assert!(m.runners_up.iter().all(|c| c.entry != m.entry));
        }
        for id in &w.intact {
            let m = out.matches.iter().find(|m| m.line == *id);
            prop_assert!(m.is_some_and(|m| m.rule == Rule::Reference), "line {} carries its voucher but is {:?}", id, m);
        }
        let mut entries: Vec<i64> = out.matches.iter().map(|m| m.entry).collect();
        entries.sort();
        entries.dedup();
        prop_assert_eq!(entries.len(), out.matches.len());
        prop_assert_eq!(out.matches.len() + out.exceptions.len(), w.lines.len());
    }
}
