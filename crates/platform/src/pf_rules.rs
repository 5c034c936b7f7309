//! The kill switch as pf rules: the text loaded into Corridor's anchor on macOS
//! (`pfctl -a com.apple/corridor -f -`), rendered here on every OS so each rule has a
//! test.
//!
//! pf.conf(5): "For each packet processed by the packet filter, the filter rules are
//! evaluated in sequential order, from first to last. The last matching rule decides
//! what action is taken", unless a rule carries `quick`: "If a packet matches a rule
//! which has the quick option set, this rule is considered the last matching rule, and
//! evaluation of subsequent rules is skipped." Inside an anchor that holds for the main
//! ruleset too: a `quick` match there ends the evaluation of both. Every rule here is
//! therefore `quick`, the passes first and the blocks last, so the result never
//! depends on the rules evaluated after the anchor point, and the order of the text is
//! the order of precedence.
//!
//! pf keeps state by default for `pass` rules, so the replies of a connection the
//! passes allow (the gateway's answers, the DHCP server's offer to a broadcast
//! request excepted, hence the rules for both directions) need no rule of their own.

use std::fmt::Write;

use crate::killswitch::{
    DHCPV4_PORTS, DHCPV6_PORTS, KillSwitch, NDP_TYPES, PROTO_ICMPV6, PROTO_UDP,
};
use crate::types::Family;

/// The loopback interface on macOS.
pub const LOOPBACK: &str = "lo0";

/// The anchor the rules are loaded into. macOS's stock /etc/pf.conf evaluates
/// `anchor "com.apple/*"` in its main ruleset, and pf.conf(5) says an anchor name ending
/// in `/*` evaluates "all anchors attached at that point", in alphabetical order: an
/// anchor under `com.apple/` is evaluated without editing /etc/pf.conf (which system
/// updates overwrite). It comes after Apple's own numbered anchors there
/// (`200.AirDrop`, `250.ApplicationFirewall`): digits sort before letters.
pub const ANCHOR: &str = "com.apple/corridor";

/// The pf.conf text of `policy`'s rules, for [`ANCHOR`]. The policy must be valid
/// ([`KillSwitch::validate`]): the tunnel name is written as it is.
pub fn render(policy: &KillSwitch) -> String {
    let mut text = String::new();
    let mut line = |rule: String| {
        text.push_str(&rule);
        text.push('\n');
    };
    line("# Corridor kill switch: outside the tunnel only what the link needs passes.".into());
    line(format!("pass quick on {LOOPBACK} all"));
    line(format!("pass quick on {} all", policy.tunnel));
    let gateway_family = Family::of(policy.gateway);
    if policy.blocks(gateway_family) {
        let af = af(gateway_family);
        let ports = port_list(&policy.ports());
        let proto = proto_name(PROTO_UDP);
        line(format!(
            "pass out quick {af} proto {proto} from any to {} port {ports}",
            policy.gateway
        ));
        line(format!(
            "pass in quick {af} proto {proto} from {} port {ports} to any",
            policy.gateway
        ));
    }
    if policy.blocks(Family::V4) {
        let (client, server) = DHCPV4_PORTS;
        line(format!(
            "pass quick inet proto udp from any port {client} to any port {server}"
        ));
        line(format!(
            "pass quick inet proto udp from any port {server} to any port {client}"
        ));
    }
    if policy.blocks(Family::V6) {
        let (client, server) = DHCPV6_PORTS;
        line(format!(
            "pass quick inet6 proto udp from any port {client} to any port {server}"
        ));
        line(format!(
            "pass quick inet6 proto udp from any port {server} to any port {client}"
        ));
        let mut types = String::new();
        for t in NDP_TYPES {
            let _ = write!(types, " {t}");
        }
        line(format!(
            "pass quick inet6 proto {} all icmp6-type {{{types} }}",
            proto_name(PROTO_ICMPV6)
        ));
    }
    for family in policy.blocked_families() {
        let af = af(family);
        for net in policy.permitted_in(family) {
            line(format!("pass quick {af} from any to {net}"));
            line(format!("pass quick {af} from {net} to any"));
        }
    }
    for family in policy.blocked_families() {
        line(format!("block drop quick {} all", af(family)));
    }
    text
}

/// pf.conf's name of an address family.
fn af(family: Family) -> &'static str {
    match family {
        Family::V4 => "inet",
        Family::V6 => "inet6",
    }
}

fn proto_name(proto: u8) -> &'static str {
    match proto {
        PROTO_UDP => "udp",
        PROTO_ICMPV6 => "icmp6",
        _ => "ip",
    }
}

/// `500` or `{ 500 4500 }`.
fn port_list(ports: &[u16]) -> String {
    match ports {
        [one] => one.to_string(),
        many => {
            let list: Vec<String> = many.iter().map(ToString::to_string).collect();
            format!("{{ {} }}", list.join(" "))
        }
    }
}

/// The reference token in what `pfctl -E` printed. Apple's pfctl(8): "-E Enable the
/// packet filter and increment the pf enable reference count", printing the reference
/// as `Token : <number>`; "-X token Release the pf enable reference represented by the
/// token passed." Only digits are accepted, since the token is passed back on a
/// command line.
pub fn parse_enable_token(output: &str) -> Option<String> {
    output.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        if !key.trim().eq_ignore_ascii_case("token") {
            return None;
        }
        let value = value.trim();
        (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())).then(|| value.to_string())
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::types::IpNet;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_only_with_an_excluded_network() {
        let mut p = KillSwitch::new("utun5", "203.0.113.7".parse().unwrap());
        p.block_v4 = true;
        p.permitted = vec![net("192.168.1.20/24"), net("fd00:1::/64")];
        assert_eq!(
            render(&p),
            "\
# Corridor kill switch: outside the tunnel only what the link needs passes.
pass quick on lo0 all
pass quick on utun5 all
pass out quick inet proto udp from any to 203.0.113.7 port { 500 4500 }
pass in quick inet proto udp from 203.0.113.7 port { 500 4500 } to any
pass quick inet proto udp from any port 68 to any port 67
pass quick inet proto udp from any port 67 to any port 68
pass quick inet from any to 192.168.1.0/24
pass quick inet from 192.168.1.0/24 to any
block drop quick inet all
"
        );
    }

    #[test]
    fn both_families_with_an_ipv6_gateway_on_one_port() {
        let mut p = KillSwitch::new("utun3", "2001:db8::1".parse().unwrap());
        p.block_v4 = true;
        p.block_v6 = true;
        p.gateway_ports = vec![4500];
        p.permitted = vec![net("fd00:1::/64"), net("10.1.0.0/16")];
        assert_eq!(
            render(&p),
            "\
# Corridor kill switch: outside the tunnel only what the link needs passes.
pass quick on lo0 all
pass quick on utun3 all
pass out quick inet6 proto udp from any to 2001:db8::1 port 4500
pass in quick inet6 proto udp from 2001:db8::1 port 4500 to any
pass quick inet proto udp from any port 68 to any port 67
pass quick inet proto udp from any port 67 to any port 68
pass quick inet6 proto udp from any port 546 to any port 547
pass quick inet6 proto udp from any port 547 to any port 546
pass quick inet6 proto icmp6 all icmp6-type { 133 134 135 136 137 }
pass quick inet from any to 10.1.0.0/16
pass quick inet from 10.1.0.0/16 to any
pass quick inet6 from any to fd00:1::/64
pass quick inet6 from fd00:1::/64 to any
block drop quick inet all
block drop quick inet6 all
"
        );
    }

    #[test]
    fn ipv6_only_leaves_the_ipv4_gateway_and_dhcp_alone() {
        let mut p = KillSwitch::new("utun5", "203.0.113.7".parse().unwrap());
        p.block_v6 = true;
        let text = render(&p);
        assert!(!text.contains("203.0.113.7"));
        assert!(!text.contains("port 67"));
        assert!(!text.contains(" inet "));
        assert!(text.ends_with("block drop quick inet6 all\n"));
    }

    #[test]
    fn every_rule_is_quick_and_the_blocks_come_last() {
        let mut p = KillSwitch::new("utun5", "203.0.113.7".parse().unwrap());
        p.block_v4 = true;
        p.block_v6 = true;
        p.permitted = vec![net("192.168.1.0/24")];
        let text = render(&p);
        let rules: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert!(rules.iter().all(|r| r.contains(" quick ")));
        let first_block = rules.iter().position(|r| r.starts_with("block")).unwrap();
        assert!(rules[..first_block].iter().all(|r| r.starts_with("pass")));
        assert!(rules[first_block..].iter().all(|r| r.starts_with("block")));
    }

    #[test]
    fn the_enable_token_is_found_and_checked() {
        assert_eq!(
            parse_enable_token("No ALTQ support in kernel\npf enabled\nToken : 8345372914573\n"),
            Some("8345372914573".to_string())
        );
        assert_eq!(parse_enable_token("pf enabled\n"), None);
        assert_eq!(parse_enable_token("Token : 12; rm -rf /\n"), None);
        assert_eq!(parse_enable_token("Token :\n"), None);
    }
}
