//! The IKEv1 words of a `conn` line: `version 1|2`, `aggressive`, `life D` (the ISAKMP SA's
//! proposed lifetime) and DPD's `dpd [interval] D [timeout D] [retries|num-retry N]` (StarOS's
//! `ikev1 keepalive dpd` knobs), checked once the whole line is read.

use std::time::Duration;

use ike::config::{IkeConfig, IkeVersion};
use ike::v1::config::{
    auth_method, phase1_offers, V1Config, DEFAULT_DPD_RETRIES, DEFAULT_PHASE1_LIFE,
};
use toolkit::config::Words;

/// The longest R-U-THERE retransmission wait (StarOS's bound).
const MAX_DPD_TIMEOUT: Duration = Duration::from_secs(3600);
/// StarOS's `num-retry` range.
const MAX_DPD_RETRIES: u32 = 100;

/// What a conn line said about IKEv1.
#[derive(Default)]
pub(super) struct V1Words {
    version: Option<u8>,
    aggressive: bool,
    life: Option<Duration>,
    dpd_timeout: Option<Duration>,
    dpd_retries: Option<u32>,
}

impl V1Words {
    /// Takes `opt` (and its value) if it is one of ours.
    pub(super) fn parse(&mut self, opt: &str, w: &mut Words) -> Result<bool, String> {
        match opt {
            "version" => {
                self.version = Some(match w.next(opt)? {
                    "1" | "ikev1" => 1,
                    "2" | "ikev2" => 2,
                    v => return Err(format!("version {v}: 1 or 2")),
                })
            }
            "aggressive" => self.aggressive = true,
            "life" => self.life = Some(w.next_duration(opt)?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The rest of `dpd [interval] D [timeout D] [retries N]`: the interval.
    pub(super) fn parse_dpd(&mut self, w: &mut Words) -> Result<Duration, String> {
        if w.peek() == Some("interval") {
            w.next_opt();
        }
        let interval = w.next_duration("dpd")?;
        while let Some(knob @ ("timeout" | "retries" | "num-retry")) = w.peek() {
            w.next_opt();
            if knob == "timeout" {
                let t = w.next_duration("dpd timeout")?;
                if t.is_zero() || t > MAX_DPD_TIMEOUT {
                    return Err("dpd timeout: above 0, at most 1h".into());
                }
                self.dpd_timeout = Some(t);
            } else {
                let n = w.next_u32(knob)?;
                if !(1..=MAX_DPD_RETRIES).contains(&n) {
                    return Err(format!("dpd {knob}: 1 to {MAX_DPD_RETRIES}"));
                }
                self.dpd_retries = Some(n);
            }
        }
        Ok(interval)
    }

    /// The connection's version, once the rest of it is known.
    pub(super) fn finish(self, c: &IkeConfig) -> Result<IkeVersion, String> {
        let dpd_knobs = self.dpd_timeout.is_some() || self.dpd_retries.is_some();
        if dpd_knobs && c.dpd.interval.is_zero() {
            return Err("dpd timeout/retries need a dpd interval above 0".into());
        }
        if self.version != Some(1) {
            let v1_only = [
                (self.aggressive, "aggressive"),
                (
                    self.life.is_some(),
                    "life (IKEv2 negotiates no lifetime: use rekey)",
                ),
                (
                    dpd_knobs,
                    "dpd timeout/retries (IKEv2 retransmits its DPD: use retransmit/tries)",
                ),
            ];
            if let Some((_, what)) = v1_only.iter().find(|(given, _)| *given) {
                return Err(format!("{what}: IKEv1 only (add `version 1`)"));
            }
            return Ok(IkeVersion::V2);
        }
        if c.virtual_ip.request || c.virtual_ip.pool.is_some() {
            return Err("vip/pool: IKEv1 Mode Config is not supported".into());
        }
        if c.fragment_size.is_some() {
            return Err("fragment: IKEv1 fragmentation is not supported".into());
        }
        let phase1_life = match self.life {
            Some(l) if l.is_zero() => return Err("life: above 0".into()),
            Some(l) => l,
            None if c.rekey_time.is_zero() => DEFAULT_PHASE1_LIFE,
            None => c.rekey_time * 11 / 10,
        };
        if !c.rekey_time.is_zero() && c.rekey_time >= phase1_life {
            return Err("rekey (the reauthentication) must come before life".into());
        }
        let method = auth_method(c.auth.private_key()).map_err(|e| format!("auth: {e}"))?;
        let phase1 = phase1_offers(&c.ike_proposals, method, phase1_life)
            .map_err(|e| format!("ike: {e}"))?;
        // Aggressive Mode's first message carries the KE: one group for every proposal.
        if self.aggressive && phase1.iter().any(|p| p.group != phase1[0].group) {
            return Err("aggressive: every ike proposal must use one D-H group".into());
        }
        Ok(IkeVersion::V1(V1Config {
            aggressive: self.aggressive,
            phase1,
            dpd_retransmit: self.dpd_timeout,
            dpd_retries: self.dpd_retries.unwrap_or(DEFAULT_DPD_RETRIES),
        }))
    }
}
