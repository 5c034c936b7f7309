//! Authorization of every request, as one pure function so that each rule has a test.

use corridor_ipc::{ErrorCode, ErrorReply};

use crate::caller::Caller;

/// Whose a profile is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Installed by IT in the managed directory.
    Managed,
    /// Imported by this user.
    User(u32),
}

/// What a request would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// List profiles, read the status, subscribe to events, read the log.
    Observe,
    /// Read one profile (without secrets).
    ReadProfile(Owner),
    /// Import a profile into the caller's own store.
    ImportOwn,
    /// Remove a profile.
    RemoveProfile(Owner),
    /// Connect a profile.
    Connect(Owner),
    /// Disconnect a connection started by the user `started_by`.
    Disconnect {
        /// Who started it.
        started_by: u32,
    },
    /// Change the computer's profile policy (trusted signing keys, unsigned imports,
    /// legacy algorithms).
    SetPolicy,
}

/// Decides whether `caller` may do `action`.
///
/// Another user's profile answers "not found" rather than "not allowed" so that a
/// member cannot learn which profiles others have.
///
/// # Errors
/// An [`ErrorReply`] to send back, naming the rule.
pub fn authorize(caller: &Caller, action: Action) -> Result<(), ErrorReply> {
    if caller.is_admin() {
        return Ok(());
    }
    let own = |owner: Owner| owner == Owner::User(caller.uid);
    match action {
        Action::Observe | Action::ImportOwn => Ok(()),
        Action::ReadProfile(owner) | Action::Connect(owner) => {
            if owner == Owner::Managed || own(owner) {
                Ok(())
            } else {
                Err(not_found())
            }
        }
        Action::RemoveProfile(Owner::Managed) => Err(ErrorReply {
            code: ErrorCode::Unauthorized,
            message: "this profile is managed by your IT department; only an administrator \
                      can remove it"
                .to_string(),
        }),
        Action::RemoveProfile(owner) => {
            if own(owner) {
                Ok(())
            } else {
                Err(not_found())
            }
        }
        Action::SetPolicy => Err(ErrorReply {
            code: ErrorCode::Unauthorized,
            message: "only an administrator can change this computer's profile policy".to_string(),
        }),
        Action::Disconnect { started_by } => {
            if started_by == caller.uid {
                Ok(())
            } else {
                Err(ErrorReply {
                    code: ErrorCode::Unauthorized,
                    message: "this connection was started by another user; only they or an \
                              administrator can disconnect it"
                        .to_string(),
                })
            }
        }
    }
}

/// Where an allowed edit goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditTarget {
    /// The caller's own profile, changed in place.
    OwnProfile,
    /// The managed profile's file itself (administrators only).
    ManagedFile,
    /// The caller's personal overlay of a managed profile: the unlocked fields they
    /// changed, applied whenever they use the profile.
    UserOverlay,
}

/// The field locks in force for `caller` on a profile of `owner` whose `managed`
/// section is `section`: none on a user's own profile (the section is theirs to remove)
/// or for an administrator; otherwise the section's locks, or when it is absent every
/// field but `name` and `auth.eap_identity`.
pub fn effective_locks(
    caller: &Caller,
    owner: Owner,
    section: Option<&corridor_model::Managed>,
) -> Vec<String> {
    if owner != Owner::Managed || caller.is_admin() {
        return Vec::new();
    }
    corridor_model::managed::effective_locks(section)
}

/// Decides whether `caller` may change the leaf fields `changed` of a profile of `owner`
/// with the field `locks` in force for them (see [`effective_locks`]), and where the
/// change is kept. A non-administrator never changes a managed profile's `id`, `format`,
/// `version` or `managed` section, locked or not.
///
/// # Errors
/// `Unauthorized` naming the first locked field changed (and nothing is changed), or
/// "not found" for another user's profile.
pub fn authorize_edit(
    caller: &Caller,
    owner: Owner,
    locks: &[String],
    changed: &[String],
) -> Result<EditTarget, ErrorReply> {
    match owner {
        Owner::User(uid) if uid == caller.uid || caller.is_admin() => Ok(EditTarget::OwnProfile),
        Owner::User(_) => Err(not_found()),
        Owner::Managed if caller.is_admin() => Ok(EditTarget::ManagedFile),
        Owner::Managed => {
            let never: Vec<String> = corridor_model::managed::NEVER_USER_EDITABLE
                .iter()
                .map(|p| (*p).to_string())
                .collect();
            for path in changed {
                if corridor_model::managed::locked_by(&never, path).is_some()
                    || corridor_model::managed::locked_by(locks, path).is_some()
                {
                    return Err(ErrorReply {
                        code: ErrorCode::Unauthorized,
                        message: format!(
                            "{path} is locked by your IT department; only an administrator \
                             can change it"
                        ),
                    });
                }
            }
            Ok(EditTarget::UserOverlay)
        }
    }
}

fn not_found() -> ErrorReply {
    ErrorReply {
        code: ErrorCode::NotFound,
        message: "no such profile".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(uid: u32) -> Caller {
        Caller {
            uid,
            gid: uid,
            pid: None,
            user: None,
            admin: uid == 0,
        }
    }

    #[test]
    fn members_see_managed_and_their_own_profiles_only() {
        let alice = user(1000);
        assert!(authorize(&alice, Action::Observe).is_ok());
        assert!(authorize(&alice, Action::ReadProfile(Owner::Managed)).is_ok());
        assert!(authorize(&alice, Action::ReadProfile(Owner::User(1000))).is_ok());
        let err = authorize(&alice, Action::ReadProfile(Owner::User(1001))).unwrap_err();
        assert_eq!(err.code, ErrorCode::NotFound);
        assert!(authorize(&alice, Action::Connect(Owner::Managed)).is_ok());
        assert_eq!(
            authorize(&alice, Action::Connect(Owner::User(1001)))
                .unwrap_err()
                .code,
            ErrorCode::NotFound
        );
    }

    #[test]
    fn managed_profiles_are_removed_by_administrators_only() {
        let alice = user(1000);
        let err = authorize(&alice, Action::RemoveProfile(Owner::Managed)).unwrap_err();
        assert_eq!(err.code, ErrorCode::Unauthorized);
        assert!(err.message.contains("administrator"));
        assert!(authorize(&alice, Action::RemoveProfile(Owner::User(1000))).is_ok());
        assert!(authorize(&user(0), Action::RemoveProfile(Owner::Managed)).is_ok());
    }

    #[test]
    fn members_change_only_unlocked_fields_of_managed_profiles() {
        let alice = user(1000);
        let locks = effective_locks(&alice, Owner::Managed, None);
        let changed = |paths: &[&str]| paths.iter().map(|p| (*p).to_string()).collect::<Vec<_>>();
        assert_eq!(
            authorize_edit(
                &alice,
                Owner::Managed,
                &locks,
                &changed(&["auth.eap_identity", "name"])
            ),
            Ok(EditTarget::UserOverlay)
        );
        for locked in [
            "gateway.host",
            "trust.ca",
            "proposals.ike",
            "auth.method",
            "auth.psk",
            "transport.mtu",
            "id",
            "managed",
            "managed.locked",
        ] {
            let err = authorize_edit(
                &alice,
                Owner::Managed,
                &locks,
                &changed(&["auth.eap_identity", locked]),
            )
            .unwrap_err();
            assert_eq!(err.code, ErrorCode::Unauthorized, "{locked}");
            assert!(
                err.message
                    .starts_with(&format!("{locked} is locked by your IT department")),
                "{}",
                err.message
            );
        }
        // IT's own list: only what it names is locked.
        let section: corridor_model::Managed =
            serde_json::from_str(r#"{"locked": ["gateway", "trust", "proposals", "auth.method"]}"#)
                .unwrap();
        let locks = effective_locks(&alice, Owner::Managed, Some(&section));
        assert_eq!(locks, ["gateway", "trust", "proposals", "auth.method"]);
        assert!(authorize_edit(&alice, Owner::Managed, &locks, &changed(&["dns.servers"])).is_ok());
        assert!(
            authorize_edit(&alice, Owner::Managed, &locks, &changed(&["gateway.port"])).is_err()
        );
    }

    #[test]
    fn owners_and_administrators_edit_freely() {
        let alice = user(1000);
        let all = changed_all();
        // Locks in a user's own profile lock nothing.
        let section = corridor_model::Managed::default();
        assert!(effective_locks(&alice, Owner::User(1000), Some(&section)).is_empty());
        assert!(effective_locks(&alice, Owner::User(1000), None).is_empty());
        assert_eq!(
            authorize_edit(&alice, Owner::User(1000), &[], &all),
            Ok(EditTarget::OwnProfile)
        );
        assert_eq!(
            authorize_edit(&alice, Owner::User(1001), &[], &all)
                .unwrap_err()
                .code,
            ErrorCode::NotFound
        );
        let root = user(0);
        assert!(effective_locks(&root, Owner::Managed, None).is_empty());
        assert_eq!(
            authorize_edit(&root, Owner::Managed, &[], &all),
            Ok(EditTarget::ManagedFile)
        );
    }

    fn changed_all() -> Vec<String> {
        corridor_model::managed::FIELD_PATHS
            .iter()
            .map(|p| (*p).to_string())
            .collect()
    }

    #[test]
    fn only_administrators_change_the_policy() {
        let err = authorize(&user(1000), Action::SetPolicy).unwrap_err();
        assert_eq!(err.code, ErrorCode::Unauthorized);
        assert!(
            err.message.contains("only an administrator"),
            "{}",
            err.message
        );
        assert!(authorize(&user(0), Action::SetPolicy).is_ok());
        // Reading it is observing.
        assert!(authorize(&user(1000), Action::Observe).is_ok());
    }

    #[test]
    fn connections_are_ended_by_their_user_or_an_administrator() {
        let alice = user(1000);
        assert!(authorize(&alice, Action::Disconnect { started_by: 1000 }).is_ok());
        let err = authorize(&alice, Action::Disconnect { started_by: 1001 }).unwrap_err();
        assert_eq!(err.code, ErrorCode::Unauthorized);
        assert!(authorize(&user(0), Action::Disconnect { started_by: 1001 }).is_ok());
    }
}
