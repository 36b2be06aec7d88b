// POST /ingest/events/v2 end to end on PostgreSQL (and JetStream when NATS is there), with PagerDuty's semantics and
// answers: trigger / acknowledge / resolve by dedup_key, a trigger for an open key deduplicated, a new alert after a
// resolve, acknowledge and resolve for no open alert accepted and dropped, a generated key when none is sent, the
// 202 and 400 bodies, the 512 KB limit, a redelivered message appending nothing, and 20 concurrent identical
// triggers making one alert (through JetStream, and embedded through the direct queue).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { alertIngestHandlers, EVENTS_V2_KIND } from '../../commands/ingest-handlers.ts';
import type { JsonObject } from '../../infra/eventstore/port.ts';
import { alertEvents, alertWhen, post, type Posted } from './support/alerts.ts';
import { backendSkip, startTestServer, type TestServer } from './support/server.ts';

const ROUTE = '/ingest/events/v2';
const ROUTING_KEY = 'e93facc04764012d7bfb002500d5d1a6';

function trigger(dedupKey: string | undefined, payload: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return {
    routing_key: ROUTING_KEY,
    event_action: 'trigger',
    ...(dedupKey === undefined ? {} : { dedup_key: dedupKey }),
    payload: {
      summary: 'DISK at 99% on machine prod-datapipe03.example.com',
      timestamp: '2015-07-17T08:42:58.315+0000',
      severity: 'critical',
      source: 'prod-datapipe03.example.com',
      component: 'mysql',
      group: 'prod-datapipe',
      class: 'disk',
      custom_details: { 'free space': '1%', 'ping time': '1500ms', 'load avg': 0.75 },
      ...payload,
    },
    client: 'Sample Monitoring Service',
    client_url: 'https://monitoring.service.com',
    links: [{ href: 'http://pagerduty.example.com', text: 'An example link.' }],
    images: [{ src: 'https://chart.example/disk.png', href: 'https://example.com', alt: 'disk' }],
    ...extra,
  };
}

const action = (event_action: string, dedupKey: string) => ({ routing_key: ROUTING_KEY, event_action, dedup_key: dedupKey });

function accepted(answer: Posted, dedupKey: string): void {
  assert.equal(answer.status, 202, JSON.stringify(answer.body));
  assert.deepEqual(answer.body, { status: 'success', message: 'Event processed', dedup_key: dedupKey });
}

/** 20 identical triggers at once, then one more alert to know they have all been handled. */
async function concurrentTriggers(server: TestServer): Promise<void> {
  const ingest = server.token({ sub: 'nagios', tenant: 'pd-concurrent', roles: ['ingest'] });
  const viewer = server.token({ sub: 'vic', tenant: 'pd-concurrent', roles: ['viewer'] });
  const answers = await Promise.all(Array.from({ length: 20 }, () => post(server, ROUTE, ingest, trigger('flood/1'))));
  for (const answer of answers) accepted(answer, 'flood/1');
  accepted(await post(server, ROUTE, ingest, trigger('flood/sentinel')), 'flood/sentinel');
  await alertWhen(server, viewer, 'flood/sentinel');
  await alertWhen(server, viewer, 'flood/1');
  const events = await alertEvents(server, 'pd-concurrent');
  assert.deepEqual(
    events.filter((event) => event.data.fingerprint === 'flood/1').map((event) => event.type),
    ['AlertFired'],
  );
}

describe('PagerDuty Events v2 on PostgreSQL', { skip: await backendSkip('postgres') }, () => {
  let server: TestServer;
  const tokens = (tenant: string) => ({
    ingest: server.token({ sub: 'nagios', tenant, roles: ['ingest'] }),
    viewer: server.token({ sub: 'vic', tenant, roles: ['viewer'] }),
  });

  before(async () => {
    server = await startTestServer('postgres', 'ingest_events_v2');
  });

  after(async () => {
    await server?.close();
  });

  test('trigger, a deduplicated trigger, acknowledge, resolve and re-trigger follow PagerDuty', async () => {
    const { ingest, viewer } = tokens('pd-lifecycle');
    const key = 'srv01/mysql';
    accepted(await post(server, ROUTE, ingest, trigger(key)), key);
    const fired = await alertWhen(server, viewer, key);
    assert.deepEqual(fired, {
      fingerprint: key,
      // The dedup key is percent-encoded into the stream id.
      streamId: 'alert-srv01%2Fmysql',
      status: 'FIRING',
      labels: { source: 'prod-datapipe03.example.com', severity: 'critical', component: 'mysql', group: 'prod-datapipe', class: 'disk' },
      annotations: { summary: 'DISK at 99% on machine prod-datapipe03.example.com' },
      service: 'prod-datapipe',
      severity: 'SEV1',
      source: 'events-v2',
      summary: 'DISK at 99% on machine prod-datapipe03.example.com',
      episode: 1,
      startsAt: '2015-07-17T08:42:58.315Z',
      endsAt: null,
      acknowledgedAt: null,
      generatorURL: 'https://monitoring.service.com',
      groupKey: ROUTING_KEY,
      receiver: null,
      details: {
        routingKey: ROUTING_KEY,
        client: 'Sample Monitoring Service',
        clientUrl: 'https://monitoring.service.com',
        customDetails: { 'free space': '1%', 'ping time': '1500ms', 'load avg': 0.75 },
        links: [{ href: 'http://pagerduty.example.com', text: 'An example link.' }],
        images: [{ src: 'https://chart.example/disk.png', href: 'https://example.com', alt: 'disk' }],
      },
      incident: null,
    });

    // Open: deduplicated, whatever else the trigger says.
    accepted(await post(server, ROUTE, ingest, trigger(key, { timestamp: '2015-07-17T09:00:00Z' })), key);
    accepted(await post(server, ROUTE, ingest, action('acknowledge', key)), key);
    const acknowledged = await alertWhen(server, viewer, key, (alert) => alert.acknowledgedAt !== null);
    assert.equal(acknowledged.status, 'FIRING');
    accepted(await post(server, ROUTE, ingest, action('acknowledge', key)), key);

    accepted(await post(server, ROUTE, ingest, action('resolve', key)), key);
    const ended = await alertWhen(server, viewer, key, (alert) => alert.status === 'RESOLVED');
    assert.ok(ended.endsAt !== null && Date.parse(ended.endsAt) >= Date.parse(acknowledged.acknowledgedAt ?? ''));
    accepted(await post(server, ROUTE, ingest, action('resolve', key)), key);

    // After a resolve the same key is a new alert: the next episode, unacknowledged.
    accepted(await post(server, ROUTE, ingest, trigger(key, { severity: 'warning' })), key);
    const again = await alertWhen(server, viewer, key, (alert) => alert.episode === 2);
    assert.deepEqual([again.status, again.severity, again.acknowledgedAt, again.endsAt], ['FIRING', 'SEV3', null, null]);

    const events = await alertEvents(server, 'pd-lifecycle');
    assert.deepEqual(
      events.map((event) => [event.type, event.data.episode]),
      [['AlertFired', 1], ['AlertAcknowledged', 1], ['AlertResolved', 1], ['AlertFired', 2]],
    );
    assert.ok(events.every((event) => event.metadata.actor.id === 'nagios' && event.metadata.actor.kind === 'service'));
  });

  test('a trigger without dedup_key gets one, answered in the 202; a timestamp-less trigger starts when received', async () => {
    const { ingest, viewer } = tokens('pd-generated');
    const sent = Date.now();
    const answer = await post(server, ROUTE, ingest, trigger(undefined, { timestamp: undefined }));
    assert.equal(answer.status, 202);
    const key = String(answer.body.dedup_key);
    assert.match(key, /^[0-9a-f]{32}$/);
    assert.deepEqual(answer.body, { status: 'success', message: 'Event processed', dedup_key: key });
    const alert = await alertWhen(server, viewer, key);
    assert.ok(Math.abs(Date.parse(alert.startsAt) - sent) < 60_000, alert.startsAt);
  });

  test('acknowledge and resolve for no open alert are accepted and dropped', async () => {
    const { ingest, viewer } = tokens('pd-unknown');
    accepted(await post(server, ROUTE, ingest, action('acknowledge', 'never-triggered')), 'never-triggered');
    accepted(await post(server, ROUTE, ingest, action('resolve', 'never-triggered')), 'never-triggered');
    // Handled in order: once a later trigger shows, the two before it have been handled.
    accepted(await post(server, ROUTE, ingest, trigger('sentinel')), 'sentinel');
    await alertWhen(server, viewer, 'sentinel');
    assert.deepEqual((await alertEvents(server, 'pd-unknown')).map((event) => event.data.fingerprint), ['sentinel']);
  });

  test('20 concurrent identical triggers make one alert with one AlertFired', () => concurrentTriggers(server));

  test('a message delivered again appends nothing, even after its alert moved on', async () => {
    const { ingest, viewer } = tokens('pd-redelivered');
    const store = server.server.services.eventStore;
    const handle = alertIngestHandlers(store, server.server.services.readDb)[EVENTS_V2_KIND];
    const actor = { id: 'nagios', kind: 'service' as const, roles: ['ingest'] };
    const message = (dedupKey: string, payload: Record<string, unknown>, receivedAt: string) => ({
      kind: EVENTS_V2_KIND, tenant: 'pd-redelivered', dedupKey, actor, receivedAt, payload: payload as JsonObject,
    });
    const triggered = message('m-1', trigger('redelivered'), '2025-03-01T10:00:00.000Z');
    await handle([triggered]);
    await handle([triggered]);
    await handle([message('m-2', action('resolve', 'redelivered'), '2025-03-01T10:05:00.000Z')]);
    // The trigger once more, as a queue redelivers a message whose ack was lost: not a new episode.
    await handle([triggered]);
    accepted(await post(server, ROUTE, ingest, trigger('sentinel')), 'sentinel');
    await alertWhen(server, viewer, 'sentinel');
    const events = (await alertEvents(server, 'pd-redelivered')).filter((event) => event.data.fingerprint === 'redelivered');
    assert.deepEqual(events.map((event) => [event.type, event.data.episode]), [['AlertFired', 1], ['AlertResolved', 1]]);
    assert.equal((await alertWhen(server, viewer, 'redelivered')).status, 'RESOLVED');
  });

  describe("invalid events get PagerDuty's 400, and nothing is appended", () => {
    const tenant = 'pd-invalid';
    const invalid = (errors: RegExp) => (answer: Posted) => {
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.equal(answer.body.status, 'invalid event');
      assert.equal(answer.body.message, 'Event object is invalid');
      assert.ok(Array.isArray(answer.body.errors) && answer.body.errors.length === 1, JSON.stringify(answer.body));
      assert.match(String(answer.body.errors[0]), errors);
    };
    const { payload: _payload, ...withoutPayload } = trigger('k');
    const cases: [string, unknown, (answer: Posted) => void][] = [
      ['a trigger without payload', withoutPayload, invalid(/^payload: is missing$/)],
      ['a payload without summary', trigger('k', { summary: undefined }), invalid(/^payload\.summary: is missing$/)],
      ['a blank summary', trigger('k', { summary: '   ' }), invalid(/^payload\.summary: must not be blank$/)],
      ['an unknown severity', trigger('k', { severity: 'fatal' }), invalid(/^payload\.severity: must be one of "critical", "error", "warning", "info"$/)],
      ['an unknown event_action', { ...action('trigger', 'k'), event_action: 'escalate' }, invalid(/^event_action: must be one of "trigger", "acknowledge", "resolve"$/)],
      ['a resolve without dedup_key', { routing_key: ROUTING_KEY, event_action: 'resolve' }, invalid(/^dedup_key: is missing$/)],
      ['no routing_key', { event_action: 'acknowledge', dedup_key: 'k' }, invalid(/^routing_key: is missing$/)],
      ['a dedup_key over 255 characters', trigger('k'.repeat(256)), invalid(/^dedup_key: must NOT have more than 255 characters$/)],
      ['a timestamp that is no date', trigger('k', { timestamp: 'yesterday' }), invalid(/^payload\.timestamp: "yesterday" is not an RFC 3339 date-time$/)],
      [
        'malformed JSON',
        '{"routing_key": ',
        (answer) => {
          assert.equal(answer.status, 400);
          assert.equal(answer.body.status, 'Unrecognized object');
          assert.equal(answer.body.message, 'Event object format is unrecognized');
          assert.match(String((answer.body.errors as unknown[])[0]), /not valid JSON/);
        },
      ],
    ];
    for (const [what, body, check] of cases) {
      test(what, async () => check(await post(server, ROUTE, tokens(tenant).ingest, body)));
    }

    test('a body over 512 KB is 413; a wrong content type 415; no or a non-ingest token 401 / 403', async () => {
      const { ingest } = tokens(tenant);
      const big = trigger('k', { custom_details: { blob: 'x'.repeat(512 * 1024) } });
      assert.equal((await post(server, ROUTE, ingest, big)).status, 413);
      const plain = await post(server, ROUTE, ingest, JSON.stringify(trigger('k')), { 'content-type': 'text/plain' });
      assert.equal(plain.status, 415);
      assert.equal((await post(server, ROUTE, null, trigger('k'))).status, 401);
      const viewer = await post(server, ROUTE, tokens(tenant).viewer, trigger('k'));
      assert.equal(viewer.status, 403);
      assert.match(String(viewer.body.message), /^ingest needs one of the roles/);
    });

    test('after all of them, only a valid trigger sent last is in the store', async () => {
      const { ingest, viewer } = tokens(tenant);
      accepted(await post(server, ROUTE, ingest, trigger('valid')), 'valid');
      await alertWhen(server, viewer, 'valid');
      assert.deepEqual((await alertEvents(server, tenant)).map((event) => event.data.fingerprint), ['valid']);
    });
  });
});

// Embedded, the queue hands concurrent submits to the handler in one batch: the alert's triggers run one after another.
describe('PagerDuty Events v2 embedded', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer('embedded', 'ingest-events-v2');
  });

  after(async () => {
    await server?.close();
  });

  test('20 concurrent identical triggers make one alert with one AlertFired', () => concurrentTriggers(server));
});
