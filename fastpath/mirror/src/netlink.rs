//! The two rtnetlink sockets: one subscribed to link, route and neighbour events, one that
//! asks the kernel for full dumps. Blocking, no runtime.

use crate::mirror::Event;
use crate::nexthop::{self, RTM_DELNEXTHOP, RTM_GETNEXTHOP, RTM_NEWNEXTHOP, RTNLGRP_NEXTHOP};
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_packet_route::link::LinkMessage;
use netlink_packet_route::neighbour::NeighbourMessage;
use netlink_packet_route::route::RouteMessage;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use std::io;
use std::time::Duration;

// The rtnetlink multicast groups (linux/rtnetlink.h), as a bind-time mask.
const RTMGRP_LINK: u32 = 0x1;
const RTMGRP_NEIGH: u32 = 0x4;
const RTMGRP_IPV4_ROUTE: u32 = 0x40;
const RTMGRP_IPV6_ROUTE: u32 = 0x400;

/// Large enough for any one datagram the kernel sends (dumps fill up to 32 KiB).
pub const DATAGRAM: usize = 64 * 1024;

/// One netlink message, as far as the mirror cares.
pub enum Parsed {
    Event(Event),
    /// The end of a dump.
    Done,
    /// An error (negative errno) or, with 0, an acknowledgement.
    Error(i32),
    Other,
}

const HEADER: usize = 16;

/// Splits one datagram into its messages, with each one's netlink flags. Messages that do not
/// parse are counted (the return value) and skipped; the rest of the datagram is still read
/// when its lengths are sane.
pub fn parse_datagram(mut bytes: &[u8], mut each: impl FnMut(u16, Parsed)) -> usize {
    let mut malformed = 0;
    while bytes.len() >= HEADER {
        let len = u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        if len < HEADER || len > bytes.len() {
            return malformed + 1;
        }
        let kind = u16::from_ne_bytes([bytes[4], bytes[5]]);
        let flags = u16::from_ne_bytes([bytes[6], bytes[7]]);
        let parsed = match kind {
            RTM_NEWNEXTHOP | RTM_DELNEXTHOP => {
                nexthop::parse(&bytes[HEADER..len]).map(|nh| match kind {
                    RTM_NEWNEXTHOP => Parsed::Event(Event::NewNextHop(nh)),
                    _ => Parsed::Event(Event::DelNextHop(nh)),
                })
            }
            _ => NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes[..len])
                .ok()
                .map(|m| match m.payload {
                    NetlinkPayload::InnerMessage(m) => Parsed::Event(Event::Rt(m)),
                    NetlinkPayload::Done(_) => Parsed::Done,
                    NetlinkPayload::Error(e) => Parsed::Error(e.code.map_or(0, |c| c.get())),
                    _ => Parsed::Other,
                }),
        };
        match parsed {
            Some(p) => each(flags, p),
            None => malformed += 1,
        }
        // Messages are 4-byte aligned within a datagram.
        bytes = &bytes[((len + 3) & !3).min(bytes.len())..];
    }
    malformed
}

/// The event socket: bound to the link, neighbour and both route groups, with a receive
/// buffer of `rcvbuf` bytes and a read timeout so that its thread can notice a stop.
pub fn subscribe(rcvbuf: usize, timeout: Duration) -> io::Result<Socket> {
    let mut socket = Socket::new(NETLINK_ROUTE)?;
    socket.set_rx_buf_sz(rcvbuf)?;
    let groups = RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
    socket.bind(&SocketAddr::new(0, groups))?;
    // Kernels before 5.3 have no nexthop objects, nor their group.
    if let Err(e) = socket.add_membership(RTNLGRP_NEXTHOP) {
        tracing::warn!("no nexthop object events: {e}");
    }
    socket2::SockRef::from(&socket).set_read_timeout(Some(timeout))?;
    Ok(socket)
}

/// Whether a receive error is the kernel saying that events were dropped.
pub fn is_overrun(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOBUFS)
}

/// Throws away the events still queued on `socket` after an overrun: they are older than the
/// dump about to be read, and the later events they should have been followed by are lost, so
/// replaying them after the dump would bring back state the kernel no longer has.
pub fn discard_queued(socket: &Socket, datagram: &mut [u8]) -> io::Result<()> {
    loop {
        match socket.recv(&mut &mut datagram[..], libc::MSG_DONTWAIT) {
            Ok(_) => {}
            Err(e) if is_overrun(&e) => {}
            Err(e) if is_timeout(&e) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Everything the mirror needs, each event handed to `each` as it is read, in this order:
/// links, nexthop objects, routes, neighbours. `Ok(false)`: the kernel marked a dump
/// interrupted (a table changed under it), so what was handed over is not a consistent
/// picture: read it all again.
pub fn dump_all(each: &mut dyn FnMut(&Event)) -> io::Result<bool> {
    let mut complete = dump(
        &request(RouteNetlinkMessage::GetLink(LinkMessage::default())),
        each,
    )?;
    // Kernels before 5.3 refuse this dump; they have no objects to name.
    match dump(&raw_request(RTM_GETNEXTHOP, &nexthop::dump_request()), each) {
        Ok(c) => complete &= c,
        Err(e) => tracing::warn!("no nexthop objects dumped: {e}"),
    }
    let routes = request(RouteNetlinkMessage::GetRoute(RouteMessage::default()));
    complete &= dump(&routes, each)?;
    let neighbours = request(RouteNetlinkMessage::GetNeighbour(
        NeighbourMessage::default(),
    ));
    complete &= dump(&neighbours, each)?;
    Ok(complete)
}

const DUMP_FLAGS: u16 = NLM_F_REQUEST | NLM_F_DUMP;

/// A dump request for a message the crate models.
fn request(msg: RouteNetlinkMessage) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = DUMP_FLAGS;
    header.sequence_number = 1;
    let mut msg = NetlinkMessage::new(header, NetlinkPayload::from(msg));
    msg.finalize();
    let mut buf = vec![0; msg.buffer_len()];
    msg.serialize(&mut buf);
    buf
}

/// A dump request of type `kind` with `payload`, for the messages it does not.
fn raw_request(kind: u16, payload: &[u8]) -> Vec<u8> {
    let len = (HEADER + payload.len()) as u32;
    let mut buf = Vec::with_capacity(len as usize);
    buf.extend_from_slice(&len.to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(&DUMP_FLAGS.to_ne_bytes());
    buf.extend_from_slice(&1u32.to_ne_bytes()); // sequence
    buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
    buf.extend_from_slice(payload);
    buf
}

/// One dump, read to its end, each event handed to `each` as its datagram arrives (the
/// kernel fills the next one only when this one is read: a dump cannot overrun). Whether the
/// kernel did not mark it interrupted.
fn dump(request: &[u8], each: &mut dyn FnMut(&Event)) -> io::Result<bool> {
    let mut socket = Socket::new(NETLINK_ROUTE)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    socket.send(request, 0)?;

    let mut datagram = vec![0u8; DATAGRAM];
    let (mut done, mut interrupted, mut failure) = (false, false, 0);
    while !done {
        let n = socket.recv(&mut &mut datagram[..], 0)?;
        let malformed = parse_datagram(&datagram[..n], |flags, m| {
            interrupted |= flags & NLM_F_DUMP_INTR != 0;
            match m {
                Parsed::Done => done = true,
                Parsed::Error(code) => {
                    done = true;
                    failure = code;
                }
                Parsed::Event(e) => each(&e),
                Parsed::Other => {}
            }
        });
        if malformed > 0 {
            tracing::warn!("{malformed} dump messages did not parse");
        }
    }
    if failure != 0 {
        return Err(io::Error::from_raw_os_error(-failure));
    }
    Ok(!interrupted)
}
