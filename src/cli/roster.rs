//! `sockhub roster import|list|export`: the calculator's student roster.
//!
//! `import FILE` checks every row of the CSV first and, if any is bad, prints each problem with
//! its line number and imports nothing (exit status 1). Otherwise it adds new students, updates
//! changed ones and leaves the rest alone, in one transaction, and says which; `--dry-run` says
//! the same without writing. `list` prints the roster (a table, CSV or JSON), `export` a CSV in
//! the import format that `import` reads back unchanged.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use sockhub_i18n::t;
use sockhub_server::service::calc::roster;
use sockhub_store::{ImportOptions, Student};

use serde::Serialize;

use super::DatabaseArgs;
use super::output::{self, Format, Row};

#[derive(Debug, Subcommand)]
pub enum RosterCommand {
    /// Import students from a CSV file with a header row: student_id,name,department[,email].
    Import(ImportArgs),
    /// Print the roster (a table by default).
    List(ListArgs),
    /// Print the roster as CSV (the import format).
    Export(DatabaseArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    #[command(flatten)]
    db: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file (UTF-8).
    file: PathBuf,
    /// Show what would be added, updated and left alone, without changing anything.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    db: DatabaseArgs,
}

pub async fn run(command: RosterCommand) -> anyhow::Result<ExitCode> {
    match command {
        RosterCommand::Import(args) => import(args).await,
        RosterCommand::List(args) => {
            let students = args.db.open().await?.calc().list_students().await?;
            let rows: Vec<StudentView> = students.into_iter().map(StudentView).collect();
            output::print(&rows, args.format)?;
            Ok(ExitCode::SUCCESS)
        }
        RosterCommand::Export(db) => {
            let students = db.open().await?.calc().list_students().await?;
            let mut out = std::io::stdout().lock();
            roster::write_csv(&mut out, &students)?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let shown = args.file.display();
    let bytes = std::fs::read(&args.file).with_context(|| t!("cli-reading", path = shown.to_string()))?;
    let roster = match roster::parse(&bytes) {
        Ok(roster) => roster,
        Err(errors) => {
            for e in &errors {
                eprintln!("{shown}: {e}");
            }
            let n = errors.len();
            eprintln!("{}", t!("cli-roster-problems", file = shown.to_string(), count = n));
            return Ok(ExitCode::FAILURE);
        }
    };
    let store = args.db.open().await?;
    let opts = ImportOptions { dry_run: args.dry_run, keep_emails: !roster.has_email };
    let report = store.calc().import_students(&roster.students, opts).await?;
    store.close().await;
    let mut out = String::new();
    for s in &report.added {
        out.push_str(&t!("cli-roster-add", student = describe(s)));
        out.push('\n');
    }
    for (old, new) in &report.updated {
        out.push_str(&t!("cli-roster-update", student = describe(new)));
        out.push('\n');
        for (what, a, b) in [
            (t!("roster-field-name"), &old.name, &new.name),
            (t!("roster-field-department"), &old.department, &new.department),
            (
                t!("roster-field-email"),
                &old.email.clone().unwrap_or_default(),
                &new.email.clone().unwrap_or_default(),
            ),
        ] {
            if a != b {
                out.push_str(&format!("          {what}: {a:?} -> {b:?}\n"));
            }
        }
    }
    let (added, updated, same) = (report.added.len(), report.updated.len(), report.unchanged);
    if args.dry_run {
        out.push_str(&t!("cli-roster-dry-run", added = added, updated = updated, same = same));
    } else {
        let file = shown.to_string();
        out.push_str(&t!("cli-roster-imported", file = file, added = added, updated = updated, same = same));
    }
    out.push('\n');
    if report.not_in_file > 0 {
        out.push_str(&t!("cli-roster-not-in-file", count = report.not_in_file));
        out.push('\n');
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

fn describe(s: &Student) -> String {
    let email = s.email.as_deref().map(|e| format!(" <{e}>")).unwrap_or_default();
    format!("{} {} ({}){email}", s.student_id, s.name, s.department)
}

/// A roster row as `list` prints it.
#[derive(Serialize)]
#[serde(transparent)]
struct StudentView(Student);

impl Row for StudentView {
    const HEADERS: &'static [&'static str] = &["student_id", "name", "department", "email"];
    fn cells(&self) -> Vec<String> {
        let s = &self.0;
        vec![s.student_id.clone(), s.name.clone(), s.department.clone(), output::opt(&s.email)]
    }
}
