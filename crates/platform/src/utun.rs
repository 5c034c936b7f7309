//! macOS utun names. The kernel names each utun interface itself, `utun` followed by
//! its unit number: a process asks for a unit when it connects the utun control
//! socket (`sockaddr_ctl.sc_unit`, the unit plus one; 0 takes the next free one) and
//! reads the name back with the `UTUN_OPT_IFNAME` socket option (xnu
//! `bsd/net/if_utun.c`). So the name a caller asks for is a wish: `utunN` asks for
//! unit N, anything else for the next free unit, and the device's real name is what
//! [`crate::Tun::name`] answers.

/// The name to ask tun-rs for: `Some("utunN")` for a specific unit (decimal, no
/// leading zeros, as the kernel writes it), `None` for the next free one.
pub(crate) fn requested_name(name: &str) -> Option<&str> {
    let digits = name.strip_prefix("utun")?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    // The control socket's unit is the number plus one, so the largest number fits
    // with one to spare.
    let unit = digits.parse::<u32>().ok()?;
    (canonical && unit < u32::MAX).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(requested_name("utun"), None);
        assert_eq!(requested_name("utun0"), Some("utun0"));
        assert_eq!(requested_name("utun12"), Some("utun12"));
        assert_eq!(requested_name("utun012"), None);
        assert_eq!(requested_name("utun-1"), None);
        assert_eq!(requested_name("utun4294967295"), None);
        assert_eq!(requested_name("utun99999999999"), None);
        assert_eq!(requested_name("corridor0"), None);
        assert_eq!(requested_name("UTUN3"), None);
    }
}
