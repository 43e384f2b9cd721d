//! Accounts: create, find, list, change password or role, remove.
//!
//! Names are unique case-insensitively: the `name_key` column (NFC + lowercase, see
//! [`crate::name_key`]) carries the UNIQUE constraint, so the database itself settles a race
//! between two registrations of `Kim` and `kim`, and the loser gets [`StoreError::Conflict`].
//!
//! Names that merely *look* alike (`teacher`, `tеacher` with a Cyrillic е) share a
//! `name_skeleton` ([`crate::name_skeleton`]): [`AccountStore::add`] refuses a name that looks
//! like an existing account's, and [`AccountStore::find`] falls back to the skeleton, so a login
//! as a look-alike is a login to the account it imitates (its password, its name).
//! These are synchronous writes (not through the batched writer): the caller needs the answer.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::StoreError;
use crate::model::{
    Account, NewAccount, Role, column_key, column_skeleton, display_name_form, from_ms, limits, now, to_ms,
};

const ACCOUNT_COLUMNS: &str = "id, name, password_hash, role, student_id, display_name, created_at_ms";

query_group! {
    /// The accounts' queries, borrowed from a [`Store`](crate::Store) ([`Store::accounts`](crate::Store::accounts)).
    pub struct AccountStore;
    /// Accounts: adding, finding, listing, changing and removing them.
    fn accounts;
}

impl AccountStore<'_> {
    /// Creates an account. [`StoreError::Conflict`] if the name is taken (in any letter case);
    /// [`StoreError::Invalid`] if a field is empty or too long (see [`crate::limits`]).
    pub async fn add(self, a: &NewAccount) -> Result<Account, StoreError> {
        let name = display_name_form(a.name.trim());
        check_len("name", &name, 1, limits::NAME_MAX_CHARS)?;
        check_len("password hash", &a.password_hash, 1, limits::PASSWORD_HASH_MAX_CHARS)?;
        if let Some(s) = &a.student_id {
            check_len("student id", s, 0, limits::STUDENT_ID_MAX_CHARS)?;
        }
        if let Some(s) = &a.display_name {
            check_len("display name", s, 0, limits::NAME_MAX_CHARS)?;
        }
        let key = column_key(&name);
        let skeleton = column_skeleton(&name);
        // The insert comes first: on SQLite a transaction that reads before it writes cannot wait
        // for another writer (it fails with "database is locked" at once), one that writes first
        // waits for the lock like any other write.
        let mut tx = self.pool().begin().await?;
        let inserted = self
            .query(
                "INSERT INTO accounts \
                 (name, name_key, name_skeleton, password_hash, role, student_id, display_name, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(name.clone())
            .bind(key.clone())
            .bind(skeleton.clone())
            .bind(a.password_hash.clone())
            .bind(a.role.as_str())
            .bind(a.student_id.clone())
            .bind(a.display_name.clone())
            .bind(to_ms(now()))
            .execute(&mut *tx)
            .await;
        match inserted {
            Ok(_) => {}
            Err(e) => {
                return Err(match StoreError::from(e) {
                    StoreError::Conflict(_) => {
                        StoreError::Conflict(format!("account name {name:?} is already taken"))
                    }
                    other => other,
                });
            }
        }
        let look_alike = self
            .query(
                "SELECT name FROM accounts WHERE name_skeleton = $1 AND name_key <> $2 ORDER BY id LIMIT 1",
            )
            .bind(skeleton)
            .bind(key.clone())
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = look_alike {
            let other: String = row.try_get("name")?;
            tx.rollback().await?;
            return Err(StoreError::Conflict(format!(
                "account name {name:?} looks too much like the existing account {other:?}"
            )));
        }
        // Read it back in the same transaction: portable (MySQL has no RETURNING) and gives the
        // id and stored forms exactly as a later find_account will.
        let row = self
            .query(
                "SELECT id, name, password_hash, role, student_id, display_name, created_at_ms \
                 FROM accounts WHERE name_key = $1",
            )
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
        let account = account_from_row(&row)?;
        tx.commit().await?;
        Ok(account)
    }

    /// The account named `name` (any letter case), or else the oldest account whose name looks
    /// like it (the same confusable skeleton), if there is one.
    pub async fn find(self, name: &str) -> Result<Option<Account>, StoreError> {
        let name = name.trim();
        let row = self
            .query(
                "SELECT id, name, password_hash, role, student_id, display_name, created_at_ms \
                 FROM accounts WHERE name_key = $1",
            )
            .bind(column_key(name))
            .fetch_optional(self.pool())
            .await?;
        let row = match row {
            Some(row) => Some(row),
            None => {
                self.query(
                    "SELECT id, name, password_hash, role, student_id, display_name, created_at_ms \
                     FROM accounts WHERE name_skeleton = $1 ORDER BY id LIMIT 1",
                )
                .bind(column_skeleton(name))
                .fetch_optional(self.pool())
                .await?
            }
        };
        row.as_ref().map(account_from_row).transpose()
    }

    /// Fill in `name_skeleton` for accounts created before it existed (or by an older
    /// version). Runs when the store opens; a no-op once every account has one.
    pub(crate) async fn backfill_name_skeletons(self) -> Result<u64, StoreError> {
        let rows = self
            .query("SELECT id, name FROM accounts WHERE name_skeleton IS NULL")
            .fetch_all(self.pool())
            .await?;
        let mut filled = 0;
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            let name: String = row.try_get("name")?;
            filled += self
                .query("UPDATE accounts SET name_skeleton = $1 WHERE id = $2 AND name_skeleton IS NULL")
                .bind(column_skeleton(&name))
                .bind(id)
                .execute(self.pool())
                .await?
                .rows_affected();
        }
        Ok(filled)
    }

    /// The accounts that carry `student_id` (normally one; the column is not unique, so an
    /// administrator's mistake can give two). The calculator's `auth = "accounts"` logs a
    /// student in with such an account's password. Accounts are few, so no index is needed.
    pub async fn find_by_student_id(self, student_id: &str) -> Result<Vec<Account>, StoreError> {
        let mut b = self.buf();
        b.push("SELECT ")
            .push(ACCOUNT_COLUMNS)
            .push(" FROM accounts WHERE student_id = ")
            .bind(student_id.to_owned());
        b.push(" ORDER BY id LIMIT 2");
        let rows = b.build()?.fetch_all(self.pool()).await?;
        rows.iter().map(account_from_row).collect()
    }

    /// Every account, ordered by name (case-insensitively).
    pub async fn list(self) -> Result<Vec<Account>, StoreError> {
        let mut b = self.buf();
        b.push("SELECT ").push(ACCOUNT_COLUMNS).push(" FROM accounts ORDER BY name_key");
        let rows = b.build()?.fetch_all(self.pool()).await?;
        rows.iter().map(account_from_row).collect()
    }

    /// Replaces the password hash. `false` if there is no such account.
    pub async fn set_password_hash(self, name: &str, hash: &str) -> Result<bool, StoreError> {
        check_len("password hash", hash, 1, limits::PASSWORD_HASH_MAX_CHARS)?;
        let done = self
            .query("UPDATE accounts SET password_hash = $1 WHERE name_key = $2")
            .bind(hash.to_string())
            .bind(column_key(name.trim()))
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Changes the role. `false` if there is no such account.
    pub async fn set_role(self, name: &str, role: Role) -> Result<bool, StoreError> {
        let done = self
            .query("UPDATE accounts SET role = $1 WHERE name_key = $2")
            .bind(role.as_str())
            .bind(column_key(name.trim()))
            .execute(self.pool())
            .await?;
        // sqlx asks MySQL for CLIENT_FOUND_ROWS, so "already that role" counts as a match on
        // every backend.
        Ok(done.rows_affected() > 0)
    }

    /// Deletes the account. `false` if there was none. The logs keep the name as text, so they
    /// are not affected.
    pub async fn remove(self, name: &str) -> Result<bool, StoreError> {
        let done = self
            .query("DELETE FROM accounts WHERE name_key = $1")
            .bind(column_key(name.trim()))
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

fn check_len(what: &str, value: &str, min: usize, max: usize) -> Result<(), StoreError> {
    let n = value.chars().count();
    if n < min {
        return Err(StoreError::Invalid(format!("{what} must not be empty")));
    }
    if n > max {
        return Err(StoreError::Invalid(format!("{what} is too long ({n} characters, at most {max})")));
    }
    Ok(())
}

fn account_from_row(row: &AnyRow) -> Result<Account, StoreError> {
    Ok(Account {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        password_hash: row.try_get("password_hash")?,
        role: row.try_get::<String, _>("role")?.parse()?,
        student_id: row.try_get("student_id")?,
        display_name: row.try_get("display_name")?,
        created_at: from_ms(row.try_get("created_at_ms")?)?,
    })
}
