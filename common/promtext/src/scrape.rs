//! The other end, for tests and tools: one GET of a page, the samples read back, and the
//! page checked by Prometheus' own `promtool check metrics`.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A GET of `path`: the status code and the body.
pub fn get(addr: SocketAddr, path: &str) -> io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut reply = String::new();
    s.read_to_string(&mut reply)?;
    let (head, body) = reply
        .split_once("\r\n\r\n")
        .ok_or_else(|| io::Error::other("no end of head"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line in {head:?}")))?;
    Ok((status, body.to_string()))
}

/// Every sample of a page: `name{labels}` as written, and its value.
pub fn samples(page: &str) -> BTreeMap<String, f64> {
    page.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// The sum of a family's samples whose labels include every one of `with` (`k="v"`).
pub fn sum(samples: &BTreeMap<String, f64>, family: &str, with: &[&str]) -> f64 {
    samples
        .iter()
        .filter(|(series, _)| {
            let (name, labels) = series.split_once('{').unwrap_or((series, ""));
            name == family && with.iter().all(|w| labels.contains(w))
        })
        .map(|(_, v)| v)
        .sum()
}

/// `promtool check metrics` on a page: Err with what it said when it finds a problem, or
/// when promtool is not installed (Debian's `prometheus` package ships it).
pub fn promtool_check(page: &str) -> Result<(), String> {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("promtool: {e} (install Debian's prometheus package: ci/setup.sh)"))?;
    let mut stdin = child.stdin.take().ok_or("promtool: no stdin")?;
    let page = page.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(page.as_bytes()));
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let _ = writer.join();
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_read_back_and_summed_by_label() {
        let page = "# HELP a_total A.\n# TYPE a_total counter\na_total{w=\"0\",r=\"x\"} 2\na_total{w=\"1\",r=\"x\"} 3\na_total{w=\"1\",r=\"y\"} 4\nb 1.5\n";
        let s = samples(page);
        assert_eq!(s.len(), 4);
        assert_eq!(s["b"], 1.5);
        assert_eq!(sum(&s, "a_total", &[]), 9.0);
        assert_eq!(sum(&s, "a_total", &["r=\"x\""]), 5.0);
        assert_eq!(sum(&s, "a", &[]), 0.0);
    }
}
