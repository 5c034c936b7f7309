//! A host's network configuration as text, to check that a tunnel put everything back:
//! routes of both families in every table, policy rules, addresses, and the bytes of
//! the host's resolv.conf.

use crate::{Host, Lab};

impl Lab {
    /// `ip -j` routes (both families, all tables), addresses and rules in `host`'s
    /// namespace, then its resolv.conf. Equal snapshots mean an identical configuration.
    ///
    /// # Panics
    /// When `ip` cannot run in the namespace (the lab is broken).
    pub fn network_state(&self, host: Host) -> Vec<String> {
        let mut state: Vec<String> = [
            &["ip", "-j", "-4", "route", "show", "table", "all"][..],
            &["ip", "-j", "-6", "route", "show", "table", "all"],
            &["ip", "-j", "addr"],
            &["ip", "-j", "-4", "rule"],
            &["ip", "-j", "-6", "rule"],
        ]
        .iter()
        .map(|args| {
            self.exec(host, args)
                .expect("ip in the lab namespace")
                .stdout
        })
        .collect();
        state.push(std::fs::read_to_string(self.resolv_conf(host)).unwrap_or_default());
        state
    }
}
