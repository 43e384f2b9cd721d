//! `sockhub logs`: the database logs the chat projects asked for — every login of a day, every
//! chat line (whispers included; one room's with `--room`), every kick / mute / unmute / topic —
//! as a table, CSV or JSON.

use std::process::ExitCode;

use chrono::{DateTime, Local, NaiveDate, Utc};
use clap::{Args, Subcommand};
use serde::Serialize;
use sockhub_store::{ChatFilter, LoginFilter, ModerationFilter};

use super::ConfigFile;
use super::db::open;
use super::output::{self, Format, Row, parse_time};

#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Every login attempt (success, failure, logout) of one day, local time.
    Logins {
        #[command(flatten)]
        common: Common,
        /// The day, YYYY-MM-DD (default: today).
        #[arg(long)]
        date: Option<NaiveDate>,
        /// Only this user.
        #[arg(long)]
        user: Option<String>,
    },
    /// Chat lines, public and whispers.
    Chat {
        #[command(flatten)]
        common: Common,
        /// Only lines this user sent, or whispers they received.
        #[arg(long)]
        user: Option<String>,
        /// Only the public lines of this room (`--room '#lab'`; case-insensitive).
        #[arg(long)]
        room: Option<String>,
        /// Only lines at or after this time (2026-11-21, "2026-11-21 15:00", RFC 3339).
        #[arg(long, value_parser = parse_time)]
        since: Option<DateTime<Utc>>,
        /// At most this many (the newest).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Kicks, mutes, unmutes and topic changes (with the room, for those about one room).
    Moderation {
        #[command(flatten)]
        common: Common,
        /// Only actions on this user.
        #[arg(long)]
        target: Option<String>,
        /// Only actions at or after this time.
        #[arg(long, value_parser = parse_time)]
        since: Option<DateTime<Utc>>,
    },
}

#[derive(Debug, Args)]
pub struct Common {
    #[command(flatten)]
    config: ConfigFile,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(Serialize)]
struct LoginView {
    at: DateTime<Utc>,
    name: String,
    outcome: &'static str,
    service: String,
    peer: String,
}

impl Row for LoginView {
    const HEADERS: &'static [&'static str] = &["time", "name", "outcome", "service", "peer"];
    fn cells(&self) -> Vec<String> {
        vec![
            output::local_time(&self.at),
            self.name.clone(),
            self.outcome.into(),
            self.service.clone(),
            self.peer.clone(),
        ]
    }
}

#[derive(Serialize)]
struct ChatView {
    at: DateTime<Utc>,
    sender: String,
    recipient: Option<String>,
    whisper: bool,
    text: String,
    /// The room of a public line.
    #[serde(skip_serializing_if = "String::is_empty")]
    room: String,
}

impl Row for ChatView {
    const HEADERS: &'static [&'static str] = &["time", "from", "to", "text"];
    fn cells(&self) -> Vec<String> {
        let to = self.recipient.clone().unwrap_or_else(|| "(everyone)".into());
        vec![output::local_time(&self.at), self.sender.clone(), to, self.text.clone()]
    }
}

#[derive(Serialize)]
struct ModerationView {
    at: DateTime<Utc>,
    actor: String,
    action: &'static str,
    target: String,
    reason: Option<String>,
    until: Option<DateTime<Utc>>,
    /// The room the action was about (absent: the whole server).
    #[serde(skip_serializing_if = "Option::is_none")]
    room: Option<String>,
}

impl Row for ModerationView {
    const HEADERS: &'static [&'static str] =
        &["time", "admin", "action", "target", "reason", "until", "room"];
    fn cells(&self) -> Vec<String> {
        vec![
            output::local_time(&self.at),
            self.actor.clone(),
            self.action.into(),
            self.target.clone(),
            output::opt(&self.reason),
            self.until.as_ref().map(output::local_time).unwrap_or_default(),
            output::opt(&self.room),
        ]
    }
}

pub async fn run(cmd: LogsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        LogsCommand::Logins { common, date, user } => {
            let (_, store) = open(&common.config).await?;
            let day = date.unwrap_or_else(|| Local::now().date_naive());
            let filter = LoginFilter { user, ..LoginFilter::day(day, &Local) };
            let rows: Vec<LoginView> = store
                .logins(&filter)
                .await?
                .into_iter()
                .map(|r| LoginView {
                    at: r.at,
                    name: r.name,
                    outcome: r.outcome.as_str(),
                    service: r.service,
                    peer: r.peer,
                })
                .collect();
            output::print(&rows, common.format)?;
        }
        LogsCommand::Chat { common, user, room, since, limit } => {
            let (_, store) = open(&common.config).await?;
            let filter = ChatFilter { user, since, until: None, limit, room };
            let rows: Vec<ChatView> = store
                .chat_log(&filter)
                .await?
                .into_iter()
                .map(|r| ChatView {
                    at: r.at,
                    whisper: r.is_whisper(),
                    sender: r.sender,
                    recipient: r.recipient,
                    text: r.text,
                    room: r.room,
                })
                .collect();
            output::print(&rows, common.format)?;
        }
        LogsCommand::Moderation { common, target, since } => {
            let (_, store) = open(&common.config).await?;
            let filter = ModerationFilter { from: since, target, ..Default::default() };
            let rows: Vec<ModerationView> = store
                .moderation_log(&filter)
                .await?
                .into_iter()
                .map(|r| ModerationView {
                    at: r.at,
                    actor: r.actor,
                    action: r.action.as_str(),
                    target: r.target,
                    reason: r.reason,
                    until: r.until,
                    room: r.room,
                })
                .collect();
            output::print(&rows, common.format)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
