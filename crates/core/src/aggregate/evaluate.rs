//! Runs stages over documents as they arrive, so a caller can feed objects page by page:
//! `$match`, `$project`, `$unwind`, `$skip` and `$limit` pass each document on at once;
//! `$group` keeps only its accumulators and `$count` a number; `$sort` is the one stage that
//! holds every document it receives. What a blocking stage holds flows on at `finish`.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::ordering::identity;
use super::stages::{Accumulation, Stage, group_key, sort_documents};
use crate::error::ParseResult;
use crate::matcher::matches;
use crate::value::{Object, date_iso, date_value};

/// The fields that hold timestamps as plain ISO strings in stored objects. Inside a pipeline
/// they are Date values (so date operators, `$min`/`$max` and sorting treat them as dates);
/// at the top level of a result they are ISO strings again, as parse-server answers.
const TIMESTAMPS: [&str; 2] = ["createdAt", "updatedAt"];

/// One evaluation of a pipeline: [`feed`](Evaluation::feed) stored objects, then
/// [`finish`](Evaluation::finish).
#[derive(Debug)]
pub struct Evaluation<'p> {
    stages: &'p [Stage],
    states: Vec<State>,
    /// Top-level fields to keep of each stored object (`None`: all).
    keep: Option<&'p BTreeSet<String>>,
    output: Vec<Object>,
}

#[derive(Debug)]
enum State {
    Stateless,
    Skip(u64),
    Limit(u64),
    Group { groups: Vec<(Value, Vec<Accumulation>)>, index: HashMap<String, usize> },
    Sort(Vec<Object>),
    Count(u64),
}

/// What a stage does with one document.
enum Step {
    Drop,
    Pass(Object),
    Many(Vec<Object>),
}

impl<'p> Evaluation<'p> {
    /// `keep`: the top-level fields the stages read (see [`super::Plan::needed_fields`]);
    /// other fields are dropped from each object as it arrives.
    pub fn new(stages: &'p [Stage], keep: Option<&'p BTreeSet<String>>) -> Evaluation<'p> {
        let states = stages
            .iter()
            .map(|stage| match stage {
                Stage::Skip(count) => State::Skip(*count),
                Stage::Limit(count) => State::Limit(*count),
                Stage::Group(_) => State::Group { groups: Vec::new(), index: HashMap::new() },
                Stage::Sort(_) => State::Sort(Vec::new()),
                Stage::Count(_) => State::Count(0),
                Stage::Match(_) | Stage::Project(_) | Stage::Unwind(_) => State::Stateless,
            })
            .collect();
        Evaluation { stages, states, keep, output: Vec::new() }
    }

    /// Runs stored objects (REST encoding, as storage returns them) through the stages.
    pub fn feed(&mut self, objects: impl IntoIterator<Item = Object>) -> ParseResult<()> {
        for mut object in objects {
            if let Some(keep) = self.keep {
                // A new map rather than `retain`, which would keep the whole object's capacity
                // for every document a `$sort` holds.
                object = object.into_iter().filter(|(key, _)| keep.contains(key)).collect();
            }
            for field in TIMESTAMPS {
                if let Some(Value::String(iso)) = object.get(field) {
                    let date = date_value(iso);
                    object.insert(field.to_string(), date);
                }
            }
            self.push(0, object)?;
        }
        Ok(())
    }

    /// Whether no further object can change the result: a `$limit` reached before any stage
    /// that needs every object. The caller may stop reading.
    pub fn is_saturated(&self) -> bool {
        for (stage, state) in self.stages.iter().zip(&self.states) {
            match (stage, state) {
                (_, State::Limit(0)) => return true,
                (Stage::Group(_) | Stage::Sort(_) | Stage::Count(_), _) => return false,
                _ => {}
            }
        }
        false
    }

    fn push(&mut self, index: usize, document: Object) -> ParseResult<()> {
        let Some(stage) = self.stages.get(index) else {
            self.output.push(document);
            return Ok(());
        };
        let step = match (stage, &mut self.states[index]) {
            (Stage::Match(filter), _) => {
                if matches(filter, &document) {
                    Step::Pass(document)
                } else {
                    Step::Drop
                }
            }
            (Stage::Project(projection), _) => Step::Pass(projection.apply(document)?),
            (Stage::Unwind(unwind), _) => Step::Many(unwind.apply(document)),
            (Stage::Skip(_), State::Skip(remaining)) => {
                if *remaining > 0 {
                    *remaining -= 1;
                    Step::Drop
                } else {
                    Step::Pass(document)
                }
            }
            (Stage::Limit(_), State::Limit(remaining)) => {
                if *remaining > 0 {
                    *remaining -= 1;
                    Step::Pass(document)
                } else {
                    Step::Drop
                }
            }
            (Stage::Group(group), State::Group { groups, index: by_key }) => {
                let key = group_key(group.key.evaluate(&document)?);
                let slot = *by_key.entry(identity(&key)).or_insert_with(|| {
                    let accumulations = group
                        .outputs
                        .iter()
                        .map(|(_, accumulator, _)| Accumulation::new(*accumulator))
                        .collect();
                    groups.push((key, accumulations));
                    groups.len() - 1
                });
                for ((_, _, expression), accumulation) in group.outputs.iter().zip(&mut groups[slot].1) {
                    accumulation.add(expression.evaluate(&document)?);
                }
                Step::Drop
            }
            (Stage::Sort(_), State::Sort(buffer)) => {
                buffer.push(document);
                Step::Drop
            }
            (Stage::Count(_), State::Count(count)) => {
                *count += 1;
                Step::Drop
            }
            // States are built from the stages, one for one.
            _ => Step::Drop,
        };
        match step {
            Step::Drop => Ok(()),
            Step::Pass(document) => self.push(index + 1, document),
            Step::Many(documents) => {
                documents.into_iter().try_for_each(|document| self.push(index + 1, document))
            }
        }
    }

    /// Lets what the blocking stages hold flow through the rest of the pipeline, and returns
    /// the results as a client receives them.
    pub fn finish(mut self) -> ParseResult<Vec<Object>> {
        for index in 0..self.stages.len() {
            let held =
                match (&self.stages[index], std::mem::replace(&mut self.states[index], State::Stateless)) {
                    (Stage::Group(group), State::Group { groups, .. }) => groups
                        .into_iter()
                        .map(|(key, accumulations)| {
                            let mut document = Object::new();
                            document.insert("objectId".into(), key);
                            for ((name, _, _), accumulation) in group.outputs.iter().zip(accumulations) {
                                document.insert(name.clone(), accumulation.result());
                            }
                            document
                        })
                        .collect(),
                    (Stage::Sort(keys), State::Sort(mut buffer)) => {
                        sort_documents(&mut buffer, keys);
                        buffer
                    }
                    (Stage::Count(name), State::Count(count)) if count > 0 => {
                        let mut document = Object::new();
                        document.insert(name.clone(), Value::from(count));
                        vec![document]
                    }
                    (_, state) => {
                        // Not a blocking stage: its state (a skip or limit count) stays.
                        self.states[index] = state;
                        continue;
                    }
                };
            for document in held {
                self.push(index + 1, document)?;
            }
        }
        Ok(self.output.into_iter().map(client_result).collect())
    }
}

/// A result as parse-server sends it: timestamps as ISO strings at the top level, and no
/// hidden keys (`_rperm`, `_hashed_password`, …: parse-server's `removeHiddenProperties`
/// drops every top-level key that is not `[A-Za-z][A-Za-z0-9_]*`).
fn client_result(mut document: Object) -> Object {
    document.retain(|key, _| {
        key.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    for field in TIMESTAMPS {
        if let Some(iso) = document.get(field).and_then(date_iso).map(str::to_string) {
            document.insert(field.to_string(), Value::String(iso));
        }
    }
    document
}
