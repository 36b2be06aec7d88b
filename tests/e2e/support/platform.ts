// Several gateway instances on one backend, as a deployment runs them (server.ts starts a single one): a fresh
// PostgreSQL database for the test file and NATS under subjects of this run, shared by every instance started, and
// one signing secret, so a token works on any instance.
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { hs256Key, signToken } from '../../../gateway/auth/token.ts';
import { startServer, type ServerOptions } from '../../../gateway/compose.ts';
import { loadConfig } from '../../../infra/config.ts';
import { createTestDatabase, NATS_TEST_URL } from '../../support/services.ts';
import type { TestServer } from './server.ts';

export interface Platform {
  /** One more instance; its `close()` stops only it (gracefully, as a deployment would). */
  start(options?: ServerOptions): Promise<TestServer>;
  /** Stops every instance still running, then drops the database. */
  close(): Promise<void>;
}

export async function startPlatform(label: string): Promise<Platform> {
  const secret = randomBytes(32).toString('hex');
  const key = hs256Key(secret);
  const database = await createTestDatabase(label);
  const config = loadConfig({
    DATABASE_URL: database.url,
    NATS_URL: NATS_TEST_URL,
    // CI reuses the NATS server: this run's subjects are its own, and all of its instances share them.
    NATS_SUBJECT_PREFIX: `test_${randomBytes(6).toString('hex')}.events`,
    JWT_SECRET: secret,
    PORT: '0',
  });
  const running = new Set<TestServer>();
  return {
    async start(options = {}) {
      const logger = pino({ level: 'error' }, pino.destination(2));
      const server = await startServer(config, { logger, engine: { idlePollMs: 20 }, ...options });
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
      await database.drop();
    },
  };
}
