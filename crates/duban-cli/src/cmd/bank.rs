//! `duban bank …`: bank and cash accounts and their statements.
//!
//! - `preview FILE [--format json]`: what a statement holds and whether it would import;
//!   exit status 0 when it would, 1 when it is refused (the row and column printed), 2 when
//!   the file cannot be opened.
//! - `accounts add --code --name --number --bank` / `accounts list`.
//! - `import --account CODE FILE [--dry-run]`: the statement's new lines into the account,
//!   all or nothing (exit 1 with the row and column when refused).
//! - `lines --account CODE [--from --to] [--format json]`.

use super::{BadInput, Context, OutputFormat};
use chrono::NaiveDate;
use duban_app::AppError;
use duban_app::bank::{BankAccountRequest, Chain, FileKind, StatementPreview};
use duban_core::money::Money;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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

fn date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

fn read_file(file: &Path) -> anyhow::Result<(String, Vec<u8>)> {
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
                        "{}{}：{} 笔，新增 {} 笔，已有 {} 笔；支出 {} 笔 {}；收入 {} 笔 {}；期末余额 {}",
                        if r.dry_run {
                            "试导入（未写入）"
                        } else {
                            "已导入"
                        },
                        r.file_name,
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
