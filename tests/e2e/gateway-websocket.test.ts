// WebSocket /graphql as a graphql-ws client sees it: the token in connection_init, refusals as close codes, and the
// close code of a stopping server.
import assert from 'node:assert/strict';
import { once } from 'node:events';
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

const SECRET = 'e2e-gateway-websocket-secret-0123456789ab';
let server: RunningServer;
let dataDir: string;
let url: string;
const clients: Client[] = [];

function token(options: jwt.SignOptions = { expiresIn: 300 }): string {
  return jwt.sign({ tenant: 'acme', roles: ['viewer'] }, SECRET, { algorithm: 'HS256', subject: 'alice', ...options });
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
  const outcome = await connect({ token: token() });
  assert.ok(outcome.connected);
  const errors = await firstError(outcome.client, 'subscription { noSuchField }');
  assert.equal(errors[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
});

test('a stopping server closes open sockets with 1001 Going Away', async () => {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  await once(socket, 'open');
  socket.send(JSON.stringify({ type: 'connection_init', payload: { token: token() } }));
  const [ack] = (await once(socket, 'message')) as [Buffer];
  assert.equal(JSON.parse(ack.toString()).type, 'connection_ack');
  const closed = once(socket, 'close');
  await server.close();
  const [code] = (await closed) as [number, Buffer];
  assert.equal(code, 1001);
});
