// One real server for an end-to-end test file, on the backend the file asks for: PostgreSQL (a fresh database, and
// NATS under subjects of its own when NATS is there) or embedded (a fresh data directory). Either way the projections
// poll fast and internal errors, masked in responses, are logged on stderr.
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { hs256Key, signToken } from '../../../gateway/auth/token.ts';
import { startServer, type RunningServer, type ServerOptions } from '../../../gateway/compose.ts';
import { loadConfig } from '../../../infra/config.ts';
import { natsSkip } from '../../int/live-support.ts';
import { createTestDatabase, NATS_TEST_URL, postgresSkip } from '../../support/services.ts';

export type Backend = 'embedded' | 'postgres';

export interface TestServer {
  server: RunningServer;
  /** http://host:port */
  url: string;
  /** ws://host:port/graphql */
  wsUrl: string;
  /** A token signed with the server's secret; by default of alice in tenant acme. */
  token(claims: { sub?: string; tenant?: string; roles: readonly string[] }): string;
  close(): Promise<void>;
}

/** node:test's `skip` for a backend: false when it is there (embedded always is). */
export function backendSkip(backend: Backend): Promise<false | string> {
  return backend === 'embedded' ? Promise.resolve(false) : postgresSkip();
}

function serverOptions(): ServerOptions {
  return { logger: pino({ level: 'error' }, pino.destination(2)), engine: { idlePollMs: 20 } };
}

/** Where the server keeps its data, and how to remove it afterwards. */
async function storage(backend: Backend, label: string): Promise<{ env: Record<string, string>; remove(): Promise<void> }> {
  if (backend === 'embedded') {
    const dataDir = await mkdtemp(join(tmpdir(), `${label}-`));
    return { env: { DATA_DIR: dataDir }, remove: () => rm(dataDir, { recursive: true, force: true }) };
  }
  const database = await createTestDatabase(label);
  const env: Record<string, string> = { DATABASE_URL: database.url };
  if ((await natsSkip()) === false) {
    env.NATS_URL = NATS_TEST_URL;
    // CI reuses the NATS server: this run's subjects are its own.
    env.NATS_SUBJECT_PREFIX = `test_${randomBytes(6).toString('hex')}.events`;
  }
  return { env, remove: () => database.drop() };
}

export async function startTestServer(backend: Backend, label: string): Promise<TestServer> {
  const { env, remove } = await storage(backend, label);
  const secret = randomBytes(32).toString('hex');
  try {
    const server = await startServer(loadConfig({ ...env, JWT_SECRET: secret, PORT: '0' }), serverOptions());
    const key = hs256Key(secret);
    return {
      server,
      url: server.url,
      wsUrl: `${server.url.replace(/^http/, 'ws')}/graphql`,
      token: ({ sub = 'alice', tenant = 'acme', roles }) => signToken(key, { sub, tenant, roles }, 600),
      async close() {
        await server.close();
        await remove();
      },
    };
  } catch (error) {
    await remove();
    throw error;
  }
}
