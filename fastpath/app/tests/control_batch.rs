//! The control socket's `batch`: many requests in one round trip, each with its own outcome,
//! on a running fast path.

mod common;

use common::{sa_add, sp_add, start_node, Client, KEY};
use serde_json::{json, Value};

#[test]
fn a_batch_carries_out_each_request_in_order_with_its_own_outcome() {
    let conf = "port 0 protected peer-mac 02:00:00:00:00:02\nport 1 unprotected peer-mac 02:00:00:00:00:03\n";
    let vdevs = ["net_ring0".to_string(), "net_ring1".to_string()];
    let node = start_node("batch", conf, &[], &vdevs, |_| {});
    let mut c = Client::connect(&node.sock);

    let requests = vec![
        sa_add(&format!(
            "sa 10 out spi 0x2010 aes128gcm16 key {KEY} tunnel 192.0.2.1 192.0.2.2"
        )),
        sa_add(&format!(
            "sa 11 in spi 0x2011 aes128gcm16 key {KEY} tunnel 192.0.2.2 192.0.2.1"
        )),
        // Refused (the id is taken) without stopping what follows.
        sa_add(&format!(
            "sa 11 in spi 0x2012 aes128gcm16 key {KEY} tunnel 192.0.2.2 192.0.2.1"
        )),
        sp_add("sp out protect 10 pri 10 src 198.51.100.0/24 dst 203.0.113.0/24"),
        json!({"op": "stats"}),
        json!({"op": "batch", "requests": [{"op": "stats"}]}),
        json!({"op": "subscribe"}),
        json!({"op": "sa_del", "sa": 99}),
        sp_add("sp in protect 11 pri 10 src 203.0.113.0/24 dst 198.51.100.0/24"),
    ];
    let results = c.ok(json!({"op": "batch", "requests": requests}));
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 9, "{results:?}");
    let refused = |r: &Value| r["refused"].as_str().map(str::to_string);
    assert_eq!(results[0]["ok"], json!({"sa": 10, "worker": 0}));
    assert_eq!(results[1]["ok"], json!({"sa": 11, "worker": 0}));
    assert!(refused(&results[2]).unwrap().contains("in use"));
    let out_policy = results[3]["ok"]["policy"].as_u64().unwrap();
    assert_eq!(results[4]["ok"]["workers"], json!(1));
    assert!(refused(&results[5])
        .unwrap()
        .contains("batch inside a batch"));
    assert!(refused(&results[6]).unwrap().contains("subscription"));
    assert!(refused(&results[7]).unwrap().contains("no SA 99"));
    assert!(results[8]["ok"]["policy"].as_u64().is_some());

    // What the batch did is there, as if sent one by one.
    assert_eq!(c.ok(json!({"op": "sa_get", "sa": 11}))["spi"], "0x00002011");
    let out = c.ok(json!({"op": "sp_list", "dir": "out"}));
    assert_eq!(out.as_array().unwrap().len(), 1);
    assert_eq!(out[0]["id"].as_u64(), Some(out_policy));
    // A policy of a batch is removed like any other.
    c.ok(json!({"op": "batch", "requests": [
        {"op": "sp_del", "dir": "out", "policy": out_policy},
        {"op": "sa_del", "sa": 10},
    ]}));
    assert_eq!(c.ok(json!({"op": "sp_list", "dir": "out"})), json!([]));
    assert!(c
        .err(json!({"op": "sa_get", "sa": 10}))
        .contains("no SA 10"));

    // Over the bound, the whole batch is refused and nothing is done.
    let many: Vec<Value> = (0..=ipc::fastpath::MAX_BATCH)
        .map(|_| json!({"op": "sa_del", "sa": 11}))
        .collect();
    assert!(c
        .err(json!({"op": "batch", "requests": many}))
        .contains("at most"));
    c.ok(json!({"op": "sa_get", "sa": 11}));
}
