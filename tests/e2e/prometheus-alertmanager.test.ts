// Ingestion as operators run it: a real Prometheus evaluates a rule over a metric node-exporter reads from a file,
// a real Alertmanager posts its webhook to the gateway with the ingest token, and the alert is read back over GraphQL
// as it fires and resolves, with the incident the correlation manager opened for it. PostgreSQL, with NATS
// (JetStream ingestion) when it is there.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StoredEvent } from '../../infra/eventstore/port.ts';
import { qualify } from '../../infra/eventstore/stream-name.ts';
import { data } from './support/graphql.ts';
import { ALERT_LABELS, ALERT_NAME, prometheusSkip, startAlerting, type Alerting } from './support/prometheus.ts';
import { backendSkip, startTestServer, type TestServer } from './support/server.ts';

const skip = (await backendSkip('postgres')) || (await prometheusSkip());

/** All the waits of one run through the pipeline (scrape, evaluation, notification, queue, projection) share it. */
const PIPELINE_MS = 60_000;
const TENANT = 'acme';
/** The `sub` of the ingest token Alertmanager sends: the actor of the alert's events. */
const ALERTMANAGER_SUBJECT = 'alertmanager';

interface Alert {
  fingerprint: string;
  streamId: string;
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  service: string | null;
  severity: string | null;
  source: string;
  startsAt: string;
  endsAt: string | null;
  receiver: string | null;
  incident: { id: string } | null;
}

const ALERT = 'fingerprint streamId status labels annotations service severity source startsAt endsAt receiver incident { id }';

interface Incident {
  id: string;
  status: string;
  severity: string;
  services: string[];
  alerts: { fingerprint: string }[];
  timeline: { type: string; text: string | null; actor: { id: string; kind: string } }[];
}

const INCIDENT = 'id status severity services alerts { fingerprint } timeline { type text actor { id kind } }';

/** Calls `probe` until it answers something; fails with `describe()` once the clock passes `deadline`. */
async function poll<T>(probe: () => Promise<T | undefined>, describe: () => string, deadline: number): Promise<T> {
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out: ${describe()}`);
    await sleep(250);
  }
}

describe('Prometheus and Alertmanager to the gateway', { skip }, () => {
  let server: TestServer | undefined;
  let alerting: Alerting | undefined;

  before(async () => {
    server = await startTestServer('postgres', 'prometheus_e2e');
    alerting = await startAlerting({
      webhookUrl: `${server.url}/ingest/alertmanager`,
      bearerToken: server.token({ sub: ALERTMANAGER_SUBJECT, tenant: TENANT, roles: ['ingest'] }),
    });
  });

  after(async () => {
    await alerting?.stop();
    await server?.close();
  });

  /** Runs a test body; when it fails, the three processes' logs go to stderr with the failure. */
  const withLogs = (body: (running: { server: TestServer; alerting: Alerting }) => Promise<void>) => async () => {
    assert.ok(server && alerting, 'the services did not start');
    try {
      await body({ server, alerting });
    } catch (error) {
      console.error(`--- Prometheus, Alertmanager and node-exporter logs ---\n${alerting.logs()}`);
      throw error;
    }
  };

  test(
    'a firing rule reaches the gateway as a FIRING alert under Alertmanager’s fingerprint and opens an incident; when it stops, the alert resolves and the timeline says so',
    { timeout: PIPELINE_MS + 15_000 },
    withLogs(async ({ server, alerting }) => {
      const deadline = Date.now() + PIPELINE_MS;
      const viewer = server.token({ sub: 'vera', tenant: TENANT, roles: ['viewer'] });
      const read = async (fingerprint: string) =>
        (await data<{ alert: Alert | null }>(server.url, viewer, `query($fingerprint: String!) { alert(fingerprint: $fingerprint) { ${ALERT} } }`, {
          fingerprint,
        })).alert;

      await alerting.trigger(1);
      const fired = await poll(
        async () => (await alerting.alertmanagerAlerts()).find((alert) => alert.labels.alertname === ALERT_NAME),
        () => `Alertmanager never received ${ALERT_NAME}`,
        deadline,
      );

      const listed = await poll(
        async () => {
          const { alerts } = await data<{ alerts: { edges: { node: Alert }[] } }>(
            server.url,
            viewer,
            `query { alerts(status: [FIRING], service: "checkout") { edges { node { ${ALERT} } } } }`,
          );
          return alerts.edges.map((edge) => edge.node).find((alert) => alert.labels.alertname === ALERT_NAME);
        },
        () => `the gateway never listed ${ALERT_NAME} as FIRING`,
        deadline,
      );
      assert.equal(listed.fingerprint, fired.fingerprint, 'the alert is keyed by Alertmanager’s fingerprint');
      assert.deepEqual(listed.labels, { alertname: ALERT_NAME, ...ALERT_LABELS });
      assert.equal(listed.annotations.summary, 'The end-to-end test raised its trigger');
      assert.equal(listed.status, 'FIRING');
      assert.equal(listed.service, 'checkout');
      assert.equal(listed.severity, 'SEV1');
      assert.equal(listed.source, 'alertmanager');
      assert.equal(listed.receiver, 'gateway');
      assert.equal(listed.endsAt, null);

      // The correlation manager declares an incident for a critical alert and links the alert to it.
      const opened = await poll(
        async () => {
          const { incidents } = await data<{ incidents: { edges: { node: Incident }[] } }>(
            server.url,
            viewer,
            `query { incidents(service: "checkout") { edges { node { ${INCIDENT} } } } }`,
          );
          return incidents.edges.map((edge) => edge.node).find((incident) => incident.alerts.some((alert) => alert.fingerprint === fired.fingerprint));
        },
        () => `no incident opened with ${ALERT_NAME} linked`,
        deadline,
      );
      assert.equal(opened.status, 'OPEN');
      assert.equal(opened.severity, 'SEV1');
      assert.deepEqual(opened.services, ['checkout']);

      await alerting.trigger(0);
      const resolved = await poll(
        async () => {
          const alert = await read(fired.fingerprint);
          return alert?.status === 'RESOLVED' ? alert : undefined;
        },
        () => `${ALERT_NAME} never became RESOLVED`,
        deadline,
      );
      assert.equal(resolved.startsAt, listed.startsAt, 'the same episode ended');
      assert.ok(resolved.endsAt !== null && resolved.endsAt >= resolved.startsAt, `endsAt ${String(resolved.endsAt)}`);
      assert.equal(resolved.incident?.id, opened.id);

      // Its only alert resolved: the timeline says so, and the incident stays OPEN (auto-resolve is off by default).
      const saysResolved = (entry: Incident['timeline'][number]) =>
        entry.type === 'IncidentNoteAdded' && entry.text?.endsWith('the linked alert resolved') === true;
      let timeline: Incident['timeline'] = [];
      const noted = await poll(
        async () => {
          const { incident } = await data<{ incident: Incident | null }>(server.url, viewer, `query($id: ID!) { incident(id: $id) { ${INCIDENT} } }`, {
            id: opened.id,
          });
          timeline = incident?.timeline ?? [];
          return timeline.some(saysResolved) ? incident ?? undefined : undefined;
        },
        () => `the timeline of incident ${opened.id} never said the linked alert resolved: ${JSON.stringify(timeline)}`,
        deadline,
      );
      assert.equal(noted.status, 'OPEN');
      assert.deepEqual(noted.timeline.find(saysResolved)?.actor, { id: 'alert-correlation', kind: 'SYSTEM' });

      // Appended under the subject of the token Alertmanager sent: it authenticated, as the 401 test shows it must.
      const events: StoredEvent[] = [];
      for await (const event of server.server.services.eventStore.readStream(qualify(TENANT, resolved.streamId))) events.push(event);
      assert.deepEqual(
        events.map((event) => event.metadata.actor.id),
        events.map(() => ALERTMANAGER_SUBJECT),
      );
      assert.equal(events.at(-1)?.type, 'AlertResolved');
    }),
  );

  test(
    'the receiver refuses a notification without a bearer token (401) and appends nothing',
    withLogs(async ({ server }) => {
      const fingerprint = 'e2e0000000000001';
      const now = new Date().toISOString();
      const alert = {
        status: 'firing',
        labels: { alertname: 'Unauthenticated', ...ALERT_LABELS },
        annotations: {},
        startsAt: now,
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://127.0.0.1/graph',
        fingerprint,
      };
      const response = await fetch(`${server.url}/ingest/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          version: '4',
          groupKey: '{}:{alertname="Unauthenticated"}',
          truncatedAlerts: 0,
          status: 'firing',
          receiver: 'gateway',
          groupLabels: { alertname: 'Unauthenticated' },
          commonLabels: alert.labels,
          commonAnnotations: {},
          externalURL: 'http://127.0.0.1:9093',
          alerts: [alert],
        }),
      });
      assert.equal(response.status, 401, await response.text());
      const events: StoredEvent[] = [];
      for await (const event of server.server.services.eventStore.readStream(qualify(TENANT, `alert-${fingerprint}`))) events.push(event);
      assert.deepEqual(events, []);
    }),
  );
});
