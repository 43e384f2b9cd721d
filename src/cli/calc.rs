//! `sockhub calc`: the terminal calculator client (`--student ID`), and `sockhub calc export`,
//! which writes every stored result (or one student's) as CSV or JSON for the instructor.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use sockhub_client::calc::{self, CalcOptions};
use sockhub_proto::calc::validate_student_id;
use sockhub_store::{CalcResultFilter, CalcResultRow};

use super::DatabaseArgs;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CalcArgs {
    #[command(subcommand)]
    command: Option<CalcCommand>,
    /// Your student ID.
    #[arg(long, short = 's')]
    student: Option<String>,
    /// The calculator server.
    #[arg(long, short = 'a', default_value = "127.0.0.1:7003")]
    addr: String,
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
    /// csv (a header row, then id,student_id,name,input,square,at) or json (an array of objects).
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    #[command(flatten)]
    db: DatabaseArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Json,
}

/// Rows read per query, so an export of any size uses bounded memory.
const PAGE: u32 = 1000;

pub async fn run(args: CalcArgs) -> anyhow::Result<ExitCode> {
    if let Some(CalcCommand::Export(export)) = args.command {
        return run_export(export).await;
    }
    let Some(student_id) = args.student else {
        anyhow::bail!("give your student ID: sockhub calc --student 20212086 (or see sockhub calc --help)");
    };
    if let Err(e) = validate_student_id(&student_id) {
        anyhow::bail!("{}", e.message);
    }
    let ok = calc::run(CalcOptions { addr: args.addr, student_id }).await?;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn run_export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let store = args.db.open().await?;
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut sink = match args.format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(["id", "student_id", "name", "input", "square", "at"])?;
            Sink::Csv(Box::new(w))
        }
        Format::Json => {
            let mut out = out;
            out.write_all(b"[")?;
            Sink::Json { out, first: true }
        }
    };
    let mut filter = CalcResultFilter { student_id: args.student, after_id: None, limit: Some(PAGE) };
    loop {
        let page = store.calc_results(&filter).await?;
        for r in &page {
            sink.write(r)?;
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => filter.after_id = Some(last.id),
            _ => break,
        }
    }
    sink.finish()?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

type Out = std::io::BufWriter<std::io::StdoutLock<'static>>;

/// Where exported rows go: a CSV writer, or a JSON array written one element at a time.
enum Sink {
    Csv(Box<csv::Writer<Out>>),
    Json { out: Out, first: bool },
}

impl Sink {
    fn write(&mut self, r: &CalcResultRow) -> anyhow::Result<()> {
        match self {
            Sink::Csv(w) => w.write_record([
                r.id.to_string().as_str(),
                &r.student_id,
                &r.name,
                &r.input,
                &r.square,
                &sockhub_proto::time::rfc3339_ms(&r.at),
            ])?,
            Sink::Json { out, first } => {
                out.write_all(if *first { b"\n" } else { b",\n" })?;
                serde_json::to_writer(&mut *out, &json_row(r))?;
                *first = false;
            }
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
        }
        Ok(())
    }
}

fn json_row(r: &CalcResultRow) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "student_id": r.student_id,
        "name": r.name,
        "input": r.input,
        "square": r.square,
        "at": sockhub_proto::time::rfc3339_ms(&r.at),
    })
}
