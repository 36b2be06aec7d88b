// GET /healthz: the process answers (liveness). GET /readyz: this instance can serve (readiness): the event store
// answers within a bound and no read model lags further behind the log than allowed. Both are unauthenticated, as
// probes are; failures are logged, and the answer only says which check failed.
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { Services } from './services.ts';

export interface ReadinessLimits {
  /** How long the store and the engine may take to answer a probe. */
  probeTimeoutMs: number;
  /** Oldest unprojected event allowed, in seconds. */
  maxLagSeconds: number;
}

export const DEFAULT_READINESS_LIMITS: ReadinessLimits = { probeTimeoutMs: 2_000, maxLagSeconds: 30 };

export interface HealthPluginOptions {
  services: Pick<Services, 'eventStore' | 'engine'>;
  limits?: Partial<ReadinessLimits>;
}

class ProbeTimeoutError extends Error {
  override name = 'ProbeTimeoutError';
}

async function within<T>(timeoutMs: number, work: Promise<T>): Promise<T> {
  const cancel = new AbortController();
  const timeout = sleep(timeoutMs, undefined, { signal: cancel.signal }).then(() => {
    throw new ProbeTimeoutError(`no answer within ${timeoutMs} ms`);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    cancel.abort();
    timeout.catch(() => undefined);
  }
}

export async function healthPlugin(app: FastifyInstance, options: HealthPluginOptions): Promise<void> {
  const { eventStore, engine } = options.services;
  const { probeTimeoutMs, maxLagSeconds } = { ...DEFAULT_READINESS_LIMITS, ...options.limits };

  async function check<T>(name: string, probe: () => Promise<T>): Promise<T | { ok: false; error: string }> {
    try {
      return await within(probeTimeoutMs, probe());
    } catch (error) {
      app.log.warn({ err: error, check: name }, 'readiness check failed');
      return { ok: false, error: error instanceof ProbeTimeoutError ? error.message : 'unavailable' };
    }
  }

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const [store, projections] = await Promise.all([
      check('store', async () => ({ ok: true as const, head: await eventStore.headPosition() })),
      check('projections', async () => {
        const lagging = (await engine.status())
          .filter((projection) => projection.lag.seconds > maxLagSeconds)
          .map(({ name, state, lag }) => ({ name, state, lagSeconds: lag.seconds, lagEvents: lag.events }));
        return { ok: lagging.length === 0, maxLagSeconds, lagging };
      }),
    ]);
    const ready = store.ok && projections.ok;
    const body = { status: ready ? 'ready' : 'unavailable', checks: { store, projections } };
    return reply.code(ready ? 200 : 503).send(body);
  });
}
