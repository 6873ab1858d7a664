//! The Notify Message Types (RFC 7296 3.10.1): what a Notify payload says, and what a
//! malformed message is answered with (`ParseError::notify`).

use super::code::code_point;

code_point! {
    /// Notify Message Type (3.10.1; IANA "IKEv2 Notify Message Types"). Below 16384: errors;
    /// from 16384: status.
    NotifyType(u16) {
        UNSUPPORTED_CRITICAL_PAYLOAD = 1,
        INVALID_IKE_SPI = 4,
        INVALID_MAJOR_VERSION = 5,
        INVALID_SYNTAX = 7,
        INVALID_MESSAGE_ID = 9,
        INVALID_SPI = 11,
        NO_PROPOSAL_CHOSEN = 14,
        INVALID_KE_PAYLOAD = 17,
        AUTHENTICATION_FAILED = 24,
        SINGLE_PAIR_REQUIRED = 34,
        NO_ADDITIONAL_SAS = 35,
        INTERNAL_ADDRESS_FAILURE = 36,
        FAILED_CP_REQUIRED = 37,
        TS_UNACCEPTABLE = 38,
        INVALID_SELECTORS = 39,
        /// RFC 4555 (MOBIKE).
        UNACCEPTABLE_ADDRESSES = 40,
        /// RFC 4555 (MOBIKE).
        UNEXPECTED_NAT_DETECTED = 41,
        TEMPORARY_FAILURE = 43,
        CHILD_SA_NOT_FOUND = 44,
        /// RFC 9370.
        STATE_NOT_FOUND = 47,
        INITIAL_CONTACT = 16384,
        SET_WINDOW_SIZE = 16385,
        ADDITIONAL_TS_POSSIBLE = 16386,
        IPCOMP_SUPPORTED = 16387,
        /// RFC 7296 2.23 (NAT traversal; the hash itself is the crypto module's).
        NAT_DETECTION_SOURCE_IP = 16388,
        NAT_DETECTION_DESTINATION_IP = 16389,
        COOKIE = 16390,
        USE_TRANSPORT_MODE = 16391,
        HTTP_CERT_LOOKUP_SUPPORTED = 16392,
        REKEY_SA = 16393,
        ESP_TFC_PADDING_NOT_SUPPORTED = 16394,
        NON_FIRST_FRAGMENTS_ALSO = 16395,
        /// RFC 4555.
        MOBIKE_SUPPORTED = 16396,
        ADDITIONAL_IP4_ADDRESS = 16397,
        ADDITIONAL_IP6_ADDRESS = 16398,
        NO_ADDITIONAL_ADDRESSES = 16399,
        UPDATE_SA_ADDRESSES = 16400,
        COOKIE2 = 16401,
        NO_NATS_ALLOWED = 16402,
        /// RFC 4478.
        AUTH_LIFETIME = 16403,
        /// RFC 4739.
        MULTIPLE_AUTH_SUPPORTED = 16404,
        ANOTHER_AUTH_FOLLOWS = 16405,
        /// RFC 5685.
        REDIRECT_SUPPORTED = 16406,
        REDIRECT = 16407,
        REDIRECTED_FROM = 16408,
        /// RFC 6023.
        CHILDLESS_IKEV2_SUPPORTED = 16418,
        /// RFC 6290.
        QUICK_CRASH_DETECTION = 16419,
        /// RFC 6311: message ID and replay counter sync after an HA failover.
        IKEV2_MESSAGE_ID_SYNC_SUPPORTED = 16420,
        IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED = 16421,
        IKEV2_MESSAGE_ID_SYNC = 16422,
        IPSEC_REPLAY_COUNTER_SYNC = 16423,
        /// RFC 7383.
        IKEV2_FRAGMENTATION_SUPPORTED = 16430,
        /// RFC 7427.
        SIGNATURE_HASH_ALGORITHMS = 16431,
        /// RFC 9242.
        INTERMEDIATE_EXCHANGE_SUPPORTED = 16438,
        /// RFC 8983.
        IP4_ALLOWED = 16439,
        IP6_ALLOWED = 16440,
        /// RFC 9370.
        ADDITIONAL_KEY_EXCHANGE = 16441,
        /// RFC 9347.
        USE_AGGFRAG = 16442,
    }
}

/// The first status type: "types in the range 0 - 16383 are intended for reporting errors" (3.10.1).
const FIRST_STATUS: u16 = 16384;

impl NotifyType {
    /// An error type: in a response, the request failed (3.10.1).
    pub fn is_error(self) -> bool {
        self.0 < FIRST_STATUS
    }
}
