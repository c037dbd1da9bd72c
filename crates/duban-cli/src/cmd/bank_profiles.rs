//! `duban bank profiles …`: the bank statement profiles finance officers save for layouts no
//! shipped profile knows.
//!
//! - `list` / `show NAME`: the saved profiles, then the shipped ones; a profile's detect
//!   words and the header cell of each field.
//! - `save --from FILE --name N --map FIELD=HEADER … [--detect WORD …] [--profile F.toml]
//!   [--dry-run]`: the mapping checked against the file (read with it alone, then its
//!   balance chain and totals) and saved when the file reads with it; exit 1 with the field,
//!   row and column when refused, nothing written.
//! - `remove NAME`.

use super::{BadInput, Context, OutputFormat};
use duban_app::bank_profiles::{Mapping, ProfileCheck, ProfileEntry, field_label};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// The saved profiles (by name), then the shipped ones.
    List {
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// A profile: its detect words and the header cell of each field.
    Show {
        name: String,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Check a profile against a statement file and save it when the file reads with it
    /// (and its balance chain and totals hold); the same name again replaces it.
    Save {
        /// The statement file the profile is made from.
        #[arg(long)]
        from: PathBuf,
        /// The profile's name (overrides the profile file's).
        #[arg(long)]
        name: Option<String>,
        /// The bank, as shown to people.
        #[arg(long)]
        bank: Option<String>,
        /// FIELD=HEADER, e.g. `date=记账日期`, `debit=付出金额`, `credit=存入金额`,
        /// `balance=结余`, `counterparty_name=对方户名`; repeat for each field.
        #[arg(long = "map", value_name = "FIELD=HEADER")]
        map: Vec<String>,
        /// A word of the header row or above it that identifies the layout; repeat for
        /// several (default: every mapped header cell).
        #[arg(long)]
        detect: Vec<String>,
        /// A profile file, TOML or JSON: name, bank, detect, [columns] field = "header".
        #[arg(long)]
        profile: Option<PathBuf>,
        /// Check only; save nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Remove a saved profile.
    Remove {
        name: String,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

/// The mapping from a profile file, then the options.
fn mapping_of(
    profile: Option<&Path>,
    name: Option<String>,
    bank: Option<String>,
    map: Vec<String>,
    detect: Vec<String>,
) -> anyhow::Result<Mapping> {
    let mut m = match profile {
        None => Mapping::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| BadInput(format!("cannot read {}: {e}", path.display())))?;
            let toml = path.extension().is_some_and(|e| e == "toml");
            let parsed = if toml {
                toml::from_str::<Mapping>(&text).map_err(|e| e.to_string())
            } else {
                serde_json::from_str::<Mapping>(&text).map_err(|e| e.to_string())
            };
            parsed.map_err(|e| BadInput(format!("{}: {e}", path.display())))?
        }
    };
    if let Some(n) = name {
        m.name = n;
    }
    if let Some(b) = bank {
        m.bank = b;
    }
    for pair in map {
        let Some((field, header)) = pair.split_once('=') else {
            return Err(BadInput(format!(
                "--map {pair:?}: write FIELD=HEADER, e.g. date=记账日期"
            ))
            .into());
        };
        m.columns
            .insert(field.trim().to_string(), header.trim().to_string());
    }
    m.detect.extend(detect);
    Ok(m)
}

fn print_entries(list: &[ProfileEntry]) -> anyhow::Result<()> {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.bank.clone(),
                if p.source == "saved" {
                    "已保存"
                } else {
                    "随附"
                }
                .to_string(),
                p.saved_by.clone().unwrap_or_default(),
                p.saved_at
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default(),
            ]
        })
        .collect();
    crate::cmd::deliveries::print_rows(
        &["名称", "银行", "来源", "保存人", "保存时间（UTC）"],
        &rows,
        crate::cmd::deliveries::ListFormat::Table,
    )
}

fn print_entry(p: &ProfileEntry) -> anyhow::Result<()> {
    println!("格式：{}  银行：{}", p.name, p.bank);
    println!(
        "识别词：{}",
        if p.mapping.detect.is_empty() {
            "（无，按表头关键字识别）".to_string()
        } else {
            p.mapping.detect.join("、")
        }
    );
    let rows: Vec<Vec<String>> = p
        .mapping
        .columns
        .iter()
        .map(|(k, v)| vec![field_label(k).0.to_string(), k.clone(), v.clone()])
        .collect();
    crate::cmd::deliveries::print_rows(
        &["字段", "field", "表头"],
        &rows,
        crate::cmd::deliveries::ListFormat::Table,
    )
}

fn print_check(c: &ProfileCheck) {
    let Some(f) = &c.figures else { return };
    println!(
        "{}：按格式“{}”读取 {}：{} 笔；支出 {} 笔 {}；收入 {} 笔 {}；期初余额 {}；期末余额 {}",
        match (c.saved, c.replaces) {
            (true, true) => "已保存（替换了同名格式）",
            (true, false) => "已保存",
            (false, true) => "试读（未保存；保存将替换同名格式）",
            (false, false) => "试读（未保存）",
        },
        c.name,
        c.file_name,
        f.lines,
        f.debit_count,
        f.debit_total.grouped(),
        f.credit_count,
        f.credit_total.grouped(),
        f.opening.map(|m| m.grouped()).unwrap_or_else(|| "—".into()),
        f.closing.map(|m| m.grouped()).unwrap_or_else(|| "—".into()),
    );
}

pub async fn run(what: What, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (app, actor) = super::cli_reader(ctx).await?;
    match what {
        What::List { format } => {
            let list = app.bank_profiles(&actor).await?;
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&list)?),
                OutputFormat::Table => print_entries(&list)?,
            }
        }
        What::Show { name, format } => {
            let p = app.bank_profile(&actor, &name).await?;
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&p)?),
                OutputFormat::Table => print_entry(&p)?,
            }
        }
        What::Remove { name, format } => {
            let p = app.remove_bank_profile(&actor, &name).await?;
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&p)?),
                OutputFormat::Table => println!("已删除格式“{}”", p.name),
            }
        }
        What::Save {
            from,
            name,
            bank,
            map,
            detect,
            profile,
            dry_run,
            format,
        } => {
            let m = mapping_of(profile.as_deref(), name, bank, map, detect)?;
            let (file_name, bytes) = super::bank::read_file(&from)?;
            let c = app
                .save_bank_profile(&actor, &m, &file_name, &bytes, dry_run)
                .await?;
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&c)?),
                OutputFormat::Table => print_check(&c),
            }
            if let Some(r) = &c.refusal {
                eprintln!("error: {}: {r}", c.file_name);
                eprintln!("nothing was written");
                return Ok(ExitCode::from(super::exit::REFUSED));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
