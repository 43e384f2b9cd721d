//! How report commands print rows: an aligned table for people, CSV for spreadsheets, JSON for
//! programs (`--format table|csv|json`). Each row type says its column headers and cells once.

use std::io::Write;

use clap::ValueEnum;
use serde::Serialize;
use sockhub_i18n::{Lang, t};
use sockhub_proto::text;
use sockhub_server::export::defuse_formula;

/// The `--format` of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Aligned columns (Hangul-aware widths).
    #[default]
    Table,
    /// RFC 4180 CSV with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// A row that can be printed in every format.
pub trait Row: Serialize {
    /// Column headers, in order.
    const HEADERS: &'static [&'static str];
    /// This row's cells, in header order.
    fn cells(&self) -> Vec<String>;
}

/// Print `rows` to stdout in `format`. A reader that stops early (`| head`) is not an error.
pub fn print<R: Row>(rows: &[R], format: Format) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let result = write(&mut out, rows, format).and_then(|()| Ok(out.flush()?));
    match result {
        Err(e) if is_broken_pipe(&e) => Ok(()),
        other => other,
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || cause.downcast_ref::<csv::Error>().is_some_and(
                |c| matches!(c.kind(), csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe),
            )
            || cause
                .downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
    })
}

/// Write `rows` in `format`.
pub fn write<R: Row>(out: &mut impl Write, rows: &[R], format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, rows)?;
            writeln!(out)?;
        }
        Format::Csv => {
            let mut csv = csv::Writer::from_writer(out);
            csv.write_record(R::HEADERS)?;
            for row in rows {
                csv.write_record(row.cells().iter().map(|cell| defuse_formula(cell).into_owned()))?;
            }
            csv.flush()?;
        }
        Format::Table => {
            let mut table = comfy_table::Table::new();
            table.load_style(comfy_table::presets::UTF8_BORDERS_ONLY).set_header(table_headers(R::HEADERS));
            // Cells are other people's text (chat lines, device payloads): a raw escape sequence
            // or line break would repaint the operator's terminal or forge a row.
            for row in rows {
                table.add_row(row.cells().iter().map(|cell| text::escape(cell).into_owned()));
            }
            writeln!(out, "{table}")?;
            writeln!(out, "{}", t!("cli-rows", count = rows.len()))?;
        }
    }
    Ok(())
}

/// A table's column headers for people, in the current language (`cli-col-<column>`; a column
/// without a message keeps its name). CSV and JSON keep the names, which programs read.
fn table_headers(columns: &[&str]) -> Vec<String> {
    let lang = Lang::current();
    columns
        .iter()
        .map(|c| {
            sockhub_i18n::lookup(lang, &format!("cli-col-{}", c.replace('_', "-")))
                .unwrap_or_else(|| (*c).to_owned())
        })
        .collect()
}

/// A time as the reports show it: local, `2026-11-21 15:11:48`.
pub fn local_time(t: &chrono::DateTime<chrono::Utc>) -> String {
    sockhub_proto::time::log_format(t)
}

/// An optional value as a cell.
pub fn opt(v: &Option<impl ToString>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// A point in time from the command line: RFC 3339, or local `YYYY-MM-DD[ HH:MM[:SS]]`.
pub fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    use chrono::{Local, NaiveDate, NaiveDateTime, TimeZone};
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.to_utc());
    }
    let naive = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
        .ok_or_else(|| t!("cli-bad-time", text = format!("{s:?}")))?;
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.to_utc())
        .ok_or_else(|| t!("cli-time-missing", text = format!("{s:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Line(String);

    impl Row for Line {
        const HEADERS: &'static [&'static str] = &["text"];
        fn cells(&self) -> Vec<String> {
            vec![self.0.clone()]
        }
    }

    #[test]
    fn tables_show_control_characters_escaped() {
        let rows = [Line("hi\n[teacher] forged\u{1b}[2J\u{202e}".into())];
        let mut out = Vec::new();
        write(&mut out, &rows, Format::Table).unwrap();
        let shown = String::from_utf8(out).unwrap();
        assert!(shown.contains("hi\\n[teacher] forged\\x1b[2J\\u{202e}"), "{shown}");
        assert!(!shown.contains('\u{1b}') && !shown.contains('\u{202e}'));
        assert_eq!(shown.lines().count(), 6, "a header, one row, no forged line: {shown}");
    }

    #[test]
    fn korean_tables_translate_headers_and_status_but_csv_and_json_keep_names() {
        let rows = [Line("안녕".into())];
        let (mut table, mut csv, mut json) = (Vec::new(), Vec::new(), Vec::new());
        Lang::Ko.scope(|| {
            write(&mut table, &rows, Format::Table).unwrap();
            write(&mut csv, &rows, Format::Csv).unwrap();
            write(&mut json, &rows, Format::Json).unwrap();
        });
        let table = String::from_utf8(table).unwrap();
        assert!(table.contains("내용") && !table.contains("text"), "{table}");
        assert!(table.ends_with("(1행)\n"), "{table}");
        assert_eq!(String::from_utf8(csv).unwrap(), "text\n안녕\n");
        assert_eq!(String::from_utf8(json).unwrap(), "[\n  \"안녕\"\n]\n");
        let mut english = Vec::new();
        write(&mut english, &rows, Format::Table).unwrap();
        let english = String::from_utf8(english).unwrap();
        assert!(english.contains("text") && english.ends_with("(1 row)\n"), "{english}");
    }

    #[test]
    fn times_parse_in_every_accepted_form() {
        let z = parse_time("2026-11-21T06:11:48Z").unwrap();
        assert_eq!(z.to_rfc3339(), "2026-11-21T06:11:48+00:00");
        assert!(parse_time("2026-11-21").is_ok());
        assert!(parse_time("2026-11-21 15:00").is_ok());
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn csv_and_json_carry_the_same_rows() {
        #[derive(serde::Serialize)]
        struct R {
            name: &'static str,
            n: u32,
        }
        impl Row for R {
            const HEADERS: &'static [&'static str] = &["name", "n"];
            fn cells(&self) -> Vec<String> {
                vec![self.name.into(), self.n.to_string()]
            }
        }
        let rows = [R { name: "김, \"민수\"", n: 1 }];
        let mut csv = Vec::new();
        write(&mut csv, &rows, Format::Csv).unwrap();
        assert_eq!(String::from_utf8(csv).unwrap(), "name,n\n\"김, \"\"민수\"\"\",1\n");
        let mut json = Vec::new();
        write(&mut json, &rows, Format::Json).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v[0]["name"], "김, \"민수\"");
    }
}
