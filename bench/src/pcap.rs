//! Classic pcap files of UDP test frames.

use esp::wire::checksum::{checksum, finish, pseudo_header, sum};
use std::io::Write;
use std::path::Path;

/// A simple IMIX: 7 x 64, 4 x 570, 1 x 1518 bytes (per 12 frames).
pub const IMIX: [usize; 12] = [64, 570, 64, 1518, 64, 570, 64, 570, 64, 64, 570, 64];

/// The smallest frame: Ethernet + IP + UDP headers.
pub fn min_frame(ipv6: bool) -> usize {
    14 + if ipv6 { 40 } else { 20 } + 8
}

/// Frame `i` of length `len` (no FCS): Ethernet 02:..:02 -> 02:..:01, UDP sport 1024+i,
/// dport 5001, payload bytes (i + k) mod 256, valid checksums.
pub fn udp_frame(len: usize, i: usize, ipv6: bool) -> Vec<u8> {
    let ip_hdr = if ipv6 { 40 } else { 20 };
    let udp_len = len.max(min_frame(ipv6)) - 14 - ip_hdr;
    let (src, dst): (Vec<u8>, Vec<u8>) = if ipv6 {
        let mut s = vec![0x20, 0x01, 0x0d, 0xb8, 0, 1];
        s.resize(15, 0);
        s.push(1);
        let mut d = vec![0x20, 0x01, 0x0d, 0xb8, 0, 2];
        d.resize(15, 0);
        d.push(1);
        (s, d)
    } else {
        (vec![198, 51, 100, 1], vec![203, 0, 113, 1])
    };
    let mut udp = Vec::with_capacity(udp_len);
    udp.extend_from_slice(&((1024 + i % 60000) as u16).to_be_bytes());
    udp.extend_from_slice(&5001u16.to_be_bytes());
    udp.extend_from_slice(&(udp_len as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend((0..udp_len - 8).map(|k| ((i + k) & 0xff) as u8));
    let pseudo = pseudo_header(&src, &dst, 17, udp_len as u32);
    let c = match finish(sum(pseudo, &udp)) {
        0 => 0xffff,
        c => c,
    };
    udp[6..8].copy_from_slice(&c.to_be_bytes());

    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    if ipv6 {
        f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
        f.extend_from_slice(&(udp_len as u16).to_be_bytes());
        f.extend_from_slice(&[17, 64]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
    } else {
        let mut ip = vec![0x45, 0];
        ip.extend_from_slice(&((20 + udp_len) as u16).to_be_bytes());
        ip.extend_from_slice(&((i & 0xffff) as u16).to_be_bytes());
        ip.extend_from_slice(&[0x40, 0, 64, 17, 0, 0]);
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        let c = checksum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&ip);
    }
    f.extend_from_slice(&udp);
    f
}

/// Writes frames as a classic pcap (microsecond timestamps, Ethernet).
pub fn write(path: &Path, frames: &[Vec<u8>]) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
    out.write_all(&2u16.to_le_bytes())?;
    out.write_all(&4u16.to_le_bytes())?;
    out.write_all(&[0; 8])?;
    out.write_all(&65535u32.to_le_bytes())?;
    out.write_all(&1u32.to_le_bytes())?;
    for (i, f) in frames.iter().enumerate() {
        out.write_all(&((i / 1_000_000) as u32).to_le_bytes())?;
        out.write_all(&((i % 1_000_000) as u32).to_le_bytes())?;
        out.write_all(&(f.len() as u32).to_le_bytes())?;
        out.write_all(&(f.len() as u32).to_le_bytes())?;
        out.write_all(f)?;
    }
    out.flush()
}

/// Reads the frames of a classic pcap (either byte order, microsecond or nanosecond).
pub fn read(path: &Path) -> std::io::Result<Vec<Vec<u8>>> {
    let data = std::fs::read(path)?;
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not a classic pcap");
    let magic = data.get(0..4).ok_or_else(bad)?;
    let le = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => return Err(bad()),
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let mut at = 24;
    let mut frames = Vec::new();
    while at + 16 <= data.len() {
        let caplen = u32_at(at + 8).ok_or_else(bad)? as usize;
        let f = data.get(at + 16..at + 16 + caplen).ok_or_else(bad)?;
        frames.push(f.to_vec());
        at += 16 + caplen;
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_the_asked_length_and_valid_checksums() {
        for (len, v6) in [
            (64, false),
            (512, false),
            (1400, false),
            (78, true),
            (1518, true),
        ] {
            let f = udp_frame(len, 7, v6);
            assert_eq!(f.len(), len);
            if !v6 {
                assert_eq!(checksum(&f[14..34]), 0, "IPv4 header checksum");
            }
        }
    }

    #[test]
    fn pcap_round_trips() {
        let frames: Vec<Vec<u8>> = (0..5)
            .map(|i| udp_frame(64 + i * 100, i, i % 2 == 1))
            .collect();
        let path = std::env::temp_dir().join(format!("trafgen-test-{}.pcap", std::process::id()));
        write(&path, &frames).unwrap();
        assert_eq!(read(&path).unwrap(), frames);
        std::fs::remove_file(&path).unwrap();
    }
}
