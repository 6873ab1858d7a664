//! The two rtnetlink sockets: one subscribed to link, route and neighbour events, one that
//! asks the kernel for full dumps. Blocking, no runtime.

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

/// Splits one datagram into its rtnetlink messages. Messages that do not parse are counted in
/// `malformed` and skipped; the rest of the datagram is still read when its length is sane.
pub fn parse_datagram(
    mut bytes: &[u8],
    mut each: impl FnMut(NetlinkMessage<RouteNetlinkMessage>),
) -> usize {
    let mut malformed = 0;
    while bytes.len() >= 16 {
        let len = u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        if len < 16 || len > bytes.len() {
            return malformed + 1;
        }
        match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes[..len]) {
            Ok(msg) => each(msg),
            Err(_) => malformed += 1,
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

/// Everything the mirror needs, as one list: links first, then routes, then neighbours.
pub fn dump_all() -> io::Result<Vec<RouteNetlinkMessage>> {
    let mut out = dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))?;
    out.extend(dump(
        RouteNetlinkMessage::GetRoute(RouteMessage::default()),
    )?);
    out.extend(dump(RouteNetlinkMessage::GetNeighbour(
        NeighbourMessage::default(),
    ))?);
    Ok(out)
}

/// One dump request, read to its end. A dump the kernel marks interrupted (the table
/// changed under it) is asked again.
fn dump(request: RouteNetlinkMessage) -> io::Result<Vec<RouteNetlinkMessage>> {
    const ATTEMPTS: usize = 8;
    for _ in 0..ATTEMPTS {
        if let Some(out) = dump_once(request.clone())? {
            return Ok(out);
        }
    }
    Err(io::Error::other("the kernel kept interrupting a dump"))
}

fn dump_once(request: RouteNetlinkMessage) -> io::Result<Option<Vec<RouteNetlinkMessage>>> {
    let mut socket = Socket::new(NETLINK_ROUTE)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    header.sequence_number = 1;
    let mut msg = NetlinkMessage::new(header, NetlinkPayload::from(request));
    msg.finalize();
    let mut buf = vec![0; msg.buffer_len()];
    msg.serialize(&mut buf);
    socket.send(&buf, 0)?;

    let mut out = Vec::new();
    let mut datagram = vec![0u8; DATAGRAM];
    let (mut done, mut interrupted, mut failure) = (false, false, None);
    while !done {
        let n = socket.recv(&mut &mut datagram[..], 0)?;
        let malformed = parse_datagram(&datagram[..n], |m| {
            interrupted |= m.header.flags & NLM_F_DUMP_INTR != 0;
            match m.payload {
                NetlinkPayload::Done(_) => done = true,
                NetlinkPayload::Error(e) => {
                    done = true;
                    failure = e.code;
                }
                NetlinkPayload::InnerMessage(inner) => out.push(inner),
                _ => {}
            }
        });
        if malformed > 0 {
            tracing::warn!("{malformed} dump messages did not parse");
        }
    }
    if let Some(code) = failure {
        return Err(io::Error::from_raw_os_error(-code.get()));
    }
    Ok((!interrupted).then_some(out))
}
