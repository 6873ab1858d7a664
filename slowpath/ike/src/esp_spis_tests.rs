//! One set of inbound ESP SPIs for both engines: a pick that collides with an SPI the other
//! engine holds is drawn again.

use std::time::Duration;

use super::EspSpis;
use crate::engine::{Engine, EngineSettings};
use crate::rng::TestRng;
use crate::v1::engine::V1Engine;

#[test]
fn the_second_engine_avoids_the_first_ones_spi() {
    let mut rng = TestRng::new(1);
    let v2 = Engine::new(
        vec![],
        vec![],
        EngineSettings::default(),
        &mut rng,
        Duration::ZERO,
    );
    let mut v1 = V1Engine::new(&[]);
    v1.share_esp_spis(v2.esp_spis());
    assert!(v1.esp_spis().same_set(&v2.esp_spis()));

    // The IKEv2 engine's pick, then the IKEv1 engine's from the same seed: its first draw is
    // the same value (shown on a set of its own), and the shared set sends it past it.
    let first = v2.esp_spis().take_new(&mut TestRng::new(42));
    assert_eq!(EspSpis::default().take_new(&mut TestRng::new(42)), first);
    let second = v1.esp_spis().take_new(&mut TestRng::new(42));
    assert_ne!(second, first);
    assert!(second > 255);
    assert!(v2.esp_spis().contains(&first) && v2.esp_spis().contains(&second));
    assert_eq!(v2.esp_spis().len(), 2);

    // Freed by one engine, the SPI is free for the other.
    assert!(v1.esp_spis().remove(&first));
    assert_eq!(v2.esp_spis().take_new(&mut TestRng::new(42)), first);
}

#[test]
fn sharing_keeps_the_spis_already_taken() {
    let mut v1 = V1Engine::new(&[]);
    let early = v1.esp_spis().take_new(&mut TestRng::new(5));
    let node = EspSpis::default();
    v1.share_esp_spis(node.clone());
    assert!(node.contains(&early));
    // Sharing the same set again changes nothing.
    v1.share_esp_spis(node.clone());
    assert_eq!(node.len(), 1);
    assert_ne!(node.take_new(&mut TestRng::new(5)), early);
}
