//! `slowpath-ctl` against the real daemon, its output read by someone who stops early (`|
//! head -1`, `| grep -q`): it ends quietly with status 0, never with a panic.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Daemon {
    child: Child,
    dir: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start() -> (Daemon, PathBuf) {
    let dir = std::env::temp_dir().join(format!("sp-ctl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("sp.sock");
    let conf = dir.join("sp.conf");
    std::fs::write(&conf, format!("control {}\n", sock.display())).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_slowpath"))
        .arg("--config")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let daemon = Daemon { child, dir };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "no control socket");
        std::thread::sleep(Duration::from_millis(20));
    }
    (daemon, sock)
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let (_daemon, sock) = start();
    for args in [&["instances"][..], &["events"], &["--json", "interfaces"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        // The reader is gone before the command writes a byte: its first write breaks.
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_slowpath-ctl"))
            .arg("-s")
            .arg(&sock)
            .args(args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "{args:?}: {out:?}"
        );
    }
    // A real failure still says so.
    let out = Command::new(env!("CARGO_BIN_EXE_slowpath-ctl"))
        .args(["-s", "/nonexistent/sp.sock", "instances"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}
