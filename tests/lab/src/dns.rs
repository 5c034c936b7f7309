//! A minimal DNS client (RFC 1035 over UDP) for checking the LAN's DNS server without
//! depending on `dig` being installed. It asks one question and returns the A or AAAA
//! records of the answer section.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// The record type to ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordType {
    /// IPv4 address.
    A,
    /// IPv6 address.
    Aaaa,
}

impl RecordType {
    fn code(self) -> u16 {
        match self {
            RecordType::A => 1,
            RecordType::Aaaa => 28,
        }
    }
}

/// Asks `server` (port 53) for `name` from the calling thread's network namespace.
pub fn query(server: IpAddr, name: &str, rtype: RecordType) -> Result<Vec<IpAddr>> {
    let bind: SocketAddr = match server {
        IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(bind).context("opening a UDP socket")?;
    socket.set_read_timeout(Some(Duration::from_secs(2)))?;
    let id = (std::process::id() as u16) ^ 0x5a5a;
    let packet = build_query(id, name, rtype)?;
    let target = SocketAddr::new(server, 53);
    let mut buf = [0u8; 1500];
    for _attempt in 0..3 {
        socket
            .send_to(&packet, target)
            .with_context(|| format!("sending a DNS query to {target}"))?;
        match socket.recv_from(&mut buf) {
            Ok((n, from)) if from == target => return parse_answers(&buf[..n], id, rtype),
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                continue;
            }
            Err(e) => return Err(e).with_context(|| format!("waiting for {target}")),
        }
    }
    bail!("no answer from the DNS server {target} for {name}")
}

fn build_query(id: u16, name: &str, rtype: RecordType) -> Result<Vec<u8>> {
    let mut p = Vec::with_capacity(64);
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&0x0100u16.to_be_bytes()); // recursion desired
    p.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // one question
    for label in name.trim_end_matches('.').split('.') {
        let len = u8::try_from(label.len())
            .ok()
            .filter(|l| (1..64).contains(l));
        let Some(len) = len else {
            bail!("'{name}' is not a valid DNS name");
        };
        p.push(len);
        p.extend_from_slice(label.as_bytes());
    }
    p.push(0);
    p.extend_from_slice(&rtype.code().to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes()); // class IN
    Ok(p)
}

/// A bounds-checked cursor over a DNS message.
struct Cursor<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.msg.len());
        let Some(end) = end else {
            bail!("DNS message truncated at byte {}", self.pos);
        };
        let bytes = &self.msg[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Skips a possibly compressed name (a pointer ends it).
    fn skip_name(&mut self) -> Result<()> {
        loop {
            let len = self.take(1)?[0];
            match len {
                0 => return Ok(()),
                l if l & 0xc0 == 0xc0 => {
                    self.take(1)?;
                    return Ok(());
                }
                l => {
                    self.take(usize::from(l))?;
                }
            }
        }
    }
}

fn parse_answers(msg: &[u8], id: u16, rtype: RecordType) -> Result<Vec<IpAddr>> {
    let mut c = Cursor { msg, pos: 0 };
    if c.u16()? != id {
        bail!("DNS answer has the wrong id");
    }
    let flags = c.u16()?;
    let rcode = flags & 0x000f;
    if rcode != 0 {
        bail!("DNS server answered with rcode {rcode}");
    }
    let qdcount = c.u16()?;
    let ancount = c.u16()?;
    c.take(4)?;
    for _ in 0..qdcount {
        c.skip_name()?;
        c.take(4)?;
    }
    let mut out = Vec::new();
    for _ in 0..ancount {
        c.skip_name()?;
        let ty = c.u16()?;
        c.take(6)?; // class and TTL
        let len = usize::from(c.u16()?);
        let data = c.take(len)?;
        if ty != rtype.code() {
            continue;
        }
        match (rtype, <[u8; 4]>::try_from(data), <[u8; 16]>::try_from(data)) {
            (RecordType::A, Ok(v4), _) => out.push(IpAddr::from(v4)),
            (RecordType::Aaaa, _, Ok(v6)) => out.push(IpAddr::from(v6)),
            _ => bail!("record of type {ty} has {len} bytes of data"),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_compressed_answer() {
        let mut msg = build_query(7, "intranet.corp.example", RecordType::A).unwrap();
        msg[2] = 0x81;
        msg[3] = 0x80;
        msg[7] = 1; // one answer
        msg.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 19, 0, 10]);
        let addrs = parse_answers(&msg, 7, RecordType::A).unwrap();
        assert_eq!(addrs, vec!["198.19.0.10".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn rejects_truncation_and_errors() {
        let msg = build_query(7, "x.example", RecordType::A).unwrap();
        assert!(parse_answers(&msg[..5], 7, RecordType::A).is_err());
        let mut nx = msg.clone();
        nx[3] = 0x83;
        assert!(parse_answers(&nx, 7, RecordType::A).is_err());
        assert!(build_query(1, "a..b", RecordType::A).is_err());
    }
}
