// Gateway instances on one backend, as a deployment runs them: PostgreSQL (a fresh database for the test file, and
// NATS under subjects of this run when asked) or embedded (a fresh data directory, for one instance as its lock
// allows). Instances share the backend and one signing secret, so a token works on any of them. Projections poll
// fast, and internal errors, masked in responses, are logged on stderr.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { hs256Key, signToken } from '../../../gateway/auth/token.ts';
import { startServer, type ServerOptions } from '../../../gateway/compose.ts';
import { loadConfig } from '../../../infra/config.ts';
import { deleteIngestStream } from '../../support/ingest-stream.ts';
import { createTestDatabase, NATS_TEST_URL } from '../../support/services.ts';
import type { TestServer } from './server.ts';

export type Backend = 'embedded' | 'postgres';

export interface Platform {
  /** One more instance; its `close()` stops only it (gracefully, as a deployment would). */
  start(options?: ServerOptions): Promise<TestServer>;
  /** Stops every instance still running, then removes the data. */
  close(): Promise<void>;
}

/** Where the instances keep their data, and how to remove it afterwards. */
async function storage(backend: Backend, label: string, nats: boolean): Promise<{ env: Record<string, string>; remove(): Promise<void> }> {
  if (backend === 'embedded') {
    const dataDir = await mkdtemp(join(tmpdir(), `${label}-`));
    return { env: { DATA_DIR: dataDir }, remove: () => rm(dataDir, { recursive: true, force: true }) };
  }
  const database = await createTestDatabase(label);
  const env: Record<string, string> = { DATABASE_URL: database.url };
  if (!nats) return { env, remove: () => database.drop() };
  // CI reuses the NATS server: this run's subjects are its own, and all of its instances share them. The instances
  // create the run's ingestion stream, which goes with the database.
  const prefix = `test_${randomBytes(6).toString('hex')}.events`;
  env.NATS_URL = NATS_TEST_URL;
  env.NATS_SUBJECT_PREFIX = prefix;
  return {
    env,
    async remove() {
      await database.drop();
      await deleteIngestStream(NATS_TEST_URL, prefix);
    },
  };
}

export async function startPlatform(backend: Backend, label: string, options: { nats?: boolean } = {}): Promise<Platform> {
  const { env, remove } = await storage(backend, label, options.nats === true);
  const secret = randomBytes(32).toString('hex');
  const key = hs256Key(secret);
  const config = loadConfig({ ...env, JWT_SECRET: secret, PORT: '0' });
  const running = new Set<TestServer>();
  return {
    async start(serverOptions = {}) {
      const logger = pino({ level: 'error' }, pino.destination(2));
      const server = await startServer(config, { logger, engine: { idlePollMs: 20 }, ...serverOptions });
      const instance: TestServer = {
        server,
        url: server.url,
        wsUrl: `${server.url.replace(/^http/, 'ws')}/graphql`,
        token: ({ sub = 'alice', tenant = 'acme', roles }) => signToken(key, { sub, tenant, roles }, 600),
        async close() {
          running.delete(instance);
          await server.close();
        },
      };
      running.add(instance);
      return instance;
    },
    async close() {
      await Promise.allSettled([...running].map((instance) => instance.close()));
      await remove();
    },
  };
}
