//! `hotswap token`: mint a token with the configured secret or key.

use std::time::Duration;

use hotswap_http::auth::Role;

use crate::AppResult;
use crate::assemble;
use crate::cli::TokenArgs;

pub(crate) fn run(a: TokenArgs) -> AppResult<()> {
    let roles = a
        .role
        .iter()
        .map(|r| r.parse::<Role>())
        .collect::<Result<Vec<_>, _>>()?;
    let secret = assemble::secret(&a.auth, None)?;
    let signer = assemble::signer(&a.auth, secret.as_deref())?
        .ok_or("give --jwt-secret, --jwt-secret-file or --jwt-signing-key")?;
    println!(
        "{}",
        signer.issue(&a.subject, &roles, Duration::from_secs(a.ttl_secs))?
    );
    Ok(())
}
