//! The engine's CHILD SAs as fast path state: each CHILD SA is two fast path SAs (in and out),
//! given as `sa_add` lines in the fast path's own syntax (`fastpath/app/src/config.rs`
//! `parse_sa`), and one policy per traffic selector pair and direction (`sp_add`, out:
//! protect OUT_SA, in: protect IN_SA). Requests are built by pure functions; `SaTable`
//! sends them through a `FastpathOps`, remembers which fast path SA and policy ids belong to
//! which CHILD SA, and finds the CHILD SA of a fast path SA id (its lifetime events).
//!
//! A rekey installs the new pair and its policies, then removes the old outbound policies:
//! the new outbound policies have the old ones' priority and come after them, so the old SA
//! protects until the moment its policy goes and the new one from then on; no packet meets an
//! SPD without its policy. The old SAs stay (inbound traffic still in flight) until the
//! engine's `ChildSaDown` for them. When we answered the peer's rekey (`defer_outbound`), the
//! new pair is installed before our answer leaves and the old outbound policies stay: the
//! peer has the new SA only once the answer arrives, and deletes the old one after that, so
//! outbound traffic moves over with the `ChildSaDown` of the old SA.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ike::action::{ChildId, ChildRef, ChildSaInfo, IkeSaId};
use ike::config::Mode;
use ike::crypto::transform::{
    Suite, AUTH_HMAC_SHA1_96, AUTH_HMAC_SHA2_256_128, ENCR_AES_CBC, ENCR_AES_GCM_16,
};
use ike::message::TrafficSelector;
use serde_json::{json, Value};

use crate::fastpath::FastpathClient;

/// The fast path's highest SA id (`fastpath::config::MAX_SA_ID`).
pub const MAX_SA_ID: u32 = (1 << 20) - 1;
/// More policies than this for one CHILD SA (selector ranges that split into many prefixes,
/// times the pairs) is refused rather than flooding the SPD.
pub const MAX_POLICIES: usize = 256;
/// Where the CHILD SAs' policies start; the operator's own (IKE bypass and the like) are
/// expected below it. Lower is tried first.
pub const POLICY_BASE: u32 = 1000;

/// The fast path's control socket, or something that answers as it does.
pub trait FastpathOps {
    fn request(&mut self, req: Value) -> Result<Value, String>;
    /// Whether a real fast path is behind it (`sa_get` means something).
    fn is_real(&self) -> bool {
        true
    }
}

impl FastpathOps for FastpathClient {
    fn request(&mut self, req: Value) -> Result<Value, String> {
        FastpathClient::request(self, req)
    }
}

/// No fast path: every request is logged (without keys) and answered as the fast path would.
#[derive(Debug, Default)]
pub struct LogOnly {
    next_policy: u32,
}

impl FastpathOps for LogOnly {
    fn request(&mut self, req: Value) -> Result<Value, String> {
        let op = req["op"].as_str().unwrap_or("");
        tracing::info!(target: "ike", "fast path (none): {}", redact(&req));
        match op {
            "sa_add" => Ok(json!({"sa": sa_id_of_line(&req)})),
            "sp_add" => {
                self.next_policy += 1;
                Ok(json!({"policy": self.next_policy}))
            }
            "sa_del" => Ok(json!({"sa": req["sa"]})),
            "sp_del" => Ok(json!({"policy": req["policy"]})),
            _ => Err("no fast path".into()),
        }
    }

    fn is_real(&self) -> bool {
        false
    }
}

fn sa_id_of_line(req: &Value) -> Value {
    req["line"]
        .as_str()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|w| w.parse::<u32>().ok())
        .map_or(Value::Null, |n| json!(n))
}

/// A request as it may be logged: the keys of an `sa_add` line replaced.
pub fn redact(req: &Value) -> Value {
    let mut r = req.clone();
    if let Some(line) = req["line"].as_str() {
        let mut out = Vec::new();
        let mut hide = false;
        for w in line.split_whitespace() {
            out.push(if hide { "<key>" } else { w });
            hide = w == "key" || w == "auth-key";
        }
        r["line"] = json!(out.join(" "));
    }
    r
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    In,
    Out,
}

impl Dir {
    pub fn word(self) -> &'static str {
        match self {
            Dir::In => "in",
            Dir::Out => "out",
        }
    }
}

/// The fast path's transform name (strongSwan's ESP keyword) of a negotiated suite.
pub fn transform_name(suite: &Suite) -> Result<&'static str, String> {
    Ok(match (suite.encr, suite.encr_key_bits, suite.integ) {
        (ENCR_AES_GCM_16, 128, None) => "aes128gcm16",
        (ENCR_AES_GCM_16, 256, None) => "aes256gcm16",
        (ENCR_AES_CBC, 128, Some(AUTH_HMAC_SHA1_96)) => "aes128-sha1",
        (ENCR_AES_CBC, 256, Some(AUTH_HMAC_SHA1_96)) => "aes256-sha1",
        (ENCR_AES_CBC, 128, Some(AUTH_HMAC_SHA2_256_128)) => "aes128-sha256",
        (ENCR_AES_CBC, 256, Some(AUTH_HMAC_SHA2_256_128)) => "aes256-sha256",
        _ => return Err(format!("the fast path has no transform for {suite:?}")),
    })
}

/// The `sa` statement of one direction, keyword included (the socket takes it either way).
/// The GCM key includes its 4-byte salt, as the engine gives it.
pub fn sa_line(
    id: u32,
    dir: Dir,
    info: &ChildSaInfo,
    replay_window: Option<u32>,
) -> Result<String, String> {
    let t = transform_name(&info.suite)?;
    let (spi, key, auth) = match dir {
        Dir::In => (info.child.spi_in, &info.encr_key_in, &info.integ_key_in),
        Dir::Out => (info.child.spi_out, &info.encr_key_out, &info.integ_key_out),
    };
    let mut l = format!(
        "sa {id} {} spi {spi:#010x} {t} key {}",
        dir.word(),
        hex::encode(&key[..])
    );
    if info.suite.integ.is_some() {
        l.push_str(" auth-key ");
        l.push_str(&hex::encode(&auth[..]));
    }
    match info.mode {
        Mode::Tunnel => {
            if info.local_addr.is_ipv4() != info.remote_addr.is_ipv4() {
                return Err("tunnel endpoints of two address families".into());
            }
            l.push_str(&format!(" tunnel {} {}", info.local_addr, info.remote_addr));
        }
        Mode::Transport => l.push_str(" transport"),
    }
    if info.esn {
        l.push_str(" esn");
    }
    if let (Dir::In, Some(w)) = (dir, replay_window) {
        l.push_str(&format!(" window {w}"));
    }
    if let Some(e) = info.encap {
        l.push_str(&format!(" natt {}:{}", e.local_port, e.remote_port));
    }
    if info.soft_bytes != 0 || info.hard_bytes != 0 {
        l.push_str(&format!(
            " lifetime-bytes {}:{}",
            info.soft_bytes, info.hard_bytes
        ));
    }
    if info.soft_packets != 0 || info.hard_packets != 0 {
        l.push_str(&format!(
            " lifetime-packets {}:{}",
            info.soft_packets, info.hard_packets
        ));
    }
    Ok(l)
}

pub fn sa_add_request(
    id: u32,
    dir: Dir,
    info: &ChildSaInfo,
    replay_window: Option<u32>,
) -> Result<Value, String> {
    Ok(json!({"op": "sa_add", "line": sa_line(id, dir, info, replay_window)?}))
}

pub fn sa_del_request(id: u32) -> Value {
    json!({"op": "sa_del", "sa": id})
}

pub fn sa_get_request(id: u32) -> Value {
    json!({"op": "sa_get", "sa": id})
}

pub fn sp_add_request(line: &str) -> Value {
    json!({"op": "sp_add", "line": line})
}

pub fn sp_del_request(dir: Dir, policy: u32) -> Value {
    json!({"op": "sp_del", "dir": dir.word(), "policy": policy})
}

/// The fewest prefixes that cover `start..=end` exactly (both of one family).
pub fn range_to_prefixes(start: IpAddr, end: IpAddr) -> Vec<(IpAddr, u8)> {
    let (width, s, e) = match (start, end) {
        (IpAddr::V4(s), IpAddr::V4(e)) => {
            (32u32, u128::from(u32::from(s)), u128::from(u32::from(e)))
        }
        (IpAddr::V6(s), IpAddr::V6(e)) => (128, u128::from(s), u128::from(e)),
        _ => return Vec::new(),
    };
    let mask = |bits: u32| -> u128 {
        if bits >= 128 {
            u128::MAX
        } else {
            (1u128 << bits) - 1
        }
    };
    let to_ip = |v: u128| -> IpAddr {
        if width == 32 {
            IpAddr::V4(Ipv4Addr::from(v as u32))
        } else {
            IpAddr::V6(Ipv6Addr::from(v))
        }
    };
    let mut out = Vec::new();
    if s > e {
        return out;
    }
    let mut cur = s;
    loop {
        let mut bits = if cur == 0 {
            width
        } else {
            cur.trailing_zeros().min(width)
        };
        while bits > 0 && cur | mask(bits) > e {
            bits -= 1;
        }
        out.push((to_ip(cur), (width - bits) as u8));
        let last = cur | mask(bits);
        if last >= e {
            return out;
        }
        cur = last + 1;
    }
}

/// The `sp` lines of one direction (`protect SA`) for every selector pair, local x remote.
/// Pairs that cannot match anything (two protocols, two families, opaque ports) are left out.
pub fn sp_lines(dir: Dir, sa: u32, info: &ChildSaInfo) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for l in &info.local_ts {
        for r in &info.remote_ts {
            if l.start_addr.is_ipv4() != r.start_addr.is_ipv4() {
                continue;
            }
            let proto = match (l.ip_protocol, r.ip_protocol) {
                (0, p) | (p, 0) => p,
                (a, b) if a == b => a,
                _ => continue,
            };
            if l.start_port > l.end_port || r.start_port > r.end_port {
                continue;
            }
            // ICMP's "ports" are type and code (RFC 7296 3.13.1), which the fast path's
            // sport/dport do not express the same way: such a policy covers every type.
            let ports = |t: &TrafficSelector| {
                let any = (t.start_port, t.end_port) == (0, 65535) || matches!(proto, 1 | 58);
                (!any).then(|| format!("{}:{}", t.start_port, t.end_port))
            };
            let (lp, rp) = (ports(l), ports(r));
            let (lnets, rnets) = (
                range_to_prefixes(l.start_addr, l.end_addr),
                range_to_prefixes(r.start_addr, r.end_addr),
            );
            let max = if l.start_addr.is_ipv4() { 32 } else { 128 };
            for (la, ll) in &lnets {
                for (ra, rl) in &rnets {
                    let pri = POLICY_BASE
                        + 4 * (u32::from(max - ll) + u32::from(max - rl))
                        + if proto == 0 { 2 } else { 0 }
                        + if lp.is_none() && rp.is_none() { 1 } else { 0 };
                    let (src, dst, sport, dport) = match dir {
                        Dir::Out => ((la, ll), (ra, rl), &lp, &rp),
                        Dir::In => ((ra, rl), (la, ll), &rp, &lp),
                    };
                    let mut line = format!(
                        "sp {} protect {sa} pri {pri} src {}/{} dst {}/{}",
                        dir.word(),
                        src.0,
                        src.1,
                        dst.0,
                        dst.1
                    );
                    if proto != 0 {
                        line.push_str(&format!(" proto {proto}"));
                    }
                    if let Some(p) = sport {
                        line.push_str(&format!(" sport {p}"));
                    }
                    if let Some(p) = dport {
                        line.push_str(&format!(" dport {p}"));
                    }
                    out.push(line);
                    if out.len() > MAX_POLICIES {
                        return Err(format!(
                            "the traffic selectors make more than {MAX_POLICIES} policies"
                        ));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Fast path SA ids: fresh ones, then freed ones oldest first.
#[derive(Debug)]
struct IdPool {
    next: u32,
    free: VecDeque<u32>,
}

impl Default for IdPool {
    fn default() -> Self {
        IdPool {
            next: 1,
            free: VecDeque::new(),
        }
    }
}

impl IdPool {
    fn alloc(&mut self) -> Option<u32> {
        if let Some(id) = self.free.pop_front() {
            return Some(id);
        }
        if self.next > MAX_SA_ID {
            return None;
        }
        self.next += 1;
        Some(self.next - 1)
    }

    fn release(&mut self, id: u32) {
        self.free.push_back(id);
    }
}

/// One CHILD SA in the fast path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildEntry {
    pub sa: IkeSaId,
    pub child: ChildId,
    pub config: String,
    pub spi_in: u32,
    pub spi_out: u32,
    pub sa_in: u32,
    pub sa_out: u32,
    pub policies_in: Vec<u32>,
    /// Empty once a rekey moved the outbound traffic to the new SA.
    pub policies_out: Vec<u32>,
}

/// Which CHILD SAs are in the fast path, under which ids.
#[derive(Debug, Default)]
pub struct SaTable {
    ids: IdPool,
    children: BTreeMap<(IkeSaId, ChildId), ChildEntry>,
    by_fp: HashMap<u32, (IkeSaId, ChildId, Dir)>,
    /// Ids whose delete the fast path did not confirm: never handed out again.
    pub quarantined: Vec<u32>,
}

impl SaTable {
    pub fn get(&self, sa: IkeSaId, child: ChildId) -> Option<&ChildEntry> {
        self.children.get(&(sa, child))
    }

    pub fn entries(&self) -> impl Iterator<Item = &ChildEntry> {
        self.children.values()
    }

    pub fn len(&self) -> usize {
        self.children.len()
    }

    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// The CHILD SA behind a fast path SA id, if `spi` (when given) is still that SA's.
    pub fn lookup_fp(&self, id: u32, spi: Option<u32>) -> Option<(&ChildEntry, Dir)> {
        let (sa, child, dir) = *self.by_fp.get(&id)?;
        let e = self.children.get(&(sa, child))?;
        let own = match dir {
            Dir::In => e.spi_in,
            Dir::Out => e.spi_out,
        };
        if spi.is_some_and(|s| s != own) {
            return None;
        }
        Some((e, dir))
    }

    /// Installs both SAs and their policies; on any refusal, takes back what was done.
    pub fn install(
        &mut self,
        fp: &mut dyn FastpathOps,
        info: &ChildSaInfo,
        replay_window: Option<u32>,
    ) -> Result<&ChildEntry, String> {
        let key = (info.child.sa, info.child.id);
        if self.children.contains_key(&key) {
            return Err(format!("CHILD SA {}/{} is installed already", key.0, key.1));
        }
        let Some(sa_in) = self.ids.alloc() else {
            return Err("no fast path SA id left".into());
        };
        let Some(sa_out) = self.ids.alloc() else {
            self.ids.release(sa_in);
            return Err("no fast path SA id left".into());
        };
        let mut e = ChildEntry {
            sa: info.child.sa,
            child: info.child.id,
            config: info.config.clone(),
            spi_in: info.child.spi_in,
            spi_out: info.child.spi_out,
            sa_in,
            sa_out,
            policies_in: Vec::new(),
            policies_out: Vec::new(),
        };
        let mut installed = (false, false);
        let result = (|| -> Result<(), String> {
            let sp_in = sp_lines(Dir::In, sa_in, info)?;
            let sp_out = sp_lines(Dir::Out, sa_out, info)?;
            fp.request(sa_add_request(sa_in, Dir::In, info, replay_window)?)?;
            installed.0 = true;
            fp.request(sa_add_request(sa_out, Dir::Out, info, replay_window)?)?;
            installed.1 = true;
            for l in &sp_in {
                e.policies_in
                    .push(policy_id(fp.request(sp_add_request(l))?)?);
            }
            for l in &sp_out {
                e.policies_out
                    .push(policy_id(fp.request(sp_add_request(l))?)?);
            }
            Ok(())
        })();
        if let Err(err) = result {
            let _ = self.teardown(fp, &e, installed);
            return Err(err);
        }
        self.by_fp.insert(sa_in, (e.sa, e.child, Dir::In));
        self.by_fp.insert(sa_out, (e.sa, e.child, Dir::Out));
        Ok(self.children.entry(key).or_insert(e))
    }

    /// `new` replaces `old`: installed first, then outbound traffic moves to it (with
    /// `defer_outbound`, only when `old` is removed). `old` stays (inbound) until `remove`.
    /// Without `old` in the table, `new` is just installed.
    pub fn rekey(
        &mut self,
        fp: &mut dyn FastpathOps,
        old: &ChildRef,
        new: &ChildSaInfo,
        replay_window: Option<u32>,
        defer_outbound: bool,
    ) -> Result<(), String> {
        self.install(fp, new, replay_window)?;
        if defer_outbound {
            return Ok(());
        }
        let mut errors = Vec::new();
        if let Some(e) = self.children.get_mut(&(old.sa, old.id)) {
            for p in std::mem::take(&mut e.policies_out) {
                if let Err(err) = fp.request(sp_del_request(Dir::Out, p)) {
                    errors.push(format!("sp_del out {p}: {err}"));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// Removes a CHILD SA's policies and SAs (nothing if it is not here).
    pub fn remove(&mut self, fp: &mut dyn FastpathOps, child: &ChildRef) -> Result<(), String> {
        let Some(e) = self.children.remove(&(child.sa, child.id)) else {
            return Ok(());
        };
        self.by_fp.remove(&e.sa_in);
        self.by_fp.remove(&e.sa_out);
        self.teardown(fp, &e, (true, true))
    }

    /// Removes everything (shutdown, flush).
    pub fn remove_all(&mut self, fp: &mut dyn FastpathOps) -> Vec<String> {
        let keys: Vec<_> = self.children.keys().copied().collect();
        let mut errors = Vec::new();
        for (sa, id) in keys {
            if let Some(e) = self.children.get(&(sa, id)) {
                let r = ChildRef {
                    sa,
                    id,
                    spi_in: e.spi_in,
                    spi_out: e.spi_out,
                };
                if let Err(err) = self.remove(fp, &r) {
                    errors.push(err);
                }
            }
        }
        errors
    }

    /// Policies first (none may name a missing SA), then the SAs; ids go back to the pool
    /// once the fast path confirmed (or does not have the SA).
    fn teardown(
        &mut self,
        fp: &mut dyn FastpathOps,
        e: &ChildEntry,
        installed: (bool, bool),
    ) -> Result<(), String> {
        let mut errors = Vec::new();
        for (dir, ps) in [(Dir::Out, &e.policies_out), (Dir::In, &e.policies_in)] {
            for p in ps {
                if let Err(err) = fp.request(sp_del_request(dir, *p)) {
                    errors.push(format!("sp_del {} {p}: {err}", dir.word()));
                }
            }
        }
        for (id, was) in [(e.sa_out, installed.1), (e.sa_in, installed.0)] {
            if !was {
                self.ids.release(id);
                continue;
            }
            match fp.request(sa_del_request(id)) {
                Ok(_) => self.ids.release(id),
                Err(err) if err.starts_with("no SA") => self.ids.release(id),
                Err(err) => {
                    self.quarantined.push(id);
                    errors.push(format!("sa_del {id}: {err}"));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

fn policy_id(reply: Value) -> Result<u32, String> {
    reply["policy"]
        .as_u64()
        .and_then(|p| u32::try_from(p).ok())
        .ok_or(format!("sp_add answered {reply} (no policy id)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use esp::sa::{Direction, Mode as FpMode, UdpEncap as FpEncap};
    use esp::spd::Action;
    use fastpath::config::{parse_sa, parse_sp};
    use ike::action::UdpEncap;
    use ike::crypto::transform::ENCR_AES_GCM_16;
    use zeroize::Zeroizing;

    fn ts(net: &str, len: u8) -> TrafficSelector {
        TrafficSelector::from_prefix(net.parse().unwrap(), len, 0, (0, 65535)).unwrap()
    }

    pub(crate) fn info(sa: IkeSaId, id: ChildId, spi: u32, gcm: bool) -> ChildSaInfo {
        let suite = if gcm {
            Suite {
                encr: ENCR_AES_GCM_16,
                encr_key_bits: 128,
                integ: None,
                prf: None,
                dh: None,
                esn: Some(true),
            }
        } else {
            Suite {
                encr: ENCR_AES_CBC,
                encr_key_bits: 256,
                integ: Some(AUTH_HMAC_SHA2_256_128),
                prf: None,
                dh: None,
                esn: Some(false),
            }
        };
        let klen = if gcm { 20 } else { 32 };
        ChildSaInfo {
            child: ChildRef {
                sa,
                id,
                spi_in: spi,
                spi_out: spi + 0x1000,
            },
            config: "net".into(),
            mode: Mode::Tunnel,
            local_addr: "192.0.2.1".parse().unwrap(),
            remote_addr: "192.0.2.2".parse().unwrap(),
            local_ts: vec![ts("10.1.0.0", 16)],
            remote_ts: vec![ts("10.2.0.0", 16)],
            suite,
            esn: gcm,
            encr_key_in: Zeroizing::new(vec![0x11; klen]),
            integ_key_in: Zeroizing::new(if gcm { vec![] } else { vec![0x22; 32] }),
            encr_key_out: Zeroizing::new(vec![0x33; klen]),
            integ_key_out: Zeroizing::new(if gcm { vec![] } else { vec![0x44; 32] }),
            soft_bytes: 0,
            hard_bytes: 0,
            soft_packets: 0,
            hard_packets: 0,
            rekey_at: None,
            expire_at: None,
            encap: None,
        }
    }

    fn words(line: &str) -> Vec<&str> {
        line.split_whitespace().skip(1).collect()
    }

    #[test]
    fn gcm_sa_lines_parse_in_the_fast_path() {
        let mut i = info(1, 1, 0xc000_0001, true);
        i.encap = Some(UdpEncap {
            local_port: 4500,
            remote_port: 4501,
        });
        i.soft_bytes = 900;
        i.hard_bytes = 1000;
        i.soft_packets = 9;
        i.hard_packets = 10;
        let l = sa_line(7, Dir::In, &i, Some(2048)).unwrap();
        let (id, sa) = parse_sa(&words(&l)).unwrap();
        assert_eq!(id.0, 7);
        assert_eq!(sa.spi, 0xc000_0001);
        assert_eq!(sa.direction, Direction::Inbound);
        assert_eq!(
            sa.mode,
            FpMode::Tunnel {
                local: "192.0.2.1".parse().unwrap(),
                remote: "192.0.2.2".parse().unwrap()
            }
        );
        assert!(sa.esn);
        assert_eq!(sa.replay_window, 2048);
        assert_eq!(
            sa.encap,
            Some(FpEncap {
                local_port: 4500,
                remote_port: 4501
            })
        );
        assert_eq!(
            (sa.lifetime.soft_bytes, sa.lifetime.hard_bytes),
            (900, 1000)
        );
        assert_eq!(
            (sa.lifetime.soft_packets, sa.lifetime.hard_packets),
            (9, 10)
        );
        // Key with its salt, 20 bytes.
        assert_eq!(sa.keys.enc_key, vec![0x11; 20]);
        let l = sa_line(8, Dir::Out, &i, Some(2048)).unwrap();
        let (_, sa) = parse_sa(&words(&l)).unwrap();
        assert_eq!(sa.direction, Direction::Outbound);
        assert_eq!(sa.spi, 0xc000_1001);
        assert_eq!(sa.keys.enc_key, vec![0x33; 20]);
        assert!(!l.contains("window"), "{l}");
        // The socket takes the line with its keyword too.
        assert!(l.starts_with("sa 8 out spi 0xc0001001 aes128gcm16 key 3333"));
    }

    #[test]
    fn cbc_and_transport_lines() {
        let mut i = info(1, 1, 0x1234, false);
        i.mode = Mode::Transport;
        let l = sa_line(3, Dir::Out, &i, None).unwrap();
        let (_, sa) = parse_sa(&words(&l)).unwrap();
        assert_eq!(sa.mode, FpMode::Transport);
        assert_eq!(sa.keys.enc_key, vec![0x33; 32]);
        assert_eq!(sa.keys.auth_key, vec![0x44; 32]);
        assert!(!sa.esn);
        assert!(l.contains(" aes256-sha256 "));
        for (e, bits, integ, name) in [
            (ENCR_AES_CBC, 128, Some(AUTH_HMAC_SHA1_96), "aes128-sha1"),
            (ENCR_AES_CBC, 256, Some(AUTH_HMAC_SHA1_96), "aes256-sha1"),
            (
                ENCR_AES_CBC,
                128,
                Some(AUTH_HMAC_SHA2_256_128),
                "aes128-sha256",
            ),
            (ENCR_AES_GCM_16, 256, None, "aes256gcm16"),
        ] {
            let s = Suite {
                encr: e,
                encr_key_bits: bits,
                integ,
                prf: None,
                dh: None,
                esn: None,
            };
            assert_eq!(transform_name(&s), Ok(name));
        }
        i.suite.encr_key_bits = 192;
        assert!(sa_line(3, Dir::Out, &i, None).is_err());
        // Keys never reach a log line.
        let r = redact(&sa_add_request(3, Dir::In, &info(1, 1, 5, false), None).unwrap());
        let line = r["line"].as_str().unwrap();
        assert!(!line.contains("1111") && !line.contains("2222"), "{line}");
        assert!(line.contains("key <key> auth-key <key>"));
    }

    #[test]
    fn policies_parse_in_the_fast_path() {
        let mut i = info(1, 1, 0x1234, true);
        i.remote_ts.push(TrafficSelector::new(
            6,
            (443, 443),
            "10.5.0.1".parse().unwrap(),
            "10.5.0.6".parse().unwrap(),
        ));
        // An IPv6 selector pairs with nothing of IPv4.
        i.remote_ts.push(ts("2001:db8::", 32));
        let out = sp_lines(Dir::Out, 9, &i).unwrap();
        // 10.2/16, then 10.5.0.1/32, .2/31, .4/31, .6/32.
        assert_eq!(out.len(), 5, "{out:?}");
        let sp = parse_sp(&words(&out[0])).unwrap();
        assert_eq!(sp.direction, Direction::Outbound);
        assert_eq!(sp.selector.src.to_string(), "10.1.0.0/16");
        assert_eq!(sp.selector.dst.to_string(), "10.2.0.0/16");
        assert_eq!(sp.selector.proto, None);
        let Action::Protect(b) = sp.action else {
            panic!("protect")
        };
        assert_eq!(b.as_slice(), &[9]);
        let sp = parse_sp(&words(&out[2])).unwrap();
        assert_eq!(sp.selector.dst.to_string(), "10.5.0.2/31");
        assert_eq!(sp.selector.proto, Some(6));
        assert_eq!((sp.selector.dport.lo, sp.selector.dport.hi), (443, 443));
        assert_eq!((sp.selector.sport.lo, sp.selector.sport.hi), (0, 65535));
        // The more specific policy is tried first.
        assert!(sp.priority < parse_sp(&words(&out[0])).unwrap().priority);
        let inb = sp_lines(Dir::In, 8, &i).unwrap();
        let sp = parse_sp(&words(&inb[2])).unwrap();
        assert_eq!(sp.direction, Direction::Inbound);
        assert_eq!(sp.selector.src.to_string(), "10.5.0.2/31");
        assert_eq!(sp.selector.dst.to_string(), "10.1.0.0/16");
        assert_eq!((sp.selector.sport.lo, sp.selector.sport.hi), (443, 443));
        // Two protocols cannot meet.
        i.local_ts =
            vec![
                TrafficSelector::from_prefix("10.1.0.0".parse().unwrap(), 16, 17, (0, 65535))
                    .unwrap(),
            ];
        assert_eq!(sp_lines(Dir::Out, 9, &i).unwrap().len(), 1);
    }

    #[test]
    fn ranges_to_prefixes() {
        let p = |a: &str, b: &str| -> Vec<String> {
            range_to_prefixes(a.parse().unwrap(), b.parse().unwrap())
                .iter()
                .map(|(a, l)| format!("{a}/{l}"))
                .collect()
        };
        assert_eq!(p("0.0.0.0", "255.255.255.255"), vec!["0.0.0.0/0"]);
        assert_eq!(p("10.0.0.0", "10.0.0.0"), vec!["10.0.0.0/32"]);
        assert_eq!(
            p("10.0.0.1", "10.0.0.6"),
            vec!["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]
        );
        assert_eq!(
            p("255.255.255.254", "255.255.255.255"),
            vec!["255.255.255.254/31"]
        );
        assert_eq!(
            p("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            vec!["::/0"]
        );
        assert_eq!(p("2001:db8::", "2001:db8::ffff"), vec!["2001:db8::/112"]);
        assert!(p("10.0.0.2", "10.0.0.1").is_empty());
        assert_eq!(p("0.0.0.1", "255.255.255.254").len(), 62);
        // A wide range of odd edges is refused as too many policies.
        let mut i = info(1, 1, 1, true);
        i.local_ts = vec![TrafficSelector::new(
            0,
            (0, 65535),
            "0.0.0.1".parse().unwrap(),
            "255.255.255.254".parse().unwrap(),
        )];
        i.remote_ts = i.local_ts.clone();
        assert!(sp_lines(Dir::Out, 1, &i).unwrap_err().contains("more than"));
    }

    /// A fast path that records requests and checks every line with the real parser.
    #[derive(Default)]
    pub(crate) struct Recorder {
        pub log: Vec<String>,
        next_policy: u32,
        pub fail_on: Option<usize>,
    }

    impl FastpathOps for Recorder {
        fn request(&mut self, req: Value) -> Result<Value, String> {
            let op = req["op"].as_str().unwrap().to_string();
            let n = self.log.len();
            let entry = match op.as_str() {
                "sa_add" => {
                    let l = req["line"].as_str().unwrap();
                    let (id, sa) = parse_sa(&words(l)).unwrap();
                    format!("sa_add {} {:?} {:#x}", id.0, sa.direction, sa.spi)
                }
                "sp_add" => {
                    let l = req["line"].as_str().unwrap();
                    let sp = parse_sp(&words(l)).unwrap();
                    let Action::Protect(b) = sp.action else {
                        panic!()
                    };
                    format!("sp_add {:?} {}", sp.direction, b.as_slice()[0])
                }
                "sa_del" => format!("sa_del {}", req["sa"]),
                "sp_del" => format!("sp_del {} {}", req["dir"].as_str().unwrap(), req["policy"]),
                o => o.to_string(),
            };
            self.log.push(entry);
            if self.fail_on == Some(n) {
                return Err("refused".into());
            }
            match op.as_str() {
                "sp_add" => {
                    self.next_policy += 1;
                    Ok(json!({"policy": self.next_policy}))
                }
                _ => Ok(json!({})),
            }
        }
    }

    #[test]
    fn install_rekey_remove() {
        let mut fp = Recorder::default();
        let mut t = SaTable::default();
        let a = info(1, 1, 0x100, true);
        let e = t.install(&mut fp, &a, None).unwrap().clone();
        assert_eq!((e.sa_in, e.sa_out), (1, 2));
        assert_eq!(
            (e.policies_in.clone(), e.policies_out.clone()),
            (vec![1], vec![2])
        );
        assert_eq!(
            fp.log,
            vec![
                "sa_add 1 Inbound 0x100",
                "sa_add 2 Outbound 0x1100",
                "sp_add Inbound 1",
                "sp_add Outbound 2"
            ]
        );
        assert_eq!(
            t.lookup_fp(2, Some(0x1100)).map(|(e, d)| (e.child, d)),
            Some((1, Dir::Out))
        );
        assert!(t.lookup_fp(2, Some(0x999)).is_none(), "another SA's event");
        fp.log.clear();
        // Rekey: the new pair and its policies, then the old outbound policy goes.
        let b = info(1, 2, 0x200, true);
        t.rekey(&mut fp, &a.child, &b, None, false).unwrap();
        assert_eq!(
            fp.log,
            vec![
                "sa_add 3 Inbound 0x200",
                "sa_add 4 Outbound 0x1200",
                "sp_add Inbound 3",
                "sp_add Outbound 4",
                "sp_del out 2"
            ]
        );
        assert!(t.get(1, 1).unwrap().policies_out.is_empty());
        fp.log.clear();
        // The old one goes when the engine says so: its inbound policy and both SAs.
        t.remove(&mut fp, &a.child).unwrap();
        assert_eq!(fp.log, vec!["sp_del in 1", "sa_del 2", "sa_del 1"]);
        assert!(t.lookup_fp(1, None).is_none());
        fp.log.clear();
        // Freed ids are used again, oldest first.
        let c = info(2, 1, 0x300, false);
        let e = t.install(&mut fp, &c, Some(64)).unwrap();
        assert_eq!((e.sa_in, e.sa_out), (2, 1));
        assert_eq!(t.len(), 2);
        fp.log.clear();
        assert!(t.remove_all(&mut fp).is_empty());
        assert!(t.is_empty());
        assert_eq!(fp.log.len(), 8);
    }

    /// A fast path whose outbound SPD is the real one: which SA protects 10.1/16 -> 10.2/16.
    #[derive(Default)]
    struct OutboundSpd {
        spd: esp::spd::Spd,
    }

    impl OutboundSpd {
        fn protecting(&self) -> Option<u32> {
            let key = esp::spd::FlowKey {
                src: "10.1.0.10".parse().unwrap(),
                dst: "10.2.0.1".parse().unwrap(),
                proto: 1,
                sport: 8,
                dport: 0,
            };
            match self.spd.lookup(&key)?.1.action {
                Action::Protect(b) => Some(b.as_slice()[0]),
                _ => None,
            }
        }
    }

    impl FastpathOps for OutboundSpd {
        fn request(&mut self, req: Value) -> Result<Value, String> {
            match req["op"].as_str().unwrap() {
                "sp_add" => {
                    let sp = parse_sp(&words(req["line"].as_str().unwrap())).unwrap();
                    if sp.direction == Direction::Inbound {
                        return Ok(json!({"policy": 0}));
                    }
                    let id = self.spd.insert(esp::spd::Policy {
                        priority: sp.priority,
                        selector: sp.selector,
                        action: sp.action,
                    });
                    Ok(json!({"policy": id.0}))
                }
                "sp_del" if req["dir"] == "out" => {
                    let id = esp::spd::PolicyId(req["policy"].as_u64().unwrap() as u32);
                    self.spd
                        .remove(id)
                        .map(|_| json!({}))
                        .ok_or("no policy".into())
                }
                _ => Ok(json!({})),
            }
        }
    }

    #[test]
    fn outbound_moves_at_rekey_or_with_the_old_sa_when_deferred() {
        for defer in [false, true] {
            let mut fp = OutboundSpd::default();
            let mut t = SaTable::default();
            let a = info(1, 1, 0x100, true);
            t.install(&mut fp, &a, None).unwrap();
            let old_out = t.get(1, 1).unwrap().sa_out;
            assert_eq!(fp.protecting(), Some(old_out));
            let b = info(1, 2, 0x200, true);
            t.rekey(&mut fp, &a.child, &b, None, defer).unwrap();
            let new_out = t.get(1, 2).unwrap().sa_out;
            if defer {
                // We answered the peer's rekey: the old SA sends until it goes.
                assert_eq!(fp.protecting(), Some(old_out));
                assert_eq!(t.get(1, 1).unwrap().policies_out.len(), 1);
            } else {
                assert_eq!(fp.protecting(), Some(new_out));
            }
            t.remove(&mut fp, &a.child).unwrap();
            assert_eq!(fp.protecting(), Some(new_out), "defer {defer}");
            assert_eq!(fp.spd.len(), 1);
        }
    }

    #[test]
    fn a_refusal_takes_everything_back() {
        for fail_on in 0..4 {
            let mut fp = Recorder {
                fail_on: Some(fail_on),
                ..Recorder::default()
            };
            let mut t = SaTable::default();
            assert!(t.install(&mut fp, &info(1, 1, 0x100, true), None).is_err());
            assert!(t.is_empty());
            let adds = fp.log.iter().filter(|l| l.contains("_add")).count();
            let dels = fp.log.iter().filter(|l| l.contains("_del")).count();
            // Everything added (the refused one excepted) was deleted again.
            assert_eq!(adds - 1, dels, "fail on {fail_on}: {:?}", fp.log);
            // And the ids are free again.
            let mut ok = Recorder::default();
            let e = t.install(&mut ok, &info(1, 1, 0x100, true), None).unwrap();
            assert!(e.sa_in <= 2 && e.sa_out <= 2);
        }
    }

    #[test]
    fn ids_run_out_and_come_back() {
        let mut p = IdPool {
            next: MAX_SA_ID,
            free: VecDeque::new(),
        };
        assert_eq!(p.alloc(), Some(MAX_SA_ID));
        assert_eq!(p.alloc(), None);
        p.release(5);
        assert_eq!(p.alloc(), Some(5));
    }
}
