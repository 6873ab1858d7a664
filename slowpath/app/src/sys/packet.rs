//! An AF_PACKET socket bound to one interface: whole Ethernet frames in and out, so that VRRP
//! adverts leave from the virtual MAC and the TTL of what arrives can be checked.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Frames of every protocol (filtered in user space: VRRP is a few frames a second).
const ETH_P_ALL: u16 = 0x0003;

pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: i32,
}

/// Where a received frame came from, as the kernel says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Sent by another host (or looped to us).
    Incoming,
    /// Our own transmission, seen because ETH_P_ALL sockets see both ways.
    Outgoing,
}

impl PacketSocket {
    /// Opens a non-blocking socket on `ifindex` that also receives the given multicast MACs.
    pub fn open(ifindex: u32, multicast: &[[u8; 6]]) -> io::Result<PacketSocket> {
        let ifindex = i32::try_from(ifindex).map_err(|_| io::ErrorKind::InvalidInput)?;
        // SAFETY: plain socket(2) call; the returned descriptor is checked and owned below.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                i32::from(ETH_P_ALL.to_be()),
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let sock = PacketSocket { fd, ifindex };
        let addr = sock.sockaddr(None);
        // SAFETY: `addr` is a valid sockaddr_ll and its size is passed with it.
        let rc = unsafe {
            libc::bind(
                raw,
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        for mac in multicast {
            sock.add_membership(mac)?;
        }
        Ok(sock)
    }

    fn sockaddr(&self, dst: Option<[u8; 6]>) -> libc::sockaddr_ll {
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut a: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        a.sll_family = libc::AF_PACKET as u16;
        a.sll_protocol = ETH_P_ALL.to_be();
        a.sll_ifindex = self.ifindex;
        if let Some(mac) = dst {
            a.sll_halen = 6;
            a.sll_addr[..6].copy_from_slice(&mac);
        }
        a
    }

    /// Makes the interface accept frames to a multicast MAC (the VRRP groups' MACs).
    fn add_membership(&self, mac: &[u8; 6]) -> io::Result<()> {
        // SAFETY: packet_mreq is plain old data; all-zero is a valid value.
        let mut mreq: libc::packet_mreq = unsafe { std::mem::zeroed() };
        mreq.mr_ifindex = self.ifindex;
        mreq.mr_type = libc::PACKET_MR_MULTICAST as u16;
        mreq.mr_alen = 6;
        mreq.mr_address[..6].copy_from_slice(mac);
        // SAFETY: `mreq` is a valid packet_mreq and its size is passed with it.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_ADD_MEMBERSHIP,
                (&mreq as *const libc::packet_mreq).cast(),
                std::mem::size_of::<libc::packet_mreq>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Sends one whole frame (Ethernet header included).
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        let mut dst = [0u8; 6];
        if let Some(d) = frame.get(..6) {
            dst.copy_from_slice(d);
        }
        let addr = self.sockaddr(Some(dst));
        // SAFETY: `frame` is a valid buffer of its length; `addr` a valid sockaddr_ll.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Receives one frame into `buf`; `Ok(None)` when there is nothing to read.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<(usize, Direction)>> {
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: `buf` is writable for its length; `from`/`len` describe a valid address
        // buffer. MSG_TRUNC is not set, so n <= buf.len().
        let n = unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                0,
                (&mut from as *mut libc::sockaddr_ll).cast(),
                &mut len,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
                _ => Err(e),
            };
        }
        let dir = if from.sll_pkttype == libc::PACKET_OUTGOING {
            Direction::Outgoing
        } else {
            Direction::Incoming
        };
        Ok(Some((n as usize, dir)))
    }
}

impl AsRawFd for PacketSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
