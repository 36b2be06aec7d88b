// POST /ingest/alertmanager end to end on PostgreSQL (and JetStream when NATS is there): a notification's alerts
// become visible through GraphQL; repeats append nothing; resolved and re-fired alerts follow; bad input of every
// kind is refused with a 4xx and a message saying why, and nothing of it reaches the store.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  alertEvents,
  alertWhen,
  firing,
  notification,
  post,
  resolved,
  type Posted,
} from './support/alerts.ts';
import { backendSkip, startTestServer, type TestServer } from './support/server.ts';

const ROUTE = '/ingest/alertmanager';

describe('Alertmanager webhook on PostgreSQL', { skip: await backendSkip('postgres') }, () => {
  let server: TestServer;
  const tokens = (tenant: string) => ({
    ingest: server.token({ sub: 'alertmanager', tenant, roles: ['ingest'] }),
    viewer: server.token({ sub: 'vic', tenant, roles: ['viewer'] }),
  });

  before(async () => {
    server = await startTestServer('postgres', 'ingest_alertmanager');
  });

  after(async () => {
    await server?.close();
  });

  test('a notification with several alerts makes each visible through GraphQL, as Alertmanager described it', async () => {
    const { ingest, viewer } = tokens('am-visible');
    const api = firing('a1f3c9e2b7d40001');
    const worker = firing('a1f3c9e2b7d40002', {
      labels: { alertname: 'HighErrorRate', service: 'payments', severity: 'warning', instance: 'worker-1' },
      annotations: { description: 'queue backlog growing' },
    });
    const db = firing('a1f3c9e2b7d40003', { labels: { alertname: 'DiskFull', severity: 'page' }, annotations: {} });
    const body = notification([api, worker, db]);
    const answer = await post(server, ROUTE, ingest, body);
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    assert.deepEqual(answer.body, { status: 'success', message: 'Notification accepted', alerts: 3 });

    const first = await alertWhen(server, viewer, api.fingerprint);
    assert.deepEqual(first, {
      fingerprint: api.fingerprint,
      streamId: `alert-${api.fingerprint}`,
      status: 'FIRING',
      labels: api.labels,
      annotations: api.annotations,
      service: 'checkout',
      severity: 'SEV1',
      source: 'alertmanager',
      summary: '5xx above 5% on a1f3c9e2b7d40001',
      episode: 1,
      // Go's nanoseconds, kept to the millisecond.
      startsAt: '2025-03-01T10:00:00.123Z',
      endsAt: null,
      acknowledgedAt: null,
      generatorURL: api.generatorURL,
      groupKey: body.groupKey,
      receiver: 'incident-platform',
      details: null,
      incident: null,
    });
    const second = await alertWhen(server, viewer, worker.fingerprint);
    assert.deepEqual([second.service, second.severity, second.summary], ['payments', 'SEV3', 'queue backlog growing']);
    // No service label, no known severity word, no summary: the alert name stands in.
    const third = await alertWhen(server, viewer, db.fingerprint);
    assert.deepEqual([third.service, third.severity, third.summary], [null, null, 'DiskFull']);

    // One stream per alert, appended side by side: in no particular order.
    const events = (await alertEvents(server, 'am-visible')).sort((a, b) => a.streamId.localeCompare(b.streamId));
    assert.deepEqual(
      events.map((event) => [event.type, event.data.fingerprint, event.metadata.actor.id, event.metadata.actor.kind]),
      [api, worker, db].map((alert) => ['AlertFired', alert.fingerprint, 'alertmanager', 'service']),
    );
  });

  test('the same notification sent again appends nothing; changed annotations are one update', async () => {
    const { ingest, viewer } = tokens('am-repeat');
    const alerts = [firing('b2e4d6f8a0c10001'), firing('b2e4d6f8a0c10002')];
    assert.equal((await post(server, ROUTE, ingest, notification(alerts))).status, 202);
    await alertWhen(server, viewer, 'b2e4d6f8a0c10002');
    const before = await alertEvents(server, 'am-repeat');

    // As Alertmanager repeats a group (repeat_interval), and as its HA peer sends it too.
    for (let i = 0; i < 3; i++) assert.equal((await post(server, ROUTE, ingest, notification(alerts))).status, 202);
    const changed = firing('b2e4d6f8a0c10002', { annotations: { summary: '5xx above 20%' } });
    assert.equal((await post(server, ROUTE, ingest, notification([alerts[0]!, changed]))).status, 202);
    await alertWhen(server, viewer, 'b2e4d6f8a0c10002', (alert) => alert.summary === '5xx above 20%');

    const afterwards = await alertEvents(server, 'am-repeat');
    assert.deepEqual(afterwards.slice(0, before.length), before);
    assert.deepEqual(
      afterwards.slice(before.length).map((event) => [event.type, event.data.fingerprint, event.data.episode]),
      [['AlertUpdated', 'b2e4d6f8a0c10002', 1]],
    );
  });

  test('a resolved notification resolves the alert; a later firing is its next episode', async () => {
    const { ingest, viewer } = tokens('am-resolve');
    const alert = firing('c3d5e7f9a1b20001');
    const other = firing('c3d5e7f9a1b20002');
    assert.equal((await post(server, ROUTE, ingest, notification([alert, other]))).status, 202);
    await alertWhen(server, viewer, other.fingerprint);

    assert.equal((await post(server, ROUTE, ingest, notification([resolved(alert), other]))).status, 202);
    const ended = await alertWhen(server, viewer, alert.fingerprint, (found) => found.status === 'RESOLVED');
    assert.equal(ended.endsAt, '2025-03-01T10:20:00.500Z');
    assert.equal((await alertWhen(server, viewer, other.fingerprint)).status, 'FIRING');

    // Sent again by Alertmanager's HA peer after the resolve: a late copy, not a new episode.
    assert.equal((await post(server, ROUTE, ingest, notification([alert]))).status, 202);
    const again = firing(alert.fingerprint, { startsAt: '2025-03-01T11:00:00Z' });
    assert.equal((await post(server, ROUTE, ingest, notification([again]))).status, 202);
    const refired = await alertWhen(server, viewer, alert.fingerprint, (found) => found.episode === 2);
    assert.deepEqual([refired.status, refired.startsAt, refired.endsAt], ['FIRING', '2025-03-01T11:00:00.000Z', null]);

    const events = await alertEvents(server, 'am-resolve');
    assert.deepEqual(
      events.filter((event) => event.data.fingerprint === alert.fingerprint).map((event) => [event.type, event.data.episode]),
      [['AlertFired', 1], ['AlertResolved', 1], ['AlertFired', 2]],
    );
  });

  test('fields Alertmanager may add later are accepted', async () => {
    const { ingest, viewer } = tokens('am-additions');
    const alert = { ...firing('d4e6f8a0b2c40001'), silencedBy: [], notification_reason: 'new_alert' };
    const body = notification([alert], { routeLabels: { team: 'payments' }, notification_reason: 'group_changed' });
    assert.equal((await post(server, ROUTE, ingest, body)).status, 202);
    assert.equal((await alertWhen(server, viewer, alert.fingerprint)).status, 'FIRING');
  });

  describe('bad input is refused with a 4xx saying why, and nothing is appended', () => {
    const tenant = 'am-refused';
    const valid = () => notification([firing('e5f7a9b1c3d50001')]);
    const without = (field: string) => Object.fromEntries(Object.entries(valid()).filter(([name]) => name !== field));
    const cases: [string, (ingest: string) => Promise<Posted>, number, RegExp][] = [
      ['malformed JSON', (ingest) => post(server, ROUTE, ingest, '{"version":"4","alerts":['), 400, /not valid JSON/],
      ['an empty body', (ingest) => post(server, ROUTE, ingest, ''), 400, /cannot be empty/],
      ['a wrong version', (ingest) => post(server, ROUTE, ingest, { ...valid(), version: '3' }), 400, /^version: must be "4"$/],
      ['no alerts', (ingest) => post(server, ROUTE, ingest, without('alerts')), 400, /^alerts: is missing$/],
      ['an empty list of alerts', (ingest) => post(server, ROUTE, ingest, { ...valid(), alerts: [] }), 400, /^alerts: must NOT have fewer than 1 items$/],
      [
        'an alert without a fingerprint',
        (ingest) => {
          const { fingerprint: _fingerprint, ...alert } = firing('x');
          return post(server, ROUTE, ingest, notification([alert as never]));
        },
        400,
        /^alerts\[0\]\.fingerprint: is missing$/,
      ],
      [
        // A number would be taken as its text (fastify's ajv coerces scalars), as Prometheus label values are text.
        'a label that is an object',
        (ingest) => post(server, ROUTE, ingest, notification([{ ...firing('e5f7a9b1c3d50002'), labels: { severity: { level: 1 } } as never }])),
        400,
        /^alerts\[0\]\.labels\.severity: must be string$/,
      ],
      ['a startsAt that is no instant', (ingest) => post(server, ROUTE, ingest, notification([firing('f', { startsAt: 'soon' })])), 400, /startsAt: must match format "date-time"/],
      [
        'a label holding U+0000, which the store cannot hold',
        (ingest) => post(server, ROUTE, ingest, notification([firing('e5f7a9b1c3d50003', { labels: { alertname: 'a\u0000b' } })])),
        400,
        /^body\.alerts\[0\]\.labels\.alertname: contains U\+0000/,
      ],
      ['a wrong content type', (ingest) => post(server, ROUTE, ingest, JSON.stringify(valid()), { 'content-type': 'text/plain' }), 415, /Unsupported Media Type/],
      [
        'a body over 4 MiB',
        (ingest) => post(server, ROUTE, ingest, notification([firing('e5f7a9b1c3d50004', { annotations: { description: 'x'.repeat(4 * 1024 * 1024) } })])),
        413,
        /too large/,
      ],
      ['no token', () => post(server, ROUTE, null, valid()), 401, /missing bearer token/],
      ['a forged token', () => post(server, ROUTE, 'e30.e30.e30', valid()), 401, /invalid token/],
      ['a token without the ingest role', () => post(server, ROUTE, server.token({ tenant, roles: ['viewer', 'responder'] }), valid()), 403, /^ingest needs one of the roles admin, ingest/],
    ];

    for (const [what, send, status, message] of cases) {
      test(`${what}: ${status}`, async () => {
        const answer = await send(server.token({ sub: 'alertmanager', tenant, roles: ['ingest'] }));
        assert.equal(answer.status, status, JSON.stringify(answer.body));
        assert.equal(answer.body.statusCode, status);
        assert.match(String(answer.body.message), message);
      });
    }

    test('after all of them, only a valid notification sent last is in the store', async () => {
      const { ingest, viewer } = tokens(tenant);
      // Submissions are handled in order, so once the last one shows, any earlier one would have too.
      const last = firing('e5f7a9b1c3d5ffff');
      assert.equal((await post(server, ROUTE, ingest, notification([last]))).status, 202);
      await alertWhen(server, viewer, last.fingerprint);
      assert.deepEqual((await alertEvents(server, tenant)).map((event) => event.data.fingerprint), [last.fingerprint]);
    });
  });
});
