//! Full-text search: the `$text` constraint and its score, with the reference semantics that
//! both adapters reproduce. SQLite evaluates it through SQL functions over this module; the
//! PostgreSQL adapter uses PostgreSQL's own text search, which this module follows (module
//! `analysis` says how far).
//!
//! ```text
//! {"field": {"$text": {"$search": {
//!     "$term": "…",                  required, a non-empty string
//!     "$language": "english",        PostgreSQL configuration name or MongoDB code (`en`),
//!                                    `none`/`simple` for no stemming; default english
//!     "$caseSensitive": false,       default false
//!     "$diacriticSensitive": true    default true (PostgreSQL's behaviour without unaccent)
//! }}}}
//! ```
//!
//! How a `$term` reads (MongoDB's `$search` syntax, which the Parse guide refers to):
//! - Words outside quotes are alternatives: a text matches when it contains any of them.
//! - A `"quoted phrase"` must occur as a sequence of words (stop words inside it hold their
//!   place). When the term has phrases, a text must contain all of them and the loose words
//!   only add to the score.
//! - A word or phrase right after a `-` that starts a space-separated chunk excludes the
//!   texts that contain it.
//! - A term with no word or phrase beyond stop words and exclusions matches nothing.
//!
//! A text "contains" a word when their lexemes meet (lower-cased, stop words dropped, stemmed
//! for the language, diacritics folded first when `$diacriticSensitive` is false). With
//! `$caseSensitive`, the word (or phrase) must also appear in the text exactly as written.
//! Only String values match; other values, and missing ones, never do.
//!
//! The score is PostgreSQL's `ts_rank_cd(to_tsvector(…), query, 32)` for the query "any word or
//! phrase of the term", between 0 and 1, higher for more and closer occurrences (module
//! `rank`). It ignores `$caseSensitive` and exclusions.
//!
//! Where PostgreSQL differs from this module (the SQLite adapter and the matcher follow this
//! module; the PostgreSQL adapter follows PostgreSQL): its parser recognises e-mail addresses,
//! URLs, host names, file paths, hyphenated words (`coffee-house` gives three lexemes),
//! signed and decimal numbers, version strings and XML tags and entities, where this module
//! sees runs of letters and digits; `unaccent` also rewrites symbols, ligatures, letters with
//! hooks or strokes and compatibility forms (of the 1,650 characters PostgreSQL 15's
//! `unaccent` rewrites, the core folds the 835 accented letters exactly as it does, and no
//! other character); digits other than ASCII are letters to PostgreSQL and separators here; its
//! snowball stemmers are a newer release (measured: the same stems for 9,370 English words,
//! and in all 15 languages for the 2,401 words of PostgreSQL's stop-word lists, but for 15
//! Spanish and Russian words under the Finnish stemmer; the French one also differs on a final
//! `ë`, as in `aiguë`); and it lower-cases with the database's locale (`C` lower-cases ASCII
//! only). The scores are the same bit for bit where the texts analyse alike.
//!
//! Where parse-server differs: its PostgreSQL adapter passes `$term` to `to_tsquery`, so a
//! term of several words is an SQL error there (here they are alternatives, as on MongoDB);
//! it refuses `$caseSensitive: true` and `$diacriticSensitive: false` (here both work, the
//! latter on PostgreSQL with the `unaccent` extension, else parse-server's error); it accepts
//! only PostgreSQL configuration names (here MongoDB's codes too) and ignores unknown options
//! (here an error); it sorts by `$score` only when `keys` also names it. Here, as on MongoDB,
//! a `where` has at most one `$text` (102 otherwise), and a term at most [`MAX_TERM_PARTS`]
//! words and phrases (107). MongoDB folds diacritics unless told otherwise; here, as on
//! parse-server's PostgreSQL, they count unless `$diacriticSensitive` is false.

mod analysis;
mod rank;

use std::borrow::Cow;
use std::collections::HashMap;

use rust_stemmers::Algorithm;
use serde_json::{Map, Value};

use crate::error::{ParseError, ParseResult};
use analysis::{Analyzer, document};

pub use analysis::fold_diacritics;

/// The field a found object carries its text score in (parse-server's name).
pub const TEXT_SCORE_FIELD: &str = "score";

/// The most words and phrases a `$term` may have. Each becomes a bound parameter or two in
/// PostgreSQL, which takes at most 65535 per statement; real searches use a handful.
pub const MAX_TERM_PARTS: usize = 256;

/// A language of `$language`: PostgreSQL's text search configurations that have a snowball
/// stemmer here, which are also the languages MongoDB's text search knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    /// No stop words, no stemming (MongoDB's `none`).
    Simple,
    Danish,
    Dutch,
    English,
    Finnish,
    French,
    German,
    Hungarian,
    Italian,
    Norwegian,
    Portuguese,
    Romanian,
    Russian,
    Spanish,
    Swedish,
    Turkish,
}

/// What a language needs.
pub(crate) struct LanguageSpec {
    pub(crate) language: Language,
    /// The PostgreSQL text search configuration.
    pub(crate) config: &'static str,
    /// Other names `$language` accepts: MongoDB's codes.
    pub(crate) aliases: &'static [&'static str],
    pub(crate) stemmer: Option<Algorithm>,
    pub(crate) stop_words: Option<&'static str>,
}

macro_rules! languages {
    ($( $language:ident, $config:literal, [$($alias:literal),*], $stemmer:expr, $stop_words:expr; )*) => {
        pub(crate) const LANGUAGES: &[LanguageSpec] = &[$(
            LanguageSpec {
                language: Language::$language,
                config: $config,
                aliases: &[$($alias),*],
                stemmer: $stemmer,
                stop_words: $stop_words,
            },
        )*];
    };
}

languages! {
    Simple, "simple", ["none"], None, None;
    Danish, "danish", ["da"], Some(Algorithm::Danish), Some(include_str!("stopwords/danish.stop"));
    Dutch, "dutch", ["nl"], Some(Algorithm::Dutch), Some(include_str!("stopwords/dutch.stop"));
    English, "english", ["en"], Some(Algorithm::English), Some(include_str!("stopwords/english.stop"));
    Finnish, "finnish", ["fi"], Some(Algorithm::Finnish), Some(include_str!("stopwords/finnish.stop"));
    French, "french", ["fr"], Some(Algorithm::French), Some(include_str!("stopwords/french.stop"));
    German, "german", ["de"], Some(Algorithm::German), Some(include_str!("stopwords/german.stop"));
    Hungarian, "hungarian", ["hu"], Some(Algorithm::Hungarian), Some(include_str!("stopwords/hungarian.stop"));
    Italian, "italian", ["it"], Some(Algorithm::Italian), Some(include_str!("stopwords/italian.stop"));
    Norwegian, "norwegian", ["nb", "no"], Some(Algorithm::Norwegian), Some(include_str!("stopwords/norwegian.stop"));
    Portuguese, "portuguese", ["pt"], Some(Algorithm::Portuguese), Some(include_str!("stopwords/portuguese.stop"));
    Romanian, "romanian", ["ro"], Some(Algorithm::Romanian), None;
    Russian, "russian", ["ru"], Some(Algorithm::Russian), Some(include_str!("stopwords/russian.stop"));
    Spanish, "spanish", ["es"], Some(Algorithm::Spanish), Some(include_str!("stopwords/spanish.stop"));
    Swedish, "swedish", ["sv"], Some(Algorithm::Swedish), Some(include_str!("stopwords/swedish.stop"));
    Turkish, "turkish", ["tr"], Some(Algorithm::Turkish), Some(include_str!("stopwords/turkish.stop"));
}

impl Language {
    /// The language a `$language` value names (ignoring ASCII case), if supported.
    pub fn from_name(name: &str) -> Option<Language> {
        let name = name.to_ascii_lowercase();
        LANGUAGES
            .iter()
            .find(|spec| spec.config == name || spec.aliases.contains(&name.as_str()))
            .map(|spec| spec.language)
    }

    /// The PostgreSQL text search configuration of this language (`english`, `simple`, …).
    pub fn config_name(self) -> &'static str {
        self.spec().config
    }

    pub(crate) fn spec(self) -> &'static LanguageSpec {
        // `LANGUAGES` lists every variant; the fallback is never taken.
        LANGUAGES.iter().find(|spec| spec.language == self).unwrap_or(&LANGUAGES[0])
    }
}

/// A `$text` constraint's `$search`.
#[derive(Debug, Clone, PartialEq)]
pub struct TextSearch {
    pub term: String,
    pub language: Language,
    pub case_sensitive: bool,
    pub diacritic_sensitive: bool,
}

fn bad_text(detail: &str) -> ParseError {
    ParseError::invalid_json(format!("bad $text: {detail}"))
}

/// An optional boolean option; `null` counts as absent.
fn flag(search: &Map<String, Value>, key: &str, default: bool) -> ParseResult<bool> {
    match search.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(value)) => Ok(*value),
        Some(_) => Err(bad_text(&format!("{key}, should be boolean"))),
    }
}

impl TextSearch {
    /// Parses the operand of `$text`, with parse-server's error messages (code 107).
    pub fn parse(operand: &Value) -> ParseResult<TextSearch> {
        let search = operand.get("$search").and_then(Value::as_object);
        let Some(search) = search else {
            return Err(bad_text("$search, should be object"));
        };
        let term = match search.get("$term") {
            Some(Value::String(term)) if !term.is_empty() => term.clone(),
            _ => return Err(bad_text("$term, should be string")),
        };
        if TermParts::parse(&term).count() > MAX_TERM_PARTS {
            return Err(bad_text(&format!("$term, more than {MAX_TERM_PARTS} words and phrases")));
        }
        let language = match search.get("$language") {
            None | Some(Value::Null) => Language::English,
            Some(Value::String(name)) => Language::from_name(name)
                .ok_or_else(|| bad_text(&format!("$language, {name:?} is not a supported language")))?,
            Some(_) => return Err(bad_text("$language, should be string")),
        };
        let case_sensitive = flag(search, "$caseSensitive", false)?;
        let diacritic_sensitive = flag(search, "$diacriticSensitive", true)?;
        let known = ["$term", "$language", "$caseSensitive", "$diacriticSensitive"];
        if let Some(unknown) = search.keys().find(|key| !known.contains(&key.as_str())) {
            return Err(bad_text(&format!("unknown option {unknown} in $search")));
        }
        if let Some(unknown) = operand.as_object().and_then(|text| text.keys().find(|key| *key != "$search"))
        {
            return Err(bad_text(&format!("unknown option {unknown}")));
        }
        Ok(TextSearch { term, language, case_sensitive, diacritic_sensitive })
    }

    /// The term's words, phrases and exclusions, as written.
    pub fn parts(&self) -> TermParts {
        TermParts::parse(&self.term)
    }

    /// Prepares the search for matching and scoring texts.
    pub fn compile(&self) -> CompiledSearch {
        CompiledSearch::new(self)
    }
}

/// A `$term` split by its syntax. Words are the term's tokens (runs of letters and digits) as
/// written; phrases are the text between quotes as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TermParts {
    /// Alternatives: a text must contain one (unless there are phrases).
    pub words: Vec<String>,
    /// A text must contain each.
    pub phrases: Vec<String>,
    /// A text containing any of these does not match.
    pub excluded_words: Vec<String>,
    pub excluded_phrases: Vec<String>,
}

impl TermParts {
    /// How many words and phrases, excluded ones included.
    pub fn count(&self) -> usize {
        self.words.len() + self.phrases.len() + self.excluded_words.len() + self.excluded_phrases.len()
    }

    fn parse(term: &str) -> TermParts {
        let mut parts = TermParts::default();
        let mut rest = term;
        loop {
            rest = rest.trim_start();
            let Some(first) = rest.chars().next() else { break };
            let excluded = first == '-';
            if excluded {
                rest = &rest[1..];
            }
            if let Some(quoted) = rest.strip_prefix('"') {
                let (phrase, after) = quoted.split_once('"').unwrap_or((quoted, ""));
                let phrases = if excluded { &mut parts.excluded_phrases } else { &mut parts.phrases };
                if !phrase.trim().is_empty() {
                    phrases.push(phrase.to_string());
                }
                rest = after;
                continue;
            }
            let end = rest.find(|c: char| c.is_whitespace() || c == '"').unwrap_or(rest.len());
            let words = if excluded { &mut parts.excluded_words } else { &mut parts.words };
            words.extend(analysis::tokens(&rest[..end]).map(str::to_string));
            rest = &rest[end..];
        }
        parts
    }
}

/// A search ready to match and score texts.
pub struct CompiledSearch {
    analyzer: Analyzer,
    fold_diacritics: bool,
    case_sensitive: bool,
    words: Vec<Unit>,
    phrases: Vec<Unit>,
    excluded: Vec<Unit>,
}

/// A word or phrase of the term.
struct Unit {
    /// As written (diacritics folded when the search folds them), for `$caseSensitive`.
    written: String,
    /// Its lexemes at offsets from the first; empty when it is all stop words.
    lexemes: Vec<(u16, String)>,
}

impl CompiledSearch {
    fn new(search: &TextSearch) -> CompiledSearch {
        let parts = search.parts();
        let analyzer = Analyzer::new(search.language);
        let fold = !search.diacritic_sensitive;
        let unit = |written: &String| {
            let written = if fold { fold_diacritics(written) } else { written.clone() };
            let lexemes = analyzer.lexemes(&written);
            let first = lexemes.first().map_or(0, |lexeme| lexeme.position);
            let lexemes = lexemes.into_iter().map(|lexeme| (lexeme.position - first, lexeme.text)).collect();
            Unit { written, lexemes }
        };
        let words = parts.words.iter().map(unit).collect();
        let phrases = parts.phrases.iter().map(unit).collect();
        let excluded = parts.excluded_words.iter().chain(&parts.excluded_phrases).map(unit).collect();
        CompiledSearch {
            analyzer,
            fold_diacritics: fold,
            case_sensitive: search.case_sensitive,
            words,
            phrases,
            excluded,
        }
    }

    fn prepare<'t>(&self, text: &'t str) -> (Cow<'t, str>, HashMap<String, Vec<u16>>) {
        let text = if self.fold_diacritics { Cow::Owned(fold_diacritics(text)) } else { Cow::Borrowed(text) };
        let document = document(self.analyzer.lexemes(&text));
        (text, document)
    }

    /// Whether `text` satisfies the search.
    pub fn matches(&self, text: &str) -> bool {
        let (text, document) = self.prepare(text);
        let occurs = |unit: &Unit| {
            occurs_in(&document, &unit.lexemes) && (!self.case_sensitive || text.contains(&unit.written))
        };
        let wanted = if self.phrases.is_empty() {
            self.words.iter().any(occurs)
        } else {
            self.phrases.iter().all(occurs)
        };
        wanted && !self.excluded.iter().any(occurs)
    }

    /// The text score of `text` (0 when nothing of the term occurs in it).
    pub fn score(&self, text: &str) -> f64 {
        let (_, document) = self.prepare(text);
        let units: Vec<&rank::Unit> =
            self.words.iter().chain(&self.phrases).map(|unit| unit.lexemes.as_slice()).collect();
        rank::cover_density(&document, &units)
    }
}

/// Whether the lexemes occur in the document at their offsets from one another.
fn occurs_in(document: &HashMap<String, Vec<u16>>, lexemes: &[(u16, String)]) -> bool {
    let Some((_, first)) = lexemes.first() else {
        return false;
    };
    let Some(starts) = document.get(first) else {
        return false;
    };
    starts.iter().any(|start| {
        lexemes.iter().all(|(offset, lexeme)| {
            document.get(lexeme).is_some_and(|positions| positions.contains(&(start + offset)))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use serde_json::json;

    fn search(term: &str) -> TextSearch {
        TextSearch::parse(&json!({"$search": {"$term": term}})).unwrap()
    }

    fn with(options: Value) -> TextSearch {
        TextSearch::parse(&json!({ "$search": options })).unwrap()
    }

    /// parse-server's spec fixture (spec/ParseQuery.FullTextSearch.spec.js).
    const SUBJECTS: [&str; 8] = [
        "coffee",
        "Coffee Shopping",
        "Baking a cake",
        "baking",
        "Café Con Leche",
        "Сырники",
        "coffee and cream",
        "Cafe con Leche",
    ];

    fn matching(search: &TextSearch) -> Vec<&'static str> {
        let compiled = search.compile();
        SUBJECTS.iter().copied().filter(|subject| compiled.matches(subject)).collect()
    }

    #[test]
    fn finds_what_parse_server_on_postgresql_finds() {
        assert_eq!(matching(&search("coffee")), ["coffee", "Coffee Shopping", "coffee and cream"]);
        let spanish = with(json!({"$term": "leche", "$language": "spanish"}));
        assert_eq!(matching(&spanish), ["Café Con Leche", "Cafe con Leche"]);
        let accented = with(json!({"$term": "CAFÉ", "$diacriticSensitive": true}));
        assert_eq!(matching(&accented), ["Café Con Leche"]);
        // Where parse-server's MongoDB adapter supports the options.
        let folded = with(json!({"$term": "CAFÉ", "$diacriticSensitive": false}));
        assert_eq!(matching(&folded), ["Café Con Leche", "Cafe con Leche"]);
        let cased = with(json!({"$term": "Coffee", "$caseSensitive": true}));
        assert_eq!(matching(&cased), ["Coffee Shopping"]);
        assert_eq!(matching(&with(json!({"$term": "bake", "$language": "en"}))), ["Baking a cake", "baking"]);
        assert_eq!(matching(&with(json!({"$term": "сырник", "$language": "ru"}))), ["Сырники"]);
    }

    #[test]
    fn reads_the_term_syntax() {
        assert_eq!(
            search(r#"coffee "con leche" -cream -"shopping mall" tea-time"#).parts(),
            TermParts {
                words: vec!["coffee".into(), "tea".into(), "time".into()],
                phrases: vec!["con leche".into()],
                excluded_words: vec!["cream".into()],
                excluded_phrases: vec!["shopping mall".into()],
            }
        );
        assert_eq!(
            matching(&search("cake coffee")),
            ["coffee", "Coffee Shopping", "Baking a cake", "coffee and cream"]
        );
        assert_eq!(matching(&search("coffee -cream")), ["coffee", "Coffee Shopping"]);
        assert_eq!(matching(&search("\"con leche\" coffee")), ["Café Con Leche", "Cafe con Leche"]);
        assert_eq!(matching(&search("\"leche con\"")), Vec::<&str>::new());
        // Stop words hold their place in phrases, whichever stop word it is.
        assert_eq!(matching(&search("\"baking cake\"")), Vec::<&str>::new());
        assert_eq!(matching(&search("\"baking a cake\"")), ["Baking a cake"]);
        assert_eq!(matching(&search("\"baking the cake\"")), ["Baking a cake"]);
        assert_eq!(matching(&search("the and a")), Vec::<&str>::new());
        assert_eq!(matching(&search("-coffee")), Vec::<&str>::new());
        assert_eq!(matching(&search("\"unterminated coffee")), Vec::<&str>::new());
        let phrase_case = with(json!({"$term": "\"Con Leche\"", "$caseSensitive": true}));
        assert_eq!(matching(&phrase_case), ["Café Con Leche"]);
    }

    #[test]
    fn scores_more_and_closer_occurrences_higher() {
        let compiled = search("coffee cream").compile();
        let once = compiled.score("coffee");
        let both = compiled.score("coffee and cream");
        let thrice = compiled.score("coffee, coffee and more coffee");
        assert!(0.0 < once && once < both && both < thrice && thrice < 1.0, "{once} {both} {thrice}");
        assert_eq!(compiled.score("tea"), 0.0);
        assert_eq!(once, 0.09090909361839294);
    }

    #[test]
    fn rejects_bad_searches_with_parse_server_messages() {
        let cases = [
            (json!({"$search": true}), "bad $text: $search, should be object"),
            (json!("coffee"), "bad $text: $search, should be object"),
            (json!({"$search": {}}), "bad $text: $term, should be string"),
            (json!({"$search": {"$term": ""}}), "bad $text: $term, should be string"),
            (json!({"$search": {"$term": 1}}), "bad $text: $term, should be string"),
            (json!({"$search": {"$term": "a", "$language": true}}), "bad $text: $language, should be string"),
            (
                json!({"$search": {"$term": "a", "$language": "klingon"}}),
                "bad $text: $language, \"klingon\" is not a supported language",
            ),
            (
                json!({"$search": {"$term": "a", "$caseSensitive": "yes"}}),
                "bad $text: $caseSensitive, should be boolean",
            ),
            (
                json!({"$search": {"$term": "a", "$diacriticSensitive": 0}}),
                "bad $text: $diacriticSensitive, should be boolean",
            ),
            (json!({"$search": {"$term": "a", "$lang": "en"}}), "bad $text: unknown option $lang in $search"),
            (
                json!({"$search": {"$term": "coffee ".repeat(MAX_TERM_PARTS + 1)}}),
                "bad $text: $term, more than 256 words and phrases",
            ),
            (json!({"$search": {"$term": "a"}, "$x": 1}), "bad $text: unknown option $x"),
        ];
        for (operand, message) in cases {
            let error = TextSearch::parse(&operand).unwrap_err();
            assert_eq!((error.code, error.message.as_str()), (ErrorCode::InvalidJson, message), "{operand}");
        }
    }

    #[test]
    fn names_languages_as_postgresql_and_mongodb_do() {
        assert_eq!(Language::from_name("English"), Some(Language::English));
        assert_eq!(Language::from_name("es"), Some(Language::Spanish));
        assert_eq!(Language::from_name("none"), Some(Language::Simple));
        assert_eq!(Language::from_name("klingon"), None);
        assert_eq!(Language::Norwegian.config_name(), "norwegian");
        for spec in LANGUAGES {
            assert_eq!(spec.language.spec().config, spec.config);
        }
    }
}
