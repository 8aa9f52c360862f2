//! The environment of a WASI command: its version's configuration, then
//! the caller's variables the node allows, never one that would shadow a
//! configuration key.

use crate::domain::ConfigValues;

/// The variables a command runs with, in order.
pub fn command_env<'a>(
    config: &'a ConfigValues,
    env: &'a [(String, String)],
    allowed: &'a [String],
) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    let from_caller = env
        .iter()
        .filter(|(k, _)| allowed.iter().any(|a| a == k) && config.get(k).is_none())
        .map(|(k, v)| (k.as_str(), v.as_str()));
    config.iter().chain(from_caller)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::domain::{ConfigKey, SecretValue};

    #[test]
    fn configuration_comes_first_and_cannot_be_shadowed() {
        let config = ConfigValues::new(
            1,
            [(
                ConfigKey::new("A").unwrap(),
                SecretValue::new("from config"),
            )]
            .into(),
        );
        let env = vec![
            ("A".to_owned(), "caller".to_owned()),
            ("B".to_owned(), "allowed".to_owned()),
            ("C".to_owned(), "not allowed".to_owned()),
        ];
        let allowed = vec!["A".to_owned(), "B".to_owned()];
        let got: Vec<_> = command_env(&config, &env, &allowed).collect();
        assert_eq!(got, [("A", "from config"), ("B", "allowed")]);
    }
}
