//! The store's behaviour, proven on SQLite and PostgreSQL by one suite (see `support`).

mod support;

mod accounts;
mod audit;
mod open;
mod tokens;
