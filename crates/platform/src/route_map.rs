//! Our [`Route`] as a request to the BSD routing socket (`route(4)`), and back, without
//! the socket itself, so the mapping is tested on every OS. `macos.rs` turns a
//! [`RouteRequest`] into the routing library's route and sends it.

use std::net::IpAddr;

use crate::error::{Error, Result};
use crate::types::{IpNet, MAIN_TABLE, Route, RouteKind};

/// What one `RTM_ADD` / `RTM_DELETE` message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteRequest {
    /// Destination network (host bits cleared) and prefix length.
    pub(crate) destination: IpNet,
    /// Next hop (`RTF_GATEWAY`), if any.
    pub(crate) gateway: Option<IpAddr>,
    /// Output interface, if any: without a gateway it makes an interface route
    /// (`route add -net … -interface utun4`).
    pub(crate) device: Option<String>,
    /// `RTF_REJECT`: refuse the traffic ("network unreachable").
    pub(crate) reject: bool,
}

/// The request for `route`. macOS has one routing table, so a route for another table
/// is refused; it has no route metrics either (`route(8)` has no such option), so a
/// metric is not carried.
pub(crate) fn request(route: &Route) -> Result<RouteRequest> {
    if route.table_or_main() != MAIN_TABLE {
        return Err(Error::Unsupported("routing tables other than the main one"));
    }
    let destination = network(route.destination)?;
    if let Some(gateway) = route.gateway
        && crate::types::Family::of(gateway) != destination.family()
    {
        return Err(Error::Invalid {
            what: "route",
            detail: format!("gateway {gateway} is not of the family of {destination}"),
        });
    }
    let reject = route.kind == RouteKind::Unreachable;
    if !reject && route.device.is_none() && route.gateway.is_none() {
        return Err(Error::Invalid {
            what: "route",
            detail: format!("{destination} names neither an interface nor a gateway"),
        });
    }
    Ok(RouteRequest {
        destination,
        gateway: route.gateway,
        device: route.device.clone(),
        reject,
    })
}

/// The route a listed entry describes. A reject route is listed through `lo0` (the
/// loopback driver is what refuses its packets), so its interface is not part of it.
pub(crate) fn route_of(listed: RouteRequest) -> Route {
    let kind = if listed.reject {
        RouteKind::Unreachable
    } else {
        RouteKind::Unicast
    };
    Route {
        destination: listed.destination,
        device: if listed.reject { None } else { listed.device },
        gateway: listed.gateway.filter(|g| !g.is_unspecified()),
        table: None,
        metric: None,
        kind,
    }
}

/// `net` with its host bits cleared: the routing socket takes a network and a mask.
fn network(net: IpNet) -> Result<IpNet> {
    let prefix = net.prefix();
    let addr = match net.addr() {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    };
    IpNet::new(addr, prefix)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn net(s: &str, p: u8) -> IpNet {
        IpNet::new(s.parse().unwrap(), p).unwrap()
    }

    #[test]
    fn interface_route() {
        let req = request(&Route::via_device(net("198.19.0.7", 24), "utun4")).unwrap();
        assert_eq!(
            req,
            RouteRequest {
                destination: net("198.19.0.0", 24),
                gateway: None,
                device: Some("utun4".into()),
                reject: false,
            }
        );
        assert_eq!(
            route_of(req),
            Route::via_device(net("198.19.0.0", 24), "utun4")
        );
    }

    #[test]
    fn gateway_route_drops_the_metric() {
        let route = Route {
            destination: IpNet::host("203.0.113.9".parse().unwrap()),
            device: Some("en0".into()),
            gateway: Some("192.168.1.1".parse().unwrap()),
            table: None,
            metric: Some(100),
            kind: RouteKind::Unicast,
        };
        let req = request(&route).unwrap();
        assert_eq!(req.gateway, route.gateway);
        assert_eq!(req.device.as_deref(), Some("en0"));
        assert_eq!(
            route_of(req),
            Route {
                metric: None,
                ..route
            }
        );
    }

    #[test]
    fn unreachable_is_a_reject_route() {
        let req = request(&Route::unreachable(net("::", 1))).unwrap();
        assert!(req.reject);
        assert_eq!(req.device, None);
        let listed = RouteRequest {
            device: Some("lo0".into()),
            ..req
        };
        assert_eq!(route_of(listed), Route::unreachable(net("::", 1)));
    }

    #[test]
    fn refused() {
        let mut other_table = Route::via_device(net("198.19.0.0", 24), "utun4");
        other_table.table = Some(100);
        assert!(matches!(request(&other_table), Err(Error::Unsupported(_))));
        let mut nowhere = Route::via_device(net("198.19.0.0", 24), "utun4");
        nowhere.device = None;
        assert!(request(&nowhere).is_err());
        let mut mixed = Route::via_device(net("198.19.0.0", 24), "utun4");
        mixed.gateway = Some("fd00::1".parse().unwrap());
        assert!(request(&mixed).is_err());
    }
}
