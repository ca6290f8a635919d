//! The links account e-mails carry, built the way parse-server's `buildEmailLink` does:
//! `<publicServerURL>/apps/<appId>/verify_email?token=<token>` and
//! `<publicServerURL>/apps/<appId>/request_password_reset?token=<token>`, the token encoded
//! like JavaScript's `encodeURIComponent`.

/// The e-mail verification link for `token`.
pub fn verify_email_link(public_server_url: &str, app_id: &str, token: &str) -> String {
    page_link(public_server_url, app_id, "verify_email", token)
}

/// The password reset link for `token`.
pub fn password_reset_link(public_server_url: &str, app_id: &str, token: &str) -> String {
    page_link(public_server_url, app_id, "request_password_reset", token)
}

fn page_link(public_server_url: &str, app_id: &str, page: &str, token: &str) -> String {
    format!(
        "{}/apps/{}/{page}?token={}",
        public_server_url.trim_end_matches('/'),
        encode_uri_component(app_id),
        encode_uri_component(token)
    )
}

/// JavaScript's `encodeURIComponent`: everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )` is
/// percent-encoded as UTF-8.
pub fn encode_uri_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_follow_parse_server() {
        assert_eq!(
            verify_email_link("https://api.example.com/parse/", "myApp", "abcDEF123"),
            "https://api.example.com/parse/apps/myApp/verify_email?token=abcDEF123"
        );
        assert_eq!(
            password_reset_link("http://localhost:1337/parse", "myApp", "t0k"),
            "http://localhost:1337/parse/apps/myApp/request_password_reset?token=t0k"
        );
    }

    #[test]
    fn encodes_like_encode_uri_component() {
        assert_eq!(encode_uri_component("a b&c=d/é?-_.!~*'()"), "a%20b%26c%3Dd%2F%C3%A9%3F-_.!~*'()");
    }
}
