//! The computer's profile policy as the service holds it: read from the policy file at
//! start, read by any member, changed only by an administrator, and then written to the
//! file (atomically) and used at once by every later import and connect.

use std::path::PathBuf;
use std::sync::{PoisonError, RwLock};

use corridor_ipc::{ErrorCode, ErrorReply};
use corridor_profile::{InputError, Policy, PolicyFile as _};

use crate::authz::{Action, authorize};
use crate::caller::Caller;

/// The policy in force, and the file it is kept in.
#[derive(Debug)]
pub struct PolicyState {
    path: Option<PathBuf>,
    current: RwLock<Policy>,
}

impl Default for PolicyState {
    fn default() -> Self {
        Self::in_memory(Policy::default())
    }
}

impl PolicyState {
    /// Reads the policy file (a missing file is the default policy).
    ///
    /// # Errors
    /// The file exists but cannot be read or is not a valid policy.
    pub fn load(path: impl Into<PathBuf>) -> Result<Self, InputError> {
        let path = path.into();
        let policy = Policy::load(&path)?;
        Ok(Self {
            path: Some(path),
            current: RwLock::new(policy),
        })
    }

    /// A policy kept in memory only (tests, and services run without a policy file).
    pub fn in_memory(policy: Policy) -> Self {
        Self {
            path: None,
            current: RwLock::new(policy),
        }
    }

    /// The policy in force.
    pub fn get(&self) -> Policy {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The policy, for `caller` (any member may read it: it holds no secret).
    ///
    /// # Errors
    /// Never for a caller the server let in; kept for symmetry with [`Self::set`].
    pub fn read(&self, caller: &Caller) -> Result<Policy, ErrorReply> {
        authorize(caller, Action::Observe)?;
        Ok(self.get())
    }

    /// Replaces the policy: administrators only. The file is written first, so a policy
    /// that cannot be saved is not used either.
    ///
    /// # Errors
    /// `Unauthorized` for a non-administrator; `Internal` when the file cannot be written.
    pub fn set(&self, caller: &Caller, policy: Policy) -> Result<Policy, ErrorReply> {
        authorize(caller, Action::SetPolicy)?;
        for (i, signer) in policy.trusted_signers.iter().enumerate() {
            if signer.name.trim().is_empty() {
                return Err(ErrorReply {
                    code: ErrorCode::BadRequest,
                    message: format!("trusted_signers[{i}].name: a trusted key needs a name"),
                });
            }
        }
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(path) = &self.path {
            policy.save(path).map_err(|e| ErrorReply {
                code: ErrorCode::Internal,
                message: format!("cannot write the policy to {}: {e}", path.display()),
            })?;
        }
        *current = policy.clone();
        Ok(policy)
    }
}
