//! Traffic selectors we ask for and the check that the gateway only narrowed them
//! (RFC 7296 §2.9).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use corridor_wire::payload::{IpRange, Ts, TsBuilder};

/// The traffic selectors to propose for the first Child SA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficSelectors {
    /// TSi: our side. For a remote-access client this is "any", narrowed by the gateway
    /// to the address it assigns.
    pub local: Vec<IpRange>,
    /// TSr: the networks behind the gateway (everything for a full tunnel).
    pub remote: Vec<IpRange>,
}

impl TrafficSelectors {
    /// Everything, IPv4 and IPv6, on both sides: a full tunnel.
    pub fn full_tunnel() -> Self {
        Self {
            local: any(),
            remote: any(),
        }
    }

    pub(crate) fn tsi(&self) -> TsBuilder {
        TsBuilder::ranges(self.local.iter().copied())
    }

    pub(crate) fn tsr(&self) -> TsBuilder {
        TsBuilder::ranges(self.remote.iter().copied())
    }
}

/// 0.0.0.0-255.255.255.255 and ::-ffff:…:ffff, all protocols and ports.
pub fn any() -> Vec<IpRange> {
    vec![
        IpRange::addresses(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V4(Ipv4Addr::BROADCAST),
        ),
        IpRange::addresses(
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::from(u128::MAX)),
        ),
    ]
}

/// Whether `inner` lies entirely inside `outer`.
pub fn contains(outer: &IpRange, inner: &IpRange) -> bool {
    let protocol = outer.ip_protocol == 0 || outer.ip_protocol == inner.ip_protocol;
    let ports = outer.start_port <= inner.start_port && inner.end_port <= outer.end_port;
    let addresses = match (outer.start, outer.end, inner.start, inner.end) {
        (IpAddr::V4(os), IpAddr::V4(oe), IpAddr::V4(is), IpAddr::V4(ie)) => os <= is && ie <= oe,
        (IpAddr::V6(os), IpAddr::V6(oe), IpAddr::V6(is), IpAddr::V6(ie)) => os <= is && ie <= oe,
        _ => false,
    };
    protocol && ports && addresses
}

/// Checks a TSi or TSr payload from the gateway against what we asked for and returns
/// its address ranges.
///
/// RFC 7296 §2.9: "the responder is allowed to narrow the choices by selecting a subset
/// of the traffic". A selector outside every range we proposed is an error; selectors of
/// other types (e.g. security labels) are refused because we proposed none.
pub(crate) fn check_narrowed(
    which: &str,
    received: &Ts<'_>,
    requested: &[IpRange],
) -> Result<Vec<IpRange>, String> {
    let mut out = Vec::new();
    for selector in received.selectors() {
        let corridor_wire::payload::TrafficSelector::Ip(range) = selector else {
            return Err(format!(
                "the gateway's {which} holds a selector of type {}, which we did not propose",
                selector.ts_type()
            ));
        };
        if !requested.iter().any(|r| contains(r, range)) {
            return Err(format!(
                "the gateway's {which} {} is outside what we proposed",
                describe(range)
            ));
        }
        out.push(*range);
    }
    if out.is_empty() {
        return Err(format!("the gateway's {which} is empty"));
    }
    Ok(out)
}

/// `198.18.0.0-198.18.255.255` with `proto 6 ports 80-80` when not "any".
pub fn describe(range: &IpRange) -> String {
    let mut s = format!("{}-{}", range.start, range.end);
    if range.ip_protocol != 0 {
        s.push_str(&format!(" proto {}", range.ip_protocol));
    }
    if range.start_port != 0 || range.end_port != u16::MAX {
        s.push_str(&format!(" ports {}-{}", range.start_port, range.end_port));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_wire::PayloadType;

    fn v4(a: &str, b: &str) -> IpRange {
        IpRange::addresses(a.parse().unwrap(), b.parse().unwrap())
    }

    #[test]
    fn containment() {
        let all = any();
        let host = v4("198.19.10.1", "198.19.10.1");
        assert!(contains(&all[0], &host));
        assert!(!contains(&all[1], &host));
        let net = v4("198.18.0.0", "198.18.255.255");
        assert!(!contains(&net, &host));
        let mut tcp80 = host;
        tcp80.ip_protocol = 6;
        tcp80.start_port = 80;
        tcp80.end_port = 80;
        assert!(contains(&host, &tcp80));
        assert!(!contains(&tcp80, &host));
    }

    #[test]
    fn narrowed_check() {
        let mut bytes = Vec::new();
        let ts = TsBuilder::ranges([v4("198.19.10.1", "198.19.10.1")]);
        corridor_wire::encode_inner_payloads(&[corridor_wire::PayloadBuilder::TsI(ts)], &mut bytes)
            .unwrap();
        let parsed = corridor_wire::parse_inner_payloads(PayloadType::TSI, &bytes).unwrap();
        let corridor_wire::Payload::TsI(ts) = &parsed[0] else {
            panic!()
        };
        assert!(check_narrowed("TSi", ts, &any()).is_ok());
        let err = check_narrowed("TSi", ts, &[v4("10.0.0.0", "10.255.255.255")]).unwrap_err();
        assert_eq!(
            err,
            "the gateway's TSi 198.19.10.1-198.19.10.1 is outside what we proposed"
        );
    }
}
