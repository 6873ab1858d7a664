//! Byte-level VRRP: the Advertisement message, the Ethernet/IP framing the I/O layer sends and
//! receives on an AF_PACKET socket, and the gratuitous ARP / unsolicited NA a new master sends.
//! Pure functions; parsers return an error value for any input they refuse.

mod advert;
mod error;
mod frame;

pub use advert::{Advert, Version, HEADER_LEN, MAX_ADDRESSES, PROTO_VRRP, V2_AUTH_DATA_LEN};
pub use error::ParseError;
pub use frame::{
    build_advert_frame, parse_advert_frame, virtual_mac, ReceivedAdvert, ETHERTYPE_ARP,
    ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETH_HEADER_LEN, VRRP_GROUP_V4, VRRP_GROUP_V6, VRRP_MAC_V4,
    VRRP_MAC_V6, VRRP_TOS, VRRP_TTL,
};
pub use toolkit::announce::{build_gratuitous_arp, build_unsolicited_na};
