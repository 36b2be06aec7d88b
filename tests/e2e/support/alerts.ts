// Ingestion as senders do it (POST with a bearer token, JSON), an Alertmanager notification like the ones its webhook
// sends, and reading alerts back: through GraphQL (polling with a deadline, as ingestion may be asynchronous through
// JetStream) and straight from the store, to count what was appended.
import type { StoredEvent } from '../../../infra/eventstore/port.ts';
import { tenantPrefix } from '../../../infra/eventstore/stream-name.ts';
import { data } from './graphql.ts';
import type { TestServer } from './server.ts';

export interface Posted {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** POSTs `body` (JSON-encoded unless a string) with a bearer token, unless `token` is null. */
export async function post(
  server: TestServer,
  path: string,
  token: string | null,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Posted> {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** Polls `read` until `done` holds of its result (returned), or fails after `timeoutMs` showing the last result. */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface AlertmanagerAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

/** A notification as Alertmanager 0.27's webhook sends it (with its Go-formatted instants) for the given alerts. */
export function notification(alerts: AlertmanagerAlert[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const firing = alerts.some((alert) => alert.status === 'firing');
  return {
    receiver: 'incident-platform',
    status: firing ? 'firing' : 'resolved',
    alerts,
    groupLabels: { alertname: alerts[0]?.labels.alertname ?? '' },
    commonLabels: { alertname: alerts[0]?.labels.alertname ?? '', job: 'checkout' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example:9093',
    version: '4',
    groupKey: `{}/{severity=~"critical|warning"}:{alertname="${alerts[0]?.labels.alertname ?? ''}"}`,
    truncatedAlerts: 0,
    ...extra,
  };
}

/** A firing alert of the checkout service; `name` makes the fingerprint. */
export function firing(name: string, overrides: Partial<AlertmanagerAlert> = {}): AlertmanagerAlert {
  return {
    status: 'firing',
    labels: { alertname: 'HighErrorRate', service: 'checkout', severity: 'critical', instance: name, job: 'checkout' },
    annotations: { summary: `5xx above 5% on ${name}`, runbook_url: 'https://runbooks.example/5xx' },
    // Alertmanager writes Go's RFC 3339 with nanoseconds, and a zero endsAt while firing.
    startsAt: '2025-03-01T10:00:00.123456789Z',
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.example:9090/graph?g0.expr=rate%28http_requests_total%7Bcode%3D~%225..%22%7D%5B5m%5D%29&g0.tab=1',
    fingerprint: name,
    ...overrides,
  };
}

export function resolved(alert: AlertmanagerAlert, endsAt = '2025-03-01T10:20:00.5Z'): AlertmanagerAlert {
  return { ...alert, status: 'resolved', endsAt };
}

/** Every field of an alert. */
export const ALERT = `fingerprint streamId status labels annotations service severity source summary episode startsAt
  endsAt acknowledgedAt generatorURL groupKey receiver details incident { id }`;

export interface Alert {
  fingerprint: string;
  streamId: string;
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  service: string | null;
  severity: string | null;
  source: string;
  summary: string | null;
  episode: number;
  startsAt: string;
  endsAt: string | null;
  acknowledgedAt: string | null;
  generatorURL: string | null;
  groupKey: string | null;
  receiver: string | null;
  details: Record<string, unknown> | null;
  incident: { id: string } | null;
}

/** The alert as GraphQL answers it now (null if there is none). */
export async function alertOf(server: TestServer, token: string, fingerprint: string): Promise<Alert | null> {
  const answer = await data<{ alert: Alert | null }>(server.url, token, `query($f: String!) { alert(fingerprint: $f) { ${ALERT} } }`, {
    f: fingerprint,
  });
  return answer.alert;
}

/** Polls until the alert exists and `done` holds of it. */
export async function alertWhen(
  server: TestServer,
  token: string,
  fingerprint: string,
  done: (alert: Alert) => boolean = () => true,
): Promise<Alert> {
  const alert = await eventually(() => alertOf(server, token, fingerprint), (found) => found !== null && done(found));
  return alert as Alert;
}

/** The tenant's alert events as the store holds them, oldest first. */
export async function alertEvents(server: TestServer, tenant: string): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  const filter = { streamPrefix: `${tenantPrefix(tenant)}alert-` };
  for await (const event of server.server.services.eventStore.readAll({ filter })) events.push(event);
  return events;
}
