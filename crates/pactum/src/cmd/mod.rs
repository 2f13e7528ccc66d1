//! One module per subcommand, each with its clap `Args` and a `run` function.

pub mod admin;
pub mod audit;
pub mod check;
pub mod config;
pub mod drift;
pub mod import;
pub mod init;
pub mod keys;
pub mod notice;
pub mod request;
pub mod ropa;
pub mod scan;
pub mod schema;
pub mod serve;
