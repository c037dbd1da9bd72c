//! A city's year of funds through the binary: the budget, allocations to many units and
//! several hundred disbursements from three bank accounts booked with `duban ledger submit`;
//! the banks' statements generated from them with the noise real statements carry (fees, split
//! and combined payments, value dates ±3 days, typos in references and payee names, a missing
//! line, unrelated lines), written in three banks' layouts (CCB's quoted CSV in GBK, BOC's
//! pipe-delimited export with its totals block, MT940); imported, matched, and held to the
//! truth the generator knows: no wrong match, ≥ 98 % of the book's payments matched, each match
//! explained, the rest queued with a reason, and every month's 银行存款余额调节表 balanced.

use crate::support::{TestDb, duban, run};
use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

/// A small deterministic generator (SplitMix64), so every run makes the same year.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const DISTRICTS: &[&str] = &[
    "历下区",
    "市中区",
    "槐荫区",
    "天桥区",
    "历城区",
    "长清区",
    "章丘区",
    "济阳区",
    "莱芜区",
    "钢城区",
];
const PLACES: &[&str] = &[
    "泉城路",
    "大明湖",
    "千佛山",
    "趵突泉",
    "解放路",
    "文化东路",
    "舜耕",
    "经十路",
    "燕山",
    "姚家",
    "龙洞",
    "智远",
    "王舍人",
    "洪家楼",
    "全福",
    "东风",
    "甸柳",
    "七里山",
    "舜玉",
    "杆石桥",
];
const KINDS: &[&str] = &["街道党工委", "社区党委", "党群服务中心", "机关党委"];
const BANKS: &[&str] = &[
    "中国建设银行济南分行",
    "中国工商银行济南历下支行",
    "中国农业银行济南市中支行",
    "齐鲁银行济南分行",
    "济南农村商业银行",
];

/// A unit that receives money: its code, payee name and account.
struct Unit {
    code: String,
    payee: String,
    account: String,
    bank: &'static str,
}

/// One of the city's bank accounts and the layout its bank exports.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    CcbCsv,
    BocText,
    Mt940,
}

struct Account {
    code: &'static str,
    name: &'static str,
    number: &'static str,
    bank: &'static str,
    layout: Layout,
}

const ACCOUNTS: [Account; 3] = [
    Account {
        code: "ccb-basic",
        name: "中共济南市委组织部",
        number: "37050161680100000123",
        bank: "中国建设银行济南分行",
        layout: Layout::CcbCsv,
    },
    Account {
        code: "boc-fund",
        name: "中共济南市委组织部党费专户",
        number: "219876543210",
        bank: "中国银行济南分行",
        layout: Layout::BocText,
    },
    Account {
        code: "cmb-special",
        name: "中共济南市委组织部专项资金户",
        number: "531900012310888",
        bank: "招商银行济南分行",
        layout: Layout::Mt940,
    },
];

/// A disbursement as booked: its key, allocation, account, date, amount (fen), voucher, unit.
struct Paid {
    key: String,
    allocation: usize,
    account: usize,
    date: NaiveDate,
    fen: i64,
    voucher: String,
    unit: usize,
}

/// A statement line as the bank prints it, and the vouchers it truly pays.
#[derive(Clone)]
struct Line {
    date: NaiveDate,
    seconds: u32,
    fen: i64,
    name: String,
    account: String,
    bank: String,
    summary: String,
    serial: String,
    pays: Vec<String>,
}

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

fn yuan(fen: i64) -> String {
    duban_core::money::Money::from_fen(fen).to_string()
}

/// A typo a clerk or a bank's system makes in a payee's name.
fn garble_name(rng: &mut Rng, name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match rng.below(3) {
        0 => name.trim_start_matches("中共").to_string(),
        1 => {
            let i = 2 + rng.below(chars.len() as u64 - 3) as usize;
            let mut c = chars.clone();
            c.remove(i);
            c.into_iter().collect()
        }
        _ => name.replace("党委", "党支部").replace("党工委", "工委"),
    }
}

/// A typo in a voucher number: two digits swapped, or the dash lost and a digit doubled.
fn garble_voucher(rng: &mut Rng, v: &str) -> String {
    let digits: Vec<char> = v.chars().filter(char::is_ascii_digit).collect();
    if rng.chance(50) && digits.len() >= 2 && digits[digits.len() - 1] != digits[digits.len() - 2] {
        let mut d = digits.clone();
        let n = d.len();
        d.swap(n - 1, n - 2);
        format!("记-{}", d.into_iter().collect::<String>())
    } else {
        format!(
            "记{}{}",
            digits.iter().collect::<String>(),
            digits[digits.len() - 1]
        )
    }
}

/// The city's year: units, allocations and disbursements, then the banks' lines.
struct Year {
    units: Vec<Unit>,
    commands: Vec<Value>,
    paid: Vec<Paid>,
    lines: [Vec<Line>; 3],
    missing: String,
}

fn generate() -> Year {
    let mut rng = Rng(20_260_101);
    let mut units = Vec::new();
    for i in 0..72 {
        let district = DISTRICTS[i % DISTRICTS.len()];
        let place = PLACES[(i * 7 + i / 10) % PLACES.len()];
        let kind = KINDS[i % KINDS.len()];
        units.push(Unit {
            code: format!("3701{:02}-{:04}", 2 + i % 10, 100 + i),
            payee: format!("中共济南市{district}{place}{kind}"),
            account: format!(
                "6217{:015}",
                211_000_000_000_000 + rng.below(1_000_000_000_000)
            ),
            bank: BANKS[i % BANKS.len()],
        });
    }
    let meeting = |d: NaiveDate| json!({"meeting": format!("部务会 {}", d.format("%Y-%m")), "date": d.to_string()});
    let mut commands = vec![
        json!({"key": "y-ap-1", "command": {"command": "appropriate", "date": "2026-01-05", "line": "other", "amount": "9000000"}}),
        json!({"key": "y-ap-2", "command": {"command": "appropriate", "date": "2026-01-05", "line": "training", "amount": "3000000"}}),
        json!({"key": "y-ap-3", "command": {"command": "appropriate", "date": "2026-01-05", "line": "demo-site", "amount": "6000000"}}),
    ];
    let mut paid: Vec<Paid> = Vec::new();
    let mut allocation = 0;
    let mut used = HashSet::new();
    for (u, unit) in units.iter().enumerate() {
        for round in 0..2 {
            allocation += 1;
            let (line, purpose, cap) = match (u + round) % 3 {
                0 => ("other", "党群服务中心运转经费", 12_000_000),
                1 => ("training", "党员教育培训", 6_000_000),
                _ => ("demo-site", "示范点建设", 9_000_000),
            };
            let month = 1 + (round as u32) * 5 + rng.below(4) as u32;
            let on = day(month, 1 + rng.below(20) as u32);
            let mut total = rng.range(cap / 4, cap) / 100 * 100;
            if rng.chance(30) {
                total = total / 1_000_000 * 1_000_000 + 1_000_000;
            }
            commands.push(json!({"key": format!("y-al-{allocation}"), "command": {"command": "allocate", "date": on.to_string(),
                "line": line, "unit": unit.code, "purpose": purpose, "amount": yuan(total), "approval": meeting(on - Duration::days(3))}}));
            let parts = 2 + rng.below(3) as i64;
            let account = (u + round) % 3;
            let mut left = total;
            let mut date = on + Duration::days(rng.range(3, 12));
            for p in 0..parts {
                let share = left / (parts - p);
                let mut fen = if p == parts - 1 {
                    left
                } else {
                    share + rng.range(-share / 5, share / 5)
                };
                // A few round amounts, as offices often pay.
                if p < parts - 1 && rng.chance(20) && fen > 200_000 {
                    fen = fen / 100_000 * 100_000;
                }
                let step = if fen % 100_000 == 0 { 100_000 } else { 1 };
                while used.contains(&(account, fen)) && fen > step {
                    fen -= step;
                }
                used.insert((account, fen));
                left -= fen;
                if date.year() > 2026 || date > day(12, 20) {
                    break;
                }
                let n = paid.len() + 1;
                paid.push(Paid {
                    key: format!("y-pay-{n}"),
                    allocation,
                    account,
                    date,
                    fen,
                    voucher: format!("记-{:04}", n),
                    unit: u,
                });
                date += Duration::days(rng.range(12, 45));
            }
        }
    }
    paid.sort_by_key(|p| (p.date, p.allocation));
    // Combined payments: the second of two payments to one unit moved to the day after the
    // first, so the bank pays both in one transfer.
    let mut combined: Vec<(usize, usize)> = Vec::new();
    for i in 0..paid.len() {
        if combined.len() == 6 || paid[i].date.month() >= 12 {
            continue;
        }
        let taken =
            |k: usize| combined.iter().any(|&(a, b)| a == k || b == k) || k == paid.len() / 2 + 3;
        if i % 53 == 7
            && !taken(i)
            && let Some(j) = (i + 1..paid.len()).find(|&j| paid[j].allocation == paid[i].allocation)
            && !taken(j)
        {
            paid[j].date = paid[i].date + Duration::days(1);
            combined.push((i, j));
        }
    }
    for p in &paid {
        commands.push(json!({"key": p.key, "command": {"command": "disburse", "date": p.date.to_string(), "allocation": p.allocation,
            "amount": yuan(p.fen), "payment": {"bank_account": ACCOUNTS[p.account].code, "voucher": p.voucher,
            "payee_name": units[p.unit].payee, "payee_account": units[p.unit].account, "payee_bank": units[p.unit].bank}}}));
    }

    for c in &mut commands {
        c["actor"] = json!("caiwu");
    }
    // The banks' side.
    let mut lines: [Vec<Line>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let mut serial = 0u64;
    let mut next_serial = |rng: &mut Rng| {
        serial += 1;
        format!("{:06}{:04}", 482_000 + serial, rng.below(10_000))
    };
    let fiscal = |rng: &mut Rng, serial: String, date: NaiveDate, fen: i64, summary: &str| Line {
        date,
        seconds: 9 * 3600 + rng.below(3600) as u32,
        fen,
        name: "济南市财政局".into(),
        account: "370101000000088".into(),
        bank: "国家金库济南市中心支库".into(),
        summary: summary.into(),
        serial,
        pays: vec![],
    };
    for (a, l) in lines.iter_mut().enumerate() {
        let s = next_serial(&mut rng);
        l.push(fiscal(
            &mut rng,
            s,
            day(1, 4),
            8_000_000_000,
            "财政拨款 预算内资金",
        ));
        for q in [3, 6, 9, 12] {
            let s = next_serial(&mut rng);
            let interest = rng.range(30_000, 900_000);
            l.push(Line {
                name: String::new(),
                account: String::new(),
                bank: String::new(),
                ..fiscal(&mut rng, s, day(q, 21), interest, "结息 活期存款利息")
            });
        }
        for m in 1..=12 {
            let s = next_serial(&mut rng);
            l.push(Line {
                name: String::new(),
                account: String::new(),
                bank: String::new(),
                ..fiscal(
                    &mut rng,
                    s,
                    day(m, 25),
                    -(1_000 + 500 * a as i64),
                    "账户管理费",
                )
            });
        }
    }
    // An unrelated payment the office did not book, on each account.
    for (a, l) in lines.iter_mut().enumerate() {
        let s = next_serial(&mut rng);
        l.push(Line {
            date: day(4 + a as u32, 16),
            seconds: 15 * 3600,
            fen: -(318_600 + 1_111 * a as i64),
            name: "济南泉城印务有限公司".into(),
            account: "3701012345678000051".into(),
            bank: "中国建设银行济南高新支行".into(),
            summary: "印刷费".into(),
            serial: s,
            pays: vec![],
        });
    }
    let in_combined: HashMap<usize, usize> = combined
        .iter()
        .flat_map(|&(i, j)| [(i, j), (j, i)])
        .collect();
    let missing_at = paid.len() / 2 + 3;
    let mut missing = String::new();
    let mut fees = 0;
    let mut splits = 0;
    for (i, p) in paid.iter().enumerate() {
        let unit = &units[p.unit];
        let l = &mut lines[p.account];
        if i == missing_at {
            missing = p.voucher.clone();
            continue;
        }
        if let Some(&j) = in_combined.get(&i) {
            if j < i {
                continue;
            }
            let other = &paid[j];
            l.push(Line {
                date: other.date,
                seconds: 10 * 3600 + rng.below(20_000) as u32,
                fen: -(p.fen + other.fen),
                name: unit.payee.clone(),
                account: unit.account.clone(),
                bank: unit.bank.to_string(),
                summary: "合并拨付".into(),
                serial: next_serial(&mut rng),
                pays: vec![p.voucher.clone(), other.voucher.clone()],
            });
            continue;
        }
        let date = (p.date + Duration::days(rng.range(-3, 3)))
            .max(day(1, 5))
            .min(day(12, 31));
        let name = if rng.chance(12) {
            garble_name(&mut rng, &unit.payee)
        } else {
            unit.payee.clone()
        };
        let account = if rng.chance(12) {
            String::new()
        } else {
            unit.account.clone()
        };
        let reference = if rng.chance(75) {
            if rng.chance(12) {
                garble_voucher(&mut rng, &p.voucher)
            } else {
                p.voucher.clone()
            }
        } else {
            String::new()
        };
        let base = Line {
            date,
            seconds: 9 * 3600 + rng.below(28_000) as u32,
            fen: -p.fen,
            name,
            account,
            bank: unit.bank.to_string(),
            summary: format!("拨付经费 {reference}").trim().to_string(),
            serial: String::new(),
            pays: vec![p.voucher.clone()],
        };
        if splits < 6 && i % 31 == 11 && p.fen > 2_000_000 && p.date.month() < 12 {
            // The bank splits a large transfer in two, on the day and the next.
            splits += 1;
            let first = p.fen / 2 / 100 * 100 + 100;
            for (k, fen) in [first, p.fen - first].into_iter().enumerate() {
                l.push(Line {
                    date: date + Duration::days(k as i64),
                    fen: -fen,
                    serial: next_serial(&mut rng),
                    summary: format!("分笔拨付（{}）", k + 1),
                    ..base.clone()
                });
            }
            continue;
        }
        if fees < 5 && i % 47 == 5 {
            // The remittance fee taken with the payment.
            fees += 1;
            l.push(Line {
                fen: -p.fen - 50 * (1 + (fees % 2)),
                serial: next_serial(&mut rng),
                ..base
            });
            continue;
        }
        if rng.chance(15) {
            // The bank's charge on its own line, just before the transfer (as CCB prints it).
            l.push(Line {
                fen: -550,
                name: String::new(),
                account: String::new(),
                bank: String::new(),
                summary: "手续费 跨行转账".into(),
                serial: next_serial(&mut rng),
                pays: vec![],
                ..base.clone()
            });
        }
        l.push(Line {
            serial: next_serial(&mut rng),
            ..base
        });
    }
    for l in &mut lines {
        l.sort_by_key(|x| (x.date, x.seconds));
    }
    assert!(
        combined.len() >= 3 && splits >= 3 && fees >= 3,
        "the year has its groups and fees: {} {splits} {fees}",
        combined.len()
    );
    Year {
        units,
        commands,
        paid,
        lines,
        missing,
    }
}

/// The quarter's lines of one account with their running balances, from the year's start.
fn quarter(lines: &[Line], q: u32) -> (i64, Vec<(&Line, i64)>) {
    let mut balance = 0;
    let mut opening = 0;
    let mut out = Vec::new();
    for l in lines {
        let lq = (l.date.month() - 1) / 3 + 1;
        if lq < q {
            balance += l.fen;
            opening = balance;
        } else if lq == q {
            balance += l.fen;
            out.push((l, balance));
        }
    }
    (opening, out)
}

/// The first and last day of quarter `q`.
fn quarter_bounds(q: u32) -> (NaiveDate, NaiveDate) {
    let last = if q == 4 {
        day(12, 31)
    } else {
        day(3 * q + 1, 1) - Duration::days(1)
    };
    (day(3 * q - 2, 1), last)
}

fn time_of(l: &Line) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        l.seconds / 3600,
        l.seconds / 60 % 60,
        l.seconds % 60
    )
}

/// CCB's corporate export: 37 quoted columns, written in GBK.
fn ccb_csv(a: &Account, lines: &[(&Line, i64)]) -> Vec<u8> {
    let mut text = String::from(
        "\"账号\",\"账户名称\",\"交易时间\",\"借方发生额（支取）\",\"贷方发生额（收入）\",\"余额\",\"币种\",\"对方户名\",\"对方账号\",\"对方开户机构\",\"记账日期\",\"摘要\",\"备注\",\"账户明细编号-交易流水号\",\"企业流水号\",\"凭证种类\",\"凭证号\"",
    );
    for i in 1..=10 {
        write!(text, ",\"个性化信息名称{i}\"").unwrap();
    }
    for i in 1..=10 {
        write!(text, ",\"个性化信息{i}\"").unwrap();
    }
    text.push('\n');
    for (k, (l, balance)) in lines.iter().enumerate() {
        let (debit, credit) = if l.fen < 0 {
            (yuan(-l.fen), "0.00".into())
        } else {
            ("0.00".into(), yuan(l.fen))
        };
        let d = l.date.format("%Y%m%d");
        let cells = [
            a.number.to_string(),
            a.name.to_string(),
            format!("{d} {}", time_of(l)),
            debit,
            credit,
            yuan(*balance),
            "人民币元".into(),
            l.name.clone(),
            l.account.clone(),
            l.bank.clone(),
            d.to_string(),
            "自定义".into(),
            l.summary.clone(),
            format!("{}-{}", 104_700 + k, l.serial),
            String::new(),
            "电子转账凭证".into(),
            String::new(),
        ];
        let row: Vec<String> = cells
            .iter()
            .map(|c| format!("\"{c}\""))
            .chain(std::iter::repeat_n("\"\"".to_string(), 20))
            .collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    encoding_rs::GBK.encode(&text).0.into_owned()
}

/// BOC's export: a block of totals, then pipe-delimited lines with signed amounts.
fn boc_text(a: &Account, q: u32, lines: &[(&Line, i64)]) -> Vec<u8> {
    let debits: Vec<i64> = lines
        .iter()
        .map(|(l, _)| l.fen)
        .filter(|f| *f < 0)
        .collect();
    let credits: Vec<i64> = lines
        .iter()
        .map(|(l, _)| l.fen)
        .filter(|f| *f > 0)
        .collect();
    let grouped = |fen: i64| duban_core::money::Money::from_fen(fen).grouped();
    let (from, to) = quarter_bounds(q);
    let mut t = String::new();
    writeln!(t, "查询账号[ Inquirer account number ]|{}|", a.number).unwrap();
    writeln!(t, "总笔数[ Total number ]|{}|", lines.len()).unwrap();
    writeln!(
        t,
        "借方发生总笔数[ Total Numbers of Debited Payments ]|{}|",
        debits.len()
    )
    .unwrap();
    writeln!(
        t,
        "借方发生总额[ Total Debit Amount of Payments ]|{}|",
        grouped(-debits.iter().sum::<i64>())
    )
    .unwrap();
    writeln!(
        t,
        "贷方发生总笔数[ Total Numbers of Credited Payments ]|{}|",
        credits.len()
    )
    .unwrap();
    writeln!(
        t,
        "贷方发生总额[ Total Credit Amount of Payments ]|{}|",
        grouped(credits.iter().sum::<i64>())
    )
    .unwrap();
    writeln!(
        t,
        "查询时间范围[ Time Range ]|{}-{}|",
        from.format("%Y%m%d"),
        to.format("%Y%m%d")
    )
    .unwrap();
    t.push_str("交易类型[ Transaction Type ]|业务类型[ Business type ]|付款人开户行号[ Account holding bank number of payer ]|付款人开户行名[ Payer account bank ]|付款人账号[ Debit Account No. ]|付款人名称[ Payer's Name ]|收款人开户行行号[ Account holding bank number of beneficiary ]|收款人开户行名[ Beneficiary account bank ]|收款人账号[ Payee's Account Number ]|收款人名称[ Payee's Name ]|交易日期[ Transaction Date ]|交易时间[ Transaction time ]|交易货币[ Trade Currency ]|交易金额[ Trade Amount ]|交易后余额[ After-transaction balance ]|起息日期[ Value Date ]|汇率[ Exchange rate ]|交易流水号[ Transaction reference number ]|客户申请号[ Online Banking Transaction Ref.(Bank Ref.) ]|客户业务编号[ Customer Transaction Ref.(Customer Ref.) ]|凭证类型[ Voucher type ]|凭证号码[ Voucher number ]|记录标识号[ Record ID ]|摘要[ Reference ]|用途[ Purpose ]|交易附言[ Remark ]|备注[ Remarks ]|预留项1[ Reserve1 ]|预留项2[ Reserve2 ]|预留项3[ Reserve3 ]|名义付款人开户行行号[ Opening bank number of nominal payer ]|名义付款人开户行名[ Opening bank name of nominal payer ]|名义付款人账号[ Payment A/C No. ]|名义付款人名称[ Name of nominal payer ]|名义收款人开户行号[ Opening bank number of nominal payee ]|名义收款人开户行名[ Opening bank name of nominal payee ]|名义收款人账号[ Account number of nominal payee ]|名义收款人名称[ Name of nominal payee ]|\n");
    for (l, balance) in lines {
        let own = ("10658", a.bank, a.number, a.name);
        let other = ("", l.bank.as_str(), l.account.as_str(), l.name.as_str());
        let (kind, business, payer, payee) = if l.fen < 0 {
            ("往账", "转账支出", own, other)
        } else {
            ("来账", "转账收入", other, own)
        };
        let sign = |f: i64| {
            if f < 0 {
                format!("-{}", yuan(-f))
            } else {
                format!("+{}", yuan(f))
            }
        };
        let d = l.date.format("%Y%m%d");
        writeln!(
            t,
            "{kind}|{business}|{}|{}|{}|{}|{}|{}|{}|{}|{d}|{}|CNY|{}|{}|{d}||{}|||其他凭证||||{}|||||||||||||",
            payer.0, payer.1, payer.2, payer.3, payee.0, payee.1, payee.2, payee.3, time_of(l), sign(l.fen), sign(*balance), l.serial, l.summary
        )
        .unwrap();
    }
    t.into_bytes()
}

/// MT940: one statement per quarter, opening and closing balances, the reference in `:86:`.
fn mt940(a: &Account, q: u32, opening: i64, lines: &[(&Line, i64)]) -> Vec<u8> {
    let swift = |fen: i64| yuan(fen.abs()).replace('.', ",");
    let mark = |fen: i64| if fen < 0 { "D" } else { "C" };
    let (from, to) = quarter_bounds(q);
    let mut t = String::new();
    write!(
        t,
        ":20:STMT{}Q{q}\r\n:25:{}\r\n:28C:{q:05}/001\r\n",
        a.code.len(),
        a.number
    )
    .unwrap();
    write!(
        t,
        ":60F:{}{}CNY{}\r\n",
        mark(opening),
        from.format("%y%m%d"),
        swift(opening)
    )
    .unwrap();
    let mut closing = opening;
    for (l, balance) in lines {
        let d = l.date;
        write!(
            t,
            ":61:{}{}{}{}NTRFNONREF//{}\r\n",
            d.format("%y%m%d"),
            d.format("%m%d"),
            mark(l.fen),
            swift(l.fen),
            l.serial
        )
        .unwrap();
        write!(t, ":86:{} {}\r\n", l.summary, l.name).unwrap();
        closing = *balance;
    }
    write!(
        t,
        ":62F:{}{}CNY{}\r\n-\r\n",
        mark(closing),
        to.format("%y%m%d"),
        swift(closing)
    )
    .unwrap();
    t.into_bytes()
}

fn cli(db: &TestDb, args: &[&str]) -> String {
    let (out, stdout, stderr) = run(duban(&db.url)
        .args(args)
        .env("DUBAN_TODAY", "2026-12-31")
        .env("DUBAN__BANK__MATCHING__TOLERANCE", "1.00"));
    assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
    stdout
}

fn json_of(db: &TestDb, args: &[&str]) -> Value {
    let out = cli(db, &[args, &["--format", "json"]].concat());
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

/// SQLite only: the year takes about 20 s there and 60–75 s on PostgreSQL and MariaDB, whose
/// matching code and reports the other bank tests already run on every backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_year_of_payments_is_matched_with_three_banks_statements_and_every_month_reconciles()
{
    {
        let db = TestDb::create(crate::support::Kind::Sqlite).await.unwrap();
        let started = std::time::Instant::now();
        let year = generate();
        assert!(year.paid.len() >= 300, "{} disbursements", year.paid.len());
        cli(&db, &["migrate", "up"]);
        let units: Vec<(String, NaiveDate)> = year
            .units
            .iter()
            .map(|u| (u.code.clone(), day(1, 1)))
            .collect();
        crate::ledger::register_units(&db.store().await, &units).await;
        for a in &ACCOUNTS {
            cli(
                &db,
                &[
                    "bank", "accounts", "add", "--code", a.code, "--name", a.name, "--number",
                    a.number, "--bank", a.bank,
                ],
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let commands = dir.path().join("year.json");
        std::fs::write(&commands, serde_json::to_string(&year.commands).unwrap()).unwrap();
        cli(&db, &["ledger", "submit", commands.to_str().unwrap()]);

        // Each bank's quarterly statements, imported as the office receives them.
        for (i, a) in ACCOUNTS.iter().enumerate() {
            for q in 1..=4 {
                let (opening, lines) = quarter(&year.lines[i], q);
                let (name, bytes) = match a.layout {
                    Layout::CcbCsv => (format!("{}-2026Q{q}.csv", a.code), ccb_csv(a, &lines)),
                    Layout::BocText => (format!("{}-2026Q{q}.txt", a.code), boc_text(a, q, &lines)),
                    Layout::Mt940 => (
                        format!("{}-2026Q{q}.sta", a.code),
                        mt940(a, q, opening, &lines),
                    ),
                };
                let path = dir.path().join(name);
                std::fs::write(&path, bytes).unwrap();
                let r = json_of(
                    &db,
                    &[
                        "bank",
                        "import",
                        "--account",
                        a.code,
                        path.to_str().unwrap(),
                    ],
                );
                assert_eq!(
                    r["lines_added"].as_u64(),
                    Some(lines.len() as u64),
                    "{path:?}: {r}"
                );
            }
        }

        // The truth: which vouchers each line (by its serial) pays.
        let truth: HashMap<String, Vec<String>> = year
            .lines
            .iter()
            .flatten()
            .map(|l| (l.serial.clone(), l.pays.clone()))
            .collect();
        let store = db.store().await;
        let mut book_payments = 0;
        let mut matched_payments = 0;
        let mut rules: BTreeMap<String, usize> = BTreeMap::new();
        for a in &ACCOUNTS {
            let run = json_of(&db, &["bank", "match", "--account", a.code]);
            for m in run["matched"].as_array().unwrap() {
                let rule = m["rule"].as_str().unwrap().to_string();
                assert!(
                    !m["agreed"].as_array().unwrap().is_empty()
                        && !m["rule_zh"].as_str().unwrap().is_empty(),
                    "unexplained: {m}"
                );
                *rules.entry(rule).or_default() += 1;
            }
            let lines = json_of(&db, &["bank", "lines", "--account", a.code]);
            let serial_of: HashMap<i64, String> = lines
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    (
                        l["id"].as_i64().unwrap(),
                        l["serial"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            let book = store
                .bank_book_entries(&format!("assets:bank:{}", a.code))
                .await
                .unwrap();
            let voucher_of: HashMap<i64, Option<String>> = book
                .iter()
                .map(|e| (e.posting_id, e.voucher.clone()))
                .collect();
            let matches = json_of(&db, &["bank", "matches", "--account", a.code]);
            let mut matched = HashSet::new();
            for m in matches.as_array().unwrap() {
                let serial = &serial_of[&m["line_id"].as_i64().unwrap()];
                let serial = serial.rsplit('-').next().unwrap();
                match &voucher_of[&m["posting_id"].as_i64().unwrap()] {
                    Some(v) => {
                        assert!(
                            truth[serial].contains(v),
                            "wrong match on {}: line {serial} pays {:?}, matched with {v} ({m})",
                            a.code,
                            truth[serial]
                        );
                        matched.insert(v.clone());
                    }
                    None => assert!(
                        m["rule"] == "tolerance",
                        "a posting without voucher matched: {m}"
                    ),
                }
            }
            book_payments += book.iter().filter(|e| e.voucher.is_some()).count();
            matched_payments += matched.len();

            // The rest is queued, each line with why.
            let ex = json_of(&db, &["bank", "exceptions", "--account", a.code]);
            for e in ex.as_array().unwrap() {
                let serial = e["line"]["serial"].as_str().unwrap();
                let serial = serial.rsplit('-').next().unwrap();
                assert!(
                    truth[serial].is_empty(),
                    "a payment's line left open on {}: {e}",
                    a.code
                );
                assert!(e["would_match"].is_null(), "{e}");
                assert!(
                    e["near"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(|c| !c["why_not"].as_array().unwrap().is_empty()),
                    "{e}"
                );
            }
            let text = cli(&db, &["bank", "exceptions", "--account", a.code]);
            assert!(text.contains("未匹配："), "{text}");

            // 银行存款余额调节表 of every month balances to the fen.
            for month in 1..=12 {
                let month = format!("2026-{month:02}");
                let r = json_of(
                    &db,
                    &[
                        "report",
                        "bank-reconciliation",
                        "--account",
                        a.code,
                        "--month",
                        &month,
                    ],
                );
                assert_eq!(
                    r["adjusted_book"], r["adjusted_bank"],
                    "{} {month}: {r}",
                    a.code
                );
                assert_eq!(r["balanced"], true, "{} {month}", a.code);
            }
        }
        let share = matched_payments as f64 / book_payments as f64;
        eprintln!(
            "synthetic year: {book_payments} payments, {matched_payments} matched ({:.1} %), rules {rules:?}, {:.1} s",
            share * 100.0,
            started.elapsed().as_secs_f64()
        );
        assert!(
            share >= 0.98,
            "{matched_payments} of {book_payments} matched"
        );
        assert_eq!(
            book_payments - matched_payments,
            1,
            "only the payment whose line is missing stays open"
        );
        for r in [
            "reference",
            "counterparty",
            "combined",
            "split",
            "tolerance",
        ] {
            assert!(
                rules.get(r).is_some_and(|n| *n > 0),
                "no {r} match: {rules:?}"
            );
        }
        // The payment the bank's statement lacks is in transit in the three-way list.
        let tw = json_of(&db, &["bank", "three-way", "--as-of", "2026-12-31"]);
        let open: Vec<&str> = tw["payments"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["voucher"].as_str())
            .collect();
        assert_eq!(open, [year.missing.as_str()], "{tw}");
        cli(&db, &["ledger", "verify"]);
        db.drop_db().await;
    }
}
