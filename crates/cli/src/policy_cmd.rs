//! `corridor policy …`: the computer's profile policy, which the service keeps. Anyone
//! in the service's group can read it; changing it needs an administrator, and the
//! service says so when someone else tries.

use anyhow::anyhow;
use corridor_ipc::{Reply, Request};
use corridor_model::{Base64Bytes, Policy, TrustedSigner};
use corridor_profile::{fingerprint, signed};

use crate::Failure;
use crate::args::{PolicyArgs, PolicyCommand, YesNo};
use crate::service_cmd::{ask, open, print, runtime};

/// Runs one `corridor policy` command.
pub(crate) fn run(args: PolicyArgs) -> Result<(), Failure> {
    let socket = args.service.socket;
    let exchange = |request: Request| -> Result<Policy, Failure> {
        runtime()?.block_on(async {
            let mut conn = open(&socket).await?;
            match ask(&mut conn, request).await? {
                Reply::Policy { policy } => Ok(policy),
                other => Err(Failure::System(anyhow!("the service answered {other:?}"))),
            }
        })
    };
    match args.command {
        PolicyCommand::Show { json } => {
            let policy = exchange(Request::GetPolicy)?;
            if json {
                let text = serde_json::to_string_pretty(&policy)
                    .map_err(|e| Failure::System(anyhow!("cannot format the policy: {e}")))?;
                return print(&text);
            }
            print(&describe(&policy))
        }
        PolicyCommand::Set {
            allow_unsigned_imports,
            allow_legacy_crypto,
        } => {
            if allow_unsigned_imports.is_none() && allow_legacy_crypto.is_none() {
                return Err(Failure::BadInput(anyhow!(
                    "nothing to change: give --allow-unsigned-imports yes|no or \
                     --allow-legacy-crypto yes|no"
                )));
            }
            let mut policy = exchange(Request::GetPolicy)?;
            if let Some(v) = allow_unsigned_imports {
                policy.allow_unsigned_imports = v == YesNo::Yes;
            }
            if let Some(v) = allow_legacy_crypto {
                policy.allow_legacy_crypto = v == YesNo::Yes;
            }
            let policy = exchange(Request::SetPolicy { policy })?;
            print(&describe(&policy))
        }
        PolicyCommand::TrustKey { public_key, name } => {
            let pem = std::fs::read(&public_key).map_err(|e| {
                Failure::System(anyhow!("cannot read {}: {e}", public_key.display()))
            })?;
            let der = signed::public_key_from_pem(&pem)
                .map_err(|e| Failure::BadInput(anyhow!("{}: {e}", public_key.display())))?;
            let name = name.trim().to_string();
            if name.is_empty() {
                return Err(Failure::BadInput(anyhow!("--name: give the key a name")));
            }
            let mut policy = exchange(Request::GetPolicy)?;
            if let Some(existing) = policy
                .trusted_signers
                .iter()
                .find(|s| s.public_key.0 == der)
            {
                return Err(Failure::Conflict(anyhow!(
                    "this key ({}) is trusted already, as \"{}\"",
                    fingerprint(&der),
                    existing.name
                )));
            }
            if policy.trusted_signers.iter().any(|s| s.name == name) {
                return Err(Failure::Conflict(anyhow!(
                    "a trusted key is named \"{name}\" already; choose another name or \
                     `corridor policy untrust-key \"{name}\"` first"
                )));
            }
            let print_fp = fingerprint(&der);
            policy.trusted_signers.push(TrustedSigner {
                name: name.clone(),
                public_key: Base64Bytes(der),
            });
            exchange(Request::SetPolicy { policy })?;
            print(&format!("trusted \"{name}\" ({print_fp}) to sign profiles"))
        }
        PolicyCommand::UntrustKey { name } => {
            let mut policy = exchange(Request::GetPolicy)?;
            let before = policy.trusted_signers.len();
            policy.trusted_signers.retain(|s| s.name != name);
            if policy.trusted_signers.len() == before {
                return Err(Failure::Conflict(anyhow!(
                    "no trusted key is named \"{name}\""
                )));
            }
            exchange(Request::SetPolicy { policy })?;
            print(&format!("\"{name}\" is no longer trusted to sign profiles"))
        }
    }
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// The policy, a line per setting and one per trusted key.
fn describe(policy: &Policy) -> String {
    let mut out = format!(
        "allow unsigned imports  {}\nallow legacy crypto     {}\ntrusted signers        ",
        yes_no(policy.allow_unsigned_imports),
        yes_no(policy.allow_legacy_crypto)
    );
    if policy.trusted_signers.is_empty() {
        out.push_str(" (none)");
    }
    for s in &policy.trusted_signers {
        out.push_str(&format!("\n  {}  {}", s.name, fingerprint(&s.public_key.0)));
    }
    out
}
