//! parse-server's `auth` option → the providers of an app. The keys are listed in the crate doc.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::code_flow::{CodeFlowKind, CodeFlowProvider};
use crate::facebook::FacebookProvider;
use crate::http::check_url;
use crate::id_token::{
    APPLE_ISSUER, FACEBOOK_ISSUER, GOOGLE_ISSUERS, IdTokenProvider, OIDC_ALGORITHMS, RSA_ONLY,
};
use crate::jwks::{Jwks, JwksSource};
use crate::twitter::{Consumer, TwitterProvider};

pub(crate) enum Entry {
    Enabled(Box<Provider>),
    /// `enabled: false`, or anonymous users turned off: answers 252.
    Disabled,
}

pub(crate) enum Provider {
    Anonymous,
    IdToken(IdTokenProvider),
    Facebook(FacebookProvider),
    CodeFlow(CodeFlowProvider),
    Twitter(TwitterProvider),
}

const BUILT_IN: [&str; 7] = ["anonymous", "apple", "facebook", "github", "google", "linkedin", "twitter"];

/// parse-server's default `cacheMaxAge`: one hour.
const DEFAULT_CACHE_MAX_AGE: Duration = Duration::from_secs(3600);

const APPLE_JWKS: &str = "https://appleid.apple.com/auth/keys";
const GOOGLE_JWKS: &str = "https://www.googleapis.com/oauth2/v3/certs";
const FACEBOOK_JWKS: &str = "https://www.facebook.com/.well-known/oauth/openid/jwks/";
const FACEBOOK_GRAPH: &str = "https://graph.facebook.com";
const GITHUB_API: &str = "https://api.github.com";
const GITHUB_TOKEN: &str = "https://github.com/login/oauth/access_token";
const LINKEDIN_API: &str = "https://api.linkedin.com";
const LINKEDIN_TOKEN: &str = "https://www.linkedin.com/oauth/v2/accessToken";
const TWITTER_API: &str = "https://api.twitter.com";

pub(crate) fn parse(
    auth: Option<&Value>,
    enable_anonymous_users: bool,
) -> Result<HashMap<String, Entry>, String> {
    let empty = Map::new();
    let options = match auth {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(options)) => options,
        Some(_) => return Err("auth must be an object keyed by provider name".to_owned()),
    };
    let mut providers = HashMap::new();
    for (name, value) in options {
        let option = format!("auth.{name}");
        let entry = match value {
            Value::Object(config) => {
                if config_disabled(&option, config)? {
                    Entry::Disabled
                } else {
                    Entry::Enabled(Box::new(configured(name, &option, Some(config))?))
                }
            }
            Value::Array(configs) if name == "twitter" => {
                Entry::Enabled(Box::new(twitter_consumers(&option, configs)?))
            }
            _ => return Err(format!("{option} must be an object")),
        };
        providers.insert(name.clone(), entry);
    }
    for name in BUILT_IN {
        if !providers.contains_key(name) {
            providers.insert(
                name.to_owned(),
                Entry::Enabled(Box::new(configured(name, &format!("auth.{name}"), None)?)),
            );
        }
    }
    if !enable_anonymous_users {
        providers.insert("anonymous".to_owned(), Entry::Disabled);
    }
    Ok(providers)
}

/// `enabled: false`; anything but a boolean is refused.
fn config_disabled(option: &str, config: &Map<String, Value>) -> Result<bool, String> {
    match config.get("enabled") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(enabled)) => Ok(!enabled),
        Some(_) => Err(format!("{option}.enabled must be true or false")),
    }
}

fn configured(name: &str, option: &str, config: Option<&Map<String, Value>>) -> Result<Provider, String> {
    let empty = Map::new();
    let settings = Settings { option, config: config.unwrap_or(&empty) };
    if settings.config.contains_key("module") || settings.config.get("oauth2") == Some(&Value::Bool(true)) {
        return Err(format!("{option}: custom auth adapters (module, oauth2) are not supported by Reparse"));
    }
    match settings.config.get("adapter") {
        None => {}
        Some(Value::String(adapter)) if adapter == "oidc" => return oidc(name, &settings),
        Some(_) => {
            return Err(format!("{option}.adapter must be \"oidc\" (the only adapter Reparse can load)"));
        }
    }
    let explicit = config.is_some();
    match name {
        "anonymous" => Ok(Provider::Anonymous),
        "apple" | "google" => {
            let audiences = settings.string_or_array("clientId")?;
            if explicit && audiences.is_empty() {
                return Err(format!("{option}.clientId is required"));
            }
            let apple = name == "apple";
            let jwks_uri = settings.url("jwksUri", if apple { APPLE_JWKS } else { GOOGLE_JWKS })?;
            Ok(Provider::IdToken(IdTokenProvider {
                label: if apple { "Apple" } else { "Google" }.to_owned(),
                token_fields: if apple { &["token"] } else { &["id_token"] },
                audiences,
                issuers: if apple {
                    vec![APPLE_ISSUER.to_owned()]
                } else {
                    GOOGLE_ISSUERS.iter().map(|issuer| (*issuer).to_owned()).collect()
                },
                google_issuer_message: !apple,
                algorithms: RSA_ONLY,
                jwks: Jwks::new(JwksSource::Url(jwks_uri), settings.cache_max_age()?),
            }))
        }
        "facebook" => {
            let app_ids = match settings.config.get("appIds") {
                None | Some(Value::Null) => None,
                Some(Value::Array(ids)) => Some(
                    ids.iter()
                        .map(|id| crate::id_text(Some(id)))
                        .collect::<Option<Vec<String>>>()
                        .ok_or_else(|| format!("{option}.appIds must be an array of strings"))?,
                ),
                Some(_) => return Err(format!("{option}.appIds must be an array of strings")),
            };
            let mut audiences = settings.string_or_array("clientId")?;
            if audiences.is_empty() {
                audiences = app_ids.clone().unwrap_or_default();
            }
            Ok(Provider::Facebook(FacebookProvider {
                app_secret: settings.string("appSecret")?,
                graph_api_url: settings.url("graphApiUrl", FACEBOOK_GRAPH)?,
                limited_login: IdTokenProvider {
                    label: "Facebook".to_owned(),
                    token_fields: &["token"],
                    audiences,
                    issuers: vec![FACEBOOK_ISSUER.to_owned()],
                    google_issuer_message: false,
                    algorithms: RSA_ONLY,
                    jwks: Jwks::new(
                        JwksSource::Url(settings.url("jwksUri", FACEBOOK_JWKS)?),
                        settings.cache_max_age()?,
                    ),
                },
                app_ids,
            }))
        }
        "github" | "linkedin" => {
            let (kind, api, token) = if name == "github" {
                (CodeFlowKind::GitHub, GITHUB_API, GITHUB_TOKEN)
            } else {
                (CodeFlowKind::LinkedIn, LINKEDIN_API, LINKEDIN_TOKEN)
            };
            let insecure = settings.boolean("enableInsecureAuth")?;
            let client = match (settings.string("clientId")?, settings.string("clientSecret")?) {
                (Some(id), Some(secret)) => Some((id, secret)),
                (None, None) if insecure || !explicit => None,
                (None, _) => {
                    return Err(format!(
                        "{option}.clientId is required (or set {option}.enableInsecureAuth)"
                    ));
                }
                (_, None) => {
                    return Err(format!(
                        "{option}.clientSecret is required (or set {option}.enableInsecureAuth)"
                    ));
                }
            };
            Ok(Provider::CodeFlow(CodeFlowProvider {
                kind,
                client,
                insecure,
                api_url: settings.url("apiUrl", api)?,
                token_url: settings.url("tokenUrl", token)?,
            }))
        }
        "twitter" => {
            if !explicit {
                return Ok(Provider::Twitter(TwitterProvider {
                    consumers: Vec::new(),
                    by_consumer_key: false,
                }));
            }
            Ok(Provider::Twitter(TwitterProvider {
                consumers: vec![consumer(&settings)?],
                by_consumer_key: false,
            }))
        }
        _ => Err(format!(
            "{option}: the {name} auth adapter is not supported by Reparse (supported: {}, and OpenID Connect \
             providers with \"adapter\": \"oidc\")",
            BUILT_IN.join(", ")
        )),
    }
}

fn twitter_consumers(option: &str, configs: &[Value]) -> Result<Provider, String> {
    let consumers = configs
        .iter()
        .enumerate()
        .map(|(index, config)| {
            let option = format!("{option}[{index}]");
            let config = config.as_object().ok_or_else(|| format!("{option} must be an object"))?;
            consumer(&Settings { option: &option, config })
        })
        .collect::<Result<Vec<_>, String>>()?;
    if consumers.is_empty() {
        return Err(format!("{option} must not be an empty array"));
    }
    Ok(Provider::Twitter(TwitterProvider { consumers, by_consumer_key: true }))
}

fn consumer(settings: &Settings<'_>) -> Result<Consumer, String> {
    let option = settings.option;
    Ok(Consumer {
        key: settings.string("consumer_key")?.ok_or_else(|| format!("{option}.consumer_key is required"))?,
        secret: settings
            .string("consumer_secret")?
            .ok_or_else(|| format!("{option}.consumer_secret is required"))?,
        api_url: settings.url("apiUrl", TWITTER_API)?,
    })
}

fn oidc(name: &str, settings: &Settings<'_>) -> Result<Provider, String> {
    let option = settings.option;
    let issuer = settings.string("issuer")?.ok_or_else(|| format!("{option}.issuer is required"))?;
    check_url(&format!("{option}.issuer"), &issuer)?;
    let audiences = settings.string_or_array("clientId")?;
    if audiences.is_empty() {
        return Err(format!("{option}.clientId is required"));
    }
    let source = match settings.string("jwksUri")? {
        Some(uri) => {
            check_url(&format!("{option}.jwksUri"), &uri)?;
            JwksSource::Url(uri)
        }
        None => JwksSource::Discovery { issuer: issuer.clone() },
    };
    Ok(Provider::IdToken(IdTokenProvider {
        label: name.to_owned(),
        token_fields: &["id_token", "token"],
        audiences,
        issuers: vec![issuer],
        google_issuer_message: false,
        algorithms: OIDC_ALGORITHMS,
        jwks: Jwks::new(source, settings.cache_max_age()?),
    }))
}

/// One provider's settings, with the option path for messages.
struct Settings<'a> {
    option: &'a str,
    config: &'a Map<String, Value>,
}

impl Settings<'_> {
    fn string(&self, key: &str) -> Result<Option<String>, String> {
        match self.config.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.is_empty() => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(format!("{}.{key} must be a string", self.option)),
        }
    }

    fn string_or_array(&self, key: &str) -> Result<Vec<String>, String> {
        let wrong = || format!("{}.{key} must be a string or an array of strings", self.option);
        match self.config.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(text)) if text.is_empty() => Ok(Vec::new()),
            Some(Value::String(text)) => Ok(vec![text.clone()]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str().filter(|text| !text.is_empty()).map(str::to_owned).ok_or_else(wrong)
                })
                .collect(),
            Some(_) => Err(wrong()),
        }
    }

    fn boolean(&self, key: &str) -> Result<bool, String> {
        match self.config.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(value)) => Ok(*value),
            Some(_) => Err(format!("{}.{key} must be true or false", self.option)),
        }
    }

    fn url(&self, key: &str, default: &str) -> Result<String, String> {
        match self.string(key)? {
            Some(url) => {
                check_url(&format!("{}.{key}", self.option), &url)?;
                Ok(url)
            }
            None => Ok(default.to_owned()),
        }
    }

    /// `cacheMaxAge`, in milliseconds as in parse-server.
    fn cache_max_age(&self) -> Result<Duration, String> {
        match self.config.get("cacheMaxAge") {
            None | Some(Value::Null) => Ok(DEFAULT_CACHE_MAX_AGE),
            Some(value) => match value.as_f64() {
                Some(ms) if ms > 0.0 && ms.is_finite() => Ok(Duration::from_secs_f64(ms / 1000.0)),
                _ => Err(format!("{}.cacheMaxAge must be a positive number of milliseconds", self.option)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error(auth: Value) -> String {
        parse(Some(&auth), true).err().expect("should be refused")
    }

    #[test]
    fn bad_configurations_name_the_option() {
        assert_eq!(
            parse(Some(&json!([])), true).err().unwrap(),
            "auth must be an object keyed by provider name"
        );
        assert_eq!(error(json!({"google": "x"})), "auth.google must be an object");
        assert_eq!(error(json!({"google": {"enabled": "yes"}})), "auth.google.enabled must be true or false");
        assert_eq!(
            error(json!({"google": {"clientId": 3}})),
            "auth.google.clientId must be a string or an array of strings"
        );
        assert_eq!(error(json!({"google": {}})), "auth.google.clientId is required");
        assert_eq!(
            error(json!({"apple": {"clientId": "a", "jwksUri": "/keys"}})).split(" must").next(),
            Some("auth.apple.jwksUri")
        );
        assert_eq!(
            error(json!({"facebook": {"appIds": "123"}})),
            "auth.facebook.appIds must be an array of strings"
        );
        assert!(
            error(json!({"github": {"clientId": "a"}})).starts_with("auth.github.clientSecret is required")
        );
        assert!(
            error(json!({"twitter": {"consumer_key": "a"}}))
                .starts_with("auth.twitter.consumer_secret is required")
        );
        assert!(
            error(json!({"twitter": [{"consumer_key": "a", "consumer_secret": "b"}, 3]}))
                .starts_with("auth.twitter[1] must be")
        );
        assert!(
            error(json!({"instagram": {}}))
                .starts_with("auth.instagram: the instagram auth adapter is not supported")
        );
        assert!(error(json!({"custom": {"module": "./x.js"}})).contains("custom auth adapters"));
        assert_eq!(
            error(json!({"corp": {"adapter": "oidc", "clientId": "c"}})),
            "auth.corp.issuer is required"
        );
        assert_eq!(
            error(json!({"corp": {"adapter": "oidc", "issuer": "https://id.test"}})),
            "auth.corp.clientId is required"
        );
        assert!(error(json!({"corp": {"adapter": "saml"}})).contains("must be \"oidc\""));
        assert!(error(json!({"google": {"clientId": "a", "cacheMaxAge": -1}})).contains("cacheMaxAge"));
    }

    #[test]
    fn good_configurations_build_every_built_in() {
        let providers = parse(
            Some(&json!({
                "google": {"clientId": ["a", "b"], "enabled": true},
                "instagram": {"enabled": false},
                "github": {"enableInsecureAuth": true},
                "twitter": [{"consumer_key": "a", "consumer_secret": "b"}],
                "corp": {"adapter": "oidc", "issuer": "https://id.test", "clientId": "c"},
            })),
            false,
        )
        .unwrap();
        for name in ["apple", "facebook", "github", "google", "linkedin", "twitter", "corp"] {
            assert!(matches!(providers.get(name), Some(Entry::Enabled(_))), "{name}");
        }
        assert!(matches!(providers.get("anonymous"), Some(Entry::Disabled)));
        assert!(matches!(providers.get("instagram"), Some(Entry::Disabled)));
        assert!(parse(None, true).is_ok());
    }
}
