//! Checks that this machine can run a lab, and says exactly what is missing.
//!
//! Lab tests must fail, not skip, on a machine that cannot run them: a skipped interop
//! test looks like a passing one. Every missing piece is reported at once, with the
//! Debian package that provides it.

use std::path::Path;

use anyhow::{Result, bail};
use nix::unistd::geteuid;

use crate::cmd::find_program;
use crate::strongswan::{CHARON, PLUGIN_DIR, PLUGINS};

/// Programs the lab runs, with the Debian package providing each.
const PROGRAMS: &[(&str, &str)] = &[
    ("ip", "iproute2"),
    ("ss", "iproute2"),
    ("nft", "nftables"),
    ("dnsmasq", "dnsmasq-base"),
    ("iperf3", "iperf3"),
    ("ping", "iputils-ping"),
    ("curl", "curl"),
    ("swanctl", "strongswan-swanctl"),
    ("unshare", "util-linux"),
    ("mount", "mount"),
    ("sysctl", "procps"),
    ("sh", "dash"),
];

/// The Debian packages the lab needs, for messages and docs.
pub const APT_PACKAGES: &[&str] = &[
    "strongswan-charon",
    "strongswan-swanctl",
    "libcharon-extra-plugins",
    "libcharon-extauth-plugins",
    "libstrongswan-extra-plugins",
    "libstrongswan-standard-plugins",
    "iproute2",
    "nftables",
    "dnsmasq-base",
    "iperf3",
    "iputils-ping",
    "procps",
    "util-linux",
    "curl",
];

/// The Debian package that ships a strongSwan plugin.
fn plugin_package(plugin: &str) -> &'static str {
    match plugin {
        "eap-mschapv2" => "libcharon-extauth-plugins",
        "eap-identity" | "eap-tls" | "kernel-libipsec" => "libcharon-extra-plugins",
        "ccm" | "chapoly" | "cmac" | "ctr" | "curve25519" => "libstrongswan-extra-plugins",
        "gcm" | "openssl" => "libstrongswan-standard-plugins",
        "socket-default" => "strongswan-libcharon",
        "vici" => "strongswan-swanctl",
        _ => "libstrongswan",
    }
}

/// Everything that is missing, one line each; empty when the lab can run.
pub fn problems() -> Vec<String> {
    let mut missing = Vec::new();
    if !geteuid().is_root() {
        missing.push(
            "not running as root: the lab creates network namespaces and nftables rules \
             (run as root, or use scripts/test, which runs the tests under sudo)"
                .to_string(),
        );
    }
    for (program, package) in PROGRAMS {
        if find_program(program).is_none() {
            missing.push(format!(
                "program `{program}` not found (apt package {package})"
            ));
        }
    }
    if !Path::new(CHARON).is_file() {
        missing.push(format!(
            "strongSwan's charon not found at {CHARON} (apt package strongswan-charon)"
        ));
    }
    for plugin in PLUGINS {
        let file = Path::new(PLUGIN_DIR).join(format!("libstrongswan-{plugin}.so"));
        if !file.is_file() {
            missing.push(format!(
                "strongSwan plugin {plugin} not found at {} (apt package {})",
                file.display(),
                plugin_package(plugin)
            ));
        }
    }
    if !Path::new("/dev/net/tun").exists() {
        missing.push("/dev/net/tun is missing: kernel-libipsec needs TUN devices".to_string());
    }
    missing
}

/// Fails with a list of everything missing, unless the lab can run here.
pub fn check() -> Result<()> {
    let missing = problems();
    if missing.is_empty() {
        return Ok(());
    }
    bail!(
        "this machine cannot run the strongSwan lab:\n  - {}\n(scripts/setup-system installs the packages: {})",
        missing.join("\n  - "),
        APT_PACKAGES.join(" ")
    )
}
