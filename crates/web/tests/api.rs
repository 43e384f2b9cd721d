//! The web application's rules, request by request, with `tower::ServiceExt::oneshot` on the
//! router of a real server state (SQLite in a temporary directory): who may call what, what bad
//! input gets, the session cookie's attributes, the CSRF guard, and errors that never show
//! internals.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sockhub_server::{Config, Server};
use sockhub_store::{NewAccount, Role, password};
use sockhub_web::{WebState, app};
use tower::ServiceExt;

struct App {
    router: Router,
    state: WebState,
    _dir: tempfile::TempDir,
}

impl App {
    async fn new(f: impl FnOnce(&mut Config)) -> App {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::ephemeral(dir.path());
        f(&mut config);
        let server = Server::bind(config).await.unwrap();
        let state = WebState::new(server.hub().clone());
        for (name, role) in [("boss", Role::Admin), ("member", Role::Member)] {
            let hash = password::hash("s3cret!").await.unwrap();
            state
                .hub
                .store
                .accounts()
                .add(&NewAccount { role, ..NewAccount::member(name, hash) })
                .await
                .unwrap();
        }
        App { router: app(state.clone()), state, _dir: dir }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Response {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = match body {
            Some(b) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Response { status, headers, json, text: String::from_utf8_lossy(&bytes).into_owned() }
    }

    /// Log in and return the `Cookie` header value.
    async fn login(&self, name: &str) -> String {
        let r = self
            .call(Method::POST, "/api/login", CSRF, Some(json!({"name": name, "password": "s3cret!"})))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let set = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
        set.split(';').next().unwrap().to_owned()
    }
}

struct Response {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    json: Value,
    text: String,
}

impl Response {
    fn code(&self) -> &str {
        self.json["code"].as_str().unwrap_or_else(|| panic!("not an error: {} {}", self.status, self.text))
    }
}

const CSRF: &[(&str, &str)] = &[("x-sockhub-request", "1")];

#[tokio::test]
async fn admin_endpoints_need_a_login_and_an_admin() {
    let app = App::new(|_| {}).await;
    for path in ["/api/accounts", "/api/online", "/api/logins", "/api/moderation", "/api/me"] {
        let r = app.call(Method::GET, path, &[], None).await;
        assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "not_logged_in"), "{path}");
    }
    let r = app.call(Method::GET, "/api/accounts", &[("cookie", "sockhub_session=forged")], None).await;
    assert_eq!(r.code(), "not_logged_in");

    let member = app.login("member").await;
    let r = app.call(Method::GET, "/api/me", &[("cookie", &member)], None).await;
    assert_eq!(r.json, json!({"name": "member", "role": "member"}));
    for path in ["/api/accounts", "/api/online", "/api/logins", "/api/moderation"] {
        let r = app.call(Method::GET, path, &[("cookie", &member)], None).await;
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "{path}");
    }
    let r = app
        .call(
            Method::POST,
            "/api/moderation",
            &[("cookie", &member), CSRF[0]],
            Some(json!({"action": "kick", "name": "x"})),
        )
        .await;
    assert_eq!(r.code(), "forbidden");

    let boss = app.login("boss").await;
    let r = app.call(Method::GET, "/api/accounts", &[("cookie", &boss)], None).await;
    assert_eq!(r.status, StatusCode::OK);
    let names: Vec<&str> = r.json.as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["boss", "member"]);
    assert!(!r.text.contains("argon2"), "no password hash is ever sent");
}

#[tokio::test]
async fn the_session_cookie_is_httponly_and_samesite_strict_and_logout_ends_it() {
    let app = App::new(|_| {}).await;
    let r = app
        .call(Method::POST, "/api/login", CSRF, Some(json!({"name": "boss", "password": "s3cret!"})))
        .await;
    let set = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().to_owned();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(part), "{set}");
    }
    assert!(!set.contains("Secure"), "not by default: the page is plain http on a LAN");
    let token = set.split(';').next().unwrap().strip_prefix("sockhub_session=").unwrap();
    assert_eq!(token.len(), 64);
    let cookie = format!("sockhub_session={token}");

    let r = app.call(Method::POST, "/api/logout", &[("cookie", &cookie), CSRF[0]], None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().contains("Max-Age=0"));
    let r = app.call(Method::GET, "/api/me", &[("cookie", &cookie)], None).await;
    assert_eq!(r.code(), "not_logged_in", "the old token is dead on the server, not just in the browser");

    let app = App::new(|c| c.web.secure_cookie = true).await;
    let r = app
        .call(Method::POST, "/api/login", CSRF, Some(json!({"name": "boss", "password": "s3cret!"})))
        .await;
    assert!(r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().contains("; Secure"));
}

#[tokio::test]
async fn state_changing_requests_from_another_site_are_refused() {
    let app = App::new(|_| {}).await;
    let boss = app.login("boss").await;
    let body = json!({"name": "eve", "password": "pw123456"});
    // A form post from another site: no custom header (and the cookie would not even be sent).
    let r = app.call(Method::POST, "/api/accounts", &[("cookie", &boss)], Some(body.clone())).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "csrf_rejected"));
    let cross =
        [("cookie", boss.as_str()), CSRF[0], ("host", "127.0.0.1:8080"), ("origin", "http://evil.example")];
    let r = app.call(Method::POST, "/api/accounts", &cross, Some(body.clone())).await;
    assert_eq!(r.code(), "csrf_rejected");
    let r = app
        .call(
            Method::DELETE,
            "/api/accounts/member",
            &[("cookie", &boss), ("sec-fetch-site", "cross-site"), CSRF[0]],
            None,
        )
        .await;
    assert_eq!(r.code(), "csrf_rejected");
    // Login is guarded too (login CSRF).
    let r =
        app.call(Method::POST, "/api/login", &[], Some(json!({"name": "boss", "password": "s3cret!"}))).await;
    assert_eq!(r.code(), "csrf_rejected");
    // The page's own request passes.
    let own = [
        ("cookie", boss.as_str()),
        CSRF[0],
        ("host", "127.0.0.1:8080"),
        ("origin", "http://127.0.0.1:8080"),
        ("sec-fetch-site", "same-origin"),
    ];
    let r = app.call(Method::POST, "/api/accounts", &own, Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

#[tokio::test]
async fn bad_input_gets_a_stable_code() {
    let app = App::new(|_| {}).await;
    let boss = app.login("boss").await;
    let h = [("cookie", boss.as_str()), CSRF[0]];
    let post = |body: Value| app.call(Method::POST, "/api/accounts", &h, Some(body));

    let r = app.call(Method::POST, "/api/accounts", &h, None).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "bad_json"));
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/accounts")
        .header("cookie", &boss)
        .header("x-sockhub-request", "1")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let res = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let v: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(v["code"], "bad_json");
    assert_eq!(v["type"], "error");

    assert_eq!(post(json!({"name": "x"})).await.code(), "bad_request", "no password");
    assert_eq!(
        post(json!({"name": "x", "password": "pw123456", "rank": 1})).await.code(),
        "bad_request",
        "unknown field"
    );
    assert_eq!(
        post(json!({"name": "x", "password": "pw123456", "role": "root"})).await.code(),
        "bad_request"
    );
    assert_eq!(
        post(json!({"name": "x", "password": "pw"})).await.code(),
        "bad_request",
        "password too short"
    );
    assert_eq!(post(json!({"name": "a b", "password": "pw123456"})).await.code(), "invalid_name");
    let r = post(json!({"name": "BOSS", "password": "pw123456"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "name_taken"));

    let r = app.call(Method::PATCH, "/api/accounts/nobody", &h, Some(json!({"role": "admin"}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = app.call(Method::PATCH, "/api/accounts/member", &h, Some(json!({}))).await;
    assert_eq!(r.code(), "bad_request");
    let r = app.call(Method::DELETE, "/api/accounts/boss", &h, None).await;
    assert_eq!(r.code(), "bad_request", "no one removes their own account here");
    let r = app.call(Method::PATCH, "/api/accounts/boss", &h, Some(json!({"role": "member"}))).await;
    assert_eq!(r.code(), "bad_request", "no one demotes themselves here");

    let r = app.call(Method::GET, "/api/logins?date=yesterday", &[("cookie", &boss)], None).await;
    assert_eq!(r.code(), "bad_request");
    let r = app.call(Method::GET, "/api/logins?tz_offset_minutes=99999", &[("cookie", &boss)], None).await;
    assert_eq!(r.code(), "bad_request");
    let r =
        app.call(Method::POST, "/api/moderation", &h, Some(json!({"action": "kick", "name": "ghost"}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "no_such_user"));
    let r =
        app.call(Method::POST, "/api/moderation", &h, Some(json!({"action": "dance", "name": "x"}))).await;
    assert_eq!(r.code(), "bad_request");
    let r = app.call(Method::GET, "/api/nothing-here", &[], None).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = app.call(Method::GET, "/static/js/nope.js", &[], None).await;
    assert_eq!(r.code(), "not_found");
}

#[tokio::test]
async fn accounts_are_managed_and_changes_take_effect_at_once() {
    let app = App::new(|_| {}).await;
    let boss = app.login("boss").await;
    let h = [("cookie", boss.as_str()), CSRF[0]];
    let r = app
        .call(
            Method::POST,
            "/api/accounts",
            &h,
            Some(json!({"name": "deputy", "password": "pw123456", "role": "admin"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json["role"], "admin");
    let deputy = app.login_as("deputy", "pw123456").await;
    assert_eq!(
        app.call(Method::GET, "/api/online", &[("cookie", &deputy)], None).await.status,
        StatusCode::OK
    );

    // Demoted: the deputy's next request is refused, though the web login is still valid.
    let r = app.call(Method::PATCH, "/api/accounts/deputy", &h, Some(json!({"role": "member"}))).await;
    assert_eq!(r.json["role"], "member");
    assert_eq!(app.call(Method::GET, "/api/online", &[("cookie", &deputy)], None).await.code(), "forbidden");

    // A reset password works, the old one does not.
    let r = app.call(Method::PATCH, "/api/accounts/deputy", &h, Some(json!({"password": "new-pass"}))).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .call(Method::POST, "/api/login", CSRF, Some(json!({"name": "deputy", "password": "pw123456"})))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "bad_credentials"));
    app.login_as("deputy", "new-pass").await;

    // Removed: every web login of the account ends.
    let r = app.call(Method::DELETE, "/api/accounts/deputy", &h, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(app.call(Method::GET, "/api/me", &[("cookie", &deputy)], None).await.code(), "not_logged_in");
    assert_eq!(app.call(Method::DELETE, "/api/accounts/deputy", &h, None).await.code(), "not_found");
}

#[tokio::test]
async fn failed_logins_are_throttled_and_look_alike() {
    let app = App::new(|c| {
        c.auth.slow_after = 100;
        c.auth.lock_after = 3;
        c.auth.addr_lock_after = 3;
    })
    .await;
    let wrong = |name: &str| {
        app.call(Method::POST, "/api/login", CSRF, Some(json!({"name": name, "password": "nope"})))
    };
    let unknown = wrong("nobody").await;
    assert_eq!((unknown.status, unknown.code()), (StatusCode::UNAUTHORIZED, "bad_credentials"));
    let bad = wrong("boss").await;
    assert_eq!(bad.json["message"], unknown.json["message"], "a wrong name and a wrong password look alike");
    wrong("boss").await;
    let locked = wrong("boss").await;
    assert_eq!((locked.status, locked.code()), (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"));
    let r = app
        .call(Method::POST, "/api/login", CSRF, Some(json!({"name": "boss", "password": "s3cret!"})))
        .await;
    assert_eq!(r.code(), "too_many_attempts", "even the right password waits out the lock");
}

#[tokio::test]
async fn database_failures_do_not_leak_details() {
    let app = App::new(|_| {}).await;
    let boss = app.login("boss").await;
    app.state.hub.store.close().await;
    let r = app.call(Method::GET, "/api/accounts", &[("cookie", &boss)], None).await;
    assert!(r.status.is_server_error(), "{} {}", r.status, r.text);
    assert!(["unavailable", "internal"].contains(&r.code()), "{}", r.text);
    for secret in ["sqlite", "sockhub.db", "pool", "closed", "/tmp"] {
        assert!(!r.text.to_lowercase().contains(secret), "{secret:?} leaked: {}", r.text);
    }
    let r = app.call(Method::GET, "/healthz", &[], None).await;
    assert_eq!((r.status, r.json["status"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("degraded")));
}

#[tokio::test]
async fn the_page_is_served_with_its_types_and_revalidated() {
    let app = App::new(|_| {}).await;
    let r = app.call(Method::GET, "/", &[], None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("script-src 'self'"));
    let etag = r.headers[header::ETAG].to_str().unwrap().to_owned();
    let r = app.call(Method::GET, "/", &[("if-none-match", &etag)], None).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    let r = app.call(Method::GET, "/static/js/chat.js", &[], None).await;
    assert_eq!(r.headers[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert!(r.text.contains("export class ChatView"));
    let r = app.call(Method::GET, "/api/services", &[], None).await;
    assert_eq!(r.json["chat"], true);
}

impl App {
    async fn login_as(&self, name: &str, password: &str) -> String {
        let r = self
            .call(Method::POST, "/api/login", CSRF, Some(json!({"name": name, "password": password})))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_owned()
    }
}

#[tokio::test]
async fn quiz_rounds_and_exports_are_for_admins() {
    let app = App::new(|_| {}).await;
    for path in ["/api/quiz/rounds", "/api/quiz/rounds/1", "/api/quiz/export.csv"] {
        assert_eq!(app.call(Method::GET, path, &[], None).await.code(), "not_logged_in", "{path}");
    }
    let member = app.login("member").await;
    assert_eq!(
        app.call(Method::GET, "/api/quiz/export.csv", &[("cookie", &member)], None).await.code(),
        "forbidden"
    );
    let r = app.call(Method::POST, "/api/quiz/start", &[("cookie", &member), CSRF[0]], None).await;
    assert_eq!(r.code(), "forbidden");

    let boss = app.login("boss").await;
    let r = app.call(Method::GET, "/api/quiz/export.csv?round=1", &[("cookie", &boss)], None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(r.headers[header::CONTENT_DISPOSITION], "attachment; filename=\"quiz-round-1.csv\"");
    assert_eq!(r.text.trim_end(), sockhub_server::export::QUIZ_ATTEMPT_HEADERS.join(","));
    let r = app.call(Method::GET, "/api/quiz/export.csv?round=first", &[("cookie", &boss)], None).await;
    assert_eq!(r.code(), "bad_request");
    let r = app.call(Method::GET, "/api/quiz/rounds", &[("cookie", &boss)], None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json.is_array());
    // Rounds start by themselves by default: a start request says so rather than failing.
    let r = app.call(Method::POST, "/api/quiz/start", &[("cookie", &boss), CSRF[0]], None).await;
    assert!(r.status == StatusCode::OK || r.code() == "round_running", "{} {}", r.status, r.text);

    let app = App::new(|c| c.quiz.enabled = false).await;
    let boss = app.login("boss").await;
    let r = app.call(Method::POST, "/api/quiz/start", &[("cookie", &boss), CSRF[0]], None).await;
    assert_eq!(r.code(), "not_found");
    assert_eq!(app.call(Method::GET, "/api/services", &[], None).await.json["quiz"], false);
}

#[tokio::test]
async fn the_calculator_export_is_for_admins_and_streams_every_result() {
    let app = App::new(|_| {}).await;
    assert_eq!(app.call(Method::GET, "/api/calc/export.csv", &[], None).await.code(), "not_logged_in");
    let member = app.login("member").await;
    assert_eq!(
        app.call(Method::GET, "/api/calc/export.csv", &[("cookie", &member)], None).await.code(),
        "forbidden"
    );

    // More results than one page of the stream, from two students.
    let at = sockhub_store::now();
    let results: Vec<sockhub_store::NewCalcResult> = (0..2500)
        .map(|i| sockhub_store::NewCalcResult {
            student_id: if i % 2 == 0 { "20212086".into() } else { "20212087".into() },
            name: if i % 2 == 0 { "김민수".into() } else { "=cmd()".into() },
            input: format!("-{i}"),
            square: (i * i).to_string(),
            at,
        })
        .collect();
    app.state.hub.store.calc().insert_results(&results).await.unwrap();

    let boss = app.login("boss").await;
    let r = app.call(Method::GET, "/api/calc/export.csv", &[("cookie", &boss)], None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_DISPOSITION], "attachment; filename=\"calc-results.csv\"");
    let lines: Vec<&str> = r.text.lines().collect();
    assert_eq!(lines[0], sockhub_server::export::CALC_RESULT_HEADERS.join(","));
    assert_eq!(lines.len(), 2501, "every result, across pages, once");
    assert!(lines[1].starts_with("1,20212086,김민수,-0,0,"), "{}", lines[1]);
    assert!(lines[2].contains(",'=cmd(),"), "a formula in a name is defused: {}", lines[2]);
    let ids: Vec<i64> = lines[1..].iter().map(|l| l.split(',').next().unwrap().parse().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in commit order, no repeats");

    let r = app.call(Method::GET, "/api/calc/export.csv?student=20212087", &[("cookie", &boss)], None).await;
    assert_eq!(r.headers[header::CONTENT_DISPOSITION], "attachment; filename=\"calc-20212087.csv\"");
    assert_eq!(r.text.lines().count(), 1251);
    assert!(r.text.lines().skip(1).all(|l| l.contains(",20212087,")));
}

#[tokio::test]
async fn the_relay_review_api_is_for_admins_and_checks_its_input() {
    let app = App::new(|_| {}).await;
    for path in ["/api/relay/status", "/api/relay/chart", "/api/relay/records"] {
        assert_eq!(app.call(Method::GET, path, &[], None).await.code(), "not_logged_in", "{path}");
    }
    let member = app.login("member").await;
    let r = app
        .call(
            Method::POST,
            "/api/relay/resend",
            &[("cookie", &member), CSRF[0]],
            Some(json!({"state": "held"})),
        )
        .await;
    assert_eq!(r.code(), "forbidden");
    let boss = app.login("boss").await;
    let auth = [("cookie", boss.as_str())];
    let get = |path: &'static str| app.call(Method::GET, path, &auth, None);
    let r = get("/api/relay/status").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["role"], "sink");
    assert_eq!(get("/api/relay/records?state=lost").await.code(), "bad_request");
    let r = get("/api/relay/records?state=held&text=50%25_&limit=5").await;
    assert_eq!(r.json, json!({"records": [], "next_before": null}));
    assert_eq!(get("/api/relay/chart?minutes=5").await.json["minutes"].as_array().unwrap().len(), 5);
    let h = [("cookie", boss.as_str()), CSRF[0]];
    let r = app.call(Method::POST, "/api/relay/resend", &h, Some(json!({"records": []}))).await;
    assert_eq!(r.code(), "bad_request");
    let r = app.call(Method::POST, "/api/relay/resend", &h, Some(json!({"state": "held"}))).await;
    assert_eq!(r.code(), "unavailable", "a sink has nothing to re-send to: {}", r.text);
    assert!(r.json["message"].as_str().unwrap().contains("no downstream"));
}
