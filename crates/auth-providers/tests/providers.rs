//! Every provider against real local HTTP servers (see `support`), through the public API only.

mod support;

use std::sync::Arc;
use std::time::Duration;

use reparse_auth_providers::AuthProviders;
use reparse_core::ParseError;
use serde_json::{Value, json};
use support::{FakeProvider, claims, closed_url, now, object, sign};

const GOOGLE: &str = "https://accounts.google.com";
const APPLE: &str = "https://appleid.apple.com";
const FACEBOOK: &str = "https://www.facebook.com";

fn providers(auth: Value) -> AuthProviders {
    AuthProviders::from_options(Some(&auth), true).expect("valid auth option")
}

async fn check(providers: &AuthProviders, provider: &str, auth_data: Value) -> Result<(), ParseError> {
    providers.validate(provider, &object(auth_data)).await
}

/// Asserts a failure's code and message.
#[track_caller]
fn assert_fails(result: Result<(), ParseError>, code: i32, message: &str) {
    match result {
        Ok(()) => panic!("accepted, expected {code} {message:?}"),
        Err(error) => {
            assert_eq!((error.code.number(), error.message.as_str()), (code, message));
        }
    }
}

fn google(fake: &FakeProvider) -> AuthProviders {
    providers(json!({"google": {"clientId": "google-client", "jwksUri": fake.url("/jwks")}}))
}

// ---------------------------------------------------------------- anonymous, unknown, disabled

#[tokio::test]
async fn anonymous_needs_an_id_and_can_be_turned_off() {
    let on = AuthProviders::from_options(None, true).unwrap();
    check(&on, "anonymous", json!({"id": "5c1f3c62-5d7a-4a2b-9d59-0d4f2a0f1e11"})).await.unwrap();
    assert_fails(
        check(&on, "anonymous", json!({"id": ""})).await,
        101,
        "Anonymous auth is invalid for this user.",
    );
    assert_fails(check(&on, "anonymous", json!({})).await, 101, "Anonymous auth is invalid for this user.");

    let off = AuthProviders::from_options(None, false).unwrap();
    assert_fails(
        check(&off, "anonymous", json!({"id": "x"})).await,
        252,
        "This authentication method is unsupported.",
    );
    assert!(!off.is_enabled("anonymous"));

    let disabled =
        AuthProviders::from_options(Some(&json!({"anonymous": {"enabled": false}})), true).unwrap();
    assert_fails(
        check(&disabled, "anonymous", json!({"id": "x"})).await,
        252,
        "This authentication method is unsupported.",
    );
}

#[tokio::test]
async fn unknown_and_disabled_providers_are_unsupported() {
    let fake = FakeProvider::start().await;
    fake.publish(&[("rsa-a", "a")]);
    let auth = providers(json!({
        "google": {"enabled": false, "clientId": "google-client", "jwksUri": fake.url("/jwks")},
        "instagram": {"enabled": false},
    }));
    let token = sign("rsa-a", Some("a"), claims(GOOGLE, "google-client", "u1"));
    for (provider, data) in [
        ("google", json!({"id": "u1", "id_token": token})),
        ("instagram", json!({"id": "u1", "access_token": "t"})),
        ("myoauth", json!({"id": "u1"})),
        ("__proto__", json!({"id": "u1"})),
    ] {
        assert_fails(check(&auth, provider, data).await, 252, "This authentication method is unsupported.");
    }
    assert_eq!(fake.fetches(), 0, "a disabled provider asks nobody");
}

// ---------------------------------------------------------------- Google

#[tokio::test]
async fn google_accepts_a_valid_id_token_from_either_issuer() {
    let fake = FakeProvider::start().await;
    fake.publish(&[("rsa-a", "a")]);
    let auth = google(&fake);
    for issuer in ["accounts.google.com", GOOGLE] {
        let token = sign("rsa-a", Some("a"), claims(issuer, "google-client", "1234"));
        check(&auth, "google", json!({"id": "1234", "id_token": token})).await.unwrap();
    }
    assert_eq!(fake.fetches(), 1, "the key set is cached");
}

#[tokio::test]
async fn google_refuses_bad_tokens_with_parse_servers_messages() {
    let fake = FakeProvider::start().await;
    fake.publish(&[("rsa-a", "a")]);
    let auth = google(&fake);
    let token = |key: &str, claims: Value| sign(key, Some("a"), claims);

    let forged = token("rsa-attacker", claims(GOOGLE, "google-client", "1234"));
    assert_fails(
        check(&auth, "google", json!({"id": "1234", "id_token": forged})).await,
        101,
        "invalid signature",
    );

    let other_app = token("rsa-a", claims(GOOGLE, "other-client", "1234"));
    assert_fails(
        check(&auth, "google", json!({"id": "1234", "id_token": other_app})).await,
        101,
        "jwt audience invalid. expected: google-client",
    );

    let other_issuer = token("rsa-a", claims("https://evil.test", "google-client", "1234"));
    assert_fails(
        check(&auth, "google", json!({"id": "1234", "id_token": other_issuer})).await,
        101,
        "id token not issued by correct provider - expected: accounts.google.com or https://accounts.google.com | from: https://evil.test",
    );

    let expired = token(
        "rsa-a",
        json!({"iss": GOOGLE, "aud": "google-client", "sub": "1234", "iat": now() - 7200, "exp": now() - 3600}),
    );
    assert_fails(
        check(&auth, "google", json!({"id": "1234", "id_token": expired})).await,
        101,
        "jwt expired",
    );

    let no_exp = token("rsa-a", json!({"iss": GOOGLE, "aud": "google-client", "sub": "1234"}));
    assert_fails(
        check(&auth, "google", json!({"id": "1234", "id_token": no_exp})).await,
        101,
        "invalid exp value",
    );

    let someone_else = token("rsa-a", claims(GOOGLE, "google-client", "5678"));
    assert_fails(
        check(&auth, "google", json!({"id": "1234", "id_token": someone_else})).await,
        101,
        "auth data is invalid for this user.",
    );
    let valid = token("rsa-a", claims(GOOGLE, "google-client", "1234"));
    assert_fails(
        check(&auth, "google", json!({"id_token": valid})).await,
        101,
        "auth data is invalid for this user.",
    );

    assert_fails(
        check(&auth, "google", json!({"id": "1234"})).await,
        101,
        "id token is invalid for this user.",
    );
    assert_fails(
        check(&auth, "google", json!({"id": "1234", "id_token": "the_token"})).await,
        101,
        "provided token does not decode as JWT",
    );
    // Apple's field name is not Google's.
    assert_fails(
        check(&auth, "google", json!({"id": "1234", "token": valid})).await,
        101,
        "id token is invalid for this user.",
    );

    // A token "signed" with the public key as an HMAC secret (algorithm confusion).
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            kid: Some("a".into()),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        },
        &claims(GOOGLE, "google-client", "1234"),
        &jsonwebtoken::EncodingKey::from_secret(b"public key bytes"),
    )
    .unwrap();
    assert_fails(
        check(&auth, "google", json!({"id": "1234", "id_token": hs256})).await,
        101,
        "invalid algorithm",
    );

    // A token whose signature was cut off.
    let unsigned = format!("{}.", valid.rsplit_once('.').unwrap().0);
    assert_fails(
        check(&auth, "google", json!({"id": "1234", "id_token": unsigned})).await,
        101,
        "jwt signature is required",
    );
}

#[tokio::test]
async fn google_without_client_id_is_not_configured() {
    let auth = AuthProviders::from_options(None, true).unwrap();
    let token = sign("rsa-a", Some("a"), claims(GOOGLE, "x", "1"));
    assert_fails(
        check(&auth, "google", json!({"id": "1", "id_token": token})).await,
        101,
        "Google auth is not configured.",
    );
    assert_fails(
        check(&auth, "apple", json!({"id": "1", "token": token})).await,
        101,
        "Apple auth is not configured.",
    );
}

#[tokio::test]
async fn an_unknown_kid_fetches_the_key_set_again_once() {
    let fake = FakeProvider::start().await;
    fake.publish(&[("rsa-a", "a")]);
    let auth = google(&fake);
    let old = sign("rsa-a", Some("a"), claims(GOOGLE, "google-client", "1"));
    check(&auth, "google", json!({"id": "1", "id_token": old})).await.unwrap();
    assert_eq!(fake.fetches(), 1);

    // Signed with a key the provider does not publish yet.
    let new = sign("rsa-b", Some("b"), claims(GOOGLE, "google-client", "1"));
    assert_fails(
        check(&auth, "google", json!({"id": "1", "id_token": new})).await,
        101,
        "Unable to find matching key for Key ID: b",
    );
    assert_eq!(fake.fetches(), 2, "an unknown kid refetches once");

    // The provider rotates: "a" is gone, "b" is in.
    fake.publish(&[("rsa-b", "b")]);
    check(&auth, "google", json!({"id": "1", "id_token": new})).await.unwrap();
    assert_eq!(fake.fetches(), 3);
    check(&auth, "google", json!({"id": "1", "id_token": new})).await.unwrap();
    assert_eq!(fake.fetches(), 3, "the rotated key is cached");
    assert_fails(
        check(&auth, "google", json!({"id": "1", "id_token": old})).await,
        101,
        "Unable to find matching key for Key ID: a",
    );
}

#[tokio::test]
async fn concurrent_logins_share_one_key_set_fetch() {
    let fake = FakeProvider::start().await;
    fake.publish(&[("rsa-a", "a")]);
    *fake.jwks_delay.lock().unwrap() = Duration::from_millis(200);
    let auth = google(&fake);
    let token = sign("rsa-a", Some("a"), claims(GOOGLE, "google-client", "1"));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let auth = auth.clone();
            let data = object(json!({"id": "1", "id_token": token}));
            tokio::spawn(async move { auth.validate("google", &data).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(fake.fetches(), 1);
}

#[tokio::test]
async fn cached_keys_expire_after_cache_max_age() {
    let fake = FakeProvider::start().await;
    fake.publish(&[("rsa-a", "a")]);
    let auth = providers(
        json!({"google": {"clientId": "google-client", "jwksUri": fake.url("/jwks"), "cacheMaxAge": 100}}),
    );
    let token = sign("rsa-a", Some("a"), claims(GOOGLE, "google-client", "1"));
    check(&auth, "google", json!({"id": "1", "id_token": token})).await.unwrap();
    check(&auth, "google", json!({"id": "1", "id_token": token})).await.unwrap();
    assert_eq!(fake.fetches(), 1);
    tokio::time::sleep(Duration::from_millis(150)).await;
    check(&auth, "google", json!({"id": "1", "id_token": token})).await.unwrap();
    assert_eq!(fake.fetches(), 2);

    // The provider fails now: the keys already fetched keep working.
    fake.registry().fail_status = Some(500);
    tokio::time::sleep(Duration::from_millis(150)).await;
    check(&auth, "google", json!({"id": "1", "id_token": token})).await.unwrap();
    assert_eq!(fake.fetches(), 2, "the failing server counted nothing");
}

#[tokio::test]
async fn an_unreachable_or_failing_key_server_is_101() {
    let fake = FakeProvider::start().await;
    fake.registry().fail_status = Some(500);
    let token = sign("rsa-a", Some("a"), claims(GOOGLE, "google-client", "1"));
    assert_fails(
        check(&google(&fake), "google", json!({"id": "1", "id_token": token})).await,
        101,
        "Unable to find matching key for Key ID: a",
    );
    let down = providers(
        json!({"google": {"clientId": "google-client", "jwksUri": format!("{}/jwks", closed_url())}}),
    );
    assert_fails(
        check(&down, "google", json!({"id": "1", "id_token": token})).await,
        101,
        "Unable to find matching key for Key ID: a",
    );
}

#[tokio::test]
async fn a_hanging_provider_times_out_as_101() {
    let fake = FakeProvider::start().await;
    fake.publish(&[("rsa-a", "a")]);
    *fake.jwks_delay.lock().unwrap() = Duration::from_secs(5);
    let auth = google(&fake).with_timeout(Duration::from_millis(300)).unwrap();
    let token = sign("rsa-a", Some("a"), claims(GOOGLE, "google-client", "1"));
    let started = std::time::Instant::now();
    assert_fails(
        check(&auth, "google", json!({"id": "1", "id_token": token})).await,
        101,
        "Unable to find matching key for Key ID: a",
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

// ---------------------------------------------------------------- Apple

fn apple(fake: &FakeProvider) -> AuthProviders {
    providers(
        json!({"apple": {"clientId": ["com.example.ios", "com.example.web"], "jwksUri": fake.url("/jwks")}}),
    )
}

#[tokio::test]
async fn apple_checks_signature_audience_issuer_expiry_and_subject() {
    let fake = FakeProvider::start().await;
    fake.publish(&[("rsa-a", "a"), ("rsa-b", "b")]);
    let auth = apple(&fake);
    let sub = "001234.abcdef.1234";
    for audience in ["com.example.ios", "com.example.web"] {
        let token = sign("rsa-b", Some("b"), claims(APPLE, audience, sub));
        check(&auth, "apple", json!({"id": sub, "token": token})).await.unwrap();
    }
    let token = |key: &str, claims: Value| sign(key, Some("a"), claims);
    assert_fails(
        check(
            &auth,
            "apple",
            json!({"id": sub, "token": token("rsa-b", claims(APPLE, "com.example.ios", sub))}),
        )
        .await,
        101,
        "invalid signature",
    );
    assert_fails(
        check(&auth, "apple", json!({"id": sub, "token": token("rsa-a", claims(APPLE, "com.other", sub))}))
            .await,
        101,
        "jwt audience invalid. expected: com.example.ios or com.example.web",
    );
    assert_fails(
        check(&auth, "apple", json!({"id": sub, "token": token("rsa-a", claims("https://not.apple.com", "com.example.ios", sub))}))
            .await,
        101,
        "id token not issued by correct OpenID provider - expected: https://appleid.apple.com | from: https://not.apple.com",
    );
    let expired = json!({"iss": APPLE, "aud": "com.example.ios", "sub": sub, "exp": now() - 120});
    assert_fails(
        check(&auth, "apple", json!({"id": sub, "token": token("rsa-a", expired)})).await,
        101,
        "jwt expired",
    );
    assert_fails(
        check(
            &auth,
            "apple",
            json!({"id": "someone", "token": token("rsa-a", claims(APPLE, "com.example.ios", sub))}),
        )
        .await,
        101,
        "auth data is invalid for this user.",
    );
    assert_fails(check(&auth, "apple", json!({"id": sub})).await, 101, "id token is invalid for this user.");
    let unknown = sign("rsa-a", Some("zzz"), claims(APPLE, "com.example.ios", sub));
    assert_fails(
        check(&auth, "apple", json!({"id": sub, "token": unknown})).await,
        101,
        "Unable to find matching key for Key ID: zzz",
    );
}

// ---------------------------------------------------------------- OpenID Connect

#[tokio::test]
async fn oidc_discovers_the_key_set_and_accepts_es256() {
    let fake = FakeProvider::start().await;
    fake.publish(&[("ec-a", "ec1"), ("rsa-a", "rsa1")]);
    let auth = providers(json!({"corp": {"adapter": "oidc", "issuer": fake.base, "clientId": "corp-app"}}));
    let ec = sign("ec-a", Some("ec1"), claims(&fake.base, "corp-app", "employee-7"));
    check(&auth, "corp", json!({"id": "employee-7", "id_token": ec})).await.unwrap();
    let rsa = sign("rsa-a", Some("rsa1"), claims(&fake.base, "corp-app", "employee-7"));
    check(&auth, "corp", json!({"id": "employee-7", "token": rsa})).await.unwrap();

    let wrong_issuer = sign("ec-a", Some("ec1"), claims("https://other.test", "corp-app", "employee-7"));
    assert_fails(
        check(&auth, "corp", json!({"id": "employee-7", "id_token": wrong_issuer})).await,
        101,
        &format!(
            "id token not issued by correct OpenID provider - expected: {} | from: https://other.test",
            fake.base
        ),
    );
    let wrong_audience = sign("ec-a", Some("ec1"), claims(&fake.base, "other-app", "employee-7"));
    assert_fails(
        check(&auth, "corp", json!({"id": "employee-7", "id_token": wrong_audience})).await,
        101,
        "jwt audience invalid. expected: corp-app",
    );
    let expired = sign(
        "ec-a",
        Some("ec1"),
        json!({"iss": fake.base, "aud": "corp-app", "sub": "employee-7", "exp": now() - 100}),
    );
    assert_fails(
        check(&auth, "corp", json!({"id": "employee-7", "id_token": expired})).await,
        101,
        "jwt expired",
    );
    let forged = sign("rsa-attacker", Some("rsa1"), claims(&fake.base, "corp-app", "employee-7"));
    assert_fails(
        check(&auth, "corp", json!({"id": "employee-7", "id_token": forged})).await,
        101,
        "invalid signature",
    );
    let other = sign("ec-a", Some("ec1"), claims(&fake.base, "corp-app", "employee-8"));
    assert_fails(
        check(&auth, "corp", json!({"id": "employee-7", "id_token": other})).await,
        101,
        "auth data is invalid for this user.",
    );
    // A key published for ES256 does not verify an RS256 header.
    let mismatched = sign("rsa-a", Some("ec1"), claims(&fake.base, "corp-app", "employee-7"));
    assert_fails(
        check(&auth, "corp", json!({"id": "employee-7", "id_token": mismatched})).await,
        101,
        "invalid algorithm",
    );
}

#[tokio::test]
async fn oidc_refuses_a_discovery_document_of_another_issuer() {
    let fake = FakeProvider::start().await;
    fake.publish(&[("rsa-a", "a")]);
    fake.registry().discovery_issuer = Some("https://impostor.test".into());
    let auth = providers(json!({"corp": {"adapter": "oidc", "issuer": fake.base, "clientId": ["corp-app"]}}));
    let token = sign("rsa-a", Some("a"), claims(&fake.base, "corp-app", "e"));
    assert_fails(
        check(&auth, "corp", json!({"id": "e", "id_token": token})).await,
        101,
        "Unable to find matching key for Key ID: a",
    );
    // With an explicit jwksUri there is no discovery.
    let direct = providers(
        json!({"corp": {"adapter": "oidc", "issuer": fake.base, "clientId": "corp-app", "jwksUri": fake.url("/jwks")}}),
    );
    check(&direct, "corp", json!({"id": "e", "id_token": token})).await.unwrap();
}

// ---------------------------------------------------------------- Facebook

fn facebook(fake: &FakeProvider) -> AuthProviders {
    let mut registry = fake.registry();
    registry.facebook_app_secret = Some("fb-secret".into());
    registry.facebook_tokens.insert("fb-token".into(), ("10001".into(), "fb-app".into()));
    registry.facebook_tokens.insert("other-app-token".into(), ("10001".into(), "someone-elses-app".into()));
    drop(registry);
    providers(json!({"facebook": {
        "appIds": ["fb-app"], "appSecret": "fb-secret",
        "graphApiUrl": fake.url("/graph"), "jwksUri": fake.url("/jwks"),
    }}))
}

#[tokio::test]
async fn facebook_checks_user_and_app_with_appsecret_proof() {
    let fake = FakeProvider::start().await;
    let auth = facebook(&fake);
    check(&auth, "facebook", json!({"id": "10001", "access_token": "fb-token"})).await.unwrap();
    let invalid = "Facebook auth is invalid for this user.";
    assert_fails(
        check(&auth, "facebook", json!({"id": "10002", "access_token": "fb-token"})).await,
        101,
        invalid,
    );
    assert_fails(
        check(&auth, "facebook", json!({"id": "10001", "access_token": "stolen"})).await,
        101,
        invalid,
    );
    assert_fails(
        check(&auth, "facebook", json!({"id": "10001", "access_token": "other-app-token"})).await,
        101,
        invalid,
    );
    assert_fails(check(&auth, "facebook", json!({"id": "10001"})).await, 101, invalid);

    // Without the app secret there is no appsecret_proof, and the fake (like Facebook, for apps
    // that require it) refuses the call.
    let no_secret = providers(json!({"facebook": {"appIds": ["fb-app"], "graphApiUrl": fake.url("/graph")}}));
    assert_fails(
        check(&no_secret, "facebook", json!({"id": "10001", "access_token": "fb-token"})).await,
        101,
        invalid,
    );

    let empty = providers(json!({"facebook": {"appIds": [], "graphApiUrl": fake.url("/graph")}}));
    assert_fails(
        check(&empty, "facebook", json!({"id": "10001", "access_token": "fb-token"})).await,
        101,
        "Facebook auth is not configured.",
    );

    fake.registry().fail_status = Some(500);
    assert_fails(
        check(&auth, "facebook", json!({"id": "10001", "access_token": "fb-token"})).await,
        101,
        invalid,
    );
    let down = providers(json!({"facebook": {"appIds": ["fb-app"], "graphApiUrl": closed_url()}}));
    assert_fails(
        check(&down, "facebook", json!({"id": "10001", "access_token": "fb-token"})).await,
        101,
        invalid,
    );
}

#[tokio::test]
async fn facebook_limited_login_tokens_are_jwts() {
    let fake = FakeProvider::start().await;
    fake.publish(&[("rsa-a", "fb1")]);
    let auth = facebook(&fake);
    let token = sign("rsa-a", Some("fb1"), claims(FACEBOOK, "fb-app", "10001"));
    check(&auth, "facebook", json!({"id": "10001", "token": token})).await.unwrap();
    let other_app = sign("rsa-a", Some("fb1"), claims(FACEBOOK, "another-app", "10001"));
    assert_fails(
        check(&auth, "facebook", json!({"id": "10001", "token": other_app})).await,
        101,
        "jwt audience invalid. expected: fb-app",
    );
    let wrong_issuer = sign("rsa-a", Some("fb1"), claims("https://facebook.evil", "fb-app", "10001"));
    assert_fails(
        check(&auth, "facebook", json!({"id": "10001", "token": wrong_issuer})).await,
        101,
        "id token not issued by correct OpenID provider - expected: https://www.facebook.com | from: https://facebook.evil",
    );
    assert_fails(
        check(&auth, "facebook", json!({"id": "10002", "token": token})).await,
        101,
        "auth data is invalid for this user.",
    );
    let unconfigured = providers(json!({"facebook": {"jwksUri": fake.url("/jwks")}}));
    assert_fails(
        check(&unconfigured, "facebook", json!({"id": "10001", "token": token})).await,
        101,
        "Facebook auth is not configured.",
    );
}

// ---------------------------------------------------------------- GitHub

fn github(fake: &FakeProvider, settings: Value) -> AuthProviders {
    let mut registry = fake.registry();
    registry.github_tokens.insert("gh-token".into(), 583231);
    registry.github_codes.insert("gh-code".into(), "gh-token".into());
    drop(registry);
    let mut config = object(
        json!({"apiUrl": fake.url("/github"), "tokenUrl": fake.url("/github/login/oauth/access_token")}),
    );
    config.extend(object(settings));
    providers(json!({"github": config}))
}

#[tokio::test]
async fn github_exchanges_a_code_for_the_users_id() {
    let fake = FakeProvider::start().await;
    let auth = github(&fake, json!({"clientId": "client-id", "clientSecret": "client-secret"}));
    let stored = auth
        .validated_auth_data("github", &object(json!({"code": "gh-code", "redirect_uri": "x"})))
        .await
        .unwrap();
    assert_eq!(Value::Object(stored.clone()), json!({"id": 583231, "access_token": "gh-token"}));
    assert_eq!(Value::Object(AuthProviders::public_auth_data("github", &stored)), json!({"id": 583231}));
    check(&auth, "github", json!({"id": "583231", "code": "gh-code"})).await.unwrap();

    assert_fails(
        check(&auth, "github", json!({"id": "1", "code": "gh-code"})).await,
        101,
        "GitHub auth is invalid for this user.",
    );
    assert_fails(
        check(&auth, "github", json!({"code": "used-code"})).await,
        101,
        "The code passed is incorrect or expired.",
    );
    // Without enableInsecureAuth an access token alone is not accepted.
    assert_fails(
        check(&auth, "github", json!({"id": "583231", "access_token": "gh-token"})).await,
        142,
        "GitHub code is required.",
    );

    let wrong_secret = github(&fake, json!({"clientId": "client-id", "clientSecret": "guess"}));
    assert_fails(
        check(&wrong_secret, "github", json!({"code": "gh-code"})).await,
        101,
        "incorrect_client_credentials",
    );
}

#[tokio::test]
async fn github_insecure_access_tokens_are_checked_against_the_user_api() {
    let fake = FakeProvider::start().await;
    let auth = github(&fake, json!({"enableInsecureAuth": true}));
    check(&auth, "github", json!({"id": "583231", "access_token": "gh-token"})).await.unwrap();
    check(&auth, "github", json!({"id": 583231, "access_token": "gh-token"})).await.unwrap();
    assert_fails(
        check(&auth, "github", json!({"id": "1", "access_token": "gh-token"})).await,
        101,
        "GitHub auth is invalid for this user.",
    );
    assert_fails(
        check(&auth, "github", json!({"id": "583231"})).await,
        101,
        "GitHub auth is invalid for this user.",
    );
    assert_fails(
        check(&auth, "github", json!({"id": "583231", "access_token": "revoked"})).await,
        142,
        "Failed to fetch GitHub user: Unauthorized",
    );
    fake.registry().fail_status = Some(500);
    assert_fails(
        check(&auth, "github", json!({"id": "583231", "access_token": "gh-token"})).await,
        142,
        "Failed to fetch GitHub user: Internal Server Error",
    );
    let down = providers(json!({"github": {"enableInsecureAuth": true, "apiUrl": closed_url()}}));
    assert_fails(
        check(&down, "github", json!({"id": "583231", "access_token": "gh-token"})).await,
        101,
        "GitHub auth is invalid for this user.",
    );
    let unconfigured = AuthProviders::from_options(None, true).unwrap();
    assert_fails(
        check(&unconfigured, "github", json!({"code": "gh-code"})).await,
        101,
        "GitHub auth is not configured.",
    );
}

// ---------------------------------------------------------------- LinkedIn

fn linkedin(fake: &FakeProvider, settings: Value) -> AuthProviders {
    let mut registry = fake.registry();
    registry.linkedin_tokens.insert("li-token".into(), "li-user-9".into());
    registry.linkedin_codes.insert("li-code".into(), "li-token".into());
    drop(registry);
    let mut config = object(
        json!({"apiUrl": fake.url("/linkedin"), "tokenUrl": fake.url("/linkedin/oauth/v2/accessToken")}),
    );
    config.extend(object(settings));
    providers(json!({"linkedin": config}))
}

#[tokio::test]
async fn linkedin_code_flow_and_insecure_tokens() {
    let fake = FakeProvider::start().await;
    let secure = linkedin(&fake, json!({"clientId": "client-id", "clientSecret": "client-secret"}));
    let stored = secure
        .validated_auth_data(
            "linkedin",
            &object(json!({"code": "li-code", "redirect_uri": "https://app.test/cb"})),
        )
        .await
        .unwrap();
    assert_eq!(Value::Object(stored), json!({"id": "li-user-9", "access_token": "li-token"}));
    assert_fails(
        check(&secure, "linkedin", json!({"code": "nope"})).await,
        101,
        "LinkedIn API request failed.",
    );
    assert_fails(
        check(&secure, "linkedin", json!({"id": "li-user-9", "access_token": "li-token"})).await,
        142,
        "LinkedIn code is required.",
    );

    let insecure = linkedin(&fake, json!({"enableInsecureAuth": true}));
    check(
        &insecure,
        "linkedin",
        json!({"id": "li-user-9", "access_token": "li-token", "is_mobile_sdk": true}),
    )
    .await
    .unwrap();
    assert_fails(
        check(&insecure, "linkedin", json!({"id": "li-user-1", "access_token": "li-token"})).await,
        101,
        "LinkedIn auth is invalid for this user.",
    );
    assert_fails(
        check(&insecure, "linkedin", json!({"id": "li-user-9", "access_token": "bad"})).await,
        101,
        "LinkedIn API request failed.",
    );
    fake.registry().fail_status = Some(500);
    assert_fails(
        check(&insecure, "linkedin", json!({"id": "li-user-9", "access_token": "li-token"})).await,
        101,
        "LinkedIn API request failed.",
    );
    let down = providers(json!({"linkedin": {"enableInsecureAuth": true, "apiUrl": closed_url()}}));
    assert_fails(
        check(&down, "linkedin", json!({"id": "li-user-9", "access_token": "li-token"})).await,
        101,
        "LinkedIn auth is invalid for this user.",
    );
}

// ---------------------------------------------------------------- Twitter

fn twitter_fake(fake: &Arc<FakeProvider>) {
    let mut registry = fake.registry();
    registry.twitter_consumers.insert("ck-1".into(), "cs-1".into());
    registry.twitter_consumers.insert("ck-2".into(), "cs-2".into());
    registry.twitter_tokens.insert("tw-token".into(), ("tw-secret".into(), "77001".into()));
    registry.twitter_request_tokens.insert("req-token".into(), ("verifier-1".into(), "tw-token".into()));
}

#[tokio::test]
async fn twitter_signs_verify_credentials_with_the_consumer_secret() {
    let fake = FakeProvider::start().await;
    twitter_fake(&fake);
    let auth = providers(
        json!({"twitter": {"consumer_key": "ck-1", "consumer_secret": "cs-1", "apiUrl": fake.url("/twitter")}}),
    );
    let good = json!({"id": "77001", "auth_token": "tw-token", "auth_token_secret": "tw-secret", "screen_name": "someone"});
    check(&auth, "twitter", good.clone()).await.unwrap();
    check(
        &auth,
        "twitter",
        json!({"id": "77001", "oauth_token": "tw-token", "oauth_token_secret": "tw-secret"}),
    )
    .await
    .unwrap();
    let invalid = "Twitter auth is invalid for this user.";
    assert_fails(
        check(
            &auth,
            "twitter",
            json!({"id": "77002", "auth_token": "tw-token", "auth_token_secret": "tw-secret"}),
        )
        .await,
        101,
        invalid,
    );
    assert_fails(
        check(
            &auth,
            "twitter",
            json!({"id": "77001", "auth_token": "tw-token", "auth_token_secret": "guess"}),
        )
        .await,
        101,
        invalid,
    );
    assert_fails(
        check(&auth, "twitter", json!({"id": "77001", "auth_token": "tw-token"})).await,
        101,
        invalid,
    );

    let wrong_consumer = providers(
        json!({"twitter": {"consumer_key": "ck-1", "consumer_secret": "cs-2", "apiUrl": fake.url("/twitter")}}),
    );
    assert_fails(check(&wrong_consumer, "twitter", good.clone()).await, 101, invalid);

    let unconfigured = AuthProviders::from_options(None, true).unwrap();
    assert_fails(
        check(&unconfigured, "twitter", good.clone()).await,
        101,
        "Twitter auth configuration missing consumer_key and/or consumer_secret.",
    );

    fake.registry().fail_status = Some(500);
    assert_fails(check(&auth, "twitter", good.clone()).await, 101, invalid);
    let down = providers(
        json!({"twitter": {"consumer_key": "ck-1", "consumer_secret": "cs-1", "apiUrl": closed_url()}}),
    );
    assert_fails(check(&down, "twitter", good).await, 101, invalid);
}

#[tokio::test]
async fn twitter_picks_the_consumer_by_key_when_several_are_configured() {
    let fake = FakeProvider::start().await;
    twitter_fake(&fake);
    let auth = providers(json!({"twitter": [
        {"consumer_key": "ck-1", "consumer_secret": "cs-1", "apiUrl": fake.url("/twitter")},
        {"consumer_key": "ck-2", "consumer_secret": "cs-2", "apiUrl": fake.url("/twitter")},
    ]}));
    let data = |consumer: Option<&str>| {
        let mut data = json!({"id": "77001", "auth_token": "tw-token", "auth_token_secret": "tw-secret"});
        if let Some(key) = consumer {
            data["consumer_key"] = json!(key);
        }
        data
    };
    check(&auth, "twitter", data(Some("ck-1"))).await.unwrap();
    check(&auth, "twitter", data(Some("ck-2"))).await.unwrap();
    let invalid = "Twitter auth is invalid for this user.";
    assert_fails(check(&auth, "twitter", data(None)).await, 101, invalid);
    assert_fails(check(&auth, "twitter", data(Some("ck-3"))).await, 101, invalid);
}

#[tokio::test]
async fn twitter_exchanges_a_verifier_for_an_access_token() {
    let fake = FakeProvider::start().await;
    twitter_fake(&fake);
    let auth = providers(
        json!({"twitter": {"consumer_key": "ck-1", "consumer_secret": "cs-1", "apiUrl": fake.url("/twitter")}}),
    );
    let stored = auth
        .validated_auth_data(
            "twitter",
            &object(json!({"oauth_token": "req-token", "oauth_verifier": "verifier-1"})),
        )
        .await
        .unwrap();
    assert_eq!(
        Value::Object(stored.clone()),
        json!({"id": "77001", "auth_token": "tw-token", "auth_token_secret": "tw-secret", "screen_name": "someone"})
    );
    // What was stored validates later on.
    check(&auth, "twitter", Value::Object(stored)).await.unwrap();
    let invalid = "Twitter auth is invalid for this user.";
    assert_fails(
        check(&auth, "twitter", json!({"oauth_token": "req-token", "oauth_verifier": "wrong"})).await,
        101,
        invalid,
    );
    assert_fails(
        check(
            &auth,
            "twitter",
            json!({"id": "1", "oauth_token": "req-token", "oauth_verifier": "verifier-1"}),
        )
        .await,
        101,
        invalid,
    );
}

// ---------------------------------------------------------------- configuration

#[test]
fn bad_configuration_is_refused_at_start() {
    let refused = |auth: Value| AuthProviders::from_options(Some(&auth), true).unwrap_err();
    assert_eq!(
        refused(json!({"google": {"clientId": 1}})),
        "auth.google.clientId must be a string or an array of strings"
    );
    assert_eq!(
        refused(json!({"corp": {"adapter": "oidc", "clientId": "x"}})),
        "auth.corp.issuer is required"
    );
    assert!(
        refused(json!({"spotify": {"clientId": "x"}}))
            .starts_with("auth.spotify: the spotify auth adapter is not supported")
    );
    assert!(
        refused(json!({"apple": {"clientId": "x", "jwksUri": "keys.json"}}))
            .starts_with("auth.apple.jwksUri must be an absolute")
    );
}
