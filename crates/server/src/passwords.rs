//! Password hashing and the password policy.
//!
//! bcrypt, as parse-server (bcryptjs) uses, so hashes move both ways: users migrated from
//! parse-server log in, and a database Reparse wrote can go back. Hashing costs tens of
//! milliseconds of CPU, so it runs on the blocking pool, never on a runtime thread.

use reparse_core::{ErrorCode, ParseError, ParseResult};

use crate::account_options::PasswordPolicy;

/// bcryptjs's default in parse-server.
pub const BCRYPT_COST: u32 = 10;

pub async fn hash_password(password: String) -> ParseResult<String> {
    tokio::task::spawn_blocking(move || bcrypt::hash(password, BCRYPT_COST))
        .await
        .map_err(|error| ParseError::internal(format!("password hashing stopped: {error}")))?
        .map_err(|error| ParseError::internal(format!("password hashing failed: {error}")))
}

/// Whether `password` matches a `$2a$`/`$2b$`/`$2y$` hash. A malformed hash matches nothing.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
        .await
        .unwrap_or(false)
}

/// Whether `password` matches any of `hashes` (the password history), checked off the runtime.
pub async fn matches_any(password: &str, hashes: Vec<String>) -> bool {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        hashes.iter().any(|hash| bcrypt::verify(&password, hash).unwrap_or(false))
    })
    .await
    .unwrap_or(false)
}

/// The policy's checks that need no history: pattern and username (parse-server's order and
/// messages, code 142).
pub fn check_password_policy(
    policy: &PasswordPolicy,
    password: &str,
    username: Option<&str>,
) -> ParseResult<()> {
    let default_message = "Password does not meet the Password Policy requirements.";
    // A pattern that gives up (catastrophic backtracking) rejects rather than lets through.
    if let Some(pattern) = &policy.validator_pattern
        && !pattern.is_match(password).unwrap_or(false)
    {
        let message = policy.validation_error.as_deref().unwrap_or(default_message);
        return Err(ParseError::new(ErrorCode::ValidationError, message));
    }
    if policy.do_not_allow_username
        && let Some(username) = username.filter(|name| !name.is_empty())
        && password.contains(username)
    {
        return Err(ParseError::new(ErrorCode::ValidationError, "Password cannot contain your username."));
    }
    Ok(())
}

/// A new password may not be the current one or one of the last `max_password_history`.
pub async fn check_password_history(
    policy: &PasswordPolicy,
    password: &str,
    current_hash: Option<&str>,
    history: &[String],
) -> ParseResult<()> {
    if policy.max_password_history == 0 {
        return Ok(());
    }
    let keep = policy.max_password_history.saturating_sub(1);
    let mut recent: Vec<String> = history.iter().rev().take(keep).cloned().collect();
    recent.extend(current_hash.map(str::to_string));
    if matches_any(password, recent).await {
        let message =
            format!("New password should not be the same as last {} passwords.", policy.max_password_history);
        return Err(ParseError::new(ErrorCode::ValidationError, message));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by bcryptjs 3.0.3 (parse-server 9's hasher) and bcryptjs 2.4.3 (older
    /// parse-servers, which wrote `$2a$`), both with cost 10.
    const BCRYPTJS_3: &str = "$2b$10$e0A6NT8re3CUKWh07oZ8Tu8y2FYOcdnWyIsx8GDEbou0ObGRNikdm";
    const BCRYPTJS_2: &str = "$2a$10$B6Ycf5gpQlomjhbTnJ9dD.AwOhMZ61DWrD1oDhVWUt0d6il23GNwS";

    #[tokio::test]
    async fn verifies_parse_server_hashes() {
        assert!(verify_password("migrated-password".into(), BCRYPTJS_3.into()).await);
        assert!(!verify_password("migrated-Password".into(), BCRYPTJS_3.into()).await);
        assert!(verify_password("legacy-password".into(), BCRYPTJS_2.into()).await);
        let php = BCRYPTJS_2.replacen("$2a$", "$2y$", 1);
        assert!(verify_password("legacy-password".into(), php).await);
        assert!(!verify_password("password".into(), "not a hash".into()).await);
    }

    #[tokio::test]
    async fn hashes_with_cost_10_and_verifies_its_own() {
        let hash = hash_password("password".into()).await.unwrap();
        assert!(hash.starts_with("$2b$10$"), "{hash}");
        assert!(verify_password("password".into(), hash.clone()).await);
        assert!(!verify_password("Password".into(), hash).await);
    }

    #[test]
    fn policy_checks_pattern_then_username() {
        let policy = PasswordPolicy {
            validator_pattern: Some(fancy_regex::Regex::new("^.{6,}$").unwrap()),
            do_not_allow_username: true,
            ..PasswordPolicy::default()
        };
        assert_eq!(check_password_policy(&policy, "abc", None).unwrap_err().code, ErrorCode::ValidationError);
        let error = check_password_policy(&policy, "xxalicexx", Some("alice")).unwrap_err();
        assert_eq!(error.message, "Password cannot contain your username.");
        assert!(check_password_policy(&policy, "secret!", Some("alice")).is_ok());
    }
}
