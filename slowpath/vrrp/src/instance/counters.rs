//! Per-instance counters: plain numbers the I/O layer reads and shows.

use crate::wire::ParseError;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub priority_zero_sent: u64,
    pub priority_zero_received: u64,
    pub became_master: u64,
    pub became_backup: u64,
    pub became_fault: u64,
    pub split_brain: u64,
    // Frames refused by the parser, one per `ParseError` (named by `counter_name`), counted
    // by `Instance::count_parse_error`.
    pub not_vrrp: u64,
    pub truncated: u64,
    pub ip_header: u64,
    pub ip_checksum: u64,
    pub fragment: u64,
    pub destination: u64,
    pub source: u64,
    pub ttl: u64,
    pub bad_version: u64,
    pub bad_type: u64,
    pub family: u64,
    pub bad_vrid: u64,
    pub address_count: u64,
    pub length: u64,
    pub bad_interval: u64,
    pub bad_checksum: u64,
    // Adverts parsed but refused (or flagged) by the instance.
    /// Another virtual router's advert (or one of the other address family).
    pub vrid_mismatch: u64,
    /// A v2 advert whose interval differs from ours (dropped, RFC 3768 §7.1).
    pub interval_mismatch: u64,
    /// The advert's addresses differ from ours: counted, and the advert still processed.
    pub address_list_mismatch: u64,
    /// A v2 advert with an authentication type other than 0.
    pub auth_type: u64,
    /// Our own advert looping back (source address is ours).
    pub own_advert: u64,
    /// An advert of the other VRRP version.
    pub version_mismatch: u64,
}

impl Counters {
    /// Counts a frame the parser refused.
    pub fn count_parse_error(&mut self, e: ParseError) {
        let c = match e {
            ParseError::NotVrrp => &mut self.not_vrrp,
            ParseError::Truncated => &mut self.truncated,
            ParseError::IpHeader => &mut self.ip_header,
            ParseError::IpChecksum => &mut self.ip_checksum,
            ParseError::Fragment => &mut self.fragment,
            ParseError::Destination => &mut self.destination,
            ParseError::Source => &mut self.source,
            ParseError::Ttl => &mut self.ttl,
            ParseError::BadVersion => &mut self.bad_version,
            ParseError::BadType => &mut self.bad_type,
            ParseError::Family => &mut self.family,
            ParseError::BadVrid => &mut self.bad_vrid,
            ParseError::AddressCount => &mut self.address_count,
            ParseError::Length => &mut self.length,
            ParseError::BadInterval => &mut self.bad_interval,
            ParseError::BadChecksum => &mut self.bad_checksum,
        };
        *c += 1;
    }

    /// Every counter with its name, in declaration order (for display and export).
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> {
        [
            ("adverts_sent", self.adverts_sent),
            ("adverts_received", self.adverts_received),
            ("priority_zero_sent", self.priority_zero_sent),
            ("priority_zero_received", self.priority_zero_received),
            ("became_master", self.became_master),
            ("became_backup", self.became_backup),
            ("became_fault", self.became_fault),
            ("split_brain", self.split_brain),
            ("not_vrrp", self.not_vrrp),
            ("truncated", self.truncated),
            ("ip_header", self.ip_header),
            ("ip_checksum", self.ip_checksum),
            ("fragment", self.fragment),
            ("destination", self.destination),
            ("source", self.source),
            ("ttl", self.ttl),
            ("bad_version", self.bad_version),
            ("bad_type", self.bad_type),
            ("family", self.family),
            ("bad_vrid", self.bad_vrid),
            ("address_count", self.address_count),
            ("length", self.length),
            ("bad_interval", self.bad_interval),
            ("bad_checksum", self.bad_checksum),
            ("vrid_mismatch", self.vrid_mismatch),
            ("interval_mismatch", self.interval_mismatch),
            ("address_list_mismatch", self.address_list_mismatch),
            ("auth_type", self.auth_type),
            ("own_advert", self.own_advert),
            ("version_mismatch", self.version_mismatch),
        ]
        .into_iter()
    }

    /// A counter by name (`ParseError::counter_name` names included).
    pub fn get(&self, name: &str) -> Option<u64> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_parse_error_has_its_own_counter() {
        let mut c = Counters::default();
        for (i, e) in ParseError::ALL.iter().enumerate() {
            c.count_parse_error(*e);
            assert_eq!(c.get(e.counter_name()), Some(1), "{e:?}");
            let total: u64 = c.iter().map(|(_, v)| v).sum();
            assert_eq!(total, i as u64 + 1);
        }
    }
}
