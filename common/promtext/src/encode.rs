//! The Prometheus text exposition format, version 0.0.4: each family once, as `# HELP`, then
//! `# TYPE`, then its samples one per line; counters named `..._total`; label values and
//! help text escaped. Samples go straight to the writer, so a page is never held whole.

use std::collections::HashSet;
use std::fmt::{self, Display};
use std::io::{self, Write};
use std::time::Duration;

/// A family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (resets with the process); its name ends in `_total`.
    Counter,
    /// A value that goes up and down (a state, a count of things now).
    Gauge,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

/// A sample's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Int(u64),
    Float(f64),
}

impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::Int(v)
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Value {
        Value::Int(v.into())
    }
}

impl From<usize> for Value {
    fn from(v: usize) -> Value {
        Value::Int(v as u64)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Int(v.into())
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}

impl Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Float(v) if v.is_nan() => f.write_str("NaN"),
            Value::Float(v) if v.is_infinite() => {
                f.write_str(if v > 0.0 { "+Inf" } else { "-Inf" })
            }
            Value::Float(v) => write!(f, "{v}"),
        }
    }
}

/// A label: its name and a value shown with `Display` (numbers need no allocation).
pub type Label<'a> = (&'a str, &'a dyn Display);

/// Writes a page family by family.
pub struct Encoder<W: Write> {
    out: W,
    /// Family names begun so far: a name may appear once per page.
    families: HashSet<String>,
}

impl<W: Write> Encoder<W> {
    pub fn new(out: W) -> Encoder<W> {
        Encoder {
            out,
            families: HashSet::new(),
        }
    }

    /// Begins a family: its HELP and TYPE lines. Refused (`InvalidInput`): a name that is not
    /// a metric name, a counter whose name does not end in `_total`, a name already used.
    pub fn family<'e>(
        &'e mut self,
        name: &'e str,
        kind: Kind,
        help: &str,
    ) -> io::Result<Family<'e, W>> {
        if !is_metric_name(name) {
            return Err(invalid(format!("`{name}` is not a metric name")));
        }
        if kind == Kind::Counter && !name.ends_with("_total") {
            return Err(invalid(format!("counter `{name}` does not end in _total")));
        }
        if !self.families.insert(name.to_string()) {
            return Err(invalid(format!("family `{name}` written twice")));
        }
        write!(self.out, "# HELP {name} ")?;
        write!(Escaped::help(&mut self.out), "{help}")?;
        writeln!(self.out, "\n# TYPE {name} {}", kind.name())?;
        Ok(Family {
            out: &mut self.out,
            name,
        })
    }

    /// A family of one sample without labels.
    pub fn single(
        &mut self,
        name: &str,
        kind: Kind,
        help: &str,
        value: impl Into<Value>,
    ) -> io::Result<()> {
        self.family(name, kind, help)?.sample(&[], value)
    }

    /// What every page starts with: `{process}_build_info{version="..."} 1` and
    /// `{process}_uptime_seconds`.
    pub fn process(&mut self, process: &str, version: &str, uptime: Duration) -> io::Result<()> {
        let info = format!("{process}_build_info");
        self.family(&info, Kind::Gauge, "The running build (always 1).")?
            .sample(&[("version", &version)], 1u64)?;
        let help = format!("Seconds since the {process} process started.");
        let up = format!("{process}_uptime_seconds");
        self.single(&up, Kind::Gauge, &help, uptime.as_secs_f64())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// The family being written: its samples.
pub struct Family<'e, W: Write> {
    out: &'e mut W,
    name: &'e str,
}

impl<W: Write> Family<'_, W> {
    /// One sample: `name{label="value",...} value`. A label name that is not one is refused.
    pub fn sample(&mut self, labels: &[Label<'_>], value: impl Into<Value>) -> io::Result<()> {
        self.out.write_all(self.name.as_bytes())?;
        for (i, (label, v)) in labels.iter().enumerate() {
            if !is_label_name(label) {
                return Err(invalid(format!("`{label}` is not a label name")));
            }
            let open = if i == 0 { "{" } else { "," };
            write!(self.out, "{open}{label}=\"")?;
            write!(Escaped::label(&mut *self.out), "{v}")?;
            self.out.write_all(b"\"")?;
        }
        if !labels.is_empty() {
            self.out.write_all(b"}")?;
        }
        writeln!(self.out, " {}", value.into())
    }
}

fn invalid(reason: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, reason)
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
fn is_metric_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_' || c == b':')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved).
fn is_label_name(s: &str) -> bool {
    let mut b = s.bytes();
    !s.starts_with("__")
        && b.next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Escapes what is written through it: backslash and newline, and in label values the
/// double quote too.
struct Escaped<'w, W: Write> {
    out: &'w mut W,
    quote: bool,
}

impl<'w, W: Write> Escaped<'w, W> {
    fn help(out: &'w mut W) -> Self {
        Escaped { out, quote: false }
    }

    fn label(out: &'w mut W) -> Self {
        Escaped { out, quote: true }
    }
}

impl<W: Write> Write for Escaped<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut start = 0;
        for (i, &c) in buf.iter().enumerate() {
            let escape: &[u8] = match c {
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'"' if self.quote => b"\\\"",
                _ => continue,
            };
            self.out.write_all(&buf[start..i])?;
            self.out.write_all(escape)?;
            start = i + 1;
        }
        self.out.write_all(&buf[start..])?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(f: impl FnOnce(&mut Encoder<&mut Vec<u8>>) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut Encoder::new(&mut out)).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_family_is_help_then_type_then_its_samples() {
        let text = page(|e| {
            let mut f = e.family("fp_rx_packets_total", Kind::Counter, "Packets received.")?;
            f.sample(&[("port", &0u16)], 12u64)?;
            f.sample(&[("port", &1u16), ("role", &"unprotected")], 3u64)?;
            e.single("fp_up", Kind::Gauge, "Up.", true)
        });
        assert_eq!(
            text,
            "# HELP fp_rx_packets_total Packets received.\n\
             # TYPE fp_rx_packets_total counter\n\
             fp_rx_packets_total{port=\"0\"} 12\n\
             fp_rx_packets_total{port=\"1\",role=\"unprotected\"} 3\n\
             # HELP fp_up Up.\n\
             # TYPE fp_up gauge\n\
             fp_up 1\n"
        );
    }

    #[test]
    fn a_page_starts_with_the_process() {
        let text = page(|e| e.process("gw", "1.2", Duration::from_millis(2500)));
        assert!(
            text.contains("\ngw_build_info{version=\"1.2\"} 1\n"),
            "{text}"
        );
        assert!(text.ends_with("# TYPE gw_uptime_seconds gauge\ngw_uptime_seconds 2.5\n"));
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        let text = page(|e| {
            e.family("x", Kind::Gauge, "a \\ and\na \"quote\"")?
                .sample(&[("name", &"say \"hi\"\\\nbye")], 1u64)
        });
        assert_eq!(
            text,
            "# HELP x a \\\\ and\\na \"quote\"\n# TYPE x gauge\nx{name=\"say \\\"hi\\\"\\\\\\nbye\"} 1\n"
        );
    }

    #[test]
    fn a_name_is_one_family_and_counters_end_in_total() {
        let mut out = Vec::new();
        let mut e = Encoder::new(&mut out);
        e.single("a_total", Kind::Counter, "A.", 1u64).unwrap();
        let again = e.single("a_total", Kind::Counter, "A.", 1u64).unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::InvalidInput);
        assert!(e.family("b", Kind::Counter, "B.").is_err());
        assert!(e.family("1b", Kind::Gauge, "B.").is_err());
        assert!(e.family("b-c", Kind::Gauge, "B.").is_err());
        assert!(e.family("", Kind::Gauge, "B.").is_err());
        let mut f = e.family("ok:name_1", Kind::Gauge, "B.").unwrap();
        assert!(f.sample(&[("bad-label", &1u8)], 1u64).is_err());
        assert!(f.sample(&[("__reserved", &1u8)], 1u64).is_err());
        assert!(f.sample(&[("_fine", &1u8)], 1u64).is_ok());
    }

    #[test]
    fn floats_as_prometheus_reads_them() {
        let text = page(|e| {
            let mut f = e.family("v", Kind::Gauge, "V.")?;
            for x in [1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0] {
                f.sample(&[], x)?;
            }
            Ok(())
        });
        let values: Vec<&str> = text
            .lines()
            .skip(2)
            .map(|l| l.split(' ').nth(1).unwrap())
            .collect();
        assert_eq!(values, ["1.5", "NaN", "+Inf", "-Inf", "0"]);
    }
}
