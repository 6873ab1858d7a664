//! `ike` and `esp` proposal lists with strongSwan's keywords: each comma-separated proposal
//! is `-`-separated keywords, and several keywords of one type make one suite per combination.

use ike::crypto::transform::{
    Suite, AUTH_HMAC_SHA1_96, AUTH_HMAC_SHA2_256_128, AUTH_HMAC_SHA2_384_192,
    AUTH_HMAC_SHA2_512_256, CURVE25519, ECP_256, ECP_384, ENCR_AES_CBC, ENCR_AES_GCM_16, MODP_1024,
    MODP_2048, MODP_3072, PRF_HMAC_SHA1, PRF_HMAC_SHA2_256, PRF_HMAC_SHA2_384, PRF_HMAC_SHA2_512,
};

/// More suites than this from one `ike` or `esp` list is a typo, not a policy.
const MAX_SUITES: usize = 64;

/// Which proposal list is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ike,
    Esp,
}

/// The `esn`/`noesn` keywords an ESP list carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EsnWords {
    None,
    Esn,
    NoEsn,
    Both,
}

impl EsnWords {
    fn add(self, esn: bool) -> EsnWords {
        match (self, esn) {
            (EsnWords::None | EsnWords::Esn, true) => EsnWords::Esn,
            (EsnWords::None | EsnWords::NoEsn, false) => EsnWords::NoEsn,
            _ => EsnWords::Both,
        }
    }
}

/// A comma-separated list of strongSwan proposals, each `-`-separated keywords; several
/// keywords of one type in a proposal become one suite per combination, in the order given.
pub fn parse_proposals(s: &str, kind: Kind) -> Result<(Vec<Suite>, EsnWords), String> {
    let mut suites = Vec::new();
    let mut esn = EsnWords::None;
    for p in s.split(',') {
        let (mut s, e) = parse_proposal(p, kind)?;
        if let Some(e) = e {
            esn = esn.add(e);
        }
        suites.append(&mut s);
        if suites.len() > MAX_SUITES {
            return Err(format!(
                "more than {MAX_SUITES} suites: split the proposals"
            ));
        }
    }
    Ok((suites, esn))
}

/// strongSwan's proposal keywords and their IANA transform ids: what `ike` and `esp` lists are
/// parsed with, and what the operator's views print (`keyword_of`).
pub const INTEG_KEYWORDS: &[(&str, u16)] = &[
    ("sha1", AUTH_HMAC_SHA1_96),
    ("sha256", AUTH_HMAC_SHA2_256_128),
    ("sha384", AUTH_HMAC_SHA2_384_192),
    ("sha512", AUTH_HMAC_SHA2_512_256),
];
pub const PRF_KEYWORDS: &[(&str, u16)] = &[
    ("prfsha1", PRF_HMAC_SHA1),
    ("prfsha256", PRF_HMAC_SHA2_256),
    ("prfsha384", PRF_HMAC_SHA2_384),
    ("prfsha512", PRF_HMAC_SHA2_512),
];
/// Curve25519 is also accepted as `x25519` (strongSwan's older name).
pub const GROUP_KEYWORDS: &[(&str, u16)] = &[
    ("modp1024", MODP_1024),
    ("modp2048", MODP_2048),
    ("modp3072", MODP_3072),
    ("ecp256", ECP_256),
    ("ecp384", ECP_384),
    ("curve25519", CURVE25519),
];

fn id_of(table: &[(&str, u16)], keyword: &str) -> Option<u16> {
    table.iter().find(|(k, _)| *k == keyword).map(|(_, id)| *id)
}

/// The keyword of a transform id, if the table has it.
pub fn keyword_of(table: &[(&'static str, u16)], id: u16) -> Option<&'static str> {
    table.iter().find(|(_, i)| *i == id).map(|(k, _)| *k)
}

fn parse_proposal(p: &str, kind: Kind) -> Result<(Vec<Suite>, Option<bool>), String> {
    let (mut encr, mut integ, mut prf, mut dh) = (vec![], vec![], vec![], vec![]);
    let mut esn = None;
    for t in p.split('-') {
        match t {
            "aes128" => encr.push((ENCR_AES_CBC, 128)),
            "aes256" => encr.push((ENCR_AES_CBC, 256)),
            "aes128gcm16" => encr.push((ENCR_AES_GCM_16, 128)),
            "aes256gcm16" => encr.push((ENCR_AES_GCM_16, 256)),
            "sha384" | "sha512" if kind == Kind::Esp => {
                return Err(format!(
                    "{t}: the fast path has HMAC-SHA1-96 and HMAC-SHA2-256-128 (sha1, sha256)"
                ))
            }
            _ if id_of(INTEG_KEYWORDS, t).is_some() => integ.extend(id_of(INTEG_KEYWORDS, t)),
            _ if id_of(PRF_KEYWORDS, t).is_some() => prf.extend(id_of(PRF_KEYWORDS, t)),
            "x25519" => dh.push(CURVE25519),
            _ if id_of(GROUP_KEYWORDS, t).is_some() => dh.extend(id_of(GROUP_KEYWORDS, t)),
            "esn" | "noesn" if kind == Kind::Esp => {
                let e = t == "esn";
                if esn.is_some_and(|x| x != e) {
                    return Err(format!("`{p}`: esn and noesn together: pick one"));
                }
                esn = Some(e);
            }
            "" => return Err(format!("`{p}`: an empty keyword")),
            o => return Err(format!("`{p}`: unknown proposal keyword `{o}`")),
        }
    }
    if encr.is_empty() {
        return Err(format!(
            "`{p}`: no encryption algorithm (aes128, aes128gcm16, ...)"
        ));
    }
    let aead = encr.iter().filter(|(e, _)| *e == ENCR_AES_GCM_16).count();
    if aead != 0 && aead != encr.len() {
        return Err(format!(
            "`{p}`: put AEAD and CBC ciphers in separate proposals"
        ));
    }
    let aead = aead != 0;
    if aead && !integ.is_empty() {
        return Err(format!(
            "`{p}`: an AEAD cipher takes no integrity algorithm"
        ));
    }
    if !aead && integ.is_empty() {
        return Err(format!(
            "`{p}`: a CBC cipher needs an integrity algorithm (sha1, sha256)"
        ));
    }
    let prfs: Vec<Option<u16>> = match kind {
        Kind::Esp if !prf.is_empty() => {
            return Err(format!("`{p}`: no PRF in ESP proposals"));
        }
        Kind::Esp => vec![None],
        Kind::Ike if !prf.is_empty() => prf.into_iter().map(Some).collect(),
        Kind::Ike if aead => {
            return Err(format!(
                "`{p}`: an AEAD IKE proposal needs a PRF (prfsha256, ...)"
            ))
        }
        // strongSwan: the PRF of a CBC suite follows its integrity algorithm's hash.
        Kind::Ike => {
            let mut v: Vec<Option<u16>> = Vec::new();
            for i in &integ {
                let p = Some(match *i {
                    AUTH_HMAC_SHA1_96 => PRF_HMAC_SHA1,
                    AUTH_HMAC_SHA2_256_128 => PRF_HMAC_SHA2_256,
                    AUTH_HMAC_SHA2_384_192 => PRF_HMAC_SHA2_384,
                    _ => PRF_HMAC_SHA2_512,
                });
                if !v.contains(&p) {
                    v.push(p);
                }
            }
            v
        }
    };
    if kind == Kind::Ike && dh.is_empty() {
        return Err(format!(
            "`{p}`: an IKE proposal needs a D-H group (modp2048, ecp256, ...)"
        ));
    }
    let integs: Vec<Option<u16>> = if aead {
        vec![None]
    } else {
        integ.into_iter().map(Some).collect()
    };
    let dhs: Vec<Option<u16>> = if dh.is_empty() {
        vec![None]
    } else {
        dh.into_iter().map(Some).collect()
    };
    let mut out = Vec::new();
    for &(e, bits) in &encr {
        for &i in &integs {
            for &pr in &prfs {
                for &d in &dhs {
                    let s = Suite {
                        encr: e,
                        encr_key_bits: bits,
                        integ: i,
                        prf: pr,
                        dh: d,
                        esn,
                    };
                    s.integ_info().map_err(|e| format!("`{p}`: {e}"))?;
                    out.push(s);
                    if out.len() > MAX_SUITES {
                        return Err(format!("`{p}`: more than {MAX_SUITES} combinations"));
                    }
                }
            }
        }
    }
    Ok((out, esn))
}
