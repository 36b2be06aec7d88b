// Depth, cost, token and size limits on the real schema, with limits tight enough for the base schema to reach.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { hs256Key, signToken } from '../../gateway/auth/token.ts';
import { startServer, type RunningServer } from '../../gateway/compose.ts';
import { loadConfig } from '../../infra/config.ts';

const SECRET = 'e2e-gateway-limits-secret-0123456789abcdef';
const limits = { maxDepth: 2, maxCost: 4, assumedListSize: 20, bodyLimit: 4096, maxTokens: 200 };
let server: RunningServer;
let dataDir: string;
let admin: string;

interface Answer {
  status: number;
  body: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
}

async function graphql(query: string): Promise<Answer> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

function assertRefused(answer: Answer, message: RegExp): void {
  assert.equal(answer.status, 400, JSON.stringify(answer.body));
  assert.equal(answer.body.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
  assert.match(answer.body.errors?.[0]?.message ?? '', message);
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'gateway-limits-'));
  server = await startServer(loadConfig({ DATA_DIR: dataDir, JWT_SECRET: SECRET, PORT: '0' }), { graphql: limits });
  admin = signToken(hs256Key(SECRET), { sub: 'root', tenant: 'acme', roles: ['admin'] }, 300);
});

after(async () => {
  await server?.close();
  await rm(dataDir, { recursive: true, force: true });
});

test('a document within the limits runs', async () => {
  const answer = await graphql('{ viewer { id tenant roles } }');
  assert.equal(answer.status, 200);
  assert.deepEqual(answer.body, { data: { viewer: { id: 'root', tenant: 'acme', roles: ['ADMIN'] } } });
});

test('a document nested deeper than maxDepth is refused', async () => {
  assertRefused(await graphql('query Deep { projections { lag { events } } }'), /^Deep is nested 3 levels deep; at most 2/);
});

test('fields count towards the cost once per alias', async () => {
  assertRefused(await graphql('{ a: viewer { id } b: viewer { id } c: viewer { id } }'), /resolve about 6 fields; at most 4/);
});

test('a list without a page size counts its selections once per assumed item', async () => {
  assertRefused(await graphql('{ projections { name } }'), /resolve about 21 fields/);
});

test('fragments count where they are spread', async () => {
  const query = '{ ...Twice } fragment Twice on Query { a: viewer { ...Me } b: viewer { ...Me } } fragment Me on Viewer { id tenant }';
  assertRefused(await graphql(query), /resolve about 6 fields/);
});

test('introspection is exempt from depth and cost', async () => {
  const answer = await graphql('{ __schema { types { name fields { name type { name ofType { name ofType { name } } } } } } }');
  assert.equal(answer.status, 200, JSON.stringify(answer.body.errors));
});

test('a document with more tokens than maxTokens is refused while parsing', async () => {
  assertRefused(await graphql(`{ viewer { ${'id '.repeat(250)}} }`), /contains more .* 200 tokens/);
});

test('a body over bodyLimit is refused with 413', async () => {
  const answer = await graphql(`{ viewer { id } } # ${'x'.repeat(5000)}`);
  assert.equal(answer.status, 413);
  assert.equal(answer.body.errors?.[0]?.extensions?.code, 'BAD_REQUEST');
});
