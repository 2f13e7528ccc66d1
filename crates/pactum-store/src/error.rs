//! The store's error type.

use crate::Backend;

/// Why a store operation could not be carried out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL names neither SQLite nor PostgreSQL.
    #[error("unsupported database URL scheme {scheme:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl {
        /// The scheme that was given.
        scheme: String,
    },
    /// The data directory could not be created.
    #[error("cannot create the data directory {}", path.display())]
    CreateDir {
        /// The directory.
        path: std::path::PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The database could not be opened or reached.
    #[error("cannot open the {backend} database")]
    Connect {
        /// Which backend was being opened.
        backend: Backend,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The database was migrated by a newer Pactum: this binary must not touch it.
    #[error(
        "the database schema is at version {database}, newer than this pactum supports ({binary}): \
         upgrade pactum before opening this database"
    )]
    SchemaTooNew {
        /// The newest migration recorded in the database.
        database: i64,
        /// The newest migration embedded in this binary.
        binary: i64,
    },
    /// A migration that was already applied differs from the one embedded in this binary.
    #[error("migration {version} ({name}) differs from the one applied to this database")]
    MigrationChanged {
        /// The migration's version.
        version: i64,
        /// The migration's name.
        name: &'static str,
    },
    /// A migration failed; the database is left at the previous version.
    #[error("cannot apply migration {version} ({name})")]
    Migrate {
        /// The migration's version.
        version: i64,
        /// The migration's name.
        name: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A query failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// A row holds a value this binary cannot read (for example an unknown role name).
    #[error("corrupt {table} row {id}: {what}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The row's id.
        id: i64,
        /// What is wrong.
        what: String,
    },
    /// The text is not a plausible email address.
    #[error("invalid email address")]
    InvalidEmail,
    /// Another user already has this email address.
    #[error("a user with this email address already exists")]
    DuplicateUser,
    /// The password is too short or too long.
    #[error("the password must be {min} to {max} characters long")]
    PasswordLength {
        /// Fewest characters.
        min: usize,
        /// Most characters.
        max: usize,
    },
    /// The role name is not one of the known roles.
    #[error("unknown role {0:?}: expected owner, privacy_officer, analyst, auditor or engineer")]
    UnknownRole(String),
    /// An API token needs at least one role.
    #[error("an API token needs at least one role")]
    NoRoles,
    /// The API token name is empty, too long or contains control characters.
    #[error("the token name must be 1 to 100 printable characters")]
    InvalidTokenName,
    /// The expiry is not after now.
    #[error("the token expiry must be in the future")]
    ExpiryInPast,
    /// An audit entry's action, actor or target is malformed.
    #[error("invalid audit entry: {0}")]
    InvalidAuditEntry(&'static str),
    /// No row with this id.
    #[error("{kind} {id} not found")]
    NotFound {
        /// What was looked for (`user`, `token`).
        kind: &'static str,
        /// The id looked for.
        id: i64,
    },
    /// Argon2 refused the parameters or failed.
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed: {0}")]
    Random(getrandom::Error),
    /// A blocking task (password hashing) panicked or was cancelled.
    #[error("a background task failed")]
    Task(#[source] tokio::task::JoinError),
    /// Writing an export failed.
    #[error("cannot write the audit export")]
    Export(#[source] std::io::Error),
    /// A job or schedule to enqueue is malformed (kind, name, key, attempts or interval).
    #[error("invalid job: {0}")]
    InvalidJob(&'static str),
    /// A data-subject request (or part of one: identity, details, deadline, decision) is
    /// malformed.
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// A name is not one of the known values of its kind (a request kind, status, channel or
    /// subject flag).
    #[error("unknown {what} {value:?}")]
    UnknownName {
        /// What kind of name (`request kind`, `request status`, ...).
        what: &'static str,
        /// The name given.
        value: String,
    },
    /// Too many requests (or verification attempts) from one person or address in the current
    /// window: try again after `retry_after`.
    #[error("too many requests: try again in {} seconds", retry_after.as_secs().max(1))]
    RateLimited {
        /// How long until the window ends.
        retry_after: std::time::Duration,
    },
    /// The data-subject request is not in a state that allows this step (for example deciding a
    /// request that is not awaiting a decision).
    #[error("request {id} is {status}: it cannot be {action}")]
    RequestState {
        /// The request's internal id.
        id: i64,
        /// Its current status.
        status: crate::requests::RequestStatus,
        /// The step refused (`approved`, `rejected`, `completed`).
        action: &'static str,
    },
    /// The request's task was done already.
    #[error("task {id} was done already")]
    TaskDone {
        /// The task's id.
        id: i64,
    },
    /// The legal hold was released already.
    #[error("hold {id} was released already")]
    HoldReleased {
        /// The hold's id.
        id: i64,
    },
    /// The job's lease was lost: another worker claimed it after the lease expired, or it is no
    /// longer running. The caller must stop working on it; its result is not recorded.
    #[error("the lease on job {id} was lost")]
    LeaseLost {
        /// The job's id.
        id: i64,
    },
}
