//! Operator requests and what they act on: the `relay_requests` queue that `sockhub relay` and
//! the web page write and the running server takes up ([`RelayRequest`]), re-sending held,
//! missing or kept records ([`RelayStore::resend`]), and each node's saved live status.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::counters::Delta;
use super::{Query, RelayState, RelayStore};
use crate::error::StoreError;
use crate::store::{Backend, SqlBuf};

/// Which records an operator re-sends.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ResendSelector {
    /// `Held`, `Missing` or `Kept`.
    pub state: RelayState,
    pub source: Option<String>,
    /// Inclusive seq range.
    pub seqs: Option<(i64, i64)>,
}

/// Per source, what a resend queued again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requeued {
    pub source: String,
    pub count: i64,
    pub bytes: i64,
    pub min_seq: i64,
}

/// An operator's request to the running server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayRequest {
    pub id: i64,
    /// `resend` or `reconcile`.
    pub kind: String,
    pub requested_by: String,
    pub requested_ms: i64,
    /// JSON.
    pub params: String,
    /// `pending`, `done` or `failed`.
    pub status: String,
    pub done_ms: Option<i64>,
    /// JSON.
    pub result: Option<String>,
}

/// `SELECT <every column of relay_requests> FROM relay_requests <rest>`.
macro_rules! requests {
    ($rest:literal) => {
        concat!(
            "SELECT id, kind, requested_by, requested_ms, params, status, done_ms, result FROM relay_requests ",
            $rest
        )
    };
}

fn request_from_row(r: &AnyRow) -> Result<RelayRequest, StoreError> {
    Ok(RelayRequest {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        requested_by: r.try_get("requested_by")?,
        requested_ms: r.try_get("requested_ms")?,
        params: r.try_get("params")?,
        status: r.try_get("status")?,
        done_ms: r.try_get("done_ms")?,
        result: r.try_get("result")?,
    })
}

/// `INSERT INTO relay_requests ...`, without and with `RETURNING id`.
macro_rules! insert_request {
    ($($returning:literal)?) => {
        concat!(
            "INSERT INTO relay_requests (kind, requested_by, requested_ms, params, status) \
             VALUES ($1, $2, $3, $4, 'pending')",
            $($returning)?
        )
    };
}

impl RelayStore<'_> {
    /// Records an operator request; returns its id.
    pub async fn request_add(self, kind: &str, by: &str, params: &str) -> Result<i64, StoreError> {
        let now = crate::model::to_ms(crate::model::now());
        let by = crate::model::clip(by, 255).into_owned();
        self.insert_returning_id(insert_request!(), insert_request!(" RETURNING id"), |q| {
            q.bind(kind.to_owned()).bind(by.clone()).bind(now).bind(params.to_owned())
        })
        .await
    }

    /// Pending requests, oldest first.
    pub async fn requests_pending(self) -> Result<Vec<RelayRequest>, StoreError> {
        self.fetch_requests(self.query(requests!("WHERE status = 'pending' ORDER BY id"))).await
    }

    /// Requests a server took up and has not settled (after a crash: interrupted ones).
    pub async fn requests_running(self) -> Result<Vec<RelayRequest>, StoreError> {
        self.fetch_requests(self.query(requests!("WHERE status = 'running' ORDER BY id"))).await
    }

    /// Marks a request as taken up by the server.
    pub async fn request_start(self, id: i64) -> Result<(), StoreError> {
        self.query("UPDATE relay_requests SET status = 'running' WHERE id = $1 AND status = 'pending'")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// One request.
    pub async fn request(self, id: i64) -> Result<Option<RelayRequest>, StoreError> {
        Ok(self.fetch_requests(self.query(requests!("WHERE id = $1")).bind(id)).await?.pop())
    }

    /// The newest requests, newest first.
    pub async fn requests_recent(self, limit: u32) -> Result<Vec<RelayRequest>, StoreError> {
        self.fetch_requests(self.query(requests!("ORDER BY id DESC LIMIT $1")).bind(i64::from(limit))).await
    }

    async fn fetch_requests(self, q: Query) -> Result<Vec<RelayRequest>, StoreError> {
        q.fetch_all(self.pool()).await?.iter().map(request_from_row).collect()
    }

    /// Settles a request: `done` or `failed`, with a JSON result.
    pub async fn request_finish(self, id: i64, status: &str, result: &str) -> Result<(), StoreError> {
        self.query("UPDATE relay_requests SET status = $1, done_ms = $2, result = $3 WHERE id = $4")
            .bind(status.to_owned())
            .bind(crate::model::to_ms(crate::model::now()))
            .bind(result.to_owned())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Queues the records `sel` picks again (held, missing or kept → queued), records the
    /// request on each (`resends`, `last_request`) and updates the counters, in one
    /// transaction. Returns what was queued, per source.
    pub async fn resend(
        self,
        sel: &ResendSelector,
        request_id: Option<i64>,
    ) -> Result<Vec<Requeued>, StoreError> {
        if !matches!(sel.state, RelayState::Held | RelayState::Missing | RelayState::Kept) {
            return Err(StoreError::Invalid(format!(
                "only held, missing or kept records can be re-sent, not {}",
                sel.state
            )));
        }
        let mut tx = self.begin().await?;
        let filter = |b: &mut SqlBuf| {
            b.push(" WHERE state = ").bind(sel.state.as_str());
            if let Some(source) = &sel.source {
                b.push(" AND source = ").bind(source.clone());
            }
            if let Some((lo, hi)) = sel.seqs {
                b.push(" AND seq BETWEEN ").bind(lo).push(" AND ").bind(hi);
            }
        };
        let mut b = self.buf();
        b.push(&format!(
            "SELECT source, COUNT(*) AS n, {} AS bytes, MIN(seq) AS min_seq FROM relay_records",
            self.sum_as_bigint("bytes")
        ));
        filter(&mut b);
        b.push(" GROUP BY source");
        let groups = b.build()?.fetch_all(&mut *tx).await?;
        let mut out = Vec::new();
        for g in &groups {
            out.push(Requeued {
                source: g.try_get("source")?,
                count: g.try_get("n")?,
                bytes: g.try_get::<Option<i64>, _>("bytes")?.unwrap_or(0),
                min_seq: g.try_get("min_seq")?,
            });
        }
        let mut b = self.buf();
        b.push("UPDATE relay_records SET state = 'queued', reason = NULL, resends = resends + 1, last_request = ")
            .bind(request_id);
        filter(&mut b);
        b.build()?.execute(&mut *tx).await?;
        for r in &out {
            let mut d = Delta::default();
            d.add(sel.state, -r.count);
            d.add(RelayState::Queued, r.count);
            if !sel.state.is_pending() {
                d.pending_bytes = r.bytes;
            }
            d.min_queued = Some(r.min_seq);
            self.apply_delta(&mut tx, &r.source, &d, 0).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Saves a running node's live status (JSON).
    pub async fn node_put(self, node: &str, status: &str) -> Result<(), StoreError> {
        let now = crate::model::to_ms(crate::model::now());
        let sql = match self.backend() {
            Backend::MySql => {
                "INSERT INTO relay_nodes (node, updated_ms, status) VALUES ($1, $2, $3) \
                 ON DUPLICATE KEY UPDATE updated_ms = VALUES(updated_ms), status = VALUES(status)"
            }
            _ => {
                "INSERT INTO relay_nodes (node, updated_ms, status) VALUES ($1, $2, $3) \
                 ON CONFLICT (node) DO UPDATE SET updated_ms = excluded.updated_ms, status = excluded.status"
            }
        };
        self.query(sql).bind(node.to_owned()).bind(now).bind(status.to_owned()).execute(self.pool()).await?;
        Ok(())
    }

    /// Every node's last saved status: `(node, updated_ms, status JSON)`.
    pub async fn nodes(self) -> Result<Vec<(String, i64, String)>, StoreError> {
        let rows = self
            .query("SELECT node, updated_ms, status FROM relay_nodes ORDER BY node")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("node")?, r.try_get("updated_ms")?, r.try_get("status")?)))
            .collect()
    }
}
