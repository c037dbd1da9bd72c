//! Bank profiles: how to recognise a bank's export and find its columns and labels, as plain
//! data. A profile is a set of keyword alternatives per field, compared with the file's
//! header cells after [`crate::value::norm`] (no spaces, no bilingual `[ … ]` part, no
//! trailing colon, ASCII parentheses). A finance officer's own profile is the same value,
//! saved from a preview (it deserialises from JSON or TOML).

use serde::{Deserialize, Serialize};

/// One bank export layout.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Profile {
    /// Short name: `ccb`, `icbc` …
    pub name: String,
    /// The bank, as shown to people: 中国建设银行 …
    pub bank: String,
    /// Text that must all appear in the header row or above it (each compared after
    /// normalising, as a part of a cell) for this profile to be chosen.
    pub detect: Vec<String>,
    pub columns: Columns,
    pub labels: Labels,
    /// Values of a 借贷标志-like column that mean money leaving.
    pub flag_out: Vec<String>,
    /// Values that mean money coming in.
    pub flag_in: Vec<String>,
    /// A row whose first filled cell starts with one of these ends the table (合计, 汇总 …).
    pub footer: Vec<String>,
}

/// Keyword alternatives per column, tried in order, each compared with whole header cells.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Columns {
    pub date: Vec<String>,
    pub time: Vec<String>,
    pub value_date: Vec<String>,
    /// Money leaving, in a two-column layout (借方 / 支出 / 转出).
    pub debit: Vec<String>,
    /// Money coming in (贷方 / 收入 / 转入).
    pub credit: Vec<String>,
    /// One amount column: signed, or with a flag column.
    pub amount: Vec<String>,
    pub flag: Vec<String>,
    pub balance: Vec<String>,
    pub currency: Vec<String>,
    /// The own account, when every row repeats it.
    pub account: Vec<String>,
    pub account_name: Vec<String>,
    pub counterparty_name: Vec<String>,
    pub counterparty_account: Vec<String>,
    pub counterparty_bank: Vec<String>,
    /// Payer and payee (BOC): the counterparty is the payee of money leaving and the payer
    /// of money coming in.
    pub payer_name: Vec<String>,
    pub payer_account: Vec<String>,
    pub payer_bank: Vec<String>,
    pub payee_name: Vec<String>,
    pub payee_account: Vec<String>,
    pub payee_bank: Vec<String>,
    pub summary: Vec<String>,
    pub purpose: Vec<String>,
    /// Every column matching one of these is kept, joined with `；`.
    pub remark: Vec<String>,
    pub serial: Vec<String>,
}

/// Keyword alternatives for the label/value pairs above and below the table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Labels {
    pub account: Vec<String>,
    pub account_name: Vec<String>,
    pub currency: Vec<String>,
    pub from: Vec<String>,
    pub to: Vec<String>,
    /// A period in one value: `20171101-20171130`.
    pub period: Vec<String>,
    pub count: Vec<String>,
    pub debit_count: Vec<String>,
    pub debit_total: Vec<String>,
    pub credit_count: Vec<String>,
    pub credit_total: Vec<String>,
    pub opening: Vec<String>,
    pub closing: Vec<String>,
}

/// A column a profile can find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Date,
    Time,
    ValueDate,
    Debit,
    Credit,
    Amount,
    Flag,
    Balance,
    Currency,
    Account,
    AccountName,
    CounterpartyName,
    CounterpartyAccount,
    CounterpartyBank,
    PayerName,
    PayerAccount,
    PayerBank,
    PayeeName,
    PayeeAccount,
    PayeeBank,
    Summary,
    Purpose,
    Serial,
}

impl Field {
    /// Every single-column field, in the order columns are assigned (specific before general).
    pub const ALL: [Field; 23] = [
        Field::Debit,
        Field::Credit,
        Field::Balance,
        Field::Date,
        Field::Time,
        Field::ValueDate,
        Field::Amount,
        Field::Flag,
        Field::CounterpartyName,
        Field::CounterpartyAccount,
        Field::CounterpartyBank,
        Field::PayerName,
        Field::PayerAccount,
        Field::PayerBank,
        Field::PayeeName,
        Field::PayeeAccount,
        Field::PayeeBank,
        Field::Currency,
        Field::Account,
        Field::AccountName,
        Field::Summary,
        Field::Purpose,
        Field::Serial,
    ];

    /// Fields whose header may also be found as a part of a longer header (`借方发生额(元)`).
    pub fn loose(self) -> bool {
        matches!(
            self,
            Field::Debit | Field::Credit | Field::Balance | Field::Date | Field::Time
        )
    }
}

impl Field {
    /// The field's name in a mapping, as the columns of a [`Profile`] name it.
    pub fn key(self) -> &'static str {
        match self {
            Field::Date => "date",
            Field::Time => "time",
            Field::ValueDate => "value_date",
            Field::Debit => "debit",
            Field::Credit => "credit",
            Field::Amount => "amount",
            Field::Flag => "flag",
            Field::Balance => "balance",
            Field::Currency => "currency",
            Field::Account => "account",
            Field::AccountName => "account_name",
            Field::CounterpartyName => "counterparty_name",
            Field::CounterpartyAccount => "counterparty_account",
            Field::CounterpartyBank => "counterparty_bank",
            Field::PayerName => "payer_name",
            Field::PayerAccount => "payer_account",
            Field::PayerBank => "payer_bank",
            Field::PayeeName => "payee_name",
            Field::PayeeAccount => "payee_account",
            Field::PayeeBank => "payee_bank",
            Field::Summary => "summary",
            Field::Purpose => "purpose",
            Field::Serial => "serial",
        }
    }

    /// What the field is, in Chinese, for the person who maps a file.
    pub fn zh(self) -> &'static str {
        match self {
            Field::Date => "交易日期",
            Field::Time => "交易时间",
            Field::ValueDate => "起息日",
            Field::Debit => "支出（借方）金额",
            Field::Credit => "收入（贷方）金额",
            Field::Amount => "交易金额（单列）",
            Field::Flag => "借贷标志",
            Field::Balance => "余额",
            Field::Currency => "币种",
            Field::Account => "本方账号",
            Field::AccountName => "本方户名",
            Field::CounterpartyName => "对方户名",
            Field::CounterpartyAccount => "对方账号",
            Field::CounterpartyBank => "对方开户行",
            Field::PayerName => "付款人名称",
            Field::PayerAccount => "付款人账号",
            Field::PayerBank => "付款人开户行",
            Field::PayeeName => "收款人名称",
            Field::PayeeAccount => "收款人账号",
            Field::PayeeBank => "收款人开户行",
            Field::Summary => "摘要",
            Field::Purpose => "用途",
            Field::Serial => "流水号",
        }
    }

    /// The same in English.
    pub fn en(self) -> &'static str {
        match self {
            Field::Date => "booking date",
            Field::Time => "booking time",
            Field::ValueDate => "value date",
            Field::Debit => "money out (debit)",
            Field::Credit => "money in (credit)",
            Field::Amount => "amount (one column)",
            Field::Flag => "debit/credit flag",
            Field::Balance => "balance",
            Field::Currency => "currency",
            Field::Account => "own account",
            Field::AccountName => "own account name",
            Field::CounterpartyName => "counterparty name",
            Field::CounterpartyAccount => "counterparty account",
            Field::CounterpartyBank => "counterparty bank",
            Field::PayerName => "payer name",
            Field::PayerAccount => "payer account",
            Field::PayerBank => "payer bank",
            Field::PayeeName => "payee name",
            Field::PayeeAccount => "payee account",
            Field::PayeeBank => "payee bank",
            Field::Summary => "summary",
            Field::Purpose => "purpose",
            Field::Serial => "serial number",
        }
    }

    /// The field a mapping names `key`.
    pub fn parse(key: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.key() == key)
    }
}

impl Columns {
    fn keywords_mut(&mut self, f: Field) -> &mut Vec<String> {
        match f {
            Field::Date => &mut self.date,
            Field::Time => &mut self.time,
            Field::ValueDate => &mut self.value_date,
            Field::Debit => &mut self.debit,
            Field::Credit => &mut self.credit,
            Field::Amount => &mut self.amount,
            Field::Flag => &mut self.flag,
            Field::Balance => &mut self.balance,
            Field::Currency => &mut self.currency,
            Field::Account => &mut self.account,
            Field::AccountName => &mut self.account_name,
            Field::CounterpartyName => &mut self.counterparty_name,
            Field::CounterpartyAccount => &mut self.counterparty_account,
            Field::CounterpartyBank => &mut self.counterparty_bank,
            Field::PayerName => &mut self.payer_name,
            Field::PayerAccount => &mut self.payer_account,
            Field::PayerBank => &mut self.payer_bank,
            Field::PayeeName => &mut self.payee_name,
            Field::PayeeAccount => &mut self.payee_account,
            Field::PayeeBank => &mut self.payee_bank,
            Field::Summary => &mut self.summary,
            Field::Purpose => &mut self.purpose,
            Field::Serial => &mut self.serial,
        }
    }

    /// Sets the keywords of field `f`.
    pub fn set(&mut self, f: Field, words: Vec<String>) {
        *self.keywords_mut(f) = words;
    }
}

impl Columns {
    pub fn keywords(&self, f: Field) -> &[String] {
        match f {
            Field::Date => &self.date,
            Field::Time => &self.time,
            Field::ValueDate => &self.value_date,
            Field::Debit => &self.debit,
            Field::Credit => &self.credit,
            Field::Amount => &self.amount,
            Field::Flag => &self.flag,
            Field::Balance => &self.balance,
            Field::Currency => &self.currency,
            Field::Account => &self.account,
            Field::AccountName => &self.account_name,
            Field::CounterpartyName => &self.counterparty_name,
            Field::CounterpartyAccount => &self.counterparty_account,
            Field::CounterpartyBank => &self.counterparty_bank,
            Field::PayerName => &self.payer_name,
            Field::PayerAccount => &self.payer_account,
            Field::PayerBank => &self.payer_bank,
            Field::PayeeName => &self.payee_name,
            Field::PayeeAccount => &self.payee_account,
            Field::PayeeBank => &self.payee_bank,
            Field::Summary => &self.summary,
            Field::Purpose => &self.purpose,
            Field::Serial => &self.serial,
        }
    }
}

fn kw(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

impl Profile {
    /// The fallback: every keyword seen across the banks' exports.
    pub fn generic() -> Profile {
        Profile {
            name: "generic".into(),
            bank: "通用".into(),
            detect: vec![],
            columns: Columns {
                date: kw(&[
                    "交易日期",
                    "交易日",
                    "记账日期",
                    "记账日",
                    "入账日期",
                    "日期",
                ]),
                time: kw(&["交易时间", "交易时间戳", "时间"]),
                value_date: kw(&["起息日期", "起息日"]),
                debit: kw(&[
                    "借方发生额(支取)",
                    "借方发生额",
                    "借方金额",
                    "借方(支出)",
                    "支出金额",
                    "支出",
                    "转出金额",
                    "取出金额",
                    "付款金额",
                    "借方",
                ]),
                credit: kw(&[
                    "贷方发生额(收入)",
                    "贷方发生额",
                    "贷方金额",
                    "贷方(收入)",
                    "收入金额",
                    "收入",
                    "转入金额",
                    "存入金额",
                    "收款金额",
                    "贷方",
                ]),
                amount: kw(&["交易金额", "发生额", "金额"]),
                flag: kw(&[
                    "借贷标志",
                    "借/贷",
                    "借贷",
                    "借贷方向",
                    "收支标志",
                    "交易类型",
                ]),
                balance: kw(&[
                    "余额",
                    "账户余额",
                    "交易后余额",
                    "本次余额",
                    "当前余额",
                    "联机余额",
                ]),
                currency: kw(&["币种", "交易货币", "货币"]),
                account: kw(&["账号", "本方账号", "本方帐号"]),
                account_name: kw(&["账户名称", "户名", "本方户名"]),
                counterparty_name: kw(&[
                    "对方户名",
                    "对方名称",
                    "对方单位",
                    "对方单位名称",
                    "对方账号名称",
                    "对方账户名称",
                    "对方户名称",
                    "交易对手名称",
                    "收/付方名称",
                ]),
                counterparty_account: kw(&[
                    "对方账号",
                    "对方帐号",
                    "对方账户",
                    "交易对手账号",
                    "收/付方帐号",
                    "收/付方账号",
                ]),
                counterparty_bank: kw(&[
                    "对方开户机构",
                    "对方银行",
                    "对方行名",
                    "对方开户行",
                    "对方开户行名",
                    "对方账号开户行",
                    "收/付方开户行名",
                    "交易行名",
                ]),
                payer_name: kw(&["付款人名称"]),
                payer_account: kw(&["付款人账号"]),
                payer_bank: kw(&["付款人开户行名"]),
                payee_name: kw(&["收款人名称"]),
                payee_account: kw(&["收款人账号"]),
                payee_bank: kw(&["收款人开户行名"]),
                summary: kw(&["摘要", "交易摘要"]),
                purpose: kw(&["用途", "交易用途"]),
                remark: kw(&[
                    "附言",
                    "备注",
                    "客户附言",
                    "交易附言",
                    "交易说明",
                    "业务摘要",
                    "其它摘要",
                    "扩展摘要",
                ]),
                serial: kw(&[
                    "账户明细编号-交易流水号",
                    "核心唯一流水号",
                    "主机交易流水号",
                    "交易流水号",
                    "流水号",
                    "交易日志号",
                ]),
            },
            labels: Labels {
                account: kw(&[
                    "账号",
                    "帐号",
                    "查询账号",
                    "银行账号",
                    "银行帐号",
                    "账户",
                    "卡号",
                    "客户账号",
                ]),
                account_name: kw(&[
                    "账户名称",
                    "户名",
                    "账户名",
                    "公司名称",
                    "单位名称",
                    "客户名称",
                ]),
                currency: kw(&["币种", "货币"]),
                from: kw(&["查询开始日期", "起始日期", "开始日期", "查询起始日期"]),
                to: kw(&[
                    "查询结束日期",
                    "截至日期",
                    "截止日期",
                    "结束日期",
                    "终止日期",
                ]),
                period: kw(&[
                    "日期范围",
                    "查询时间范围",
                    "查询日期范围",
                    "交易日期范围",
                    "查询期间",
                ]),
                count: kw(&["总笔数", "交易笔数", "合计笔数", "笔数合计", "记录数"]),
                debit_count: kw(&[
                    "借方笔数",
                    "借方累计笔数",
                    "借方发生总笔数",
                    "借方总笔数",
                    "支出笔数",
                    "支出总笔数",
                    "汇总支出笔数",
                ]),
                debit_total: kw(&[
                    "借方发生额",
                    "借方累计发生额",
                    "借方发生总额",
                    "借方总金额",
                    "借方合计",
                    "支出总金额",
                    "支出合计",
                    "汇总支出金额",
                ]),
                credit_count: kw(&[
                    "贷方笔数",
                    "贷方累计笔数",
                    "贷方发生总笔数",
                    "贷方总笔数",
                    "收入笔数",
                    "收入总笔数",
                    "汇总收入笔数",
                ]),
                credit_total: kw(&[
                    "贷方发生额",
                    "贷方累计发生额",
                    "贷方发生总额",
                    "贷方总金额",
                    "贷方合计",
                    "收入总金额",
                    "收入合计",
                    "汇总收入金额",
                ]),
                opening: kw(&["期初余额", "上期余额", "上日余额", "起始余额"]),
                closing: kw(&["期末余额", "本期余额", "终止余额"]),
            },
            flag_out: kw(&[
                "借", "借方", "d", "dr", "debit", "往账", "支出", "支", "付", "出", "转出", "扣账",
                "2",
            ]),
            flag_in: kw(&[
                "贷", "贷方", "c", "cr", "credit", "来账", "收入", "收", "入", "转入", "入账", "1",
            ]),
            footer: kw(&["合计", "汇总", "总计", "小计", "本页", "以上数据", "共计"]),
        }
    }

    fn bank(name: &str, bank: &str, detect: &[&str]) -> Profile {
        Profile {
            name: name.into(),
            bank: bank.into(),
            detect: kw(detect),
            ..Profile::generic()
        }
    }
}

/// The shipped profiles, most specific first; `generic` last.
pub fn builtin() -> Vec<Profile> {
    let mut abc = Profile::bank("abc", "中国农业银行", &["交易日志号"]);
    abc.columns.time = kw(&["交易时间戳", "交易时间"]);
    abc.columns.summary = kw(&["交易摘要", "摘要"]);
    let mut cmb = Profile::bank("cmb", "招商银行", &["业务参考号"]);
    cmb.columns.date = kw(&["交易日", "交易日期"]);
    vec![
        Profile::bank("ccb", "中国建设银行", &["账户明细编号-交易流水号"]),
        Profile::bank("ccb-personal", "中国建设银行", &["chinaconstructionbank"]),
        Profile::bank("icbc", "中国工商银行", &["[historydetail]"]),
        Profile::bank("ceb", "中国光大银行", &["中国光大银行"]),
        Profile::bank("cmbc", "中国民生银行", &["对方账号名称", "客户附言"]),
        Profile::bank("pingan", "平安银行", &["核心唯一流水号"]),
        Profile::bank(
            "boc",
            "中国银行",
            &["交易后余额", "付款人名称", "收款人名称"],
        ),
        Profile::bank("spdb", "上海浦东发展银行", &["交易对手名称", "顺序号"]),
        abc,
        Profile::bank("bocom", "交通银行", &["借方(支出)", "贷方(收入)"]),
        cmb,
        Profile::generic(),
    ]
}
