//! Text → lexemes with positions: the part of PostgreSQL's `to_tsvector(<config>, text)` that
//! Reparse reproduces (its default parser for plain words, then the configuration's snowball
//! dictionary), so that SQLite and the matcher find what PostgreSQL finds.
//!
//! 1. With `$diacriticSensitive: false`, diacritics are folded first ([`fold_diacritics`]), as
//!    `to_tsvector(<config>, unaccent(text))` does.
//! 2. Tokens are the maximal runs of letters (Unicode alphabetic) and ASCII digits. Each token
//!    takes the next position (1, 2, …; stop words too), capped at 16383 as in a `tsvector`;
//!    a token of 2047 bytes or more is skipped without a position, as PostgreSQL skips it.
//! 3. A token with a digit is lower-cased only (PostgreSQL maps `int` and `numword` tokens to
//!    the `simple` dictionary). Any other token is lower-cased, dropped if it is a stop word
//!    (its position stays taken), and stemmed with the language's snowball stemmer.
//!    PostgreSQL's `russian` configuration treats all-ASCII words as English; so does this.
//! 4. A lexeme keeps at most 255 positions, as a `tsvector` does.
//!
//! Lower-casing maps one character to one character, like the C library's `towlower` that
//! PostgreSQL uses (so `İ` becomes `i`, and a final `Σ` becomes `σ`, not `ς`).

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use rust_stemmers::Stemmer;
use unicode_normalization::UnicodeNormalization;

use super::Language;

/// The largest position a `tsvector` records; later tokens share it.
const MAX_POSITION: u16 = 16383;
/// A `tsvector` keeps at most this many positions of one lexeme.
const MAX_POSITIONS_PER_LEXEME: usize = 255;
/// PostgreSQL ignores tokens this long or longer ("word is too long to be indexed").
const MAX_TOKEN_BYTES: usize = 2047;

/// A lexeme at a position of the analysed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lexeme {
    pub(crate) position: u16,
    pub(crate) text: String,
}

/// How one language turns tokens into lexemes.
pub(crate) struct Analyzer {
    /// The dictionary for tokens that are all ASCII letters.
    ascii_words: Dictionary,
    /// The dictionary for other words made of letters.
    words: Dictionary,
}

/// A snowball dictionary (stop words, then a stemmer), or `simple` (neither).
struct Dictionary {
    stemmer: Option<Stemmer>,
    stop_words: Option<&'static HashSet<String>>,
}

impl Dictionary {
    fn new(language: Language) -> Dictionary {
        Dictionary { stemmer: language.spec().stemmer.map(Stemmer::create), stop_words: stop_words(language) }
    }
}

impl Analyzer {
    pub(crate) fn new(language: Language) -> Analyzer {
        // PostgreSQL's `russian` configuration maps `asciiword` to `english_stem`.
        let ascii_language = if language == Language::Russian { Language::English } else { language };
        Analyzer { ascii_words: Dictionary::new(ascii_language), words: Dictionary::new(language) }
    }

    /// The lexemes of `text`, in order of position. Stop words leave their position empty.
    pub(crate) fn lexemes(&self, text: &str) -> Vec<Lexeme> {
        let mut lexemes = Vec::new();
        let mut position: u16 = 0;
        for token in tokens(text) {
            if token.len() >= MAX_TOKEN_BYTES {
                continue;
            }
            position = position.saturating_add(1).min(MAX_POSITION);
            if let Some(text) = self.normalize(token) {
                lexemes.push(Lexeme { position, text });
            }
        }
        lexemes
    }

    /// The lexeme of one token, or `None` for a stop word.
    fn normalize(&self, token: &str) -> Option<String> {
        let lower = lower_case(token);
        if token.chars().any(|c| c.is_ascii_digit()) {
            return Some(lower);
        }
        let dictionary = if token.is_ascii() { &self.ascii_words } else { &self.words };
        if dictionary.stop_words.is_some_and(|stop_words| stop_words.contains(&lower)) {
            return None;
        }
        Some(match &dictionary.stemmer {
            Some(stemmer) => stemmer.stem(&lower).into_owned(),
            None => lower,
        })
    }
}

/// The tokens of `text`: maximal runs of letters and ASCII digits.
pub(crate) fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !is_word_character(c)).filter(|token| !token.is_empty())
}

fn is_word_character(c: char) -> bool {
    c.is_alphabetic() || c.is_ascii_digit()
}

fn lower_case(token: &str) -> String {
    token.chars().map(|c| c.to_lowercase().next().unwrap_or(c)).collect()
}

/// A document as a `tsvector`: each lexeme's positions, ascending and distinct.
pub(crate) fn document(lexemes: Vec<Lexeme>) -> HashMap<String, Vec<u16>> {
    let mut positions: HashMap<String, Vec<u16>> = HashMap::new();
    for lexeme in lexemes {
        let list = positions.entry(lexeme.text).or_default();
        if list.len() < MAX_POSITIONS_PER_LEXEME && list.last() != Some(&lexeme.position) {
            list.push(lexeme.position);
        }
    }
    positions
}

/// The stop words of a language, parsed once (PostgreSQL trims and lower-cases each line).
fn stop_words(language: Language) -> Option<&'static HashSet<String>> {
    static SETS: LazyLock<HashMap<Language, HashSet<String>>> = LazyLock::new(|| {
        super::LANGUAGES
            .iter()
            .filter_map(|spec| {
                let list = spec.stop_words?;
                let words = list.lines().map(str::trim).filter(|line| !line.is_empty()).map(lower_case);
                Some((spec.language, words.collect()))
            })
            .collect()
    });
    SETS.get(&language)
}

/// Folds diacritics the way PostgreSQL's `unaccent` extension does for letters: a Latin or
/// Greek letter whose canonical decomposition is a plain letter (ASCII, or basic Greek)
/// followed by combining marks becomes that letter; the combining marks U+0300–U+0362
/// disappear; `ё` becomes `е`; and the Latin letters that have no decomposition but an
/// unaccented spelling (`ß`, `æ`, `ø`, `ł`, …) are spelled out. Other scripts are left alone
/// (Cyrillic `й` stays `й`, as with `unaccent`), and so are the symbols, ligatures, letters with
/// hooks or strokes and compatibility forms `unaccent` also rewrites (`©`, `½`, `ﬁ`, `ƀ`, `Ａ`),
/// a documented difference.
pub fn fold_diacritics(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars() {
        if is_folded_mark(c) {
            continue;
        }
        if let Some(spelled) = spelled_out(c) {
            folded.push_str(spelled);
            continue;
        }
        folded.push(accentless(c).unwrap_or(c));
    }
    folded
}

/// The plain letter under an accented one, if `unaccent` takes the accents off.
fn accentless(c: char) -> Option<char> {
    if !has_foldable_accents(c) {
        return None;
    }
    // Singletons (`ά` U+1F71, which is `ά` U+03AC again) stay as they are, as in `unaccent`.
    if std::iter::once(c).nfc().ne(std::iter::once(c)) {
        return None;
    }
    let mut decomposed = std::iter::once(c).nfd();
    let base = decomposed.next()?;
    let plain =
        base.is_ascii_alphabetic() || ('\u{0391}'..='\u{03C9}').contains(&base) || matches!(base, 'е' | 'Е');
    (base != c && plain && decomposed.all(is_folded_mark)).then_some(base)
}

/// Combining marks `unaccent` removes.
fn is_folded_mark(c: char) -> bool {
    ('\u{0300}'..='\u{0362}').contains(&c)
}

/// Letters whose accents `unaccent` folds: the Latin and Greek blocks, and Cyrillic `ё`.
fn has_foldable_accents(c: char) -> bool {
    matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}' | '\u{0370}'..='\u{03FF}' | '\u{1F00}'..='\u{1FFF}' | 'ё' | 'Ё')
}

/// Letters without a canonical decomposition that `unaccent` spells with plain letters.
fn spelled_out(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "ss",
        'ẞ' => "SS",
        'æ' => "ae",
        'Æ' => "AE",
        'œ' => "oe",
        'Œ' => "OE",
        'ø' => "o",
        'Ø' => "O",
        'đ' | 'ð' => "d",
        'Đ' | 'Ð' => "D",
        'ł' | 'ŀ' => "l",
        'Ł' | 'Ŀ' => "L",
        'ħ' => "h",
        'Ħ' => "H",
        'ı' => "i",
        'ŧ' => "t",
        'Ŧ' => "T",
        'þ' => "th",
        'Þ' => "TH",
        'ĸ' => "q",
        'ſ' => "s",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexemes(language: Language, text: &str) -> Vec<(u16, String)> {
        Analyzer::new(language)
            .lexemes(text)
            .into_iter()
            .map(|lexeme| (lexeme.position, lexeme.text))
            .collect()
    }

    fn pairs(expected: &[(u16, &str)]) -> Vec<(u16, String)> {
        expected.iter().map(|(position, text)| (*position, text.to_string())).collect()
    }

    // Expected values are what PostgreSQL 15's `to_tsvector` gives for the same text.
    #[test]
    fn analyses_like_to_tsvector() {
        assert_eq!(
            lexemes(Language::English, "The Coffees were running, don't you think? abc123 2024"),
            pairs(&[(2, "coffe"), (4, "run"), (8, "think"), (9, "abc123"), (10, "2024")])
        );
        assert_eq!(
            lexemes(Language::English, "Café Con Leche CAFÉ naïve café_latte x²y"),
            pairs(&[
                (1, "café"),
                (2, "con"),
                (3, "lech"),
                (4, "café"),
                (5, "naïv"),
                (6, "café"),
                (7, "latt"),
                (8, "x"),
                (9, "y")
            ])
        );
        assert_eq!(
            lexemes(Language::Simple, "İSTANBUL ΣΊΣΥΦΟΣ The"),
            pairs(&[(1, "istanbul"), (2, "σίσυφοσ"), (3, "the")])
        );
        assert_eq!(lexemes(Language::Spanish, "Café con leche"), pairs(&[(1, "caf"), (3, "lech")]));
        // Russian: ASCII words go to the English dictionary (its stop words included).
        assert_eq!(lexemes(Language::Russian, "the running Сырники и"), pairs(&[(2, "run"), (3, "сырник")]));
    }

    #[test]
    fn documents_cap_positions_like_a_tsvector() {
        let text = "coffee ".repeat(300);
        let document = document(Analyzer::new(Language::English).lexemes(&text));
        let positions = &document["coffe"];
        assert_eq!(positions.len(), MAX_POSITIONS_PER_LEXEME);
        assert_eq!(positions[..3], [1, 2, 3]);
        let long = format!("{} coffee", "a".repeat(MAX_TOKEN_BYTES));
        assert_eq!(lexemes(Language::English, &long), pairs(&[(1, "coffe")]));
    }

    // Expected values are what PostgreSQL 15's `unaccent` gives.
    #[test]
    fn folds_diacritics_like_unaccent() {
        assert_eq!(fold_diacritics("Café CAFÉ crème brûlée Ñandú"), "Cafe CAFE creme brulee Nandu");
        assert_eq!(fold_diacritics("Straße Æsir Øre łódź þorn"), "Strasse AEsir Ore lodz thorn");
        assert_eq!(fold_diacritics("άέήίόύώ ΐ"), "αεηιουω ι");
        assert_eq!(fold_diacritics("cafe\u{0301} ёлка йогурт Ǣ"), "cafe елка йогурт Ǣ");
        assert_eq!(fold_diacritics("नमस्ते"), "नमस्ते");
    }
}
