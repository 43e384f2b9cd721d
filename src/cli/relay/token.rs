//! `sockhub relay token add|list|revoke`: device tokens in the database.

use std::process::ExitCode;

use serde::Serialize;
use sockhub_i18n::t;

use super::*;
use crate::cli::output::{self, Row};

pub(super) async fn token(command: TokenCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Add { config, source, label } => {
            sockhub_server::service::relay::filter::source_glob(&source)
                .map_err(|e| anyhow::anyhow!("--source: {e}"))?;
            let store = open(&config).await?;
            let (row, token) = store.relay().token_add(&source, &label).await?;
            eprintln!(
                "{}",
                t!("cli-relay-token-added", id = row.id, sources = format!("{:?}", row.source_glob))
            );
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::List { config, format } => {
            let rows: Vec<TokenRow> = open(&config)
                .await?
                .relay()
                .tokens()
                .await?
                .into_iter()
                .map(|t| TokenRow {
                    id: t.id,
                    sources: t.source_glob,
                    label: t.label,
                    created_at: rfc3339(t.created_ms),
                    revoked_at: t.revoked_ms.map(rfc3339),
                })
                .collect();
            output::print(&rows, format)?;
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Revoke { config, id } => {
            if open(&config).await?.relay().token_revoke(id).await? {
                println!("{}", t!("cli-relay-token-revoked", id = id));
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("{}", t!("cli-relay-token-missing", id = id));
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

/// A device token as `relay token list` prints it.
#[derive(Serialize)]
pub(super) struct TokenRow {
    id: i64,
    sources: String,
    label: String,
    created_at: String,
    revoked_at: Option<String>,
}

impl Row for TokenRow {
    const HEADERS: &'static [&'static str] = &["id", "sources", "label", "created", "revoked"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.sources.clone(),
            self.label.clone(),
            self.created_at.clone(),
            output::opt(&self.revoked_at),
        ]
    }
}
