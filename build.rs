//! Build script of the `dpdk` crate: finds DPDK 22.11 with pkg-config, runs bindgen over
//! `fastpath/dpdk/wrapper.h` and compiles `fastpath/dpdk/shim.c` (out-of-line copies of
//! DPDK's `static inline` fast-path functions) with `cc`.

use std::env;
use std::path::PathBuf;

/// Directory holding the headers and the C shim.
const SRC: &str = "fastpath/dpdk";

/// Keeps the pkg-config cflags that matter to a C parser: include paths, defines and
/// forced includes. Machine flags such as `-march=corei7` are dropped for bindgen.
fn clang_args(cflags: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = cflags.iter();
    while let Some(f) = it.next() {
        if f == "-include" {
            if let Some(h) = it.next() {
                out.push("-include".to_string());
                out.push(h.clone());
            }
        } else if f.starts_with("-I") || f.starts_with("-D") || f.starts_with("-U") {
            out.push(f.clone());
        }
    }
    out
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for f in ["wrapper.h", "shim.h", "shim.c"] {
        println!("cargo:rerun-if-changed={SRC}/{f}");
    }
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

    // Linking: pkg-config emits the -l/-L lines for every DPDK library (rte_eal, rte_ethdev,
    // rte_mbuf, rte_mempool, rte_ring, rte_ip_frag, rte_net, ...). The PMDs (net_null,
    // net_ring, net_pcap, net_tap, bus_vdev, ...) are shared objects that EAL dlopen()s itself
    // from its built-in plugin directory, so they are not linked here.
    let _lib = pkg_config::Config::new()
        .atleast_version("22.11")
        .probe("libdpdk")
        .expect("pkg-config could not find libdpdk (install libdpdk-dev)");
    // `--as-needed` from the .pc file would drop libraries only referenced by the Rust
    // objects that come later on the command line; keep all of them.
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");

    // Raw cflags (pkg-config crate only exposes include paths and defines separately, and
    // loses `-include rte_config.h`).
    let cflags_out = std::process::Command::new("pkg-config")
        .args(["--cflags", "libdpdk"])
        .output()
        .expect("run pkg-config --cflags libdpdk");
    let cflags: Vec<String> = String::from_utf8_lossy(&cflags_out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();

    // C shim: compiled with all the DPDK cflags (incl. -march=corei7) and -O3.
    let mut cc = cc::Build::new();
    cc.file(format!("{SRC}/shim.c"))
        .include(SRC)
        .opt_level(3)
        .warnings(true)
        .flag_if_supported("-Wno-unused-parameter");
    for f in &cflags {
        cc.flag(f);
    }
    cc.compile("dpdk_shim");

    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let bindings = bindgen::Builder::default()
        .header(format!("{SRC}/wrapper.h"))
        .clang_args(clang_args(&cflags))
        .clang_arg(format!("-I{SRC}"))
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .allowlist_function("rte_.*")
        .allowlist_function("shim_.*")
        .allowlist_type("rte_.*")
        .allowlist_var("rte_.*")
        .allowlist_var("RTE_.*")
        .allowlist_var("RING_F_.*")
        .allowlist_var("SOCKET_ID_ANY")
        .allowlist_var("LCORE_ID_ANY")
        // Packed struct containing an aligned one: Rust cannot represent it (E0588).
        .opaque_type("rte_l2tpv2_combined_msg_hdr")
        .derive_default(true)
        .derive_debug(false)
        // Layout checks are compile-time assertions: a layout mismatch fails the build.
        .layout_tests(true)
        .generate_comments(false)
        .prepend_enum_name(false)
        .default_enum_style(bindgen::EnumVariation::Consts)
        .generate()
        .expect("bindgen failed on fastpath/dpdk/wrapper.h");
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("write bindings.rs");
}
