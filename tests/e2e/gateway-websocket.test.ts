// WebSocket /graphql as a graphql-ws client sees it: the token in connection_init, refusals as close codes, the live
// `events` subscription, and the close code of a stopping server.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createClient, type Client } from 'graphql-ws';
import type { GraphQLFormattedError } from 'graphql';
import jwt from 'jsonwebtoken';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../../gateway/compose.ts';
import { loadConfig } from '../../infra/config.ts';
import type { JsonObject } from '../../infra/eventstore/port.ts';
import { qualify } from '../../infra/eventstore/stream-name.ts';

const SECRET = 'e2e-gateway-websocket-secret-0123456789ab';
let server: RunningServer;
let dataDir: string;
let url: string;
const clients: Client[] = [];

function token(options: jwt.SignOptions = { expiresIn: 300 }, roles = ['viewer']): string {
  return jwt.sign({ tenant: 'acme', roles }, SECRET, { algorithm: 'HS256', subject: 'alice', ...options });
}

/** Appends one event as a responder of `tenant` would, straight to the store. */
async function append(tenant: string, streamId: string, type: string, data: JsonObject): Promise<void> {
  const actor = { id: 'rita', kind: 'user' as const, roles: ['responder'] };
  const metadata = { tenantId: tenant, actor, correlationId: randomUUID(), causationId: randomUUID(), schemaVersion: 1 };
  await server.services.eventStore.append(qualify(tenant, streamId), [{ id: randomUUID(), type, data, metadata }], {
    expectedRevision: 'any',
  });
}

interface Envelope {
  cursor: string;
  streamId: string;
  revision: number;
  type: string;
  actor: { id: string; kind: string };
  data: JsonObject;
}

const EVENTS = `subscription Events($after: Cursor, $prefix: String) {
  events(after: $after, streamPrefix: $prefix) { cursor streamId revision type actor { id kind } data }
}`;

/** The first `count` envelopes of an `events` subscription; leaving the loop unsubscribes. */
async function take(client: Client, count: number, variables: Record<string, unknown>): Promise<Envelope[]> {
  const received: Envelope[] = [];
  for await (const result of client.iterate<{ events: Envelope }>({ query: EVENTS, variables })) {
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    if (result.data) received.push(result.data.events);
    if (received.length === count) break;
  }
  return received;
}

async function connected(connectionParams: Record<string, unknown>): Promise<Client> {
  const outcome = await connect(connectionParams);
  assert.ok(outcome.connected, 'connection refused');
  return outcome.client;
}

type Outcome = { connected: true; client: Client } | { connected: false; code: number; reason: string };

/** Connects and reports the acknowledgement, or the close event that refused the connection. */
function connect(connectionParams?: Record<string, unknown>): Promise<Outcome> {
  return new Promise((resolve) => {
    const client: Client = createClient({
      url,
      webSocketImpl: WebSocket,
      connectionParams,
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => undefined,
      on: {
        connected: () => resolve({ connected: true, client }),
        closed: (event) => {
          const { code, reason } = event as { code: number; reason: string };
          resolve({ connected: false, code, reason });
        },
      },
    });
    clients.push(client);
  });
}

function firstError(client: Client, query: string): Promise<readonly GraphQLFormattedError[]> {
  return new Promise((resolve, reject) => {
    client.subscribe(
      { query },
      {
        next: (value) => reject(new Error(`unexpected result ${JSON.stringify(value)}`)),
        error: (error) => (Array.isArray(error) ? resolve(error) : reject(error)),
        complete: () => reject(new Error('completed without an error')),
      },
    );
  });
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'gateway-ws-'));
  const config = loadConfig({ DATA_DIR: dataDir, JWT_SECRET: SECRET, PORT: '0' });
  server = await startServer(config, { graphql: { initTimeoutMs: 300 } });
  url = `${server.url.replace(/^http/, 'ws')}/graphql`;
});

after(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  await server?.close();
  await rm(dataDir, { recursive: true, force: true });
});

test('a client with { authorization: "Bearer <token>" } in connection_init is acknowledged', async () => {
  const outcome = await connect({ authorization: `Bearer ${token()}` });
  assert.equal(outcome.connected, true);
});

test('a client with { token } in connection_init is acknowledged', async () => {
  const outcome = await connect({ token: token() });
  assert.equal(outcome.connected, true);
});

test('a client without a token is refused with close 4403 Forbidden', async () => {
  assert.deepEqual(await connect(), { connected: false, code: 4403, reason: 'Forbidden' });
});

test('an expired or forged token is refused with close 4403', async () => {
  assert.deepEqual(await connect({ token: token({ expiresIn: -5 }) }), { connected: false, code: 4403, reason: 'Forbidden' });
  const forged = jwt.sign({ tenant: 'acme', roles: ['admin'] }, 'another-secret-of-the-same-length-000000');
  assert.deepEqual(await connect({ token: forged }), { connected: false, code: 4403, reason: 'Forbidden' });
});

test('a socket that never sends connection_init is closed with 4408', async () => {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  const [code] = (await once(socket, 'close')) as [number, Buffer];
  assert.equal(code, 4408);
});

test('an invalid subscription document is refused with GRAPHQL_VALIDATION_FAILED', async () => {
  const errors = await firstError(await connected({ token: token() }), 'subscription { events { noSuchField } }');
  assert.equal(errors[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
});

test("events replays the tenant's log in order, without other tenants' events, then goes on live", async () => {
  await append('acme', 'incident-live-1', 'IncidentProbed', { step: 1 });
  await append('globex', 'incident-live-1', 'IncidentProbed', { step: 'not ours' });
  await append('acme', 'incident-live-2', 'IncidentProbed', { step: 2 });
  const client = await connected({ token: token() });
  const subscription = client.iterate<{ events: Envelope }>({ query: EVENTS, variables: { after: '', prefix: 'incident-live' } });
  const iterator = subscription[Symbol.asyncIterator]();
  const next = async () => {
    const { value } = await iterator.next();
    assert.ok(value?.data, JSON.stringify(value));
    return value.data.events;
  };
  const first = await next();
  const second = await next();
  await append('acme', 'incident-live-1', 'IncidentProbed', { step: 3 });
  const third = await next();
  await iterator.return?.();
  assert.deepEqual(
    [first, second, third].map((event) => [event.streamId, event.revision, event.data]),
    [
      ['incident-live-1', 0, { step: 1 }],
      ['incident-live-2', 0, { step: 2 }],
      ['incident-live-1', 1, { step: 3 }],
    ],
  );
  assert.deepEqual(first.actor, { id: 'rita', kind: 'USER' });
  assert.ok(first.cursor < second.cursor && second.cursor < third.cursor);

  const resumed = await take(client, 1, { after: first.cursor, prefix: 'incident-live' });
  assert.deepEqual(resumed[0]?.data, { step: 2 });
  const oneStream = await take(client, 1, { after: '', prefix: 'incident-live-2' });
  assert.deepEqual(oneStream[0]?.streamId, 'incident-live-2');
});

test('events is FORBIDDEN to a token without a reading role', async () => {
  const client = await connected({ token: token(undefined, ['ingest']) });
  const errors = await firstError(client, 'subscription { events { cursor } }');
  assert.equal(errors[0]?.extensions?.code, 'FORBIDDEN');
});

test('an unusable cursor is BAD_USER_INPUT', async () => {
  const client = await connected({ token: token() });
  const errors = await firstError(client, 'subscription { events(after: "no such position") { cursor } }');
  assert.equal(errors[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(errors));
});

test('a stopping server answers the request in flight, closes sockets with 1001, then refuses connections', async () => {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  await once(socket, 'open');
  socket.send(JSON.stringify({ type: 'connection_init', payload: { token: token() } }));
  const [ack] = (await once(socket, 'message')) as [Buffer];
  assert.equal(JSON.parse(ack.toString()).type, 'connection_ack');
  const socketClosed = once(socket, 'close');

  // A request whose headers have arrived but whose body is still on its way when the shutdown begins; it reads the
  // projections' checkpoints, so it also shows that the database is still open while it runs.
  const body = JSON.stringify({ query: '{ projections { name } }' });
  const arrived = once(server.app.server, 'request');
  const request = http.request(`${server.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      authorization: `Bearer ${token(undefined, ['admin'])}`,
    },
  });
  const answered = once(request, 'response') as Promise<[http.IncomingMessage]>;
  request.write(body.slice(0, 5));
  await arrived;
  const closing = server.close();
  request.end(body.slice(5));

  const [response] = await answered;
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  const answer = JSON.parse(Buffer.concat(chunks).toString()) as { data?: { projections: unknown[] }; errors?: unknown };
  assert.equal(response.statusCode, 200);
  assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
  assert.ok((answer.data?.projections.length ?? 0) > 0);
  const [code] = (await socketClosed) as [number, Buffer];
  assert.equal(code, 1001);
  await closing;
  await assert.rejects(fetch(`${server.url}/healthz`));
});
