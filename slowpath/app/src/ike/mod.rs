//! IKEv2 in the daemon: configuration, the engine driven over UDP, and the fast path programmed with its CHILD SAs.
