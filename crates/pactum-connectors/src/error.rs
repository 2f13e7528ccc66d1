/// Why a connector failed. Messages never include the connection URL (it may hold a password).
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error(
        "unsupported connection URL scheme `{scheme}` (use postgres, mysql, mariadb, sqlite or redis)"
    )]
    UnsupportedScheme { scheme: String },
    #[error("cannot connect to the {kind} datastore")]
    Connect {
        kind: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("query on {kind} failed: {what}")]
    Query {
        kind: &'static str,
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
