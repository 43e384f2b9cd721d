//! `sockhub user ban`, `unban` and `bans`: bans from the command line, straight in the database.
//!
//! The CLI is another process: it stores the ban (and its moderation-log record) in the shared
//! database, and every running node acts on it at its next re-read of the bans (`[auth]
//! bans_refresh_secs`): the user's connections end and their logins are refused. An address ban
//! names the address of the user's last successful login in the login log.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use sockhub_i18n::t;
use sockhub_server::bans;
use sockhub_store::{Ban, ModerationAction, ModerationRecord, Store, Writer, WriterOptions};

use super::ConfigFile;
use super::db::open;
use super::output::{self, Format, Row};

/// How long the CLI waits for its moderation-log record to be written.
const LOG_FLUSH: Duration = Duration::from_secs(10);

#[derive(Debug, Args)]
pub struct BanArgs {
    #[command(flatten)]
    config: ConfigFile,
    /// The user (a look-alike of the name is the same user).
    name: String,
    /// How long: 30m, 2h, 7d (default: until `sockhub user unban`).
    #[arg(long = "for", value_name = "DURATION")]
    length: Option<String>,
    /// Why (shown to the user when refused).
    #[arg(long)]
    reason: Option<String>,
    /// Ban the address of the user's last login too (IPv6: its /64), whatever name is used.
    #[arg(long)]
    address: bool,
    /// The name written to the moderation log as the admin who banned.
    #[arg(long, default_value = "console")]
    by: String,
}

#[derive(Debug, Args)]
pub struct UnbanArgs {
    #[command(flatten)]
    config: ConfigFile,
    name: String,
    /// The name written to the moderation log as the admin who unbanned.
    #[arg(long, default_value = "console")]
    by: String,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    config: ConfigFile,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(Serialize)]
struct BanRow {
    name: String,
    address: Option<String>,
    until: Option<chrono::DateTime<chrono::Utc>>,
    reason: Option<String>,
    by: String,
    at: chrono::DateTime<chrono::Utc>,
}

impl Row for BanRow {
    const HEADERS: &'static [&'static str] =
        &["name", "address", "until", "left", "reason", "by", "banned at"];
    fn cells(&self) -> Vec<String> {
        let now = sockhub_store::now();
        vec![
            self.name.clone(),
            output::opt(&self.address),
            self.until.as_ref().map_or_else(|| "until unbanned".to_owned(), output::local_time),
            self.until.map_or_else(|| "-".to_owned(), |t| sockhub_proto::ban::time_left(t, now)),
            output::opt(&self.reason),
            self.by.clone(),
            output::local_time(&self.at),
        ]
    }
}

pub async fn ban(args: BanArgs) -> anyhow::Result<()> {
    let (config, store) = open(&args.config).await?;
    let length =
        args.length.as_deref().map(sockhub_proto::ban::parse_duration).transpose().map_err(message)?;
    let in_force = store.bans().list_active(sockhub_store::now()).await?;
    let key = sockhub_server::names::key(&args.name);
    if in_force.len() >= config.auth.max_bans
        && !in_force.iter().any(|b| sockhub_server::names::key(&b.target) == key)
    {
        bail!(t!("cli-ban-too-many", count = in_force.len()));
    }
    let reason = args.reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    let ban = bans::prepare(&store, &args.by, &args.name, length, reason, args.address, None)
        .await
        .map_err(message)?;
    store.bans().set(&ban).await?;
    log(&store, bans::moderation_record(&ban)).await?;
    let address = ban.address.as_ref().map(|a| t!("cli-ban-address", address = a)).unwrap_or_default();
    let (name, secs) = (&ban.target, config.auth.bans_refresh_secs);
    let done = match ban.until {
        None => t!("cli-banned", name = name, address = address, secs = secs),
        Some(until) => {
            t!(
                "cli-banned-until",
                name = name,
                address = address,
                until = output::local_time(&until),
                secs = secs
            )
        }
    };
    println!("{done}");
    Ok(())
}

pub async fn unban(args: UnbanArgs) -> anyhow::Result<()> {
    let (_, store) = open(&args.config).await?;
    let Some(was) = store.bans().active(&args.name, sockhub_store::now()).await? else {
        bail!(t!("error-not-banned", name = &args.name));
    };
    store.bans().clear(&was.target).await?;
    log(&store, ModerationRecord::new(&args.by, &was.target, ModerationAction::Unban)).await?;
    println!("{}", t!("cli-unbanned", name = &was.target));
    Ok(())
}

pub async fn list(args: ListArgs) -> anyhow::Result<()> {
    let (_, store) = open(&args.config).await?;
    let rows: Vec<BanRow> = store
        .bans()
        .list_active(sockhub_store::now())
        .await?
        .into_iter()
        .map(|b: Ban| BanRow {
            name: b.target,
            address: b.address,
            until: b.until,
            reason: b.reason,
            by: b.actor,
            at: b.at,
        })
        .collect();
    output::print(&rows, args.format)
}

/// Write one moderation-log record and wait until it is in the database.
async fn log(store: &Store, record: ModerationRecord) -> anyhow::Result<()> {
    let (journal, writer) = Writer::spawn(store.clone(), WriterOptions::default());
    journal.send(record).await.with_context(|| t!("cli-ban-log-queue"))?;
    drop(journal);
    if !writer.shutdown(LOG_FLUSH).await.is_complete() {
        bail!(t!("cli-ban-log-failed"));
    }
    Ok(())
}

fn message(e: sockhub_proto::error::ErrorEvent) -> anyhow::Error {
    anyhow::anyhow!("{}", e.message)
}
