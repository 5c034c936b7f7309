//! Connecting and disconnecting: secrets come from the page or, when it has none,
//! from the user's keychain; what the user typed is remembered (when asked) only once
//! the connection is up, so a mistyped password is never stored.

use corridor_client::keychain::{self, Kind};
use corridor_ipc::{ConnectSecrets, Reply, Request, Secret};
use corridor_model::Profile;
use serde::Deserialize;
use tauri::{AppHandle, State};

use crate::commands::{app_state, blocking};
use crate::errors::{Code, Need, UiError};
use crate::link::{Pending, unexpected};
use crate::state::AppState;

/// Secrets the page sends with a connect; empty strings count as absent.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct TypedSecrets {
    username: Option<String>,
    password: Option<Secret>,
    key_passphrase: Option<Secret>,
}

fn present(secret: Option<Secret>) -> Option<Secret> {
    secret.filter(|s| !s.is_empty())
}

/// What a connect needs, given the profile: the secrets to send and those the user
/// typed (to remember later).
#[derive(Debug, Default)]
struct Gathered {
    secrets: ConnectSecrets,
    typed: Pending,
}

/// Fills the secrets `profile` needs from `typed`, else from `stored` (the keychain's
/// answer for each kind); names the first one still missing.
fn gather(
    profile: &Profile,
    typed: TypedSecrets,
    stored: impl Fn(Kind) -> Option<Secret>,
) -> Result<Gathered, UiError> {
    let mut out = Gathered::default();
    if profile.auth.method.uses_password() {
        (out.secrets.password, out.typed.password) = pick(
            typed.password,
            Kind::Password,
            &stored,
            Need::Password,
            profile,
        )?;
    }
    if profile.needs_pkcs12_password() {
        (out.secrets.key_passphrase, out.typed.key_passphrase) = pick(
            typed.key_passphrase,
            Kind::KeyPassphrase,
            &stored,
            Need::KeyPassphrase,
            profile,
        )?;
    }
    Ok(out)
}

/// One needed secret: the typed one, else the stored one; returns (the secret to use,
/// the typed one to remember), or names it as required.
fn pick(
    typed: Option<Secret>,
    kind: Kind,
    stored: &impl Fn(Kind) -> Option<Secret>,
    need: Need,
    profile: &Profile,
) -> Result<(Option<Secret>, Option<Secret>), UiError> {
    let typed = present(typed);
    match typed.clone().or_else(|| stored(kind)) {
        Some(secret) => Ok((Some(secret), typed)),
        None => Err(UiError::secret_required(need, &profile.name)),
    }
}

async fn full_profile(state: &AppState, profile: &str) -> Result<Profile, UiError> {
    match state
        .link
        .ask(Request::GetProfile {
            profile: profile.to_string(),
        })
        .await?
    {
        Reply::Profile { profile, .. } => Ok(*profile),
        other => Err(unexpected(&other)),
    }
}

/// Connects `profile` with what the page typed and the keychain holds.
async fn connect_with(
    state: &AppState,
    profile: &str,
    typed: TypedSecrets,
    remember: bool,
) -> Result<(), UiError> {
    let full = full_profile(state, profile).await?;
    let id = full.id;
    let username = typed.username.clone().filter(|u| !u.trim().is_empty());
    let key_only = !full.auth.method.uses_password() && full.needs_pkcs12_password();
    let (full, gathered) = blocking(move || {
        let gathered = gather(&full, typed, |kind| keychain::get(id, kind));
        (full, gathered)
    })
    .await?;
    let gathered = gathered?;
    let reply = state
        .link
        .ask(Request::Connect {
            profile: id.to_string(),
            username,
            secrets: gathered.secrets,
        })
        .await;
    match reply {
        Ok(Reply::Accepted) => {}
        Ok(other) => return Err(unexpected(&other)),
        Err(mut e) => {
            if e.code == Code::SecretRequired && key_only {
                e.needs = Some(Need::KeyPassphrase);
            }
            return Err(e);
        }
    }
    let typed = gathered.typed;
    if remember && (typed.password.is_some() || typed.key_passphrase.is_some()) {
        state.link.known().remember.insert(id, typed);
    }
    tracing::info!("connecting “{}”", full.name);
    Ok(())
}

#[tauri::command]
pub(crate) async fn connect(
    state: State<'_, AppState>,
    profile: String,
    secrets: Option<TypedSecrets>,
    remember: Option<bool>,
) -> Result<(), UiError> {
    connect_with(
        &state,
        &profile,
        secrets.unwrap_or_default(),
        remember.unwrap_or(false),
    )
    .await
}

/// Connects `profile` with remembered secrets only (tray, connect at start).
pub(crate) async fn start_connect(app: &AppHandle, profile: &str) -> Result<(), UiError> {
    connect_with(&app_state(app), profile, TypedSecrets::default(), false).await
}

/// Disconnects `profile`, or everything.
pub(crate) async fn stop(app: &AppHandle, profile: Option<String>) -> Result<(), UiError> {
    match app_state(app)
        .link
        .ask(Request::Disconnect { profile })
        .await?
    {
        Reply::Accepted => Ok(()),
        other => Err(unexpected(&other)),
    }
}

#[tauri::command]
pub(crate) async fn disconnect(app: AppHandle, profile: Option<String>) -> Result<(), UiError> {
    stop(&app, profile).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_model::AuthMethod;

    fn profile(method: AuthMethod) -> Profile {
        Profile::new(uuid::Uuid::from_u128(1), "Work", "vpn.example.org", method)
    }

    fn typed(password: Option<&str>) -> TypedSecrets {
        TypedSecrets {
            username: None,
            password: password.map(Secret::new),
            key_passphrase: None,
        }
    }

    #[test]
    fn typed_password_wins_and_is_remembered() {
        let p = profile(AuthMethod::EapMschapv2);
        let g = gather(&p, typed(Some("typed")), |_| Some(Secret::new("stored"))).unwrap();
        assert_eq!(g.secrets.password.unwrap().expose(), "typed");
        assert_eq!(g.typed.password.unwrap().expose(), "typed");
    }

    #[test]
    fn keychain_fills_what_is_missing_and_is_not_remembered_again() {
        let p = profile(AuthMethod::EapMschapv2);
        let g = gather(&p, typed(Some("")), |kind| {
            (kind == Kind::Password).then(|| Secret::new("stored"))
        })
        .unwrap();
        assert_eq!(g.secrets.password.unwrap().expose(), "stored");
        assert!(g.typed.password.is_none());
    }

    #[test]
    fn still_missing_is_secret_required() {
        let p = profile(AuthMethod::EapMschapv2);
        let e = gather(&p, typed(None), |_| None).unwrap_err();
        assert_eq!(e.code, Code::SecretRequired);
        assert_eq!(e.needs, Some(Need::Password));
        assert!(e.message.contains("Work"));
    }

    #[test]
    fn psk_needs_nothing() {
        let p = profile(AuthMethod::Psk);
        let g = gather(&p, typed(None), |_| None).unwrap();
        assert!(g.secrets.password.is_none());
        assert!(g.secrets.key_passphrase.is_none());
    }
}
