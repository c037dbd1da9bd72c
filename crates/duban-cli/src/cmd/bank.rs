//! `duban bank …`: bank and cash accounts and their statements.
//!
//! - `preview FILE [--format json]`: what a statement holds and whether it would import (a
//!   layout no profile knows: its header cells, to map with `profiles save`);
//!   exit status 0 when it would, 1 when it is refused (the row and column printed), 2 when
//!   the file cannot be opened.
//! - `accounts add --code --name --number --bank` / `accounts list`.
//! - `import --account CODE FILE [--dry-run]`: the statement's new lines into the account,
//!   all or nothing (exit 1 with the row and column when refused).
//! - `lines --account CODE [--from --to] [--format json]`.
//! - `match --account CODE [--dry-run]`: the configured rule table (`[bank.matching]`) over
//!   the open lines and postings, printing which rules ran;
//!   `exceptions [--account CODE]`: the lines left and why their near candidates failed, of
//!   one account or of every account by account;
//!   `matches --account CODE`; `match-manual --account CODE --line L --posting P`;
//!   `unmatch --account CODE --match M --reason R` (reversing rows for the whole match, and
//!   the fee booked for it reversed; both audited).
//! - `bench [--lines N]`: import and matching of N statement lines against N book entries
//!   through a scratch SQLite database, timed, with peak memory.
//! - `three-way [--as-of DATE] [--format table|json|csv|xlsx --output FILE]`: commitments
//!   not paid and payments no statement line is matched with, aged.

use super::{BadInput, Context, OutputFormat};
use chrono::NaiveDate;
use duban_app::AppError;
use duban_app::bank::{BankAccountRequest, Chain, FileKind, StatementPreview};
use duban_core::money::Money;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod bench;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Read a statement (XLS, XLSX, CSV/TXT, HTML, MT940, camt.053) and check its balance
    /// chain and declared totals; nothing is written.
    Preview {
        /// The statement file as downloaded from online banking.
        file: PathBuf,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Measure statement import and matching through a scratch SQLite database: time and
    /// peak memory of `bank import` and `bank match` over N lines and N book entries.
    Bench(bench::BenchArgs),
    /// Profiles for statement layouts no shipped profile knows, saved from a file.
    Profiles {
        #[command(subcommand)]
        what: super::bank_profiles::What,
    },
    /// The office's bank and cash accounts.
    Accounts {
        #[command(subcommand)]
        what: AccountsWhat,
    },
    /// Import a statement's lines into an account: checked whole first, then every line the
    /// account does not hold yet is written in one transaction.
    Import {
        /// The account's code.
        #[arg(long)]
        account: String,
        file: PathBuf,
        /// Report what would be added; write nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// The lines of an account, by date.
    Lines {
        #[arg(long)]
        account: String,
        /// First day (YYYY-MM-DD), inclusive.
        #[arg(long, value_parser = date)]
        from: Option<NaiveDate>,
        /// Last day (YYYY-MM-DD), inclusive.
        #[arg(long, value_parser = date)]
        to: Option<NaiveDate>,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Match the open lines of an account with the open postings on its ledger account by
    /// the rule table of `[bank.matching]` (voucher or serial, amount and counterparty,
    /// amount and date, amount within the tolerance with the difference booked to the fee
    /// account, several postings paid in one line, one posting paid in several lines); each
    /// match keeps its rule, agreed fields and runner-ups, and the rules that ran are printed.
    Match {
        #[command(flatten)]
        a: AccountFormat,
        /// Report the matches; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// The open lines of an account (of every account, by account, without --account),
    /// with their nearest candidates and why each failed.
    Exceptions {
        /// The account's code; every account when absent.
        #[arg(long)]
        account: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Allocation ↔ disbursement ↔ bank line: commitments not paid and payments from a bank
    /// account no statement line is matched with, each with its age and age bucket.
    ThreeWay {
        /// The day ages are counted to (YYYY-MM-DD); today when absent.
        #[arg(long, value_parser = date)]
        as_of: Option<NaiveDate>,
        #[arg(long, value_enum, default_value_t)]
        format: ListExport,
        /// Where the csv or xlsx goes.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// The standing matches of an account.
    Matches {
        #[command(flatten)]
        a: AccountFormat,
    },
    /// Match a line with a posting by hand. Amounts that differ are refused unless `--fee`
    /// confirms the difference as the bank's charge, booked to the fee account with the match
    /// (and reversed by an unmatch).
    MatchManual {
        #[command(flatten)]
        a: AccountFormat,
        /// The line's id (`bank lines`).
        #[arg(long)]
        line: i64,
        /// The posting's id (`bank exceptions` lists the near ones).
        #[arg(long)]
        posting: i64,
        #[arg(long)]
        reason: Option<String>,
        /// Book the difference (line minus posting) as a bank charge to the fee account.
        #[arg(long)]
        fee: bool,
    },
    /// Undo a match: a reversing row with the reason for each of its rows (any row's id
    /// names it) and the fee booked for it reversed; the match itself is kept.
    Unmatch {
        #[command(flatten)]
        a: AccountFormat,
        #[arg(long = "match")]
        id: i64,
        #[arg(long)]
        reason: String,
    },
}

/// A list on screen, as JSON, or exported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
enum ListExport {
    #[default]
    Table,
    Json,
    /// UTF-8 with a BOM, for Excel and WPS.
    Csv,
    Xlsx,
}

#[derive(Debug, clap::Args)]
struct AccountFormat {
    /// The account's code.
    #[arg(long)]
    account: String,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

#[derive(Debug, clap::Subcommand)]
enum AccountsWhat {
    /// Open an account; its ledger account is `assets:bank:<code>`.
    Add {
        /// 1–24 lowercase letters, digits or `-`.
        #[arg(long)]
        code: String,
        /// 账户名称
        #[arg(long)]
        name: String,
        /// 账号
        #[arg(long)]
        number: String,
        /// 开户行
        #[arg(long)]
        bank: String,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    List {
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

pub(crate) fn date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

/// Writes a sheet as CSV (UTF-8 with a BOM) or XLSX to `--output`, which must be given.
pub(crate) fn write_sheet(
    sheet: &duban_tabular::export::Sheet,
    csv: bool,
    output: Option<PathBuf>,
) -> anyhow::Result<PathBuf> {
    let Some(path) = output else {
        return Err(BadInput(
            "--output: 导出 csv 或 xlsx 须指定文件 (give the file to write)".into(),
        )
        .into());
    };
    let bytes = if csv {
        duban_tabular::export::to_csv(sheet)
    } else {
        duban_tabular::export::to_xlsx(sheet)?
    };
    std::fs::write(&path, bytes)
        .map_err(|e| BadInput(format!("--output: {}: {e}", path.display())))?;
    Ok(path)
}

pub(super) fn read_file(file: &Path) -> anyhow::Result<(String, Vec<u8>)> {
    let bytes = std::fs::read(file)
        .map_err(|e| BadInput(format!("cannot read {}: {e}", file.display())))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.to_string_lossy().into_owned());
    Ok((name, bytes))
}

/// 摘要 / 用途 / 附言, the ones given.
fn texts(summary: &str, purpose: &str, remark: &str) -> String {
    [summary, purpose, remark]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}

fn yuan(fen: i64) -> String {
    Money::from_fen(fen).grouped()
}

/// A located refusal printed row by row (exit 1); other errors go up.
fn refused<T>(r: Result<T, AppError>) -> anyhow::Result<Result<T, ExitCode>> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(AppError::Rows(rows)) => {
            for e in rows {
                eprintln!("error: {}", e.reason);
            }
            eprintln!("nothing was written");
            Ok(Err(ExitCode::from(super::exit::REFUSED)))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (file, format) = match args.what {
        What::Preview { file, format } => (file, format),
        What::Accounts { what } => return accounts(what, ctx).await,
        What::Bench(args) => return bench::run(args, ctx).await,
        What::Profiles { what } => return super::bank_profiles::run(what, ctx).await,
        w @ (What::Match { .. }
        | What::Exceptions { .. }
        | What::Matches { .. }
        | What::MatchManual { .. }
        | What::Unmatch { .. }) => return reconcile(w, ctx).await,
        What::ThreeWay {
            as_of,
            format,
            output,
        } => return three_way(ctx, as_of, format, output).await,
        What::Import {
            account,
            file,
            dry_run,
            format,
        } => {
            let (name, bytes) = read_file(&file)?;
            let (app, actor) = super::cli_reader(ctx).await?;
            let r = match refused(
                app.import_statement(&actor, &account, &name, &bytes, dry_run)
                    .await,
            )? {
                Ok(r) => r,
                Err(code) => return Ok(code),
            };
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&r)?),
                OutputFormat::Table => {
                    let f = &r.figures;
                    println!(
                        "{}{}（格式 {}）：{} 笔，新增 {} 笔，已有 {} 笔；支出 {} 笔 {}；收入 {} 笔 {}；期末余额 {}",
                        if r.dry_run {
                            "试导入（未写入）"
                        } else {
                            "已导入"
                        },
                        r.file_name,
                        r.profile,
                        r.lines_in_file,
                        r.lines_added,
                        r.lines_known,
                        f.debit_count,
                        f.debit_total.grouped(),
                        f.credit_count,
                        f.credit_total.grouped(),
                        f.closing.map(|m| m.grouped()).unwrap_or_else(|| "—".into()),
                    );
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        What::Lines {
            account,
            from,
            to,
            format,
        } => {
            let (app, actor) = super::cli_reader(ctx).await?;
            let lines = app.bank_lines(&actor, &account, from, to).await?;
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&lines)?),
                OutputFormat::Table => {
                    let rows: Vec<Vec<String>> = lines
                        .iter()
                        .map(|l| {
                            vec![
                                l.id.to_string(),
                                l.date.map(|d| d.to_string()).unwrap_or_default(),
                                yuan(l.amount),
                                l.balance.map(yuan).unwrap_or_default(),
                                l.counterparty_name.clone(),
                                l.counterparty_account.clone(),
                                texts(&l.summary, &l.purpose, &l.remark),
                            ]
                        })
                        .collect();
                    crate::cmd::deliveries::print_rows(
                        &[
                            "编号",
                            "日期",
                            "金额",
                            "余额",
                            "对方户名",
                            "对方账号",
                            "摘要/用途",
                        ],
                        &rows,
                        crate::cmd::deliveries::ListFormat::Table,
                    )?;
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    let (name, bytes) = read_file(&file)?;
    let (app, actor) = super::cli_reader(ctx).await?;
    let preview = app.preview_statement(&actor, &name, &bytes).await?;
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&preview)?),
        OutputFormat::Table => print_table(&preview)?,
    }
    Ok(match &preview.refusal {
        None => ExitCode::SUCCESS,
        Some(r) => {
            eprintln!("error: {}: {r}", preview.file_name);
            ExitCode::from(super::exit::REFUSED)
        }
    })
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(T::to_string).unwrap_or_else(|| "—".into())
}

fn print_table(p: &StatementPreview) -> anyhow::Result<()> {
    let Some(st) = &p.statement else {
        println!("文件：{}", p.file_name);
        if let Some(l) = &p.layout {
            print_layout(l)?;
        }
        return Ok(());
    };
    let kind = match st.kind {
        FileKind::Xls | FileKind::Xlsx | FileKind::Text | FileKind::Html => {
            format!("{}，格式 {}", st.kind.label(), st.profile)
        }
        FileKind::Mt940 | FileKind::Camt053 => format!("{}，{} 段", st.kind.label(), st.sections),
    };
    println!("文件：{}（{kind}）", p.file_name);
    println!(
        "银行：{}  账号：{}  户名：{}  币种：{}",
        if st.bank.is_empty() { "—" } else { &st.bank },
        opt(&st.account),
        opt(&st.account_name),
        opt(&st.currency)
    );
    if st.period_from.is_some() || st.period_to.is_some() {
        println!("期间：{} 至 {}", opt(&st.period_from), opt(&st.period_to));
    }
    let rows: Vec<Vec<String>> = st
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            vec![
                (i + 1).to_string(),
                l.row.to_string(),
                l.time
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                    .or(l.date.map(|d| d.to_string()))
                    .unwrap_or_default(),
                if l.amount.is_negative() {
                    l.amount.checked_neg().unwrap_or(l.amount).grouped()
                } else {
                    String::new()
                },
                if l.amount.is_negative() {
                    String::new()
                } else {
                    l.amount.grouped()
                },
                l.balance.map(|b| b.grouped()).unwrap_or_default(),
                l.counterparty_name.clone(),
                l.counterparty_account.clone(),
                texts(&l.summary, &l.purpose, &l.remark),
            ]
        })
        .collect();
    crate::cmd::deliveries::print_rows(
        &[
            "序号",
            "行",
            "交易时间",
            "支出",
            "收入",
            "余额",
            "对方户名",
            "对方账号",
            "摘要/用途",
        ],
        &rows,
        crate::cmd::deliveries::ListFormat::Table,
    )?;
    let d = &st.declared;
    if d.count.is_some() || d.debit_count.is_some() || d.credit_count.is_some() {
        println!(
            "文件声明：共 {} 笔；支出 {} 笔 {}；收入 {} 笔 {}",
            opt(&d.count),
            opt(&d.debit_count),
            d.debit_total
                .map(|m| m.grouped())
                .unwrap_or_else(|| "—".into()),
            opt(&d.credit_count),
            d.credit_total
                .map(|m| m.grouped())
                .unwrap_or_else(|| "—".into()),
        );
    }
    for n in &st.notes {
        println!("说明：{n}");
    }
    match (&p.figures, &p.refusal) {
        (Some(f), _) => {
            let chain = match f.chain {
                Chain::FileOrder => "余额逐笔连续（按文件顺序）",
                Chain::ReverseFileOrder => "余额逐笔连续（文件为倒序，最新在前）",
                Chain::DeclaredBalances => "期初余额加明细等于期末余额",
                Chain::None => "文件没有余额，无法核对连续性",
            };
            println!(
                "合计：{} 笔；支出 {} 笔 {}；收入 {} 笔 {}；期初余额 {}；期末余额 {}",
                f.lines,
                f.debit_count,
                f.debit_total.grouped(),
                f.credit_count,
                f.credit_total.grouped(),
                f.opening.map(|m| m.grouped()).unwrap_or_else(|| "—".into()),
                f.closing.map(|m| m.grouped()).unwrap_or_else(|| "—".into()),
            );
            println!("核对：{chain}；文件自带的合计与笔数一致。可以导入。");
        }
        (None, Some(r)) => println!("核对未通过，拒绝导入：{r}"),
        (None, None) => {}
    }
    Ok(())
}

/// The rows of a file no profile reads, to map its columns from.
fn print_layout(l: &duban_app::bank_profiles::Layout) -> anyhow::Result<()> {
    for r in &l.above {
        let cells: Vec<&str> = r
            .cells
            .iter()
            .map(String::as_str)
            .filter(|c| !c.is_empty())
            .collect();
        println!("第{}行：{}", r.row, cells.join(" | "));
    }
    println!("第{}行（表头候选）：", l.header_row);
    let rows: Vec<Vec<String>> = l
        .header
        .iter()
        .enumerate()
        .filter(|(_, h)| !h.is_empty())
        .map(|(j, h)| {
            let field = l
                .columns
                .iter()
                .find(|(_, c)| *c == h)
                .map(|(k, _)| format!("{k}（{}）", duban_app::bank_profiles::field_label(k).0))
                .unwrap_or_default();
            let sample = l
                .sample
                .first()
                .and_then(|r| r.cells.get(j).cloned())
                .unwrap_or_default();
            vec![(j + 1).to_string(), h.clone(), field, sample]
        })
        .collect();
    crate::cmd::deliveries::print_rows(
        &["列", "表头", "识别为", "首行示例"],
        &rows,
        crate::cmd::deliveries::ListFormat::Table,
    )?;
    if !l.detect.is_empty() {
        println!("可用作识别词：{}", l.detect.join("、"));
    }
    println!(
        "保存一个格式：duban bank profiles save --from FILE --name 名称 --map date=表头 --map debit=表头 --map credit=表头 --map balance=表头 …"
    );
    Ok(())
}

async fn accounts(what: AccountsWhat, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (app, actor) = super::cli_reader(ctx).await?;
    let (list, format) = match what {
        AccountsWhat::Add {
            code,
            name,
            number,
            bank,
            format,
        } => {
            let row = app
                .add_bank_account(
                    &actor,
                    BankAccountRequest {
                        code,
                        name,
                        number,
                        bank,
                    },
                )
                .await?;
            (vec![row], format)
        }
        AccountsWhat::List { format } => (app.bank_accounts(&actor).await?, format),
    };
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&list)?),
        OutputFormat::Table => {
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|a| {
                    vec![
                        a.code.clone(),
                        a.name.clone(),
                        a.number.clone(),
                        a.bank.clone(),
                        a.ledger_account.clone(),
                    ]
                })
                .collect();
            crate::cmd::deliveries::print_rows(
                &["代码", "账户名称", "账号", "开户行", "会计科目"],
                &rows,
                crate::cmd::deliveries::ListFormat::Table,
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_match_rows(rows: &[Vec<String>]) -> anyhow::Result<()> {
    crate::cmd::deliveries::print_rows(
        &["匹配", "银行流水", "分录", "规则", "一致的字段", "差额"],
        rows,
        crate::cmd::deliveries::ListFormat::Table,
    )
}

/// `#1` or `#1+#2+#3`.
fn ids(first: i64, more: &[i64]) -> String {
    std::iter::once(first)
        .chain(more.iter().copied())
        .map(|i| format!("#{i}"))
        .collect::<Vec<_>>()
        .join("+")
}

fn print_exceptions(rows: &[duban_app::reconcile::ExceptionRow]) {
    for e in rows {
        let l = &e.line;
        println!(
            "银行流水#{} {} {} {} {}",
            l.id,
            l.date.map(|d| d.to_string()).unwrap_or_default(),
            yuan(l.amount),
            l.counterparty_name,
            texts(&l.summary, &l.purpose, &l.remark)
        );
        if let Some(m) = &e.would_match {
            println!(
                "  可自动匹配分录{}（{}）：运行 duban bank match",
                ids(m.posting, &m.more_postings),
                m.rule_zh
            );
        }
        for c in &e.near {
            println!(
                "  候选分录#{}：差额 {}，相差 {} 天；{}",
                c.entry,
                c.difference.grouped(),
                c.days_apart,
                c.why_not.join("；")
            );
        }
        for n in &e.notes {
            println!("  {n}");
        }
        if e.would_match.is_none() && e.near.is_empty() && e.notes.is_empty() {
            println!("  没有相近的分录");
        }
    }
}

async fn three_way(
    ctx: &Context,
    as_of: Option<NaiveDate>,
    format: ListExport,
    output: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let (app, actor) = super::cli_reader(ctx).await?;
    let t = app.three_way(&actor, as_of).await?;
    match format {
        ListExport::Json => println!("{}", serde_json::to_string_pretty(&t)?),
        ListExport::Csv | ListExport::Xlsx => {
            let path = write_sheet(&t.sheet(), format == ListExport::Csv, output)?;
            println!(
                "已导出 {} 行到 {}",
                t.commitments.len() + t.payments.len(),
                path.display()
            );
        }
        ListExport::Table => {
            println!(
                "三方核对（核定 ↔ 拨付 ↔ 银行流水），账龄计至 {}",
                duban_workflow::subject::zh_date(t.as_of)
            );
            println!("已核定未付款：");
            let rows: Vec<Vec<String>> = t
                .commitments
                .iter()
                .map(|c| {
                    vec![
                        format!("核定#{}", c.row.allocation),
                        c.row.date.to_string(),
                        c.row.unit_code.clone(),
                        c.row.purpose.clone(),
                        yuan(c.row.outstanding),
                        c.age_days.to_string(),
                        c.bucket.zh().into(),
                    ]
                })
                .collect();
            crate::cmd::deliveries::print_rows(
                &[
                    "核定",
                    "日期",
                    "单位",
                    "用途",
                    "未付金额",
                    "账龄（天）",
                    "账龄区间",
                ],
                &rows,
                crate::cmd::deliveries::ListFormat::Table,
            )?;
            for b in &t.commitment_totals {
                println!(
                    "  {}：{} 笔，{}",
                    b.bucket.zh(),
                    b.count,
                    b.amount.grouped()
                );
            }
            println!("已付款未见银行流水：");
            let rows: Vec<Vec<String>> = t
                .payments
                .iter()
                .map(|p| {
                    vec![
                        format!("交易#{}", p.row.transaction_id),
                        p.row.date.to_string(),
                        p.row.bank_account.clone(),
                        p.row.payee_name.clone().unwrap_or_default(),
                        p.row.voucher.clone().unwrap_or_default(),
                        yuan(p.row.amount),
                        p.age_days.to_string(),
                        p.bucket.zh().into(),
                    ]
                })
                .collect();
            crate::cmd::deliveries::print_rows(
                &[
                    "交易",
                    "日期",
                    "银行账户",
                    "收款人",
                    "凭证号",
                    "金额",
                    "账龄（天）",
                    "账龄区间",
                ],
                &rows,
                crate::cmd::deliveries::ListFormat::Table,
            )?;
            for b in &t.payment_totals {
                println!(
                    "  {}：{} 笔，{}",
                    b.bucket.zh(),
                    b.count,
                    b.amount.grouped()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn reconcile(what: What, ctx: &Context) -> anyhow::Result<ExitCode> {
    use duban_app::reconcile::{ManualMatch, Unmatch};
    let (app, actor) = super::cli_reader(ctx).await?;
    let json = |v: &dyn erased::Json| -> anyhow::Result<ExitCode> {
        println!("{}", v.pretty()?);
        Ok(ExitCode::SUCCESS)
    };
    let refused = |e: AppError| -> anyhow::Result<ExitCode> {
        match e {
            AppError::Refused(m) => {
                eprintln!("error: {m}");
                Ok(ExitCode::from(super::exit::REFUSED))
            }
            e => Err(e.into()),
        }
    };
    match what {
        What::Match { a, dry_run } => {
            let r = app.match_bank(&actor, &a.account, dry_run).await?;
            if a.format == OutputFormat::Json {
                return json(&r);
            }
            let rows: Vec<Vec<String>> = r
                .matched
                .iter()
                .map(|m| {
                    vec![
                        m.id.map(|i| format!("#{i}")).unwrap_or_else(|| "—".into()),
                        ids(m.line, &m.more_lines),
                        ids(m.posting, &m.more_postings),
                        m.rule_zh.clone(),
                        m.agreed
                            .iter()
                            .map(|f| f.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                        m.difference.grouped(),
                    ]
                })
                .collect();
            print_match_rows(&rows)?;
            let ran: Vec<String> = r
                .rules
                .iter()
                .map(|t| {
                    format!(
                        "{}（{}）",
                        t.rule.zh(),
                        if t.enabled { "运行" } else { "未启用" }
                    )
                })
                .collect();
            println!("规则：{}", ran.join(" → "));
            for m in r.matched.iter().filter(|m| m.fee_transaction.is_some()) {
                println!(
                    "差额 {} 已记入 {}（交易#{}）",
                    m.difference.grouped(),
                    r.fee_account,
                    m.fee_transaction.unwrap_or_default()
                );
            }
            println!(
                "{}：{} 笔流水，此前已匹配 {} 笔，本次{}匹配 {} 笔，未匹配 {} 笔",
                r.account,
                r.lines,
                r.matched_before,
                if r.dry_run { "可" } else { "" },
                r.matched.len(),
                r.exceptions
            );
        }
        What::Exceptions {
            account: Some(account),
            format,
        } => {
            let rows = app.bank_exceptions(&actor, &account).await?;
            if format == OutputFormat::Json {
                return json(&rows);
            }
            print_exceptions(&rows);
            println!("未匹配：{} 笔", rows.len());
        }
        What::Exceptions {
            account: None,
            format,
        } => {
            let all = app.bank_exceptions_all(&actor).await?;
            if format == OutputFormat::Json {
                return json(&all);
            }
            for a in &all {
                println!(
                    "== {}（{}）：未匹配 {} 笔",
                    a.account,
                    a.name,
                    a.exceptions.len()
                );
                print_exceptions(&a.exceptions);
            }
            println!(
                "共 {} 个账户，未匹配：{} 笔",
                all.len(),
                all.iter().map(|a| a.exceptions.len()).sum::<usize>()
            );
        }
        What::Matches { a } => {
            let list = app.bank_matches(&actor, &a.account).await?;
            if a.format == OutputFormat::Json {
                return json(&list);
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|m| {
                    vec![
                        match m.group_id {
                            Some(g) => format!("#{}（组#{g}）", m.id),
                            None => format!("#{}", m.id),
                        },
                        format!("#{}", m.line_id),
                        format!("#{}", m.posting_id),
                        m.rule.clone(),
                        m.agreed.clone(),
                        yuan(m.difference),
                    ]
                })
                .collect();
            print_match_rows(&rows)?;
        }
        What::MatchManual {
            a,
            line,
            posting,
            reason,
            fee,
        } => {
            let req = ManualMatch {
                account: a.account,
                line,
                posting,
                reason,
                fee,
            };
            match app.match_manual(&actor, req).await {
                Ok(m) if a.format == OutputFormat::Json => return json(&m),
                Ok(m) => {
                    print!(
                        "匹配#{}：银行流水#{} ↔ 分录#{}（人工），一致的字段 {}，差额 {}",
                        m.id,
                        m.line_id,
                        m.posting_id,
                        m.agreed,
                        yuan(m.difference)
                    );
                    match m.fee_transaction_id {
                        Some(t) => println!("，已记入 {}（交易#{t}）", app.matching().fee_account),
                        None => println!(),
                    }
                }
                Err(e) => return refused(e),
            }
        }
        What::Unmatch { a, id, reason } => {
            let req = Unmatch {
                account: a.account,
                reason,
            };
            match app.unmatch(&actor, id, req).await {
                Ok(m) if a.format == OutputFormat::Json => return json(&m),
                Ok(u) => {
                    let rows: Vec<String> =
                        u.reversals.iter().map(|r| format!("#{}", r.id)).collect();
                    println!("已撤销匹配#{id}（撤销记录{}）", rows.join("、"));
                    if let Some(t) = u.fee_reversal {
                        println!("已冲销差额记账（交易#{t}）");
                    }
                }
                Err(e) => return refused(e),
            }
        }
        _ => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// Pretty JSON of whatever a reconciliation command answers.
mod erased {
    pub trait Json {
        fn pretty(&self) -> serde_json::Result<String>;
    }

    impl<T: serde::Serialize> Json for T {
        fn pretty(&self) -> serde_json::Result<String> {
            serde_json::to_string_pretty(self)
        }
    }
}
