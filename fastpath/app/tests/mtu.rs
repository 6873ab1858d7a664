//! MTU through the real binary: ESP packets over the unprotected port's MTU are fragmented after
//! encryption and reassembled before decryption by the peer; an IPv4 packet with DF set gets
//! its sender an ICMP fragmentation-needed with the MTU left for it instead.

mod common;

use bench::pcap;
use common::{run_pcap_pair as run, run_until_idle, TempDir, KEY};
use esp::wire::checksum::checksum;

const MTU: usize = 1000;

fn ipv4(frame: &[u8]) -> &[u8] {
    &frame[14..]
}

#[test]
fn big_esp_is_fragmented_and_reassembled_and_df_gets_icmp() {
    let dir = TempDir::new("mtu");
    let gw = format!(
        "port 0 protected peer-mac 02:00:00:00:00:02\nport 1 unprotected peer-mac 02:00:00:00:00:03 mtu {MTU}\nlocal 198.51.100.254\n\
         sa 1 out spi 0x1005 aes128gcm16 key {KEY} tunnel 192.0.2.1 192.0.2.2\n\
         sp out protect 1 pri 10 src 198.51.100.0/24 dst 203.0.113.0/24\n"
    );
    // 20 small frames, 20 big ones with DF clear, 10 big ones with DF set.
    let mut plain = Vec::new();
    for i in 0..50 {
        let mut f = pcap::udp_frame(if i < 20 { 300 } else { 1400 }, i, false);
        if (20..40).contains(&i) {
            f[14 + 6] = 0; // DF clear
            let c = checksum(&{
                let mut h = f[14..34].to_vec();
                h[10] = 0;
                h[11] = 0;
                h
            });
            f[24..26].copy_from_slice(&c.to_be_bytes());
        }
        plain.push(f);
    }
    let json = run(&dir.0, "enc", &gw, &plain, &[]);
    assert_eq!(json["encrypted"], 40, "{json}");
    assert_eq!(json["mtu"]["fragmented"], 20, "{json}");
    assert_eq!(json["mtu"]["icmp_too_big"], 10, "{json}");
    let esp = pcap::read(&dir.0.join("enc-out1.pcap")).unwrap();
    assert_eq!(
        esp.len(),
        20 + 20 * 2,
        "the small ones whole, the big ones in two fragments"
    );
    assert!(
        esp.iter().all(|f| ipv4(f).len() <= MTU),
        "every fragment fits the MTU"
    );
    // The ICMP errors go back to the sender on the protected side, from the gateway's address.
    let icmp = pcap::read(&dir.0.join("enc-out0.pcap")).unwrap();
    assert_eq!(icmp.len(), 10);
    for f in &icmp {
        let ip = ipv4(f);
        assert_eq!(
            (ip[9], ip[20], ip[21]),
            (1, 3, 4),
            "ICMP fragmentation needed"
        );
        assert_eq!(&ip[12..16], &[198, 51, 100, 254]);
        assert_eq!(&ip[16..20], &[198, 51, 100, 1]);
        let mtu = u16::from_be_bytes([ip[26], ip[27]]) as usize;
        assert!(
            mtu < MTU && mtu > MTU - 100,
            "next-hop MTU {mtu} leaves room for ESP"
        );
        assert_eq!(checksum(&ip[..20]), 0);
    }

    // The peer reassembles the fragments and decrypts them.
    let peer = format!(
        "port 0 protected peer-mac 02:00:00:00:00:02\nport 1 unprotected peer-mac 02:00:00:00:00:03\n\
         sa 1 in spi 0x1005 aes128gcm16 key {KEY} tunnel 192.0.2.2 192.0.2.1\n\
         sp in protect 1 pri 10 src 198.51.100.0/24 dst 203.0.113.0/24\n"
    );
    let json = run(&dir.0, "dec", &peer, &[], &esp);
    assert_eq!(json["decrypted"], 40, "{json}");
    assert_eq!(json["mtu"]["reassembled"], 20, "{json}");
    let back = pcap::read(&dir.0.join("dec-out0.pcap")).unwrap();
    let comparable = |f: &Vec<u8>| {
        let mut ip = ipv4(f).to_vec();
        ip[8] = 0;
        ip[10..12].copy_from_slice(&[0, 0]);
        ip
    };
    let mut got: Vec<Vec<u8>> = back.iter().map(comparable).collect();
    let mut want: Vec<Vec<u8>> = plain[..40].iter().map(comparable).collect();
    got.sort();
    want.sort();
    assert!(
        got == want,
        "what was encrypted comes back, big ones included"
    );
}

#[test]
fn ipv6_sender_gets_packet_too_big() {
    let dir = TempDir::new("mtu6");
    let gw = format!(
        "port 0 protected peer-mac 02:00:00:00:00:02\nport 1 unprotected peer-mac 02:00:00:00:00:03 mtu 1400\nlocal 2001:db8:1::fe\n\
         sa 1 out spi 0x1006 aes128gcm16 key {KEY} tunnel 192.0.2.1 192.0.2.2\n\
         sp out protect 1 pri 10 src 2001:db8:1::/48 dst 2001:db8:2::/48\n"
    );
    // IPv6 is never fragmented on the way: the big ones must come back as packet-too-big.
    let plain: Vec<Vec<u8>> = (0..20)
        .map(|i| pcap::udp_frame(if i < 10 { 1000 } else { 1400 }, i, true))
        .collect();
    let json = run(&dir.0, "enc6", &gw, &plain, &[]);
    assert_eq!(json["encrypted"], 10, "{json}");
    assert_eq!(json["mtu"]["icmp_too_big"], 10, "{json}");
    assert_eq!(json["mtu"]["fragmented"], 0, "{json}");
    let ptb = pcap::read(&dir.0.join("enc6-out0.pcap")).unwrap();
    assert_eq!(ptb.len(), 10);
    for f in &ptb {
        let ip = &f[14..];
        assert_eq!(
            (ip[0] >> 4, ip[6], ip[40]),
            (6, 58, 2),
            "ICMPv6 packet too big"
        );
        assert_eq!(
            &ip[8..24],
            &"2001:db8:1::fe"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets()
        );
        assert_eq!(
            &ip[24..40],
            &"2001:db8:1::1"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets()
        );
        let mtu = u32::from_be_bytes(ip[44..48].try_into().unwrap()) as usize;
        assert!((1280..1400).contains(&mtu), "reported MTU {mtu}");
        // The inner packet of that size fits once encrypted; one byte more would not.
        assert!(
            mtu + 20 + 8 + 8 + 16 <= 1400,
            "reported MTU {mtu} leaves room for ESP"
        );
    }
    let esp = pcap::read(&dir.0.join("enc6-out1.pcap")).unwrap();
    assert!(esp.len() == 10 && esp.iter().all(|f| f.len() - 14 <= 1400));
}

/// An IKE datagram for the node (192.0.2.2:500 to 192.0.2.1:500) of `len` bytes, IP ID `id`.
fn ike_datagram(len: usize, id: u16) -> Vec<u8> {
    let mut ip = vec![0u8; len];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    ip[4..6].copy_from_slice(&id.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&[192, 0, 2, 2]);
    ip[16..20].copy_from_slice(&[192, 0, 2, 1]);
    let c = checksum(&ip[..20]);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip[20..22].copy_from_slice(&500u16.to_be_bytes());
    ip[22..24].copy_from_slice(&500u16.to_be_bytes());
    ip[24..26].copy_from_slice(&((len - 20) as u16).to_be_bytes());
    for (i, b) in ip[28..].iter_mut().enumerate() {
        *b = (i * 13 + id as usize) as u8;
    }
    ip
}

/// IKE datagrams for the node that arrive IP-fragmented (a big IKE_SA_INIT, a certificate
/// IKE_AUTH) are reassembled and handed to the kernel through the port's exception port in
/// real frames: the Ethernet header their fragments came in, not zeros the kernel would drop;
/// and one larger than the exception port's MTU (1500 here), which a TAP would refuse, in IP
/// fragments that fit it, for the kernel to reassemble.
#[test]
fn reassembled_packets_for_the_node_reach_the_kernel_in_their_frame() {
    let dir = TempDir::new("frag2node");
    let conf = "port 0 protected peer-mac 02:00:00:00:00:02\nport 1 unprotected peer-mac 02:00:00:00:00:03 exception 2\nlocal 192.0.2.1\n";
    let (small, big) = (ike_datagram(1400, 1), ike_datagram(3000, 2));
    // Their fragments at a 1000-byte MTU, in frames from the sender's MAC to the port's.
    let eth: [u8; 14] = [2, 0, 0, 0, 0, 0xaa, 2, 0, 0, 0, 0, 0x03, 0x08, 0x00];
    let mut frames = Vec::new();
    for ip in [&small, &big] {
        let frag = esp::wire::fragment::Fragmenter::new(ip, 1000, 0).unwrap();
        for k in 0..frag.count() {
            let mut f = eth.to_vec();
            f.resize(14 + frag.fragment_len(k), 0);
            frag.write(k, &mut f[14..]).unwrap();
            frames.push(f);
        }
    }
    assert_eq!(frames.len(), 2 + 4);
    let p = |n: &str| dir.0.join(format!("{n}.pcap"));
    pcap::write(&p("in0"), &[]).unwrap();
    pcap::write(&p("in1"), &frames).unwrap();
    pcap::write(&p("in2"), &[]).unwrap();
    let conf_path = dir.0.join("frag2node.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let vdevs: Vec<String> = (0..3)
        .map(|k| {
            format!(
                "net_pcap{k},rx_pcap={},tx_pcap={}",
                p(&format!("in{k}")).display(),
                p(&format!("out{k}")).display()
            )
        })
        .collect();
    let json = run_until_idle("frag2node", &conf_path, 500, &["-l", "0,1"], &vdevs);
    assert_eq!(json["mtu"]["reassembled"], 2, "{json}");
    assert_eq!(json["mtu"]["to_kernel_fragmented"], 1, "{json}");
    assert_eq!(json["exception"], 2, "{json}");
    let to_kernel = pcap::read(&p("out2")).unwrap();
    assert!(
        to_kernel.iter().all(|f| f[..14] == eth),
        "the frame the fragments came in, not zeros"
    );
    // The small one whole; the big one in fragments of at most 1500 bytes.
    assert!(to_kernel[0][14..] == small[..], "the small datagram, whole");
    let pieces = &to_kernel[1..];
    assert_eq!(pieces.len(), 3, "3000 bytes over a 1500-byte MTU");
    assert!(pieces.iter().all(|f| f.len() - 14 <= 1500));
    let mut r = esp::reassembly::Reassembler::new(esp::reassembly::Config::default());
    let got: Vec<_> = pieces.iter().map(|f| r.insert(&f[14..], 0)).collect();
    assert_eq!(got[2], esp::reassembly::Insert::Complete(3000), "{got:?}");
    assert!(r.reassembled() == big, "the big datagram, whole again");
}
