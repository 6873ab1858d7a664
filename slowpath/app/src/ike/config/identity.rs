//! IKE identities: `fqdn:NAME`, `ip:ADDR`, `email:USER@DOMAIN`, `dn:"C=CH, O=Lab, CN=gw"`.

use ike::config::Identity;
use openssl::x509::{X509Name, X509NameBuilder};
use toolkit::config::parse_ip;

use super::unquote;

/// Without a type: an address, a mail address (has `@`), a DN (has `=`), else a name. The
/// X.509 name comes back too for DNs.
pub(super) fn parse_identity(s: &str) -> Result<(Identity, Option<X509Name>), String> {
    let (kind, v) = match s.split_once(':') {
        Some((k @ ("fqdn" | "ip" | "email" | "dn"), v)) => (k, unquote(v)),
        _ => {
            let v = unquote(s);
            let kind = if parse_ip(v).is_ok() {
                "ip"
            } else if v.contains('=') {
                "dn"
            } else if v.contains('@') {
                "email"
            } else {
                "fqdn"
            };
            (kind, v)
        }
    };
    if v.is_empty() {
        return Err(format!("identity `{s}` is empty"));
    }
    Ok(match kind {
        "ip" => (Identity::ip(parse_ip(v)?), None),
        "email" => (Identity::user_fqdn(v), None),
        "dn" => {
            let name = parse_dn(v)?;
            let der = name.to_der().map_err(|e| format!("dn {v}: {e}"))?;
            (Identity::dn(der), Some(name))
        }
        _ => (Identity::fqdn(v), None),
    })
}

/// `C=CH, O=Lab, CN=gw` (also `/`-separated); values cannot contain `,` or `/`.
fn parse_dn(s: &str) -> Result<X509Name, String> {
    let mut b = X509NameBuilder::new().map_err(|e| e.to_string())?;
    let sep = if s.contains(',') { ',' } else { '/' };
    let mut n = 0;
    for part in s.split(sep).map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or(format!("dn: `{part}` is not KEY=VALUE"))?;
        b.append_entry_by_text(k.trim(), v.trim())
            .map_err(|_| format!("dn: `{}` is not a DN attribute OpenSSL knows", k.trim()))?;
        n += 1;
    }
    if n == 0 {
        return Err(format!("dn `{s}` is empty"));
    }
    Ok(b.build())
}
