use super::*;
use std::net::Shutdown;

#[test]
fn only_get_metrics_is_the_page() {
    assert_eq!(
        parse_head(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
        Target::Metrics
    );
    assert_eq!(
        parse_head(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n"),
        Target::Metrics
    );
    assert_eq!(parse_head(b"GET / HTTP/1.1\r\n\r\n"), Target::NotFound);
    assert_eq!(
        parse_head(b"GET /metricsx HTTP/1.1\r\n\r\n"),
        Target::NotFound
    );
    assert_eq!(
        parse_head(b"POST /metrics HTTP/1.1\r\n\r\n"),
        Target::MethodNotAllowed
    );
    for junk in [
        &b""[..],
        b"\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET /metrics\r\n\r\n",
        b"GET /metrics HTTP/1.1 x\r\n\r\n",
        b"GET metrics HTTP/1.1\r\n\r\n",
        b"GET /metrics SPDY/3\r\n\r\n",
        b"\xff\xfe /metrics HTTP/1.1\r\n\r\n",
    ] {
        assert_eq!(parse_head(junk), Target::BadRequest, "{junk:?}");
    }
}

#[test]
fn the_head_ends_at_its_blank_line() {
    assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\nbody"), Some(18));
    assert_eq!(head_end(b"GET / HTTP/1.1\n\n"), Some(16));
    assert_eq!(head_end(b"GET / HTTP/1.1\r\n"), None);
}

/// A server on a free loopback port whose page counts the scrapes.
fn start() -> (SocketAddr, Arc<AtomicBool>, JoinHandle<()>) {
    let server = MetricsServer::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = server.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut scrapes = 0u64;
    let page: Box<Page> = Box::new(move |out: &mut dyn Write| {
        scrapes += 1;
        let mut e = crate::Encoder::new(out);
        e.single("scrapes_total", crate::Kind::Counter, "Scrapes.", scrapes)
    });
    let t = server
        .spawn("metrics-test", Arc::clone(&stop), page)
        .unwrap();
    (addr, stop, t)
}

fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(request).unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    reply
}

#[test]
fn serves_the_page_and_refuses_the_rest_then_stops() {
    let (addr, stop, t) = start();
    let r = exchange(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
    assert!(r.contains(&format!("Content-Type: {CONTENT_TYPE}\r\n")));
    assert!(r.ends_with("\r\n\r\n# HELP scrapes_total Scrapes.\n# TYPE scrapes_total counter\nscrapes_total 1\n"), "{r}");
    let r = exchange(addr, b"GET /other HTTP/1.1\r\n\r\n");
    assert!(r.starts_with("HTTP/1.1 404 "), "{r}");
    let r = exchange(addr, b"DELETE /metrics HTTP/1.1\r\n\r\n");
    assert!(r.starts_with("HTTP/1.1 405 "), "{r}");
    // Junk, a head over the bound, and a client that leaves half-way: each ends its own
    // connection, and the server goes on.
    let r = exchange(addr, b"\x00\x01\x02 junk\r\n\r\n");
    assert!(r.starts_with("HTTP/1.1 400 "), "{r}");
    let r = exchange(addr, &vec![b'a'; MAX_HEAD + 2048]);
    assert!(r.starts_with("HTTP/1.1 400 "), "{r}");
    let mut half = TcpStream::connect(addr).unwrap();
    half.write_all(b"GET /met").unwrap();
    half.shutdown(Shutdown::Write).unwrap();
    drop(half);
    // A client that says nothing holds the server only until the read timeout.
    let silent = TcpStream::connect(addr).unwrap();
    let asked = Instant::now();
    let r = exchange(addr, b"GET /metrics HTTP/1.0\r\n\r\n");
    assert!(r.ends_with("scrapes_total 2\n"), "{r}");
    assert!(asked.elapsed() < READ_TIMEOUT + Duration::from_secs(2));
    drop(silent);
    stop.store(true, Ordering::Relaxed);
    t.join().unwrap();
    assert!(TcpStream::connect(addr).is_err(), "the listener closed");
}
