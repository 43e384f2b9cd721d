//! `sockhub calc`: the terminal calculator client (`--student ID`), and `sockhub calc export`,
//! which writes every stored result (or one student's) as CSV or JSON for the instructor.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde::Serialize;
use sockhub_client::calc::{self, CalcOptions};
use sockhub_proto::calc::validate_student_id;
use sockhub_store::{CalcResultFilter, CalcResultRow};

use sockhub_server::export;

use super::DatabaseArgs;
use super::output::{self, Format, Row};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CalcArgs {
    #[command(subcommand)]
    command: Option<CalcCommand>,
    /// Your student ID. On a server with `[calc] auth = "accounts"` the password of the account
    /// named as your ID is asked for on a terminal, or read from SOCKHUB_PASSWORD.
    #[arg(long, short = 's')]
    student: Option<String>,
    /// The calculator server.
    #[arg(long, short = 'a', default_value = "127.0.0.1:7003")]
    addr: String,
    #[command(flatten)]
    tls: super::TlsArgs,
}

#[derive(Debug, Subcommand)]
enum CalcCommand {
    /// Write the stored results (oldest first) to stdout.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// Only this student's results.
    #[arg(long)]
    student: Option<String>,
    /// csv (a header row, then id,student_id,name,input,square,at), json (an array of objects)
    /// or table.
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    #[command(flatten)]
    db: DatabaseArgs,
}

/// Rows read per query, so an export of any size uses bounded memory.
const PAGE: u32 = 1000;

pub async fn run(args: CalcArgs) -> anyhow::Result<ExitCode> {
    if let Some(CalcCommand::Export(export)) = args.command {
        return run_export(export).await;
    }
    let Some(student_id) = args.student else {
        anyhow::bail!(sockhub_i18n::t!("cli-calc-student-required"));
    };
    if let Err(e) = validate_student_id(&student_id) {
        anyhow::bail!("{}", e.message);
    }
    let password = super::chat::password_from_env();
    let ok =
        calc::run(CalcOptions { addr: args.addr, tls: args.tls.client()?, student_id, password }).await?;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn run_export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let store = args.db.open().await?;
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut sink = match args.format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(ResultView::HEADERS)?;
            Sink::Csv(Box::new(w))
        }
        Format::Json => {
            let mut out = out;
            out.write_all(b"[")?;
            Sink::Json { out, first: true }
        }
        Format::Table => Sink::Table(Vec::new()),
    };
    // Page by page, so an export of any size is written with bounded memory (except as a table,
    // which needs every row to size its columns).
    let mut filter = CalcResultFilter { student_id: args.student, after_id: None, limit: Some(PAGE) };
    loop {
        let page = store.calc().results(&filter).await?;
        let full = page.len() == PAGE as usize;
        filter.after_id = page.last().map(|r| r.id);
        for r in page {
            sink.write(ResultView(r))?;
        }
        if !full {
            break;
        }
    }
    sink.finish()?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// A stored result as the export writes it (`at` in UTC, RFC 3339 with milliseconds).
struct ResultView(CalcResultRow);

impl Serialize for ResultView {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = &self.0;
        serde_json::json!({
            "id": r.id,
            "student_id": r.student_id,
            "name": r.name,
            "input": r.input,
            "square": r.square,
            "at": sockhub_proto::time::rfc3339_ms(&r.at),
        })
        .serialize(s)
    }
}

impl Row for ResultView {
    const HEADERS: &'static [&'static str] = export::CALC_RESULT_HEADERS;
    fn cells(&self) -> Vec<String> {
        export::calc_result_cells(&self.0)
    }
}

type Out = std::io::BufWriter<std::io::StdoutLock<'static>>;

/// Where exported rows go.
enum Sink {
    Csv(Box<csv::Writer<Out>>),
    /// A JSON array written one element at a time.
    Json {
        out: Out,
        first: bool,
    },
    Table(Vec<ResultView>),
}

impl Sink {
    fn write(&mut self, r: ResultView) -> anyhow::Result<()> {
        match self {
            Sink::Csv(w) => {
                w.write_record(r.cells().iter().map(|c| export::defuse_formula(c).into_owned()))?
            }
            Sink::Json { out, first } => {
                out.write_all(if *first { b"\n" } else { b",\n" })?;
                serde_json::to_writer(&mut *out, &r)?;
                *first = false;
            }
            Sink::Table(rows) => rows.push(r),
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            Sink::Csv(mut w) => w.flush()?,
            Sink::Json { mut out, first } => {
                out.write_all(if first { b"]\n" } else { b"\n]\n" })?;
                out.flush()?;
            }
            Sink::Table(rows) => output::print(&rows, Format::Table)?,
        }
        Ok(())
    }
}
