//! The store's behaviour, proven on SQLite and PostgreSQL by one suite (see `support`).

mod support;

mod accounts;
mod audit;
mod checkpoints;
mod holds;
mod job_processes;
mod jobs;
mod open;
mod requests;
mod secrets;
mod sessions;
mod tasks;
mod tokens;
