//! One test per real statement in `../shared/data/bank-statements/`, asserting exactly the
//! figures of its MANIFEST.md, plus generated files and arbitrary bytes.

use super::*;
use std::path::PathBuf;

fn sample(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/bank-statements")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn m(s: &str) -> Money {
    value::amount_text(s).unwrap().unwrap().0
}

struct Expect {
    lines: usize,
    opening: &'static str,
    closing: &'static str,
    debits: (&'static str, usize),
    credits: (&'static str, usize),
    chain: Chain,
}

fn figures_of(name: &str, e: Expect) -> Statement {
    let (st, f) = import(name, &sample(name)).unwrap_or_else(|err| panic!("{name}: {err}"));
    assert_eq!(f.lines, e.lines, "{name}: lines");
    assert_eq!(st.lines.len(), e.lines, "{name}: lines");
    assert_eq!(f.opening, Some(m(e.opening)), "{name}: opening");
    assert_eq!(f.closing, Some(m(e.closing)), "{name}: closing");
    assert_eq!(
        (f.debit_total, f.debit_count),
        (m(e.debits.0), e.debits.1),
        "{name}: debits"
    );
    assert_eq!(
        (f.credit_total, f.credit_count),
        (m(e.credits.0), e.credits.1),
        "{name}: credits"
    );
    assert_eq!(f.chain, e.chain, "{name}: chain");
    let ids: std::collections::HashSet<_> = st.lines.iter().map(|l| &l.id).collect();
    assert_eq!(
        ids.len(),
        st.lines.len(),
        "{name}: line identities are unique"
    );
    st
}

#[test]
fn ccb_corporate_xls_2026_02() {
    let st = figures_of(
        "ccb-corp-2026-02.xls",
        Expect {
            lines: 70,
            opening: "124077.96",
            closing: "297338.06",
            debits: ("3212796.34", 55),
            credits: ("3386056.44", 15),
            chain: Chain::FileOrder,
        },
    );
    assert_eq!(st.kind, FileKind::Xls);
    assert_eq!(st.profile, "ccb");
    assert_eq!(st.account.as_deref(), Some("53001813416670720632"));
    assert_eq!(st.account_name.as_deref(), Some("云南澄岭科技有限公司"));
    assert_eq!(st.declared, Declared::default());
    let fee = &st.lines[5];
    assert_eq!(fee.row, 7);
    assert_eq!(fee.amount, m("-1.00"));
    assert_eq!(fee.summary, "手续费");
    assert_eq!(fee.serial.as_deref(), Some("13353-5309050389CKJOCD8VE"));
    assert_eq!(fee.id, "serial:13353-5309050389CKJOCD8VE");
    let transfer = &st.lines[6];
    assert_eq!(transfer.amount, m("-500000.00"));
    assert_eq!(transfer.balance, Some(m("617208.41")));
    assert_eq!(transfer.counterparty_account, "39610287431592250");
    assert_eq!(transfer.counterparty_bank, "中国光大银行昆明分行营业部");
    assert_eq!(transfer.time.unwrap().to_string(), "2026-02-03 09:49:50");
}

#[test]
fn icbc_historydetail_xlsx_newest_first_despite_its_dimension() {
    let st = figures_of(
        "icbc-corp-historydetail-2026-02.xlsx",
        Expect {
            lines: 5,
            opening: "2138.00",
            closing: "2487.41",
            debits: ("40936.82", 3),
            credits: ("41286.23", 2),
            chain: Chain::ReverseFileOrder,
        },
    );
    assert_eq!(st.kind, FileKind::Xlsx);
    assert_eq!(st.profile, "icbc");
    assert_eq!(
        st.account, None,
        "ICBC's file does not name the own account"
    );
    assert_eq!(st.lines[0].row, 3);
    assert!(
        st.lines.iter().all(|l| l.id.starts_with("sha256:")),
        "凭证号 000000000 is no identity"
    );
}

#[test]
fn ceb_xls_header_block_totals_agree() {
    let st = figures_of(
        "ceb-corp-2026-02.xls",
        Expect {
            lines: 15,
            opening: "17429.58",
            closing: "331933.82",
            debits: ("5685495.76", 7),
            credits: ("6000000.00", 8),
            chain: Chain::FileOrder,
        },
    );
    assert_eq!(st.profile, "ceb");
    assert_eq!(st.account.as_deref(), Some("39610287431592250"));
    let d = &st.declared;
    assert_eq!(
        (d.debit_count, d.debit_total, d.credit_count, d.credit_total),
        (
            Some(7),
            Some(m("5685495.76")),
            Some(8),
            Some(m("6000000.00"))
        )
    );
    assert_eq!(st.period_from.unwrap().to_string(), "2026-02-01");
    assert_eq!(st.period_to.unwrap().to_string(), "2026-02-28");
    assert_eq!(st.lines[0].row, 17);
}

#[test]
fn cmbc_xlsx_shared_serials_fall_back_to_line_hashes() {
    let st = figures_of(
        "cmbc-corp-2026-02.xlsx",
        Expect {
            lines: 7,
            opening: "5254.14",
            closing: "5222.14",
            debits: ("1000032.00", 6),
            credits: ("1000000.00", 1),
            chain: Chain::FileOrder,
        },
    );
    let d = &st.declared;
    assert_eq!(
        (d.debit_count, d.debit_total, d.credit_count, d.credit_total),
        (
            Some(6),
            Some(m("1000032.00")),
            Some(1),
            Some(m("1000000.00"))
        )
    );
    assert_eq!(st.account.as_deref(), Some("604000888"));
    let serials: std::collections::HashSet<_> =
        st.lines.iter().filter_map(|l| l.serial.clone()).collect();
    assert!(
        serials.len() < st.lines.len(),
        "a transfer and its fee share a serial"
    );
    assert!(st.lines.iter().all(|l| l.id.starts_with("sha256:")));
}

#[test]
fn pingan_xlsx() {
    let st = figures_of(
        "pingan-corp-2026-02.xlsx",
        Expect {
            lines: 3,
            opening: "9733.22",
            closing: "9273.89",
            debits: ("6459.33", 2),
            credits: ("6000.00", 1),
            chain: Chain::FileOrder,
        },
    );
    assert_eq!(st.profile, "pingan");
    assert_eq!(st.declared, Declared::default());
    assert_eq!(st.account.as_deref(), Some("15990603437847"));
    assert_eq!(st.lines[2].time.unwrap().to_string(), "2026-02-27 14:37:51");
}

#[test]
fn ccb_corporate_quoted_csv_2017() {
    let st = figures_of(
        "ccb-corp-2017-12.txt",
        Expect {
            lines: 5,
            opening: "155503488.21",
            closing: "155731487.49",
            debits: ("2416.72", 1),
            credits: ("230416.00", 4),
            chain: Chain::FileOrder,
        },
    );
    assert_eq!(st.kind, FileKind::Text);
    assert_eq!(st.account.as_deref(), Some("37101501693974234382"));
    assert_eq!(st.declared, Declared::default());
    assert_eq!(st.lines[0].row, 2);
}

#[test]
fn boc_pipe_text_signed_amounts_and_declared_totals() {
    let st = figures_of(
        "boc-corp-2017-11-usd.txt",
        Expect {
            lines: 29,
            opening: "432428.32",
            closing: "64774.34",
            debits: ("1081178.53", 11),
            credits: ("713524.55", 18),
            chain: Chain::FileOrder,
        },
    );
    assert_eq!(st.profile, "boc");
    let d = &st.declared;
    assert_eq!(
        (
            d.count,
            d.debit_count,
            d.debit_total,
            d.credit_count,
            d.credit_total
        ),
        (
            Some(29),
            Some(11),
            Some(m("1081178.53")),
            Some(18),
            Some(m("713524.55"))
        )
    );
    assert_eq!(st.account.as_deref(), Some("232936618117"));
    assert_eq!(st.period_from.unwrap().to_string(), "2017-11-01");
    // The counterparty is the payee of money leaving and the payer of money coming in,
    // never the own company nor a bank's name.
    let first = &st.lines[0];
    assert!(first.amount.is_negative());
    assert_ne!(first.counterparty_name, "青岛瑞丰泰和冷冻设备有限公司");
    let second = &st.lines[1];
    assert_eq!(second.counterparty_name, "KELVARA MIDDLE EAST LIMITED");
    assert_eq!(second.row, 10);
}

#[test]
fn ccb_personal_xls_is_refused_at_its_fourth_line() {
    let name = "ccb-personal-2025-01.xls";
    let st = read(name, &sample(name)).unwrap();
    assert_eq!(st.lines.len(), 6);
    let (d, nd, c, nc) = st.sums().unwrap();
    assert_eq!((d, nd, c, nc), (m("703.26"), 6, Money::ZERO, 0));
    assert_eq!(
        st.lines[0].balance.unwrap().checked_sub(st.lines[0].amount),
        Some(m("2243.91"))
    );
    assert_eq!(st.lines[5].balance, Some(m("1494.65")));
    assert_eq!(st.declared, Declared::default());
    let err = st.check().unwrap_err();
    assert_eq!(err.row, Some(st.lines[3].row));
    assert_eq!(err.row, Some(10));
    assert_eq!(err.column.as_deref(), Some("账户余额"));
    assert!(
        err.zh.contains("第4笔") && err.zh.contains("相差46.00"),
        "{err}"
    );
    assert!(err.to_string().starts_with("第10行“账户余额”列："), "{err}");
    assert!(import(name, &sample(name)).is_err());
}

#[test]
fn spdb_personal_xls() {
    let st = figures_of(
        "spdb-personal-2025-12.xls",
        Expect {
            lines: 4,
            opening: "1985.21",
            closing: "1983.57",
            debits: ("11.64", 3),
            credits: ("10.00", 1),
            chain: Chain::FileOrder,
        },
    );
    assert_eq!(st.profile, "spdb");
    assert_eq!(st.declared, Declared::default());
    assert_eq!(st.account.as_deref(), Some("6200000000001230"));
    assert_eq!(st.period_to.unwrap().to_string(), "2025-12-31");
}

#[test]
fn danske_mt940_fifteen_statements_chain() {
    let st = figures_of(
        "danskebank-dk-example.sta",
        Expect {
            lines: 89,
            opening: "2478926.70",
            closing: "3851379.47",
            debits: ("2538433.58", 81),
            credits: ("3910886.35", 8),
            chain: Chain::DeclaredBalances,
        },
    );
    assert_eq!(st.kind, FileKind::Mt940);
    assert_eq!(st.sections, 15);
    assert_eq!(
        (st.declared.opening, st.declared.closing),
        (Some(m("2478926.70")), Some(m("3851379.47")))
    );
    assert_eq!(st.account.as_deref(), Some("1234567890"));
    assert_eq!(st.currency.as_deref(), Some("DKK"));
    assert_eq!(st.lines[0].amount, m("-829419.78"));
}

#[test]
fn goldman_camt053_opening_plus_entries_is_closing() {
    let st = figures_of(
        "goldman-camt053-example-b.xml",
        Expect {
            lines: 19,
            opening: "-843686.20",
            closing: "-843610.73",
            debits: ("70.06", 6),
            credits: ("145.53", 13),
            chain: Chain::DeclaredBalances,
        },
    );
    assert_eq!(st.kind, FileKind::Camt053);
    assert_eq!(st.account.as_deref(), Some("DD01100056869"));
    assert_eq!(
        (st.declared.opening, st.declared.closing),
        (Some(m("-843686.20")), Some(m("-843610.73")))
    );
    assert_eq!(st.currency.as_deref(), Some("USD"));
    assert_eq!(st.lines[0].row, 109);
    assert!(
        st.notes.iter().any(|n| n.contains("TxsSummry")),
        "{:?}",
        st.notes
    );
}

#[test]
fn the_eleven_own_account_transfers_pair_by_amount_and_time() {
    let names = [
        "ccb-corp-2026-02.xls",
        "icbc-corp-historydetail-2026-02.xlsx",
        "ceb-corp-2026-02.xls",
        "cmbc-corp-2026-02.xlsx",
        "pingan-corp-2026-02.xlsx",
    ];
    let sts: Vec<Statement> = names.iter().map(|n| read(n, &sample(n)).unwrap()).collect();
    let pairs = pair_transfers(&sts, 60);
    let bank = ["CCB", "ICBC", "CEB", "CMBC", "Ping An"];
    let got: Vec<(String, String, String, String, String)> = pairs
        .iter()
        .map(|p| {
            let out = &sts[p.from.0].lines[p.from.1];
            let inc = &sts[p.to.0].lines[p.to.1];
            (
                bank[p.from.0].to_string(),
                bank[p.to.0].to_string(),
                p.amount.to_string(),
                out.time.unwrap().to_string(),
                inc.time.unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        (
            "CCB",
            "CEB",
            "500000.00",
            "2026-02-03 09:49:50",
            "2026-02-03 09:50:15",
        ),
        (
            "CCB",
            "CEB",
            "500000.00",
            "2026-02-03 09:53:05",
            "2026-02-03 09:53:23",
        ),
        (
            "CCB",
            "CEB",
            "500000.00",
            "2026-02-04 15:08:18",
            "2026-02-04 15:08:22",
        ),
        (
            "CCB",
            "CEB",
            "500000.00",
            "2026-02-04 15:30:29",
            "2026-02-04 15:30:42",
        ),
        (
            "CCB",
            "CEB",
            "300000.00",
            "2026-02-06 09:19:03",
            "2026-02-06 09:19:09",
        ),
        (
            "CCB",
            "CEB",
            "400000.00",
            "2026-02-06 09:20:34",
            "2026-02-06 09:20:38",
        ),
        (
            "CCB",
            "CEB",
            "300000.00",
            "2026-02-06 09:21:50",
            "2026-02-06 09:22:07",
        ),
        (
            "CCB",
            "ICBC",
            "2500.00",
            "2026-02-04 15:27:01",
            "2026-02-04 15:27:13",
        ),
        (
            "CCB",
            "Ping An",
            "6000.00",
            "2026-02-27 14:37:27",
            "2026-02-27 14:37:51",
        ),
        (
            "CEB",
            "ICBC",
            "38786.23",
            "2026-02-13 17:14:58",
            "2026-02-13 17:15:05",
        ),
        (
            "CEB",
            "CCB",
            "184597.41",
            "2026-02-13 17:15:37",
            "2026-02-13 17:15:51",
        ),
    ];
    let mut got = got;
    got.sort_by(|a, b| (&a.3, &a.0).cmp(&(&b.3, &b.0)));
    let mut want: Vec<_> = want
        .iter()
        .map(|w| {
            (
                w.0.to_string(),
                w.1.to_string(),
                w.2.to_string(),
                w.3.to_string(),
                w.4.to_string(),
            )
        })
        .collect();
    want.sort_by(|a, b| (&a.3, &a.0).cmp(&(&b.3, &b.0)));
    assert_eq!(got, want);
}

fn gbk(text: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(text).0.into_owned()
}

#[test]
fn icbc_flag_layout_in_gbk_tab_separated_text() {
    let text = "[HISTORYDETAIL]\n对方账号\t交易时间\t借贷标志\t对方单位\t用途\t摘要\t发生额\t余额\t币种\n\
                6222\t2026-03-01 10:00:00\t贷\t甲公司\t货款\t汇入\t1,000.00\t1,500.00\t人民币\n\
                6223\t2026-03-02 11:00:00\t借\t乙公司\t服务费\t汇出\t200.50\t1,299.50\t人民币\n";
    let (st, f) = import("明细.csv", &gbk(text)).unwrap();
    assert_eq!(st.profile, "icbc");
    assert_eq!(st.lines[1].amount, m("-200.50"));
    assert_eq!(st.lines[1].row, 4);
    assert_eq!(st.lines[1].counterparty_name, "乙公司");
    assert_eq!(
        (f.opening, f.closing),
        (Some(m("500.00")), Some(m("1299.50")))
    );
}

#[test]
fn debit_meaning_money_in_is_decided_by_the_balance_chain() {
    let text = "\u{feff}交易日期,借方金额,贷方金额,余额,摘要\n\
                20260301,100.00,,1100.00,来款\n\
                20260302,,40.00,1060.00,付款\n";
    let (st, f) = import("a.csv", text.as_bytes()).unwrap();
    assert_eq!(st.lines[0].amount, m("100.00"));
    assert_eq!(st.lines[1].amount, m("-40.00"));
    assert_eq!(f.opening, Some(m("1000.00")));
    assert!(st.notes[0].contains("借方为收入"), "{:?}", st.notes);
    // Headers that say which way are not second-guessed: the chain breaks instead.
    let text = "交易日期,借方发生额（支取）,贷方发生额（收入）,余额\n20260301,100.00,,1100.00\n20260302,,40.00,1060.00\n";
    let err = import("b.csv", text.as_bytes()).unwrap_err();
    assert_eq!((err.row, err.column.as_deref()), (Some(3), Some("余额")));
}

#[test]
fn html_saved_as_xls_with_footer_totals() {
    let html = "<html><head><meta charset=gbk></head><body><table>\
        <tr><td>账号:</td><td>10-123456</td></tr>\
        <tr><th>交易日期</th><th>交易时间戳</th><th>收入金额</th><th>支出金额</th><th>本次余额</th><th>对方户名</th><th>交易日志号</th></tr>\
        <tr><td>20260301</td><td>2026030110:00:00</td><td>1,000.00</td><td>&nbsp;</td><td>3,000.00</td><td>甲&amp;乙</td><td>A1</td></tr>\
        <tr><td>20260302</td><td>2026030211:30:00</td><td></td><td>500.00</td><td>2,500.00</td><td>丙</td><td>A2</td></tr>\
        <tr><td>汇总收入金额</td><td>1,000.00</td><td>汇总支出金额</td><td>500.00</td></tr>\
        </table></body></html>";
    let (st, f) = import("流水.xls", &gbk(html)).unwrap();
    assert_eq!(st.kind, FileKind::Html);
    assert_eq!(st.profile, "abc");
    assert_eq!(st.account.as_deref(), Some("10-123456"));
    assert_eq!(st.lines[0].counterparty_name, "甲&乙");
    assert_eq!(st.lines[1].time.unwrap().to_string(), "2026-03-02 11:30:00");
    assert_eq!(st.lines[0].id, "serial:A1");
    assert_eq!(st.declared.credit_total, Some(m("1000.00")));
    assert_eq!(st.declared.debit_total, Some(m("500.00")));
    assert_eq!(f.debit_total, m("500.00"));
}

#[test]
fn declared_totals_that_do_not_add_up_refuse_the_file_at_their_row() {
    let text = "账号：6200\n借方笔数：2\n借方发生额：300.00\n\n交易日期,支出,收入,余额\n20260301,100.00,,900.00\n20260302,100.00,,800.00\n";
    let err = import("a.csv", text.as_bytes()).unwrap_err();
    assert_eq!(
        (err.row, err.column.as_deref()),
        (Some(3), Some("借方发生额"))
    );
    assert!(
        err.zh.contains("300.00") && err.zh.contains("200.00"),
        "{err}"
    );
    let text = text
        .replace("借方笔数：2", "借方笔数：3")
        .replace("300.00", "200.00");
    let err = import("a.csv", text.as_bytes()).unwrap_err();
    assert_eq!(
        (err.row, err.column.as_deref()),
        (Some(2), Some("借方笔数"))
    );
}

#[test]
fn bad_files_are_errors_with_a_reason() {
    let err = read("a.csv", "姓名,电话\n张三,138\n".as_bytes()).unwrap_err();
    assert!(err.zh.contains("找不到明细表头"), "{err}");
    let err = read("a.xls", b"\xD0\xCF\x11\xE0garbage").unwrap_err();
    assert!(err.zh.contains("工作簿"), "{err}");
    let err = read("a.bin", &[0xff, 0xfe, 0x00, 0x81, 0x00]).unwrap_err();
    assert!(err.zh.contains("无法识别"), "{err}");
    let err = import(
        "a.csv",
        "交易日期,支出,收入,余额\n20260301,1.005,,900.00\n".as_bytes(),
    )
    .unwrap_err();
    assert_eq!((err.row, err.column.as_deref()), (Some(2), Some("支出")));
    assert!(err.zh.contains("两位小数"), "{err}");
    let err = import(
        "a.csv",
        "交易日期,支出,收入,余额\n2026-13-45,1.00,,900.00\n".as_bytes(),
    )
    .unwrap_err();
    assert_eq!(
        (err.row, err.column.as_deref()),
        (Some(2), Some("交易日期"))
    );
    let err = read(
        "a.sta",
        b":20:X\n:25:1/2\n:60F:C260101CNY100,00\n:61:2601020102D50,00NTRFx\n:62F:C260102CNY40,00\n",
    )
    .unwrap();
    let err = err.check().unwrap_err();
    assert_eq!((err.row, err.column.as_deref()), (Some(5), Some(":62F:")));
}

mod generated {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600),
                                       prefix in 0usize..7) {
            let prefixes: [&[u8]; 7] = [
                b"", b"\xD0\xCF\x11\xE0", b"PK\x03\x04", b":20:\n:60F:C", b"<?xml version=\"1.0\"?><Document xmlns=\"camt.053\">",
                b"<table><tr><td>", "交易日期,借方,贷方,余额\n".as_bytes(),
            ];
            let mut input = prefixes[prefix].to_vec();
            input.extend_from_slice(&bytes);
            if let Ok(st) = read("x", &input) {
                let _ = st.check();
            }
        }

        #[test]
        fn a_generated_csv_statement_round_trips_its_figures(
            opening in -10_000_000i64..10_000_000,
            amounts in proptest::collection::vec((1i64..100_000_000, any::<bool>()), 1..60),
            as_gbk in any::<bool>(),
            newest_first in any::<bool>(),
            with_totals in any::<bool>(),
        ) {
            let fmt = |fen: i64| Money::from_fen(fen).grouped();
            let mut rows = Vec::new();
            let mut balance = opening;
            let (mut out, mut n_out, mut inc, mut n_in) = (0i64, 0usize, 0i64, 0usize);
            let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(8, 0, 0).unwrap();
            for (i, (fen, incoming)) in amounts.iter().enumerate() {
                balance += if *incoming { *fen } else { -*fen };
                if *incoming { inc += fen; n_in += 1 } else { out += fen; n_out += 1 }
                let t = day + chrono::Duration::minutes(17 * i as i64);
                let (d, c) = if *incoming { (String::new(), fmt(*fen)) } else { (fmt(*fen), String::new()) };
                rows.push(format!("{},\"{d}\",\"{c}\",\"{}\",单位{i},\"附言, 含逗号\"", t.format("%Y-%m-%d %H:%M:%S"), fmt(balance)));
            }
            if newest_first {
                rows.reverse();
            }
            let mut text = String::new();
            if with_totals {
                text.push_str(&format!("借方笔数：,{n_out}\n借方发生额：,\"{}\"\n贷方笔数：,{n_in}\n贷方发生额：,\"{}\"\n", fmt(out), fmt(inc)));
            }
            text.push_str("交易时间,转出金额,转入金额,余额,对方单位,附言\n");
            text.push_str(&rows.join("\n"));
            let bytes = if as_gbk { gbk(&text) } else { [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat() };
            let (st, f) = import("generated.csv", &bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(f.lines, amounts.len());
            prop_assert_eq!(f.opening, Some(Money::from_fen(opening)));
            prop_assert_eq!(f.closing, Some(Money::from_fen(balance)));
            prop_assert_eq!((f.debit_total.fen(), f.debit_count), (out, n_out));
            prop_assert_eq!((f.credit_total.fen(), f.credit_count), (inc, n_in));
            let expected_chain = if newest_first && amounts.len() > 1 { Chain::ReverseFileOrder } else { Chain::FileOrder };
            prop_assert_eq!(f.chain, expected_chain);
            prop_assert_eq!(st.declared.debit_count.is_some(), with_totals);
            prop_assert_eq!(&st.lines[0].remark, "附言, 含逗号");
        }
    }
}

#[test]
fn a_saved_profile_reads_a_layout_no_shipped_profile_knows() {
    let text = "记帐日,入账金额,出账金额,结余,说明：含冒号\n2026-03-01,100.00,,1100.00,付款:\n2026-03-02,,40.00,1060.00,\n";
    let err = read("a.csv", text.as_bytes()).unwrap_err();
    assert!(err.zh.contains("找不到明细表头"), "{err}");
    let json = r#"{"name": "own", "bank": "某农商银行",
        "columns": {"date": ["记帐日"], "credit": ["入账金额"], "debit": ["出账金额"], "balance": ["结余"], "remark": ["说明：含冒号"]}}"#;
    let own: Profile = serde_json::from_str(json).unwrap();
    let mut profiles = vec![own.clone()];
    profiles.extend(profile::builtin());
    let st = read_with("a.csv", text.as_bytes(), &profiles).unwrap();
    assert_eq!(st.profile, "own");
    let f = st.check().unwrap();
    assert_eq!(
        (f.lines, f.opening, f.closing),
        (2, Some(m("1000.00")), Some(m("1060.00")))
    );
    assert_eq!(
        st.lines[0].remark, "付款:",
        "a remark ending in a colon is no footer"
    );
    // A profile is plain data: it round-trips.
    let back: Profile = serde_json::from_str(&serde_json::to_string(&own).unwrap()).unwrap();
    assert_eq!(back, own);
    for p in profile::builtin() {
        let back: Profile = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }
}

#[test]
fn mt940_statements_follow_each_other_per_account() {
    let two = |second_account: &str, second_opening: &str| {
        format!(
            ":20:A\n:25:BANK/111\n:28C:1/1\n:60F:C260101CNY100,00\n:61:2601020102D50,00NTRFx//S1\n:86:rent\n:62F:C260102CNY50,00\n\
             :20:B\n:25:BANK/{second_account}\n:28C:2/1\n:60F:C260102CNY{second_opening}\n:61:2601030103C5,5NTRFy//S2\n:62F:C260103CNY{}\n",
            if second_opening == "50,00" {
                "55,50"
            } else {
                "5,50"
            }
        )
    };
    let (st, f) = import("a.sta", two("111", "50,00").as_bytes()).unwrap();
    assert_eq!(
        (f.opening, f.closing),
        (Some(m("100.00")), Some(m("55.50")))
    );
    assert_eq!(st.lines[0].purpose, "rent");
    assert_eq!(st.lines[1].amount, m("5.50"));
    let err = import("a.sta", two("111", "0,00").as_bytes()).unwrap_err();
    assert_eq!(
        (err.row, err.column.as_deref()),
        (Some(11), Some(":60F:")),
        "{err}"
    );
    // Another account's statement starts from its own balance.
    assert!(import("a.sta", two("222", "0,00").as_bytes()).is_ok());
}
