//! `corridor diagnose PROFILE`: connect to the gateway step by step and say, one line per
//! step, what worked and what did not, in words a help desk can act on.
//!
//! Steps: `resolve`, `ike_sa_init`, `gateway` (the gateway's proof of identity), `auth`
//! (ours), `child_sa`, `config`, `udp_4500`, `hold` (with `--hold`), `delete`. A line
//! starts with ✔ or ✘; the command stops at the first ✘ and exits with status 1. The
//! key log of `CORRIDOR_KEYLOG` applies (see `corridor_tunnel::keylog`).

use std::fmt::Write as _;
use std::io::{BufRead as _, Write as _};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use corridor_ike::{AuthenticationError, Error as IkeError, Established, PeerIncompatible};
use corridor_model::{AuthMethod, Profile, Secret};
use corridor_profile::{ImportOptions, Store, StoreError, import_file};
use corridor_tunnel::ike_driver::{self, DriverError, IkeDriver, Progress};
use corridor_tunnel::{ConnectSecrets, KeyLog, ike_config};

use crate::Failure;
use crate::args::DiagnoseArgs;

/// How long we wait for the gateway to answer our Delete.
const DELETE_WAIT: Duration = Duration::from_secs(5);
/// How long the UDP 4500 probe waits for an answer.
const PROBE_WAIT: Duration = Duration::from_secs(3);

/// Runs the diagnosis.
pub(crate) fn run(dir: Option<PathBuf>, args: DiagnoseArgs) -> Result<(), Failure> {
    let (profile, carried_password) = load(dir, &args.profile)?;
    let secrets = read_secrets(
        &profile,
        args.password_stdin,
        args.p12_password_stdin,
        carried_password,
    )?;
    let mut config = match ike_config(&profile, &secrets) {
        Ok(c) => c,
        Err(e) => {
            step_fail("profile", &e.to_string());
            return Err(Failure::BadInput(anyhow!(e)));
        }
    };
    if let Some(secs) = args.timeout {
        config.retransmit.budget = Duration::from_secs(secs);
        config.retransmit.max_interval = config
            .retransmit
            .max_interval
            .min(Duration::from_secs(secs));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::System(anyhow!("cannot start the runtime: {e}")))?;
    runtime.block_on(diagnose(&profile, config, args.hold))
}

/// A stored profile (by id or name), or a profile file read without storing it, with
/// the EAP password a `.sswan` file may carry.
pub(crate) fn load(
    dir: Option<PathBuf>,
    query: &str,
) -> Result<(Profile, Option<Secret>), Failure> {
    let path = Path::new(query);
    if path.is_file() {
        let imported = import_file(path, &ImportOptions::default())
            .map_err(|e| Failure::BadInput(anyhow!(e)))?;
        return Ok((imported.profile, imported.secrets.eap_password));
    }
    let store = match dir {
        Some(dir) => Store::open(dir),
        None => Store::open_default(),
    }
    .map_err(store_failure)?;
    let stored = store.get(query).map_err(store_failure)?;
    Ok((stored.profile, None))
}

fn store_failure(error: StoreError) -> Failure {
    match error {
        StoreError::NotFound(_) | StoreError::Ambiguous { .. } => Failure::Conflict(anyhow!(error)),
        StoreError::Invalid(_) => Failure::BadInput(anyhow!(error)),
        _ => Failure::System(anyhow!(error)),
    }
}

/// The secrets the profile's method needs, from standard input (`password_stdin`,
/// `p12_password_stdin`: first the EAP password, then the PKCS#12 password) or the
/// terminal.
pub(crate) fn read_secrets(
    profile: &Profile,
    password_stdin: bool,
    p12_password_stdin: bool,
    carried_password: Option<Secret>,
) -> Result<ConnectSecrets, Failure> {
    let mut secrets = ConnectSecrets::default();
    let mut stdin = std::io::stdin().lock();
    let mut line = |what: &str| -> Result<Secret, Failure> {
        let mut text = String::new();
        stdin.read_line(&mut text).map_err(|e| {
            Failure::System(anyhow!("cannot read the {what} from standard input: {e}"))
        })?;
        let text = text.strip_suffix('\n').unwrap_or(&text);
        Ok(Secret::new(text.strip_suffix('\r').unwrap_or(text)))
    };
    let eap_line = if password_stdin {
        Some(line("EAP password")?)
    } else {
        None
    };
    let p12_line = if p12_password_stdin {
        Some(line("PKCS#12 password")?)
    } else {
        None
    };
    if profile.auth.method.uses_password() {
        secrets.eap_password = match eap_line.or(carried_password) {
            Some(p) => Some(p),
            None => Some(prompt(&format!(
                "Password for {}: ",
                profile
                    .auth
                    .eap_identity
                    .as_deref()
                    .unwrap_or("the EAP user")
            ))?),
        };
    }
    if profile.needs_pkcs12_password() {
        secrets.p12_password = match p12_line {
            Some(p) => Some(p),
            None => Some(prompt("Password of the client certificate (PKCS#12): ")?),
        };
    }
    Ok(secrets)
}

pub(crate) fn prompt(text: &str) -> Result<Secret, Failure> {
    rpassword::prompt_password(text)
        .map(Secret::new)
        .map_err(|e| {
            Failure::System(anyhow!(
                "cannot ask for a password on the terminal ({e}); use --password-stdin or \
                 --p12-password-stdin"
            ))
        })
}

fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

fn step_ok(step: &str, detail: &str) {
    out(&format!("✔ {step:<12} {detail}"));
}

fn step_fail(step: &str, detail: &str) {
    out(&format!("✘ {step:<12} {detail}"));
}

fn failed(step: &str, detail: &str) -> Failure {
    step_fail(step, detail);
    Failure::Conflict(anyhow!("the diagnosis failed at step `{step}`"))
}

async fn diagnose(
    profile: &Profile,
    config: corridor_ike::IkeConfig,
    hold: u64,
) -> Result<(), Failure> {
    let keylog = KeyLog::from_env().map_err(|e| {
        Failure::System(anyhow!(
            "cannot open the key log of {}: {e}",
            corridor_tunnel::keylog::ENV_VAR
        ))
    })?;
    let forced = config.force_udp_encapsulation;
    let probe_config = config.clone();
    let host = profile.gateway.host.clone();
    let mut sa_init_done = false;
    let started = Instant::now();
    let result = {
        let mut progress = |p: Progress<'_>| match p {
            Progress::Resolved { host, gateway, .. } => {
                let port = if gateway.port() == 500 {
                    String::new()
                } else {
                    format!(" port {}", gateway.port())
                };
                if host.parse::<std::net::IpAddr>().ok() == Some(gateway.ip()) {
                    step_ok(
                        "resolve",
                        &format!("{host}{port} (an address: nothing to look up)"),
                    );
                } else {
                    step_ok("resolve", &format!("{host} → {}{port}", gateway.ip()));
                }
            }
            Progress::SaInitAnswered {
                port,
                elapsed,
                suite,
                nat,
                next_port,
            } => {
                sa_init_done = true;
                let nat_text = if nat.local_behind_nat {
                    "we are behind a NAT".to_string()
                } else if nat.remote_behind_nat {
                    "the gateway reports a NAT on its side (strongSwan also reports one to force UDP encapsulation)".to_string()
                } else if forced {
                    "none (UDP encapsulation forced)".to_string()
                } else if !nat.supported {
                    "the gateway does not do NAT traversal".to_string()
                } else {
                    "none".to_string()
                };
                let mut line = format!(
                    "answered on UDP {port} in {} ms; suite {suite}; NAT: {nat_text}",
                    elapsed.as_millis()
                );
                if next_port != port {
                    let _ = write!(line, "; IKE continues on UDP {next_port}");
                }
                step_ok("ike_sa_init", &line);
            }
            _ => {}
        };
        IkeDriver::connect(config, &host, profile.gateway.port, keylog, &mut progress).await
    };
    let (established, mut driver) = match result {
        Ok(ok) => ok,
        Err(e) => return Err(connect_failure(&e, sa_init_done, profile.auth.method)),
    };
    let elapsed = started.elapsed();
    report_established(profile, &established, elapsed, &driver)?;

    // UDP 4500: when IKE already runs there, it evidently answers; otherwise probe it.
    if established.remote_port == ike_driver::NAT_T_PORT {
        step_ok(
            "udp_4500",
            "IKE runs on UDP 4500 (NAT traversal); ESP will be UDP-encapsulated",
        );
    } else {
        match ike_driver::probe_nat_t(probe_config, driver.gateway().ip(), PROBE_WAIT).await {
            Ok(Some(t)) => step_ok(
                "udp_4500",
                &format!(
                    "a probe IKE_SA_INIT on UDP 4500 was answered in {} ms",
                    t.as_millis()
                ),
            ),
            Ok(None) => step_ok(
                "udp_4500",
                &format!(
                    "no answer on UDP 4500 within {} s (only matters behind a NAT)",
                    PROBE_WAIT.as_secs()
                ),
            ),
            Err(e) => step_ok("udp_4500", &format!("probe not sent: {e}")),
        }
    }

    if hold > 0 {
        match driver.hold(Duration::from_secs(hold)).await {
            Ok(()) => step_ok("hold", &format!("SA kept up for {hold} s")),
            Err(e) => return Err(failed("hold", &e.to_string())),
        }
    }
    let stats = driver.stats();
    match driver.disconnect(DELETE_WAIT).await {
        Ok(true) => step_ok("delete", "IKE SA closed by the gateway's answer"),
        Ok(false) => {
            return Err(failed(
                "delete",
                &format!(
                    "the gateway did not answer our Delete within {} s",
                    DELETE_WAIT.as_secs()
                ),
            ));
        }
        Err(e) => return Err(failed("delete", &e.to_string())),
    }
    out(&format!(
        "  datagrams: sent {} on UDP {} and {} on UDP 4500, received {} and {}",
        stats.sent[0], profile.gateway.port, stats.sent[1], stats.received[0], stats.received[1]
    ));
    Ok(())
}

/// The step a connection failure belongs to, and its line.
fn connect_failure(e: &DriverError, sa_init_done: bool, method: AuthMethod) -> Failure {
    let text = e.to_string();
    match e {
        DriverError::Resolve { .. } => failed("resolve", &text),
        DriverError::Io { .. } => failed("resolve", &text),
        DriverError::Ike(ike) if !sa_init_done => {
            let text = match ike {
                IkeError::Timeout { .. } => format!(
                    "{text}: is the gateway up, is the address right, and does a firewall let UDP 500 through?"
                ),
                _ => text,
            };
            failed("ike_sa_init", &text)
        }
        DriverError::Ike(IkeError::Authentication(a)) => match a {
            AuthenticationError::GatewayCertificateUntrusted { .. }
            | AuthenticationError::IdentityMismatch { .. }
            | AuthenticationError::GatewayAuthenticationFailed { .. }
            | AuthenticationError::NoMatchingConnection { .. } => failed("gateway", &text),
            _ => failed("auth", &format!("{}: {text}", method.as_str())),
        },
        DriverError::Ike(IkeError::PeerIncompatible(
            PeerIncompatible::TrafficSelectorsUnacceptable { .. },
        )) => failed("child_sa", &text),
        DriverError::Ike(IkeError::PeerIncompatible(PeerIncompatible::NoProposalChosen {
            kind: "ESP",
            ..
        })) => failed("child_sa", &text),
        _ => failed("auth", &text),
    }
}

fn report_established(
    profile: &Profile,
    e: &Established,
    elapsed: Duration,
    driver: &IkeDriver,
) -> Result<(), Failure> {
    let how = match profile.auth.method {
        AuthMethod::Psk => "pre-shared key",
        _ => "certificate chaining to the profile's CA",
    };
    step_ok(
        "gateway",
        &format!("authenticated as {} ({how})", e.gateway_identity),
    );
    step_ok(
        "auth",
        &format!(
            "{} accepted; IKE SA up after {} ms in all (resolving and key generation included)",
            profile.auth.method.as_str(),
            elapsed.as_millis()
        ),
    );
    let local: Vec<String> = e
        .local_traffic_selectors
        .iter()
        .map(corridor_ike::traffic_selectors::describe)
        .collect();
    let remote: Vec<String> = e
        .remote_traffic_selectors
        .iter()
        .map(corridor_ike::traffic_selectors::describe)
        .collect();
    step_ok(
        "child_sa",
        &format!(
            "ESP {}, SPIs {:08x} in / {:08x} out{}; traffic {} ↔ {}",
            e.esp_suite,
            e.inbound_spi,
            e.outbound_spi,
            if e.udp_encapsulation {
                ", UDP-encapsulated"
            } else {
                ""
            },
            local.join(", "),
            remote.join(", ")
        ),
    );
    let a = &e.assigned;
    let mut addrs: Vec<String> = a
        .ipv4
        .iter()
        .map(|n| n.addr.to_string())
        .chain(a.ipv6.iter().map(|n| n.addr.to_string()))
        .collect();
    if addrs.is_empty() {
        return Err(failed(
            "config",
            "the gateway assigned no virtual address (is its address pool exhausted or missing?)",
        ));
    }
    addrs.dedup();
    let dns: Vec<String> = a.dns.iter().map(IpAddr::to_string).collect();
    let mut line = format!("address {}", addrs.join(", "));
    if !dns.is_empty() {
        let _ = write!(line, ", DNS {}", dns.join(", "));
    }
    if !a.dns_domains.is_empty() {
        let _ = write!(line, ", domains {}", a.dns_domains.join(", "));
    }
    step_ok("config", &line);
    let stats = driver.stats();
    let received = stats.received[0] + stats.received[1];
    step_ok(
        "fragments",
        &format!(
            "IKE fragmentation {}; {received} datagrams received during the handshake",
            if e.fragmentation {
                "supported by the gateway"
            } else {
                "not offered by the gateway"
            }
        ),
    );
    Ok(())
}
