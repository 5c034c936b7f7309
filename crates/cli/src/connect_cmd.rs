//! `corridor connect` and `corridor disconnect`: the tunnel through the service, as the
//! user (no root needed). The connect command gathers the secrets the profile needs
//! (standard input, the user's keychain, or a prompt), asks the service, and follows
//! its state events until the tunnel is up or has failed.

use std::time::Duration;

use anyhow::anyhow;
use corridor_ipc::{ConnectSecrets, ConnectionState, Event, Reply, Request};
use corridor_model::{Profile, Secret};

use crate::Failure;
use crate::args::{ConnectArgs, DisconnectArgs};
use crate::diagnose::prompt;
use crate::service_cmd::{Client, ask, describe, failure, open, print, runtime};
use corridor_client::keychain::{self, Kind};

/// Where a secret came from: remembering one that came from the keychain again is
/// pointless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Keychain,
    User,
}

/// `corridor connect`.
pub(crate) fn connect(args: &ConnectArgs) -> Result<(), Failure> {
    let runtime = runtime()?;
    let profile = runtime.block_on(async {
        let mut conn = open(&args.service.socket).await?;
        match ask(
            &mut conn,
            Request::GetProfile {
                profile: args.profile.clone(),
            },
        )
        .await?
        {
            Reply::Profile { profile, .. } => Ok(*profile),
            other => Err(Failure::System(anyhow!(
                "the service answered {other:?} to a profile request"
            ))),
        }
    })?;
    if args.forget {
        let n = keychain::forget(profile.id);
        print(&format!(
            "forgot {n} remembered secret(s) of “{}”",
            profile.name
        ))?;
    }
    let (secrets, origins) = gather_secrets(&profile, args)?;
    runtime.block_on(async {
        let mut conn = open(&args.service.socket).await?;
        if !args.no_wait {
            ask(&mut conn, Request::Subscribe { log_level: None }).await?;
        }
        ask(
            &mut conn,
            Request::Connect {
                profile: profile.id.to_string(),
                username: args.username.clone(),
                secrets: secrets.clone(),
            },
        )
        .await?;
        if args.no_wait {
            return print(&format!("connecting “{}”", profile.name));
        }
        follow(&mut conn, &profile, Duration::from_secs(args.timeout)).await
    })?;
    if args.remember {
        remember(&profile, &secrets, origins)?;
    }
    Ok(())
}

/// The secrets `profile` needs, and where each came from.
fn gather_secrets(
    profile: &Profile,
    args: &ConnectArgs,
) -> Result<(ConnectSecrets, [Option<Origin>; 2]), Failure> {
    let method = profile.auth.method;
    let mut secrets = ConnectSecrets::default();
    let mut origins = [None, None];
    if method.uses_password() {
        let (secret, origin) = if args.password_stdin {
            (stdin_line("password")?, Origin::User)
        } else if let Some(s) = keychain::get(profile.id, Kind::Password) {
            (s, Origin::Keychain)
        } else {
            let who = args
                .username
                .as_deref()
                .or(profile.auth.eap_identity.as_deref())
                .unwrap_or("the user");
            (
                prompt(&format!("Password for {who} ({}): ", profile.name))?,
                Origin::User,
            )
        };
        secrets.password = Some(secret);
        origins[0] = Some(origin);
    }
    if profile.needs_pkcs12_password() {
        let (secret, origin) = if args.p12_password_stdin {
            (stdin_line("certificate password")?, Origin::User)
        } else if let Some(s) = keychain::get(profile.id, Kind::KeyPassphrase) {
            (s, Origin::Keychain)
        } else {
            (
                prompt("Password of the client certificate (PKCS#12): ")?,
                Origin::User,
            )
        };
        secrets.key_passphrase = Some(secret);
        origins[1] = Some(origin);
    }
    Ok((secrets, origins))
}

/// The next line of standard input, as a secret.
fn stdin_line(what: &str) -> Result<Secret, Failure> {
    let mut text = String::new();
    std::io::stdin()
        .read_line(&mut text)
        .map_err(|e| Failure::System(anyhow!("cannot read the {what} from standard input: {e}")))?;
    let line = text.strip_suffix('\n').unwrap_or(&text);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() {
        return Err(Failure::BadInput(anyhow!(
            "standard input gave an empty {what}"
        )));
    }
    Ok(Secret::new(line))
}

/// Stores what the user typed once the gateway accepted it.
fn remember(
    profile: &Profile,
    secrets: &ConnectSecrets,
    origins: [Option<Origin>; 2],
) -> Result<(), Failure> {
    let pairs = [
        (Kind::Password, &secrets.password, origins[0]),
        (Kind::KeyPassphrase, &secrets.key_passphrase, origins[1]),
    ];
    for (kind, secret, origin) in pairs {
        if let (Some(secret), Some(Origin::User)) = (secret, origin) {
            match keychain::set(profile.id, kind, secret) {
                Ok(()) => print(&format!(
                    "remembered in your keychain for “{}”",
                    profile.name
                ))?,
                // The tunnel is up; not being able to remember is worth a line, not a
                // failure.
                Err(e) => print(&format!("not remembered: {e}"))?,
            }
        }
    }
    Ok(())
}

/// Prints the connection's states until it is up (success) or has ended (failure).
async fn follow(conn: &mut Client, profile: &Profile, timeout: Duration) -> Result<(), Failure> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let message = tokio::select! {
            event = conn.next_event() => event,
            () = tokio::time::sleep_until(deadline) => {
                return Err(Failure::Conflict(anyhow!(
                    "“{}” is not connected after {} s; it goes on trying (see `corridor status`, \
                     `corridor disconnect` to stop)",
                    profile.name,
                    timeout.as_secs()
                )));
            }
        };
        let status = match message {
            Ok(Some(Event::State { status })) if status.profile.id == profile.id => status,
            Ok(Some(_)) => continue,
            Ok(None) => return Err(Failure::Conflict(anyhow!("the service stopped"))),
            Err(e) => return Err(failure(e)),
        };
        match status.state {
            ConnectionState::Connected => return print(&describe(&status)),
            ConnectionState::Disconnected => {
                return Err(Failure::Conflict(anyhow!(
                    "“{}” did not connect: {}",
                    profile.name,
                    status.reason.as_deref().unwrap_or("no reason given")
                )));
            }
            _ => print(&describe(&status))?,
        }
    }
}

/// `corridor disconnect`.
pub(crate) fn disconnect(args: &DisconnectArgs) -> Result<(), Failure> {
    runtime()?.block_on(async {
        let mut conn = open(&args.service.socket).await?;
        ask(
            &mut conn,
            Request::Disconnect {
                profile: args.profile.clone(),
            },
        )
        .await?;
        print("disconnected; the network is restored")
    })
}
