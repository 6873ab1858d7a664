use super::*;
use serde_json::json;

#[test]
fn nested_counters_are_named_by_their_path() {
    let v = json!({"sent": 3, "rejected": {"replayed": 2, "forged": 0}, "peer": "up", "lag": -1});
    let mut out = BTreeMap::new();
    leaves("link_", &v, &mut out);
    let want: BTreeMap<String, u64> = [
        ("link_sent".to_string(), 3),
        ("link_rejected_replayed".to_string(), 2),
        ("link_rejected_forged".to_string(), 0),
    ]
    .into();
    assert_eq!(out, want);
}

#[test]
fn a_node_without_vrrp_or_ike_still_has_a_page() {
    let mut out = Vec::new();
    let inputs = PageInputs {
        uptime: Duration::from_millis(1500),
        instances: Vec::new(),
        ha_groups: Vec::new(),
        ike: None,
    };
    write(&mut out, &inputs).unwrap();
    let page = String::from_utf8(out).unwrap();
    assert!(page.contains("\nslowpath_uptime_seconds 1.5\n"), "{page}");
    assert!(page.contains("# TYPE slowpath_vrrp_state gauge\n"));
    assert!(!page.contains("slowpath_ike_"));
}
