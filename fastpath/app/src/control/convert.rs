//! Between the interface's descriptions (`ipc`) and the ESP core's own types: what the
//! socket and the configuration file describe becomes what the workers install, and what
//! the workers hold becomes what the operator is shown.

use esp::crypto::{EncAlg, IntegAlg, TransformKeys};
use esp::replay::WindowSnapshot;
use esp::sa::{DfMode, Direction, DscpMode, Lifetime, Mode, SaConfig, SaId, UdpEncap};
use esp::snapshot::{SeqSnapshot, SyncPolicy};
use esp::spd::{Action, Policy, PortRange, SaBundle, Selector};
use ipc::fastpath::{SeqRecord, SyncSettings};
use ipc::sa::{Df, Dscp};
use ipc::{SaMode, SaSpec, SpAction, SpSpec, Transform};

pub fn direction(d: ipc::Direction) -> Direction {
    match d {
        ipc::Direction::In => Direction::Inbound,
        ipc::Direction::Out => Direction::Outbound,
    }
}

pub fn ipc_direction(d: Direction) -> ipc::Direction {
    match d {
        Direction::Inbound => ipc::Direction::In,
        Direction::Outbound => ipc::Direction::Out,
    }
}

pub fn sa_id(id: ipc::SaId) -> SaId {
    SaId(id.get())
}

/// The ESP core's algorithms of a transform.
pub fn algorithms(t: Transform) -> (EncAlg, IntegAlg) {
    match t {
        Transform::Aes128Gcm16 => (EncAlg::AesGcm16_128, IntegAlg::None),
        Transform::Aes256Gcm16 => (EncAlg::AesGcm16_256, IntegAlg::None),
        Transform::Aes128Sha1 => (EncAlg::AesCbc128, IntegAlg::HmacSha1_96),
        Transform::Aes256Sha1 => (EncAlg::AesCbc256, IntegAlg::HmacSha1_96),
        Transform::Aes128Sha256 => (EncAlg::AesCbc128, IntegAlg::HmacSha256_128),
        Transform::Aes256Sha256 => (EncAlg::AesCbc256, IntegAlg::HmacSha256_128),
        Transform::NullSha1 => (EncAlg::Null, IntegAlg::HmacSha1_96),
        Transform::NullSha256 => (EncAlg::Null, IntegAlg::HmacSha256_128),
    }
}

/// The transform of the ESP core's algorithms (what an SA shows).
pub fn transform_of(enc: EncAlg, integ: IntegAlg) -> Option<Transform> {
    Transform::ALL
        .into_iter()
        .find(|t| algorithms(*t) == (enc, integ))
}

/// What a worker installs for an SA description (without selectors: inbound policies add
/// them).
pub fn sa_config(spec: &SaSpec) -> (SaId, SaConfig) {
    let (enc, integ) = algorithms(spec.transform);
    let keys = TransformKeys {
        enc,
        integ,
        enc_key: spec.key.as_bytes().to_vec(),
        auth_key: spec.auth_key.as_bytes().to_vec(),
    };
    let unspecified = std::net::IpAddr::from([0u8; 4]);
    let mut c = SaConfig::tunnel(
        spec.spi,
        direction(spec.dir),
        unspecified,
        unspecified,
        keys,
    );
    c.mode = match spec.mode {
        SaMode::Tunnel { local, remote } => Mode::Tunnel { local, remote },
        SaMode::Transport => Mode::Transport,
    };
    c.esn = spec.esn;
    c.replay_window = spec.window;
    c.encap = spec.natt.map(|n| UdpEncap {
        local_port: n.local_port,
        remote_port: n.remote_port,
    });
    let l = spec.lifetime;
    c.lifetime = Lifetime {
        soft_bytes: l.soft_bytes,
        hard_bytes: l.hard_bytes,
        soft_packets: l.soft_packets,
        hard_packets: l.hard_packets,
    };
    c.dscp = match spec.dscp {
        Dscp::Copy => DscpMode::Copy,
        Dscp::Set(d) => DscpMode::Set(d),
    };
    c.df = match spec.df {
        Df::Copy => DfMode::Copy,
        Df::Set => DfMode::Set,
        Df::Clear => DfMode::Clear,
    };
    c.outer_ttl = spec.ttl;
    c.active = !spec.standby;
    (sa_id(spec.id), c)
}

pub fn selector(spec: &SpSpec) -> Selector {
    Selector {
        src: spec.src,
        dst: spec.dst,
        proto: spec.proto,
        sport: PortRange::new(spec.sport.lo(), spec.sport.hi()),
        dport: PortRange::new(spec.dport.lo(), spec.dport.hi()),
    }
}

pub fn action(a: SpAction) -> Action {
    match a {
        SpAction::Protect(id) => {
            // One SA id is always a valid bundle.
            Action::Protect(SaBundle::new(&[id.get()]).unwrap_or_else(|| unreachable!()))
        }
        SpAction::Bypass => Action::Bypass,
        SpAction::Discard => Action::Discard,
    }
}

/// What a worker holds of a policy, described again (`sp_list`); `None` for what the
/// interface cannot describe (a bundle of several SAs, only the configuration file makes).
pub fn sp_spec(dir: Direction, p: &Policy) -> Option<SpSpec> {
    let action = match &p.action {
        Action::Protect(bundle) => match bundle.as_slice() {
            [one] => SpAction::Protect(ipc::SaId::new((*one).into()).ok()?),
            _ => return None,
        },
        Action::Bypass => SpAction::Bypass,
        Action::Discard => SpAction::Discard,
    };
    let ports = |r: PortRange| ipc::PortRange::new(r.lo, r.hi);
    SpSpec::new(
        ipc_direction(dir),
        action,
        p.priority,
        p.selector.src,
        p.selector.dst,
        p.selector.proto,
        ports(p.selector.sport)?,
        ports(p.selector.dport)?,
    )
    .ok()
}

/// A seqnum snapshot as the sync stream carries it.
pub fn record(s: &SeqSnapshot) -> Option<SeqRecord> {
    Some(SeqRecord {
        sa: ipc::SaId::new(s.sa.0.into()).ok()?,
        spi: s.spi,
        dir: ipc_direction(s.direction),
        oseq: s.oseq,
        top: s.window.top,
        bits: s.window.bits,
        generation: s.generation,
        at_ns: s.at_ns,
    })
}

/// A synced record as the workers apply it.
pub fn snapshot(r: &SeqRecord) -> SeqSnapshot {
    SeqSnapshot {
        sa: sa_id(r.sa),
        spi: r.spi,
        direction: direction(r.dir),
        oseq: r.oseq,
        window: WindowSnapshot {
            top: r.top,
            bits: r.bits,
        },
        generation: r.generation,
        at_ns: r.at_ns,
    }
}

/// The workers' snapshot policy under `settings`. Without `snapshots` (`--ha-sync`) nothing
/// drains the rings, so both triggers stay off whatever the knobs say.
pub fn sync_policy(settings: &SyncSettings, snapshots: bool) -> SyncPolicy {
    let on = |period: u64| if snapshots { period } else { 0 };
    SyncPolicy {
        period_packets_inbound: on(settings.period_packets_inbound),
        period_packets_outbound: on(settings.period_packets_outbound),
        period_ns: on(settings.period_time_ms.saturating_mul(1_000_000)),
        oseq_shift: settings.oseq_shift,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_transform_maps_to_algorithms_and_back() {
        for t in Transform::ALL {
            let (e, i) = algorithms(t);
            assert_eq!(transform_of(e, i), Some(t));
        }
    }

    #[test]
    fn the_cores_bounds_are_the_interfaces_bounds() {
        assert_eq!(ipc::MAX_SA_ID, esp::sad::MAX_SA_ID);
        assert_eq!(ipc::sa::MAX_REPLAY_WINDOW, esp::replay::MAX_WINDOW);
        assert_eq!(ipc::sa::MIN_REPLAY_WINDOW, esp::replay::MIN_WINDOW);
    }

    #[test]
    fn records_round_trip_through_snapshots() {
        let r = SeqRecord {
            sa: ipc::SaId::new(7).unwrap(),
            spi: 0xdead_beef,
            dir: ipc::Direction::In,
            oseq: 1 << 40,
            top: 99,
            bits: [1, 2, 3, u64::MAX],
            generation: 5,
            at_ns: 123,
        };
        assert_eq!(record(&snapshot(&r)), Some(r));
    }

    #[test]
    fn sync_settings_become_the_workers_policy() {
        let s = SyncSettings {
            period_packets_inbound: 1000,
            period_packets_outbound: 10,
            period_time_ms: 250,
            oseq_shift: 7,
        };
        let on = sync_policy(&s, true);
        assert_eq!(on.period_packets(Direction::Inbound), 1000);
        assert_eq!(on.period_packets(Direction::Outbound), 10);
        assert_eq!((on.period_ns, on.oseq_shift), (250_000_000, 7));
        // Without `--ha-sync` no record is taken, but the shift is kept.
        let off = sync_policy(&s, false);
        assert_eq!(
            (
                off.period_packets_inbound,
                off.period_packets_outbound,
                off.period_ns
            ),
            (0, 0, 0)
        );
        assert_eq!(off.oseq_shift, 7);
    }
}
