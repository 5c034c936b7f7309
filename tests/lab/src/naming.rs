//! Names of labs and of their namespaces.
//!
//! Tests run in parallel threads and several test processes may run at once, so a
//! generated lab name joins the process id with a per-process counter. Every namespace of
//! a lab starts with the lab name and a dash, which is how `lab down` and `lab list` find
//! leftovers. Interface names live inside the lab's own namespaces and so never collide.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::bail;

/// One machine (network namespace) of a lab.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// The VPN client's machine: where Corridor (or the strongSwan client) runs.
    Client,
    /// The NAT router between the client's home segment and the wan (only with NAT).
    Router,
    /// The wan segment: a bridge joining client/router, gateway and outside host; also
    /// where the relay runs and where impairment rules live.
    Wan,
    /// The strongSwan gateway.
    Gateway,
    /// The corporate LAN host: DNS, HTTP and iperf3.
    Lan,
    /// A plain internet host on the wan, running an HTTP server.
    Outside,
}

impl Host {
    /// Every host, in the order namespaces are created.
    pub const ALL: [Host; 6] = [
        Host::Wan,
        Host::Gateway,
        Host::Lan,
        Host::Outside,
        Host::Router,
        Host::Client,
    ];

    /// The short role name, the suffix of the namespace name.
    pub fn role(self) -> &'static str {
        match self {
            Host::Client => "client",
            Host::Router => "router",
            Host::Wan => "wan",
            Host::Gateway => "gw",
            Host::Lan => "lan",
            Host::Outside => "outside",
        }
    }

    /// The namespace name of this host in lab `lab`.
    pub fn netns(self, lab: &str) -> String {
        format!("{lab}-{}", self.role())
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.role())
    }
}

/// A fresh lab name, unique among the labs of all processes on this machine.
pub(crate) fn generate() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("lab{}-{n}", std::process::id())
}

/// Checks a user-chosen lab name: short, and only characters safe in file and namespace names.
pub(crate) fn validate_name(name: &str) -> anyhow::Result<()> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if name.is_empty() || name.len() > 24 || !ok_chars || name.starts_with('-') {
        bail!(
            "lab name '{name}' must be 1-24 characters of a-z, 0-9 and '-', not starting with '-'"
        );
    }
    Ok(())
}

/// The lab a namespace belongs to, if its name has a lab role suffix.
pub(crate) fn lab_of_netns(netns: &str) -> Option<&str> {
    Host::ALL.iter().find_map(|h| {
        netns
            .strip_suffix(h.role())
            .and_then(|rest| rest.strip_suffix('-'))
            .filter(|lab| !lab.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_are_unique_and_valid() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        validate_name(&a).unwrap();
    }

    #[test]
    fn netns_names_map_back_to_their_lab() {
        for h in Host::ALL {
            assert_eq!(lab_of_netns(&h.netns("lab12-3")), Some("lab12-3"));
        }
        assert_eq!(lab_of_netns("wan"), None);
        assert_eq!(lab_of_netns("something"), None);
    }
}
