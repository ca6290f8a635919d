//! The account e-mails a request triggers: queued on the app's mailer and never awaited, so a
//! slow or absent mail server never slows a sign-up. A message that cannot be queued is logged.

use reparse_mail::{EmailVars, password_reset_link, verify_email_link};

use crate::context::Ctx;

/// Queues the e-mail verification message for a user.
pub fn send_verification(ctx: &Ctx<'_>, email: &str, username: &str, token: &str) {
    let Some(mailer) = &ctx.app.mailer else {
        tracing::warn!(app = %ctx.app.config.app_id, "e-mail verification is on but no emailAdapter is set");
        return;
    };
    let link = verify_email_link(&ctx.app.config.public_server_url, &ctx.app.config.app_id, token);
    let vars = EmailVars { link, email: email.to_string(), username: username.to_string() };
    if let Err(error) = mailer.send_verification(email, &vars) {
        tracing::error!(app = %ctx.app.config.app_id, %error, "verification e-mail not queued");
    }
}

/// Queues the password reset message for a user.
pub fn send_password_reset(ctx: &Ctx<'_>, email: &str, username: &str, token: &str) {
    let Some(mailer) = &ctx.app.mailer else {
        tracing::warn!(app = %ctx.app.config.app_id, "password reset asked but no emailAdapter is set");
        return;
    };
    let link = password_reset_link(&ctx.app.config.public_server_url, &ctx.app.config.app_id, token);
    let vars = EmailVars { link, email: email.to_string(), username: username.to_string() };
    if let Err(error) = mailer.send_password_reset(email, &vars) {
        tracing::error!(app = %ctx.app.config.app_id, %error, "password reset e-mail not queued");
    }
}
