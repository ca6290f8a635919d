//! The account e-mails a request triggers: queued on the app's mailer and never awaited, so a
//! slow or absent mail server never slows a sign-up. A message that cannot be queued is logged.

use reparse_mail::{EmailKind, EmailVars, password_reset_link, verify_email_link};

use crate::context::Ctx;

/// Queues the e-mail verification message for a user.
pub fn send_verification(ctx: &Ctx<'_>, email: &str, username: &str, token: &str) {
    send(ctx, EmailKind::Verification, email, username, token);
}

/// Queues the password reset message for a user.
pub fn send_password_reset(ctx: &Ctx<'_>, email: &str, username: &str, token: &str) {
    send(ctx, EmailKind::PasswordReset, email, username, token);
}

fn send(ctx: &Ctx<'_>, kind: EmailKind, email: &str, username: &str, token: &str) {
    let config = &ctx.app.config;
    let Some(mailer) = &ctx.app.mailer else {
        tracing::warn!(app = %config.app_id, ?kind, "an account e-mail is due but no emailAdapter is set");
        return;
    };
    let link = match kind {
        EmailKind::Verification => verify_email_link(&config.public_server_url, &config.app_id, token),
        EmailKind::PasswordReset => password_reset_link(&config.public_server_url, &config.app_id, token),
    };
    let vars = EmailVars { link, email: email.to_string(), username: username.to_string() };
    if let Err(error) = mailer.send(kind, email, &vars) {
        tracing::error!(app = %config.app_id, ?kind, %error, "account e-mail not queued");
    }
}
