//! A control socket's request line (`ipc::wire::decode_request`) for both daemons, on
//! arbitrary UTF-8: it never panics, and a request it accepts encodes back to a line that
//! decodes to the same request under the same id.
#![no_main]

use ipc::wire::{decode_request, encode_request};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;

fn round_trip<R: Serialize + DeserializeOwned + PartialEq + Debug>(line: &str) {
    if let Ok((id, request)) = decode_request::<R>(line) {
        let again = encode_request(id.unwrap_or(0), &request);
        let (id2, back) = decode_request::<R>(&again).expect("our own line decodes");
        assert_eq!(id2, Some(id.unwrap_or(0)));
        assert_eq!(back, request, "{}", *again);
    }
}

fuzz_target!(|line: &str| {
    round_trip::<ipc::fastpath::Request>(line);
    round_trip::<ipc::slowpath::Request>(line);
});
