// The walks over the dependency graph: direct neighbours, transitive walks with depth limits, shortest paths, and
// cycles (which real systems have) that must neither loop nor show a service as its own dependency.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DependencyGraph, type DependencyEdge } from '../../domain/service/index.ts';

/** `a>b` means a calls b. */
function graph(...edges: string[]): DependencyGraph {
  return new DependencyGraph(edges.map((edge): DependencyEdge => {
    const [from, to] = edge.split('>') as [string, string];
    return { from, to };
  }));
}

// web calls api; api calls auth, cache and db; auth calls db and session, which calls auth back (a cycle); batch calls db.
const shop = graph('web>api', 'api>db', 'api>cache', 'api>auth', 'auth>db', 'auth>session', 'session>auth', 'batch>db');

describe('neighbours', () => {
  test('dependsOn and dependents are the direct edges, sorted by name', () => {
    assert.deepEqual(shop.dependsOn('api'), ['auth', 'cache', 'db']);
    assert.deepEqual(shop.dependents('db'), ['api', 'auth', 'batch']);
    assert.deepEqual(shop.dependsOn('db'), []);
    assert.deepEqual(shop.dependents('unknown'), []);
  });

  test('a service is known when it is at either end of an edge', () => {
    assert.ok(shop.has('web') && shop.has('db'));
    assert.ok(!shop.has('unknown'));
  });

  test('an edge given twice is one edge', () => {
    assert.deepEqual(graph('a>b', 'a>b').dependsOn('a'), ['b']);
  });
});

describe('upstream and downstream', () => {
  test('upstream is what a service depends on, transitively, nearest first then by name', () => {
    assert.deepEqual(shop.upstream(['web']), [
      { service: 'api', distance: 1 },
      { service: 'auth', distance: 2 },
      { service: 'cache', distance: 2 },
      { service: 'db', distance: 2 },
      { service: 'session', distance: 3 },
    ]);
  });

  test('downstream is what depends on a service, transitively, each at its shortest distance', () => {
    assert.deepEqual(shop.downstream(['db']), [
      { service: 'api', distance: 1 },
      { service: 'auth', distance: 1 },
      { service: 'batch', distance: 1 },
      { service: 'session', distance: 2 },
      { service: 'web', distance: 2 },
    ]);
  });

  test('depth limits the walk to that many calls away', () => {
    assert.deepEqual(shop.upstream(['web'], 1), [{ service: 'api', distance: 1 }]);
    assert.deepEqual(shop.upstream(['web'], 2).map(({ service }) => service), ['api', 'auth', 'cache', 'db']);
    assert.deepEqual(shop.downstream(['db'], 1).map(({ service }) => service), ['api', 'auth', 'batch']);
  });

  test('a walk from several services reaches each service at its distance from the nearest, without the starts', () => {
    assert.deepEqual(shop.upstream(['web', 'auth']), [
      { service: 'api', distance: 1 },
      { service: 'db', distance: 1 },
      { service: 'session', distance: 1 },
      { service: 'cache', distance: 2 },
    ]);
  });

  test('a cycle ends the walk and never lists the start as its own dependency', () => {
    assert.deepEqual(shop.upstream(['auth']), [
      { service: 'db', distance: 1 },
      { service: 'session', distance: 1 },
    ]);
    const ring = graph('a>b', 'b>c', 'c>a');
    assert.deepEqual(ring.upstream(['a']), [
      { service: 'b', distance: 1 },
      { service: 'c', distance: 2 },
    ]);
    assert.deepEqual(ring.downstream(['a']), [
      { service: 'c', distance: 1 },
      { service: 'b', distance: 2 },
    ]);
  });

  test('a service nobody calls has an empty blast radius; an unknown service has nothing either way', () => {
    assert.deepEqual(shop.downstream(['web']), []);
    assert.deepEqual(shop.upstream(['unknown']), []);
  });

  test('a long chain with a cycle at its end is walked in linear time', () => {
    const size = 20_000;
    const edges = Array.from({ length: size }, (_, index) => `s${index}>s${(index + 1) % size}`);
    const started = performance.now();
    const reached = graph(...edges).upstream(['s0']);
    assert.equal(reached.length, size - 1);
    assert.deepEqual(reached.at(-1), { service: `s${size - 1}`, distance: size - 1 });
    assert.ok(performance.now() - started < 2_000, 'the walk is linear');
  });
});

describe('dependency paths', () => {
  test('the path is a shortest chain of calls, both ends included', () => {
    assert.deepEqual(shop.path('web', 'db'), ['web', 'api', 'db']);
    assert.deepEqual(shop.path('web', 'session'), ['web', 'api', 'auth', 'session']);
  });

  test('among equally short paths, the one through the first names is chosen', () => {
    assert.deepEqual(graph('a>c', 'a>b', 'b>d', 'c>d').path('a', 'd'), ['a', 'b', 'd']);
  });

  test('paths follow calls, not callers: null when the first does not depend on the second', () => {
    assert.equal(shop.path('db', 'web'), null);
    assert.equal(shop.path('batch', 'api'), null);
    assert.equal(shop.path('unknown', 'db'), null);
  });

  test('paths through a cycle end; a service reaches itself by the trivial path', () => {
    assert.deepEqual(shop.path('session', 'db'), ['session', 'auth', 'db']);
    assert.deepEqual(shop.path('auth', 'auth'), ['auth']);
    assert.deepEqual(graph('a>b', 'b>a').path('b', 'a'), ['b', 'a']);
  });
});
