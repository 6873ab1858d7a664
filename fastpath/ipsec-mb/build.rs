//! Generates bindings for the parts of intel-ipsec-mb 1.3 (Debian libipsec-mb-dev) that the
//! safe layer uses, and links libIPSec_MB.

use std::env;
use std::path::PathBuf;

fn main() {
    let header =
        env::var("IPSEC_MB_HEADER").unwrap_or_else(|_| "/usr/include/intel-ipsec-mb.h".into());
    println!("cargo:rerun-if-changed={header}");
    println!("cargo:rerun-if-env-changed=IPSEC_MB_HEADER");
    println!("cargo:rerun-if-env-changed=IPSEC_MB_LIB_DIR");
    if let Ok(dir) = env::var("IPSEC_MB_LIB_DIR") {
        println!("cargo:rustc-link-search=native={dir}");
    }
    println!("cargo:rustc-link-lib=IPSec_MB");

    let bindings = bindgen::Builder::default()
        .header(header)
        .clang_arg("-DLINUX")
        .allowlist_type("IMB_MGR")
        .allowlist_type("IMB_JOB")
        .allowlist_type("IMB_ARCH")
        .allowlist_type("IMB_STATUS")
        .allowlist_type("IMB_CIPHER_MODE")
        .allowlist_type("IMB_CIPHER_DIRECTION")
        .allowlist_type("IMB_HASH_ALG")
        .allowlist_type("IMB_CHAIN_ORDER")
        .allowlist_type("gcm_key_data")
        .allowlist_type("gcm_context_data")
        .allowlist_function("alloc_mb_mgr")
        .allowlist_function("free_mb_mgr")
        .allowlist_function("init_mb_mgr_auto")
        .allowlist_function("imb_get_version_str")
        .allowlist_function("imb_get_errno")
        .allowlist_function("imb_get_strerror")
        .allowlist_var("IMB_FEATURE_.*")
        .allowlist_var("IMB_MAX_JOBS")
        .allowlist_var("IMB_VERSION_STR")
        .prepend_enum_name(false)
        .derive_default(true)
        .generate()
        .expect("bindgen failed on intel-ipsec-mb.h (is libipsec-mb-dev installed?)");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("writing bindings.rs");
}
