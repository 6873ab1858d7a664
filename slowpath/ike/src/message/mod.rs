//! IKEv2 messages and payloads (RFC 7296 section 3): parse and build.
