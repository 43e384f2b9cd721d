//! `sockhub quiz`: play (full screen, line by line, or as a bot), start a round as an admin,
//! export attempts, list rounds.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use sockhub_client::quiz::{self, BotOptions, QuizOptions};
use sockhub_proto::quiz::{QuizEvent, QuizRequest};
use sockhub_proto::secret::Secret;
use sockhub_store::Store;

use super::ConfigFile;

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
    /// Read the account's password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
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

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Json,
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
    /// Print JSON (one array) instead of a table.
    #[arg(long)]
    json: bool,
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
        std::io::stdin().read_line(&mut line).context("reading the password from standard input")?;
        return Ok(Some(Secret::new(line.trim_end_matches(['\r', '\n']))));
    }
    if prompt {
        return Ok(Some(Secret::new(read_hidden(&format!("Password for {name}: "))?)));
    }
    Ok(None)
}

/// Read a line from the terminal without echoing it.
fn read_hidden(prompt: &str) -> anyhow::Result<String> {
    use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers, read};
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    crossterm::terminal::enable_raw_mode()
        .context("the password prompt needs a terminal; use --password-stdin")?;
    let mut text = String::new();
    let result = loop {
        match read() {
            Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => match k.code {
                KeyCode::Enter => break Ok(()),
                KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                    break Err(anyhow::anyhow!("cancelled"));
                }
                KeyCode::Char(c) => text.push(c),
                KeyCode::Backspace => {
                    text.pop();
                }
                _ => {}
            },
            Ok(_) => {}
            Err(e) => break Err(e.into()),
        }
    };
    let _ = crossterm::terminal::disable_raw_mode();
    eprintln!();
    result.map(|()| text)
}

fn think_range(s: &str) -> anyhow::Result<(Duration, Duration)> {
    let (lo, hi) = s.split_once('-').unwrap_or((s, s));
    let ms = |v: &str| {
        v.trim().parse::<u64>().with_context(|| format!("--think-ms: {v:?} is not a number of milliseconds"))
    };
    let (lo, hi) = (ms(lo)?, ms(hi)?);
    if lo > hi {
        bail!("--think-ms: {lo} is more than {hi}");
    }
    Ok((Duration::from_millis(lo), Duration::from_millis(hi)))
}

async fn play(args: PlayArgs) -> anyhow::Result<ExitCode> {
    let Some(name) = args.name.clone() else {
        bail!("--name is required to play (or use a subcommand: start, export, rounds)")
    };
    let password = password(&args.login, &name, false)?;
    if args.bot {
        let opts = BotOptions {
            accuracy: args.accuracy,
            think: think_range(&args.think_ms)?,
            seed: args.seed,
            password,
        };
        let mut stdout = std::io::stdout();
        let report = quiz::bot(&args.login.addr, &name, &opts, |event| {
            let _ = writeln!(stdout, "{}", quiz::show(event));
        })
        .await?;
        eprintln!(
            "bot {name}: {} questions, {} answers, verdicts {:?}, sum {}",
            report.questions, report.answers, report.verdicts, report.sum
        );
        return Ok(if report.refused.is_some() { ExitCode::FAILURE } else { ExitCode::SUCCESS });
    }
    let ok = quiz::run(QuizOptions { addr: args.login.addr, name, password }).await?;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn start(args: StartArgs) -> anyhow::Result<ExitCode> {
    let password = password(&args.login, &args.name, true)?;
    let (mut rx, mut tx) = sockhub_client::conn::connect(&args.login.addr)
        .await
        .with_context(|| format!("connecting to the quiz at {}", args.login.addr))?;
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
        None => bail!("the server closed the connection without answering"),
    }
}

async fn open_store(config: &ConfigFile) -> anyhow::Result<Store> {
    let config = config.load(&[])?;
    let options = sockhub_server::app::store_options(&config);
    Store::open(&options).await.with_context(|| format!("opening the database ({})", options.describe()))
}

async fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(&args.config).await?;
    let rows = store.quiz_attempts(args.round).await?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &rows)?;
            writeln!(out)?;
        }
        Format::Csv => sockhub_server::export::quiz_attempts_csv(&mut out, &rows)?,
    }
    out.flush()?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn rounds(args: RoundsArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(&args.config).await?;
    let rounds = store.quiz_rounds().await?;
    store.close().await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rounds)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:>5}  {:19}  {:>8}  {:>7}  winner", "round", "started", "length", "players");
    for r in rounds {
        let started = sockhub_proto::time::log_format(&r.started_at);
        let winner = match (&r.winner, r.winner_sum, r.ended_at) {
            (Some(w), Some(sum), _) => format!("{w} (sum {sum})"),
            (None, _, Some(_)) => "(no players)".into(),
            _ => "(not finished)".into(),
        };
        let players = r.players.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
        println!("{:>5}  {started}  {:>7}s  {players:>7}  {winner}", r.id, r.duration_secs);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn think_ranges() {
        assert_eq!(
            think_range("500-3000").unwrap(),
            (Duration::from_millis(500), Duration::from_millis(3000))
        );
        assert!(think_range("3-1").is_err());
    }
}
