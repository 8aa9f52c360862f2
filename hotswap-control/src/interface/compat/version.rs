//! Package versions: two versions are compatible when they fall in one
//! caret range (`^1.2` covers 1.x; in 0.x the minor counts as major).

use semver::{Version, VersionReq};

use super::Break;
use super::surface::Surface;

pub(crate) fn check(old: &Surface, new: &Surface) -> Vec<Break> {
    let (Some(a), Some(b)) = (&old.version, &new.version) else {
        return Vec::new();
    };
    if same_caret_range(a, b) {
        return Vec::new();
    }
    vec![Break::changed(
        "package_version",
        &old.package,
        a.to_string(),
        b.to_string(),
    )]
}

/// Whether the lower of `a` and `b` has a caret range holding the higher
/// (symmetric, so backward and forward agree).
pub(crate) fn same_caret_range(a: &Version, b: &Version) -> bool {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    let base = Version::new(low.major, low.minor, low.patch);
    VersionReq::parse(&format!("^{base}"))
        .is_ok_and(|req| req.matches(&Version::new(high.major, high.minor, high.patch)))
}
