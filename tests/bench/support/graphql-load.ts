// Closed-loop HTTP load on POST /graphql with autocannon: `connections` clients, each sending its next request as soon
// as the previous answer arrived. Several workloads run interleaved in rounds and are aggregated per workload, so on
// a shared machine a load spike hits both sides of a ratio (as in measure.ts' interleave).
import autocannon from 'autocannon';
import { graphqlHeaders, type GraphQLEndpoint } from './graphql-client.ts';

export interface Workload {
  /** The body of the next request, e.g. a query for a random incident. */
  body(): string;
  /** Whether a response body is a correct answer; any other response counts as an error response. */
  valid(body: string): boolean;
}

export interface LoadFigures {
  requests: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Responses that were not a correct answer: non-2xx or with GraphQL `errors` (non-2xx included). */
  error_responses: number;
  non_2xx: number;
  /** Connection errors and timeouts: requests without any response. */
  socket_errors: number;
  /**
   * CPU time the server process spent per request, in µs, background work of the period included (projections and
   * live publishing of what the requests wrote). Unlike rates it hardly depends on what else the machine runs.
   */
  server_cpu_us: number | null;
  /** The first wrong answer, shortened, so a failing run says why. */
  first_error?: string;
}

export interface LoadOptions {
  connections: number;
  /** Measured seconds per workload, split over the rounds. */
  seconds: number;
  rounds: number;
  /** Unmeasured seconds per workload first: JIT, connection pools and caches warm up. */
  warmupSeconds: number;
  /** CPU time used by the server process so far, in ms (null: unknown). */
  serverCpuMs(): number | null;
}

/** What autocannon resolves to with `skipAggregateResult`: counters plus encoded histograms. */
interface RawResult {
  duration: number;
  totalCompletedRequests: number;
}

// @types/autocannon 7 does not declare aggregateResult (autocannon README, "autocannon.aggregateResult"), which merges
// the latency histograms of several runs: typed here as far as it is used.
const { aggregateResult } = autocannon as unknown as {
  aggregateResult(results: RawResult[], options: { url: string; connections: number }): autocannon.Result;
};

interface Run {
  result: RawResult;
  /** Server CPU ms during the run; null if unknown. */
  cpuMs: number | null;
  firstError?: string;
}

async function runOnce(endpoint: GraphQLEndpoint, workload: Workload, options: LoadOptions, seconds: number): Promise<Run> {
  let firstError: string | undefined;
  const cpuBefore = options.serverCpuMs();
  const result = await autocannon({
    url: endpoint.url,
    method: 'POST',
    headers: graphqlHeaders(endpoint),
    connections: options.connections,
    duration: seconds,
    requests: [{ setupRequest: (request) => ({ ...request, body: workload.body() }) }],
    verifyBody(body) {
      const ok = workload.valid(String(body));
      if (!ok) firstError ??= String(body).slice(0, 300);
      return ok;
    },
    skipAggregateResult: true,
  });
  const cpuAfter = options.serverCpuMs();
  const cpuMs = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
  return { result: result as unknown as RawResult, cpuMs, firstError };
}

function figures(endpoint: GraphQLEndpoint, connections: number, runs: readonly Run[]): LoadFigures {
  const results = runs.map((run) => run.result);
  const merged = aggregateResult(results, { url: endpoint.url, connections });
  const requests = results.reduce((sum, result) => sum + result.totalCompletedRequests, 0);
  const seconds = results.reduce((sum, result) => sum + result.duration, 0);
  const firstError = runs.find((run) => run.firstError !== undefined)?.firstError;
  const cpuMs = runs.every((run) => run.cpuMs !== null) ? runs.reduce((sum, run) => sum + (run.cpuMs ?? 0), 0) : null;
  return {
    requests,
    rps: Math.round(requests / seconds),
    p50_ms: merged.latency.p50,
    p99_ms: merged.latency.p99,
    max_ms: merged.latency.max,
    error_responses: merged.mismatches,
    non_2xx: merged.non2xx,
    socket_errors: merged.errors + merged.timeouts,
    server_cpu_us: cpuMs === null || requests === 0 ? null : Math.round((cpuMs * 1000) / requests),
    ...(firstError === undefined ? {} : { first_error: firstError }),
  };
}

/** Each workload for `seconds` in all, in `rounds` alternating slices after an unmeasured warm-up. */
export async function measureLoad<Name extends string>(
  endpoint: GraphQLEndpoint,
  workloads: Record<Name, Workload>,
  options: LoadOptions,
): Promise<Record<Name, LoadFigures>> {
  const names = Object.keys(workloads) as Name[];
  if (options.warmupSeconds > 0) {
    for (const name of names) await runOnce(endpoint, workloads[name], options, options.warmupSeconds);
  }
  const runs = new Map<Name, Run[]>(names.map((name) => [name, []]));
  for (let round = 0; round < options.rounds; round++) {
    for (const name of names) {
      runs.get(name)?.push(await runOnce(endpoint, workloads[name], options, options.seconds / options.rounds));
    }
  }
  return Object.fromEntries(
    names.map((name) => [name, figures(endpoint, options.connections, runs.get(name) ?? [])]),
  ) as Record<Name, LoadFigures>;
}
