//! The fast path's configuration file grammar (`ipc::fastpath::file`) on arbitrary UTF-8: it
//! never panics, refuses with a line inside the file, and what it accepts is valid (each SA
//! passes the interface's check) and writes back to a statement that parses to the same SA.
#![no_main]

use ipc::fastpath::file::FileConfig;
use ipc::statement::{parse_sa, parse_sp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    match FileConfig::parse(text, "fuzz") {
        Ok(cfg) => {
            for sa in &cfg.sas {
                assert!(sa.check().is_ok(), "{sa:?}");
                let line = sa.to_string();
                let words: Vec<&str> = line.split_whitespace().collect();
                assert_eq!(parse_sa(&words[1..]).as_ref(), Ok(sa), "{line}");
            }
            for sp in &cfg.sps {
                let line = sp.to_string();
                let words: Vec<&str> = line.split_whitespace().collect();
                assert_eq!(parse_sp(&words[1..]).as_ref(), Ok(sp), "{line}");
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
