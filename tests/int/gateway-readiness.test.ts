// Readiness and error masking of the gateway on PostgreSQL, where the database can be made to fail under it: the
// server says it is not ready when projections lag or the store breaks, and a failure inside a resolver reaches the
// client as a masked INTERNAL_SERVER_ERROR.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { hs256Key, signToken } from '../../gateway/auth/token.ts';
import { startServer, type RunningServer } from '../../gateway/compose.ts';
import { loadConfig } from '../../infra/config.ts';
import { qualify } from '../../infra/eventstore/stream-name.ts';
import { createTestDatabase, postgresSkip, type TestDatabase } from '../support/services.ts';

const SECRET = 'int-gateway-readiness-secret-0123456789ab';
const skip = await postgresSkip();

interface Readiness {
  status: string;
  checks: { store: { ok: boolean }; projections: { ok: boolean; lagging?: { name: string; lagEvents: number }[] } };
}

describe('gateway readiness on PostgreSQL', { skip }, () => {
  let database: TestDatabase;
  let server: RunningServer;
  const admin = signToken(hs256Key(SECRET), { sub: 'root', tenant: 'acme', roles: ['admin'] }, 300);

  async function readiness(): Promise<{ status: number; body: Readiness }> {
    const response = await fetch(`${server.url}/readyz`);
    return { status: response.status, body: (await response.json()) as Readiness };
  }

  /** Polls /readyz until it answers `status`, for at most two seconds; returns the last answer. */
  async function readinessBecomes(status: number): Promise<{ status: number; body: Readiness }> {
    const deadline = Date.now() + 2_000;
    for (;;) {
      const answer = await readiness();
      if (answer.status === status || Date.now() > deadline) return answer;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  before(async () => {
    database = await createTestDatabase('gateway_readiness');
    const config = loadConfig({ DATABASE_URL: database.url, JWT_SECRET: SECRET, PORT: '0' });
    // Any unprojected event older than an instant counts as lag here.
    server = await startServer(config, { readiness: { maxLagSeconds: 0 } });
  });

  after(async () => {
    await server?.close();
    await database?.drop();
  });

  test('ready while the store answers and the projections are caught up', async () => {
    const { status, body } = await readiness();
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.status, 'ready');
  });

  test('not ready (503) while projections lag behind the log', async () => {
    const { eventStore, engine } = server.services;
    await engine.stop();
    await eventStore.append(
      qualify('acme', `probe-${randomUUID()}`),
      [
        {
          id: randomUUID(),
          type: 'ReadinessProbed',
          data: {},
          metadata: {
            tenantId: 'acme',
            actor: { id: 'test', kind: 'system', roles: [] },
            correlationId: randomUUID(),
            causationId: randomUUID(),
            schemaVersion: 1,
          },
        },
      ],
      { expectedRevision: 'no_stream' },
    );
    const { status, body } = await readinessBecomes(503);
    assert.equal(status, 503, JSON.stringify(body));
    assert.equal(body.checks.store.ok, true);
    assert.equal(body.checks.projections.ok, false);
    const lagging = body.checks.projections.lagging ?? [];
    assert.ok(lagging.length > 0);
    assert.ok(lagging.every((projection) => projection.lagEvents === 1));
  });

  test('a failing read model surfaces as a masked INTERNAL_SERVER_ERROR, and readiness fails', async () => {
    await server.services.readDb.query('DROP TABLE projection_checkpoints');
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify({ query: '{ projections { name } }' }),
    });
    const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    assert.equal(response.status, 200);
    assert.deepEqual(body.errors.map(({ message, extensions }) => [message, extensions.code]), [
      ['Internal server error', 'INTERNAL_SERVER_ERROR'],
    ]);
    assert.doesNotMatch(JSON.stringify(body), /projection_checkpoints|relation/);
    assert.equal((await readiness()).status, 503);
  });
});
