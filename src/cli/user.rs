//! `sockhub user`: accounts. Passwords are asked twice on a terminal (never echoed) and read as
//! one line from stdin otherwise, so scripts can pipe them in; they are hashed with argon2id here
//! and only the hash reaches the database.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use sockhub_i18n::t;
use sockhub_server::Config;
use sockhub_server::names::{self, PasswordPolicy};
use sockhub_store::{NewAccount, Role, StoreError, password};

use super::ConfigFile;
use super::db::open;
use super::output::{self, Format, Row};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account (asks for the password).
    Add(AddArgs),
    /// List accounts.
    List {
        #[command(flatten)]
        config: ConfigFile,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Set a new password (asks for it).
    Passwd {
        #[command(flatten)]
        config: ConfigFile,
        name: String,
    },
    /// Make an account an admin or a member.
    Role {
        #[command(flatten)]
        config: ConfigFile,
        name: String,
        #[arg(value_enum)]
        role: RoleArg,
    },
    /// Delete an account.
    Remove {
        #[command(flatten)]
        config: ConfigFile,
        name: String,
    },
    /// Ban a user from every service (running servers act on it within `auth.bans_refresh_secs`).
    Ban(super::bans::BanArgs),
    /// Lift a ban.
    Unban(super::bans::UnbanArgs),
    /// List the bans in force.
    Bans(super::bans::ListArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    #[command(flatten)]
    config: ConfigFile,
    /// The login name (unique, case-insensitively).
    name: String,
    /// Make it an admin (may kick, mute, start quiz rounds).
    #[arg(long)]
    admin: bool,
    /// The student's ID, if the account belongs to a student.
    #[arg(long)]
    student_id: Option<String>,
    /// A friendlier name to show.
    #[arg(long)]
    display_name: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Admin,
    Member,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Member => Role::Member,
        }
    }
}

#[derive(Serialize)]
struct AccountRow {
    name: String,
    role: Role,
    student_id: Option<String>,
    display_name: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl Row for AccountRow {
    const HEADERS: &'static [&'static str] = &["name", "role", "student_id", "display_name", "created"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.role.as_str().to_owned(),
            output::opt(&self.student_id),
            output::opt(&self.display_name),
            output::local_time(&self.created_at),
        ]
    }
}

pub async fn run(cmd: UserCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        UserCommand::Add(args) => {
            // The same rules as every service's login, so the account can log in everywhere.
            names::validate(&args.name).map_err(|e| anyhow::anyhow!("{}", e.message))?;
            if let Some(shown) = &args.display_name {
                sockhub_proto::text::require("display name", shown)
                    .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            }
            let (config, store) = open(&args.config).await?;
            let password = read_new_password(&args.name, &config)?;
            let account = NewAccount {
                name: args.name.clone(),
                password_hash: password::hash(&password).await?,
                role: if args.admin { Role::Admin } else { Role::Member },
                student_id: args.student_id,
                display_name: args.display_name,
            };
            match store.accounts().add(&account).await {
                Ok(a) => println!("{}", t!("cli-user-added", name = a.name, role = a.role.as_str())),
                Err(StoreError::Conflict(why)) => {
                    bail!(t!("cli-user-add-conflict", name = format!("{:?}", args.name), why = why))
                }
                Err(e) => return Err(e.into()),
            }
        }
        UserCommand::List { config, format } => {
            let (_, store) = open(&config).await?;
            let rows: Vec<AccountRow> = store
                .accounts()
                .list()
                .await?
                .into_iter()
                .map(|a| AccountRow {
                    name: a.name,
                    role: a.role,
                    student_id: a.student_id,
                    display_name: a.display_name,
                    created_at: a.created_at,
                })
                .collect();
            output::print(&rows, format)?;
        }
        UserCommand::Passwd { config, name } => {
            let (config, store) = open(&config).await?;
            let password = read_new_password(&name, &config)?;
            if !store.accounts().set_password_hash(&name, &password::hash(&password).await?).await? {
                bail!(t!("cli-user-missing", name = format!("{name:?}")));
            }
            println!("{}", t!("cli-user-password-changed", name = &name));
        }
        UserCommand::Role { config, name, role } => {
            let (_, store) = open(&config).await?;
            if !store.accounts().set_role(&name, role.into()).await? {
                bail!(t!("cli-user-missing", name = format!("{name:?}")));
            }
            println!("{}", t!("cli-user-role-changed", name = &name, role = Role::from(role).as_str()));
        }
        UserCommand::Remove { config, name } => {
            let (_, store) = open(&config).await?;
            if !store.accounts().remove(&name).await? {
                bail!(t!("cli-user-missing", name = format!("{name:?}")));
            }
            println!("{}", t!("cli-user-removed", name = &name));
        }
        UserCommand::Ban(args) => super::bans::ban(args).await?,
        UserCommand::Unban(args) => super::bans::unban(args).await?,
        UserCommand::Bans(args) => super::bans::list(args).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// A new password: asked twice on a terminal, else the first line of stdin; it must meet
/// `[auth] min_password_chars` and the other password rules.
fn read_new_password(name: &str, config: &Config) -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(t!("cli-password-prompt", name = name))?;
        let again = rpassword::prompt_password(t!("cli-password-again"))?;
        if first != again {
            bail!(t!("cli-password-mismatch"));
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).with_context(|| t!("cli-password-stdin"))?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if password.is_empty() {
        bail!(t!("cli-password-empty"));
    }
    PasswordPolicy::from(&config.auth).validate(&password)?;
    Ok(password)
}
