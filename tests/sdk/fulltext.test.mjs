// Full-text search: Parse.Query.fullText (with its options), sortByTextScore and
// select('$score'), and the REST `$text` errors — parse-server's
// spec/ParseQuery.FullTextSearch.spec.js, on SQLite and on PostgreSQL.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { useServer, uniq, assertParseError, expectParseError } from './harness.mjs';

const ctx = useServer();
const onPostgres = process.env.REPARSE_TEST_DATABASE === 'postgres';

// parse-server's fixture.
const SUBJECTS = [
  'coffee',
  'Coffee Shopping',
  'Baking a cake',
  'baking',
  'Café Con Leche',
  'Сырники',
  'coffee and cream',
  'Cafe con Leche',
];

/** Saves `rows` (objects) once per name into a new class; resolves to the class name. */
const seeded = new Map();
function seed(name, rows) {
  if (!seeded.has(name)) {
    const { Parse } = ctx;
    const className = uniq(name);
    const saving = Parse.Object.saveAll(rows.map(row => new Parse.Object(className, row))).then(() => className);
    seeded.set(name, saving);
  }
  return seeded.get(name);
}
const fixture = () => seed('TestObject', SUBJECTS.map(subject => ({ subject, comment: subject })));
const scoredFixture = () =>
  seed(
    'Scored',
    ['coffee', 'coffee, more coffee', 'tea', 'coffee, coffee and coffee', 'coffee shop'].map((subject, rank) => ({
      subject,
      rank,
    }))
  );

const subjects = results => results.map(r => r.get('subject')).sort();
const search = (term, options = {}) => ({ subject: { $text: { $search: { $term: term, ...options } } } });
const find = async params => ctx.server.request('GET', `/classes/${await fixture()}`, { query: params });

describe('fullText', () => {
  it('finds the words of a term, stemmed and ignoring case', async () => {
    const { Parse } = ctx;
    const cls = await fixture();
    const found = await new Parse.Query(cls).fullText('subject', 'coffee').find();
    assert.deepEqual(subjects(found), ['Coffee Shopping', 'coffee', 'coffee and cream']);
    const stemmed = await new Parse.Query(cls).fullText('subject', 'bakes').find();
    assert.deepEqual(subjects(stemmed), ['Baking a cake', 'baking']);
    assert.equal(await new Parse.Query(cls).fullText('subject', 'coffee').count(), 3);
    assert.deepEqual(await new Parse.Query(cls).fullText('subject', 'tea').find(), []);
  });

  it('reads several words as alternatives, quotes as phrases and a leading - as exclusion', async () => {
    const { Parse } = ctx;
    const cls = await fixture();
    const query = term => new Parse.Query(cls).fullText('subject', term).find().then(subjects);
    assert.deepEqual(await query('coffee cake'), ['Baking a cake', 'Coffee Shopping', 'coffee', 'coffee and cream']);
    assert.deepEqual(await query('"con leche"'), ['Cafe con Leche', 'Café Con Leche']);
    assert.deepEqual(await query('"leche con"'), []);
    assert.deepEqual(await query('coffee -cream'), ['Coffee Shopping', 'coffee']);
    // Characters that are tsquery syntax are only text.
    assert.deepEqual(await query("coffee & (cream | !tea) 'x' :*"), ['Coffee Shopping', 'coffee', 'coffee and cream']);
    assert.deepEqual(await query('the and a'), []);
  });

  it('combines with other constraints and inside or', async () => {
    const { Parse } = ctx;
    const cls = await fixture();
    const withOther = await new Parse.Query(cls).fullText('subject', 'coffee').notEqualTo('comment', 'coffee').find();
    assert.deepEqual(subjects(withOther), ['Coffee Shopping', 'coffee and cream']);
    const either = Parse.Query.or(
      new Parse.Query(cls).fullText('subject', 'cake'),
      new Parse.Query(cls).equalTo('subject', 'Сырники')
    );
    assert.deepEqual(subjects(await either.find()), ['Baking a cake', 'Сырники']);
  });

  it('takes language, caseSensitive and diacriticSensitive options', async () => {
    const { Parse } = ctx;
    const cls = await fixture();
    const query = (term, options) => new Parse.Query(cls).fullText('subject', term, options).find().then(subjects);
    assert.deepEqual(await query('leche', { language: 'spanish' }), ['Cafe con Leche', 'Café Con Leche']);
    assert.deepEqual(await query('leche', { language: 'es' }), ['Cafe con Leche', 'Café Con Leche']);
    assert.deepEqual(await query('сырник', { language: 'russian' }), ['Сырники']);
    assert.deepEqual(await query('CAFÉ', { diacriticSensitive: true }), ['Café Con Leche']);
    // parse-server's PostgreSQL adapter refuses caseSensitive; Reparse supports it on both.
    assert.deepEqual(await query('Coffee', { caseSensitive: true }), ['Coffee Shopping']);
    assert.deepEqual(await query('Coffee', { caseSensitive: false }), ['Coffee Shopping', 'coffee', 'coffee and cream']);
  });

  it('folds diacritics with diacriticSensitive: false (PostgreSQL: with the unaccent extension)', async () => {
    const { Parse } = ctx;
    const cls = await fixture();
    const folded = () => new Parse.Query(cls).fullText('subject', 'CAFÉ', { diacriticSensitive: false }).find();
    if (onPostgres) {
      await expectParseError(
        folded(),
        Parse.Error.INVALID_JSON,
        'bad $text: $diacriticSensitive - false not supported, install Postgres Unaccent Extension'
      );
      const database = new URL(ctx.server.config.databaseURI).pathname.slice(1);
      execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', database, '-qc', 'CREATE EXTENSION unaccent']);
    }
    assert.deepEqual(subjects(await folded()), ['Cafe con Leche', 'Café Con Leche']);
  });
});

describe('text score', () => {
  it('sortByTextScore orders by score, best first, and returns it', async () => {
    const { Parse } = ctx;
    const scored = await scoredFixture();
    const found = await new Parse.Query(scored).fullText('subject', 'coffee').sortByTextScore().find();
    // sortByTextScore selects $score only, so the subjects come from a plain query.
    const all = await new Parse.Query(scored).find();
    const subjectOf = new Map(all.map(r => [r.id, r.get('subject')]));
    const ranked = found.map(r => subjectOf.get(r.id));
    assert.deepEqual(ranked.slice(0, 2), ['coffee, coffee and coffee', 'coffee, more coffee']);
    assert.deepEqual(ranked.slice(2).sort(), ['coffee', 'coffee shop']);
    const scores = found.map(r => r.get('score'));
    assert.ok(scores.every(score => typeof score === 'number' && score > 0 && score < 1), `${scores}`);
    assert.ok(scores[0] > scores[1] && scores[1] > scores[2], `${scores}`);
    assert.equal(scores[2], scores[3]);
    assert.ok(found.every(r => r.get('subject') === undefined && r.get('rank') === undefined));
  });

  it("select('$score') returns the score next to the selected fields", async () => {
    const { Parse } = ctx;
    const scored = await scoredFixture();
    const found = await new Parse.Query(scored)
      .fullText('subject', 'coffee')
      .select('$score', 'subject')
      .ascending('rank')
      .find();
    assert.deepEqual(found.map(r => r.get('subject')), [
      'coffee',
      'coffee, more coffee',
      'coffee, coffee and coffee',
      'coffee shop',
    ]);
    assert.ok(found.every(r => r.get('score') > 0 && r.get('rank') === undefined));
    const plain = await new Parse.Query(scored).fullText('subject', 'coffee').find();
    assert.ok(plain.every(r => r.get('score') === undefined && typeof r.get('rank') === 'number'));
  });

  it('order=$score and -$score both put the best first (REST, as parse-server)', async () => {
    const scored = await scoredFixture();
    for (const order of ['$score', '-$score']) {
      const res = await ctx.server.request('GET', `/classes/${scored}`, {
        query: { where: search('coffee'), order, keys: '$score', limit: 2 },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.results.length, 2);
      const [first, second] = res.json.results.map(r => r.score);
      assert.ok(first > second && second > 0, res.text);
      assert.deepEqual(Object.keys(res.json.results[0]).sort(), ['createdAt', 'objectId', 'score', 'updatedAt']);
    }
  });
});

describe('$text errors', () => {
  // (where, code, message): parse-server's codes and messages.
  const cases = [
    [{ subject: { $text: { $search: true } } }, 107, 'bad $text: $search, should be object'],
    [{ subject: { $text: {} } }, 107, 'bad $text: $search, should be object'],
    [{ subject: { $text: { $search: {} } } }, 107, 'bad $text: $term, should be string'],
    [search(''), 107, 'bad $text: $term, should be string'],
    [search('leche', { $language: true }), 107, 'bad $text: $language, should be string'],
    [search('leche', { $language: 'klingon' }), 107, 'bad $text: $language, "klingon" is not a supported language'],
    [search('Coffee', { $caseSensitive: 'string' }), 107, 'bad $text: $caseSensitive, should be boolean'],
    [search('CAFÉ', { $diacriticSensitive: 'string' }), 107, 'bad $text: $diacriticSensitive, should be boolean'],
    [
      { $or: [search('coffee'), search('cake')] },
      102,
      'bad $text: a query can have one $text constraint only',
    ],
  ];
  for (const [where, code, message] of cases) {
    it(`${JSON.stringify(where)} is ${code}`, async () => {
      assertParseError(await find({ where }), 400, code, message);
    });
  }

  it('$score without $text is 102', async () => {
    const message = '$score needs a $text constraint in where';
    assertParseError(await find({ keys: '$score' }), 400, 102, message);
    assertParseError(await find({ where: { subject: 'coffee' }, order: '$score' }), 400, 102, message);
    const { Parse } = ctx;
    const cls = await fixture();
    await expectParseError(new Parse.Query(cls).sortByTextScore().find(), Parse.Error.INVALID_QUERY, message);
  });
});
