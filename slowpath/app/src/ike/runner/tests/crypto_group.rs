//! A crypto group over loopback: our runner with a primary and a secondary conn to two
//! responders; the primary's peer deletes its IKE SA, the group moves the outbound policies
//! to the secondary, brings the primary back, reverts after the hold; then the operator's
//! manual switchover.

use super::*;

const GATEWAY: &str = "
secret k psk \"loopback test secret\"
conn p1 local 127.0.0.1 remote 127.0.0.2 local-id fqdn:a.test remote-id fqdn:b.test auth psk k ike aes128gcm16-prfsha256-ecp256 retransmit 1s tries 3
child net conn p1 local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128gcm16-esn
conn p2 local 127.0.0.1 remote 127.0.0.3 local-id fqdn:a.test remote-id fqdn:b.test auth psk k ike aes128gcm16-prfsha256-ecp256 retransmit 1s tries 3
child net conn p2 local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128gcm16-esn
crypto-group site primary p1 secondary p2 always switchover auto hold 1s retry 1s
";

/// Our runner and the two peers, stepped together; our events so far.
struct Trio {
    epoch: Instant,
    runners: [IkeRunner; 3],
    events: Vec<Value>,
}

impl Trio {
    fn run_until(&mut self, what: &str, done: impl Fn(&[Value]) -> bool) {
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            let now = self.epoch.elapsed();
            let fds: Vec<_> = self.runners.iter().flat_map(IkeRunner::fds).collect();
            let next = self
                .runners
                .iter()
                .filter_map(IkeRunner::next_deadline)
                .min()
                .map_or(Duration::from_millis(50), |d| d.saturating_sub(now))
                .min(Duration::from_millis(50));
            crate::sys::poll::readable(&fds, next).unwrap();
            let now = self.epoch.elapsed();
            for r in &mut self.runners {
                r.step(now);
            }
            self.events.extend(self.runners[0].events());
            for r in &mut self.runners[1..] {
                r.events();
            }
            if done(&self.events) {
                return;
            }
        }
        panic!("{what}: {:?}", kinds(&self.events));
    }

    fn group(&mut self) -> Value {
        let now = self.epoch.elapsed();
        let op = operator("crypto_group", json!({"name": "site"}));
        self.runners[0].handle(now, &op).unwrap().unwrap()
    }

    /// Outbound policies (in the fast path, kept aside) of each member's IKE SAs.
    fn policies(&self, conn: &str) -> (usize, usize) {
        let g = &self.runners[0];
        g.ike_sas
            .values()
            .filter(|i| i.config == conn)
            .map(|i| g.table.outbound_policies(i.sa))
            .fold((0, 0), |(a, b), (x, y)| (a + x, b + y))
    }
}

fn count(events: &[Value], kind: &str) -> usize {
    events.iter().filter(|e| e["event"] == kind).count()
}

#[test]
fn a_group_moves_to_the_secondary_reverts_and_obeys_the_operator() {
    if !can_bind_both("127.0.0.1", "127.0.0.2") || !can_bind_both("127.0.0.3", "127.0.0.3") {
        return;
    }
    let epoch = Instant::now();
    let start = |text: &str| IkeRunner::new(parse_text(text).unwrap(), None, epoch.elapsed(), None);
    let (Ok(g), Ok(b1), Ok(b2)) = (
        start(GATEWAY),
        start(RESPONDER),
        start(&RESPONDER.replace("127.0.0.2", "127.0.0.3")),
    ) else {
        println!("skipped: cannot open the runners");
        return;
    };
    let mut t = Trio {
        epoch,
        runners: [g, b1, b2],
        events: Vec::new(),
    };
    // Both members brought up by the group (the conns only `add`).
    t.run_until("both members up", |e| count(e, "child_up") == 2);
    let s = t.group();
    assert_eq!(
        (s["active"].as_str(), s["carrying"].as_bool()),
        (Some("primary"), Some(true))
    );
    assert_eq!(s["secondary"]["tunnel"], "up");
    assert_eq!(t.policies("p1"), (1, 0), "the primary's policy protects");
    assert_eq!(t.policies("p2"), (0, 1), "the secondary's is kept aside");

    // P1's peer deletes its IKE SA: the traffic moves before P1's policies go.
    let now = epoch.elapsed();
    let op = operator("terminate", json!({"conn": "from-a"}));
    t.runners[1].handle(now, &op).unwrap().unwrap();
    t.run_until("a switchover", |e| count(e, "crypto_group_switchover") == 1);
    let ev = first(&t.events, "crypto_group_switchover");
    assert_eq!(
        (
            &ev["group"],
            &ev["from"],
            &ev["to"],
            &ev["reason"],
            &ev["peer"]
        ),
        (
            &json!("site"),
            &json!("p1"),
            &json!("p2"),
            &json!("tunnel_down"),
            &json!("127.0.0.2")
        )
    );
    assert!(ev["error"].is_null(), "{ev}");
    assert_eq!(t.policies("p2"), (1, 0));
    assert_eq!(t.group()["switchovers"], 1);

    // The group brings P1 back (retry 1 s) and reverts once it held for 1 s.
    t.run_until("a revert", |e| count(e, "crypto_group_revert") == 1);
    let ev = first(&t.events, "crypto_group_revert");
    assert_eq!(
        (&ev["from"], &ev["to"], &ev["reason"]),
        (&json!("p2"), &json!("p1"), &json!("revert"))
    );
    assert_eq!(t.policies("p1"), (1, 0));
    assert_eq!(t.policies("p2"), (0, 1));
    let s = t.group();
    assert_eq!(
        (s["reverts"].as_u64(), s["active"].as_str()),
        (Some(1), Some("primary"))
    );

    // The operator's switchover, and a refusal for a group that does not exist.
    let now = epoch.elapsed();
    let op = operator("crypto_group_switchover", json!({"name": "site"}));
    let s = t.runners[0].handle(now, &op).unwrap().unwrap();
    assert_eq!(s["active"], "secondary");
    assert_eq!(s["last_reason"], "manual");
    assert_eq!(t.policies("p2"), (1, 0));
    let op = operator("crypto_group_switchover", json!({"name": "nope"}));
    let e = t.runners[0].handle(now, &op).unwrap().unwrap_err();
    assert_eq!(e.to_string(), "no crypto-group nope");
    let all = t.runners[0].handle(now, &operator("crypto_groups", json!({})));
    assert_eq!(all.unwrap().unwrap().as_array().map(Vec::len), Some(1));
}
