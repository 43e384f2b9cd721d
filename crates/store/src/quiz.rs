//! Quiz rounds, their final leaderboards, and the attempt log.
//!
//! A round's row is created synchronously when it starts (the server needs its number for every
//! attempt record) and completed, with its leaderboard, in one transaction when it ends.
//! Attempts are log records: the server writes them through the batched writer
//! ([`crate::Record::QuizAttempt`]), so a slow database never delays a verdict; this module only
//! reads them back, for `sockhub quiz export`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::StoreError;
use crate::model::{clip, column_key, display_name_form, from_ms, limits, to_ms};

/// One answer to a quiz problem (or a deadline that passed without one), as queued to the writer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuizAttemptRecord {
    pub round: i64,
    pub player: String,
    /// The problem's number in the player's stream (`Q17`).
    pub problem_id: i64,
    /// How many times this problem had been asked when this answer came (1 = the first time).
    pub ask: i64,
    /// The problem as shown, `38 - 94 / 84`.
    pub problem: String,
    /// Its value.
    pub expected: i64,
    /// What the player sent; `None` for a timeout.
    pub answer: Option<String>,
    /// `correct`, `wrong`, `late`, `invalid` or `timeout`.
    pub verdict: String,
    pub sent_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub elapsed_ms: i64,
}

/// An attempt as read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuizAttemptRow {
    pub id: i64,
    #[serde(flatten)]
    pub attempt: QuizAttemptRecord,
}

/// One line of a round's final leaderboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuizResult {
    pub place: i64,
    pub player: String,
    pub sum: i64,
    pub correct: i64,
    pub attempts: i64,
}

/// A round as listed by `sockhub quiz rounds`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuizRoundRow {
    pub id: i64,
    pub seed: String,
    pub duration_secs: i64,
    pub started_at: DateTime<Utc>,
    /// `None` while the round runs (or if the server stopped before its end).
    pub ended_at: Option<DateTime<Utc>>,
    pub players: Option<i64>,
    pub winner: Option<String>,
    pub winner_sum: Option<i64>,
}

/// Longest stored answer (characters); a client may send a much longer line.
pub const ANSWER_MAX_CHARS: usize = 255;

query_group! {
    /// The quiz's queries, borrowed from a [`Store`](crate::Store) ([`Store::quiz`](crate::Store::quiz)).
    pub struct QuizStore;
    /// Quiz rounds, final leaderboards and the attempt log.
    fn quiz;
}

impl QuizStore<'_> {
    /// Records the start of a round and returns its number.
    pub async fn create_round(
        self,
        seed: u64,
        duration_secs: u64,
        started_at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let token = format!("{:032x}", rand::random::<u128>());
        let mut tx = self.pool().begin().await?;
        self.query(
            "INSERT INTO quiz_rounds (token, seed, duration_secs, started_at_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(token.clone())
        .bind(seed.to_string())
        .bind(i64::try_from(duration_secs).unwrap_or(i64::MAX))
        .bind(to_ms(started_at))
        .execute(&mut *tx)
        .await?;
        let id: i64 = self
            .query("SELECT id FROM quiz_rounds WHERE token = $1")
            .bind(token)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        tx.commit().await?;
        Ok(id)
    }

    /// The round that is running at `now` (started, not finished, its time not up), if any — the
    /// one a node of a cluster joins instead of starting its own.
    pub async fn running_round(self, now: DateTime<Utc>) -> Result<Option<QuizRoundRow>, StoreError> {
        let row = self
            .query(
                "SELECT id, seed, duration_secs, started_at_ms, ended_at_ms, players, winner, winner_sum \
                 FROM quiz_rounds WHERE ended_at_ms IS NULL AND started_at_ms <= $1 \
                 AND started_at_ms + duration_secs * 1000 > $2 ORDER BY id DESC LIMIT 1",
            )
            .bind(to_ms(now))
            .bind(to_ms(now))
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(round_from_row).transpose()
    }

    /// Records the end of round `round` with its final leaderboard (best first), in one
    /// transaction. Only the first call for a round stores anything (several nodes of a cluster
    /// finish the same round); returns whether this one did.
    pub async fn finish_round(
        self,
        round: i64,
        ended_at: DateTime<Utc>,
        results: &[QuizResult],
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let winner = results.first();
        let updated = self
            .query(
                "UPDATE quiz_rounds SET ended_at_ms = $1, players = $2, winner = $3, winner_sum = $4 \
             WHERE id = $5 AND ended_at_ms IS NULL",
            )
            .bind(to_ms(ended_at))
            .bind(results.len() as i64)
            .bind(winner.map(|w| clip(&display_name_form(&w.player), limits::NAME_MAX_CHARS).into_owned()))
            .bind(winner.map(|w| w.sum))
            .bind(round)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        // In chunks, so a round of thousands of players stays under every backend's limit on
        // bound parameters per statement.
        for chunk in results.chunks(500) {
            let mut b = self.buf();
            b.push("INSERT INTO quiz_results (round_id, place, player, player_key, total, correct, attempts) VALUES ");
            for (i, r) in chunk.iter().enumerate() {
                let name = clip(&display_name_form(&r.player), limits::NAME_MAX_CHARS).into_owned();
                let key = column_key(&name);
                b.push(if i == 0 { "(" } else { ", (" });
                b.bind(round).push(", ").bind(r.place).push(", ").bind(name).push(", ").bind(key);
                b.push(", ").bind(r.sum).push(", ").bind(r.correct).push(", ").bind(r.attempts).push(")");
            }
            b.build()?.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Every round, oldest first.
    pub async fn rounds(self) -> Result<Vec<QuizRoundRow>, StoreError> {
        let rows = self
            .query(
                "SELECT id, seed, duration_secs, started_at_ms, ended_at_ms, players, winner, winner_sum \
                 FROM quiz_rounds ORDER BY id",
            )
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(round_from_row).collect()
    }

    /// The final leaderboard of `round`, best first.
    pub async fn results(self, round: i64) -> Result<Vec<QuizResult>, StoreError> {
        let rows = self
            .query(
                "SELECT place, player, total, correct, attempts FROM quiz_results WHERE round_id = $1 ORDER BY place, id",
            )
            .bind(round)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(QuizResult {
                    place: r.try_get("place")?,
                    player: r.try_get("player")?,
                    sum: r.try_get("total")?,
                    correct: r.try_get("correct")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// Attempts of one round (or of every round), in the order they were made.
    pub async fn attempts(self, round: Option<i64>) -> Result<Vec<QuizAttemptRow>, StoreError> {
        let mut b = self.buf();
        b.push(
            "SELECT id, round_id, player, problem_id, ask, problem, expected, answer, verdict, \
             sent_at_ms, received_at_ms, elapsed_ms FROM quiz_attempts",
        );
        if let Some(round) = round {
            b.push(" WHERE round_id = ").bind(round);
        }
        b.push(" ORDER BY round_id, id");
        let rows = b.build()?.fetch_all(self.pool()).await?;
        rows.iter().map(attempt_from_row).collect()
    }
}

fn round_from_row(row: &AnyRow) -> Result<QuizRoundRow, StoreError> {
    Ok(QuizRoundRow {
        id: row.try_get("id")?,
        seed: row.try_get("seed")?,
        duration_secs: row.try_get("duration_secs")?,
        started_at: from_ms(row.try_get("started_at_ms")?)?,
        ended_at: row.try_get::<Option<i64>, _>("ended_at_ms")?.map(from_ms).transpose()?,
        players: row.try_get("players")?,
        winner: row.try_get("winner")?,
        winner_sum: row.try_get("winner_sum")?,
    })
}

fn attempt_from_row(row: &AnyRow) -> Result<QuizAttemptRow, StoreError> {
    Ok(QuizAttemptRow {
        id: row.try_get("id")?,
        attempt: QuizAttemptRecord {
            round: row.try_get("round_id")?,
            player: row.try_get("player")?,
            problem_id: row.try_get("problem_id")?,
            ask: row.try_get("ask")?,
            problem: row.try_get("problem")?,
            expected: row.try_get("expected")?,
            answer: row.try_get("answer")?,
            verdict: row.try_get("verdict")?,
            sent_at: from_ms(row.try_get("sent_at_ms")?)?,
            received_at: from_ms(row.try_get("received_at_ms")?)?,
            elapsed_ms: row.try_get("elapsed_ms")?,
        },
    })
}
