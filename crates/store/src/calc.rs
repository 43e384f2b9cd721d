//! The square calculator's data: the student roster and every acknowledged result.
//!
//! Both are written synchronously, never through the batched writer: a roster import must say
//! what it did, and a result must be **durable before the student is told** (the calculator
//! promises that nothing acknowledged is ever missing, even after `kill -9`). To keep that cheap
//! under load, [`CalcStore::insert_results`] takes many results at once and commits them in one
//! transaction; the server's group-commit task hands it whatever has queued up meanwhile.
//!
//! A roster import is all or nothing and runs in one transaction. A dry run takes the very same
//! path and rolls back at the end, so what it reports is exactly what the import would do.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use unicode_normalization::UnicodeNormalization;

use crate::error::StoreError;
use crate::model::{from_ms, limits, now, to_ms};

/// Email addresses (characters).
pub const EMAIL_MAX_CHARS: usize = 254;

/// Rows per multi-row INSERT when committing results: 5 values each keeps every statement well
/// under each backend's limit on bound parameters.
const RESULT_ROWS_PER_INSERT: usize = 200;

/// A student on the roster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Student {
    /// Digits, kept as text (leading zeros are part of the ID).
    pub student_id: String,
    /// Stored in Unicode NFC, so a Hangul name typed as jamo and as syllables is one name.
    pub name: String,
    pub department: String,
    pub email: Option<String>,
}

impl Student {
    /// The stored form: names and departments in NFC, an empty email as none.
    fn normalized(&self) -> Student {
        Student {
            student_id: self.student_id.clone(),
            name: self.name.nfc().collect(),
            department: self.department.nfc().collect(),
            email: self.email.clone().filter(|e| !e.is_empty()),
        }
    }
}

/// What a roster import did (or, for a dry run, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Students that were not on the roster.
    pub added: Vec<Student>,
    /// Students whose name, department or email changed: `(before, after)`.
    pub updated: Vec<(Student, Student)>,
    /// Students already on the roster exactly as in the file.
    pub unchanged: usize,
    /// Students on the roster who are not in the file; an import keeps them (their results
    /// refer to them).
    pub not_in_file: usize,
    /// True for a dry run: nothing was written.
    pub dry_run: bool,
}

/// How to import.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Do the work, report it, and roll it back.
    pub dry_run: bool,
    /// The file has no email column: keep the emails already on the roster (rather than
    /// clearing them as a file with an empty email cell would).
    pub keep_emails: bool,
}

/// A result to store. `at` should come from [`crate::now`] (whole milliseconds) so that what is
/// read back compares equal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCalcResult {
    pub student_id: String,
    /// The student's name at the time (empty for a student not on the roster).
    pub name: String,
    pub input: String,
    pub square: String,
    pub at: DateTime<Utc>,
}

/// A stored result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalcResultRow {
    /// Commit order: a later result has a larger id.
    pub id: i64,
    pub student_id: String,
    pub name: String,
    pub input: String,
    pub square: String,
    pub at: DateTime<Utc>,
}

/// Which results to read, in commit order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CalcResultFilter {
    /// Only this student's.
    pub student_id: Option<String>,
    /// Only results with an id above this (for reading page by page).
    pub after_id: Option<i64>,
    /// At most this many (the *first* ones after `after_id`).
    pub limit: Option<u32>,
}

query_group! {
    /// The calculator's queries, borrowed from a [`Store`](crate::Store) ([`Store::calc`](crate::Store::calc)).
    pub struct CalcStore;
    /// The calculator's roster and its results.
    fn calc;
}

impl CalcStore<'_> {
    /// Imports `students` in one transaction: adds new IDs, updates changed ones, leaves the rest
    /// alone. With `opts.dry_run`, does the same work and rolls it back. The caller validates rows
    /// first; the store only refuses values that do not fit its columns ([`StoreError::Invalid`],
    /// nothing written) and duplicate IDs in `students` (likewise).
    pub async fn import_students(
        self,
        students: &[Student],
        opts: ImportOptions,
    ) -> Result<ImportReport, StoreError> {
        let ImportOptions { dry_run, keep_emails } = opts;
        let mut seen = HashMap::with_capacity(students.len());
        for s in students {
            check_student(s)?;
            if seen.insert(s.student_id.as_str(), ()).is_some() {
                return Err(StoreError::Invalid(format!("student {} appears twice", s.student_id)));
            }
        }
        let mut tx = self.pool().begin().await?;
        let existing: HashMap<String, Student> = self
            .query("SELECT student_id, name, department, email FROM students")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| student_from_row(row).map(|s| (s.student_id.clone(), s)))
            .collect::<Result<_, _>>()?;
        let stamp = to_ms(now());
        let mut report = ImportReport { dry_run, ..ImportReport::default() };
        for mut s in students.iter().map(Student::normalized) {
            if keep_emails {
                s.email = existing.get(&s.student_id).and_then(|old| old.email.clone());
            }
            match existing.get(&s.student_id) {
                Some(old) if *old == s => report.unchanged += 1,
                Some(old) => {
                    self.query(
                        "UPDATE students SET name = $1, department = $2, email = $3, updated_at_ms = $4 \
                         WHERE student_id = $5",
                    )
                    .bind(s.name.clone())
                    .bind(s.department.clone())
                    .bind(s.email.clone())
                    .bind(stamp)
                    .bind(s.student_id.clone())
                    .execute(&mut *tx)
                    .await?;
                    report.updated.push((old.clone(), s));
                }
                None => {
                    self.query(
                        "INSERT INTO students \
                         (student_id, name, department, email, created_at_ms, updated_at_ms) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(s.student_id.clone())
                    .bind(s.name.clone())
                    .bind(s.department.clone())
                    .bind(s.email.clone())
                    .bind(stamp)
                    .bind(stamp)
                    .execute(&mut *tx)
                    .await?;
                    report.added.push(s);
                }
            }
        }
        report.not_in_file = existing.keys().filter(|id| !seen.contains_key(id.as_str())).count();
        if dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok(report)
    }

    /// The student with this ID, if on the roster.
    pub async fn find_student(self, student_id: &str) -> Result<Option<Student>, StoreError> {
        let row = self
            .query("SELECT student_id, name, department, email FROM students WHERE student_id = $1")
            .bind(student_id.to_string())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(student_from_row).transpose()
    }

    /// The whole roster. Ordered by ID as a number would be (shorter IDs first, then by digits),
    /// which for same-length IDs is the usual order.
    pub async fn list_students(self) -> Result<Vec<Student>, StoreError> {
        let rows = self
            .query("SELECT student_id, name, department, email FROM students")
            .fetch_all(self.pool())
            .await?;
        let mut students = rows.iter().map(student_from_row).collect::<Result<Vec<_>, _>>()?;
        students
            .sort_by(|a, b| (a.student_id.len(), &a.student_id).cmp(&(b.student_id.len(), &b.student_id)));
        Ok(students)
    }

    /// Stores `results` in one transaction, in order: either all are durable when this returns
    /// `Ok`, or (on `Err`) none of them were committed — except when the connection failed during
    /// the COMMIT itself, when the outcome is unknown and the rows may be there.
    pub async fn insert_results(self, results: &[NewCalcResult]) -> Result<(), StoreError> {
        if results.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool().begin().await?;
        for chunk in results.chunks(RESULT_ROWS_PER_INSERT) {
            let mut b = self.buf();
            b.push("INSERT INTO calc_results (student_id, name, input, square, at_ms) VALUES ");
            for (i, r) in chunk.iter().enumerate() {
                b.push(if i == 0 { "(" } else { ", (" });
                b.bind(r.student_id.clone()).push(", ");
                b.bind(r.name.clone()).push(", ");
                b.bind(r.input.clone()).push(", ");
                b.bind(r.square.clone()).push(", ");
                b.bind(to_ms(r.at)).push(")");
            }
            b.build()?.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest `limit` results of one student, oldest first (newest last).
    pub async fn recent_results(
        self,
        student_id: &str,
        limit: u32,
    ) -> Result<Vec<CalcResultRow>, StoreError> {
        let rows = self
            .query(
                "SELECT id, student_id, name, input, square, at_ms FROM calc_results \
                 WHERE student_id = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(student_id.to_string())
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        let mut results = rows.iter().map(result_from_row).collect::<Result<Vec<_>, _>>()?;
        results.reverse();
        Ok(results)
    }

    /// Results matching `f`, in commit order (oldest first). For exports, read page by page:
    /// `after_id` = the last id of the previous page.
    pub async fn results(self, f: &CalcResultFilter) -> Result<Vec<CalcResultRow>, StoreError> {
        let mut b = self.buf();
        b.push("SELECT id, student_id, name, input, square, at_ms FROM calc_results WHERE 1 = 1");
        if let Some(id) = &f.student_id {
            b.push(" AND student_id = ").bind(id.clone());
        }
        if let Some(after) = f.after_id {
            b.push(" AND id > ").bind(after);
        }
        b.push(" ORDER BY id");
        if let Some(n) = f.limit {
            b.push(" LIMIT ").bind(i64::from(n));
        }
        let rows = b.build()?.fetch_all(self.pool()).await?;
        rows.iter().map(result_from_row).collect()
    }
}

/// Refuses what would not fit the columns (the same bounds on every backend).
fn check_student(s: &Student) -> Result<(), StoreError> {
    let fits = |what: &str, v: &str, min: usize, max: usize| {
        let n = v.chars().count();
        if n < min || n > max {
            Err(StoreError::Invalid(format!(
                "student {}: {what} must have {min} to {max} characters (has {n})",
                s.student_id
            )))
        } else {
            Ok(())
        }
    };
    fits("student_id", &s.student_id, 1, limits::STUDENT_ID_MAX_CHARS)?;
    fits("name", &s.name, 1, limits::NAME_MAX_CHARS)?;
    fits("department", &s.department, 0, limits::NAME_MAX_CHARS)?;
    fits("email", s.email.as_deref().unwrap_or(""), 0, EMAIL_MAX_CHARS)
}

fn student_from_row(row: &AnyRow) -> Result<Student, StoreError> {
    Ok(Student {
        student_id: row.try_get("student_id")?,
        name: row.try_get("name")?,
        department: row.try_get("department")?,
        email: row.try_get("email")?,
    })
}

fn result_from_row(row: &AnyRow) -> Result<CalcResultRow, StoreError> {
    Ok(CalcResultRow {
        id: row.try_get("id")?,
        student_id: row.try_get("student_id")?,
        name: row.try_get("name")?,
        input: row.try_get("input")?,
        square: row.try_get("square")?,
        at: from_ms(row.try_get("at_ms")?)?,
    })
}
