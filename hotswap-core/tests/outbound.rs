//! Outbound grants: rule syntax (with errors naming what is wrong), the
//! edges of matching (wildcards and apexes, default ports, schemes), the
//! tricks a plain form refuses (userinfo, numeric hosts), and properties.
#![allow(clippy::unwrap_used)]

use hotswap_core::domain::{Denial, OutboundGrants, OutboundRule};
use proptest::prelude::*;

fn grants(rules: &[&str]) -> OutboundGrants {
    OutboundGrants::allowing(rules).unwrap()
}

fn allowed(g: &OutboundGrants, scheme: &str, authority: &str) -> bool {
    g.check(scheme, authority).is_ok()
}

#[test]
fn rules_read_back_as_written_and_bad_ones_say_why() {
    for text in [
        "https://api.example.com",
        "http://127.0.0.1:8080",
        "*://*.example.com:*",
        "https://[::1]:8443",
    ] {
        let rule: OutboundRule = text.parse().unwrap();
        assert_eq!(rule.to_string(), text);
        let json = serde_json::to_string(&rule).unwrap();
        assert_eq!(serde_json::from_str::<OutboundRule>(&json).unwrap(), rule);
    }
    for (text, why) in [
        ("api.example.com", "no scheme"),
        ("ftp://example.com", "http, https or *"),
        ("https://example.com/path", "no path"),
        ("https://user@example.com", "userinfo"),
        ("https://*", "leading labels"),
        ("https://*.com", "at least two labels"),
        ("https://api.*.example.com", "leading labels"),
        ("https://Example.com", "lowercase"),
        ("https://example.com:0", "1 to 65535"),
        ("https://example.com:080", "1 to 65535"),
        ("https://example.com:70000", "1 to 65535"),
        ("https://[::1", "no host"),
        ("https://[example.com]", "IPv6"),
        ("https://", "no host"),
    ] {
        let e = text.parse::<OutboundRule>().unwrap_err().to_string();
        assert!(e.contains(why), "{text}: {e}");
        assert!(e.contains("outbound.allow"), "{text}: {e}");
    }
}

#[test]
fn nothing_is_reachable_by_default() {
    let g = OutboundGrants::default();
    assert!(g.is_empty());
    assert_eq!(g.check("https", "example.com"), Err(Denial::NotGranted));
}

#[test]
fn hosts_ports_and_schemes_must_all_match() {
    let g = grants(&["https://api.example.com", "http://127.0.0.1:8080"]);
    assert!(allowed(&g, "https", "api.example.com"));
    assert!(allowed(&g, "https", "api.example.com:443"));
    assert!(allowed(&g, "HTTPS", "API.Example.COM."));
    assert!(!allowed(&g, "http", "api.example.com"), "by scheme");
    assert!(!allowed(&g, "https", "api.example.com:8443"), "by port");
    assert!(!allowed(&g, "https", "example.com"), "by host");
    assert!(!allowed(&g, "https", "api.example.com.evil.test"));
    assert!(allowed(&g, "http", "127.0.0.1:8080"));
    assert!(!allowed(&g, "http", "127.0.0.1"), "port 80 is not 8080");
    assert!(!allowed(&g, "http", "127.0.0.2:8080"));
}

#[test]
fn a_wildcard_covers_subdomains_and_never_the_apex() {
    let g = grants(&["https://*.example.com"]);
    assert!(allowed(&g, "https", "a.example.com"));
    assert!(allowed(&g, "https", "a.b.example.com"));
    assert!(!allowed(&g, "https", "example.com"));
    assert!(!allowed(&g, "https", "badexample.com"));
    assert!(!allowed(&g, "https", ".example.com"));
    let any = grants(&["*://*.example.com:*"]);
    assert!(allowed(&any, "http", "a.example.com:1234"));
    assert!(allowed(&any, "https", "a.example.com"));
}

#[test]
fn userinfo_and_numeric_tricks_are_denied_as_malformed() {
    let g = grants(&["http://127.0.0.1:8080", "https://api.example.com"]);
    for authority in [
        "api.example.com@evil.test",
        "evil.test@api.example.com",
        "user:pass@127.0.0.1:8080",
        "2130706433:8080",
        "0x7f.0.0.1:8080",
        "0x7f000001:8080",
        "127.1:8080",
        "0177.0.0.1:8080",
        "127.0.0.1.:8080",
        "[::ffff:127.0.0.1]:8080",
        "127.0.0.1:+8080",
        "127.0.0.1:08080",
        "127.0.0.1:",
        "",
        "a b.example.com",
    ] {
        let verdict = g.check("http", authority);
        assert!(verdict.is_err(), "{authority:?} must be denied");
    }
    assert!(matches!(
        g.check("http", "2130706433:8080"),
        Err(Denial::Malformed(_))
    ));
    assert!(matches!(
        g.check("ftp", "api.example.com"),
        Err(Denial::Malformed(_))
    ));
}

#[test]
fn limits_are_checked_naming_their_field() {
    let mut g = grants(&["https://example.com"]);
    g.max_requests = 0;
    assert!(
        g.validate()
            .unwrap_err()
            .to_string()
            .contains("outbound.max_requests")
    );
    let json = r#"{"allow": ["https://example.com"], "max_request": 3}"#;
    let e = serde_json::from_str::<OutboundGrants>(json)
        .unwrap_err()
        .to_string();
    assert!(e.contains("max_request"), "{e}");
}

fn label() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,6}"
}

proptest! {
    /// A subdomain rule admits exactly the names that end in `.suffix`
    /// with at least one label before it.
    #[test]
    fn a_wildcard_admits_exactly_longer_names(
        suffix in prop::collection::vec(label(), 2..4),
        name in prop::collection::vec(label(), 1..5),
    ) {
        let suffix = suffix.join(".");
        let g = grants(&[&format!("https://*.{suffix}")]);
        let host = name.join(".");
        let want = host.ends_with(&format!(".{suffix}"));
        prop_assert_eq!(allowed(&g, "https", &host), want);
        let longer = format!("{host}.{suffix}");
        prop_assert!(allowed(&g, "https", &longer));
        prop_assert!(!allowed(&g, "https", &suffix));
    }

    /// Whatever the authority, a name rule is met only by that name at
    /// that port, and nothing with `@` in it is admitted.
    #[test]
    fn no_authority_sneaks_past_an_exact_rule(authority in "[a-z0-9.:@\\[\\]-]{0,30}") {
        let g = grants(&["https://api.example.com"]);
        if allowed(&g, "https", &authority) {
            let a = authority.trim_end_matches(":443");
            prop_assert!(a == "api.example.com" || a == "api.example.com.", "{}", authority);
        }
        prop_assert!(!(authority.contains('@') && allowed(&g, "https", &authority)));
    }
}
