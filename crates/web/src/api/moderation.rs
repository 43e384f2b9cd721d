//! Who is online, and moderation from the admin page: the same kick / mute / unmute as the chat
//! commands, acting as the logged-in admin, with the same effects (everyone is told, the action
//! is logged, a mute is stored before anyone hears of it).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use sockhub_i18n::msg;
use sockhub_server::service::chat::ChatService;
use std::sync::Arc;

use super::Body;
use crate::auth::Admin;
use crate::{ApiError, WebState};

/// `GET /api/online`: who is online in each service (the chat on every node of a cluster, with
/// each user's node), the mutes in force, and the open connections of every service.
pub async fn online(_: Admin, State(state): State<WebState>) -> Json<serde_json::Value> {
    let hub = &state.hub;
    let mutes = hub.chat.as_ref().map(|c| c.mutes()).unwrap_or_default();
    let quiz = hub.quiz.as_ref().map(|q| q.online_names());
    let calc = hub.calc.as_ref().map(|c| c.students());
    // Open connections (TCP and WebSocket) per service, logged in or not: relay devices too.
    let connections: serde_json::Map<String, serde_json::Value> =
        hub.metrics.services().map(|(name, m)| (name.to_owned(), json!(m.connections.get()))).collect();
    // Who is where: in a cluster the chat list covers every node (from the replica of the
    // others' members), each with the node the user is connected to.
    // `chat` (the names alone) comes from the same snapshot, so the two lists always agree.
    let members = hub.chat.as_ref().map(|c| c.online_members());
    let chat: Option<Vec<&str>> = members.as_ref().map(|m| m.iter().map(|(name, _)| name.as_str()).collect());
    let chat_members: Option<Vec<serde_json::Value>> =
        members.as_ref().map(|m| m.iter().map(|(name, node)| json!({"name": name, "node": node})).collect());
    Json(json!({
        "node": hub.bus.node().id.to_string(),
        "chat": chat,
        "chat_members": chat_members,
        "quiz": quiz,
        "calc": calc,
        "mutes": mutes,
        "connections": connections,
    }))
}

#[derive(Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    Kick {
        name: String,
        #[serde(default)]
        reason: Option<String>,
    },
    Mute {
        name: String,
        #[serde(default)]
        minutes: Option<f64>,
        #[serde(default)]
        reason: Option<String>,
    },
    Unmute {
        name: String,
    },
}

fn chat(state: &WebState) -> Result<&Arc<ChatService>, ApiError> {
    state.hub.chat.as_ref().ok_or_else(|| ApiError::NotFound(msg!("web-api-chat-off")))
}

/// `POST /api/moderation {"action":"kick"|"mute"|"unmute","name",...}` → 204.
pub async fn act(
    admin: Admin,
    State(state): State<WebState>,
    Body(action): Body<Action>,
) -> Result<StatusCode, ApiError> {
    let chat = chat(&state)?;
    let reason = |r: Option<String>| r.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    match action {
        Action::Kick { name, reason: r } => chat.kick(&admin.name, &name, reason(r)).await?,
        Action::Mute { name, minutes, reason: r } => {
            chat.mute(&admin.name, &name, minutes, reason(r)).await?
        }
        Action::Unmute { name } => chat.unmute(&admin.name, &name).await?,
    }
    Ok(StatusCode::NO_CONTENT)
}
