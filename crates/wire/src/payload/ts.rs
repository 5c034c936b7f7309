//! Traffic Selector payloads, TSi and TSr (RFC 7296 §3.13).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{Error, Structure};
use crate::limits::MAX_TRAFFIC_SELECTORS;
use crate::reader::{Reader, count, patch_u16, reserve_u16};
use crate::registry::{PayloadType, TsType};

/// Selector Length of a TS_IPV4_ADDR_RANGE selector.
const IPV4_LEN: usize = 16;
/// Selector Length of a TS_IPV6_ADDR_RANGE selector.
const IPV6_LEN: usize = 40;
/// TS Type, IP protocol ID and Selector Length.
const SELECTOR_HEADER_LEN: usize = 4;

/// A TSi or TSr payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ts<'a> {
    selectors: Vec<TrafficSelector<'a>>,
}

/// An address range with IP protocol and port range: TS types 7 and 8.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpRange {
    /// IP protocol ID; 0 means any protocol.
    pub ip_protocol: u8,
    /// Start Port (or ICMP type/code).
    pub start_port: u16,
    /// End Port.
    pub end_port: u16,
    /// Starting Address.
    pub start: IpAddr,
    /// Ending Address, of the same family as `start`.
    pub end: IpAddr,
}

impl IpRange {
    /// All ports and protocols between two addresses.
    pub fn addresses(start: IpAddr, end: IpAddr) -> Self {
        Self {
            ip_protocol: 0,
            start_port: 0,
            end_port: u16::MAX,
            start,
            end,
        }
    }

    /// The TS Type this range encodes as.
    pub fn ts_type(&self) -> TsType {
        match self.start {
            IpAddr::V4(_) => TsType::TS_IPV4_ADDR_RANGE,
            IpAddr::V6(_) => TsType::TS_IPV6_ADDR_RANGE,
        }
    }

    /// Checks the range, for parsing and encoding alike.
    fn check(&self) -> Result<(), (&'static str, u64, &'static str)> {
        // RFC 7296 §3.13.1: "Systems working with [IPSECARCH] that wish to indicate
        // "OPAQUE" ports, but not "ANY" ports, MUST set the start port to 65535 and the
        // end port to 0." Otherwise Start Port is "the smallest port number allowed" and
        // End Port "the largest".
        let opaque = self.start_port == u16::MAX && self.end_port == 0;
        if self.start_port > self.end_port && !opaque {
            return Err((
                "start port",
                self.start_port.into(),
                "greater than the end port",
            ));
        }
        // RFC 7296 §3.13.1: "Starting Address - The smallest address included in this
        // Traffic Selector" and "Ending Address - The largest address included".
        let ordered = match (self.start, self.end) {
            (IpAddr::V4(s), IpAddr::V4(e)) => s <= e,
            (IpAddr::V6(s), IpAddr::V6(e)) => s <= e,
            _ => {
                return Err((
                    "ending address",
                    0,
                    "of another address family than the start",
                ));
            }
        };
        if !ordered {
            return Err(("starting address", 0, "greater than the ending address"));
        }
        Ok(())
    }
}

/// One traffic selector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrafficSelector<'a> {
    /// TS_IPV4_ADDR_RANGE or TS_IPV6_ADDR_RANGE.
    Ip(IpRange),
    /// Another TS type (e.g. TS_SECLABEL), kept raw.
    Other {
        /// TS Type.
        ts_type: TsType,
        /// The octet after the type (IP protocol ID in types 7 and 8; reserved in others).
        second_octet: u8,
        /// Everything after the Selector Length field.
        data: &'a [u8],
    },
}

impl<'a> TrafficSelector<'a> {
    fn parse(r: &mut Reader<'a>) -> Result<Self, Error> {
        let at = Structure::TrafficSelector;
        let ts_type = TsType::new(r.u8("TS type")?);
        let second_octet = r.u8("IP protocol ID")?;
        let length = usize::from(r.u16("selector length")?);
        // RFC 7296 §3.13.1: "Selector Length - Specifies the length of this Traffic
        // Selector substructure including the header."
        let expected = match ts_type {
            TsType::TS_IPV4_ADDR_RANGE => Some(IPV4_LEN),
            TsType::TS_IPV6_ADDR_RANGE => Some(IPV6_LEN),
            _ => None,
        };
        if length < SELECTOR_HEADER_LEN || expected.is_some_and(|e| e != length) {
            return Err(Error::BadLength {
                at,
                field: "selector length",
                length,
                reason: match ts_type {
                    TsType::TS_IPV4_ADDR_RANGE => "a TS_IPV4_ADDR_RANGE selector is 16 bytes",
                    TsType::TS_IPV6_ADDR_RANGE => "a TS_IPV6_ADDR_RANGE selector is 40 bytes",
                    _ => "shorter than the 4-byte selector header",
                },
            });
        }
        let mut body = r.sub(length - SELECTOR_HEADER_LEN, "selector", at)?;
        let Some(_) = expected else {
            return Ok(Self::Other {
                ts_type,
                second_octet,
                data: body.rest(),
            });
        };
        let start_port = body.u16("start port")?;
        let end_port = body.u16("end port")?;
        let (start, end) = if ts_type == TsType::TS_IPV4_ADDR_RANGE {
            (
                IpAddr::V4(Ipv4Addr::from(body.array::<4>("starting address")?)),
                IpAddr::V4(Ipv4Addr::from(body.array::<4>("ending address")?)),
            )
        } else {
            (
                IpAddr::V6(Ipv6Addr::from(body.array::<16>("starting address")?)),
                IpAddr::V6(Ipv6Addr::from(body.array::<16>("ending address")?)),
            )
        };
        body.finish()?;
        let range = IpRange {
            ip_protocol: second_octet,
            start_port,
            end_port,
            start,
            end,
        };
        range
            .check()
            .map_err(|(field, value, reason)| Error::InvalidValue {
                at,
                field,
                value,
                reason,
            })?;
        Ok(Self::Ip(range))
    }

    /// The TS Type.
    pub fn ts_type(&self) -> TsType {
        match self {
            Self::Ip(r) => r.ts_type(),
            Self::Other { ts_type, .. } => *ts_type,
        }
    }
}

impl<'a> Ts<'a> {
    /// Parses a TSi or TSr body; `payload_type` says which, for error messages.
    pub fn parse(payload_type: PayloadType, body: &'a [u8]) -> Result<Self, Error> {
        let at = Structure::Payload(payload_type);
        let mut r = Reader::new(body, at);
        let number = usize::from(r.u8("number of TSs")?);
        let _reserved = r.array::<3>("reserved")?;
        // RFC 7296 §3.13: "Traffic Selectors (variable length) - One or more individual
        // Traffic Selectors."
        if number == 0 {
            return Err(Error::InvalidValue {
                at,
                field: "number of TSs",
                value: 0,
                reason: "a TS payload holds at least one selector",
            });
        }
        if number > MAX_TRAFFIC_SELECTORS {
            return Err(Error::TooMany {
                at,
                what: "traffic selectors",
                limit: MAX_TRAFFIC_SELECTORS,
            });
        }
        let mut selectors = Vec::with_capacity(number.min(r.remaining() / IPV4_LEN));
        while selectors.len() < number {
            selectors.push(TrafficSelector::parse(&mut r)?);
        }
        // RFC 7296 §3.13: "The length of the Traffic Selector payload includes the TS
        // header and all the Traffic Selectors."
        r.finish()?;
        Ok(Self { selectors })
    }

    /// The selectors, in order.
    pub fn selectors(&self) -> &[TrafficSelector<'a>] {
        &self.selectors
    }

    /// The address-range selectors, skipping other types.
    pub fn ip_ranges(&self) -> impl Iterator<Item = &IpRange> + '_ {
        self.selectors.iter().filter_map(|s| match s {
            TrafficSelector::Ip(r) => Some(r),
            TrafficSelector::Other { .. } => None,
        })
    }
}

/// A traffic selector to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrafficSelectorBuilder {
    /// An address range.
    Ip(IpRange),
    /// Another TS type, raw.
    Other {
        /// TS Type.
        ts_type: TsType,
        /// The octet after the type.
        second_octet: u8,
        /// Everything after the Selector Length field.
        data: Vec<u8>,
    },
}

/// A TSi or TSr payload to send.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TsBuilder {
    /// The selectors.
    pub selectors: Vec<TrafficSelectorBuilder>,
}

impl TsBuilder {
    /// A payload of address ranges.
    pub fn ranges(ranges: impl IntoIterator<Item = IpRange>) -> Self {
        Self {
            selectors: ranges.into_iter().map(TrafficSelectorBuilder::Ip).collect(),
        }
    }

    pub(crate) fn encode(&self, payload_type: PayloadType, out: &mut Vec<u8>) -> Result<(), Error> {
        let at = Structure::Payload(payload_type);
        if self.selectors.is_empty() {
            return Err(Error::Unencodable {
                at,
                reason: "a TS payload needs a selector",
            });
        }
        out.push(count(
            self.selectors.len(),
            at,
            "number of TSs",
            MAX_TRAFFIC_SELECTORS,
        )?);
        out.extend_from_slice(&[0, 0, 0]);
        for s in &self.selectors {
            let start = out.len();
            match s {
                TrafficSelectorBuilder::Ip(range) => {
                    range.check().map_err(|(_, _, reason)| Error::Unencodable {
                        at: Structure::TrafficSelector,
                        reason,
                    })?;
                    out.push(range.ts_type().get());
                    out.push(range.ip_protocol);
                    let len_at = reserve_u16(out);
                    out.extend_from_slice(&range.start_port.to_be_bytes());
                    out.extend_from_slice(&range.end_port.to_be_bytes());
                    for addr in [range.start, range.end] {
                        match addr {
                            IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
                            IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
                        }
                    }
                    patch_u16(
                        out,
                        len_at,
                        start,
                        Structure::TrafficSelector,
                        "selector length",
                    )?;
                }
                TrafficSelectorBuilder::Other {
                    ts_type,
                    second_octet,
                    data,
                } => {
                    if matches!(
                        *ts_type,
                        TsType::TS_IPV4_ADDR_RANGE | TsType::TS_IPV6_ADDR_RANGE
                    ) {
                        return Err(Error::Unencodable {
                            at: Structure::TrafficSelector,
                            reason: "address ranges are encoded from an IpRange",
                        });
                    }
                    out.push(ts_type.get());
                    out.push(*second_octet);
                    let len_at = reserve_u16(out);
                    out.extend_from_slice(data);
                    patch_u16(
                        out,
                        len_at,
                        start,
                        Structure::TrafficSelector,
                        "selector length",
                    )?;
                }
            }
        }
        Ok(())
    }
}

impl From<&Ts<'_>> for TsBuilder {
    fn from(ts: &Ts<'_>) -> Self {
        Self {
            selectors: ts
                .selectors
                .iter()
                .map(|s| match *s {
                    TrafficSelector::Ip(r) => TrafficSelectorBuilder::Ip(r),
                    TrafficSelector::Other {
                        ts_type,
                        second_octet,
                        data,
                    } => TrafficSelectorBuilder::Other {
                        ts_type,
                        second_octet,
                        data: data.to_vec(),
                    },
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(ts: &TsBuilder) -> Vec<u8> {
        let mut out = Vec::new();
        ts.encode(PayloadType::TSR, &mut out).unwrap();
        out
    }

    fn v4(a: [u8; 4]) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(a))
    }

    #[test]
    fn ipv4_and_ipv6_round_trip() {
        let ts = TsBuilder::ranges([
            IpRange::addresses(v4([198, 19, 0, 0]), v4([198, 19, 255, 255])),
            IpRange::addresses(
                "fd00:c0::".parse().unwrap(),
                "fd00:c0:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap(),
            ),
        ]);
        let bytes = encode(&ts);
        assert_eq!(bytes.len(), 4 + 16 + 40);
        assert_eq!(&bytes[..8], [2, 0, 0, 0, 7, 0, 0, 16]);
        let parsed = Ts::parse(PayloadType::TSR, &bytes).unwrap();
        assert_eq!(parsed.ip_ranges().count(), 2);
        assert_eq!(TsBuilder::from(&parsed), ts);
    }

    #[test]
    fn checks_order_and_lengths() {
        let one = |start_port: u16, end_port: u16, s: [u8; 4], e: [u8; 4]| {
            let mut b = vec![1, 0, 0, 0, 7, 6, 0, 16];
            b.extend_from_slice(&start_port.to_be_bytes());
            b.extend_from_slice(&end_port.to_be_bytes());
            b.extend_from_slice(&s);
            b.extend_from_slice(&e);
            Ts::parse(PayloadType::TSI, &b).map(|_| ())
        };
        assert!(one(0, 65535, [1, 1, 1, 1], [1, 1, 1, 1]).is_ok());
        // OPAQUE ports.
        assert!(one(65535, 0, [1, 1, 1, 1], [1, 1, 1, 1]).is_ok());
        assert!(matches!(
            one(80, 79, [1, 1, 1, 1], [1, 1, 1, 1]),
            Err(Error::InvalidValue {
                field: "start port",
                ..
            })
        ));
        assert!(matches!(
            one(0, 65535, [1, 1, 1, 2], [1, 1, 1, 1]),
            Err(Error::InvalidValue {
                field: "starting address",
                ..
            })
        ));
        // Selector length that disagrees with the type.
        let bad = [1, 0, 0, 0, 7, 0, 0, 40, 0, 0, 255, 255];
        assert!(matches!(
            Ts::parse(PayloadType::TSI, &bad),
            Err(Error::BadLength { length: 40, .. })
        ));
        // Count of zero, count larger than present, trailing selector.
        assert!(Ts::parse(PayloadType::TSI, &[0, 0, 0, 0]).is_err());
        let good = encode(&TsBuilder::ranges([IpRange::addresses(
            v4([0; 4]),
            v4([255; 4]),
        )]));
        let mut two = good.clone();
        two[0] = 2;
        assert!(matches!(
            Ts::parse(PayloadType::TSI, &two),
            Err(Error::Truncated { .. })
        ));
        let mut extra = good.clone();
        extra.extend_from_slice(&good[4..]);
        assert!(matches!(
            Ts::parse(PayloadType::TSI, &extra),
            Err(Error::TrailingData { .. })
        ));
    }

    #[test]
    fn other_types_are_kept() {
        let body = [1, 0, 0, 0, 10, 0, 0, 7, b'a', b'b', b'c'];
        let ts = Ts::parse(PayloadType::TSI, &body).unwrap();
        assert_eq!(ts.selectors()[0].ts_type(), TsType::TS_SECLABEL);
        assert_eq!(ts.ip_ranges().count(), 0);
        let mut out = Vec::new();
        TsBuilder::from(&ts)
            .encode(PayloadType::TSI, &mut out)
            .unwrap();
        assert_eq!(out, body);
    }

    #[test]
    fn refuses_mixed_families() {
        let ts = TsBuilder::ranges([IpRange::addresses(v4([0; 4]), "::1".parse().unwrap())]);
        assert!(ts.encode(PayloadType::TSI, &mut Vec::new()).is_err());
    }
}
