// Alert correlation through the real server on PostgreSQL (JetStream when NATS is there): Alertmanager notifications
// POSTed to /ingest/alertmanager open incidents with their alerts linked, join them, leave warnings alone, attach a
// recent deploy as a suspect, stay out of incidents while silenced (the alert SUPPRESSED), and concurrent duplicate
// sends open one incident. "Nothing opened" is shown by a later alert of another service whose incident does open:
// the manager decides in log order, so by then the earlier alert has been decided.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { alertWhen, eventually, firing, notification, post } from './support/alerts.ts';
import { data } from './support/graphql.ts';
import { backendSkip, startTestServer, type TestServer } from './support/server.ts';

const ROUTE = '/ingest/alertmanager';

interface IncidentView {
  id: string;
  title: string;
  severity: string;
  services: string[];
  alerts: { fingerprint: string }[];
  suspectChanges: { id: string; summary: string }[];
}

const INCIDENTS = `query { incidents(first: 50) { edges { node {
  id title severity services alerts { fingerprint } suspectChanges { id summary } } } } }`;

describe('alert correlation on PostgreSQL', { skip: await backendSkip('postgres') }, () => {
  let server: TestServer;
  const tokens = (tenant: string) => ({
    ingest: server.token({ sub: 'alertmanager', tenant, roles: ['ingest'] }),
    responder: server.token({ sub: 'rita', tenant, roles: ['responder'] }),
  });

  before(async () => {
    server = await startTestServer('postgres', 'correlation');
  });

  after(async () => {
    await server?.close();
  });

  async function incidents(token: string): Promise<IncidentView[]> {
    const answer = await data<{ incidents: { edges: { node: IncidentView }[] } }>(server.url, token, INCIDENTS);
    return answer.incidents.edges.map((edge) => edge.node);
  }

  async function send(token: string, alerts: Parameters<typeof notification>[0]) {
    const answer = await post(server, ROUTE, token, notification(alerts));
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
  }

  test('a critical alert opens an incident with it linked; the next alert of its group joins; a recent deploy is a suspect', async () => {
    const { ingest, responder } = tokens('corr-open');
    const recorded = await data<{ recordChange: { change: { id: string } } }>(
      server.url,
      responder,
      `mutation($input: RecordChangeInput!) { recordChange(input: $input) { change { id } } }`,
      { input: { service: 'checkout', kind: 'deploy', summary: 'checkout v1.4.2', at: '2025-03-01T09:50:00.000Z' } },
    );
    await send(ingest, [firing('c0ffee0000000001')]);
    const [opened] = await eventually(() => incidents(responder), (list) => list.length === 1 && list[0]?.suspectChanges.length === 1);
    assert.equal(opened?.severity, 'SEV1');
    assert.equal(opened?.title, '5xx above 5% on c0ffee0000000001');
    assert.deepEqual(opened?.services, ['checkout']);
    assert.deepEqual(opened?.alerts, [{ fingerprint: 'c0ffee0000000001' }]);
    assert.deepEqual(opened?.suspectChanges, [{ id: recorded.recordChange.change.id, summary: 'checkout v1.4.2' }]);

    await send(ingest, [firing('c0ffee0000000001'), firing('c0ffee0000000002', { startsAt: '2025-03-01T10:05:00Z' })]);
    const [joined] = await eventually(() => incidents(responder), (list) => list[0]?.alerts.length === 2);
    assert.equal((await incidents(responder)).length, 1);
    assert.deepEqual(joined?.alerts.map((alert) => alert.fingerprint).sort(), ['c0ffee0000000001', 'c0ffee0000000002']);
    const alert = await alertWhen(server, responder, 'c0ffee0000000002', (found) => found.incident !== null);
    assert.equal(alert.incident?.id, joined?.id);
  });

  test('a warning alone opens nothing', async () => {
    const { ingest, responder } = tokens('corr-warning');
    const labels = { alertname: 'Latency', service: 'search', severity: 'warning', instance: 'w' };
    await send(ingest, [firing('beef000000000001', { labels })]);
    await alertWhen(server, responder, 'beef000000000001');
    const sentinel = { alertname: 'Down', service: 'sentinel', severity: 'critical', instance: 's' };
    await send(ingest, [firing('beef000000000002', { labels: sentinel })]);
    const list = await eventually(() => incidents(responder), (found) => found.length > 0);
    assert.deepEqual(list.map((incident) => incident.services), [['sentinel']]);
  });

  test('a silenced alert is recorded as SUPPRESSED and opens no incident; the silence is listed as active', async () => {
    const { ingest, responder } = tokens('corr-silence');
    const created = await data<{ createSilence: { silence: { id: string; status: string; createdBy: string } } }>(
      server.url,
      responder,
      `mutation($input: CreateSilenceInput!) { createSilence(input: $input) { silence { id status createdBy } } }`,
      { input: { service: 'checkout', endsAt: new Date(Date.now() + 3_600_000).toISOString(), comment: 'maintenance' } },
    );
    assert.equal(created.createSilence.silence.status, 'ACTIVE');
    assert.equal(created.createSilence.silence.createdBy, 'rita');

    await send(ingest, [firing('5117000000000001')]);
    const alert = await alertWhen(server, responder, '5117000000000001', (found) => found.status === 'SUPPRESSED');
    assert.equal(alert.incident, null);
    const sentinel = { alertname: 'Down', service: 'sentinel', severity: 'critical', instance: 's' };
    await send(ingest, [firing('5117000000000002', { labels: sentinel })]);
    const list = await eventually(() => incidents(responder), (found) => found.length > 0);
    assert.deepEqual(list.map((incident) => incident.services), [['sentinel']]);

    const listed = await data<{ silences: { id: string; matchers: unknown[]; status: string }[] }>(
      server.url,
      responder,
      'query { silences(active: true) { id matchers { name op value } status } }',
    );
    assert.deepEqual(listed.silences, [
      { id: created.createSilence.silence.id, matchers: [{ name: 'service', op: '=', value: 'checkout' }], status: 'ACTIVE' },
    ]);
    const expired = await data<{ expireSilence: { silence: { status: string } } }>(
      server.url,
      responder,
      'mutation($id: ID!) { expireSilence(id: $id) { silence { status } } }',
      { id: created.createSilence.silence.id },
    );
    assert.equal(expired.expireSilence.silence.status, 'EXPIRED');
  });

  test('concurrent duplicate sends open one incident', async () => {
    const { ingest, responder } = tokens('corr-burst');
    const alerts = [firing('d0d0000000000001'), firing('d0d0000000000002')];
    await Promise.all(Array.from({ length: 6 }, () => send(ingest, alerts)));
    const list = await eventually(() => incidents(responder), (found) => found[0]?.alerts.length === 2);
    assert.equal(list.length, 1);
  });
});
