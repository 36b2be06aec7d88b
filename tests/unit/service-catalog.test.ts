// Reading a decoded catalog: the shapes accepted, and a bad catalog refused whole with every problem named by entry.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CatalogError, readCatalog } from '../../domain/service/index.ts';

function problemsOf(document: unknown): readonly string[] {
  try {
    readCatalog(document);
  } catch (error) {
    assert.ok(error instanceof CatalogError, String(error));
    return error.problems;
  }
  assert.fail('the catalog was accepted');
}

describe('catalog', () => {
  test('a list of services, or one under `services`, each with only a name required', () => {
    const services = [
      { name: 'checkout', tier: 1, owner: 'payments', runbookUrl: 'https://runbooks.example.com/checkout', tags: ['pci'], dependsOn: ['cart'] },
      { name: 'cart' },
    ];
    const expected = [
      { name: 'checkout', tier: 1, owner: 'payments', runbookUrl: 'https://runbooks.example.com/checkout', tags: ['pci'], dependsOn: ['cart'] },
      { name: 'cart', tier: null, owner: null, runbookUrl: null, tags: [], dependsOn: [] },
    ];
    assert.deepEqual(readCatalog(services), expected);
    assert.deepEqual(readCatalog({ services }), expected);
    assert.deepEqual(readCatalog([]), []);
  });

  test('every bad entry is named, by position and name, with what is wrong', () => {
    const problems = problemsOf([
      { name: 'ok' },
      { name: 'Bad Name' },
      { name: 'tiered', tier: 'high' },
      { name: 'typo', dependson: ['x'] },
      'just-a-string',
      { name: 'selfish', dependsOn: ['selfish'] },
      { name: 'ok' },
      { name: 'web', runbookUrl: 'not a url' },
    ]);
    assert.deepEqual(problems, [
      'services[1] (Bad Name): name: "Bad Name" is not a service name: 1–100 characters of a-z, 0-9, ".", "_" and "-"',
      'services[2] (tiered): tier: must be a number',
      'services[3] (typo): dependson: unknown field(s); an entry has name, tier, owner, runbookUrl, tags, dependsOn',
      'services[4]: entry: must be an object with at least a name',
      'services[5] (selfish): dependsOn: selfish cannot depend on itself',
      'services[6] (ok): ok is already described by services[0]',
      'services[7] (web): runbookUrl: "not a url" is not an http(s) URL of at most 2048 characters',
    ]);
  });

  test('the message names the problems and says nothing was changed', () => {
    assert.throws(() => readCatalog([{ name: 'x', tier: 9 }]), {
      name: 'CatalogError',
      field: 'document',
      message: 'document: the catalog was not imported (nothing was changed): services[0] (x): tier: must be an integer from 1 (most critical) to 5, got 9',
    });
  });

  for (const document of [null, 'checkout', { services: 'checkout' }, { services: [], extra: true }]) {
    test(`${JSON.stringify(document)} is not a catalog`, () => {
      assert.deepEqual(problemsOf(document), ['the document must be a list of services, or an object whose only field `services` is one']);
    });
  }
});
