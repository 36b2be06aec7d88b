// `npm run bench -- ingest [--alerts N] [--changes M] [--connections C]`
//
// One JSON line: alerts and changes ingested end to end through a real server on PostgreSQL and NATS JetStream, as
// Alertmanager and CI/CD change hooks send them.
// - alerts: Alertmanager notifications (webhook version 4) of 100 alerts each, every alert a new fingerprint, POSTed
//   to /ingest/alertmanager by C concurrent senders until N alerts are sent. `alerts_per_s` is N over the time from
//   the first POST until the alerts read model has them all (queue drained, alerts projection caught up);
//   `p99_ack_ms` is the 99th percentile of the POSTs' 202. The phases (POSTs answered, appended, projected) are
//   reported apart, to show where the time goes.
// - changes: PagerDuty Change Events POSTed one by one to /ingest/changes the same way; `changes_per_s` end to end.
// The server runs in a process of its own (gateway/main.ts), so the load generator never shares its event loop; its
// database, stream and secret are created for the run and removed after it. Progress is read from /metrics
// (ingest_queue_depth, projection_lag_events), the row counts from the read models at the end. For reference, the
// same notifications are then submitted straight to a JetStream ingestion queue (`queue_submit`).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import pg from 'pg';
import { hs256Key, signToken } from '../../gateway/auth/token.ts';
import type { JsonObject } from '../../infra/eventstore/port.ts';
import { createJetStreamIngestQueue } from '../../infra/ingest/jetstream.ts';
import { deleteIngestStream } from '../support/ingest-stream.ts';
import { createTestDatabase, NATS_TEST_URL } from '../support/services.ts';
import { machineInfo } from './support/measure.ts';

interface Settings {
  alerts: number;
  changes: number;
  connections: number;
}

const ALERTS_PER_NOTIFICATION = 100;
const TENANT = 'bench';
/** How long the read side may take after the last POST before the run is called failed. */
const DRAIN_TIMEOUT_MS = 10 * 60_000;
const USAGE = 'usage: npm run bench -- ingest [--alerts N] [--changes M] [--connections C]';

function parseArgs(args: readonly string[]): Settings {
  const settings: Settings = { alerts: 100_000, changes: 5_000, connections: 16 };
  for (let index = 0; index < args.length; index += 2) {
    const [flag, value] = [args[index], Number(args[index + 1])];
    if (flag === '--alerts' && Number.isInteger(value) && value >= ALERTS_PER_NOTIFICATION) settings.alerts = value;
    else if (flag === '--changes' && Number.isInteger(value) && value > 0) settings.changes = value;
    else if (flag === '--connections' && Number.isInteger(value) && value > 0) settings.connections = value;
    else throw new Error(USAGE);
  }
  settings.alerts -= settings.alerts % ALERTS_PER_NOTIFICATION;
  return settings;
}

interface ServerProcess {
  url: string;
  stop(): Promise<void>;
}

/** gateway/main.ts with this environment only (nothing inherited from the shell's configuration). */
async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  let url: string | undefined;
  for await (const line of createInterface({ input: child.stdout })) {
    url = /^Incident platform on (http:\/\/\S+)/.exec(line)?.[1];
    if (url !== undefined) break;
  }
  if (url === undefined) throw new Error('the server exited before listening');
  // stdout carries the benchmark's one JSON line: whatever the server says later goes to stderr.
  child.stdout.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  return {
    url,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

function notification(index: number, startsAt: string): JsonObject {
  const alerts = Array.from({ length: ALERTS_PER_NOTIFICATION }, (_, offset) => {
    const number = index * ALERTS_PER_NOTIFICATION + offset;
    return {
      status: 'firing',
      labels: { alertname: 'BenchHighLatency', instance: `host-${number}:9100`, service: `svc-${number % 50}`, severity: 'info' },
      annotations: { summary: `p99 latency above 500 ms on host-${number}` },
      startsAt,
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.bench:9090/graph?g0.expr=latency',
      fingerprint: number.toString(16).padStart(16, '0'),
    };
  });
  const groupLabels = { alertname: 'BenchHighLatency', batch: String(index) };
  return {
    version: '4',
    groupKey: `{}:{alertname="BenchHighLatency", batch="${index}"}`,
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'incident-platform',
    groupLabels,
    commonLabels: { ...groupLabels, severity: 'info' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.bench:9093',
    alerts,
  };
}

function changeEvent(index: number, at: Date): string {
  return JSON.stringify({
    routing_key: 'bench',
    payload: { summary: `Deploy #${index} of svc-${index % 50}`, timestamp: at.toISOString(), source: 'ci' },
    links: [{ href: `https://ci.bench/builds/${index}`, text: 'build' }],
    service: `svc-${index % 50}`,
    kind: 'deploy',
    version: `1.0.${index}`,
    author: 'ci-bot',
  });
}

interface Load {
  requests: number;
  non2xx: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  seconds: number;
}

/** `count` POSTs of `body(i)` to `path` over `connections` connections, each answered before the next is sent. */
async function post(
  url: string,
  path: string,
  token: string,
  count: number,
  connections: number,
  body: (index: number) => string,
): Promise<Load> {
  let next = 0;
  const result = await autocannon({
    url,
    connections: Math.min(connections, count),
    amount: count,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        setupRequest: (request) => ({ ...request, body: body(next++) }),
      },
    ],
  });
  return {
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    seconds: result.duration,
  };
}

/** One sample of a metric from /metrics (labels given as they are printed), or undefined. */
async function metric(url: string, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((each) => each.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Milliseconds from `since` until `condition` holds, polling. */
async function until(since: number, what: string, condition: () => Promise<boolean>): Promise<number> {
  const deadline = performance.now() + DRAIN_TIMEOUT_MS;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(25);
  }
  return performance.now() - since;
}

/** POSTs answered, then the queue drained (appended), then the projection caught up: ms from the first POST each. */
async function ingest(
  url: string,
  projection: string,
  send: () => Promise<Load>,
): Promise<{ load: Load; ackedMs: number; appendedMs: number; projectedMs: number }> {
  const started = performance.now();
  const load = await send();
  const ackedMs = performance.now() - started;
  const appendedMs = await until(started, 'the queue to drain', async () => (await metric(url, 'ingest_queue_depth')) === 0);
  const lag = `projection_lag_events{projection="${projection}"}`;
  const projectedMs = await until(started, `${projection} to catch up`, async () => (await metric(url, lag)) === 0);
  return { load, ackedMs, appendedMs, projectedMs };
}

/**
 * The reference: the same notifications submitted straight to a JetStream ingestion queue from this process, by as
 * many concurrent senders, with a handler that does nothing: the queue's part of an acknowledgement, without HTTP,
 * validation and the appends competing for the server's event loop.
 */
async function submitDirectly(settings: Settings, startsAt: string): Promise<{ perSecond: number; p99Ms: number }> {
  const prefix = `bench_${randomBytes(6).toString('hex')}`;
  const queue = await createJetStreamIngestQueue({
    url: NATS_TEST_URL,
    subjectPrefix: prefix,
    handlers: { alertmanager: async () => undefined },
  });
  try {
    const notifications = settings.alerts / ALERTS_PER_NOTIFICATION;
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: settings.connections }, async () => {
        for (let index = next++; index < notifications; index = next++) {
          const sent = performance.now();
          await queue.submit({
            kind: 'alertmanager',
            tenant: TENANT,
            dedupKey: `direct-${index}`,
            actor: { id: 'alertmanager', kind: 'service', roles: ['ingest'] },
            receivedAt: new Date().toISOString(),
            payload: notification(index, startsAt),
          });
          latencies.push(performance.now() - sent);
        }
      }),
    );
    const elapsed = performance.now() - started;
    latencies.sort((a, b) => a - b);
    return {
      perSecond: perSecond(settings.alerts, elapsed),
      p99Ms: latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? 0,
    };
  } finally {
    await queue.close();
    await deleteIngestStream(NATS_TEST_URL, prefix);
  }
}

const perSecond = (count: number, ms: number) => Math.round((count * 1000) / ms);
const round = (value: number) => Math.round(value * 10) / 10;

export async function run(args: readonly string[]): Promise<void> {
  const settings = parseArgs(args);
  const machine = machineInfo();
  const database = await createTestDatabase('bench_ingest');
  const prefix = `bench_${randomBytes(6).toString('hex')}`;
  const secret = randomBytes(32).toString('hex');
  const token = signToken(hs256Key(secret), { sub: 'alertmanager', tenant: TENANT, roles: ['ingest'] }, 3600);
  let server: ServerProcess | undefined;
  try {
    server = await startServerProcess({
      DATABASE_URL: database.url,
      NATS_URL: NATS_TEST_URL,
      NATS_SUBJECT_PREFIX: prefix,
      JWT_SECRET: secret,
      PORT: '0',
      LOG_LEVEL: 'warn',
    });
    const { url } = server;
    const startsAt = new Date().toISOString();
    const notifications = settings.alerts / ALERTS_PER_NOTIFICATION;
    const alerts = await ingest(url, 'alerts', () =>
      post(url, '/ingest/alertmanager', token, notifications, settings.connections, (i) =>
        JSON.stringify(notification(i, startsAt)),
      ),
    );
    const epoch = Date.now();
    const changes = await ingest(url, 'changes', () =>
      post(url, '/ingest/changes', token, settings.changes, settings.connections, (i) => changeEvent(i, new Date(epoch - i))),
    );

    const direct = await submitDirectly(settings, startsAt);

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const count = async (table: string) =>
      Number((await client.query(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = $1`, [TENANT])).rows[0].n);
    const [alertRows, changeRows] = [await count('alerts'), await count('changes')];
    await client.end();

    console.log(
      JSON.stringify({
        benchmark: 'ingest',
        date: new Date().toISOString(),
        backend: 'postgres+nats',
        machine,
        settings,
        alerts_per_s: perSecond(settings.alerts, alerts.projectedMs),
        p99_ack_ms: round(alerts.load.p99Ms),
        p50_ack_ms: round(alerts.load.p50Ms),
        changes_per_s: perSecond(settings.changes, changes.projectedMs),
        changes_p99_ack_ms: round(changes.load.p99Ms),
        phases: {
          alerts: {
            acked_per_s: perSecond(settings.alerts, alerts.ackedMs),
            acked_s: round(alerts.ackedMs / 1000),
            appended_s: round(alerts.appendedMs / 1000),
            projected_s: round(alerts.projectedMs / 1000),
          },
          changes: {
            acked_per_s: perSecond(settings.changes, changes.ackedMs),
            acked_s: round(changes.ackedMs / 1000),
            appended_s: round(changes.appendedMs / 1000),
            projected_s: round(changes.projectedMs / 1000),
          },
        },
        // The queue alone, for comparison with the acknowledgements above.
        queue_submit: { alerts_per_s: direct.perSecond, p99_ms: round(direct.p99Ms) },
        refused: {
          alert_posts: alerts.load.non2xx + alerts.load.errors,
          change_posts: changes.load.non2xx + changes.load.errors,
        },
        rows: { alerts: alertRows, changes: changeRows },
        target: { alerts_per_s: 20_000, p99_ack_ms: 50 },
      }),
    );
  } finally {
    await server?.stop();
    await database.drop();
    await deleteIngestStream(NATS_TEST_URL, prefix);
  }
}
