//! An app's account settings: parse-server's session, sign-up, email and password-policy
//! options, read and checked once when the app is configured.

use std::time::Duration;

use fancy_regex::Regex;
use serde_json::{Map, Value};

/// parse-server's defaults, so an app configured with nothing behaves like parse-server.
const DEFAULT_SESSION_LENGTH: Duration = Duration::from_secs(31_536_000);

#[derive(Debug, Clone)]
pub struct AccountOptions {
    /// `sessionLength`: how long a session lasts (default one year).
    pub session_length: Duration,
    /// `expireInactiveSessions`: when false, sessions get no `expiresAt` and never expire.
    pub expire_inactive_sessions: bool,
    /// `revokeSessionOnPasswordReset`: a password change ends the user's other sessions.
    pub revoke_session_on_password_reset: bool,
    /// `enableAnonymousUsers`.
    pub enable_anonymous_users: bool,
    /// `enforcePrivateUsers`: new users get no public read access.
    pub enforce_private_users: bool,
    /// `auth`: third-party providers, in parse-server's shape (checked by the auth crate).
    pub auth: Option<Value>,
    /// `verifyUserEmails`.
    pub verify_user_emails: bool,
    /// `emailVerifyTokenValidityDuration`.
    pub email_verify_token_validity: Option<Duration>,
    /// `emailVerifyTokenReuseIfValid`.
    pub email_verify_token_reuse_if_valid: bool,
    /// `preventLoginWithUnverifiedEmail`.
    pub prevent_login_with_unverified_email: bool,
    pub password_policy: PasswordPolicy,
    pub account_lockout: Option<AccountLockout>,
    /// `emailAdapter`, in parse-server's `{module, options}` shape (read by the mail crate).
    pub email_adapter: Option<Value>,
    /// `customPages`: URLs that replace the built-in account pages.
    pub custom_pages: CustomPages,
}

impl Default for AccountOptions {
    fn default() -> AccountOptions {
        AccountOptions {
            session_length: DEFAULT_SESSION_LENGTH,
            expire_inactive_sessions: true,
            revoke_session_on_password_reset: true,
            enable_anonymous_users: true,
            enforce_private_users: true,
            auth: None,
            verify_user_emails: false,
            email_verify_token_validity: None,
            email_verify_token_reuse_if_valid: false,
            prevent_login_with_unverified_email: false,
            password_policy: PasswordPolicy::default(),
            account_lockout: None,
            email_adapter: None,
            custom_pages: CustomPages::default(),
        }
    }
}

/// parse-server's `passwordPolicy`.
#[derive(Debug, Clone, Default)]
pub struct PasswordPolicy {
    /// `validatorPattern`: a new password must match it. JavaScript patterns use look-ahead
    /// (`^(?=.*[0-9]).{8,}$`), hence fancy-regex rather than regex.
    pub validator_pattern: Option<Regex>,
    /// `validationError`: the message when it does not.
    pub validation_error: Option<String>,
    /// `doNotAllowUsername`: a password may not contain the username.
    pub do_not_allow_username: bool,
    /// `maxPasswordAge`, in days: older passwords must be reset before logging in.
    pub max_password_age: Option<Duration>,
    /// `maxPasswordHistory`: a new password may not repeat the last N (0–20).
    pub max_password_history: usize,
    /// `resetTokenValidityDuration`, in seconds.
    pub reset_token_validity: Option<Duration>,
    /// `resetTokenReuseIfValid`: asking again sends the same, still valid, link.
    pub reset_token_reuse_if_valid: bool,
}

/// parse-server's `accountLockout`.
#[derive(Debug, Clone)]
pub struct AccountLockout {
    /// `threshold`: failed logins before the account locks (1–999).
    pub threshold: u32,
    /// `duration`, given in minutes (0 < duration ≤ 99999).
    pub duration: Duration,
    /// The same as configured, for parse-server's message ("… after 5 minute(s)").
    pub duration_minutes: f64,
    /// `unlockOnPasswordReset`.
    pub unlock_on_password_reset: bool,
}

/// parse-server's `customPages`: each, when set, is where the built-in page redirects to.
#[derive(Debug, Clone, Default)]
pub struct CustomPages {
    pub invalid_link: Option<String>,
    pub invalid_verification_link: Option<String>,
    pub link_send_success: Option<String>,
    pub link_send_fail: Option<String>,
    pub choose_password: Option<String>,
    pub verify_email_success: Option<String>,
    pub password_reset_success: Option<String>,
}

impl AccountOptions {
    /// Reads the account options from parse-server's options; errors name the bad option.
    pub fn from_options(options: &Map<String, Value>) -> Result<AccountOptions, String> {
        let mut account = AccountOptions::default();
        if let Some(seconds) = number(options, "sessionLength")? {
            if seconds <= 0.0 {
                return Err("sessionLength must be a value greater than 0.".into());
            }
            account.session_length = Duration::from_secs_f64(seconds);
        }
        set_flag(options, "expireInactiveSessions", &mut account.expire_inactive_sessions)?;
        set_flag(options, "revokeSessionOnPasswordReset", &mut account.revoke_session_on_password_reset)?;
        set_flag(options, "enableAnonymousUsers", &mut account.enable_anonymous_users)?;
        set_flag(options, "enforcePrivateUsers", &mut account.enforce_private_users)?;
        set_flag(options, "verifyUserEmails", &mut account.verify_user_emails)?;
        set_flag(options, "emailVerifyTokenReuseIfValid", &mut account.email_verify_token_reuse_if_valid)?;
        set_flag(
            options,
            "preventLoginWithUnverifiedEmail",
            &mut account.prevent_login_with_unverified_email,
        )?;
        if let Some(seconds) = number(options, "emailVerifyTokenValidityDuration")? {
            if seconds <= 0.0 {
                return Err("Email verify token validity duration must be a value greater than 0.".into());
            }
            account.email_verify_token_validity = Some(Duration::from_secs_f64(seconds));
        }
        if account.email_verify_token_reuse_if_valid && account.email_verify_token_validity.is_none() {
            return Err(
                "You cannot use emailVerifyTokenReuseIfValid without emailVerifyTokenValidityDuration".into(),
            );
        }
        account.auth = object(options, "auth")?.map(|auth| Value::Object(auth.clone()));
        account.email_adapter = match options.get("emailAdapter") {
            None | Some(Value::Null) => None,
            Some(adapter @ Value::Object(_)) => Some(adapter.clone()),
            Some(_) => return Err("emailAdapter must be an object {module, options}".into()),
        };
        if let Some(policy) = object(options, "passwordPolicy")? {
            account.password_policy = PasswordPolicy::from_option(policy)?;
        }
        if let Some(lockout) = object(options, "accountLockout")? {
            account.account_lockout = AccountLockout::from_option(lockout)?;
        }
        if let Some(pages) = object(options, "customPages")? {
            account.custom_pages = CustomPages::from_option(pages)?;
        }
        Ok(account)
    }

    /// When a session created at `now` expires (`None` when sessions never expire).
    pub fn session_expiry(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        self.expire_inactive_sessions.then(|| now + self.session_length)
    }
}

impl PasswordPolicy {
    fn from_option(policy: &Map<String, Value>) -> Result<PasswordPolicy, String> {
        let mut parsed = PasswordPolicy::default();
        for key in policy.keys() {
            let known = [
                "validatorPattern",
                "validationError",
                "doNotAllowUsername",
                "maxPasswordAge",
                "maxPasswordHistory",
                "resetTokenValidityDuration",
                "resetTokenReuseIfValid",
                "resetPasswordSuccessOnInvalidEmail",
            ];
            if key == "validatorCallback" {
                return Err(
                    "passwordPolicy.validatorCallback is a JavaScript function; use validatorPattern".into(),
                );
            }
            if !known.contains(&key.as_str()) {
                return Err(format!("passwordPolicy: unknown key {key:?}"));
            }
        }
        if let Some(pattern) = text(policy, "passwordPolicy.validatorPattern", "validatorPattern")? {
            // A JavaScript regex literal (`/^(?=.*\d).{8,}$/`) is accepted as written in JSON.
            let pattern = pattern.strip_prefix('/').and_then(|p| p.strip_suffix('/')).unwrap_or(&pattern);
            parsed.validator_pattern = Some(
                Regex::new(pattern).map_err(|error| format!("passwordPolicy.validatorPattern: {error}"))?,
            );
        }
        parsed.validation_error = text(policy, "passwordPolicy.validationError", "validationError")?;
        set_flag(policy, "doNotAllowUsername", &mut parsed.do_not_allow_username)
            .map_err(|error| format!("passwordPolicy.{error}"))?;
        set_flag(policy, "resetTokenReuseIfValid", &mut parsed.reset_token_reuse_if_valid)
            .map_err(|error| format!("passwordPolicy.{error}"))?;
        if let Some(days) =
            number(policy, "maxPasswordAge").map_err(|error| format!("passwordPolicy.{error}"))?
        {
            if days < 0.0 {
                return Err("passwordPolicy.maxPasswordAge must be a positive number".into());
            }
            parsed.max_password_age = (days > 0.0).then(|| Duration::from_secs_f64(days * 86_400.0));
        }
        if let Some(history) =
            number(policy, "maxPasswordHistory").map_err(|error| format!("passwordPolicy.{error}"))?
        {
            if !(0.0..=20.0).contains(&history) || history.fract() != 0.0 {
                return Err("passwordPolicy.maxPasswordHistory must be an integer ranging 0 - 20".into());
            }
            parsed.max_password_history = history as usize;
        }
        if let Some(seconds) =
            number(policy, "resetTokenValidityDuration").map_err(|error| format!("passwordPolicy.{error}"))?
        {
            if seconds <= 0.0 {
                return Err("passwordPolicy.resetTokenValidityDuration must be a positive number".into());
            }
            parsed.reset_token_validity = Some(Duration::from_secs_f64(seconds));
        }
        if parsed.reset_token_reuse_if_valid && parsed.reset_token_validity.is_none() {
            return Err("resetTokenValidityDuration must be set when resetTokenReuseIfValid is set".into());
        }
        Ok(parsed)
    }
}

impl AccountLockout {
    fn from_option(lockout: &Map<String, Value>) -> Result<Option<AccountLockout>, String> {
        let duration = number(lockout, "duration").map_err(|error| format!("accountLockout.{error}"))?;
        let threshold = number(lockout, "threshold").map_err(|error| format!("accountLockout.{error}"))?;
        let (Some(duration), Some(threshold)) = (duration, threshold) else {
            return Err("accountLockout needs both duration (minutes) and threshold".into());
        };
        if duration <= 0.0 || duration > 99_999.0 {
            return Err("Account lockout duration should be greater than 0 and less than 100000".into());
        }
        if threshold.fract() != 0.0 || !(1.0..=999.0).contains(&threshold) {
            return Err(
                "Account lockout threshold should be an integer greater than 0 and less than 1000".into()
            );
        }
        let mut unlock_on_password_reset = false;
        set_flag(lockout, "unlockOnPasswordReset", &mut unlock_on_password_reset)
            .map_err(|error| format!("accountLockout.{error}"))?;
        Ok(Some(AccountLockout {
            threshold: threshold as u32,
            duration: Duration::from_secs_f64(duration * 60.0),
            duration_minutes: duration,
            unlock_on_password_reset,
        }))
    }
}

impl CustomPages {
    fn from_option(pages: &Map<String, Value>) -> Result<CustomPages, String> {
        let page = |key: &str| text(pages, &format!("customPages.{key}"), key);
        Ok(CustomPages {
            invalid_link: page("invalidLink")?,
            invalid_verification_link: page("invalidVerificationLink")?,
            link_send_success: page("linkSendSuccess")?,
            link_send_fail: page("linkSendFail")?,
            choose_password: page("choosePassword")?,
            verify_email_success: page("verifyEmailSuccess")?,
            password_reset_success: page("passwordResetSuccess")?,
        })
    }
}

fn set_flag(options: &Map<String, Value>, key: &str, target: &mut bool) -> Result<(), String> {
    match options.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Bool(flag)) => {
            *target = *flag;
            Ok(())
        }
        Some(other) => Err(format!("{key} must be a boolean, not {other}")),
    }
}

fn number(options: &Map<String, Value>, key: &str) -> Result<Option<f64>, String> {
    match options.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => Ok(number.as_f64()),
        Some(Value::String(text)) => {
            text.trim().parse().map(Some).map_err(|_| format!("{key} must be a number, not {text:?}"))
        }
        Some(other) => Err(format!("{key} must be a number, not {other}")),
    }
}

fn text(options: &Map<String, Value>, name: &str, key: &str) -> Result<Option<String>, String> {
    match options.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(format!("{name} must be a string, not {other}")),
    }
}

fn object<'a>(options: &'a Map<String, Value>, key: &str) -> Result<Option<&'a Map<String, Value>>, String> {
    match options.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(other) => Err(format!("{key} must be an object, not {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(options: Value) -> Result<AccountOptions, String> {
        AccountOptions::from_options(options.as_object().unwrap())
    }

    #[test]
    fn defaults_are_parse_servers() {
        let options = read(json!({})).unwrap();
        assert_eq!(options.session_length, Duration::from_secs(31_536_000));
        assert!(options.expire_inactive_sessions && options.revoke_session_on_password_reset);
        assert!(options.enable_anonymous_users && options.enforce_private_users);
        assert!(!options.verify_user_emails && options.account_lockout.is_none());
    }

    #[test]
    fn reads_policies_and_lockout() {
        let options = read(json!({
            "sessionLength": 60,
            "passwordPolicy": {"validatorPattern": "/^(?=.*[0-9]).{8,}$/", "doNotAllowUsername": true,
                               "maxPasswordHistory": 3, "maxPasswordAge": 1, "resetTokenValidityDuration": 600},
            "accountLockout": {"duration": 5, "threshold": 3, "unlockOnPasswordReset": true},
        }))
        .unwrap();
        assert_eq!(options.session_length, Duration::from_secs(60));
        let policy = &options.password_policy;
        let pattern = policy.validator_pattern.as_ref().unwrap();
        assert!(pattern.is_match("abcdefg1").unwrap());
        assert!(!pattern.is_match("abcdefgh").unwrap());
        assert_eq!(policy.max_password_history, 3);
        assert_eq!(policy.max_password_age, Some(Duration::from_secs(86_400)));
        let lockout = options.account_lockout.unwrap();
        assert_eq!((lockout.threshold, lockout.duration), (3, Duration::from_secs(300)));
    }

    #[test]
    fn refuses_bad_values_by_name() {
        for (options, expected) in [
            (json!({"sessionLength": 0}), "sessionLength"),
            (json!({"passwordPolicy": {"maxPasswordHistory": 21}}), "maxPasswordHistory"),
            (json!({"passwordPolicy": {"validatorPattern": "("}}), "validatorPattern"),
            (json!({"passwordPolicy": {"validatorCallback": "x"}}), "validatorCallback"),
            (json!({"accountLockout": {"duration": 0, "threshold": 3}}), "duration"),
            (json!({"accountLockout": {"duration": 1, "threshold": 1000}}), "threshold"),
            (json!({"verifyUserEmails": "yes"}), "verifyUserEmails"),
            (json!({"emailVerifyTokenReuseIfValid": true}), "emailVerifyTokenValidityDuration"),
        ] {
            let error = read(options.clone()).unwrap_err();
            assert!(error.contains(expected), "{options}: {error}");
        }
    }
}
