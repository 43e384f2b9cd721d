//! Reading a roster CSV and checking every row, for `sockhub roster import`.
//!
//! The file has a header row naming its columns — `student_id`, `name`, `department` and,
//! optionally, `email`, in any order (case and surrounding spaces ignored; a UTF-8 byte-order
//! mark, as spreadsheet programs write, is skipped). Fields may be quoted (`"Kim, Minsu"`).
//! Blank lines are skipped.
//!
//! Every row is checked, and **every** problem is reported at once with its line number, so an
//! instructor fixes the file in one pass: a wrong number of columns, a student ID that is not
//! 1–20 digits, an empty or over-long name or department, a malformed email, an ID that already
//! appeared earlier in the file, a row that is not UTF-8. If any row is bad nothing is imported;
//! the caller gets the list of [`RowError`]s instead of students.

use std::collections::HashMap;

use sockhub_i18n::{Msg, msg, t};
use sockhub_proto::calc::validate_student_id;
use sockhub_store::Student;
use unicode_normalization::UnicodeNormalization;

/// Longest name or department, in characters.
pub const TEXT_MAX_CHARS: usize = 100;
/// Longest email address, in characters.
pub const EMAIL_MAX_CHARS: usize = sockhub_store::EMAIL_MAX_CHARS;

/// One problem in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line number in the file (of the row's first line, for a quoted field that spans
    /// lines).
    pub line: u64,
    /// What is wrong, in the language of the moment it is shown.
    pub reason: Msg,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&t!("roster-line", line = self.line, reason = self.reason.clone()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    StudentId,
    Name,
    Department,
    Email,
}

impl Column {
    fn from_header(h: &str) -> Option<Column> {
        match h.trim().to_ascii_lowercase().as_str() {
            "student_id" => Some(Column::StudentId),
            "name" => Some(Column::Name),
            "department" => Some(Column::Department),
            "email" => Some(Column::Email),
            _ => None,
        }
    }
}

const EXPECTED: &str = "student_id,name,department[,email]";

/// A checked roster file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roster {
    pub students: Vec<Student>,
    /// Whether the file has an email column. Without one, an import keeps the emails already
    /// on the roster instead of clearing them.
    pub has_email: bool,
}

/// Parse and check a whole roster file. `Ok` only if every row is good.
pub fn parse(bytes: &[u8]) -> Result<Roster, Vec<RowError>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut records = reader.byte_records();
    let err = |line: u64, reason: Msg| vec![RowError { line, reason }];

    let header = match records.next() {
        None => {
            return Err(err(1, msg!("roster-empty", expected = EXPECTED)));
        }
        Some(Err(e)) => {
            return Err(err(line_of(&e), msg!("roster-header-unreadable", error = e.to_string())));
        }
        Some(Ok(h)) => h,
    };
    let header_line = header.position().map_or(1, |p| p.line());
    let mut columns = Vec::with_capacity(header.len());
    for field in header.iter() {
        let Ok(name) = std::str::from_utf8(field) else {
            return Err(err(header_line, msg!("roster-header-not-utf8")));
        };
        match Column::from_header(name) {
            Some(c) if columns.contains(&c) => {
                return Err(err(
                    header_line,
                    msg!("roster-column-twice", column = format!("{:?}", name.trim())),
                ));
            }
            Some(c) => columns.push(c),
            None => {
                return Err(err(
                    header_line,
                    msg!("roster-column-unknown", column = format!("{:?}", name.trim()), expected = EXPECTED),
                ));
            }
        }
    }
    for required in [Column::StudentId, Column::Name, Column::Department] {
        if !columns.contains(&required) {
            return Err(err(
                header_line,
                msg!("roster-column-missing", column = format!("{required:?}"), expected = EXPECTED),
            ));
        }
    }

    let mut students = Vec::new();
    let mut errors = Vec::new();
    let mut first_seen: HashMap<String, u64> = HashMap::new();
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError {
                    line: line_of(&e),
                    reason: msg!("roster-row-unreadable", error = e.to_string()),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != columns.len() {
            errors.push(RowError {
                line,
                reason: msg!("roster-column-count", expected = columns.len(), found = record.len()),
            });
            continue;
        }
        let mut fields = Vec::with_capacity(columns.len());
        let mut utf8_ok = true;
        for field in record.iter() {
            match std::str::from_utf8(field) {
                Ok(s) => fields.push(s.trim()),
                Err(_) => utf8_ok = false,
            }
        }
        if !utf8_ok {
            errors.push(RowError { line, reason: msg!("roster-row-not-utf8") });
            continue;
        }
        let get = |c: Column| columns.iter().position(|&x| x == c).map_or("", |i| fields[i]);
        let id = get(Column::StudentId);
        // A repeated ID is reported even when the earlier row had other problems.
        let duplicate = match first_seen.get(id) {
            Some(first) => Some(msg!("roster-duplicate-id", id = id, first = *first)),
            None => {
                if validate_student_id(id).is_ok() {
                    first_seen.insert(id.to_owned(), line);
                }
                None
            }
        };
        match (check_row(id, get(Column::Name), get(Column::Department), get(Column::Email)), duplicate) {
            (Ok(student), None) => students.push(student),
            (checked, duplicate) => {
                let reasons = duplicate.into_iter().chain(checked.err().into_iter().flatten());
                errors.extend(reasons.map(|reason| RowError { line, reason }));
            }
        }
    }
    let has_email = columns.contains(&Column::Email);
    if errors.is_empty() { Ok(Roster { students, has_email }) } else { Err(errors) }
}

fn line_of(e: &csv::Error) -> u64 {
    e.position().map_or(0, |p| p.line())
}

/// Check one row's fields (already trimmed); every problem is listed.
fn check_row(id: &str, name: &str, department: &str, email: &str) -> Result<Student, Vec<Msg>> {
    let mut reasons = Vec::new();
    if let Err(e) = validate_student_id(id) {
        reasons.push(msg!("roster-bad-id", error = e.message));
    }
    let mut text = |what: Msg, value: &str| {
        let n = value.chars().count();
        if n == 0 {
            reasons.push(msg!("roster-field-empty", field = what));
        } else if n > TEXT_MAX_CHARS {
            reasons.push(msg!("roster-field-too-long", field = what, count = n, max = TEXT_MAX_CHARS));
        } else if let Err(bad) = sockhub_proto::text::check(value) {
            // Shown to every student in the room: the same rule as chat text.
            reasons.push(msg!("roster-field-forbidden", field = what, what = bad.describe()));
        }
    };
    text(msg!("roster-field-name"), name);
    text(msg!("roster-field-department"), department);
    if !email.is_empty()
        && let Err(why) = check_email(email)
    {
        reasons.push(msg!("roster-bad-email", email = format!("{email:?}"), why = why));
    }
    if !reasons.is_empty() {
        return Err(reasons);
    }
    Ok(Student {
        student_id: id.to_owned(),
        name: name.nfc().collect(),
        department: department.nfc().collect(),
        email: (!email.is_empty()).then(|| email.to_owned()),
    })
}

/// A deliberately simple email check: catches typos (no `@`, two `@`, no dot in the domain,
/// spaces), not every address RFC 5322 allows.
fn check_email(email: &str) -> Result<(), Msg> {
    if email.chars().count() > EMAIL_MAX_CHARS {
        return Err(msg!("roster-email-too-long"));
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(msg!("roster-email-space"));
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(msg!("roster-email-no-at"));
    };
    if local.is_empty() || domain.contains('@') {
        return Err(msg!("roster-email-one-at"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
        return Err(msg!("roster-email-domain"));
    }
    Ok(())
}

/// Write students as a roster CSV (the import format, with the email column), for
/// `sockhub roster export`. Importing the output changes nothing.
pub fn write_csv<W: std::io::Write>(out: W, students: &[Student]) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["student_id", "name", "department", "email"])?;
    for s in students {
        w.write_record([&s.student_id, &s.name, &s.department, s.email.as_deref().unwrap_or("")])?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(csv: &[u8]) -> Vec<String> {
        parse(csv).unwrap_err().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_good_file_with_hangul_quotes_bom_and_any_column_order() {
        let file = "\u{feff}Name, student_id ,department,EMAIL\n\
                    김민수,20212086,컴퓨터공학과,minsu@example.ac.kr\n\
                    \n\
                    \"Kim, Ada\",00042,\"Maths\",\n\
                    \u{1112}\u{1169}\u{11BC}\u{1100}\u{1175}\u{11AF}\u{1103}\u{1169}\u{11BC},20212087,전자공학과,\n";
        let roster = parse(file.as_bytes()).unwrap();
        assert!(roster.has_email);
        let students = roster.students;
        assert_eq!(students.len(), 3);
        assert_eq!(students[0].name, "김민수");
        assert_eq!(students[0].email.as_deref(), Some("minsu@example.ac.kr"));
        assert_eq!(students[1].name, "Kim, Ada");
        assert_eq!(students[1].student_id, "00042");
        assert_eq!(students[1].email, None);
        assert_eq!(students[2].name, "홍길동", "names are stored in NFC");
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let mut file = b"student_id,name,department,email\n\
            20212086,Kim,CS,kim@example.ac.kr\n\
            2021-2087,Lee,CS,\n\
            20212088,,CS,\n\
            20212089,Park\n\
            20212086,Kim again,CS,\n\
            20212090,Choi,CS,not-an-email\n\
            abc,,,a@b\n\
            20212088,Han,CS,\n"
            .to_vec();
        file.extend_from_slice(b"20212091,\xff\xfe,CS,\n");
        file.extend_from_slice(b"20212092,Good,CS,good@example.com\n");
        assert_eq!(
            errors(&file),
            [
                "line 3: student_id: a student ID is digits only (e.g. 20212086), not \"2021-2087\"",
                "line 4: name is empty",
                "line 5: expected 4 columns as in the header, found 2",
                "line 6: student_id 20212086 already appears on line 2",
                "line 7: email \"not-an-email\": no @",
                "line 8: student_id: a student ID is digits only (e.g. 20212086), not \"abc\"",
                "line 8: name is empty",
                "line 8: department is empty",
                "line 8: email \"a@b\": the domain needs a dot, like example.ac.kr",
                "line 9: student_id 20212088 already appears on line 4",
                "line 10: not valid UTF-8 (save the file as UTF-8)",
            ]
        );
    }

    #[test]
    fn header_problems() {
        assert_eq!(
            errors(b""),
            [
                "line 1: the file is empty; the first line must be the header student_id,name,department[,email]"
            ]
        );
        assert_eq!(
            errors("학번,name,department\n1,a,b\n".as_bytes()),
            ["line 1: unknown column \"학번\" in the header; expected student_id,name,department[,email]"]
        );
        assert!(errors(b"student_id,name\n1,a\n")[0].contains("no Department column"));
        assert!(errors(b"student_id,name,name,department\n")[0].contains("appears twice"));
        assert_eq!(
            parse(b"student_id,name,department\n").unwrap(),
            Roster { students: vec![], has_email: false }
        );
        let long = format!("student_id,name,department\n1,{},d\n{},n,d\n", "가".repeat(101), "1".repeat(21));
        let e = errors(long.as_bytes());
        assert_eq!(e[0], "line 2: name has 101 characters; at most 100");
        assert!(e[1].starts_with("line 3: student_id: a student ID has at most 20 digits"), "{}", e[1]);
    }

    #[test]
    fn export_round_trips() {
        let students = parse(
            "student_id,name,department,email\n1,\"Kim, Ada\",수학과,\n2,이영희,CS,l@x.kr\n".as_bytes(),
        )
        .unwrap()
        .students;
        let mut out = Vec::new();
        write_csv(&mut out, &students).unwrap();
        assert_eq!(parse(&out).unwrap().students, students);
    }
}
