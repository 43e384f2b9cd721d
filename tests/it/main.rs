//! sockhub's integration tests: one test binary, real TCP sockets, servers on port 0.
//!
//! - `support`: the `TestServer` and raw `Client` helpers.
//! - `calc`: the square calculator on every database, its CLI tools and its terminal client.
//! - `chat`: the chat service over text and JSON lines.
//! - `accounts`: passwords, brute-force protection, kick / mute / unmute.
//! - `bans`: bans in text, JSON, WebSocket, the web API and the CLI; by name, look-alike and
//!   address; expiry, restarts, and across two nodes.
//! - `hostile_auth`: logins under attack: guess storms, forged `X-Forwarded-For`, demoted
//!   admins, password resets and session lifetimes.
//! - `cli_lang`: the command line's reports in Korean (`--lang ko`, a Korean locale); JSON and
//!   CSV the same in every language.
//! - `chatlog`: the database logs and their reports, history, a database outage.
//! - `hostile`: hostile clients (forged lines, look-alike names, slot hoarding, proxy headers).
//! - `limits`: bad input and resource limits (long lines, invalid UTF-8, floods, slow readers).
//! - `original_clients`: clients that send without line ends: the original projects' Python
//!   clients, unchanged, and raw sockets sending bursts next to line clients.
//! - `quiz`: the quiz over real sockets on a paused clock (whole rounds), exports, admin start.
//! - `quiz_log`: `sockhub quiz --log FILE`, the quiz client's own log, in English and Korean.
//! - `cluster`: several nodes as processes sharing NATS and a database (chat, names, kick/mute,
//!   a killed node, NATS restarted, calculator broadcasts).
//! - `cluster_flood`: a flood of lines between two nodes through a tiny publish queue: none lost,
//!   each sender's in order, senders slowed (the wait is counted), and lines batched.
//! - `cluster_control`: a storm of logins, joins, parts, topics and disconnects on one node
//!   through a tiny publish queue: every one reaches the other node, the requests wait instead.
//! - `cluster_rooms`: chat rooms across three nodes: membership, topics, lines, and room subjects
//!   followed only where a room has members.
//! - `irc`: the chat over IRC: the protocol with a raw client, IRC users with `nc` and JSON
//!   users, CAP/SASL/tags/history, the real clients `ii` and `irssi`, and two nodes.
//! - `lifecycle`: shutdown, signals, restarting on the same port.
//! - `relay`: the relay in process (two nodes, every behaviour); `relay_crash`: `kill -9` of
//!   either node with the real binary.
//! - `device`: `sockhub device` streaming from a pipe and a followed file, its spool across a
//!   `kill -9`, backpressure.
//! - `hostile_relay`: hostile relay devices and input: seq conflicts, bad seqs, device tokens,
//!   CSV cells a spreadsheet would run, calculator logins with account passwords.
//! - `korean`: `[server] language = "ko"`: Korean sessions over raw TCP for chat, quiz and calc.
//! - `rooms`: chat rooms: join, part, switch, topics, what reaches whom, history per room,
//!   moderation per room, the admin-only mode and the limits, persistent rooms, `logs chat --room`.
//! - `retention`: old rows removed by the server while clients write, on every database; a
//!   relay pair that prunes and reconciles clean; `sockhub db prune`; log rotation.
//! - `bench`: short runs of the `sockhub bench` scenarios against a real server.
//! - `tls`: TLS on every port with openssl, curl and a relay pair over mutual TLS.
//! - `backup`: `sockhub db backup` of a live database while clients write, and `db restore`.
//! - `alerts`: the Prometheus alert rules against promtool and a real server's `/metrics`.
//! - `web`: the web page: WebSocket endpoints, the HTTP API, end-to-end tests in headless Chromium.

mod accounts;
mod alerts;
mod backup;
mod bans;
mod bench;
mod calc;
mod chat;
mod chatlog;
mod cli_lang;
mod cluster;
mod cluster_control;
mod cluster_flood;
mod cluster_rooms;
mod device;
mod hostile;
mod hostile_auth;
mod hostile_relay;
mod irc;
mod korean;
mod lifecycle;
mod limits;
mod original_clients;
mod quiz;
mod quiz_log;
mod relay;
mod relay_cluster;
mod relay_crash;
mod retention;
mod rooms;
mod support;
mod tls;
mod tui;
mod web;
