//! ECN at tunnel endpoints, RFC 6040 "normal mode".

/// Not-ECT, ECT(1), ECT(0), CE: the two low bits of the TOS / traffic class.
pub const NOT_ECT: u8 = 0;
pub const ECT1: u8 = 1;
pub const ECT0: u8 = 2;
pub const CE: u8 = 3;

/// Encapsulation (§4.1, normal mode): the outer ECN field copies the inner one.
pub fn encapsulate(inner: u8) -> u8 {
    inner & 3
}

/// Decapsulation (§4.2, Figure 4): the inner ECN field to forward, or `None` to drop
/// (CE outside a Not-ECT packet).
pub fn decapsulate(inner: u8, outer: u8) -> Option<u8> {
    match (inner & 3, outer & 3) {
        (NOT_ECT, CE) => None,
        (NOT_ECT, _) => Some(NOT_ECT),
        (ECT0, ECT1) => Some(ECT1),
        (_, CE) => Some(CE),
        (i, _) => Some(i),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6040_figure_4() {
        // Rows: inner; columns: outer Not-ECT, ECT(0), ECT(1), CE.
        let table = [
            (NOT_ECT, [Some(NOT_ECT), Some(NOT_ECT), Some(NOT_ECT), None]),
            (ECT0, [Some(ECT0), Some(ECT0), Some(ECT1), Some(CE)]),
            (ECT1, [Some(ECT1), Some(ECT1), Some(ECT1), Some(CE)]),
            (CE, [Some(CE), Some(CE), Some(CE), Some(CE)]),
        ];
        for (inner, row) in table {
            for (outer, want) in [NOT_ECT, ECT0, ECT1, CE].into_iter().zip(row) {
                assert_eq!(
                    decapsulate(inner, outer),
                    want,
                    "inner {inner} outer {outer}"
                );
            }
        }
        assert_eq!(encapsulate(0xbb), 3);
    }
}
