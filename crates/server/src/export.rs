//! Exports for spreadsheets: the same CSV whether it comes from `sockhub quiz export` or the web
//! page's download button.
//!
//! Fields are quoted as RFC 4180 says, and text that people typed and that a spreadsheet would
//! run as a formula (`=`, `+`, `@`, or `-` not followed by a digit) gets a leading `'`, so an
//! exported answer can never execute in the instructor's spreadsheet.

use std::io::Write;

use sockhub_store::{CalcResultRow, QuizAttemptRow};

/// The quiz attempts CSV columns, in order.
pub const QUIZ_CSV_HEADER: &str =
    "round,player,problem_id,ask,problem,expected,answer,verdict,sent_at,received_at,elapsed_ms";

/// Every quiz attempt as CSV, one row each, with a header.
pub fn quiz_attempts_csv(out: &mut impl Write, rows: &[QuizAttemptRow]) -> std::io::Result<()> {
    writeln!(out, "{QUIZ_CSV_HEADER}")?;
    for r in rows {
        let a = &r.attempt;
        let fields = [
            a.round.to_string(),
            csv_field(&a.player),
            a.problem_id.to_string(),
            a.ask.to_string(),
            csv_field(&a.problem),
            a.expected.to_string(),
            a.answer.as_deref().map(csv_field).unwrap_or_default(),
            a.verdict.clone(),
            sockhub_proto::time::rfc3339_ms(&a.sent_at),
            sockhub_proto::time::rfc3339_ms(&a.received_at),
            a.elapsed_ms.to_string(),
        ];
        writeln!(out, "{}", fields.join(","))?;
    }
    Ok(())
}

/// The calculator results CSV columns, in order.
pub const CALC_CSV_HEADER: &str = "id,student_id,name,input,square,at";

/// One calculator result as a CSV line (with its `\n`); `at` in UTC, RFC 3339 with milliseconds.
pub fn calc_csv_line(r: &CalcResultRow) -> String {
    let fields = [
        r.id.to_string(),
        csv_field(&r.student_id),
        csv_field(&r.name),
        csv_field(&r.input),
        csv_field(&r.square),
        sockhub_proto::time::rfc3339_ms(&r.at),
    ];
    fields.join(",") + "\n"
}

/// One CSV field (RFC 4180 quoting), with formulas defused.
pub fn csv_field(s: &str) -> String {
    // A sign before a digit or a decimal point is a number (`-1.5`, `+.5`), not a formula.
    let number = s.starts_with(['-', '+']) && s[1..].starts_with(|c: char| c.is_ascii_digit() || c == '.');
    let formula = !number && s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let s = if formula { format!("'{s}") } else { s.to_owned() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("36"), "36");
        assert_eq!(csv_field("-36"), "-36");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("-x"), "'-x");
        assert_eq!(csv_field("-"), "'-");
        assert_eq!(csv_field("+12"), "+12");
        assert_eq!(csv_field("-.5"), "-.5");
        assert_eq!(csv_field("+SUM(A1)"), "'+SUM(A1)");
    }
}
