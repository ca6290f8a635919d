//! `masterKeyIps`: the addresses (or CIDR ranges) the master key is accepted from. parse-server
//! defaults to loopback only; a master key from anywhere else is refused with its raw 403.

use std::net::IpAddr;

/// A list of allowed addresses and ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpAllowList {
    ranges: Vec<(IpAddr, u8)>,
}

impl Default for IpAllowList {
    /// parse-server's default: `["127.0.0.1", "::1"]`.
    fn default() -> IpAllowList {
        IpAllowList::parse(["127.0.0.1", "::1"]).expect("the default list parses")
    }
}

impl IpAllowList {
    /// Reads entries such as `10.0.0.1`, `10.0.0.0/8`, `::1`, `::/0`; errors name the entry.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<IpAllowList, String> {
        let mut ranges = Vec::new();
        for entry in entries {
            let (address, prefix) = match entry.split_once('/') {
                Some((address, prefix)) => (address, Some(prefix)),
                None => (entry, None),
            };
            let address: IpAddr =
                address.parse().map_err(|_| format!("masterKeyIps: {entry:?} is not an IP address"))?;
            let max = if address.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(bits) => match bits.parse::<u8>() {
                    Ok(bits) if bits <= max => bits,
                    _ => return Err(format!("masterKeyIps: {entry:?} has an invalid prefix length")),
                },
            };
            ranges.push((address, prefix));
        }
        Ok(IpAllowList { ranges })
    }

    /// Whether `peer` is in one of the ranges. An IPv4-mapped IPv6 peer counts as its IPv4
    /// address.
    pub fn allows(&self, peer: IpAddr) -> bool {
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(peer),
            v4 => v4,
        };
        self.ranges.iter().any(|(network, prefix)| in_range(peer, *network, *prefix))
    }
}

fn in_range(peer: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (peer, network) {
        (IpAddr::V4(peer), IpAddr::V4(network)) => {
            let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
            u32::from(peer) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(peer), IpAddr::V6(network)) => {
            let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
            u128::from(peer) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_default_is_loopback_only() {
        let list = IpAllowList::default();
        assert!(
            list.allows(ip("127.0.0.1")) && list.allows(ip("::1")) && list.allows(ip("::ffff:127.0.0.1"))
        );
        assert!(!list.allows(ip("10.0.0.1")) && !list.allows(ip("127.0.0.2")));
    }

    #[test]
    fn ranges_match_by_prefix() {
        let list = IpAllowList::parse(["10.0.0.0/8", "2001:db8::/32"]).unwrap();
        assert!(list.allows(ip("10.255.1.2")) && !list.allows(ip("11.0.0.1")));
        assert!(list.allows(ip("2001:db8::1")) && !list.allows(ip("2001:db9::1")));
        let everyone = IpAllowList::parse(["0.0.0.0/0", "::/0"]).unwrap();
        assert!(everyone.allows(ip("203.0.113.9")) && everyone.allows(ip("fe80::1")));
    }

    #[test]
    fn bad_entries_are_named() {
        assert!(IpAllowList::parse(["nope"]).unwrap_err().contains("\"nope\""));
        assert!(IpAllowList::parse(["10.0.0.0/33"]).unwrap_err().contains("prefix"));
    }
}
