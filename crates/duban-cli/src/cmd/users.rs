//! `duban users add|passwd|set|disable|enable|list` and `duban users token issue|revoke|list`:
//! accounts from the server's command line (where the first administrator is made).
//! Passwords come from standard input (`--password-stdin`) or `DUBAN_PASSWORD`, never from
//! an argument that `ps` would show.

use super::Context;
use crate::cmd::deliveries::{ListFormat, print_rows};
use crate::cmd::import::login_name;
use duban_app::accounts::{AccessChange, UserRequest};
use duban_app::{Actor, Role};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
    /// Who does this, for the audit log (defaults to the login name).
    #[arg(long, global = true, env = "DUBAN_ACTOR")]
    actor: Option<String>,
}

#[derive(Debug, clap::Args)]
struct PasswordArgs {
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Create a user.
    Add {
        username: String,
        /// administrator, finance_officer, secretary, viewer or auditor.
        #[arg(long)]
        role: String,
        /// The name shown on pages (defaults to the username).
        #[arg(long)]
        name: Option<String>,
        /// Limit the user to these districts (区县), comma-separated.
        #[arg(long, value_delimiter = ',')]
        districts: Vec<String>,
        /// The unit codes a secretary answers for, comma-separated.
        #[arg(long, value_delimiter = ',')]
        units: Vec<String>,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Set a user's password (ends their sessions).
    Passwd {
        username: String,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Change a user's role, districts or units.
    Set {
        username: String,
        #[arg(long)]
        role: Option<String>,
        #[arg(long, value_delimiter = ',')]
        districts: Option<Vec<String>>,
        #[arg(long, value_delimiter = ',')]
        units: Option<Vec<String>>,
    },
    /// Stop a user signing in (ends their sessions).
    Disable { username: String },
    /// Let a disabled user sign in again.
    Enable { username: String },
    /// Every user.
    List {
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
    },
    /// API tokens for integrations.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
}

#[derive(Debug, clap::Subcommand)]
enum TokenAction {
    /// Issue a token for a user; it is printed once.
    Issue {
        username: String,
        /// What uses it.
        #[arg(long)]
        name: String,
        /// Days it stays valid (forever when absent).
        #[arg(long)]
        days: Option<i64>,
    },
    Revoke {
        id: i64,
    },
    List {
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
    },
}

fn read_password(p: &PasswordArgs) -> anyhow::Result<String> {
    if p.password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        let pw = line.trim_end_matches(['\r', '\n']).to_string();
        if pw.is_empty() {
            return Err(super::BadInput("no password on standard input".into()).into());
        }
        return Ok(pw);
    }
    match std::env::var("DUBAN_PASSWORD") {
        Ok(pw) if !pw.is_empty() => Ok(pw),
        _ => Err(super::BadInput(
            "give the password on standard input with --password-stdin, or in DUBAN_PASSWORD"
                .into(),
        )
        .into()),
    }
}

fn role(text: &str) -> anyhow::Result<Role> {
    Role::parse(text).map_err(|e| super::BadInput(e.to_string()).into())
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let app = ctx.app_for_cli().await?;
    let actor = Actor::command_line(&args.actor.unwrap_or_else(login_name));
    match args.action {
        Action::Add {
            username,
            role: r,
            name,
            districts,
            units,
            password,
        } => {
            let req = UserRequest {
                display_name: name.unwrap_or_default(),
                password: read_password(&password)?,
                role: role(&r)?,
                username,
                districts,
                units,
            };
            let u = app.add_user(&actor, req).await?;
            println!("user {} ({}) created", u.username, u.role);
        }
        Action::Passwd { username, password } => {
            let pw = read_password(&password)?;
            app.set_password(&actor, &username, None, &pw).await?;
            println!("password of {username} set; their sessions have ended");
        }
        Action::Set {
            username,
            role: r,
            districts,
            units,
        } => {
            let change = AccessChange {
                role: r.as_deref().map(role).transpose()?,
                districts,
                units,
                disabled: None,
            };
            let u = app.change_access(&actor, &username, change).await?;
            println!(
                "{}: {}; districts {}; units {}",
                u.username,
                u.role,
                if u.districts.is_empty() {
                    "all".to_string()
                } else {
                    u.districts.join(",")
                },
                if u.units.is_empty() {
                    "-".to_string()
                } else {
                    u.units.join(",")
                }
            );
        }
        Action::Disable { username } => {
            let change = AccessChange {
                disabled: Some(true),
                ..Default::default()
            };
            app.change_access(&actor, &username, change).await?;
            println!("{username} can no longer sign in");
        }
        Action::Enable { username } => {
            let change = AccessChange {
                disabled: Some(false),
                ..Default::default()
            };
            app.change_access(&actor, &username, change).await?;
            println!("{username} can sign in again");
        }
        Action::List { format } => {
            let rows: Vec<Vec<String>> = app
                .list_users(&actor)
                .await?
                .into_iter()
                .map(|u| {
                    vec![
                        u.username,
                        u.display_name,
                        u.role,
                        u.districts.join(","),
                        u.units.join(","),
                        if u.disabled { "disabled" } else { "active" }.to_string(),
                        u.locked_until.map(|t| t.to_rfc3339()).unwrap_or_default(),
                        u.last_login_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    ]
                })
                .collect();
            print_rows(
                &[
                    "username",
                    "name",
                    "role",
                    "districts",
                    "units",
                    "state",
                    "locked_until",
                    "last_login",
                ],
                &rows,
                format,
            )?;
        }
        Action::Token { action } => match action {
            TokenAction::Issue {
                username,
                name,
                days,
            } => {
                let t = app.issue_token(&actor, &username, &name, days).await?;
                println!("{}", t.token);
                eprintln!(
                    "token {} for {username} issued; it is shown only this once",
                    t.row.id
                );
            }
            TokenAction::Revoke { id } => {
                app.revoke_token(&actor, id).await?;
                println!("token {id} revoked");
            }
            TokenAction::List { format } => {
                let rows: Vec<Vec<String>> = app
                    .list_tokens(&actor)
                    .await?
                    .into_iter()
                    .map(|t| {
                        vec![
                            t.id.to_string(),
                            t.user_id.to_string(),
                            t.name,
                            t.created_at.to_rfc3339(),
                            t.last_used_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                            t.expires_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                            t.revoked_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                        ]
                    })
                    .collect();
                print_rows(
                    &[
                        "id",
                        "user",
                        "name",
                        "created",
                        "last_used",
                        "expires",
                        "revoked",
                    ],
                    &rows,
                    format,
                )?;
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}
