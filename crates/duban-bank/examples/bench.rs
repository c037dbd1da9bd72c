//! Reading speed: a generated statement of N lines (default 100,000) as GBK CSV, read and
//! checked in memory. Prints lines per second and the process's peak resident memory.
//! Then matching speed: the lines against a book of as many entries (every 100th line's
//! entry missing, dates shifted by up to three days, half the vouchers in the lines, every
//! 50th payment split by the bank over two lines and every 50th booked as two entries paid
//! in one line), with the default rules, the group rules included.
//!
//! cargo run --release -p duban-bank --example bench -- [LINES]

use duban_core::money::Money;
use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let mut text = String::from(
        "账号,账户名称,交易时间,借方发生额（支取）,贷方发生额（收入）,余额,币种,对方户名,对方账号,对方开户机构,记账日期,摘要,备注,账户明细编号-交易流水号\n",
    );
    let mut balance: i64 = 100_000_000; // fen: 1,000,000.00
    let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap();
    for i in 0..n {
        // A deterministic mix of amounts in and out.
        let fen = ((i as i64 * 7919) % 5_000_000) + 1;
        let incoming = i % 3 == 0;
        balance += if incoming { fen } else { -fen };
        let amount = Money::from_fen(fen).to_string();
        let (d, c) = if incoming {
            ("0.00".to_string(), amount)
        } else {
            (amount, "0.00".to_string())
        };
        let t = start + chrono::Duration::seconds(37 * i as i64);
        text.push_str(&format!(
            "\"53001813416670720632\",\"云南澄岭科技有限公司\",\"{}\",\"{d}\",\"{c}\",\"{}\",\"人民币元\",\"昆明某某商贸有限公司{}\",\"62170031114941{:05}\",\"建行昆明景江花园支行\",\"{}\",\"电子转账\",\"货款\",\"{}-53090503{:08}\"\n",
            t.format("%Y%m%d %H:%M:%S"),
            Money::from_fen(balance),
            i % 97,
            i % 100_000,
            t.format("%Y%m%d"),
            13_000 + i,
            i
        ));
    }
    let bytes = encoding_rs::GBK.encode(&text).0.into_owned();
    drop(text);
    let before = status("VmRSS:");
    let began = Instant::now();
    let (st, figures) =
        duban_bank::import("bench.csv", &bytes).expect("the generated statement checks");
    let took = began.elapsed();
    assert_eq!(figures.lines, n);
    assert_eq!(st.lines.len(), n);
    println!(
        "{n} lines ({:.1} MB GBK CSV) read and checked in {:.3} s: {:.0} lines/s; resident {before} with the file in memory, peak {}",
        bytes.len() as f64 / 1e6,
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        status("VmHWM:")
    );

    use duban_bank::matching::{BankItem, BookItem, Rule, Rules, reconcile};
    let half = |m: Money| Money::from_fen(m.fen() / 2);
    let rest = |m: Money| Money::from_fen(m.fen() - m.fen() / 2);
    // Ids: a line and its entry share `i`; the second half of a split line or of a combined
    // entry is `n + i`. The names carry `i` for the halves, so that they are one party.
    let mut lines: Vec<BankItem> = Vec::with_capacity(n + n / 50);
    for (i, l) in st.lines.iter().enumerate() {
        let mut item = BankItem {
            id: i as i64,
            date: l.date.expect("dated"),
            amount: l.amount,
            counterparty_name: l.counterparty_name.clone(),
            counterparty_account: l.counterparty_account.clone(),
            serial: l.serial.clone(),
            text: if i % 2 == 0 && i % 50 != 25 {
                format!("{} 记-{i:06}", l.summary)
            } else {
                l.summary.clone()
            },
        };
        if i % 50 == 25 || i % 50 == 40 {
            item.counterparty_name = format!("拆分单位{i}");
            item.serial = None;
        }
        if i % 50 == 25 {
            let mut second = item.clone();
            second.id = (n + i) as i64;
            second.amount = rest(item.amount);
            item.amount = half(item.amount);
            lines.push(item);
            lines.push(second);
        } else {
            lines.push(item);
        }
    }
    drop(st);
    let mut book: Vec<BookItem> = Vec::with_capacity(n + n / 50);
    for l in lines.iter().filter(|l| (l.id as usize) < n) {
        let i = l.id as usize;
        if i % 100 == 99 {
            continue;
        }
        let mut e = BookItem {
            id: l.id,
            date: l.date + chrono::Duration::days(i as i64 % 7 - 3),
            amount: l.amount,
            voucher: Some(format!("记-{i:06}")),
            payee_name: Some(l.counterparty_name.clone()),
            payee_account: None,
        };
        if i % 50 == 25 {
            // The whole payment, split by the bank.
            e.amount = lines
                .iter()
                .filter(|x| x.id == l.id || x.id == (n + i) as i64)
                .map(|x| x.amount)
                .sum();
            e.voucher = None;
        }
        if i % 50 == 40 {
            e.voucher = None;
            let mut second = e.clone();
            second.id = (n + i) as i64;
            second.amount = rest(l.amount);
            e.amount = half(l.amount);
            book.push(e);
            book.push(second);
        } else {
            book.push(e);
        }
    }
    let began = Instant::now();
    let out = reconcile(&lines, &book, &Rules::default());
    let took = began.elapsed();
    let root = |id: i64| id as usize % n;
    let wrong = out
        .matches
        .iter()
        .filter(|m| {
            let r = root(m.line);
            m.lines()
                .into_iter()
                .chain(m.entries())
                .any(|id| root(id) != r)
        })
        .count();
    let groups = out.matches.iter().filter(|m| m.rule.is_group()).count();
    let split = out.matches.iter().filter(|m| m.rule == Rule::Split).count();
    println!(
        "{} lines against {} entries matched in {:.3} s: {} matched ({} wrong; {} groups, {} of them split), {} exceptions; peak {}",
        lines.len(),
        book.len(),
        took.as_secs_f64(),
        out.matches.len(),
        wrong,
        groups,
        split,
        out.exceptions.len(),
        status("VmHWM:")
    );
}

/// A line of /proc/self/status (`VmRSS:`, `VmHWM:` for the peak).
fn status(key: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .map(|l| l.trim_start_matches(key).trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
