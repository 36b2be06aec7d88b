// The route's side of an unavailable queue, through a running server on PostgreSQL and NATS: when JetStream cannot
// store a notification, the sender gets 503 with Retry-After (Alertmanager and PagerDuty senders retry) and nothing
// is appended.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { hs256Key, signToken } from '../../gateway/auth/token.ts';
import { startServer, type RunningServer } from '../../gateway/compose.ts';
import { loadConfig } from '../../infra/config.ts';
import { deleteIngestStream } from '../support/ingest-stream.ts';
import { createTestDatabase, NATS_TEST_URL, postgresSkip, type TestDatabase } from '../support/services.ts';
import { natsSkip, uniqueSubjectPrefix } from './live-support.ts';

const skip = (await postgresSkip()) || (await natsSkip());

describe('ingestion while JetStream cannot take messages', { skip }, () => {
  const secret = randomBytes(32).toString('hex');
  const prefix = uniqueSubjectPrefix();
  let database: TestDatabase;
  let server: RunningServer;

  before(async () => {
    database = await createTestDatabase('ingest_unavailable');
    const env = { DATABASE_URL: database.url, NATS_URL: NATS_TEST_URL, NATS_SUBJECT_PREFIX: prefix };
    server = await startServer(loadConfig({ ...env, JWT_SECRET: secret, PORT: '0' }));
  });
  after(async () => {
    await server?.close();
    await database?.drop();
    await deleteIngestStream(NATS_TEST_URL, prefix);
  });

  test('POST /ingest/alertmanager answers 503 with Retry-After, and nothing is appended', async () => {
    assert.equal(await deleteIngestStream(NATS_TEST_URL, prefix), true);
    const head = await server.services.eventStore.headPosition();
    const token = signToken(hs256Key(secret), { sub: 'alertmanager', tenant: 'acme', roles: ['ingest'] }, 300);

    const answer = await fetch(`${server.url}/ingest/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        version: '4',
        groupKey: '{}:{alertname="Down"}',
        status: 'firing',
        receiver: 'incident-platform',
        groupLabels: { alertname: 'Down' },
        commonLabels: { alertname: 'Down' },
        commonAnnotations: {},
        externalURL: 'http://alertmanager:9093',
        alerts: [
          {
            status: 'firing',
            labels: { alertname: 'Down', severity: 'critical' },
            annotations: {},
            startsAt: '2025-03-01T10:00:00Z',
            endsAt: '0001-01-01T00:00:00Z',
            generatorURL: 'http://prometheus:9090/graph',
            fingerprint: 'c0ffee0000000001',
          },
        ],
      }),
    });
    assert.equal(answer.status, 503);
    assert.equal(answer.headers.get('retry-after'), '5');
    const body = (await answer.json()) as { code: string; message: string };
    assert.equal(body.code, 'SERVICE_UNAVAILABLE');
    assert.doesNotMatch(body.message, /nats:|127\.0\.0\.1/, 'the NATS address stays internal');
    assert.equal(await server.services.eventStore.headPosition(), head);
  });
});
