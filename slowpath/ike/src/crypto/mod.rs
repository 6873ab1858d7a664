//! IKEv2 cryptography: transforms, key exchange, key derivation, SK payload protection, AUTH.
