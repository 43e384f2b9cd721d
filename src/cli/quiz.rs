//! `sockhub quiz`: play (full screen, line by line, or as a bot), start a round as an admin,
//! export attempts, list rounds.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use sockhub_client::quiz::log::QuizLog;
use sockhub_client::quiz::{self, BotOptions, QuizOptions};
use sockhub_i18n::t;
use sockhub_proto::quiz::{QuizEvent, QuizRequest};
use sockhub_proto::secret::Secret;
use sockhub_server::export;
use sockhub_store::{QuizAttemptRow, QuizRoundRow};

use super::output::{self, Format, Row};
use super::{ConfigFile, db};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct QuizArgs {
    #[command(subcommand)]
    command: Option<QuizCommand>,
    #[command(flatten)]
    play: PlayArgs,
}

#[derive(Debug, Subcommand)]
enum QuizCommand {
    /// Start a round (rounds with `start = "manual"`), logging in as an admin account.
    Start(StartArgs),
    /// Export every attempt (one row per answer or missed deadline) as CSV or JSON.
    Export(ExportArgs),
    /// List the rounds with their winners.
    Rounds(RoundsArgs),
}

/// Where the quiz is and who you are.
#[derive(Debug, Args)]
struct Login {
    /// The quiz server.
    #[arg(long, short = 'a', default_value = "127.0.0.1:7002")]
    addr: String,
    #[command(flatten)]
    tls: super::TlsArgs,
    /// Read the account's password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
}

impl Login {
    fn endpoint(&self) -> anyhow::Result<sockhub_client::conn::Endpoint> {
        Ok(sockhub_client::conn::Endpoint { addr: self.addr.clone(), tls: self.tls.client()? })
    }
}

#[derive(Debug, Args)]
struct PlayArgs {
    /// Your name in the round (rejoin with the same name to keep your sum).
    #[arg(long, short = 'n')]
    name: Option<String>,
    #[command(flatten)]
    login: Login,
    /// Answer automatically (for demos and load tests).
    #[arg(long)]
    bot: bool,
    /// Keep a log of the game in FILE (appended): `YYYY-MM-DD HH:MM:SS [LEVEL]: message` lines for
    /// the connection, each problem received, each answer with its verdict and times, and errors,
    /// in the language of --lang.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Bot: probability of a right answer.
    #[arg(long, default_value_t = 0.8, requires = "bot")]
    accuracy: f64,
    /// Bot: thinking time before each answer, in milliseconds: `MIN-MAX` or one number.
    #[arg(long, default_value = "500-3000", value_name = "MIN-MAX", requires = "bot")]
    think_ms: String,
    /// Bot: seed of the bot's own choices, for a reproducible demo.
    #[arg(long, requires = "bot")]
    seed: Option<u64>,
}

#[derive(Debug, Args)]
struct StartArgs {
    /// The admin account.
    #[arg(long, short = 'n')]
    name: String,
    #[command(flatten)]
    login: Login,
}

#[derive(Debug, Args)]
struct ExportArgs {
    #[command(flatten)]
    config: ConfigFile,
    /// Only this round (see `sockhub quiz rounds`); default every round.
    #[arg(long)]
    round: Option<i64>,
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
}

#[derive(Debug, Args)]
struct RoundsArgs {
    #[command(flatten)]
    config: ConfigFile,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub async fn run(args: QuizArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(QuizCommand::Start(a)) => start(a).await,
        Some(QuizCommand::Export(a)) => export(a).await,
        Some(QuizCommand::Rounds(a)) => rounds(a).await,
        None => play(args.play).await,
    }
}

fn password(login: &Login, name: &str, prompt: bool) -> anyhow::Result<Option<Secret>> {
    if login.password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).with_context(|| t!("cli-password-stdin"))?;
        return Ok(Some(Secret::new(line.trim_end_matches(['\r', '\n']))));
    }
    if prompt {
        return Ok(Some(Secret::new(rpassword::prompt_password(t!("cli-password-prompt", name = name))?)));
    }
    Ok(None)
}

fn think_range(s: &str) -> anyhow::Result<(Duration, Duration)> {
    let (lo, hi) = s.split_once('-').unwrap_or((s, s));
    let ms = |v: &str| {
        v.trim().parse::<u64>().with_context(|| t!("cli-quiz-think-ms-number", value = format!("{v:?}")))
    };
    let (lo, hi) = (ms(lo)?, ms(hi)?);
    if lo > hi {
        bail!(t!("cli-quiz-think-ms-order", low = lo, high = hi));
    }
    Ok((Duration::from_millis(lo), Duration::from_millis(hi)))
}

async fn play(args: PlayArgs) -> anyhow::Result<ExitCode> {
    let Some(name) = args.name.clone() else { bail!(t!("cli-quiz-name-required")) };
    let password = password(&args.login, &name, false)?;
    let open_log = |path: &PathBuf| {
        QuizLog::create(path).map_err(|e| {
            anyhow::anyhow!(t!(
                "quiz-log-open-failed",
                path = path.display().to_string(),
                error = e.to_string()
            ))
        })
    };
    if args.bot {
        let mut log = args.log.as_ref().map(open_log).transpose()?;
        let opts = BotOptions {
            accuracy: args.accuracy,
            think: think_range(&args.think_ms)?,
            seed: args.seed,
            password,
        };
        let mut stdout = std::io::stdout();
        let mut first = true;
        let played = quiz::bot(args.login.endpoint()?, &name, &opts, |event| {
            let _ = writeln!(stdout, "{}", quiz::show(event));
            if let Some(log) = &mut log {
                if std::mem::take(&mut first) {
                    log.connected(&args.login.addr);
                }
                log.event(event);
            }
        })
        .await;
        if let (Err(e), Some(log)) = (&played, &mut log) {
            log.error(&e.to_string());
        }
        let report = played?;
        eprintln!(
            "{}",
            t!(
                "cli-quiz-bot-summary",
                name = &name,
                questions = report.questions,
                answers = report.answers,
                verdicts = format!("{:?}", report.verdicts),
                sum = report.sum.to_string()
            )
        );
        return Ok(if report.refused.is_some() { ExitCode::FAILURE } else { ExitCode::SUCCESS });
    }
    let tls = args.login.tls.client()?;
    if let Some(path) = &args.log {
        open_log(path)?; // a bad path is refused before the game starts
    }
    let ok = quiz::run(QuizOptions { addr: args.login.addr, tls, name, password, log: args.log }).await?;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn start(args: StartArgs) -> anyhow::Result<ExitCode> {
    let password = password(&args.login, &args.name, true)?;
    let (mut rx, mut tx) = sockhub_client::conn::connect(args.login.endpoint()?)
        .await
        .with_context(|| t!("cli-quiz-connecting", addr = args.login.addr.to_string()))?;
    tx.send(&QuizRequest::Start { name: Some(args.name), password }).await?;
    let reply = rx.recv::<QuizEvent>().await?;
    let _ = tx.send(&QuizRequest::Quit).await;
    match reply {
        Some(QuizEvent::Info { text }) => {
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => {
            eprintln!("{}", quiz::show(&other));
            Ok(ExitCode::FAILURE)
        }
        None => bail!(t!("cli-server-closed")),
    }
}

async fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let (_, store) = db::open(&args.config).await?;
    let rows: Vec<AttemptView> =
        store.quiz().attempts(args.round).await?.into_iter().map(AttemptView).collect();
    store.close().await;
    output::print(&rows, args.format)?;
    Ok(ExitCode::SUCCESS)
}

/// One attempt, as exported: the stored row, serialized as is for JSON.
#[derive(Serialize)]
#[serde(transparent)]
struct AttemptView(QuizAttemptRow);

impl Row for AttemptView {
    const HEADERS: &'static [&'static str] = export::QUIZ_ATTEMPT_HEADERS;
    fn cells(&self) -> Vec<String> {
        export::quiz_attempt_cells(&self.0)
    }
}

/// One round, as `quiz rounds` lists it.
#[derive(Serialize)]
#[serde(transparent)]
struct RoundView(QuizRoundRow);

impl Row for RoundView {
    const HEADERS: &'static [&'static str] = &["round", "started", "length_secs", "players", "winner"];
    fn cells(&self) -> Vec<String> {
        let r = &self.0;
        let winner = match (&r.winner, r.winner_sum, r.ended_at) {
            (Some(w), Some(sum), _) => format!("{w} (sum {sum})"),
            (None, _, Some(_)) => "(no players)".into(),
            _ => "(not finished)".into(),
        };
        vec![
            r.id.to_string(),
            output::local_time(&r.started_at),
            r.duration_secs.to_string(),
            output::opt(&r.players),
            winner,
        ]
    }
}

async fn rounds(args: RoundsArgs) -> anyhow::Result<ExitCode> {
    let (_, store) = db::open(&args.config).await?;
    let rounds: Vec<RoundView> = store.quiz().rounds().await?.into_iter().map(RoundView).collect();
    store.close().await;
    output::print(&rounds, args.format)?;
    Ok(ExitCode::SUCCESS)
}
