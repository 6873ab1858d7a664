//! The IKEv2 engine (`ike::engine::Engine`) as a responder with a PSK connection, fed
//! arbitrary datagrams and then time.
//!
//! The input is split at every `IKE!` into datagrams (an input without one, such as the
//! ike_message seeds, is one datagram). Even-numbered datagrams arrive on port 500, odd ones
//! on 4500 behind the non-ESP marker; the clock moves a second between them; then the timers
//! run at +10 s and +1 h. Every action is drained. Checked: no panic, and every datagram the
//! engine sends fits in a UDP datagram.
#![no_main]

use std::net::SocketAddr;
use std::time::Duration;

use ike::action::Action;
use ike::config::IkeConfig;
use ike::crypto::transform::{Suite, ECP_256, ENCR_AES_GCM_16, PRF_HMAC_SHA2_256};
use ike::engine::{Engine, EngineSettings};
use ike::rng::TestRng;
use libfuzzer_sys::fuzz_target;

#[path = "datagrams.rs"]
mod datagrams;
#[path = "psk_conn.rs"]
mod psk_conn;

use datagrams::split;

fn responder() -> IkeConfig {
    let ike = Suite {
        encr: ENCR_AES_GCM_16,
        encr_key_bits: 128,
        integ: None,
        prf: Some(PRF_HMAC_SHA2_256),
        dh: Some(ECP_256),
        esn: None,
    };
    let esp = Suite {
        prf: None,
        dh: None,
        ..ike
    };
    psk_conn::psk_conn("fuzz", "192.0.2.1:500", "0.0.0.0:500", ike, esp)
}

fn drain(e: &mut Engine) {
    while let Some(a) = e.poll_action() {
        if let Action::Send { bytes, .. } = a {
            assert!(
                bytes.len() <= 65_507,
                "a datagram of {} octets",
                bytes.len()
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut rng = TestRng::new(1);
    let mut now = Duration::from_secs(1);
    let mut e = Engine::new(
        vec![responder()],
        vec![],
        EngineSettings::default(),
        &mut rng,
        now,
    );
    let peer_ip = "198.51.100.2".parse().unwrap();
    for (i, d) in split(data).into_iter().take(16).enumerate() {
        let (local, remote, bytes): (SocketAddr, SocketAddr, Vec<u8>) = if i % 2 == 0 {
            (
                "192.0.2.1:500".parse().unwrap(),
                SocketAddr::new(peer_ip, 500),
                d.to_vec(),
            )
        } else {
            let mut b = vec![0u8; 4];
            b.extend_from_slice(d);
            (
                "192.0.2.1:4500".parse().unwrap(),
                SocketAddr::new(peer_ip, 4500),
                b,
            )
        };
        e.handle_datagram(now, &mut rng, local, remote, &bytes);
        drain(&mut e);
        now += Duration::from_secs(1);
    }
    let _ = e.status(now);
    for later in [Duration::from_secs(10), Duration::from_secs(3600)] {
        e.handle_timeout(now + later, &mut rng);
        drain(&mut e);
    }
    let _ = e.status(now + Duration::from_secs(3600));
});
