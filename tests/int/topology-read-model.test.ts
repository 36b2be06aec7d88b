// The topology read model, end to end: service commands and catalog imports append real events, the real engine
// projects them, and the query functions (the GraphQL resolvers' and the correlation's) read them back. Run on
// PostgreSQL and on embedded PGlite.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  declareDependency,
  importServiceCatalog,
  registerService,
  removeDependency,
  retireService,
  updateService,
} from '../../commands/service.ts';
import { CatalogError } from '../../domain/service/index.ts';
import { tenantPrefix } from '../../infra/eventstore/stream-name.ts';
import { QueryInputError } from '../../queries/pagination.ts';
import {
  dependencyPath,
  downstreamOf,
  getServices,
  listServices,
  upstreamOf,
  type ServiceRow,
} from '../../queries/topology.ts';
import { backends, context, newTenant, TestClock, type ReadSide } from './read-model-support.ts';

/** web → api → (auth, db); auth → db; auth ⇄ session (a cycle); stripe is only ever a dependency. */
const CATALOG = [
  { name: 'web', tier: 2, owner: 'frontend', dependsOn: ['api'] },
  { name: 'api', tier: 1, owner: 'core', runbookUrl: 'https://runbooks.example.com/api', tags: ['public'], dependsOn: ['auth', 'db'] },
  { name: 'auth', tier: 1, dependsOn: ['db', 'session'] },
  { name: 'session', dependsOn: ['auth', 'stripe'] },
  { name: 'db', tier: 1, owner: 'dba' },
];

const YAML_CATALOG = `
services:
  - name: web
    tier: 2
    owner: frontend
    dependsOn: [api]
  - name: api
    tier: 1
    owner: core
    runbookUrl: https://runbooks.example.com/api
    tags: [public]
    dependsOn:
      - auth
      - db
  - name: auth
    tier: 1
    dependsOn: [db, session]
  - name: session
    dependsOn: [auth, stripe]
  - name: db
    tier: 1
    owner: dba
`;

async function allPages(side: ReadSide, tenant: string, first: number): Promise<string[]> {
  const names: string[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await listServices(side.db, tenant, { first, after });
    names.push(...page.edges.map((edge) => edge.node.name));
    if (!page.pageInfo.hasNextPage) return names;
    after = page.pageInfo.endCursor;
  }
}

/** Everything the queries tell about a tenant's topology: what a rebuild must reproduce. */
async function snapshot(side: ReadSide, tenant: string): Promise<unknown> {
  const names = await allPages(side, tenant, 200);
  return {
    services: await getServices(side.db, tenant, [...names, 'stripe']),
    upstream: await Promise.all(names.map((name) => upstreamOf(side.db, tenant, [name]))),
    downstream: await Promise.all(names.map((name) => downstreamOf(side.db, tenant, [name]))),
  };
}

async function logLength(side: ReadSide, tenant: string): Promise<number> {
  let count = 0;
  for await (const _event of side.store.readAll({ filter: { streamPrefix: tenantPrefix(tenant) } })) count++;
  return count;
}

for (const backend of await backends()) {
  describe(`topology read model on ${backend.name}`, { skip: backend.skip }, () => {
    let side: ReadSide;
    const tenants: string[] = [];
    before(async () => {
      side = await backend.open();
    });
    after(async () => {
      await side?.close();
    });

    function tenant(label: string): string {
      const created = newTenant(label);
      tenants.push(created);
      return created;
    }

    async function imported(acme: string, clock = new TestClock()) {
      const result = await importServiceCatalog(side.store, context(acme, 'carol', clock.tick()), {
        document: JSON.stringify(CATALOG),
        format: 'json',
      });
      await side.caughtUp(result.cursor);
      return result;
    }

    test('an imported catalog is projected: services as described, unregistered dependencies as names only', async () => {
      const acme = tenant('catalog');
      const result = await imported(acme);
      assert.deepEqual(result.changed, ['web', 'api', 'auth', 'session', 'db']);
      assert.equal(result.events, 5 + 7);
      const [api, stripe, nobody] = await getServices(side.db, acme, ['api', 'stripe', 'nobody']);
      assert.deepEqual(api, {
        name: 'api',
        registered: true,
        tier: 1,
        owner: 'core',
        runbookUrl: 'https://runbooks.example.com/api',
        tags: ['public'],
        retired: false,
        retirementReason: null,
        registeredAt: new Date('2024-03-01T09:00:00.000Z'),
        retiredAt: null,
        lastPosition: api?.lastPosition ?? null,
      } satisfies ServiceRow);
      assert.deepEqual(
        { registered: stripe?.registered, tier: stripe?.tier, tags: stripe?.tags, retired: stripe?.retired },
        { registered: false, tier: null, tags: [], retired: false },
      );
      assert.equal(nobody, null);
    });

    test('the same catalog again, in YAML, appends nothing', async () => {
      const acme = tenant('reimport');
      await imported(acme);
      const events = await logLength(side, acme);
      const again = await importServiceCatalog(side.store, context(acme, 'carol', new Date()), { document: YAML_CATALOG, format: 'yaml' });
      assert.deepEqual({ changed: again.changed, events: again.events, services: again.services }, { changed: [], events: 0, services: 5 });
      assert.equal(await logLength(side, acme), events);
    });

    test('a changed catalog updates services and makes their dependencies what it lists; others stay', async () => {
      const acme = tenant('resync');
      await imported(acme);
      const catalog = [{ name: 'api', tier: 2, owner: 'core', dependsOn: ['db', 'cache'] }];
      const result = await importServiceCatalog(side.store, context(acme, 'carol', new Date()), {
        document: JSON.stringify(catalog),
        format: 'json',
      });
      await side.caughtUp(result.cursor);
      assert.deepEqual(result.changed, ['api']);
      assert.deepEqual((await upstreamOf(side.db, acme, ['api'], 1)).map(({ service }) => service), ['cache', 'db']);
      const [api] = await getServices(side.db, acme, ['api']);
      assert.deepEqual([api?.tier, api?.runbookUrl, api?.tags], [2, null, []]);
      assert.deepEqual((await upstreamOf(side.db, acme, ['web'], 1)).map(({ service }) => service), ['api']);
    });

    test('a catalog with bad entries is refused whole, naming them, and nothing is appended', async () => {
      const acme = tenant('refused');
      await imported(acme);
      await retireService(side.store, context(acme, 'carol', new Date()), { name: 'db' });
      const events = await logLength(side, acme);
      const catalog = [{ name: 'fresh' }, { name: 'db' }, { name: 'web', tier: 7 }];
      await assert.rejects(
        importServiceCatalog(side.store, context(acme, 'carol', new Date()), { document: JSON.stringify(catalog), format: 'json' }),
        (error: unknown) => {
          assert.ok(error instanceof CatalogError);
          assert.deepEqual(error.problems, [
            'services[2] (web): tier: must be an integer from 1 (most critical) to 5, got 7',
          ]);
          return true;
        },
      );
      // Entries that pass on their own are then checked against the store: the retired db is refused there.
      await assert.rejects(
        importServiceCatalog(side.store, context(acme, 'carol', new Date()), {
          document: JSON.stringify(catalog.slice(0, 2)),
          format: 'json',
        }),
        { name: 'CatalogError', message: /services\[1\] \(db\): service db is RETIRED; import needs ACTIVE/ },
      );
      await assert.rejects(
        importServiceCatalog(side.store, context(acme, 'carol', new Date()), { document: '- name: [unclosed', format: 'yaml' }),
        { name: 'CatalogError', message: /the document is not YAML/ },
      );
      await assert.rejects(
        importServiceCatalog(side.store, context(acme, 'carol', new Date()), { document: '{"services": [', format: 'json' }),
        { name: 'CatalogError', message: /the document is not JSON/ },
      );
      assert.equal(await logLength(side, acme), events);
    });

    test('walks follow the projected graph through its cycle, with depth limits and shortest paths', async () => {
      const acme = tenant('walks');
      await imported(acme);
      assert.deepEqual(await upstreamOf(side.db, acme, ['web']), [
        { service: 'api', distance: 1 },
        { service: 'auth', distance: 2 },
        { service: 'db', distance: 2 },
        { service: 'session', distance: 3 },
        { service: 'stripe', distance: 4 },
      ]);
      assert.deepEqual((await upstreamOf(side.db, acme, ['web'], 2)).map(({ service }) => service), ['api', 'auth', 'db']);
      assert.deepEqual((await downstreamOf(side.db, acme, ['db'])).map(({ service }) => service), ['api', 'auth', 'session', 'web']);
      assert.deepEqual((await upstreamOf(side.db, acme, ['auth'])).map(({ service }) => service), ['db', 'session', 'stripe']);
      assert.deepEqual(await dependencyPath(side.db, acme, 'web', 'stripe'), ['web', 'api', 'auth', 'session', 'stripe']);
      assert.equal(await dependencyPath(side.db, acme, 'db', 'web'), null);
      await assert.rejects(upstreamOf(side.db, acme, ['web'], 0), QueryInputError);
    });

    test('commands one by one: register, update, declare, remove, retire', async () => {
      const acme = tenant('commands');
      const clock = new TestClock();
      await registerService(side.store, context(acme, 'carol', clock.tick()), { name: 'cart', tier: 3, tags: ['shop'] });
      await registerService(side.store, context(acme, 'carol', clock.tick()), { name: 'pricing' });
      await declareDependency(side.store, context(acme, 'carol', clock.tick()), { from: 'cart', to: 'pricing' });
      await declareDependency(side.store, context(acme, 'carol', clock.tick()), { from: 'cart', to: 'inventory' });
      await updateService(side.store, context(acme, 'carol', clock.tick()), { name: 'cart', owner: 'shop-team', tags: null });
      await removeDependency(side.store, context(acme, 'carol', clock.tick()), { from: 'cart', to: 'inventory' });
      const { cursor } = await retireService(side.store, context(acme, 'carol', clock.tick()), { name: 'pricing', reason: 'merged into cart' });
      await side.caughtUp(cursor);
      const [cart, pricing, inventory] = await getServices(side.db, acme, ['cart', 'pricing', 'inventory']);
      assert.deepEqual([cart?.tier, cart?.owner, cart?.tags], [3, 'shop-team', []]);
      assert.deepEqual(
        [pricing?.retired, pricing?.retirementReason, pricing?.retiredAt],
        [true, 'merged into cart', new Date('2024-03-01T09:00:06.000Z')],
      );
      assert.equal(inventory, null, 'a removed dependency leaves no trace of a name nothing else mentions');
      // A retired service keeps the services that depend on it: they are reported, not dropped.
      assert.deepEqual(await downstreamOf(side.db, acme, ['pricing']), [{ service: 'cart', distance: 1 }]);
    });

    test('services page by name with no gaps or repeats', async () => {
      const acme = tenant('pages');
      const names = Array.from({ length: 23 }, (_, index) => `svc-${String(index).padStart(2, '0')}`);
      const result = await importServiceCatalog(side.store, context(acme, 'carol', new Date()), {
        document: JSON.stringify([...names].reverse().map((name) => ({ name }))),
        format: 'json',
      });
      await side.caughtUp(result.cursor);
      assert.deepEqual(await allPages(side, acme, 5), names);
      await assert.rejects(listServices(side.db, acme, { after: 'not-a-cursor' }), { name: 'InvalidCursorError' });
    });

    test('tenants see only their own topology', async () => {
      const acme = tenant('walled');
      const globex = tenant('other');
      await imported(acme);
      assert.deepEqual(await getServices(side.db, globex, ['api', 'stripe']), [null, null]);
      assert.deepEqual(await upstreamOf(side.db, globex, ['web']), []);
      assert.equal(await dependencyPath(side.db, globex, 'web', 'db'), null);
      assert.deepEqual(await allPages(side, globex, 50), []);
    });

    // Last: it compares what every earlier test left behind.
    test('a rebuild reproduces every row', async () => {
      const head = await side.store.headPosition();
      await side.caughtUp(head);
      const before = await Promise.all(tenants.map((each) => snapshot(side, each)));
      const result = await side.engine.rebuild('topology');
      assert.equal(result.position, head);
      assert.deepEqual(await Promise.all(tenants.map((each) => snapshot(side, each))), before);
    });
  });
}
