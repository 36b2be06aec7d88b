// The gateway over HTTP, as clients see it: the real server (embedded, port 0), real tokens, the real schema.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { hs256Key, signToken } from '../../gateway/auth/token.ts';
import { startServer, type RunningServer } from '../../gateway/compose.ts';
import { loadConfig } from '../../infra/config.ts';

const SECRET = 'e2e-gateway-http-secret-0123456789abcdef';
let server: RunningServer;
let dataDir: string;

function token(roles: string[], options: jwt.SignOptions = { expiresIn: 300 }, tenant = 'acme'): string {
  return jwt.sign({ tenant, roles }, SECRET, { algorithm: 'HS256', subject: 'alice', ...options });
}

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; locations?: unknown[]; extensions?: Record<string, unknown> }[];
}

interface GraphQLResponse {
  status: number;
  headers: Headers;
  body: GraphQLBody;
}

async function post(body: string, headers: Record<string, string>): Promise<GraphQLResponse> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as GraphQLBody };
}

function graphql(request: { query: string; variables?: unknown; operationName?: string }, bearer?: string) {
  return post(JSON.stringify(request), bearer === undefined ? {} : { authorization: `Bearer ${bearer}` });
}

function codes(response: GraphQLResponse): unknown[] {
  return (response.body.errors ?? []).map((error) => error.extensions?.code);
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'gateway-http-'));
  server = await startServer(loadConfig({ DATA_DIR: dataDir, JWT_SECRET: SECRET, PORT: '0' }));
});

after(async () => {
  await server?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('health', () => {
  test('GET /healthz answers 200 while the process runs', async () => {
    const response = await fetch(`${server.url}/healthz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ok' });
  });

  test('GET /readyz answers 200 with the store reachable and the projections caught up', async () => {
    const response = await fetch(`${server.url}/readyz`);
    const body = (await response.json()) as { status: string; checks: Record<string, { ok: boolean; lagging?: [] }> };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.status, 'ready');
    assert.equal(body.checks.store?.ok, true);
    assert.deepEqual(body.checks.projections?.lagging, []);
  });
});

describe('authentication', () => {
  test('a request without a token is refused with 401 UNAUTHENTICATED before anything runs', async () => {
    const response = await graphql({ query: '{ viewer { id } }' });
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer');
    assert.deepEqual(codes(response), ['UNAUTHENTICATED']);
    assert.equal(response.body.data, undefined);
  });

  test('GET /graphql needs a token too', async () => {
    const response = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ viewer { id } }')}`);
    assert.equal(response.status, 401);
  });

  test('an expired token is refused with 401', async () => {
    const response = await graphql({ query: '{ viewer { id } }' }, token(['viewer'], { expiresIn: -10 }));
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    assert.equal(response.body.errors?.[0]?.message, 'token expired');
  });

  test('a token signed with another secret is refused with 401', async () => {
    const forged = jwt.sign({ tenant: 'acme', roles: ['admin'] }, `${SECRET}-not`, { subject: 'mallory' });
    const response = await graphql({ query: '{ viewer { id } }' }, forged);
    assert.equal(response.status, 401);
    assert.deepEqual(codes(response), ['UNAUTHENTICATED']);
  });

  test('an unsigned token (alg none) is refused with 401', async () => {
    const unsigned = jwt.sign({ tenant: 'acme', roles: ['admin'] }, null, { algorithm: 'none', subject: 'mallory' });
    const response = await graphql({ query: '{ viewer { id } }' }, unsigned);
    assert.equal(response.status, 401);
  });

  test('an RS256 token is refused by a server configured for HS256', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rs256 = jwt.sign({ tenant: 'acme', roles: ['admin'] }, privateKey, { algorithm: 'RS256', subject: 'x' });
    const response = await graphql({ query: '{ viewer { id } }' }, rs256);
    assert.equal(response.status, 401);
  });

  test('a token with a role outside the known set is refused with 401', async () => {
    const response = await graphql({ query: '{ viewer { id } }' }, token(['viewer', 'superuser']));
    assert.equal(response.status, 401);
    assert.match(response.body.errors?.[0]?.message ?? '', /unknown "superuser"/);
  });

  test('the caller and its tenant come from the verified token', async () => {
    const minted = signToken(hs256Key(SECRET), { sub: 'bob', tenant: 'globex', roles: ['responder', 'auditor'] }, 60);
    const response = await graphql({ query: '{ viewer { id tenant roles } }' }, minted);
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, {
      data: { viewer: { id: 'bob', tenant: 'globex', roles: ['RESPONDER', 'AUDITOR'] } },
    });
  });
});

describe('authorization', () => {
  test('an ingest-only token gets FORBIDDEN from GraphQL reads', async () => {
    const response = await graphql({ query: '{ viewer { id } }' }, token(['ingest']));
    assert.equal(response.status, 200);
    assert.deepEqual(codes(response), ['FORBIDDEN']);
    assert.equal(response.body.data, null);
    assert.match(response.body.errors?.[0]?.message ?? '', /read needs one of the roles/);
  });

  test('projection status is for admins: FORBIDDEN for a commander, answered for an admin', async () => {
    const query = '{ projections { name state position lag { events seconds exact } } }';
    assert.deepEqual(codes(await graphql({ query }, token(['commander']))), ['FORBIDDEN']);
    const response = await graphql({ query }, token(['admin']));
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const projections = response.body.data?.projections as { name: string; state: string }[];
    assert.ok(projections.length > 0);
    for (const projection of projections) assert.match(projection.state, /^[A-Z_]+$/);
  });
});

describe('invalid requests', () => {
  const viewer = token(['viewer']);

  test('a syntax error is GRAPHQL_VALIDATION_FAILED with 400 and its location', async () => {
    const response = await graphql({ query: '{ viewer { id ' }, viewer);
    assert.equal(response.status, 400);
    assert.deepEqual(codes(response), ['GRAPHQL_VALIDATION_FAILED']);
    assert.deepEqual(response.body.errors?.[0]?.locations, [{ line: 1, column: 15 }]);
  });

  test('an unknown field is GRAPHQL_VALIDATION_FAILED naming the field', async () => {
    const response = await graphql({ query: '{ viewer { id password } }' }, viewer);
    assert.equal(response.status, 400);
    assert.deepEqual(codes(response), ['GRAPHQL_VALIDATION_FAILED']);
    assert.match(response.body.errors?.[0]?.message ?? '', /Cannot query field "password" on type "Viewer"/);
  });

  test('each validation error is reported with its own code', async () => {
    const response = await graphql({ query: '{ viewer { a b } nope }' }, viewer);
    assert.deepEqual(codes(response), Array(3).fill('GRAPHQL_VALIDATION_FAILED'));
  });

  test('an operation the document does not contain is GRAPHQL_VALIDATION_FAILED, not an internal error', async () => {
    const response = await graphql({ query: 'query Mine { viewer { id } }', operationName: 'Theirs' }, viewer);
    assert.equal(response.status, 400);
    assert.deepEqual(codes(response), ['GRAPHQL_VALIDATION_FAILED']);
    assert.match(response.body.errors?.[0]?.message ?? '', /Unknown operation named "Theirs"/);
  });

  test('a missing required variable is GRAPHQL_VALIDATION_FAILED', async () => {
    const response = await graphql({ query: 'query ($n: Int!) { viewer { id } }' }, viewer);
    assert.equal(response.status, 400);
    assert.deepEqual(codes(response), ['GRAPHQL_VALIDATION_FAILED']);
  });

  test('fragments spread twice at every level are measured without expanding them, and refused', async () => {
    const levels = Array.from({ length: 40 }, (_, i) => `fragment F${i} on Query { viewer { id } ...F${i + 1} ...F${i + 1} }`);
    const query = ['{ ...F0 }', ...levels, 'fragment F40 on Query { viewer { id } }'].join('\n');
    const started = Date.now();
    const response = await graphql({ query }, viewer);
    assert.ok(Date.now() - started < 2_000);
    assert.equal(response.status, 400);
    assert.match(response.body.errors?.[0]?.message ?? '', /may resolve about \d+ fields; at most 25000 allowed/);
  });

  test('a body that is not JSON is a 400 BAD_REQUEST in GraphQL shape', async () => {
    const response = await post('{"query": ', { authorization: `Bearer ${viewer}` });
    assert.equal(response.status, 400);
    assert.deepEqual(codes(response), ['BAD_REQUEST']);
  });

  test('a body over the GraphQL limit is refused with 413 before it is parsed', async () => {
    const huge = JSON.stringify({ query: `{ viewer { id } } # ${'x'.repeat(300 * 1024)}` });
    const response = await post(huge, { authorization: `Bearer ${viewer}` });
    assert.equal(response.status, 413);
    assert.deepEqual(codes(response), ['BAD_REQUEST']);
    assert.match(response.body.errors?.[0]?.message ?? '', /too large/);
  });

  test('an unknown route is a plain 404', async () => {
    const response = await fetch(`${server.url}/nowhere`);
    assert.equal(response.status, 404);
  });
});
