//! Exports for spreadsheets: the columns of each export and the CSV they are written as, shared
//! by the command line (`sockhub quiz export`, `sockhub calc export`, every `--format csv`) and
//! the web page's download buttons, so both give the same file.
//!
//! Quoting is the `csv` crate's (RFC 4180). Text that people typed and that a spreadsheet would
//! run as a formula gets a leading `'` ([`defuse_formula`]), so opening an export never
//! executes what a user wrote.

use std::borrow::Cow;

use sockhub_store::{CalcResultRow, QuizAttemptRow};

/// A cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, a tab or carriage
/// return first) gets a leading `'`, unless the whole cell is a number ([`is_plain_number`]:
/// `-36`, `+.5`, `-1.5e3`), which is left alone. Only the whole cell counts: `-1+HYPERLINK(..)`
/// starts like a number and is a formula.
pub fn defuse_formula(cell: &str) -> Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_plain_number(cell);
    if risky { format!("'{cell}").into() } else { cell.into() }
}

/// `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`, and nothing else.
fn is_plain_number(cell: &str) -> bool {
    fn digits(s: &str) -> (usize, &str) {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        (n, &s[n..])
    }
    let rest = cell.strip_prefix(['+', '-']).unwrap_or(cell);
    let (int, rest) = digits(rest);
    let (frac, rest) = match rest.strip_prefix('.') {
        Some(r) => digits(r),
        None => (0, rest),
    };
    if int + frac == 0 {
        return false;
    }
    match rest.strip_prefix(['e', 'E']) {
        Some(exp) => {
            let (n, tail) = digits(exp.strip_prefix(['+', '-']).unwrap_or(exp));
            n > 0 && tail.is_empty()
        }
        None => rest.is_empty(),
    }
}

/// Rows as CSV (with `headers` first, when given), every cell defused.
pub fn csv_bytes(headers: Option<&[&str]>, rows: impl IntoIterator<Item = Vec<String>>) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let write = |w: &mut csv::Writer<Vec<u8>>| -> csv::Result<()> {
        if let Some(headers) = headers {
            w.write_record(headers)?;
        }
        for row in rows {
            w.write_record(row.iter().map(|cell| defuse_formula(cell).into_owned()))?;
        }
        w.flush()?;
        Ok(())
    };
    write(&mut w).expect("writing CSV to memory cannot fail");
    w.into_inner().expect("flushed")
}

/// The quiz attempts export's columns.
pub const QUIZ_ATTEMPT_HEADERS: &[&str] = &[
    "round",
    "player",
    "problem_id",
    "ask",
    "problem",
    "expected",
    "answer",
    "verdict",
    "sent_at",
    "received_at",
    "elapsed_ms",
];

/// One quiz attempt's cells, in [`QUIZ_ATTEMPT_HEADERS`] order.
pub fn quiz_attempt_cells(row: &QuizAttemptRow) -> Vec<String> {
    let a = &row.attempt;
    vec![
        a.round.to_string(),
        a.player.clone(),
        a.problem_id.to_string(),
        a.ask.to_string(),
        a.problem.clone(),
        a.expected.to_string(),
        a.answer.clone().unwrap_or_default(),
        a.verdict.clone(),
        sockhub_proto::time::rfc3339_ms(&a.sent_at),
        sockhub_proto::time::rfc3339_ms(&a.received_at),
        a.elapsed_ms.to_string(),
    ]
}

/// The calculator results export's columns.
pub const CALC_RESULT_HEADERS: &[&str] = &["id", "student_id", "name", "input", "square", "at"];

/// One calculator result's cells, in [`CALC_RESULT_HEADERS`] order (`at` in UTC, RFC 3339 with
/// milliseconds).
pub fn calc_result_cells(r: &CalcResultRow) -> Vec<String> {
    vec![
        r.id.to_string(),
        r.student_id.clone(),
        r.name.clone(),
        r.input.clone(),
        r.square.clone(),
        sockhub_proto::time::rfc3339_ms(&r.at),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_numbers_kept() {
        assert_eq!(defuse_formula("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse_formula("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse_formula("+SUM(A1)"), "'+SUM(A1)");
        assert_eq!(defuse_formula("-cmd"), "'-cmd");
        assert_eq!(defuse_formula("-"), "'-");
        assert_eq!(defuse_formula("-36"), "-36");
        assert_eq!(defuse_formula("-.5"), "-.5");
        assert_eq!(defuse_formula("+12"), "+12");
        assert_eq!(defuse_formula("plain"), "plain");
        assert_eq!(defuse_formula("-1.5"), "-1.5");
        assert_eq!(defuse_formula("-1.5e-3"), "-1.5e-3");
        assert_eq!(defuse_formula("+3."), "+3.");
        // Starts like a number, is a formula.
        assert_eq!(defuse_formula("-1+HYPERLINK(\"http://x\")"), "'-1+HYPERLINK(\"http://x\")");
        assert_eq!(defuse_formula("+1-1"), "'+1-1");
        assert_eq!(defuse_formula("-.5e"), "'-.5e");
        assert_eq!(defuse_formula("-."), "'-.");
        assert_eq!(defuse_formula("-1 "), "'-1 ");
        assert_eq!(defuse_formula("\t=1"), "'\t=1");
        assert_eq!(defuse_formula("\r-1"), "'\r-1");
        assert_eq!(defuse_formula("12=3"), "12=3");
    }

    #[test]
    fn csv_quotes_like_rfc_4180() {
        let out = csv_bytes(Some(&["name", "n"]), [vec!["김, \"민수\"".to_owned(), "=1+1".to_owned()]]);
        assert_eq!(String::from_utf8(out).unwrap(), "name,n\n\"김, \"\"민수\"\"\",'=1+1\n");
    }
}
