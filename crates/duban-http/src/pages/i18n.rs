//! The words of the pages in Simplified Chinese (the default) and English, chosen with the
//! `duban_lang` cookie, and how dates and amounts are written in each.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use minijinja::{Error, ErrorKind, State, Value};
use rust_decimal::Decimal;
use std::str::FromStr;

pub const LANG_COOKIE: &str = "duban_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn from_cookie(v: Option<&str>) -> Lang {
        match v {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `lang` attribute of the page.
    pub fn html(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// A message of the catalogue; `None` for an unknown key.
    pub fn get(self, key: &str) -> Option<&'static str> {
        let i = MESSAGES.binary_search_by(|(k, _, _)| (*k).cmp(key)).ok()?;
        let (_, zh, en) = MESSAGES[i];
        Some(match self {
            Lang::Zh => zh,
            Lang::En => en,
        })
    }

    /// A message of the catalogue, or the key itself when it has none (logged).
    pub fn text(self, key: &str) -> &str {
        self.get(key).unwrap_or_else(|| {
            tracing::warn!(key, "a page asked for a message the catalogue lacks");
            "?"
        })
    }

    /// A word of the domain stored as a code (`branch`, `enterprise`, `overdue`), in this
    /// language; the code itself when the catalogue does not know it.
    pub fn word<'a>(self, kind: &str, code: &'a str) -> &'a str {
        self.get(&format!("status.{kind}.{code}")).unwrap_or(code)
    }

    /// The part of a use case's bilingual message (`中文 (English)`) in this language; the
    /// generic `fallback` message when it has no such part.
    pub fn pick<'a>(self, message: &'a str, fallback: &'a str) -> &'a str {
        let has_cjk = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        match (self, message.split_once(" (")) {
            (Lang::Zh, Some((zh, _))) if has_cjk(zh) => zh,
            (Lang::Zh, None) if has_cjk(message) => message,
            (Lang::En, Some((zh, en))) if has_cjk(zh) => en.strip_suffix(')').unwrap_or(en),
            (Lang::En, None) if !has_cjk(message) => message,
            _ => fallback,
        }
    }

    /// A date as people write it: 2026年12月26日 (no padding) in Chinese, ISO in English.
    pub fn date(self, d: NaiveDate) -> String {
        match self {
            Lang::Zh => d.format("%Y年%-m月%-d日").to_string(),
            Lang::En => d.format("%Y-%m-%d").to_string(),
        }
    }

    /// An instant in Beijing time, to the minute.
    pub fn datetime(self, t: DateTime<Utc>) -> String {
        let local = t.with_timezone(&beijing()).naive_local();
        format!("{} {}", self.date(local.date()), local.format("%H:%M"))
    }
}

pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8")
}

fn lang_of(state: &State) -> Lang {
    Lang::from_cookie(state.lookup("lang").as_ref().and_then(Value::as_str))
}

/// `{{ t("units.title") }}`: refuses an unknown key, so a page test finds every missing one.
pub fn t(state: &State, key: &str) -> Result<String, Error> {
    lang_of(state)
        .get(key)
        .map(str::to_string)
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("no message {key:?}")))
}

/// `{{ status("item", i.status) }}`: a word of the domain (a status, a unit level, an
/// organisation kind) in the page's language, or the word itself when the catalogue does
/// not know it.
pub fn status(state: &State, kind: &str, value: &str) -> String {
    lang_of(state).word(kind, value).to_string()
}

/// `{{ d | day }}`: a date (or the date of an instant, a date and time without zone) in the
/// page's language; empty for none.
pub fn day(state: &State, v: Value) -> Result<String, Error> {
    if v.is_none() || v.is_undefined() {
        return Ok(String::new());
    }
    let s = v.as_str().unwrap_or_default();
    let lang = lang_of(state);
    if let Ok(d) = NaiveDate::from_str(s) {
        return Ok(lang.date(d));
    }
    if let Ok(t) = NaiveDateTime::from_str(s) {
        return Ok(lang.date(t.date()));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(lang.date(t.with_timezone(&beijing()).date_naive()));
    }
    Err(Error::new(
        ErrorKind::InvalidOperation,
        format!("not a date: {s:?}"),
    ))
}

/// `{{ t | datetime }}`: an instant (RFC 3339) in Beijing time, to the minute.
pub fn datetime(state: &State, v: Value) -> Result<String, Error> {
    let s = v.as_str().unwrap_or_default();
    DateTime::parse_from_rfc3339(s)
        .map(|t| lang_of(state).datetime(t.with_timezone(&Utc)))
        .map_err(|_| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("not an instant: {s:?}"),
            )
        })
}

/// `1,234,567.89`: thousands grouped, two decimals, rounded half away from zero to the fen.
pub fn grouped(d: Decimal) -> String {
    let d = d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let sign = if d.is_sign_negative() && !d.is_zero() {
        "-"
    } else {
        ""
    };
    let text = format!("{:.2}", d.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, "00"));
    let mut out = String::with_capacity(text.len() + whole.len() / 3 + 1);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}.{fraction}")
}

/// `{{ x | amount }}`: a decimal string (`"1234567.891"`) or a whole number of fen.
pub fn amount(v: Value) -> Result<String, Error> {
    Ok(grouped(decimal(&v)?))
}

/// `{{ x | capitals }}`: an amount, as `amount` takes it, in Chinese capitals after 人民币
/// (`"600.00"` → 人民币陆佰元整), whatever the reader's language: the form is Chinese.
pub fn capitals(v: Value) -> Result<String, Error> {
    let money = duban_core::money::Money::from_decimal(decimal(&v)?)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("{v}: {e}")))?;
    Ok(duban_core::capitals::rmb(money))
}

fn decimal(v: &Value) -> Result<Decimal, Error> {
    if let Some(s) = v.as_str() {
        Decimal::from_str(s.trim())
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("{s:?}: {e}")))
    } else if let Ok(fen) = i64::try_from(v.clone()) {
        Ok(Decimal::new(fen, 2))
    } else {
        Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("not an amount: {v}"),
        ))
    }
}

/// (key, 中文, English), sorted by key (checked by a test).
static MESSAGES: &[(&str, &str, &str)] = &[
    ("app.name", "督办", "Duban"),
    ("bank.account.bank", "开户行", "Bank"),
    ("bank.account.code", "账户代码", "Code"),
    (
        "bank.account.code_hint",
        "1至24位小写字母、数字或 -，如 ccb-basic；记账科目为 assets:bank:代码。",
        "1–24 lowercase letters, digits or -, e.g. ccb-basic; the ledger account is assets:bank:<code>.",
    ),
    ("bank.account.created", "开立日期", "Opened"),
    ("bank.account.ledger", "记账科目", "Ledger account"),
    ("bank.account.name", "账户名称", "Account name"),
    ("bank.account.number", "账号", "Account number"),
    ("bank.accounts.add", "新增账户", "Add an account"),
    (
        "bank.accounts.added",
        "已新增账户 {code}。",
        "Account {code} added.",
    ),
    (
        "bank.accounts.none",
        "尚无银行或现金账户。",
        "No bank or cash account yet.",
    ),
    ("bank.accounts.title", "银行账户", "Bank accounts"),
    ("bank.action.import", "导入对账单", "Import a statement"),
    ("bank.action.lines", "银行流水", "Statement lines"),
    ("bank.action.match", "对账匹配", "Matching"),
    ("bank.back", "返回银行账户", "Back to the bank accounts"),
    ("bank.bucket.0-30", "0–30天", "0–30 days"),
    ("bank.bucket.31-90", "31–90天", "31–90 days"),
    ("bank.bucket.90+", "90天以上", "Over 90 days"),
    ("bank.field.amount", "金额", "amount"),
    (
        "bank.field.counterparty_account",
        "对方账号",
        "counterparty account",
    ),
    (
        "bank.field.counterparty_name",
        "对方户名",
        "counterparty name",
    ),
    ("bank.field.date", "日期", "date"),
    ("bank.field.reference", "凭证号/流水号", "voucher/serial"),
    ("bank.filter.direction", "收支方向", "Direction"),
    ("bank.filter.from", "起始日期", "From"),
    ("bank.filter.matched", "匹配状态", "Matched"),
    ("bank.filter.matched.no", "未匹配", "Unmatched"),
    ("bank.filter.matched.yes", "已匹配", "Matched"),
    ("bank.filter.to", "截止日期", "To"),
    (
        "bank.import.clean",
        "{name} 可以导入：新增 {added} 笔，已有 {known} 笔。尚未写入任何数据。",
        "{name} would import: {added} new lines, {known} already held. Nothing was written yet.",
    ),
    ("bank.import.closing", "期末余额", "Closing balance"),
    ("bank.import.confirm", "确认导入", "Import it"),
    ("bank.import.count", "{n} 笔", "{n} lines"),
    ("bank.import.credits", "收入合计", "Money in"),
    ("bank.import.debits", "支出合计", "Money out"),
    (
        "bank.import.done",
        "{name} 已导入：新增 {added} 笔，已有 {known} 笔未重复导入。",
        "{name} imported: {added} new lines, {known} already held and skipped.",
    ),
    ("bank.import.file", "对账单文件", "Statement file"),
    ("bank.import.first", "前 {n} 笔", "The first {n} lines"),
    (
        "bank.import.hint",
        "支持各银行导出的 XLS、XLSX、CSV、HTML，以及 MT940 和 camt.053。先检查，确认后才导入。",
        "XLS, XLSX, CSV and HTML exports of the banks, MT940 and camt.053. The file is checked first and imported only when you confirm.",
    ),
    ("bank.import.imported", "已导入", "Imported"),
    (
        "bank.import.known",
        "已有（不重复导入）",
        "Already held (skipped)",
    ),
    ("bank.import.lines", "笔数", "Lines"),
    ("bank.import.new", "新增", "New"),
    (
        "bank.import.nothing_written",
        "未写入任何数据。",
        "Nothing was written.",
    ),
    ("bank.import.opening", "期初余额", "Opening balance"),
    ("bank.import.period", "起止日期", "Period"),
    ("bank.import.preview", "导入预览", "Preview"),
    (
        "bank.import.refused",
        "{name} 不能导入",
        "{name} cannot be imported",
    ),
    (
        "bank.import.title",
        "导入对账单：{name}",
        "Import a statement: {name}",
    ),
    ("bank.line.amount", "金额", "Amount"),
    ("bank.line.balance", "余额", "Balance"),
    ("bank.line.counterparty", "对方户名", "Counterparty"),
    (
        "bank.line.counterparty_account",
        "对方账号",
        "Counterparty account",
    ),
    ("bank.line.date", "交易日期", "Date"),
    ("bank.line.in", "收入", "In"),
    ("bank.line.matched", "匹配", "Match"),
    ("bank.line.out", "支出", "Out"),
    ("bank.line.serial", "流水号", "Serial"),
    ("bank.line.summary", "摘要", "Summary"),
    (
        "bank.lines.count",
        "共 {total} 笔，第 {page}/{pages} 页",
        "{total} lines, page {page} of {pages}",
    ),
    ("bank.lines.matched_as", "匹配#{id}", "match #{id}"),
    (
        "bank.lines.none",
        "没有符合条件的流水。",
        "No line matches the filters.",
    ),
    (
        "bank.lines.sums",
        "合计（{total} 笔）",
        "Total ({total} lines)",
    ),
    (
        "bank.lines.title",
        "银行流水：{name}",
        "Statement lines: {name}",
    ),
    ("bank.match.agreed", "一致的字段", "Fields that agree"),
    ("bank.match.by", "匹配人及时间", "By, when"),
    (
        "bank.match.candidate",
        "分录#{posting}（差额 {difference}，相隔 {days} 天）",
        "posting #{posting} (difference {difference}, {days} days apart)",
    ),
    ("bank.match.difference", "差额", "Difference"),
    (
        "bank.match.done.manual",
        "已人工匹配（匹配#{n}）。",
        "Matched by hand (match #{n}).",
    ),
    (
        "bank.match.done.matched",
        "自动匹配完成：本次匹配 {n} 笔。",
        "Matching done: {n} matched in this run.",
    ),
    (
        "bank.match.done.unmatched",
        "已撤销匹配#{n}，撤销记录已入审计日志。",
        "Match #{n} undone; the reversal is in the audit log.",
    ),
    (
        "bank.match.dry_run",
        "试运行（不写入）",
        "Dry run (writes nothing)",
    ),
    (
        "bank.match.exceptions",
        "未匹配流水（{n} 笔）",
        "Unmatched lines ({n})",
    ),
    (
        "bank.match.fee",
        "金额差额记为手续费",
        "Book the difference as a bank charge",
    ),
    ("bank.match.id", "匹配号", "Match"),
    ("bank.match.line", "流水号", "Line"),
    ("bank.match.manual", "人工匹配", "Match by hand"),
    ("bank.match.manual_reason", "原因", "Reason"),
    ("bank.match.manual_submit", "匹配", "Match"),
    ("bank.match.matches", "已匹配（{n} 条）", "Matches ({n})"),
    (
        "bank.match.no_candidate",
        "账上没有相近的分录。",
        "No posting of the book comes near.",
    ),
    (
        "bank.match.no_exceptions",
        "没有未匹配的流水。",
        "No unmatched line.",
    ),
    ("bank.match.no_matches", "尚无匹配。", "No match yet."),
    (
        "bank.match.none_proposed",
        "没有可自动匹配的流水。",
        "Nothing the rules would match.",
    ),
    ("bank.match.posting", "分录号", "Posting"),
    (
        "bank.match.posting_number",
        "请填写流水号和分录号（数字）。",
        "Give the line and the posting as numbers.",
    ),
    (
        "bank.match.proposed",
        "试运行结果：将匹配 {n} 笔，剩余未匹配 {exceptions} 笔（此前已匹配 {before} 笔）。尚未写入。",
        "Dry run: {n} would be matched, {exceptions} left unmatched ({before} matched before). Nothing was written.",
    ),
    (
        "bank.match.reason",
        "未匹配原因及相近分录",
        "Why not, and the nearest postings",
    ),
    ("bank.match.rule", "规则", "Rule"),
    ("bank.match.run", "按试运行结果匹配", "Match as proposed"),
    (
        "bank.match.run_hint",
        "按规则表匹配本账户未匹配的流水与账上分录。先试运行查看拟匹配结果，确认后再匹配。",
        "Matches the account's open lines with the book's postings by the rule table. Run it dry first, then for real.",
    ),
    ("bank.match.run_title", "自动匹配", "Automatic matching"),
    ("bank.match.title", "对账匹配：{name}", "Matching: {name}"),
    ("bank.match.unmatch", "撤销匹配", "Unmatch"),
    ("bank.match.unmatch_reason", "撤销原因", "Reason"),
    (
        "bank.match.would",
        "现在运行将与分录#{posting}匹配（{rule}）",
        "A run now would match it with posting #{posting} ({rule})",
    ),
    ("bank.nav.accounts", "银行账户", "Bank accounts"),
    ("bank.nav.three_way", "三方核对", "Three-way"),
    (
        "bank.rule.amount_date",
        "金额一致且日期相近",
        "amount and date",
    ),
    ("bank.rule.combined", "多笔分录合并支付", "combined payment"),
    (
        "bank.rule.counterparty",
        "金额及对方一致",
        "amount and counterparty",
    ),
    ("bank.rule.manual", "人工匹配", "by hand"),
    (
        "bank.rule.reference",
        "凭证号/流水号一致",
        "voucher or serial",
    ),
    ("bank.rule.split", "一笔分录分笔支付", "split payment"),
    ("bank.rule.tolerance", "金额在容差内", "within tolerance"),
    ("bank.three_way.age", "账龄（天）", "Age (days)"),
    ("bank.three_way.aged_on", "账龄计至{date}", "Aged on {date}"),
    ("bank.three_way.as_of", "账龄截止日", "Aged on"),
    ("bank.three_way.bucket", "账龄区间", "Bucket"),
    ("bank.three_way.buckets", "按账龄区间合计", "Totals by age"),
    (
        "bank.three_way.commitments",
        "已核定未付款",
        "Committed, not paid",
    ),
    ("bank.three_way.count", "笔数", "Count"),
    ("bank.three_way.none", "无。", "None."),
    ("bank.three_way.payee", "收款人", "Payee"),
    (
        "bank.three_way.payments",
        "已付款未见银行流水",
        "Paid, not on a statement",
    ),
    (
        "bank.three_way.title",
        "三方核对：核定、支付与银行流水",
        "Three-way: commitments, payments and bank lines",
    ),
    ("bases.activity", "活动", "Activity"),
    ("bases.address", "地址", "Address"),
    ("bases.book", "预约", "Book a slot"),
    (
        "bases.booked",
        "已预约，编号{id}。确认短信已发给本单位书记。",
        "Booked: number {id}. The confirmation goes to the unit's secretary.",
    ),
    ("bases.capacity", "每时段人数", "People per slot"),
    ("bases.closed", "不开放", "Closed"),
    ("bases.date", "日期", "Date"),
    ("bases.district", "区县", "District"),
    ("bases.free", "余{n}个名额", "{n} places free"),
    ("bases.headcount", "人数", "Head count"),
    ("bases.host", "承办单位", "Host unit"),
    ("bases.hours", "开放时间", "Opening hours"),
    ("bases.inactive", "已停止预约", "Not taking bookings"),
    ("bases.kind", "类型", "Kind"),
    ("bases.menu", "活动菜单", "Menu"),
    ("bases.minutes", "分钟", "min"),
    ("bases.name", "基地名称", "Base"),
    ("bases.next", "下一周", "Next week"),
    ("bases.none", "还没有基地。", "No bases yet."),
    ("bases.previous", "上一周", "Previous week"),
    ("bases.slot", "时段", "Slot"),
    ("bases.slots", "时段及剩余名额", "Slots and free places"),
    ("bases.submit", "提交预约", "Book"),
    (
        "bases.title",
        "开放式组织生活基地",
        "Open organisational-life bases",
    ),
    ("bases.unit", "党组织编码", "Unit code"),
    ("bases.week", "本周各时段", "This week's slots"),
    ("bases.weeks", "翻周", "Weeks"),
    ("bookings.all", "含已取消", "Include cancelled"),
    ("bookings.cancel", "取消预约", "Cancel the booking"),
    (
        "bookings.cancelled",
        "编号{id}的预约已取消，提醒不再发送。",
        "Booking {id} is cancelled; no reminder will be sent.",
    ),
    ("bookings.current", "仅有效预约", "Current bookings only"),
    ("bookings.none", "没有预约。", "No bookings."),
    ("bookings.people", "{n}人", "{n} people"),
    ("bookings.state.booked", "已预约", "Booked"),
    ("bookings.state.cancelled", "已取消", "Cancelled"),
    ("bookings.title", "基地预约", "Base bookings"),
    ("calendar.adjusted", "调休上班", "Weekend day worked"),
    ("calendar.dow.1", "一", "Mon"),
    ("calendar.dow.2", "二", "Tue"),
    ("calendar.dow.3", "三", "Wed"),
    ("calendar.dow.4", "四", "Thu"),
    ("calendar.dow.5", "五", "Fri"),
    ("calendar.dow.6", "六", "Sat"),
    ("calendar.dow.7", "日", "Sun"),
    ("calendar.holiday", "法定节假日", "Public holiday"),
    ("calendar.month.1", "一月", "January"),
    ("calendar.month.10", "十月", "October"),
    ("calendar.month.11", "十一月", "November"),
    ("calendar.month.12", "十二月", "December"),
    ("calendar.month.2", "二月", "February"),
    ("calendar.month.3", "三月", "March"),
    ("calendar.month.4", "四月", "April"),
    ("calendar.month.5", "五月", "May"),
    ("calendar.month.6", "六月", "June"),
    ("calendar.month.7", "七月", "July"),
    ("calendar.month.8", "八月", "August"),
    ("calendar.month.9", "九月", "September"),
    ("calendar.next", "下一年", "Next year"),
    ("calendar.notices", "依据", "Sources"),
    ("calendar.previous", "上一年", "Previous year"),
    (
        "calendar.title",
        "{year}年工作日历",
        "Working days of {year}",
    ),
    (
        "calendar.unknown",
        "{year}年的节假日安排尚未载入：只按周末计算，法定节假日和调休不准确。请按国务院办公厅通知补充 config/calendar/{year}.toml。",
        "The holidays of {year} are not loaded: only weekends count, so holidays and swapped working days are wrong. Add config/calendar/{year}.toml from the State Council notice.",
    ),
    ("calendar.weekend", "周末", "Weekend"),
    ("calendar.work_mark", "班", "W"),
    ("calendar.workday", "工作日", "Working day"),
    (
        "calendar.workdays",
        "{year}年共{count}个工作日。",
        "{year} has {count} working days.",
    ),
    ("calendar.years", "年份", "Years"),
    ("chain.back", "返回督办链条", "Back to the chains"),
    ("chain.due", "计划时间", "Due"),
    ("chain.fired", "执行时间", "Fired"),
    (
        "chain.no_steps",
        "此链条没有步骤。",
        "This chain has no steps.",
    ),
    ("chain.started", "开始时间", "Started"),
    ("chain.state", "执行情况", "State"),
    ("chain.state.cancelled", "已取消", "Cancelled"),
    ("chain.state.done", "已执行", "Done"),
    ("chain.state.failed", "执行失败", "Failed"),
    ("chain.state.late", "延迟执行", "Done late"),
    ("chain.state.pending", "待执行", "Pending"),
    ("chain.state.skipped", "已跳过", "Skipped"),
    ("chain.step", "步骤", "Step"),
    ("chain.steps", "各步骤", "Steps"),
    ("chain.subject", "督办对象", "Subject"),
    ("chain.timeline", "时间线", "Timeline"),
    ("chain.today", "今天", "Today"),
    ("chain.version", "流程版本", "Workflow version"),
    (
        "chains.count",
        "共{total}条，第{page}/{pages}页",
        "{total} chains, page {page} of {pages}",
    ),
    ("chains.escalated_only", "只看已升级", "Escalated only"),
    ("chains.id", "编号", "No."),
    (
        "chains.none",
        "没有符合条件的督办链条。",
        "No chain matches.",
    ),
    ("chains.overdue_only", "只看已逾期", "Overdue only"),
    ("chains.status", "状态", "Status"),
    ("chains.title", "督办链条", "Reminder chains"),
    ("chains.unit", "党组织", "Party unit"),
    ("chains.workflow", "督办事项", "Workflow"),
    ("dash.due", "本周到期", "Due this week"),
    ("dash.due_interviews", "约谈", "Interviews"),
    ("dash.due_items", "整改事项", "Rectification items"),
    ("dash.due_terms", "任期届满", "Terms ending"),
    ("dash.escalated", "已升级提醒", "Escalated chains"),
    (
        "dash.escalated_hint",
        "进行中且至少升级一次的督办链条",
        "Running chains escalated at least once",
    ),
    ("dash.failing", "发送失败", "Failed messages"),
    (
        "dash.failing_hint",
        "多次重试后仍未送达或被退回的消息",
        "Messages that failed for good or became dead letters",
    ),
    ("dash.failing_list", "发送失败的消息", "Failed messages"),
    (
        "dash.failing_none",
        "没有发送失败的消息。",
        "No message has failed.",
    ),
    (
        "dash.newest",
        "最新{n}条，共{total}条",
        "newest {n} of {total}",
    ),
    ("dash.overdue", "各区县逾期情况", "Overdue by district"),
    ("dash.overdue_items", "整改逾期", "Overdue items"),
    (
        "dash.overdue_none",
        "目前没有逾期事项。",
        "Nothing is overdue.",
    ),
    (
        "dash.overdue_table",
        "各区县逾期数（点击区县查看逾期党组织）",
        "Overdue per district (a district opens its overdue units)",
    ),
    ("dash.overdue_terms", "换届逾期", "Overdue elections"),
    ("dash.title", "工作台", "Dashboard"),
    ("dash.today", "今天是{date}", "Today is {date}"),
    ("dash.unreachable", "无法联系的人员", "Unreachable people"),
    (
        "dash.unreachable_hint",
        "没有任何渠道可以送达的提醒",
        "Reminders no channel could deliver",
    ),
    (
        "dash.unreachable_list",
        "无法送达的提醒",
        "Reminders nobody could receive",
    ),
    (
        "dash.unreachable_none",
        "所有提醒都有可用的送达渠道。",
        "Every reminder had a channel.",
    ),
    ("dead.action", "操作", "Action"),
    ("dead.attempts", "已尝试", "Attempts"),
    ("dead.created", "生成时间", "Created"),
    (
        "dead.none",
        "没有发送失败的消息。",
        "No message has failed.",
    ),
    ("dead.resend", "重新发送", "Send again"),
    (
        "dead.resent",
        "消息{id}已重新排队发送。",
        "Message {id} is queued to be sent again.",
    ),
    ("dead.title", "发送失败的消息", "Failed messages"),
    ("deliveries.address", "收件地址", "Address"),
    ("deliveries.at", "时间", "Time"),
    ("deliveries.attempt", "次数", "Attempt"),
    ("deliveries.channel", "渠道", "Channel"),
    (
        "deliveries.count",
        "共{total}条，第{page}/{pages}页",
        "{total} attempts, page {page} of {pages}",
    ),
    ("deliveries.error", "错误", "Error"),
    (
        "deliveries.none",
        "没有符合条件的发送记录。",
        "No delivery attempt matches.",
    ),
    ("deliveries.person", "收件人", "Recipient"),
    (
        "deliveries.person_filter",
        "收件人（手机号、邮箱或编号）",
        "Recipient (mobile, email or id)",
    ),
    ("deliveries.status", "结果", "Outcome"),
    ("deliveries.subject", "内容", "Message"),
    ("deliveries.title", "消息发送记录", "Delivery log"),
    ("deliveries.unit", "党组织", "Party unit"),
    (
        "error.bad_request",
        "请求的参数有误，请返回重试。",
        "The request was not understood; go back and try again.",
    ),
    (
        "error.forbidden",
        "您没有权限查看此页面。",
        "You may not see this page.",
    ),
    ("error.forbidden_title", "无权访问", "Forbidden"),
    ("error.home", "返回首页", "Back to the start page"),
    (
        "error.internal",
        "系统出现错误，已记录，请稍后再试。",
        "Something went wrong; it has been logged. Try again later.",
    ),
    ("error.internal_title", "系统错误", "Error"),
    ("error.invalid_title", "请求有误", "Bad request"),
    (
        "error.not_found",
        "找不到您要的内容。",
        "There is nothing here.",
    ),
    ("error.not_found_title", "未找到", "Not found"),
    (
        "error.unavailable",
        "数据库暂时无法访问，请稍后再试。",
        "The database is out of reach; try again later.",
    ),
    ("error.unavailable_title", "暂时无法访问", "Unavailable"),
    ("export.csv", "CSV", "CSV"),
    ("export.label", "按当前筛选导出：", "Export as filtered: "),
    ("export.xlsx", "Excel", "Excel"),
    ("filter.all", "全部", "All"),
    ("filter.apply", "筛选", "Filter"),
    ("filter.clear", "清除条件", "Clear"),
    ("filter.search", "名称或编码", "Name or code"),
    ("fin.actions", "操作", "Actions"),
    ("fin.allocate.date", "核定日期", "Date of the allocation"),
    (
        "fin.allocate.headroom",
        "{year}年度各预算科目当前可用余额（元）",
        "Headroom of each line in {year} now (yuan)",
    ),
    ("fin.allocate.submit", "提交核定", "Allocate"),
    ("fin.allocate.title", "核定拨款", "New allocation"),
    (
        "fin.allocations.back",
        "返回拨款台账",
        "Back to the allocations",
    ),
    (
        "fin.allocations.count",
        "共{total}笔拨款，第{page}/{pages}页",
        "{total} allocations, page {page} of {pages}",
    ),
    (
        "fin.allocations.none",
        "没有符合条件的拨款。",
        "No allocation matches.",
    ),
    (
        "fin.allocations.sums",
        "合计（{total}笔）",
        "Total ({total} allocations)",
    ),
    ("fin.allocations.title", "拨款台账", "Allocations"),
    ("fin.amount", "核定金额", "Allocated"),
    (
        "fin.amount_capitals",
        "核定金额（大写）",
        "Allocated, in Chinese capitals",
    ),
    (
        "fin.amount_hint",
        "单位：元，可写 354000、354,000.00 或 35.4万，最多两位小数",
        "In yuan: 354000, 354,000.00 or 35.4万; at most two decimals",
    ),
    ("fin.amount_yuan", "金额（元）", "Amount (yuan)"),
    ("fin.appropriated", "预算数", "Appropriated"),
    ("fin.approval", "批准会议", "Approval"),
    ("fin.approval_date", "批准日期", "Date of approval"),
    ("fin.as_of", "截至{date}", "As of {date}"),
    (
        "fin.budget.chart",
        "各科目预算数、已核定与已支付",
        "Appropriated, committed and paid by line",
    ),
    (
        "fin.budget.none",
        "{year}年度尚未下达预算。",
        "No budget was appropriated for {year}.",
    ),
    (
        "fin.budget.title_year",
        "{year}年度预算执行情况",
        "Budget execution {year}",
    ),
    ("fin.choose", "请选择", "Choose"),
    ("fin.committed", "已核定", "Committed"),
    ("fin.date", "日期", "Date"),
    ("fin.disburse.action", "拨付", "Disburse"),
    (
        "fin.disburse.amount",
        "本次拨付金额（元）",
        "Amount to disburse (yuan)",
    ),
    (
        "fin.disburse.at_most",
        "尚未拨付 {outstanding} 元，本次拨付不能超过此数",
        "{outstanding} left to disburse; no more than that",
    ),
    ("fin.disburse.date", "拨付日期", "Date of payment"),
    ("fin.disburse.facts", "拨款情况", "The allocation"),
    ("fin.disburse.history", "记账记录", "Transactions"),
    ("fin.disburse.submit", "提交拨付", "Disburse"),
    (
        "fin.disburse.title",
        "拨付第{id}号拨款",
        "Disburse allocation #{id}",
    ),
    ("fin.disbursed", "已拨付", "Disbursed"),
    (
        "fin.done.allocated",
        "已核定第{id}号拨款。",
        "Allocation #{id} was booked.",
    ),
    (
        "fin.done.disbursed",
        "第{id}号拨款的拨付已记账。",
        "The payment on allocation #{id} was booked.",
    ),
    ("fin.dues", "党费上缴", "Dues remitted"),
    ("fin.headroom", "可用余额", "Headroom"),
    (
        "fin.invalid.amount",
        "金额必须大于零",
        "The amount must be greater than zero",
    ),
    (
        "fin.invalid.approval_date",
        "批准日期不能晚于核定日期",
        "The approval cannot come after the allocation",
    ),
    (
        "fin.invalid.date",
        "请按 2026-12-03 的格式填写日期",
        "Enter a date such as 2026-12-03",
    ),
    (
        "fin.invalid.key",
        "表单已失效，请重新打开表单后填写。",
        "The form has expired: open it again.",
    ),
    ("fin.invalid.line", "请选择预算科目", "Choose a budget line"),
    (
        "fin.invalid.meeting",
        "请填写批准会议（须经集体研究决定，不超过200字）",
        "Name the approving meeting (a collective decision; at most 200 characters)",
    ),
    (
        "fin.invalid.memo",
        "备注不超过500字",
        "At most 500 characters",
    ),
    (
        "fin.invalid.overflow",
        "金额超出范围",
        "The amount is out of range",
    ),
    (
        "fin.invalid.purpose",
        "请填写用途（不超过500字）",
        "Give the purpose (at most 500 characters)",
    ),
    (
        "fin.invalid.unit",
        "党组织编码不能为空，且不能含空格、逗号、冒号或分号",
        "A unit code: not empty, no spaces, commas, colons or semicolons",
    ),
    ("fin.kind.allocation", "核定", "Allocation"),
    ("fin.kind.appropriation", "下达预算", "Appropriation"),
    ("fin.kind.direct_payment", "直接支付", "Direct payment"),
    ("fin.kind.disbursement", "拨付", "Disbursement"),
    ("fin.kind.dues", "党费上缴", "Dues"),
    ("fin.kind.release", "收回结余", "Release"),
    ("fin.kind.reversal", "冲销", "Reversal"),
    ("fin.kind.virement", "科目调剂", "Virement"),
    ("fin.kind.year_end", "年终结转", "Year end"),
    (
        "fin.ledger.allocations",
        "该党组织的拨款",
        "Allocations of the unit",
    ),
    ("fin.ledger.back", "返回党组织页面", "Back to the unit"),
    ("fin.ledger.entries", "经费台账", "Fund ledger"),
    (
        "fin.ledger.none",
        "该党组织暂无经费往来。",
        "No funds have moved for this unit.",
    ),
    ("fin.ledger.sheet", "经费台账 {unit}", "Fund ledger {unit}"),
    (
        "fin.ledger.title",
        "{unit}经费台账",
        "Fund ledger of {unit}",
    ),
    ("fin.line", "预算科目", "Budget line"),
    ("fin.line.demo-site", "示范点补助", "Demonstration sites"),
    ("fin.line.dues-rebate", "党费返还", "Dues rebates"),
    (
        "fin.line.fund",
        "年度经费（待分配）",
        "The year's fund (not yet apportioned)",
    ),
    (
        "fin.line.instructor",
        "党建指导员补贴",
        "Instructor allowances",
    ),
    ("fin.line.other", "其他", "Other"),
    (
        "fin.line.standard-site",
        "标准化阵地奖补",
        "Standardised sites",
    ),
    ("fin.line.startup", "工作启动经费", "Start-up funds"),
    ("fin.line.training", "教育培训", "Training"),
    ("fin.meeting", "批准会议", "Approving meeting"),
    (
        "fin.meeting_hint",
        "例如：部务会 2026-12",
        "e.g. 部务会 2026-12",
    ),
    ("fin.memo", "备注", "Memo"),
    ("fin.nav.allocations", "拨款台账", "Allocations"),
    ("fin.nav.budget", "预算执行", "Budget"),
    ("fin.nav.reconciliation", "余额调节表", "Reconciliation"),
    ("fin.number", "编号", "No."),
    (
        "fin.of_allocation",
        "（第{id}号拨款）",
        " (allocation #{id})",
    ),
    ("fin.outstanding", "尚未拨付", "Outstanding"),
    ("fin.paid", "已支付", "Paid"),
    ("fin.purpose", "用途", "Purpose"),
    ("fin.rate", "执行率", "Execution"),
    (
        "fin.refused.key_reused",
        "这张表单已提交过其他内容，请重新打开表单后填写。",
        "This form was already sent with other content: open it again.",
    ),
    (
        "fin.refused.not_open",
        "该笔拨款{status}，不能再拨付。",
        "The allocation is {status}; nothing more can be paid.",
    ),
    (
        "fin.refused.other",
        "台账拒绝了这笔业务，请核对填写的内容。",
        "The ledger refused it; check what was entered.",
    ),
    (
        "fin.refused.over_budget",
        "超出预算可用额度：{line} 科目可用余额为 {headroom} 元，本次需要 {needed} 元。",
        "Over budget: {line} has {headroom} left, this needs {needed}.",
    ),
    (
        "fin.refused.over_disbursement",
        "超过尚未拨付的金额：尚未拨付 {outstanding} 元，本次拨付 {asked} 元。",
        "More than is left: {outstanding} outstanding, {asked} asked.",
    ),
    (
        "fin.refused.period_closed",
        "{month} 会计期间已结账（已结账至 {through}），请在未结账的期间记账。",
        "Period {month} is closed (through {through}); book in an open period.",
    ),
    (
        "fin.refused.rate_card",
        "超出经费标准：该党组织的核定金额超过了标准或已领取过一次性经费。",
        "Beyond the rate card: more than the standard amount, or a one-off already given.",
    ),
    (
        "fin.refused.see_fields",
        "未能提交，请按下面的提示修改。",
        "Not sent: correct what is marked below.",
    ),
    (
        "fin.refused.unknown_line",
        "{line} 科目尚未下达预算，请先下达预算。",
        "{line} has no budget yet: appropriate to it first.",
    ),
    (
        "fin.refused.unknown_unit",
        "党组织名册中没有这个编码，请核对或先导入名册。",
        "No unit with this code in the register: check it or import it first.",
    ),
    (
        "fin.refused.wrong_year",
        "日期不在预算科目所属的{year}年度内。",
        "The date lies outside the line's fiscal year {year}.",
    ),
    (
        "fin.refused.year_closed",
        "{year}年度已结账，不能再记账。",
        "Fiscal year {year} is closed.",
    ),
    ("fin.reverses", "（冲销第{id}号凭证）", " (reverses #{id})"),
    ("fin.show", "查看", "Show"),
    ("fin.sign.checker", "审核：", "Checked by:"),
    ("fin.sign.head", "负责人：", "Head:"),
    ("fin.sign.maker", "制表：", "Prepared by:"),
    ("fin.status", "状态", "Status"),
    ("fin.status.completed", "已拨付完毕", "Completed"),
    ("fin.status.lapsed", "已于年终收回", "Lapsed"),
    ("fin.status.open", "拨付中", "Open"),
    ("fin.status.released", "结余已收回", "Released"),
    ("fin.status.reversed", "已冲销", "Reversed"),
    ("fin.summary", "摘要", "Summary"),
    ("fin.total", "合计", "Total"),
    ("fin.total_committed", "累计核定", "Committed to date"),
    ("fin.total_disbursed", "累计拨付", "Disbursed to date"),
    ("fin.total_dues", "累计上缴党费", "Dues to date"),
    ("fin.unit", "党组织编码", "Unit code"),
    (
        "fin.unit_hint",
        "输入编码或其中一部分",
        "A code or part of it",
    ),
    ("fin.unit_yuan", "单位：元", "In yuan"),
    ("fin.voucher", "凭证号", "Voucher"),
    ("fin.year", "年度", "Year"),
    ("fin.year_value", "{year}年", "{year}"),
    ("import.cancel", "取消", "Cancel"),
    ("import.changed", "已导入", "Imported"),
    ("import.check", "检查", "Check"),
    ("import.clean", "{name}检查无误。", "{name} is clean."),
    ("import.column", "列", "Column"),
    ("import.confirm", "确认导入", "Import"),
    ("import.created", "新增", "New"),
    (
        "import.done",
        "{name}已导入，督办链条已按新名册安排。",
        "{name} is imported; the chains follow the new register.",
    ),
    ("import.elections", "换届记录", "Elections"),
    (
        "import.errors",
        "{name}有{count}处错误，未导入任何数据：",
        "{name} has {count} errors; nothing was imported:",
    ),
    ("import.file", "台账文件", "Register file"),
    (
        "import.hint",
        "选择台账文件（CSV 或 Excel）。系统先逐行检查，列出所有错误的行和列；没有错误时显示将要发生的变化，确认后才写入。",
        "Choose the register file (CSV or Excel). Every row is checked first and each error listed with its row and column; a clean file shows what would change, and nothing is written until you confirm.",
    ),
    (
        "import.no_file",
        "请选择要导入的台账文件。",
        "Choose the register file to import.",
    ),
    ("import.organisations", "组织", "Organisations"),
    ("import.people", "书记", "Secretaries"),
    ("import.reason", "问题", "Problem"),
    ("import.row", "行", "Row"),
    ("import.title", "导入党组织名册", "Import the register"),
    ("import.unchanged", "未变", "Unchanged"),
    ("import.units", "党组织", "Party units"),
    ("import.updated", "更新", "Changed"),
    ("import.would_change", "确认后将导入", "Confirming imports"),
    ("interview.at", "约谈时间", "Scheduled"),
    ("interview.interviewee", "约谈对象", "Interviewee"),
    ("interview.location", "地点", "Location"),
    ("interview.reason", "约谈事由", "Reason"),
    ("interviews.actions", "办理", "Act"),
    (
        "interviews.count",
        "共{total}次，第{page}/{pages}页",
        "{total} interviews, page {page} of {pages}",
    ),
    (
        "interviews.done_notice",
        "约谈{id}已记录。",
        "Interview {id} is recorded.",
    ),
    ("interviews.held", "记录已约谈", "Record as held"),
    ("interviews.held_button", "确认已约谈", "Record it held"),
    ("interviews.held_on", "约谈日期", "Held on"),
    ("interviews.new_time", "新的约谈时间", "New time"),
    (
        "interviews.none",
        "没有符合条件的约谈。",
        "No interview matches.",
    ),
    ("interviews.place_tbd", "另行通知", "To be announced"),
    (
        "interviews.problems",
        "发现的问题（每行一项，各生成一项整改事项）",
        "Problems found (one a line; each becomes a rectification item)",
    ),
    ("interviews.record", "报送约谈记录", "File the record"),
    ("interviews.record_button", "报送记录", "File the record"),
    ("interviews.record_text", "约谈记录", "Record"),
    ("interviews.reschedule", "改期", "Reschedule"),
    ("interviews.reschedule_button", "确认改期", "Reschedule it"),
    ("interviews.title", "约谈", "Supervisory interviews"),
    ("item.deadline", "整改期限", "Deadline"),
    ("item.opened", "立项日期", "Opened"),
    ("item.owner", "责任人", "Owner"),
    ("item.title", "整改事项", "Item"),
    (
        "items.bad_date",
        "日期“{date}”无法识别，请按2026-12-26的格式填写",
        "“{date}” is not a date: write it as 2026-12-26",
    ),
    ("items.close", "验收销号", "Close out"),
    ("items.close_button", "确认销号", "Close the item"),
    (
        "items.closed_notice",
        "整改事项{id}已验收销号，回头看已安排。",
        "Item {id} is closed; its follow-up review is planned.",
    ),
    ("items.closed_on", "验收日期", "Verified on"),
    (
        "items.count",
        "共{total}项，第{page}/{pages}页",
        "{total} items, page {page} of {pages}",
    ),
    ("items.none", "没有符合条件的整改事项。", "No item matches."),
    ("items.overdue_only", "只看已逾期", "Overdue only"),
    ("items.title", "整改事项", "Rectification items"),
    (
        "items.verifier",
        "验收人（手机号或邮箱，不能是责任人）",
        "Verifier (mobile or email; not the owner)",
    ),
    (
        "login.changed",
        "密码已修改，请用新密码登录。",
        "Your password was changed: sign in with the new one.",
    ),
    (
        "login.missing",
        "请输入用户名和密码。",
        "Enter your username and password.",
    ),
    ("login.password", "密码", "Password"),
    ("login.signed_out", "您已安全退出。", "You have signed out."),
    ("login.submit", "登录", "Sign in"),
    ("login.title", "登录", "Sign in"),
    ("login.username", "用户名", "Username"),
    (
        "login.wrong",
        "用户名或密码不正确。",
        "Wrong username or password.",
    ),
    ("msg.created", "时间", "When"),
    ("msg.person", "收件人", "Recipient"),
    ("msg.subject", "标题", "Subject"),
    ("msg.unit", "党组织编码", "Unit"),
    ("nav.bases", "组织生活基地", "Bases"),
    ("nav.calendar", "工作日历", "Calendar"),
    ("nav.chains", "督办链条", "Chains"),
    ("nav.dashboard", "工作台", "Dashboard"),
    ("nav.deliveries", "消息发送", "Messages"),
    ("nav.interviews", "约谈", "Interviews"),
    ("nav.items", "整改事项", "Rectification"),
    ("nav.label", "主导航", "Main navigation"),
    ("nav.logout", "退出", "Sign out"),
    ("nav.password", "修改密码", "Change password"),
    ("nav.skip", "跳到正文", "Skip to content"),
    ("nav.tasks", "我的待办", "My tasks"),
    ("nav.units", "党组织名册", "Register"),
    ("nav.users", "用户和角色", "Users"),
    ("nav.workflows", "督办流程", "Workflows"),
    ("pager.first", "首页", "First"),
    ("pager.label", "翻页", "Pages"),
    ("pager.last", "末页", "Last"),
    ("pager.next", "下一页", "Next"),
    ("pager.prev", "上一页", "Previous"),
    ("password.confirm", "再次输入新密码", "New password again"),
    ("password.current", "当前密码", "Current password"),
    (
        "password.expired",
        "密码已超过有效期，请先修改密码。",
        "Your password has expired: change it first.",
    ),
    (
        "password.mismatch",
        "两次输入的新密码不一致。",
        "The two new passwords differ.",
    ),
    ("password.new", "新密码", "New password"),
    (
        "password.rules",
        "新密码至少8位，须包含大写字母、小写字母、数字、符号中的至少三类，且不能包含用户名。修改后需要重新登录。",
        "At least 8 characters, with three of: upper case, lower case, digits, symbols; not containing the username. You sign in again afterwards.",
    ),
    ("password.submit", "修改密码", "Change password"),
    ("password.title", "修改密码", "Change password"),
    ("profiles.bank", "银行", "Bank"),
    (
        "profiles.cells",
        "第{row}行表头与示例行",
        "Header row {row} and sample rows",
    ),
    ("profiles.choose", "（不使用）", "(not used)"),
    ("profiles.closing", "期末余额", "Closing balance"),
    ("profiles.columns", "字段与表头", "Fields and headers"),
    (
        "profiles.credit",
        "收入（笔数 · 金额）",
        "Money in (lines · amount)",
    ),
    (
        "profiles.debit",
        "支出（笔数 · 金额）",
        "Money out (lines · amount)",
    ),
    ("profiles.delete", "删除", "Remove"),
    (
        "profiles.deleted",
        "已删除格式“{name}”。",
        "Profile “{name}” removed.",
    ),
    (
        "profiles.detect",
        "识别词（用顿号或逗号分隔；不填则用所选的各个表头）",
        "Words that identify the layout (separated by commas; empty: the headers chosen)",
    ),
    ("profiles.detect_short", "识别词", "Detect words"),
    (
        "profiles.fields",
        "各字段所在的列",
        "Which column holds each field",
    ),
    ("profiles.file", "银行对账单文件", "Bank statement file"),
    (
        "profiles.hint",
        "上传一份银行对账单：没有格式能读取它时，在这里指定各字段所在的列，试读无误后保存为新格式。以后预览和导入先试已保存的格式，再试随附格式。",
        "Upload a bank statement: when no profile reads it, say here which column holds each field, try, and save it as a new profile. Previews and imports try the saved profiles first, then the shipped ones.",
    ),
    ("profiles.lines", "笔数", "Lines"),
    ("profiles.map", "查看表头", "Show its headers"),
    ("profiles.name", "格式名称", "Profile name"),
    ("profiles.nav", "对账单格式", "Statement profiles"),
    (
        "profiles.none",
        "还没有保存的格式。",
        "No profile has been saved yet.",
    ),
    (
        "profiles.ok",
        "按此映射可以读取：余额连续，合计相符",
        "The file reads with this mapping: balances chain, totals agree",
    ),
    ("profiles.opening", "期初余额", "Opening balance"),
    (
        "profiles.read_by",
        "此文件现在由格式“{name}”读取；可另行指定各列。",
        "The profile “{name}” reads this file now; you may map it another way.",
    ),
    (
        "profiles.refused",
        "按此映射不能读取此文件，未保存：",
        "The file does not read with this mapping; nothing was saved:",
    ),
    (
        "profiles.replaces",
        "保存将替换同名的已保存格式。",
        "Saving replaces the saved profile of that name.",
    ),
    ("profiles.save", "保存格式", "Save profile"),
    (
        "profiles.saved",
        "已保存格式“{name}”。",
        "Profile “{name}” saved.",
    ),
    ("profiles.saved_at", "保存日期", "Saved on"),
    ("profiles.saved_by", "保存人", "Saved by"),
    ("profiles.saved_list", "已保存的格式", "Saved profiles"),
    ("profiles.shipped", "随附格式", "Shipped profiles"),
    (
        "profiles.title",
        "银行对账单格式",
        "Bank statement profiles",
    ),
    ("profiles.try", "试读", "Try"),
    (
        "profiles.unknown",
        "没有格式能读取此文件：请指定各字段所在的列。",
        "No profile reads this file: say which column holds each field.",
    ),
    (
        "profiles.upload",
        "由对账单新建格式",
        "A new profile from a statement",
    ),
    ("rec.account", "银行账户", "Bank account"),
    ("rec.adjusted", "调节后的存款余额", "Adjusted balance"),
    ("rec.amount", "金额", "Amount"),
    (
        "rec.bank_balance",
        "银行对账单余额",
        "Balance per bank statement",
    ),
    (
        "rec.bank_paid",
        "减：银行已付、企业未付",
        "Less: paid by the bank, not yet in the books",
    ),
    (
        "rec.bank_received",
        "加：银行已收、企业未收",
        "Add: received by the bank, not yet in the books",
    ),
    (
        "rec.book_balance",
        "企业银行存款日记账余额",
        "Balance per cash book",
    ),
    (
        "rec.book_paid",
        "减：企业已付、银行未付",
        "Less: paid in the books, not yet by the bank",
    ),
    (
        "rec.book_received",
        "加：企业已收、银行未收",
        "Add: received in the books, not yet by the bank",
    ),
    ("rec.capitals", "大写", "in words"),
    ("rec.item", "项目", "Item"),
    ("rec.month", "月份", "Month"),
    (
        "rec.no_account",
        "还没有银行账户，请先添加银行账户。",
        "No bank account yet: add one first.",
    ),
    ("rec.sign.checker", "审核人：", "Checked by:"),
    ("rec.sign.head", "财务负责人：", "Head of finance:"),
    ("rec.sign.maker", "编制人：", "Prepared by:"),
    (
        "rec.title",
        "银行存款余额调节表",
        "Bank reconciliation statement",
    ),
    (
        "rec.unbalanced",
        "调节后余额不相等：企业方 {book} 元，银行方 {bank} 元，差额 {difference} 元。请核对未达账项。",
        "The adjusted balances differ: books {book}, bank {bank}, difference {difference}. Check the items in transit.",
    ),
    ("role.administrator", "管理员", "Administrator"),
    ("role.auditor", "审计人员", "Auditor"),
    ("role.finance_officer", "财务人员", "Finance officer"),
    ("role.secretary", "党组织书记", "Secretary"),
    ("role.viewer", "查看人员", "Viewer"),
    ("simulate.back", "返回督办流程", "Back to the workflows"),
    (
        "simulate.bad_date",
        "请按 2026-12-31 的格式填写日期",
        "Write the date as 2026-12-31",
    ),
    ("simulate.button", "模拟", "Simulate"),
    (
        "simulate.events",
        "模拟办结事件（可选）",
        "Events to inject (optional)",
    ),
    (
        "simulate.events_hint",
        "格式：事件@日期，多个以逗号分隔，如 election_recorded@2026-09-20",
        "NAME@DATE, separated by commas, e.g. election_recorded@2026-09-20",
    ),
    ("simulate.form", "模拟对象与时段", "Subject and window"),
    ("simulate.from", "开始日期", "First day"),
    (
        "simulate.hint",
        "按当前流程、工作日历和免打扰时段，预览该对象将收到的提醒与升级督办；不会保存或发送任何内容。",
        "Preview the reminders and escalations this subject would get under the current workflow, calendar and quiet hours; nothing is stored or sent.",
    ),
    ("simulate.kind", "类型", "Kind"),
    ("simulate.kind.escalation", "升级督办", "Escalation"),
    ("simulate.kind.event", "办结事件", "Event"),
    ("simulate.kind.reminder", "提醒", "Reminder"),
    ("simulate.kind.skipped", "条件不满足，跳过", "Skipped"),
    ("simulate.kind.start", "启动其他流程", "Starts a workflow"),
    ("simulate.messages", "消息内容", "Messages"),
    (
        "simulate.nothing",
        "该时段内没有计划的步骤。",
        "Nothing is planned in this window.",
    ),
    ("simulate.recipients", "接收人", "Recipients"),
    (
        "simulate.subject_key",
        "督办对象（对象键，如 rectification:3）",
        "Subject key (e.g. rectification:3)",
    ),
    ("simulate.title", "模拟时间线", "Simulated timeline"),
    ("simulate.to", "结束日期", "Last day"),
    ("simulate.unit", "党组织代码", "Unit code"),
    ("status.channel.email", "邮件", "Email"),
    ("status.channel.sms", "短信", "SMS"),
    ("status.delivery.dead", "放弃重试", "Given up"),
    ("status.delivery.deferred", "延后发送", "Deferred"),
    ("status.delivery.dropped", "重复未发", "Duplicate, not sent"),
    ("status.delivery.merged", "已合并", "Merged"),
    ("status.delivery.permanent", "发送失败", "Failed"),
    ("status.delivery.sent", "已发送", "Sent"),
    ("status.delivery.transient", "暂时失败", "Failed, retrying"),
    ("status.delivery.uncertain", "结果不明", "Uncertain"),
    ("status.instance.active", "进行中", "Running"),
    ("status.instance.cancelled", "已取消", "Cancelled"),
    ("status.instance.completed", "已完成", "Completed"),
    ("status.interview.held", "已约谈", "Held"),
    ("status.interview.scheduled", "待约谈", "Scheduled"),
    ("status.item.closed", "已销号", "Closed"),
    ("status.item.open", "整改中", "Open"),
    ("status.item.overdue", "已逾期", "Overdue"),
    ("status.kind.enterprise", "非公企业", "Enterprise"),
    (
        "status.kind.social_organisation",
        "社会组织",
        "Social organisation",
    ),
    ("status.level.branch", "支部", "Branch"),
    ("status.level.committee", "基层委员会", "Committee"),
    ("status.level.general_branch", "总支", "General branch"),
    ("status.message.dead", "已放弃发送", "Dead letter"),
    ("status.message.failed", "发送失败", "Failed"),
    ("status.message.unreachable", "无法送达", "Unreachable"),
    ("status.role.finance", "财务人员", "Finance"),
    ("status.role.interviewee", "约谈对象", "Interviewee"),
    ("status.role.member", "党员", "Member"),
    (
        "status.role.org_department",
        "组织部门",
        "Organisation department",
    ),
    ("status.role.owner", "整改责任人", "Owner"),
    (
        "status.role.responsible_leader",
        "分管领导",
        "Responsible leader",
    ),
    ("status.role.secretary", "党组织书记", "Secretary"),
    (
        "status.role.superior_secretary",
        "上级党组织书记",
        "Superior's secretary",
    ),
    ("status.subject.overdue", "已逾期", "Overdue"),
    ("tasks.bookings", "我的基地预约", "My base bookings"),
    (
        "tasks.choose",
        "请选择要确认的事项",
        "Choose what to confirm",
    ),
    ("tasks.date", "日期", "Date"),
    ("tasks.done", "已记录：", "Recorded: "),
    ("tasks.due", "提醒时间：", "Reminder due: "),
    (
        "tasks.none",
        "您所在的党组织目前没有需要确认的事项。",
        "Nothing is asked of your party units at the moment.",
    ),
    (
        "tasks.note",
        "情况说明（报送整改进展时必填）",
        "Note (required for a progress report)",
    ),
    ("tasks.note_optional", "情况说明（选填）", "Note (optional)"),
    ("tasks.overdue", "已逾期", "Overdue"),
    (
        "tasks.problems",
        "发现的问题（每行一条，将逐条列入整改）",
        "Problems found (one per line; each becomes a rectification item)",
    ),
    (
        "tasks.record",
        "约谈记录（报送约谈记录时必填）",
        "Interview record (required when filing it)",
    ),
    ("tasks.submit", "确认提交", "Submit"),
    ("tasks.title", "我的待办", "My tasks"),
    ("unit.back", "返回党组织名册", "Back to the register"),
    ("unit.chains", "督办链条", "Chains"),
    ("unit.credit_code", "统一社会信用代码", "Credit code"),
    ("unit.employees", "从业人员", "Employees"),
    ("unit.escalation", "升级次数", "Escalations"),
    ("unit.facts", "基本情况", "Facts"),
    ("unit.interviews", "约谈", "Interviews"),
    ("unit.items", "整改事项", "Rectification items"),
    ("unit.members", "党员", "Members"),
    ("unit.messages", "发送的消息", "Messages sent"),
    (
        "unit.messages_hint",
        "最近{count}次发送；全部记录见",
        "The latest {count} attempts; all of them in the",
    ),
    ("unit.no_chains", "暂无督办链条。", "No chains."),
    ("unit.no_interviews", "暂无约谈。", "No interviews."),
    ("unit.no_items", "暂无整改事项。", "No rectification items."),
    (
        "unit.no_messages",
        "还没有关于此党组织的消息。",
        "No message about this unit yet.",
    ),
    (
        "unit.no_organisations",
        "名册中没有此党组织覆盖的组织。",
        "The register lists no organisation this unit covers.",
    ),
    ("unit.none", "无", "None"),
    ("unit.org_name", "组织名称", "Name"),
    ("unit.organisations", "所属组织", "Organisations"),
    ("unit.status", "状态", "Status"),
    ("unit.street", "街道", "Street"),
    ("unit.subject_status", "事项状态", "Subject status"),
    ("unit.superior", "上级党组织", "Superior unit"),
    ("unit.term", "任期", "Term"),
    ("unit.theme_day", "主题党日", "Theme day"),
    (
        "unit.theme_day_value",
        "每月{day}日",
        "Day {day} of each month",
    ),
    ("unit.workflow", "督办事项", "Workflow"),
    ("units.code", "党组织编码", "Code"),
    (
        "units.count",
        "共{total}个党组织，第{page}/{pages}页",
        "{total} units, page {page} of {pages}",
    ),
    ("units.district", "区县", "District"),
    (
        "units.ending_only",
        "只看六个月内届满",
        "Term ends within six months",
    ),
    ("units.import", "导入名册", "Import the register"),
    ("units.kind", "组织类别", "Organisation kind"),
    ("units.level", "党组织类别", "Level"),
    ("units.name", "党组织名称", "Name"),
    ("units.none", "没有符合条件的党组织。", "No unit matches."),
    ("units.overdue_only", "只看任期已届满", "Only terms ended"),
    (
        "units.search_hint",
        "输入部分名称或编码",
        "Part of a name or code",
    ),
    ("units.secretary", "书记", "Secretary"),
    ("units.term_end", "任期届满", "Term ends"),
    ("units.title", "党组织名册", "Register of party units"),
    ("users.action", "操作", "Action"),
    ("users.active", "正常", "Active"),
    ("users.create", "创建", "Create"),
    ("users.disable", "停用", "Disable"),
    ("users.disabled", "已停用", "Disabled"),
    ("users.display_name", "姓名", "Name"),
    ("users.districts", "限定区县", "Districts"),
    (
        "users.districts_hint",
        "如：历下区，市中区；留空为全部",
        "e.g. 历下区, 市中区; empty for all",
    ),
    (
        "users.done.changed",
        "已修改{name}的角色和管辖范围。",
        "{name}'s role and scope changed.",
    ),
    (
        "users.done.created",
        "已创建用户{name}。",
        "User {name} created.",
    ),
    (
        "users.done.disabled",
        "已停用{name}，其登录已全部结束。",
        "{name} disabled; their sessions ended.",
    ),
    ("users.done.enabled", "已启用{name}。", "{name} enabled."),
    (
        "users.done.password",
        "已重置{name}的密码，其登录已全部结束。",
        "{name}'s password set; their sessions ended.",
    ),
    ("users.edit", "修改", "Change"),
    ("users.enable", "启用", "Enable"),
    ("users.everything", "全部", "Everything"),
    ("users.initial_password", "初始密码", "Initial password"),
    ("users.last_login", "最近登录", "Last sign-in"),
    ("users.locked", "已锁定", "Locked"),
    ("users.new", "新建用户", "New user"),
    ("users.new_password", "新密码", "New password"),
    ("users.password_changed", "密码修改时间", "Password changed"),
    ("users.role", "角色", "Role"),
    ("users.save", "保存", "Save"),
    ("users.scope", "管辖范围", "Scope"),
    ("users.set_password", "重置密码", "Set password"),
    ("users.state", "状态", "State"),
    ("users.title", "用户和角色", "Users and roles"),
    (
        "users.units",
        "党组织编码（书记必填）",
        "Unit codes (secretaries)",
    ),
    (
        "users.units_hint",
        "书记负责的党组织编码，多个用逗号分隔",
        "The codes of the units a secretary answers for",
    ),
    ("users.username", "用户名", "User name"),
    ("workflows.active", "进行中的链条", "Running chains"),
    ("workflows.check", "检查流程文件", "Check a workflow file"),
    ("workflows.check_button", "检查", "Check"),
    (
        "workflows.check_hint",
        "上传修改后的流程文件（.toml），系统与现行流程一起检查，逐条列出问题所在的行和列。检查不改变任何设置：确认无误后将文件放入 workflows/ 目录，再运行 duban workflows replan。",
        "Upload a changed workflow file (.toml): it is checked with the running workflows and every finding located by line and column. Nothing changes: put the file in workflows/ and run duban workflows replan.",
    ),
    ("workflows.clean", "{file}检查无误。", "{file} is clean."),
    (
        "workflows.defines",
        "定义流程“{name}”（{id}），共{steps}个步骤。",
        "Defines “{name}” ({id}) with {steps} steps.",
    ),
    ("workflows.error", "错误", "Error"),
    ("workflows.file", "流程文件", "Workflow file"),
    ("workflows.finding", "问题", "Finding"),
    (
        "workflows.has_errors",
        "{file}有{count}处错误：",
        "{file} has {count} errors:",
    ),
    ("workflows.id", "文件标识", "Id"),
    ("workflows.name", "名称", "Name"),
    (
        "workflows.no_file",
        "请选择要检查的流程文件。",
        "Choose the workflow file to check.",
    ),
    (
        "workflows.self_starting",
        "对每个对象自动启动",
        "For every subject",
    ),
    ("workflows.severity", "级别", "Severity"),
    ("workflows.simulate", "模拟", "Simulate"),
    (
        "workflows.started",
        "由其他流程启动",
        "Started by another workflow",
    ),
    ("workflows.starts", "启动方式", "Starts"),
    ("workflows.steps", "步骤数", "Steps"),
    ("workflows.subject", "督办对象", "Follows"),
    ("workflows.subject.interview", "约谈", "Interviews"),
    ("workflows.subject.member", "党员", "Members"),
    (
        "workflows.subject.rectification",
        "整改事项",
        "Rectification items",
    ),
    ("workflows.subject.term", "换届", "Terms"),
    ("workflows.subject.unit", "党组织", "Party units"),
    ("workflows.title", "督办流程", "Workflows"),
    ("workflows.warning", "提醒", "Warning"),
    ("workflows.where", "行:列", "Line:column"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_sorted_and_complete() {
        for w in MESSAGES.windows(2) {
            assert!(w[0].0 < w[1].0, "{} must come after {}", w[1].0, w[0].0);
        }
        for (k, zh, en) in MESSAGES {
            assert!(!zh.is_empty() && !en.is_empty(), "{k}");
        }
    }

    #[test]
    fn dates_are_not_padded_in_chinese() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        assert_eq!(Lang::Zh.date(d), "2026年3月2日");
        assert_eq!(Lang::En.date(d), "2026-03-02");
        let t = DateTime::parse_from_rfc3339("2026-03-01T16:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(Lang::Zh.datetime(t), "2026年3月2日 00:05");
    }

    #[test]
    fn amounts_are_grouped_to_the_fen() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        assert_eq!(grouped(d("1234567.891")), "1,234,567.89");
        assert_eq!(grouped(d("0.005")), "0.01");
        assert_eq!(grouped(d("-1000")), "-1,000.00");
        assert_eq!(grouped(d("-0.001")), "0.00");
        assert_eq!(grouped(d("999.995")), "1,000.00");
        assert_eq!(amount(Value::from(123456789_i64)).unwrap(), "1,234,567.89");
        assert_eq!(amount(Value::from("12.5")).unwrap(), "12.50");
        assert!(amount(Value::from("abc")).is_err());
        assert_eq!(
            capitals(Value::from("107000.53")).unwrap(),
            "人民币壹拾万零柒仟元伍角叁分"
        );
        assert_eq!(
            capitals(Value::from(100_001_i64)).unwrap(),
            "人民币壹仟元零壹分"
        );
        assert!(capitals(Value::from("1.001")).is_err());
    }

    #[test]
    fn bilingual_messages_are_split() {
        let m = "当前密码不正确 (the current password is wrong)";
        assert_eq!(Lang::Zh.pick(m, "x"), "当前密码不正确");
        assert_eq!(Lang::En.pick(m, "x"), "the current password is wrong");
        assert_eq!(Lang::Zh.pick("no unit 1", "找不到"), "找不到");
        assert_eq!(Lang::En.pick("no unit 1", "x"), "no unit 1");
    }
}
