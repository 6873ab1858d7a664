//! The kernel's neighbour table over NETLINK_ROUTE: a blocking socket subscribed to
//! RTNLGRP_NEIGH that asks for one dump and then hears RTM_NEWNEIGH / RTM_DELNEIGH as they
//! happen, and the parser that turns its datagrams into [`Neighbour`]s.

use netlink_packet_core::{
    DecodeError, NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP,
    NLM_F_REQUEST,
};
use netlink_packet_route::neighbour::NeighbourMessage;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::protocols::NETLINK_ROUTE;
use netlink_sys::{Socket, SocketAddr};
use std::io;
use std::time::Duration;

/// Room for one datagram: a dump packs up to 32 KiB of messages into each.
const DATAGRAM_CAPACITY: usize = 64 * 1024;

/// One neighbour table entry as the kernel reported it, read by the mirror's parser so that
/// the resolver and the mirror follow one rule for which MACs are usable.
pub type Neighbour = mirror::KernelNeighbour;

/// A datagram that is not a sequence of well-formed netlink messages.
#[derive(Debug, thiserror::Error)]
#[error("malformed netlink datagram at byte {offset}: {source}")]
pub struct ParseError {
    pub offset: usize,
    #[source]
    pub source: DecodeError,
}

/// The neighbour entries of one netlink datagram, in order; other messages (the dump's
/// end, other families' entries) are skipped.
pub fn parse_datagram(datagram: &[u8]) -> Result<Vec<Neighbour>, ParseError> {
    let mut entries = Vec::new();
    let mut offset = 0;
    while offset < datagram.len() {
        let rest = &datagram[offset..];
        let fail = |source| ParseError { offset, source };
        let length = NetlinkBuffer::new_checked(rest).map_err(fail)?.length() as usize;
        let message = NetlinkMessage::<RouteNetlinkMessage>::deserialize(rest).map_err(fail)?;
        let entry = match message.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewNeighbour(m)) => {
                mirror::parse_neighbour(&m)
            }
            // Deleted: whatever it carried, no longer usable.
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelNeighbour(m)) => {
                mirror::parse_neighbour(&m).map(|n| Neighbour { mac: None, ..n })
            }
            _ => None,
        };
        entries.extend(entry);
        // Messages are 4-byte aligned; new_checked refused a length below the header's.
        offset += length.next_multiple_of(4);
    }
    Ok(entries)
}

/// A NETLINK_ROUTE socket that hears the neighbour table's changes.
pub struct NeighbourSocket {
    socket: Socket,
    sequence: u32,
    datagram: Vec<u8>,
}

impl NeighbourSocket {
    /// Subscribes to neighbour events; a receive returns after `read_timeout` at the latest
    /// (so that its thread sees when to stop).
    pub fn open(read_timeout: Duration) -> io::Result<NeighbourSocket> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind(&SocketAddr::new(0, 0))?;
        socket.add_membership(libc::RTNLGRP_NEIGH)?;
        socket2::SockRef::from(&socket).set_read_timeout(Some(read_timeout))?;
        Ok(NeighbourSocket {
            socket,
            sequence: 0,
            datagram: Vec::with_capacity(DATAGRAM_CAPACITY),
        })
    }

    /// Asks for every entry of the table (answered as RTM_NEWNEIGH messages).
    pub fn request_dump(&mut self) -> io::Result<()> {
        self.sequence = self.sequence.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        header.sequence_number = self.sequence;
        let mut request = NetlinkMessage::new(
            header,
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::GetNeighbour(
                NeighbourMessage::default(),
            )),
        );
        request.finalize();
        let mut bytes = vec![0; request.buffer_len()];
        request.serialize(&mut bytes);
        self.socket.send(&bytes, 0)?;
        Ok(())
    }

    /// The next datagram's entries. A timeout is an error of kind `WouldBlock` or
    /// `TimedOut`; `ENOBUFS` means events were lost (dump again).
    pub fn receive(&mut self) -> io::Result<Vec<Neighbour>> {
        self.datagram.clear();
        self.socket.recv(&mut self.datagram, 0)?;
        parse_datagram(&self.datagram).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourState};
    use netlink_packet_route::AddressFamily;
    use std::net::IpAddr;
    use toolkit::MacAddr;

    /// A neighbour message as the kernel sends it, serialized.
    fn message(
        new: bool,
        ifindex: u32,
        addr: IpAddr,
        state: NeighbourState,
        mac: Option<[u8; 6]>,
    ) -> Vec<u8> {
        let mut m = NeighbourMessage::default();
        m.header.family = match addr {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        m.header.ifindex = ifindex;
        m.header.state = state;
        m.attributes
            .push(NeighbourAttribute::Destination(match addr {
                IpAddr::V4(a) => NeighbourAddress::Inet(a),
                IpAddr::V6(a) => NeighbourAddress::Inet6(a),
            }));
        if let Some(mac) = mac {
            m.attributes
                .push(NeighbourAttribute::LinkLayerAddress(mac.to_vec()));
        }
        let inner = if new {
            RouteNetlinkMessage::NewNeighbour(m)
        } else {
            RouteNetlinkMessage::DelNeighbour(m)
        };
        let mut msg = NetlinkMessage::new(
            NetlinkHeader::default(),
            NetlinkPayload::InnerMessage(inner),
        );
        msg.finalize();
        let mut bytes = vec![0; msg.buffer_len()];
        msg.serialize(&mut bytes);
        bytes
    }

    fn a(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn usable_entries_give_their_mac_and_failed_or_incomplete_ones_none() {
        let mac = |last| Some([2, 0, 0, 0, 0, last]);
        let datagram: Vec<u8> = [
            message(
                true,
                7,
                a("192.0.2.2"),
                NeighbourState::Reachable,
                mac(0x0b),
            ),
            message(true, 7, a("192.0.2.3"), NeighbourState::Failed, None),
            // The kernel keeps an INCOMPLETE entry's old address: it must not be used.
            message(
                true,
                7,
                a("192.0.2.4"),
                NeighbourState::Incomplete,
                mac(0x0c),
            ),
            message(true, 8, a("2001:db8::2"), NeighbourState::Stale, mac(0x0d)),
            message(
                true,
                8,
                a("2001:db8::3"),
                NeighbourState::Permanent,
                mac(0x0e),
            ),
            message(
                false,
                7,
                a("192.0.2.5"),
                NeighbourState::Reachable,
                mac(0x0f),
            ),
            // The one rule (the mirror's): NOARP with a unicast MAC is usable; a zero or
            // multicast MAC never is, whatever the state (this parser used to take them).
            message(true, 7, a("192.0.2.6"), NeighbourState::Noarp, mac(0x10)),
            message(true, 7, a("192.0.2.7"), NeighbourState::Noarp, Some([0; 6])),
            message(
                true,
                7,
                a("192.0.2.8"),
                NeighbourState::Permanent,
                Some([1, 0, 0x5e, 0, 0, 1]),
            ),
        ]
        .concat();
        let entries = parse_datagram(&datagram).unwrap();
        let expect = |ifindex, addr: &str, mac: Option<[u8; 6]>| Neighbour {
            ifindex,
            addr: a(addr),
            mac: mac.map(MacAddr),
        };
        assert_eq!(
            entries,
            vec![
                expect(7, "192.0.2.2", mac(0x0b)),
                expect(7, "192.0.2.3", None),
                expect(7, "192.0.2.4", None),
                expect(8, "2001:db8::2", mac(0x0d)),
                expect(8, "2001:db8::3", mac(0x0e)),
                // Deleted: whatever it carried, no longer usable.
                expect(7, "192.0.2.5", None),
                expect(7, "192.0.2.6", mac(0x10)),
                expect(7, "192.0.2.7", None),
                expect(7, "192.0.2.8", None),
            ]
        );
    }

    #[test]
    fn a_datagram_cut_short_is_an_error_not_a_panic() {
        let one = message(
            true,
            7,
            a("192.0.2.2"),
            NeighbourState::Reachable,
            Some([2; 6]),
        );
        let two = [one.clone(), one.clone()].concat();
        assert_eq!(parse_datagram(&two).unwrap().len(), 2);
        for n in 1..two.len() {
            if n == one.len() {
                assert_eq!(parse_datagram(&two[..n]).unwrap().len(), 1);
            } else {
                assert!(parse_datagram(&two[..n]).is_err(), "{n} bytes");
            }
        }
        // A header that claims less than itself.
        let mut bad = one.clone();
        bad[0..4].copy_from_slice(&4u32.to_ne_bytes());
        assert!(parse_datagram(&bad).is_err());
        assert_eq!(parse_datagram(&[]).unwrap(), vec![]);
    }

    #[test]
    fn any_byte_changed_gives_an_answer_not_a_panic() {
        let mac = Some([2, 0, 0, 0, 0, 0x0b]);
        let datagram: Vec<u8> = [
            message(true, 7, a("192.0.2.2"), NeighbourState::Reachable, mac),
            message(false, 8, a("2001:db8::2"), NeighbourState::Stale, mac),
        ]
        .concat();
        let mut changed_answers = 0;
        for i in 0..datagram.len() {
            for v in [0x00, 0xff, datagram[i] ^ 0x80, datagram[i].wrapping_add(1)] {
                let mut bad = datagram.clone();
                bad[i] = v;
                if parse_datagram(&bad).ok() != parse_datagram(&datagram).ok() {
                    changed_answers += 1;
                }
            }
        }
        // Most changes (lengths, types, families, addresses, states) change the answer.
        assert!(changed_answers > datagram.len(), "{changed_answers}");
    }

    #[test]
    fn other_messages_and_families_are_skipped() {
        let mut bridge = NeighbourMessage::default();
        bridge.header.family = AddressFamily::Bridge;
        bridge
            .attributes
            .push(NeighbourAttribute::LinkLayerAddress(vec![2; 6]));
        let mut msg = NetlinkMessage::new(
            NetlinkHeader::default(),
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewNeighbour(bridge)),
        );
        msg.finalize();
        let mut bytes = vec![0; msg.buffer_len()];
        msg.serialize(&mut bytes);
        let mut done = NetlinkMessage::<RouteNetlinkMessage>::new(
            NetlinkHeader::default(),
            NetlinkPayload::Done(Default::default()),
        );
        done.finalize();
        let mut end = vec![0; done.buffer_len()];
        done.serialize(&mut end);
        assert_eq!(parse_datagram(&[bytes, end].concat()).unwrap(), vec![]);
    }
}
