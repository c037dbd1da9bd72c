//! Who is acting, and what their role lets them do. Deny by default: a role may do only
//! what [`Role::may`] lists, and a user limited to districts or units sees and changes only
//! those.

use crate::AppError;
use duban_store::lists::Scope;
use serde::{Deserialize, Serialize};

/// The roles of duban's users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    /// 管理员: the register, workflows, rectification, interviews, deliveries, users.
    Administrator,
    /// 财务人员: the ledger and its reports.
    FinanceOfficer,
    /// 党组织书记: sees and answers for their own units.
    Secretary,
    /// 查看人员: reads the register, chains and ledger.
    Viewer,
    /// 审计人员: reads the audit log only.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Administrator,
        Role::FinanceOfficer,
        Role::Secretary,
        Role::Viewer,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::FinanceOfficer => "finance_officer",
            Role::Secretary => "secretary",
            Role::Viewer => "viewer",
            Role::Auditor => "auditor",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Role::Administrator => "管理员",
            Role::FinanceOfficer => "财务人员",
            Role::Secretary => "党组织书记",
            Role::Viewer => "查看人员",
            Role::Auditor => "审计人员",
        }
    }

    pub fn parse(s: &str) -> Result<Role, AppError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| {
                AppError::invalid(format!(
                    "unknown role {s:?}: use one of {}",
                    Role::ALL.map(Role::as_str).join(", ")
                ))
            })
    }

    /// The role's permissions; nothing else is allowed.
    pub fn may(self, p: Permission) -> bool {
        use Permission as P;
        match self {
            Role::Administrator => matches!(
                p,
                P::ReadRegister
                    | P::WriteRegister
                    | P::Answer
                    | P::ReadChains
                    | P::ManageWorkflows
                    | P::ManageDeliveries
                    | P::ReadLedger
                    | P::ManageUsers
                    | P::ReadAudit
                    | P::ReadBankProfiles
                    | P::WriteBankProfiles
                    | P::BookBase
            ),
            Role::FinanceOfficer => matches!(
                p,
                P::ReadRegister
                    | P::ReadLedger
                    | P::WriteLedger
                    | P::ReadBankProfiles
                    | P::WriteBankProfiles
            ),
            Role::Secretary => {
                matches!(p, P::ReadRegister | P::Answer | P::ReadChains | P::BookBase)
            }
            Role::Viewer => matches!(
                p,
                P::ReadRegister | P::ReadChains | P::ReadLedger | P::ReadBankProfiles
            ),
            Role::Auditor => matches!(p, P::ReadAudit | P::ReadBankProfiles),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a use case asks of its actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Units, their secretaries and terms.
    ReadRegister,
    /// Import the register; open rectification items and interviews; staff and their roles.
    WriteRegister,
    /// Record an answer (an election held, a report filed, an item fixed …).
    Answer,
    /// Chains, their timelines and messages.
    ReadChains,
    /// Check, simulate and re-plan workflows.
    ManageWorkflows,
    /// List deliveries, re-send messages.
    ManageDeliveries,
    ReadLedger,
    WriteLedger,
    /// Users, roles, API tokens.
    ManageUsers,
    ReadAudit,
    /// The bank statement profiles saved (and shipped).
    ReadBankProfiles,
    /// Save and remove bank statement profiles.
    WriteBankProfiles,
    /// Book a slot at an open organisational-life base for a unit, and cancel it.
    BookBase,
}

/// The person (or integration, or command line) a use case acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user's id; `None` for the command line and the engine.
    pub user_id: Option<i64>,
    /// The name the audit log records.
    pub name: String,
    pub role: Role,
    /// Limits on what the actor sees and changes; unlimited for administrators of the whole
    /// department and for the command line.
    pub scope: Scope,
    /// Where the request came from: `cli`, an IP address, `link`.
    pub origin: String,
    /// Signed in with a password past its age ([`crate::Policy::password_max_age`]): until
    /// it is changed, the adapters let the session do nothing else.
    pub password_expired: bool,
}

impl Actor {
    /// Someone at the server's command line: they hold the database's credentials, so they
    /// act as an administrator of everything (and the ledger's keeper).
    pub fn command_line(name: &str) -> Actor {
        Actor {
            user_id: None,
            name: name.to_string(),
            role: Role::Administrator,
            scope: Scope::default(),
            origin: "cli".into(),
            password_expired: false,
        }
    }

    /// Refuses unless the actor's role may do `p`.
    pub fn require(&self, p: Permission) -> Result<(), AppError> {
        if self.user_id.is_none() && self.origin == "cli" {
            return Ok(());
        }
        if self.role.may(p) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "{} ({}) may not do this",
                self.name,
                self.role.zh()
            )))
        }
    }

    /// The scope to list with: none for an unlimited actor.
    pub fn list_scope(&self) -> Option<Scope> {
        (!self.scope.is_unlimited()).then(|| self.scope.clone())
    }

    /// Whether a unit (its code and its organisations' districts) is within the actor's
    /// scope.
    pub fn covers(&self, unit: &str, districts: &[String]) -> bool {
        let s = &self.scope;
        (s.units.is_empty() || s.units.iter().any(|u| u == unit))
            && (s.districts.is_empty() || districts.iter().any(|d| s.districts.contains(d)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_auditor_and_administrator_read_the_audit_log() {
        let readers: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.may(Permission::ReadAudit))
            .collect();
        assert_eq!(readers, vec![Role::Administrator, Role::Auditor]);
        assert!(!Role::Administrator.may(Permission::WriteLedger));
        assert!(!Role::Auditor.may(Permission::ReadRegister));
    }

    #[test]
    fn scope_limits_by_unit_and_district() {
        let mut a = Actor::command_line("x");
        assert!(a.covers("U1", &[]));
        a.scope.districts = vec!["历下区".into()];
        assert!(a.covers("U1", &["历下区".into()]));
        assert!(!a.covers("U1", &["市中区".into()]));
        a.scope.units = vec!["U2".into()];
        assert!(!a.covers("U1", &["历下区".into()]));
        assert!(a.covers("U2", &["历下区".into()]));
    }
}
