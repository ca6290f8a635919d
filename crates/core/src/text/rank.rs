//! The text score: PostgreSQL's `ts_rank_cd(vector, query, 32)` (cover density ranking, the
//! rank divided by itself plus one), which parse-server reports as `score`, computed over a
//! document and a query that is an OR of words and phrases.
//!
//! A *cover* is a shortest stretch of the document that satisfies the query. Scanning the
//! positions where query lexemes occur, PostgreSQL finds the first position at which the
//! stretch read so far satisfies the query (the cover's end), then walks back from there to
//! the last position that still satisfies it on its own (the cover's start), and resumes after
//! that start. Each cover adds `0.1 / (1 + noise)`, where 0.1 is the weight of an unweighted
//! lexeme (`to_tsvector` weighs every lexeme D) and noise counts the positions inside the cover
//! that hold no query lexeme. The arithmetic follows PostgreSQL's (weights as single-precision
//! floats, the result rounded to one), so scores come out bit for bit the same where the
//! documents analyse alike.

use std::collections::HashMap;

/// The weight of an unweighted (class D) lexeme in `ts_rank_cd`, a `float4` there.
const DEFAULT_WEIGHT: f32 = 0.1;

/// One alternative of the query: lexemes at offsets from the first (`0`). A word is one
/// lexeme; a phrase is several, a stop word inside it widening the offset of the next.
pub(crate) type Unit = [(u16, String)];

/// `ts_rank_cd(document, unit₁ | unit₂ | …, 32)`.
pub(crate) fn cover_density(document: &HashMap<String, Vec<u16>>, units: &[&Unit]) -> f64 {
    let query = Query::new(units);
    // Every position of a query lexeme, in document order.
    let mut entries: Vec<(u32, usize)> = Vec::new();
    for (id, lexeme) in query.lexemes.iter().enumerate() {
        if let Some(positions) = document.get(*lexeme) {
            entries.extend(positions.iter().map(|position| (u32::from(*position), id)));
        }
    }
    entries.sort_unstable();
    let mut window = Window::new(query.lexemes.len());
    let mut rank = 0.0_f64;
    let mut start = 0;
    while start < entries.len() {
        window.clear();
        let Some(end) = (start..entries.len()).find(|&index| {
            window.add(entries[index]);
            query.satisfied_by(&window)
        }) else {
            break;
        };
        window.clear();
        let begin = (start..=end).rev().find(|&index| {
            window.add(entries[index]);
            query.satisfied_by(&window)
        });
        let Some(begin) = begin else {
            start += 1;
            continue;
        };
        rank += cover_weight(entries[begin].0, entries[end].0, end - begin);
        start = begin + 1;
    }
    let normalized = rank / (rank + 1.0);
    f64::from(normalized as f32)
}

/// What one cover from position `first` to `last`, holding `span + 1` query positions, adds.
fn cover_weight(first: u32, last: u32, span: usize) -> f64 {
    let inverse_weight = 1.0 / f64::from(DEFAULT_WEIGHT);
    let inverse_sum = (0..=span).fold(0.0, |sum, _| sum + inverse_weight);
    let density = (span as f64 + 1.0) / inverse_sum;
    let mut noise = i64::from(last - first) - span as i64;
    if noise < 0 {
        // PostgreSQL's guess when capped positions make a cover look shorter than its lexemes.
        noise = (span / 2) as i64;
    }
    density / (1 + noise) as f64
}

/// The query's alternatives with lexemes numbered.
struct Query<'a> {
    lexemes: Vec<&'a str>,
    /// Each alternative as (offset, lexeme number).
    units: Vec<Vec<(u32, usize)>>,
}

impl<'a> Query<'a> {
    fn new(units: &[&'a Unit]) -> Query<'a> {
        let mut lexemes: Vec<&str> = Vec::new();
        let mut numbered = Vec::with_capacity(units.len());
        for unit in units.iter().filter(|unit| !unit.is_empty()) {
            let mut parts = Vec::with_capacity(unit.len());
            for (offset, lexeme) in unit.iter() {
                let id = match lexemes.iter().position(|known| known == lexeme) {
                    Some(id) => id,
                    None => {
                        lexemes.push(lexeme);
                        lexemes.len() - 1
                    }
                };
                parts.push((u32::from(*offset), id));
            }
            numbered.push(parts);
        }
        Query { lexemes, units: numbered }
    }

    /// Whether some alternative occurs within the positions in `window`.
    fn satisfied_by(&self, window: &Window) -> bool {
        self.units.iter().any(|unit| {
            let (_, first) = unit[0];
            window.positions[first].iter().any(|start| {
                unit.iter().all(|(offset, id)| window.positions[*id].contains(&(start + offset)))
            })
        })
    }
}

/// The positions of each query lexeme in the stretch being read.
struct Window {
    positions: Vec<Vec<u32>>,
}

impl Window {
    fn new(lexemes: usize) -> Window {
        Window { positions: vec![Vec::new(); lexemes] }
    }

    fn clear(&mut self) {
        self.positions.iter_mut().for_each(Vec::clear);
    }

    fn add(&mut self, (position, id): (u32, usize)) {
        self.positions[id].push(position);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(lexemes: &[(&str, &[u16])]) -> HashMap<String, Vec<u16>> {
        lexemes.iter().map(|(lexeme, positions)| (lexeme.to_string(), positions.to_vec())).collect()
    }

    fn word(lexeme: &str) -> Vec<(u16, String)> {
        vec![(0, lexeme.to_string())]
    }

    // Expected values are PostgreSQL 15's `ts_rank_cd(…, 32)::float8` for the same vectors.
    #[test]
    fn ranks_like_ts_rank_cd() {
        let coffee = word("coffe");
        let cream = word("cream");
        let once = document(&[("coffe", &[1])]);
        assert_eq!(cover_density(&once, &[&coffee]), 0.09090909361839294);
        let twice = document(&[("coffe", &[1, 3]), ("cream", &[5])]);
        assert_eq!(cover_density(&twice, &[&coffee]), 0.1666666716337204);
        assert_eq!(cover_density(&twice, &[&coffee, &cream]), 0.23076923191547394);
        let phrase = vec![(0, "cafe".to_string()), (2, "milk".to_string())];
        let cafe_with_milk = document(&[("cafe", &[1, 7]), ("milk", &[3, 4])]);
        assert_eq!(cover_density(&cafe_with_milk, &[&phrase]), 0.0476190485060215);
        assert_eq!(cover_density(&cafe_with_milk, &[&phrase, &coffee]), 0.0476190485060215);
        let a_b = vec![(0, "a".to_string()), (1, "b".to_string())];
        let a_c = vec![(0, "a".to_string()), (3, "c".to_string())];
        let c = word("c");
        let mixed = document(&[("a", &[1, 5]), ("b", &[2]), ("c", &[9])]);
        assert_eq!(cover_density(&mixed, &[&a_b, &c, &a_c]), 0.1666666716337204);
        assert_eq!(cover_density(&document(&[("tea", &[1])]), &[&coffee]), 0.0);
        assert_eq!(cover_density(&once, &[]), 0.0);
    }
}
