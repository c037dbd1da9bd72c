//! ISO 20022 camt.053 (any version: elements are matched by local name). Each `Stmt` is a
//! section with its OPBD (or PRCD) and CLBD balances; each `Ntry` is a line, split into one
//! line per `TxDtls` when a batch booking carries several with their own amounts.

use crate::value::{amount_text, when_text};
use crate::{BankError, FileKind, Line, Part, Statement};
use duban_core::money::Money;
use roxmltree::{Document, Node};

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn path<'a, 'i>(n: Node<'a, 'i>, names: &[&str]) -> Option<Node<'a, 'i>> {
    names.iter().try_fold(n, |n, name| child(n, name))
}

fn text(n: Node, names: &[&str]) -> String {
    path(n, names)
        .and_then(|n| n.text())
        .map(|t| t.trim().to_string())
        .unwrap_or_default()
}

fn children<'a, 'i>(n: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

pub fn read(file_name: &str, xml: &str) -> Result<Statement, BankError> {
    let doc = Document::parse(xml).map_err(|e| {
        let p = e.pos();
        BankError::at(
            p.row as usize,
            format!("XML 格式错误：{e}"),
            format!("the XML is not well-formed: {e}"),
        )
    })?;
    let row = |n: Node| doc.text_pos_at(n.range().start).row as usize;
    let mut st = Statement::new(file_name, FileKind::Camt053, "camt053", "");
    let stmts: Vec<Node> = doc
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "Stmt")
        .collect();
    if stmts.is_empty() {
        return Err(BankError::file(
            "camt.053 文件里没有对账单（Stmt）",
            "the camt.053 file holds no statement (Stmt)",
        ));
    }
    for s in stmts {
        if st.account.is_none() {
            let iban = text(s, &["Acct", "Id", "IBAN"]);
            let other = text(s, &["Acct", "Id", "Othr", "Id"]);
            st.account = Some(if iban.is_empty() { other } else { iban }).filter(|a| !a.is_empty());
            st.currency = Some(text(s, &["Acct", "Ccy"])).filter(|c| !c.is_empty());
            let name = text(s, &["Acct", "Nm"]);
            let owner = text(s, &["Acct", "Ownr", "Nm"]);
            st.account_name =
                Some(if owner.is_empty() { name } else { owner }).filter(|n| !n.is_empty());
            let bic = text(s, &["Acct", "Svcr", "FinInstnId", "BIC"]);
            let bank = text(s, &["Acct", "Svcr", "FinInstnId", "Nm"]);
            st.bank = [bank, bic]
                .into_iter()
                .filter(|b| !b.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let from = text(s, &["FrToDt", "FrDtTm"]);
            let to = text(s, &["FrToDt", "ToDtTm"]);
            st.period_from = when_text(&from.replace('T', " ")).and_then(|w| w.date);
            st.period_to = when_text(&to.replace('T', " ")).and_then(|w| w.date);
        }
        let mut opening = None;
        let mut closing = None;
        for b in children(s, "Bal") {
            let code = text(b, &["Tp", "CdOrPrtry", "Cd"]);
            let m = signed(b, row(b))?;
            match code.as_str() {
                "OPBD" => opening = Some((m, row(b))),
                "PRCD" if opening.is_none() => opening = Some((m, row(b))),
                "CLBD" => closing = Some((m, row(b))),
                _ => {}
            }
        }
        let start = st.lines.len();
        for n in children(s, "Ntry") {
            entry(n, row(n), &mut st.lines)?;
        }
        let (Some((opening, opening_row)), Some((closing, closing_row))) = (opening, closing)
        else {
            return Err(BankError::at(
                row(s),
                "对账单缺少期初余额（OPBD/PRCD）或期末余额（CLBD）",
                "the statement lacks its opening (OPBD/PRCD) or closing (CLBD) balance",
            ));
        };
        summary_note(s, &st.lines[start..], &mut st.notes);
        st.parts.push(Part {
            start,
            end: st.lines.len(),
            opening,
            opening_row,
            closing,
            closing_row,
            tags: ("OPBD", "CLBD"),
            account: [
                text(s, &["Acct", "Id", "IBAN"]),
                text(s, &["Acct", "Id", "Othr", "Id"]),
            ]
            .concat(),
        });
    }
    st.sections = st.parts.len();
    st.declared.opening = st.parts.first().map(|p| p.opening);
    st.declared.closing = st.parts.last().map(|p| p.closing);
    Ok(st)
}

/// `Amt` + `CdtDbtInd` of a node: DBIT negative.
fn signed(n: Node, row: usize) -> Result<Money, BankError> {
    let raw = text(n, &["Amt"]);
    let m = match amount_text(&raw) {
        Ok(Some((m, _))) => m,
        Ok(None) => {
            return Err(BankError::cell(row, "Amt", "没有金额", "no amount"));
        }
        Err((zh, en)) => return Err(BankError::cell(row, "Amt", zh, en)),
    };
    match text(n, &["CdtDbtInd"]).as_str() {
        "CRDT" => Ok(m),
        "DBIT" => m.checked_neg().ok_or_else(|| {
            BankError::cell(row, "Amt", "金额超出范围", "the amount is out of range")
        }),
        other => Err(BankError::cell(
            row,
            "CdtDbtInd",
            format!("“{other}”应为 CRDT 或 DBIT"),
            format!("{other:?} must be CRDT or DBIT"),
        )),
    }
}

fn entry(n: Node, row: usize, lines: &mut Vec<Line>) -> Result<(), BankError> {
    let total = signed(n, row)?;
    let credit = !total.is_negative();
    let date_of = |names: &[&str]| {
        let dt = text(n, &[names, &["DtTm"]].concat());
        let d = text(n, &[names, &["Dt"]].concat());
        when_text(&if dt.is_empty() {
            d
        } else {
            dt.replace('T', " ")
        })
        .unwrap_or_default()
    };
    let booked = date_of(&["BookgDt"]);
    let value = date_of(&["ValDt"]);
    let details: Vec<Node> = path(n, &["NtryDtls"])
        .map(|d| children(d, "TxDtls").collect())
        .unwrap_or_default();
    let split = details.len() > 1
        && details
            .iter()
            .all(|t| !text(*t, &["AmtDtls", "TxAmt", "Amt"]).is_empty());
    let base = Line {
        row,
        date: booked.date.or(value.date),
        time: match (booked.date, booked.time) {
            (Some(d), Some(t)) => Some(d.and_time(t)),
            _ => None,
        },
        value_date: value.date,
        amount: total,
        balance: None,
        counterparty_name: String::new(),
        counterparty_account: String::new(),
        counterparty_bank: String::new(),
        summary: [
            text(n, &["BkTxCd", "Prtry", "Cd"]),
            text(n, &["BkTxCd", "Domn", "Cd"]),
        ]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or_default(),
        purpose: String::new(),
        remark: [
            text(n, &["AddtlNtryInf"]),
            if text(n, &["RvslInd"]) == "true" {
                "冲正 (reversal)".to_string()
            } else {
                String::new()
            },
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("；"),
        serial: Some(text(n, &["AcctSvcrRef"]))
            .filter(|s| !s.is_empty())
            .or_else(|| Some(text(n, &["NtryRef"])).filter(|s| !s.is_empty())),
        id: String::new(),
    };
    if details.is_empty() {
        lines.push(base);
        return Ok(());
    }
    let mut parts_sum = Money::ZERO;
    for (k, t) in details.iter().enumerate() {
        let mut l = base.clone();
        let party = if credit { "Dbtr" } else { "Cdtr" };
        let ultimate = if credit { "UltmtDbtr" } else { "UltmtCdtr" };
        let name = text(*t, &["RltdPties", ultimate, "Nm"]);
        l.counterparty_name = if name.is_empty() {
            text(*t, &["RltdPties", party, "Nm"])
        } else {
            name
        };
        let acct = format!("{party}Acct");
        let iban = text(*t, &["RltdPties", &acct, "Id", "IBAN"]);
        l.counterparty_account = if iban.is_empty() {
            text(*t, &["RltdPties", &acct, "Id", "Othr", "Id"])
        } else {
            iban
        };
        let agent = if credit { "DbtrAgt" } else { "CdtrAgt" };
        l.counterparty_bank = text(*t, &["RltdAgts", agent, "FinInstnId", "BIC"]);
        l.purpose = [
            text(*t, &["RmtInf", "Strd", "CdtrRefInf", "Ref"]),
            text(*t, &["RmtInf", "Ustrd"]),
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
        let e2e = text(*t, &["Refs", "EndToEndId"]);
        let extra = [
            text(*t, &["AddtlTxInf"]),
            text(*t, &["RtrInf", "AddtlInf"]),
            if e2e.is_empty() {
                e2e
            } else {
                format!("EndToEndId {e2e}")
            },
        ];
        for x in extra.into_iter().filter(|s| !s.is_empty()) {
            if !l.remark.is_empty() {
                l.remark.push('；');
            }
            l.remark.push_str(&x);
        }
        if let Some(r) = Some(text(*t, &["Refs", "AcctSvcrRef"])).filter(|s| !s.is_empty()) {
            l.serial = Some(r);
        }
        if split {
            let raw = text(*t, &["AmtDtls", "TxAmt", "Amt"]);
            let m = match amount_text(&raw) {
                Ok(Some((m, _))) => m,
                _ => {
                    return Err(BankError::cell(
                        row,
                        "TxAmt",
                        format!("“{raw}”不是金额"),
                        format!("{raw:?} is not an amount"),
                    ));
                }
            };
            l.amount = if credit {
                m
            } else {
                m.checked_neg().unwrap_or(m)
            };
            parts_sum = parts_sum.checked_add(l.amount).unwrap_or(parts_sum);
            l.serial = l.serial.map(|s| format!("{s}/{}", k + 1));
        }
        lines.push(l);
        if !split {
            break;
        }
    }
    if split && parts_sum != total {
        return Err(BankError::cell(
            row,
            "Amt",
            format!("分笔金额合计{parts_sum}与条目金额{total}不符"),
            format!("the transactions add up to {parts_sum}, the entry says {total}"),
        ));
    }
    Ok(())
}

/// `TxsSummry` is informative: the balances decide. Says so when it disagrees.
fn summary_note(s: Node, lines: &[Line], notes: &mut Vec<String>) {
    let Some(sum) = path(s, &["TxsSummry"]) else {
        return;
    };
    let declared: usize = text(sum, &["TtlNtries", "NbOfNtries"])
        .parse()
        .unwrap_or(usize::MAX);
    let entries = lines.len();
    if declared != usize::MAX && declared != entries {
        notes.push(format!(
            "文件的交易汇总（TxsSummry）声明{declared}笔，实有{entries}笔；以期初、期末余额核对为准  (the file's TxsSummry declares {declared} entries, it holds {entries}; the opening and closing balances are what is checked)"
        ));
    }
}
