//! The one counter format every store shares.

use crate::{Error, Result};

/// The largest counter value (what Redis's `HINCRBY` can hold).
pub const MAX_COUNTER: u64 = i64::MAX as u64;

/// The counter at `key` after adding `delta` to `current` (absent: 0), or
/// why not: `current` is not a counter, or the sum passes [`MAX_COUNTER`].
pub fn next_counter(key: &str, current: Option<&[u8]>, delta: u64) -> Result<u64> {
    let value = match current {
        None => 0,
        Some(bytes) => parse(bytes).ok_or_else(|| not_a_counter(key))?,
    };
    value
        .checked_add(delta)
        .filter(|&sum| sum <= MAX_COUNTER)
        .ok_or_else(|| past_the_top(key, delta))
}

/// The refusal of an increment of `key`, whose value is not a counter.
pub fn not_a_counter(key: &str) -> Error {
    Error::invalid(
        "key",
        format!(
            "the value of {key:?} is not a counter (decimal digits without a leading zero, at most {MAX_COUNTER})"
        ),
    )
}

/// The refusal of an increment of `key` by `delta` past [`MAX_COUNTER`].
pub fn past_the_top(key: &str, delta: u64) -> Error {
    Error::invalid(
        "key",
        format!("incrementing {key:?} by {delta} would pass {MAX_COUNTER}"),
    )
}

fn parse(bytes: &[u8]) -> Option<u64> {
    let canonical = match bytes {
        [b'0'] => true,
        [first, rest @ ..] => (b'1'..=b'9').contains(first) && rest.iter().all(u8::is_ascii_digit),
        [] => false,
    };
    if !canonical || bytes.len() > 19 {
        return None;
    }
    std::str::from_utf8(bytes)
        .ok()?
        .parse::<u64>()
        .ok()
        .filter(|&v| v <= MAX_COUNTER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_canonical_decimals_within_i64() {
        assert_eq!(next_counter("k", None, 5).unwrap(), 5);
        assert_eq!(next_counter("k", Some(b"0"), 0).unwrap(), 0);
        assert_eq!(next_counter("k", Some(b"41"), 1).unwrap(), 42);
        for bad in [
            &b""[..],
            b"007",
            b"-1",
            b"+1",
            b" 1",
            b"1.0",
            b"abc",
            b"9223372036854775808",
        ] {
            let e = next_counter("k", Some(bad), 1).unwrap_err();
            assert!(e.to_string().contains("not a counter"), "{bad:?}: {e}");
        }
        let e = next_counter("k", Some(b"9223372036854775807"), 1).unwrap_err();
        assert!(e.to_string().contains("would pass"), "{e}");
        assert!(next_counter("k", None, u64::MAX).is_err());
    }
}
