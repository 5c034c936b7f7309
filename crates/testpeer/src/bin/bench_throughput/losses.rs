//! What a full-speed run lost on the way: UDP datagrams the kernel dropped because a
//! socket's receive buffer was full, and the segments TCP sent again.
//!
//! A tunnel that drops datagrams under load looks like a congested network to the TCP
//! flows inside it, which then slow down: a throughput figure means little without
//! these next to it.

use anyhow::{Context, Result};
use lab::{Host, Lab};

/// The namespaces whose sockets carry ESP (the client's and the gateway's).
const ESP_HOSTS: [Host; 2] = [Host::Client, Host::Gateway];

/// `RcvbufErrors` of `/proc/net/snmp` (the `Udp:` lines), summed over the hosts that
/// carry ESP.
pub(crate) fn udp_receive_drops(lab: &Lab) -> Result<u64> {
    let mut total = 0;
    for host in ESP_HOSTS {
        let out = lab
            .exec(host, &["cat", "/proc/net/snmp"])
            .with_context(|| format!("reading /proc/net/snmp in {host:?}"))?;
        total += snmp_counter(&out.stdout, "Udp:", "RcvbufErrors")
            .with_context(|| format!("no Udp RcvbufErrors in {host:?}'s /proc/net/snmp"))?;
    }
    Ok(total)
}

/// A counter of `/proc/net/snmp`: each group is a line of names and a line of values,
/// both starting with `group`.
fn snmp_counter(snmp: &str, group: &str, name: &str) -> Option<u64> {
    let mut lines = snmp.lines().filter(|l| l.starts_with(group));
    let names = lines.next()?;
    let values = lines.next()?;
    let index = names.split_whitespace().position(|n| n == name)?;
    values.split_whitespace().nth(index)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_read_by_name() {
        let snmp = "Ip: Forwarding DefaultTTL\nIp: 1 64\n\
                    Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n\
                    Udp: 54384 0 7582 12416 7582 0\n\
                    UdpLite: InDatagrams RcvbufErrors\nUdpLite: 0 0\n";
        assert_eq!(snmp_counter(snmp, "Udp:", "RcvbufErrors"), Some(7582));
        assert_eq!(snmp_counter(snmp, "Udp:", "InDatagrams"), Some(54384));
        assert_eq!(snmp_counter(snmp, "Udp:", "Missing"), None);
        assert_eq!(snmp_counter("", "Udp:", "RcvbufErrors"), None);
    }
}
