//! The account pages e-mailed links open, under `<mount>/apps/` as parse-server serves them:
//!
//! - `GET apps/:appId/verify_email?token=…` verifies the address, then redirects to
//!   `verify_email_success.html` (or `invalid_verification_link.html`, which offers a new link);
//! - `POST apps/:appId/resend_verification_email` (form: `username`) sends a new link;
//! - `GET apps/:appId/request_password_reset?token=…` checks the token and redirects to the
//!   `choose_password` form; `POST` (form: `token`, `new_password`) sets the password, then
//!   redirects to `password_reset_success.html` (or back to the form with `error=`), or answers
//!   JSON when asked by `XMLHttpRequest`;
//! - `GET apps/choose_password` and `apps/*.html`: the pages themselves.
//!
//! Every redirect target can be replaced by the app's `customPages` URLs. Values from the query
//! are HTML-escaped wherever they are shown.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use reparse_core::ErrorCode;
use serde_json::json;

use crate::app::{App, AppDirectory};
use crate::context::{Ctx, MASTER};
use crate::controllers::user_writes::find_users;
use crate::controllers::users::{self, LinkError};
use crate::error::{ApiError, ApiResult};
use crate::sessions::equals;

/// A page route, from the path after `apps/`.
enum Page<'a> {
    VerifyEmail { app_id: &'a str },
    ResendVerification { app_id: &'a str },
    RequestPasswordReset { app_id: &'a str },
    ChoosePassword,
    Static(&'static StaticPage),
}

struct StaticPage {
    file: &'static str,
    title: &'static str,
    /// The message; `{username}` is replaced by the escaped `username` parameter.
    message: &'static str,
}

const STATIC_PAGES: [StaticPage; 6] = [
    StaticPage {
        file: "verify_email_success.html",
        title: "Email verified",
        message: "Your email address has been verified{ for username}.",
    },
    StaticPage {
        file: "password_reset_success.html",
        title: "Password changed",
        message: "Your password has been changed{ for username}.",
    },
    StaticPage {
        file: "invalid_link.html",
        title: "Invalid link",
        message: "This link is invalid or has expired.",
    },
    StaticPage {
        file: "invalid_verification_link.html",
        title: "Invalid verification link",
        message: "This verification link is invalid or has expired.",
    },
    StaticPage {
        file: "link_send_success.html",
        title: "Link sent",
        message: "A new verification link has been sent. Check your email.",
    },
    StaticPage {
        file: "link_send_fail.html",
        title: "Link not sent",
        message: "No new verification link could be sent. The address may be verified already.",
    },
];

impl<'a> Page<'a> {
    fn parse(rest: &'a str) -> Option<Page<'a>> {
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        Some(match segments.as_slice() {
            ["choose_password"] => Page::ChoosePassword,
            [file] => Page::Static(STATIC_PAGES.iter().find(|page| page.file == *file)?),
            [app_id, "verify_email"] => Page::VerifyEmail { app_id },
            [app_id, "resend_verification_email"] => Page::ResendVerification { app_id },
            [app_id, "request_password_reset"] => Page::RequestPasswordReset { app_id },
            _ => return None,
        })
    }
}

/// Handles `apps/…` (the part of the path after the mount path).
pub async fn handle(
    directory: &dyn AppDirectory,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Response> {
    let rest = path.strip_prefix("apps/").unwrap_or_default();
    let page = Page::parse(rest).ok_or_else(|| ApiError::NotFound(format!("/{path}")))?;
    let query = Form::parse(query.as_bytes());
    let form = Form::parse(body);
    match (page, method.as_str()) {
        (Page::Static(page), "GET") => Ok(static_page(page, &query)),
        (Page::ChoosePassword, "GET") => {
            let app_id = query.get("id").unwrap_or_default();
            let app = directory.app(app_id).await.ok_or(ApiError::Unauthorized("unauthorized"))?;
            Ok(choose_password_page(&app, &query))
        }
        (Page::VerifyEmail { app_id }, "GET") => {
            let app = directory.app(app_id).await.ok_or(ApiError::Unauthorized("unauthorized"))?;
            verify_email(&app, &query).await
        }
        (Page::ResendVerification { app_id }, "POST") => {
            let app = directory.app(app_id).await.ok_or(ApiError::Unauthorized("unauthorized"))?;
            resend_verification(&app, &form).await
        }
        (Page::RequestPasswordReset { app_id }, "GET") => {
            let app = directory.app(app_id).await.ok_or(ApiError::Unauthorized("unauthorized"))?;
            check_reset_link(&app, &query).await
        }
        (Page::RequestPasswordReset { app_id }, "POST") => {
            let app = directory.app(app_id).await.ok_or(ApiError::Unauthorized("unauthorized"))?;
            let xhr = headers.get("x-requested-with").is_some_and(|v| v.as_bytes() == b"XMLHttpRequest");
            reset_password(&app, &form, xhr).await
        }
        _ => Err(ApiError::NotFound(format!("{method} /{path}"))),
    }
}

fn master_ctx(app: &App) -> Ctx<'_> {
    Ctx::new(app, &MASTER, "")
}

/// Where a page lives: the app's `customPages` URL, else the built-in one.
fn page_url(app: &App, custom: &Option<String>, file: &str) -> String {
    custom.clone().unwrap_or_else(|| format!("{}/apps/{file}", app.config.public_server_url))
}

fn redirect(location: String) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn with_query(url: String, params: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in params {
        query.append_pair(key, value);
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{}", query.finish())
}

async fn verify_email(app: &App, query: &Form) -> ApiResult<Response> {
    let pages = &app.config.accounts.custom_pages;
    let token = query.get("token").unwrap_or_default();
    let ctx = master_ctx(app);
    match users::verify_email_token(&ctx, token).await? {
        Ok(username) => {
            let url = page_url(app, &pages.verify_email_success, "verify_email_success.html");
            Ok(redirect(with_query(url, &[("username", &username)])))
        }
        Err(LinkError::Expired { username }) => {
            // The user can ask for a new link from that page.
            let url = page_url(app, &pages.invalid_verification_link, "invalid_verification_link.html");
            Ok(redirect(with_query(url, &[("username", &username), ("appId", &app.config.app_id)])))
        }
        Err(LinkError::Invalid) => Ok(redirect(page_url(app, &pages.invalid_link, "invalid_link.html"))),
    }
}

async fn resend_verification(app: &App, form: &Form) -> ApiResult<Response> {
    let pages = &app.config.accounts.custom_pages;
    let success = page_url(app, &pages.link_send_success, "link_send_success.html");
    let failure = page_url(app, &pages.link_send_fail, "link_send_fail.html");
    let Some(username) = form.get("username").filter(|name| !name.is_empty()) else {
        return Ok(redirect(page_url(app, &pages.invalid_link, "invalid_link.html")));
    };
    let ctx = master_ctx(app);
    let Some(user) = find_users(&ctx, equals("username", username)).await?.pop() else {
        return Ok(redirect(failure));
    };
    let email = user.get("email").and_then(|e| e.as_str()).unwrap_or_default().to_string();
    let mut params = serde_json::Map::new();
    params.insert("email".into(), json!(email));
    match users::request_verification_email(&ctx, params).await {
        Ok(_) => Ok(redirect(success)),
        Err(_) => Ok(redirect(failure)),
    }
}

async fn check_reset_link(app: &App, query: &Form) -> ApiResult<Response> {
    let pages = &app.config.accounts.custom_pages;
    let token = query.get("token").unwrap_or_default();
    match users::user_for_reset_token(&master_ctx(app), token).await? {
        Ok(user) => {
            let username = user.get("username").and_then(|u| u.as_str()).unwrap_or_default().to_string();
            let url = page_url(app, &pages.choose_password, "choose_password");
            let params = [
                ("token", token),
                ("id", &app.config.app_id),
                ("username", &username),
                ("app", &app.config.name),
            ];
            Ok(redirect(with_query(url, &params)))
        }
        Err(_) => Ok(redirect(page_url(app, &pages.invalid_link, "invalid_link.html"))),
    }
}

async fn reset_password(app: &App, form: &Form, xhr: bool) -> ApiResult<Response> {
    let pages = &app.config.accounts.custom_pages;
    let token = form.get("token").unwrap_or_default();
    let new_password = form.get("new_password").unwrap_or_default();
    let username = form.get("username").unwrap_or_default();
    if !xhr && (token.is_empty() || new_password.is_empty()) {
        return Ok(redirect(page_url(app, &pages.invalid_link, "invalid_link.html")));
    }
    if token.is_empty() {
        return Err(reparse_core::ParseError::new(ErrorCode::OtherCause, "Missing token").into());
    }
    if new_password.is_empty() {
        return Err(reparse_core::ParseError::new(ErrorCode::PasswordMissing, "Missing password").into());
    }
    let outcome = match users::reset_password(&master_ctx(app), token, new_password).await {
        Ok(Ok(username)) => Ok(username),
        Ok(Err(_)) => Err("Failed to reset password: the link is invalid or has expired".to_string()),
        Err(error) => Err(error.as_parse_error().message),
    };
    match (outcome, xhr) {
        (Ok(_), true) => {
            Ok((StatusCode::OK, axum::Json(json!("Password successfully reset"))).into_response())
        }
        (Err(message), true) => Err(reparse_core::ParseError::new(ErrorCode::OtherCause, message).into()),
        (Ok(username), false) => {
            let url = page_url(app, &pages.password_reset_success, "password_reset_success.html");
            Ok(redirect(with_query(url, &[("username", &username)])))
        }
        (Err(message), false) => {
            let url = page_url(app, &pages.choose_password, "choose_password");
            let params = [
                ("username", username),
                ("token", token),
                ("id", app.config.app_id.as_str()),
                ("error", message.as_str()),
                ("app", app.config.name.as_str()),
            ];
            Ok(redirect(with_query(url, &params)))
        }
    }
}

/// The form to choose a new password; it posts back to `request_password_reset`.
fn choose_password_page(app: &App, query: &Form) -> Response {
    let action =
        format!("{}/apps/{}/request_password_reset", app.config.public_server_url, app.config.app_id);
    let error = query.get("error").filter(|e| !e.is_empty());
    let body = format!(
        r#"<h1>Choose a new password</h1>
<p>{app_name}</p>
{error}<form method="POST" action="{action}">
<input type="hidden" name="token" value="{token}">
<input type="hidden" name="username" value="{username}">
<label for="password">New password</label>
<input id="password" type="password" name="new_password" autocomplete="new-password" required>
<label for="confirm">Confirm new password</label>
<input id="confirm" type="password" autocomplete="new-password" required>
<p id="mismatch" hidden>The passwords do not match.</p>
<button type="submit">Change password</button>
</form>
<script>
document.querySelector('form').addEventListener('submit', function (event) {{
  var same = document.getElementById('password').value === document.getElementById('confirm').value;
  document.getElementById('mismatch').hidden = same;
  if (!same) event.preventDefault();
}});
</script>"#,
        app_name = escape(query.get("app").unwrap_or(&app.config.name)),
        error = error
            .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>\n", escape(e)))
            .unwrap_or_default(),
        action = escape(&action),
        token = escape(query.get("token").unwrap_or_default()),
        username = escape(query.get("username").unwrap_or_default()),
    );
    html_page("Choose a new password", &body)
}

fn static_page(page: &StaticPage, query: &Form) -> Response {
    let username = query.get("username").filter(|name| !name.is_empty());
    let message = match username {
        Some(name) => page.message.replace("{ for username}", &format!(" for {}", escape(name))),
        None => page.message.replace("{ for username}", ""),
    };
    let mut body = format!("<h1>{}</h1>\n<p>{message}</p>", page.title);
    if page.file == "invalid_verification_link.html"
        && let (Some(name), Some(app_id)) = (username, query.get("appId"))
    {
        body.push_str(&format!(
            r#"
<form method="POST" action="{}/resend_verification_email">
<input type="hidden" name="username" value="{}">
<button type="submit">Send a new link</button>
</form>"#,
            escape(app_id),
            escape(name)
        ));
    }
    html_page(page.title, &body)
}

fn html_page(title: &str, body: &str) -> Response {
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 28rem; margin: 3rem auto; padding: 0 1rem; color: #222; }}
label, input, button {{ display: block; width: 100%; box-sizing: border-box; margin: .4rem 0; }}
input, button {{ padding: .6rem; font-size: 1rem; }}
.error {{ color: #b00020; }}
</style>
</head>
<body>
{body}
</body>
</html>
"#
    );
    let mut response = (StatusCode::OK, html).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// `application/x-www-form-urlencoded` pairs (a query string or a form body).
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(bytes: &[u8]) -> Form {
        Form(form_urlencoded::parse(bytes).into_owned().collect())
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn parses_page_routes() {
        assert!(matches!(Page::parse("app1/verify_email"), Some(Page::VerifyEmail { app_id: "app1" })));
        assert!(matches!(Page::parse("choose_password"), Some(Page::ChoosePassword)));
        assert!(matches!(Page::parse("invalid_link.html"), Some(Page::Static(_))));
        assert!(Page::parse("secret.html").is_none());
        assert!(Page::parse("a/b/c").is_none());
    }

    #[test]
    fn queries_are_appended() {
        assert_eq!(with_query("http://h/p".into(), &[("a", "b c")]), "http://h/p?a=b+c");
        assert_eq!(with_query("http://h/p?x=1".into(), &[("a", "&")]), "http://h/p?x=1&a=%26");
    }

    #[tokio::test]
    async fn success_pages_show_the_username_escaped() {
        let page = STATIC_PAGES.iter().find(|p| p.file == "verify_email_success.html").unwrap();
        let response = static_page(page, &Form::parse(b"username=%3Cb%3Eann"));
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(html.contains("verified for &lt;b&gt;ann."), "{html}");
        assert!(!html.contains("<b>ann"));
    }
}
