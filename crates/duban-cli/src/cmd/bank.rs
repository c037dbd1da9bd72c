//! `duban bank preview FILE [--format json]`: what a bank statement holds and whether it
//! would import. Exit status 0 when it would, 1 when it is refused (the row and column
//! printed), 2 when the file cannot be opened.

use super::{BadInput, Context, OutputFormat};
use duban_app::bank::{Chain, FileKind, StatementPreview};
use std::path::PathBuf;
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
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let What::Preview { file, format } = args.what;
    let bytes = std::fs::read(&file)
        .map_err(|e| BadInput(format!("cannot read {}: {e}", file.display())))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.to_string_lossy().into_owned());
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
                [l.summary.as_str(), l.purpose.as_str(), l.remark.as_str()]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" / "),
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
