//! IKE SA records (`ike::sa::IkeSaRecord`, the HA sync's and the local checkpoint's unit) and
//! IKEv1 ISAKMP SA records (`ike::v1::record::IsakmpSaRecord`) on arbitrary bytes.
//!
//! Checked: no panic; a record that decodes re-encodes to bytes that decode to the same
//! record, and gives its SPIs (cookies), lifetime and the SA itself without a panic.
#![no_main]

use std::time::Duration;

use ike::sa::IkeSaRecord;
use ike::v1::record::IsakmpSaRecord;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut v1) = IsakmpSaRecord::decode(data) {
        let again = v1.encode();
        let twice = IsakmpSaRecord::decode(&again).expect("a decoded ISAKMP record re-encodes");
        assert_eq!(twice.encode(), again);
        let _ = v1.cookies();
        v1.rebase_ipsec_sas(Duration::from_secs(5));
    }
    let Ok(record) = IkeSaRecord::decode(data) else {
        return;
    };
    let again = record.encode();
    let twice = IkeSaRecord::decode(&again).expect("a decoded record re-encodes");
    assert_eq!(twice.encode(), again);
    let _ = (record.spis(), record.lifetime(), record.child_spis());
    let sa = record.into_sa(Duration::from_secs(5), 1 << 20);
    let _ = (sa.spis(), sa.local_spis(), sa.esp_spis());
});
