//! Accounts, for admins: list, add, change the role, reset the password, remove — what
//! `sockhub user` does on the command line, on the same tables.
//!
//! Two guards keep an admin from locking everyone out by a slip: no one can demote or remove
//! their own account here (another admin, or `sockhub user`, can).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sockhub_i18n::msg;
use sockhub_proto::secret::Secret;
use sockhub_server::auth::PasswordStamp;
use sockhub_server::names::{self, PasswordPolicy};
use sockhub_store::{Account, NewAccount, Role, name_key, password};
use tracing::info;

use super::Body;
use crate::auth::Admin;
use crate::{ApiError, WebState};

/// An account as the API shows it (never the hash).
#[derive(Serialize)]
pub struct AccountView {
    name: String,
    role: Role,
    student_id: Option<String>,
    display_name: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        AccountView {
            name: a.name,
            role: a.role,
            student_id: a.student_id,
            display_name: a.display_name,
            created_at: a.created_at,
        }
    }
}

/// `GET /api/accounts`.
pub async fn list(_: Admin, State(state): State<WebState>) -> Result<Json<Vec<AccountView>>, ApiError> {
    let accounts = state.hub.store.accounts().list().await?;
    Ok(Json(accounts.into_iter().map(AccountView::from).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccountBody {
    name: String,
    password: Secret,
    #[serde(default)]
    role: Option<Role>,
    #[serde(default)]
    student_id: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
}

/// The password rules of `[auth]` (see [`sockhub_server::names`]).
fn check_password(state: &WebState, p: &Secret) -> Result<(), ApiError> {
    PasswordPolicy::from(&state.hub.config.auth)
        .validate(p.expose())
        .map_err(|e| ApiError::BadRequest(e.to_string().into()))
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// `POST /api/accounts {"name","password","role"?,"student_id"?,"display_name"?}` → 201.
pub async fn add(
    admin: Admin,
    State(state): State<WebState>,
    Body(body): Body<NewAccountBody>,
) -> Result<impl IntoResponse, ApiError> {
    let name = body.name.trim().to_owned();
    names::validate(&name).map_err(ApiError::Service)?;
    check_password(&state, &body.password)?;
    let hash = password::hash(body.password.expose()).await?;
    let account = NewAccount {
        role: body.role.unwrap_or(Role::Member),
        student_id: nonempty(body.student_id),
        display_name: nonempty(body.display_name),
        ..NewAccount::member(name, hash)
    };
    let created = state.hub.store.accounts().add(&account).await?;
    info!(admin = %admin.name, account = %created.name, role = %created.role, "added an account");
    Ok((StatusCode::CREATED, Json(AccountView::from(created))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    #[serde(default)]
    role: Option<Role>,
    #[serde(default)]
    password: Option<Secret>,
}

/// `PATCH /api/accounts/{name} {"role"?, "password"?}`.
pub async fn change(
    admin: Admin,
    State(state): State<WebState>,
    Path(name): Path<String>,
    Body(body): Body<Change>,
) -> Result<Json<AccountView>, ApiError> {
    if body.role.is_none() && body.password.is_none() {
        return Err(ApiError::BadRequest(msg!("web-api-nothing-to-change")));
    }
    let store = &state.hub.store;
    let not_found = || ApiError::NotFound(msg!("web-api-no-account", name = name.as_str()));
    if let Some(role) = body.role {
        if role != Role::Admin && name_key(&name) == name_key(&admin.name) {
            return Err(ApiError::BadRequest(msg!("web-api-own-admin-role")));
        }
        if !store.accounts().set_role(&name, role).await? {
            return Err(not_found());
        }
        info!(admin = %admin.name, account = %name, role = %role, "set the role of an account");
    }
    if let Some(password) = &body.password {
        check_password(&state, password)?;
        let hash = password::hash(password.expose()).await?;
        if !store.accounts().set_password_hash(&name, &hash).await? {
            return Err(not_found());
        }
        // Every web login of the account ends with its next request (its password stamp no
        // longer matches), except this one when admins change their own password.
        if name_key(&name) == name_key(&admin.name) {
            state.sessions.restamp(&admin.token, PasswordStamp::of(&hash));
        }
        info!(admin = %admin.name, account = %name, "reset the password of an account");
    }
    let account = store.accounts().find(&name).await?.ok_or_else(not_found)?;
    Ok(Json(account.into()))
}

/// `DELETE /api/accounts/{name}` → 204. Ends the account's web logins too.
pub async fn remove(
    admin: Admin,
    State(state): State<WebState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    if name_key(&name) == name_key(&admin.name) {
        return Err(ApiError::BadRequest(msg!("web-api-own-account")));
    }
    if !state.hub.store.accounts().remove(&name).await? {
        return Err(ApiError::NotFound(msg!("web-api-no-account", name = name.as_str())));
    }
    state.sessions.remove_user(&name);
    info!(admin = %admin.name, account = %name, "removed an account");
    Ok(StatusCode::NO_CONTENT)
}
