// The service catalog over GraphQL on PostgreSQL, as clients use it: a catalog imported in JSON and in YAML (with a
// dependency cycle in it), then every Service field and walk read back; a bad catalog refused whole; the role
// matrix of topology:write; a service's open incidents and recent changes; retirement; and the tenant wall.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { codes, data, graphql } from './support/graphql.ts';
import { declare, tenantLogTypes } from './support/incident.ts';
import { backendSkip, startTestServer, type TestServer } from './support/server.ts';
import { counting } from './support/statements.ts';

// web → api → (auth, db); auth → (db, session); session → (auth, stripe): auth ⇄ session is a cycle, stripe is only
// ever named as a dependency.
const JSON_CATALOG = JSON.stringify({
  services: [
    { name: 'web', tier: 2, owner: 'frontend', tags: ['public'], dependsOn: ['api'] },
    { name: 'api', tier: 1, owner: 'core', runbookUrl: 'https://runbooks.example.com/api', dependsOn: ['auth', 'db'] },
    { name: 'auth', tier: 1, owner: 'identity', dependsOn: ['db', 'session'] },
    { name: 'session', owner: 'identity', dependsOn: ['auth', 'stripe'] },
    { name: 'db', tier: 1, owner: 'dba' },
  ],
});

const YAML_CATALOG = `# the same catalog, as a platform team keeps it in git
- name: web
  tier: 2
  owner: frontend
  tags: [public]
  dependsOn: [api]
- name: api
  tier: 1
  owner: core
  runbookUrl: https://runbooks.example.com/api
  dependsOn: [auth, db]
- name: auth
  tier: 1
  owner: identity
  dependsOn: [db, session]
- name: session
  owner: identity
  dependsOn: [auth, stripe]
- name: db
  tier: 1
  owner: dba
`;

const IMPORT = `mutation($document: String!, $format: CatalogFormat!) {
  importServiceCatalog(document: $document, format: $format) { services changed events cursor } }`;

const SERVICE = `query($name: String!, $depth: Int, $consistentWith: Cursor) {
  service(name: $name, consistentWith: $consistentWith) {
    name registered tier owner runbookUrl tags retired retirementReason
    dependsOn { name registered } dependents { name }
    upstream { name } limited: upstream(depth: $depth) { name } downstream { name }
    blastRadius { count services { name } }
  } }`;

const PATH = `query($from: String!, $to: String!) { dependencyPath(from: $from, to: $to) }`;

interface ImportResult {
  importServiceCatalog: { services: number; changed: string[]; events: number; cursor: string };
}

interface ServiceData {
  name: string;
  registered: boolean;
  tier: number | null;
  owner: string | null;
  runbookUrl: string | null;
  tags: string[];
  retired: boolean;
  retirementReason: string | null;
  dependsOn: { name: string; registered: boolean }[];
  dependents: { name: string }[];
  upstream: { name: string }[];
  limited: { name: string }[];
  downstream: { name: string }[];
  blastRadius: { count: number; services: { name: string }[] };
}

const names = (services: readonly { name: string }[]) => services.map(({ name }) => name);

describe('service catalog over GraphQL on PostgreSQL', { skip: await backendSkip('postgres') }, () => {
  let server: TestServer;
  const token = (tenant: string, ...roles: string[]) => server.token({ sub: `${roles[0]}-user`, tenant, roles });

  async function importCatalog(bearer: string, document: string, format: 'JSON' | 'YAML') {
    return (await data<ImportResult>(server.url, bearer, IMPORT, { document, format })).importServiceCatalog;
  }

  async function service(bearer: string, name: string, variables: Record<string, unknown> = {}): Promise<ServiceData | null> {
    return (await data<{ service: ServiceData | null }>(server.url, bearer, SERVICE, { name, ...variables })).service;
  }

  const logTypes = (tenant: string) => tenantLogTypes(server, tenant);

  before(async () => {
    server = await startTestServer('postgres', 'topology_catalog');
  });

  after(async () => {
    await server?.close();
  });

  test('a JSON catalog with a cycle is imported and every walk ends, nearest first', async () => {
    const commander = token('cyclic', 'commander');
    const result = await importCatalog(commander, JSON_CATALOG, 'JSON');
    assert.deepEqual(result.changed, ['web', 'api', 'auth', 'session', 'db']);
    assert.equal(result.events, 5 + 7);

    const viewer = token('cyclic', 'viewer');
    const auth = await service(viewer, 'auth', { depth: 1, consistentWith: result.cursor });
    assert.deepEqual(auth, {
      name: 'auth',
      registered: true,
      tier: 1,
      owner: 'identity',
      runbookUrl: null,
      tags: [],
      retired: false,
      retirementReason: null,
      dependsOn: [
        { name: 'db', registered: true },
        { name: 'session', registered: true },
      ],
      dependents: [{ name: 'api' }, { name: 'session' }],
      upstream: [{ name: 'db' }, { name: 'session' }, { name: 'stripe' }],
      limited: [{ name: 'db' }, { name: 'session' }],
      downstream: [{ name: 'api' }, { name: 'session' }, { name: 'web' }],
      blastRadius: { count: 3, services: [{ name: 'api' }, { name: 'session' }, { name: 'web' }] },
    });

    const web = await service(viewer, 'web', { depth: 2 });
    assert.deepEqual(names(web?.upstream ?? []), ['api', 'auth', 'db', 'session', 'stripe']);
    assert.deepEqual(names(web?.limited ?? []), ['api', 'auth', 'db']);
    assert.deepEqual(web?.blastRadius, { count: 0, services: [] });

    const db = await service(viewer, 'db');
    assert.deepEqual(names(db?.blastRadius.services ?? []), ['api', 'auth', 'session', 'web']);

    // A name that only a dependency names is a service too: its blast radius is known before it is registered.
    const stripe = await service(viewer, 'stripe');
    assert.equal(stripe?.registered, false);
    assert.deepEqual(names(stripe?.blastRadius.services ?? []), ['session', 'auth', 'api', 'web']);
    assert.equal(await service(viewer, 'nobody'), null);

    const path = async (from: string, to: string) => (await data<{ dependencyPath: string[] | null }>(server.url, viewer, PATH, { from, to })).dependencyPath;
    assert.deepEqual(await path('web', 'stripe'), ['web', 'api', 'auth', 'session', 'stripe']);
    assert.deepEqual(await path('session', 'db'), ['session', 'auth', 'db']);
    assert.deepEqual(await path('auth', 'auth'), ['auth']);
    assert.equal(await path('db', 'web'), null);
    assert.equal(await path('nobody', 'nobody'), null);
  });

  test('the same catalog in YAML, imported again, changes nothing', async () => {
    const commander = token('yaml', 'commander');
    const first = await importCatalog(commander, YAML_CATALOG, 'YAML');
    assert.equal(first.events, 12);
    const again = await importCatalog(commander, JSON_CATALOG, 'JSON');
    assert.deepEqual({ changed: again.changed, events: again.events, services: again.services }, { changed: [], events: 0, services: 5 });
    const yamlAgain = await importCatalog(commander, YAML_CATALOG, 'YAML');
    assert.equal(yamlAgain.events, 0);
    assert.equal((await logTypes('yaml')).length, 12);
    const api = await service(token('yaml', 'viewer'), 'api', { consistentWith: yamlAgain.cursor });
    assert.equal(api?.runbookUrl, 'https://runbooks.example.com/api');
  });

  test('a catalog with a bad entry is BAD_USER_INPUT naming it, and nothing is appended', async () => {
    const commander = token('badcatalog', 'commander');
    const bad = JSON.stringify([{ name: 'ok' }, { name: 'web', runbookUrl: 'wiki/web' }, { name: 'Bad Name' }]);
    const response = await graphql(server.url, commander, IMPORT, { document: bad, format: 'JSON' });
    assert.deepEqual(codes(response), ['BAD_USER_INPUT']);
    const [error] = response.errors ?? [];
    assert.match(error?.message ?? '', /services\[1\] \(web\): runbookUrl: "wiki\/web" is not an http\(s\) URL/);
    assert.match(error?.message ?? '', /services\[2\] \(Bad Name\): name: "Bad Name" is not a service name/);
    const notYaml = await graphql(server.url, commander, IMPORT, { document: 'services: [unclosed', format: 'YAML' });
    assert.deepEqual(codes(notYaml), ['BAD_USER_INPUT']);
    assert.deepEqual(await logTypes('badcatalog'), []);
  });

  test('only commanders and admins change the catalog; every role that reads may read it', async () => {
    const register = 'mutation { registerService(input: { name: "cart" }) { service { name } cursor } }';
    for (const role of ['viewer', 'responder', 'auditor', 'ingest']) {
      assert.deepEqual(codes(await graphql(server.url, token('roles', role), register)), ['FORBIDDEN'], role);
      assert.deepEqual(codes(await graphql(server.url, token('roles', role), IMPORT, { document: '[]', format: 'JSON' })), ['FORBIDDEN'], role);
    }
    assert.deepEqual(await logTypes('roles'), []);
    let cursor = '';
    for (const role of ['commander', 'admin']) {
      const { registerService } = await data<{ registerService: { service: { name: string }; cursor: string } }>(
        server.url,
        token(`roles-${role}`, role),
        register,
      );
      assert.equal(registerService.service.name, 'cart');
      cursor = registerService.cursor;
    }
    for (const role of ['viewer', 'responder', 'commander', 'auditor', 'admin']) {
      assert.equal((await service(token('roles-admin', role), 'cart', { consistentWith: cursor }))?.name, 'cart', role);
    }
    assert.deepEqual(codes(await graphql(server.url, token('roles-admin', 'ingest'), SERVICE, { name: 'cart' })), ['FORBIDDEN']);
  });

  test('mutations one by one answer the service as they left it, its graph fields included', async () => {
    const commander = token('mutations', 'commander');
    const run = async <T>(query: string, variables: Record<string, unknown>) => data<Record<string, T>>(server.url, commander, query, variables);
    const RESULT = '{ cursor service { name tier owner tags retired retirementReason dependsOn { name registered } dependents { name } } }';
    await run(`mutation($input: RegisterServiceInput!) { registerService(input: $input) ${RESULT} }`, {
      input: { name: 'cart', tier: 3, owner: 'shop', tags: ['shop', 'web'] },
    });
    await run(`mutation($input: RegisterServiceInput!) { registerService(input: $input) ${RESULT} }`, { input: { name: 'pricing' } });
    const declared = await run<{ service: ServiceData }>(`mutation { declareDependency(from: "cart", to: "pricing") ${RESULT} }`, {});
    assert.deepEqual(declared.declareDependency?.service.dependsOn, [{ name: 'pricing', registered: true }]);
    const updated = await run<{ service: ServiceData }>(`mutation($input: UpdateServiceInput!) { updateService(input: $input) ${RESULT} }`, {
      input: { name: 'cart', owner: 'checkout-team', tags: null },
    });
    assert.deepEqual([updated.updateService?.service.tier, updated.updateService?.service.owner, updated.updateService?.service.tags], [3, 'checkout-team', []]);
    const retired = await run<{ service: ServiceData }>(`mutation { retireService(name: "pricing", reason: "merged into cart") ${RESULT} }`, {});
    // A retired service keeps its history, and whoever still depends on it is reported.
    assert.deepEqual(
      [retired.retireService?.service.retired, retired.retireService?.service.retirementReason, retired.retireService?.service.dependents],
      [true, 'merged into cart', [{ name: 'cart' }]],
    );
    const refused = await graphql(server.url, commander, 'mutation { declareDependency(from: "pricing", to: "cart") { cursor } }');
    assert.deepEqual(codes(refused), ['BAD_USER_INPUT']);
    assert.match(refused.errors?.[0]?.message ?? '', /service pricing is RETIRED; declare dependency needs ACTIVE/);
    const missing = await graphql(server.url, commander, 'mutation { removeDependency(from: "cart", to: "search") { cursor } }');
    assert.deepEqual(codes(missing), ['NOT_FOUND']);
    const unregistered = await graphql(server.url, commander, 'mutation { declareDependency(from: "ghost", to: "cart") { cursor } }');
    assert.deepEqual(codes(unregistered), ['NOT_FOUND']);
    const removed = await run<{ service: ServiceData }>(`mutation { removeDependency(from: "cart", to: "pricing") ${RESULT} }`, {});
    assert.deepEqual(removed.removeDependency?.service.dependsOn, []);
  });

  test("a service shows its open incidents and its recent changes, and not another tenant's", async () => {
    const admin = token('neighbourhood', 'admin');
    const { importServiceCatalog } = await data<ImportResult>(server.url, admin, IMPORT, {
      document: JSON.stringify([{ name: 'checkout', dependsOn: ['payments'] }, { name: 'payments' }]),
      format: 'JSON',
    });
    const open = await declare(server, admin, { title: 'Checkout slow', services: ['checkout'] });
    const resolved = await declare(server, admin, { title: 'Checkout down', services: ['checkout', 'payments'] });
    await data(server.url, admin, 'mutation($id: ID!) { resolveIncident(id: $id, resolution: "fixed") { cursor } }', { id: resolved.incident.id });
    await declare(server, token('elsewhere', 'admin'), { title: 'Not ours', services: ['checkout'] });
    const RECORD = 'mutation($input: RecordChangeInput!) { recordChange(input: $input) { cursor change { id } } }';
    const hourAgo = new Date(Date.now() - 3600_000).toISOString();
    const recent = await data<{ recordChange: { cursor: string } }>(server.url, admin, RECORD, {
      input: { service: 'checkout', kind: 'deploy', summary: 'Deploy checkout v7', at: hourAgo },
    });
    await data(server.url, admin, RECORD, {
      input: { service: 'checkout', summary: 'Old config change', at: '2020-01-01T00:00:00Z' },
    });
    const NEIGHBOURHOOD = `query($since: DateTime) { service(name: "checkout") {
      openIncidents { id title status } recentChanges { summary kind } older: recentChanges(since: $since) { summary }
      dependsOn { name openIncidents { title } } } }`;
    // The incidents and changes read models are their own: wait until they show what was just written.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { service: found } = await data<{
        service: {
          openIncidents: { id: string; title: string; status: string }[];
          recentChanges: { summary: string; kind: string }[];
          older: { summary: string }[];
          dependsOn: { name: string; openIncidents: { title: string }[] }[];
        };
      }>(server.url, token('neighbourhood', 'viewer'), NEIGHBOURHOOD, { since: '2019-01-01T00:00:00Z' });
      const settled = found.openIncidents.length === 1 && found.recentChanges.length === 1 && found.older.length === 2;
      if (settled) {
        assert.deepEqual(found.openIncidents, [{ id: open.incident.id, title: 'Checkout slow', status: 'OPEN' }]);
        assert.deepEqual(found.recentChanges, [{ summary: 'Deploy checkout v7', kind: 'deploy' }]);
        assert.deepEqual(names(found.older.map(({ summary }) => ({ name: summary }))), ['Deploy checkout v7', 'Old config change']);
        assert.deepEqual(found.dependsOn, [{ name: 'payments', openIncidents: [] }]);
        break;
      }
      assert.ok(Date.now() < deadline, `the read models did not settle: ${JSON.stringify(found)} after ${recent.recordChange.cursor}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.ok(importServiceCatalog.events > 0);
  });

  test('services page by name; another tenant sees none of them', async () => {
    const admin = token('paged', 'admin');
    const catalog = Array.from({ length: 7 }, (_, index) => ({ name: `svc-${index}` }));
    const { importServiceCatalog } = await data<ImportResult>(server.url, admin, IMPORT, { document: JSON.stringify(catalog), format: 'JSON' });
    const PAGE = `query($after: String, $consistentWith: Cursor) {
      services(first: 3, after: $after, consistentWith: $consistentWith) { edges { cursor node { name } } pageInfo { hasNextPage endCursor } } }`;
    type Page = { services: { edges: { node: { name: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const { services }: Page = await data<Page>(server.url, admin, PAGE, { after, consistentWith: importServiceCatalog.cursor });
      seen.push(...services.edges.map(({ node }) => node.name));
      if (!services.pageInfo.hasNextPage) break;
      after = services.pageInfo.endCursor;
    }
    assert.deepEqual(seen, catalog.map(({ name }) => name));
    const other = await data<Page>(server.url, token('not-paged', 'admin'), PAGE, { consistentWith: importServiceCatalog.cursor });
    assert.deepEqual(other.services.edges, []);
    assert.equal(await service(token('not-paged', 'viewer'), 'svc-1'), null);
  });
  test('a page of services with every graph field, open incidents and changes costs the same statements at any size', async () => {
    const admin = token('statements', 'admin');
    // A ring of 12 services, each also calling a shared db.
    const ring = Array.from({ length: 12 }, (_, index) => ({ name: `ring-${String(index).padStart(2, '0')}`, dependsOn: [`ring-${String((index + 1) % 12).padStart(2, '0')}`, 'db'] }));
    const { importServiceCatalog } = await data<ImportResult>(server.url, admin, IMPORT, { document: JSON.stringify([...ring, { name: 'db' }]), format: 'JSON' });
    await declare(server, admin, { title: 'Ring down', services: ['ring-00', 'ring-05'] });
    const { recordChange } = await data<{ recordChange: { cursor: string } }>(
      server.url,
      admin,
      'mutation { recordChange(input: { service: "ring-05", summary: "Deploy ring-05" }) { cursor } }',
    );
    const PAGE = `query($first: Int, $consistentWith: Cursor) { services(first: $first, consistentWith: $consistentWith) { edges { node {
      name dependsOn { name } dependents { name } upstream(depth: 2) { name } downstream { name } blastRadius { count }
      openIncidents { title } recentChanges { summary } } } } }`;
    type Node = { name: string; blastRadius: { count: number }; openIncidents: { title: string }[]; recentChanges: { summary: string }[] };
    // Both read models have what was written (the query waits for the topology, the changes query for its own).
    await data(server.url, admin, 'query($c: Cursor) { changes(consistentWith: $c) { edges { cursor } } }', { c: recordChange.cursor });
    const { services } = server.server;
    const readDb = services.readDb;
    const counted = counting(readDb);
    // Resolvers reach the database through the services object; the engine keeps its own reference.
    services.readDb = counted;
    try {
      const statementsFor = async (first: number) => {
        counted.statements.length = 0;
        const page = await data<{ services: { edges: { node: Node }[] } }>(server.url, admin, PAGE, { first, consistentWith: importServiceCatalog.cursor });
        return { nodes: page.services.edges.map(({ node }) => node), statements: counted.statements.length };
      };
      const small = await statementsFor(2);
      const full = await statementsFor(13);
      assert.equal(full.nodes.length, 13);
      // The page, the edges, the services of each graph field (5), open incidents and recent changes.
      assert.equal(full.statements, 9, counted.statements.join('\n---\n'));
      assert.equal(small.statements, full.statements);
      const ring05 = full.nodes.find(({ name }) => name === 'ring-05');
      assert.deepEqual(ring05?.openIncidents, [{ title: 'Ring down' }]);
      assert.deepEqual(ring05?.recentChanges, [{ summary: 'Deploy ring-05' }]);
      // In a ring, every other member depends on each member; the db breaks all twelve.
      assert.equal(ring05?.blastRadius.count, 11);
      assert.equal(full.nodes.find(({ name }) => name === 'db')?.blastRadius.count, 12);
    } finally {
      services.readDb = readDb;
    }
  });
});
