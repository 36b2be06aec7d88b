// Reading alerts through GraphQL on PostgreSQL: list filters and keyset pages, consistentWith, the tenant wall and
// roles, alerts linked to incidents (Incident.alerts with the real alerts, for read-model and folded incidents alike,
// and Alert.incident), and alertChanged delivering each change with the alert as that event left it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from 'graphql-ws';
import { linkAlertToIncident } from '../../commands/incident.ts';
import type { CommandContext } from '../../commands/context.ts';
import { alertEvents, alertWhen, eventually, firing, notification, post, resolved } from './support/alerts.ts';
import { codes, data, graphql, subscribe, wsClient } from './support/graphql.ts';
import { declare } from './support/incident.ts';
import { backendSkip, startTestServer, type TestServer } from './support/server.ts';

const LIST = `query($status: [AlertStatus!], $service: String, $first: Int, $after: String, $consistentWith: Cursor) {
  alerts(status: $status, service: $service, first: $first, after: $after, consistentWith: $consistentWith) {
    edges { cursor node { fingerprint status service startsAt } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface Page {
  alerts: {
    edges: { cursor: string; node: { fingerprint: string; status: string; service: string | null; startsAt: string } }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

const CHANGES = `subscription($after: Cursor, $fingerprint: String) {
  alertChanged(after: $after, fingerprint: $fingerprint) {
    cursor
    alert { fingerprint status episode acknowledgedAt incident { id } }
    event { cursor streamId revision type actor { id kind } }
  }
}`;

interface Change {
  alertChanged: {
    cursor: string;
    alert: { fingerprint: string; status: string; episode: number; acknowledgedAt: string | null; incident: { id: string } | null };
    event: { cursor: string; streamId: string; revision: number; type: string; actor: { id: string; kind: string } };
  };
}

describe('alerts over GraphQL on PostgreSQL', { skip: await backendSkip('postgres') }, () => {
  let server: TestServer;
  let ingest: string;
  let vic: string;
  const clients: Client[] = [];
  /** startsAt of alert i: later alerts start later, so the list (newest first) is in reverse order. */
  const startsAt = (i: number) => new Date(Date.UTC(2025, 2, 1, 10, i)).toISOString();
  const fingerprints = Array.from({ length: 7 }, (_, i) => `f0a1b2c3d4e5f6${i.toString().padStart(2, '0')}`);

  before(async () => {
    server = await startTestServer('postgres', 'alerts_queries');
    ingest = server.token({ sub: 'alertmanager', roles: ['ingest'] });
    vic = server.token({ sub: 'vic', roles: ['viewer'] });
    // Five of checkout, two of payments; the third and the sixth resolve.
    const alerts = fingerprints.map((fingerprint, i) =>
      firing(fingerprint, {
        startsAt: startsAt(i),
        labels: { alertname: `Alert${i}`, service: i < 5 ? 'checkout' : 'payments', severity: 'warning' },
      }),
    );
    assert.equal((await post(server, '/ingest/alertmanager', ingest, notification(alerts))).status, 202);
    const ended = alerts.map((alert, i) => (i === 2 || i === 5 ? resolved(alert) : alert));
    assert.equal((await post(server, '/ingest/alertmanager', ingest, notification(ended))).status, 202);
    await alertWhen(server, vic, fingerprints[5] as string, (alert) => alert.status === 'RESOLVED');
    await alertWhen(server, vic, fingerprints[2] as string, (alert) => alert.status === 'RESOLVED');
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await server?.close();
  });

  const list = (variables: Record<string, unknown>) => data<Page>(server.url, vic, LIST, variables);
  const names = (page: Page) => page.alerts.edges.map((edge) => edge.node.fingerprint);
  const newestFirst = (indexes: number[]) => indexes.sort((a, b) => b - a).map((i) => fingerprints[i]);

  test('alerts are listed newest episode first, narrowed by status and service', async () => {
    assert.deepEqual(names(await list({})), newestFirst([0, 1, 2, 3, 4, 5, 6]));
    assert.deepEqual(names(await list({ status: ['FIRING'] })), newestFirst([0, 1, 3, 4, 6]));
    assert.deepEqual(names(await list({ status: ['RESOLVED', 'SUPPRESSED'] })), newestFirst([2, 5]));
    assert.deepEqual(names(await list({ service: 'payments' })), newestFirst([5, 6]));
    assert.deepEqual(names(await list({ service: 'checkout', status: ['RESOLVED'] })), newestFirst([2]));
    assert.deepEqual(names(await list({ service: 'search' })), []);
  });

  test('pages of 3 follow each other without gaps or repeats', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let pages = 1; ; pages++) {
      const page: Page = await list({ first: 3, after });
      seen.push(...names(page));
      assert.equal(page.alerts.pageInfo.endCursor, page.alerts.edges.at(-1)?.cursor ?? null);
      if (!page.alerts.pageInfo.hasNextPage) {
        assert.equal(pages, 3);
        break;
      }
      after = page.alerts.pageInfo.endCursor;
    }
    assert.deepEqual(seen, newestFirst([0, 1, 2, 3, 4, 5, 6]));
  });

  test('bad arguments are BAD_USER_INPUT; an ingest token may not read; another tenant sees nothing', async () => {
    assert.deepEqual(codes(await graphql(server.url, vic, LIST, { first: 0 })), ['BAD_USER_INPUT']);
    assert.deepEqual(codes(await graphql(server.url, vic, LIST, { after: 'not-a-cursor' })), ['BAD_USER_INPUT']);
    assert.deepEqual(codes(await graphql(server.url, ingest, LIST, {})), ['FORBIDDEN']);
    const globex = server.token({ sub: 'gina', tenant: 'globex', roles: ['viewer'] });
    assert.deepEqual((await data<Page>(server.url, globex, LIST, {})).alerts.edges, []);
    const one = `query($f: String!) { alert(fingerprint: $f) { fingerprint } }`;
    assert.deepEqual(await data(server.url, globex, one, { f: fingerprints[0] }), { alert: null });
  });

  test('consistentWith an alert event waits for it rather than polling', async () => {
    const alert = firing('f0a1b2c3d4e5ffff', { startsAt: startsAt(30) });
    assert.equal((await post(server, '/ingest/alertmanager', ingest, notification([alert]))).status, 202);
    // The event's position, as a live subscriber would have it.
    const events = await eventually(
      () => alertEvents(server, 'acme'),
      (all) => all.some((event) => event.data.fingerprint === alert.fingerprint),
    );
    const cursor = events.find((event) => event.data.fingerprint === alert.fingerprint)?.position;
    assert.equal(names(await list({ first: 1, consistentWith: cursor }))[0], alert.fingerprint);
  });

  test("an incident's alerts are the alerts themselves, and each alert names its incident", async () => {
    const rita = server.token({ sub: 'rita', roles: ['responder'] });
    const declared = await declare(server, rita, { title: 'Checkout errors', services: ['checkout'] });
    const { id } = declared.incident;
    const correlator: CommandContext = { tenantId: 'acme', actor: { id: 'correlator', kind: 'service', roles: [] } };
    const store = server.server.services.eventStore;
    await linkAlertToIncident(store, correlator, { incidentId: id, fingerprint: fingerprints[1] as string });
    await linkAlertToIncident(store, correlator, { incidentId: id, fingerprint: fingerprints[2] as string });
    // Correlation may link an alert the alerts model has not seen: the incident still lists what the link knows.
    const { cursor } = await linkAlertToIncident(store, correlator, { incidentId: id, fingerprint: 'not-seen-yet' });

    const ALERTS = 'alerts { fingerprint status source service episode incident { id } }';
    const read = await data<{ incident: { alerts: unknown[] } }>(
      server.url,
      vic,
      `query($id: ID!, $c: Cursor) { incident(id: $id, consistentWith: $c) { ${ALERTS} } }`,
      { id, c: cursor },
    );
    // Read with the incidents' cursor, the links are all there at once; the alerts model catches up on its own.
    assert.equal(read.incident.alerts.length, 3);
    const expected = [
      { fingerprint: fingerprints[1], status: 'FIRING', source: 'alertmanager', service: 'checkout', episode: 1, incident: { id } },
      { fingerprint: fingerprints[2], status: 'RESOLVED', source: 'alertmanager', service: 'checkout', episode: 1, incident: { id } },
      { fingerprint: 'not-seen-yet', status: 'FIRING', source: 'unknown', service: null, episode: 1, incident: { id } },
    ];
    await eventually(
      () => data<{ incident: { alerts: unknown[] } }>(server.url, vic, `query($id: ID!) { incident(id: $id) { ${ALERTS} } }`, { id }),
      (answer) => JSON.stringify(answer.incident.alerts) === JSON.stringify(expected),
    );

    // A mutation answers with the incident folded from its events: its alerts are the same.
    const folded = await data<{ addIncidentNote: { incident: { alerts: unknown[] } } }>(
      server.url,
      rita,
      `mutation($id: ID!) { addIncidentNote(id: $id, text: "and the dashboards") { incident { ${ALERTS} } } }`,
      { id },
    );
    assert.deepEqual(folded.addIncidentNote.incident.alerts, expected);

    const alert = await alertWhen(server, vic, fingerprints[1] as string);
    assert.deepEqual(alert.incident, { id });
  });

  test('alertChanged delivers each change of an alert with the alert as that event left it', async () => {
    const client = await wsClient(server.wsUrl, vic);
    clients.push(client);
    const key = 'disk/db-7';
    const changes = subscribe<Change>(client, CHANGES, { after: '', fingerprint: key });
    const v2 = { routing_key: 'r', dedup_key: key };
    const payload = { summary: 'disk 99%', source: 'db-7', severity: 'error' };
    for (const event of [{ ...v2, event_action: 'trigger', payload }, { ...v2, event_action: 'acknowledge' }, { ...v2, event_action: 'resolve' }]) {
      assert.equal((await post(server, '/ingest/events/v2', ingest, event)).status, 202);
    }
    const seen: Change['alertChanged'][] = [];
    for (let i = 0; i < 3; i++) seen.push((await changes.next()).alertChanged);
    await changes.close();
    assert.deepEqual(
      seen.map(({ alert, event }) => [event.type, event.revision, event.streamId, event.actor.kind, alert.status, alert.acknowledgedAt !== null]),
      [
        ['AlertFired', 0, 'alert-disk%2Fdb-7', 'SERVICE', 'FIRING', false],
        ['AlertAcknowledged', 1, 'alert-disk%2Fdb-7', 'SERVICE', 'FIRING', true],
        ['AlertResolved', 2, 'alert-disk%2Fdb-7', 'SERVICE', 'RESOLVED', true],
      ],
    );
    assert.ok(seen.every((change) => change.cursor === change.event.cursor && change.alert.fingerprint === key));

    // Resuming after the first change replays the other two, the alert as each left it.
    const resumed = subscribe<Change>(client, CHANGES, { after: seen[0]?.cursor, fingerprint: key });
    assert.deepEqual((await resumed.next()).alertChanged.alert.status, 'FIRING');
    assert.deepEqual((await resumed.next()).alertChanged.alert.status, 'RESOLVED');
    await resumed.close();
  });
});
