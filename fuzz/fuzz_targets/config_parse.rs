//! The configuration file parser (`fastpath/app/src/config.rs`) on arbitrary UTF-8.
//!
//! config.rs is compiled into this target directly: the app crate depends on `dpdk`, which
//! links DPDK and runs bindgen, and none of that is needed (or wanted instrumented) here.
#![no_main]

#[allow(dead_code)]
#[path = "../../fastpath/app/src/config.rs"]
mod config;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    match config::Config::parse(text, "fuzz") {
        Ok(cfg) => {
            // What the app does next with a parsed file: install every SA.
            let mut sad = esp::sad::Sad::new();
            for (id, sa) in &cfg.sas {
                let _ = sad.insert(*id, sa.clone(), 0);
            }
            let _ = format!("{cfg:?}");
        }
        Err(e) => {
            assert_eq!(e.file, "fuzz");
            assert!(e.line >= 1 && e.line <= text.lines().count(), "{e}");
            let _ = e.to_string();
        }
    }
});
