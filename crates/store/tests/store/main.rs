//! sockhub-store tests against real databases: SQLite always, MariaDB/MySQL and PostgreSQL
//! when `SOCKHUB_TEST_MYSQL_URL` / `SOCKHUB_TEST_POSTGRES_URL` are set. Every test body runs
//! on every configured backend, each time on a fresh database.

mod accounts;
mod bans;
mod calc;
mod cluster;
mod common;
mod migrations;
mod mutes;
mod outage;
mod relay;
mod reports;
mod retention;
mod rooms;
mod writer;
