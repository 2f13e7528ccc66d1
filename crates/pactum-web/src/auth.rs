//! Who may do what: the [`Permission`]s, the one table that grants them to [`Role`]s, and the
//! [`Principal`] extractor that authenticates API requests with `Authorization: Bearer pct_...`.
//!
//! **Invariant:** every handler under `/api/v1/admin` takes a [`Principal`] (so an unauthenticated
//! request is refused before the handler runs) and calls [`Principal::require`] with its
//! permission before reading or changing anything. `tests/router.rs` walks every documented route
//! to prove it.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use pactum_store::accounts::Role;
use pactum_store::audit::Actor;
use pactum_store::tokens::TokenCheck;

use crate::AppState;
use crate::error::ApiError;

/// Something an admin may be allowed to do. Handlers ask for one; roles grant sets of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// Open the admin console at all (every role may; what it shows depends on the others).
    ViewConsole,
    /// Read and verify the audit log.
    ReadAudit,
    /// Read evidence (exports, reports kept for regulators).
    ReadEvidence,
    /// Read the data map and the reports derived from it.
    ReadMap,
    /// Read data subject requests.
    ReadRequests,
    /// Decide data subject requests (approve, reject, extend).
    DecideRequests,
    /// Manage datastores and connectors.
    ManageDatastores,
    /// List, create and disable admin users.
    ManageUsers,
    /// List, create and revoke API tokens.
    ManageTokens,
}

impl Permission {
    /// Every permission, in a fixed order.
    pub const ALL: [Permission; 9] = [
        Permission::ViewConsole,
        Permission::ReadAudit,
        Permission::ReadEvidence,
        Permission::ReadMap,
        Permission::ReadRequests,
        Permission::DecideRequests,
        Permission::ManageDatastores,
        Permission::ManageUsers,
        Permission::ManageTokens,
    ];

    /// The name used in error messages and documentation, e.g. `read_audit`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ViewConsole => "view_console",
            Permission::ReadAudit => "read_audit",
            Permission::ReadEvidence => "read_evidence",
            Permission::ReadMap => "read_map",
            Permission::ReadRequests => "read_requests",
            Permission::DecideRequests => "decide_requests",
            Permission::ManageDatastores => "manage_datastores",
            Permission::ManageUsers => "manage_users",
            Permission::ManageTokens => "manage_tokens",
        }
    }
}

/// Whether `role` grants `permission`: THE permission table, and the only place roles are
/// interpreted. Least privilege: an auditor reads the audit log and evidence only; an engineer
/// manages datastores and reads the map; an analyst reads; a privacy officer reads and decides
/// requests; only the owner manages users and tokens.
pub fn grants(role: Role, permission: Permission) -> bool {
    use Permission as P;
    match role {
        Role::Owner => true,
        Role::PrivacyOfficer => matches!(
            permission,
            P::ViewConsole | P::ReadMap | P::ReadRequests | P::DecideRequests | P::ReadEvidence
        ),
        Role::Analyst => matches!(permission, P::ViewConsole | P::ReadMap | P::ReadRequests),
        Role::Auditor => matches!(permission, P::ViewConsole | P::ReadAudit | P::ReadEvidence),
        Role::Engineer => matches!(
            permission,
            P::ViewConsole | P::ReadMap | P::ManageDatastores
        ),
    }
}

/// Whether any of `roles` grants `permission` (an API token may hold several roles).
pub fn any_grants(roles: &[Role], permission: Permission) -> bool {
    roles.iter().any(|&role| grants(role, permission))
}

/// An authenticated caller: who (for the audit log) and with which roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Who acts: `token:ID` for the API, `user:ID` in the console.
    pub actor: Actor,
    /// The roles the caller acts with.
    pub roles: Vec<Role>,
}

impl Principal {
    /// Whether the caller may do `permission`.
    pub fn may(&self, permission: Permission) -> bool {
        any_grants(&self.roles, permission)
    }

    /// Refuses with 403 unless the caller may do `permission`.
    pub(crate) fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.may(permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(permission))
        }
    }
}

/// The token in an `Authorization: Bearer TOKEN` header (scheme case-insensitive, RFC 9110).
fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthenticated { presented: false })?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthenticated { presented: true })?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ => Err(ApiError::Unauthenticated { presented: true }),
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(parts)?;
        match state.store.authenticate_token(token).await? {
            TokenCheck::Valid(token) => Ok(Principal {
                actor: Actor::Token(token.id),
                roles: token.roles,
            }),
            // Unknown, expired and revoked tokens are all just "invalid" to the caller.
            TokenCheck::Unknown | TokenCheck::Expired(_) | TokenCheck::Revoked(_) => {
                Err(ApiError::Unauthenticated { presented: true })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole table, one line per role, so that a change to it shows up in review.
    #[test]
    fn permission_table() {
        let table: Vec<String> = Role::ALL
            .iter()
            .map(|&role| {
                let granted: Vec<&str> = Permission::ALL
                    .iter()
                    .filter(|&&p| grants(role, p))
                    .map(|p| p.as_str())
                    .collect();
                format!("{role}: {}", granted.join(" "))
            })
            .collect();
        assert_eq!(
            table,
            [
                "owner: view_console read_audit read_evidence read_map read_requests \
                 decide_requests manage_datastores manage_users manage_tokens",
                "privacy_officer: view_console read_evidence read_map read_requests decide_requests",
                "analyst: view_console read_map read_requests",
                "auditor: view_console read_audit read_evidence",
                "engineer: view_console read_map manage_datastores",
            ]
        );
    }

    #[test]
    fn only_owners_manage_users_and_tokens() {
        for role in Role::ALL {
            let owner = role == Role::Owner;
            assert_eq!(grants(role, Permission::ManageUsers), owner, "{role}");
            assert_eq!(grants(role, Permission::ManageTokens), owner, "{role}");
        }
    }

    #[test]
    fn several_roles_grant_the_union() {
        let roles = [Role::Analyst, Role::Auditor];
        assert!(any_grants(&roles, Permission::ReadAudit));
        assert!(any_grants(&roles, Permission::ReadMap));
        assert!(!any_grants(&roles, Permission::ManageTokens));
        assert!(!any_grants(&[], Permission::ViewConsole));
    }
}
