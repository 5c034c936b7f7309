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
    fn connections_are_ended_by_their_user_or_an_administrator() {
        let alice = user(1000);
        assert!(authorize(&alice, Action::Disconnect { started_by: 1000 }).is_ok());
        let err = authorize(&alice, Action::Disconnect { started_by: 1001 }).unwrap_err();
        assert_eq!(err.code, ErrorCode::Unauthorized);
        assert!(authorize(&user(0), Action::Disconnect { started_by: 1001 }).is_ok());
    }
}
