// `npm run bench -- graphql [--seconds S] [--subscribers N] [--cpu-prof DIR]`
//
// One JSON line: the GraphQL gateway as its clients meet it, on PostgreSQL with NATS. The server is gateway/main.ts
// (startServer) in its own process, on a fresh database and a NATS subject prefix of its own; everything else runs
// in this process and talks HTTP and WebSocket to it:
// - seeding: 1000 incidents declared through the API, 3 notes each, waited on until projected (consistentWith);
// - reads: `incident(id)` with its timeline over random incidents, 50 connections, interleaved in rounds with the
//   same load on `{ __typename }`, the ceiling of the HTTP + auth + GraphQL stack on the same server;
// - writes: `addIncidentNote` without expectedVersion over 100 incidents (conflicts retried by the handler);
// - live delivery: N graphql-ws subscribers (a worker thread) on one incident's `events`; mutations one after another,
//   each receipt timed against the arrival of its mutation's HTTP response, matched by cursor.
// `--cpu-prof DIR` writes a V8 CPU profile of the server process there.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { hs256Key, signToken } from '../../gateway/auth/token.ts';
import { createTestDatabase, NATS_TEST_URL } from '../support/services.ts';
import { graphqlBody, graphqlRequest, type GraphQLEndpoint } from './support/graphql-client.ts';
import { measureLoad, type LoadFigures, type Workload } from './support/graphql-load.ts';
import { startServerProcess } from './support/graphql-server.ts';
import { startSubscribers, subscriberClock } from './support/graphql-subscribers.ts';
import { machineInfo, ratio } from './support/measure.ts';

interface Settings {
  /** Measured seconds of each HTTP workload. */
  seconds: number;
  subscribers: number;
  cpuProfileDir?: string;
}

const INCIDENTS = 1000;
const NOTES_PER_INCIDENT = 3;
/** Incidents seeded at once (each one's declaration and notes in order). */
const SEED_CONCURRENCY = 32;
const CONNECTIONS = 50;
/** Incidents the note workload spreads over: 50 connections on 100 streams meet real write conflicts. */
const NOTE_TARGETS = 100;
/** Interleaved rounds of the query and ceiling workloads, after this many unmeasured seconds of each. */
const READ_ROUNDS = 2;
const WARMUP_SECONDS = 2;
/** Mutations timed for live delivery, one after another, and the pause between them. */
const PROBES = 40;
const PROBE_SPACING_MS = 150;
const DELIVERY_TIMEOUT_MS = 10_000;
const PROJECTION_TIMEOUT_MS = 60_000;

const USAGE = 'usage: npm run bench -- graphql [--seconds S] [--subscribers N] [--cpu-prof DIR]';

function parseArgs(args: readonly string[]): Settings {
  const settings: Settings = { seconds: 10, subscribers: 1000 };
  for (let index = 0; index < args.length; index += 2) {
    const [flag, value] = [args[index], args[index + 1]];
    if (flag === '--seconds' && Number(value) >= READ_ROUNDS) settings.seconds = Number(value);
    else if (flag === '--subscribers' && Number.isInteger(Number(value)) && Number(value) > 0) settings.subscribers = Number(value);
    else if (flag === '--cpu-prof' && value !== undefined) settings.cpuProfileDir = value;
    else throw new Error(USAGE);
  }
  return settings;
}

const DECLARE = `mutation Declare($input: DeclareIncidentInput!) {
  declareIncident(input: $input) { incident { id version } cursor }
}`;
const NOTE = `mutation Note($id: ID!, $text: String!) {
  addIncidentNote(id: $id, text: $text) { incident { id version } cursor }
}`;
const INCIDENT = `query Incident($id: ID!) {
  incident(id: $id) {
    id title status severity services version declaredAt
    timeline { cursor at type actor { id kind } text }
  }
}`;
const PROJECTED = `query Projected($id: ID!, $cursor: Cursor) { incident(id: $id, consistentWith: $cursor) { id } }`;
const CEILING = '{ __typename }';
/** What a live incident page asks for. */
const LIVE = `subscription Live($after: Cursor, $prefix: String) {
  events(after: $after, streamPrefix: $prefix) { cursor streamId revision type occurredAt actor { id kind } data }
}`;

interface IncidentResult {
  incident: { id: string; version: number };
  cursor: string;
}

const SERVICES = ['checkout', 'payments', 'search', 'auth', 'inventory', 'shipping', 'notifications', 'gateway'];
const SEVERITIES = ['SEV1', 'SEV2', 'SEV3', 'SEV4'];

function pick<T>(values: readonly T[]): T {
  return values[Math.floor(Math.random() * values.length)] as T;
}

function noteText(sequence: number): string {
  return `Deploy ${sequence.toString(16)} correlates with the spike; canary showed 2% 5xx before promotion. Rolling back.`;
}

function declare(endpoint: GraphQLEndpoint, sequence: number): Promise<{ declareIncident: IncidentResult }> {
  const service = SERVICES[sequence % SERVICES.length] ?? 'checkout';
  return graphqlRequest(endpoint, DECLARE, {
    input: {
      title: `Elevated 5xx error rate on ${service} API (p99 latency above SLO)`,
      severity: SEVERITIES[sequence % SEVERITIES.length],
      services: [service, SERVICES[(sequence + 3) % SERVICES.length]],
      summary: `Error budget burn rate 14.4x over 1h; ${120 + (sequence % 80)} requests/s failing with 503 upstream.`,
    },
  });
}

async function note(endpoint: GraphQLEndpoint, id: string, sequence: number): Promise<IncidentResult> {
  const data = await graphqlRequest<{ addIncidentNote: IncidentResult }>(endpoint, NOTE, { id, text: noteText(sequence) });
  return data.addIncidentNote;
}

/** Positions are ordered as plain strings (DESIGN.md "Event store port"). */
function later(a: string, b: string): string {
  return a > b ? a : b;
}

/** Declares the incidents with their notes through the API; returns their ids and the last cursor written. */
async function seed(endpoint: GraphQLEndpoint): Promise<{ ids: string[]; cursor: string; mutationsPerSecond: number }> {
  const started = performance.now();
  const ids: string[] = [];
  let cursor = '';
  let next = 0;
  await Promise.all(
    Array.from({ length: SEED_CONCURRENCY }, async () => {
      for (let sequence = next++; sequence < INCIDENTS; sequence = next++) {
        const declared = (await declare(endpoint, sequence)).declareIncident;
        ids.push(declared.incident.id);
        cursor = later(cursor, declared.cursor);
        for (let index = 0; index < NOTES_PER_INCIDENT; index++) {
          cursor = later(cursor, (await note(endpoint, declared.incident.id, sequence * NOTES_PER_INCIDENT + index)).cursor);
        }
      }
    }),
  );
  const mutations = INCIDENTS * (1 + NOTES_PER_INCIDENT);
  return { ids, cursor, mutationsPerSecond: Math.round((mutations * 1000) / (performance.now() - started)) };
}

/** Asks with `consistentWith` until the read models have caught up with `cursor` (each ask waits, bounded). */
async function waitProjected(endpoint: GraphQLEndpoint, id: string, cursor: string): Promise<void> {
  const deadline = performance.now() + PROJECTION_TIMEOUT_MS;
  for (;;) {
    try {
      await graphqlRequest(endpoint, PROJECTED, { id, cursor });
      return;
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

function readWorkloads(ids: readonly string[]): Record<'query' | 'ceiling', Workload> {
  const ceiling = graphqlBody(CEILING);
  return {
    query: {
      body: () => graphqlBody(INCIDENT, { id: pick(ids) }),
      valid: (body) => body.startsWith('{"data":{"incident":{') && !body.includes('"errors"'),
    },
    ceiling: { body: () => ceiling, valid: (body) => body === '{"data":{"__typename":"Query"}}' },
  };
}

function noteWorkload(ids: readonly string[]): Workload {
  const targets = ids.slice(0, NOTE_TARGETS);
  let sequence = 0;
  return {
    body: () => graphqlBody(NOTE, { id: pick(targets), text: noteText(sequence++) }),
    valid: (body) => body.startsWith('{"data":{"addIncidentNote":{') && !body.includes('"errors"'),
  };
}

/** Nearest-rank percentile of ascending `sorted`, to 0.1 ms. */
function percentile(sorted: readonly number[], fraction: number): number | null {
  if (sorted.length === 0) return null;
  const value = sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? 0;
  return Math.round(value * 10) / 10;
}

function ascending(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Live delivery to `count` subscribers of one incident, timed from each mutation's HTTP response. */
async function measureDelivery(endpoint: GraphQLEndpoint, count: number) {
  const declared = (await declare(endpoint, 0)).declareIncident;
  const id = declared.incident.id;
  // Subscribing after the declaration, every subscriber replays this note first: proof that it is live.
  await note(endpoint, id, 0);
  const subscribers = await startSubscribers({
    url: endpoint.url.replace(/^http/, 'ws'),
    token: endpoint.token,
    count,
    query: LIVE,
    variables: { after: declared.cursor, prefix: `incident-${id}` },
    connectConcurrency: 50,
    readyTimeoutMs: 60_000,
  });
  try {
    const respondedAt = new Map<string, number>();
    const mutationMs: number[] = [];
    for (let probe = 1; probe <= PROBES; probe++) {
      const sent = subscriberClock();
      const { cursor } = await note(endpoint, id, probe);
      const answered = subscriberClock();
      respondedAt.set(cursor, answered);
      mutationMs.push(answered - sent);
      await sleep(PROBE_SPACING_MS);
    }
    const receipts = await subscribers.receipts([...respondedAt.keys()], DELIVERY_TIMEOUT_MS);
    const latencies: number[] = [];
    const first: number[] = [];
    const spread: number[] = [];
    for (const [cursor, answered] of respondedAt) {
      const times = ascending(receipts.times.get(cursor) ?? []).map((time) => time - answered);
      latencies.push(...times);
      const [earliest] = times;
      if (earliest !== undefined) {
        first.push(earliest);
        spread.push((times[times.length - 1] ?? earliest) - earliest);
      }
    }
    const sorted = ascending(latencies);
    return {
      subscribers: count,
      sub_connect_ms: subscribers.connectMs,
      sub_mutations: PROBES,
      sub_mutation_p50_ms: percentile(ascending(mutationMs), 0.5),
      sub_delivery_p50_ms: percentile(sorted, 0.5),
      sub_delivery_p99_ms: percentile(sorted, 0.99),
      sub_delivery_max_ms: percentile(sorted, 1),
      // Per mutation, the first receipt is the way through store, publisher and NATS; the spread to the last receipt
      // is the fan-out to every subscriber.
      sub_first_receipt_p50_ms: percentile(ascending(first), 0.5),
      sub_first_receipt_max_ms: percentile(ascending(first), 1),
      sub_fanout_p50_ms: percentile(ascending(spread), 0.5),
      sub_fanout_max_ms: percentile(ascending(spread), 1),
      // Near 1, the subscribers' own thread would be what delays receipts.
      sub_client_loop_utilization: receipts.loopUtilization,
      sub_missed: PROBES * count - latencies.length,
      sub_duplicates: receipts.duplicates,
      sub_errors: receipts.errors,
    };
  } finally {
    await subscribers.close();
  }
}

/** `{ query_rps: …, query_p99_ms: … }` from `query` and its figures. */
function prefixed(prefix: string, figures: LoadFigures): Record<string, number | string | null> {
  return Object.fromEntries(Object.entries(figures).map(([key, value]) => [`${prefix}_${key}`, value]));
}

function atLeast(value: number | null, minimum: number) {
  return { value, at_least: minimum, met: value !== null && value >= minimum };
}

function below(value: number | null, bound: number) {
  return { value, below: bound, met: value !== null && value < bound };
}

function failed(load: LoadFigures): number {
  return load.error_responses + load.socket_errors;
}

function none(value: number) {
  return { value, must_be: 0, met: value === 0 };
}

export async function run(args: readonly string[]): Promise<void> {
  const settings = parseArgs(args);
  const machine = machineInfo();
  const date = new Date().toISOString();
  const suffix = randomBytes(4).toString('hex');
  const tenant = `bench-${suffix}`;
  const secret = randomBytes(32).toString('hex');
  const token = signToken(hs256Key(secret), { sub: 'bench', tenant, roles: ['responder'] }, 3600);
  const database = await createTestDatabase('bench_graphql');
  try {
    const server = await startServerProcess(
      {
        DATABASE_URL: database.url,
        NATS_URL: NATS_TEST_URL,
        NATS_SUBJECT_PREFIX: `bench_graphql_${suffix}`,
        JWT_SECRET: secret,
        HOST: '127.0.0.1',
        PORT: '0',
        // Per-request info lines would measure pino and the pipe to this process rather than the gateway.
        LOG_LEVEL: 'warn',
      },
      { cpuProfileDir: settings.cpuProfileDir },
    );
    try {
      const endpoint = { url: `${server.url}/graphql`, token };
      const seeded = await seed(endpoint);
      const seededAt = performance.now();
      await waitProjected(endpoint, seeded.ids[seeded.ids.length - 1] ?? '', seeded.cursor);
      const projectionCatchUpMs = Math.round(performance.now() - seededAt);
      const load = { connections: CONNECTIONS, seconds: settings.seconds, serverCpuMs: server.cpuMs };
      const reads = await measureLoad(endpoint, readWorkloads(seeded.ids), {
        ...load,
        rounds: READ_ROUNDS,
        warmupSeconds: WARMUP_SECONDS,
      });
      // Seeding has warmed the write path.
      const writes = await measureLoad(endpoint, { mutation: noteWorkload(seeded.ids) }, { ...load, rounds: 1, warmupSeconds: 0 });
      const delivery = await measureDelivery(endpoint, settings.subscribers);
      const queryRatio = ratio(reads.query.rps, reads.ceiling.rps);
      console.log(
        JSON.stringify({
          benchmark: 'graphql',
          backend: 'postgres',
          bus: 'nats',
          date,
          machine,
          sizes: {
            incidents: INCIDENTS,
            notes_per_incident: NOTES_PER_INCIDENT,
            connections: CONNECTIONS,
            seconds: settings.seconds,
            read_rounds: READ_ROUNDS,
            note_targets: NOTE_TARGETS,
            subscribers: settings.subscribers,
          },
          seed_mutations_per_s: seeded.mutationsPerSecond,
          projection_catchup_ms: projectionCatchUpMs,
          ...prefixed('query', reads.query),
          ...prefixed('ceiling', reads.ceiling),
          ...prefixed('mutation', writes.mutation),
          ...delivery,
          targets: {
            query_rps_vs_ceiling: atLeast(queryRatio, 0.6),
            query_p99_ms: below(reads.query.p99_ms, 20),
            mutation_rps: atLeast(writes.mutation.rps, 1000),
            mutation_p99_ms: below(writes.mutation.p99_ms, 50),
            sub_delivery_p99_ms: below(delivery.sub_delivery_p99_ms, 200),
            // Every request answered, every answer correct, every delivery made.
            errors: none([reads.query, reads.ceiling, writes.mutation].reduce((sum, load) => sum + failed(load), 0)),
            sub_missed: none(delivery.sub_missed),
          },
        }),
      );
    } finally {
      const code = await server.stop();
      if (code !== 0) console.error(`the server exited with code ${code}`);
    }
  } finally {
    await database.drop();
  }
}
