// The canonical JSON that the hash chain hashes: RFC 8785 output (checked against the `canonicalize` package) and
// strict refusal of anything that is not plain JSON, naming where it is.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import canonicalize from 'canonicalize';
import { canonicalJson, MAX_JSON_DEPTH, NotJsonError } from '../../infra/eventstore/canonical-json.ts';

describe('canonical JSON', () => {
  const shared = { reused: ['twice'] };
  const samples: [string, unknown][] = [
    ['keys sorted by UTF-16 code units', { b: 1, a: 2, B: 3, é: 4, '😀': 5, '\uff61': 6, '10': 7, '2': 8, '': 9 }],
    ['nested objects and arrays', { z: { y: [{ b: 1, a: [2, { d: null, c: true }] }], x: false }, a: [] }],
    ['numbers in ECMAScript form', { n: [0, -0, 1, -1, 0.1, 1e21, 1e-7, 123456789012345680000, 2 ** 53, 5e-324, 1.7976931348623157e308, 4.5] }],
    ['strings with escapes', { s: 'quote " backslash \\ slash / tab \t newline \n \u0001 \u001f \u007f \u2028 \u2029' }],
    ['unicode text', { emoji: '👩🏽‍🚒🔥', rtl: 'مرحبا שלום', combining: 'e\u0301' }],
    ['shared references that are not cycles', { left: shared, right: shared }],
    ['an object without a prototype', Object.assign(Object.create(null) as object, { b: 1, a: 2 })],
  ];
  for (const [label, value] of samples) {
    test(`matches RFC 8785 (canonicalize): ${label}`, () => {
      assert.equal(canonicalJson(value), canonicalize(value));
    });
  }

  test('ignores symbol-keyed properties, as JSON does', () => {
    assert.equal(canonicalJson({ a: 1, [Symbol('hidden')]: 2 }), '{"a":1}');
  });

  const refusals: [string, unknown, string][] = [
    ['undefined', { a: [1, undefined] }, '$.a[1]'],
    ['a function', { run: () => 1 }, '$.run'],
    ['a BigInt', { big: 10n }, '$.big'],
    ['a symbol value', { tag: Symbol('x') }, '$.tag'],
    ['NaN', { ratio: Number.NaN }, '$.ratio'],
    ['-Infinity', { low: Number.NEGATIVE_INFINITY }, '$.low'],
    ['a Date', { at: new Date(0) }, '$.at'],
    ['a Map', { labels: new Map() }, '$.labels'],
    ['a class instance', { error: new Error('x') }, '$.error'],
    ['a typed array', { bytes: new Uint8Array(2) }, '$.bytes'],
    ['a sparse array', { holes: [1, , 3] }, '$.holes[1]'], // eslint-disable-line no-sparse-arrays
    ['NUL in a value', { text: 'a\u0000b' }, '$.text'],
    ['NUL in a key', { 'a\u0000': 1 }, '$.a\u0000'],
    ['a lone surrogate', { text: 'x\udc00' }, '$.text'],
  ];
  for (const [label, value, path] of refusals) {
    test(`refuses ${label}, naming ${JSON.stringify(path)}`, () => {
      assert.throws(
        () => canonicalJson(value),
        (error: unknown) => error instanceof NotJsonError && error.path === path,
      );
    });
  }

  test('refuses a cycle', () => {
    const node: Record<string, unknown> = { name: 'loop' };
    node.children = [node];
    assert.throws(() => canonicalJson(node), (error: unknown) => error instanceof NotJsonError && error.path === '$.children[0]');
  });

  test(`refuses nesting deeper than ${MAX_JSON_DEPTH} levels and accepts exactly that deep`, () => {
    const nest = (depth: number): unknown => (depth === 0 ? 'leaf' : { next: nest(depth - 1) });
    assert.doesNotThrow(() => canonicalJson(nest(MAX_JSON_DEPTH)));
    assert.throws(() => canonicalJson(nest(MAX_JSON_DEPTH + 1)), NotJsonError);
  });

  test('a string needing escapes inside a key is escaped, not refused', () => {
    assert.equal(canonicalJson({ 'say "hi"\n': 1 }), '{"say \\"hi\\"\\n":1}');
  });
});
