// Tests that need a real service either get it or skip with a visible reason; with REQUIRE_SERVICES naming the
// service (as .ci/run does) a missing service fails the run instead.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const required = new Set(
  (process.env.REQUIRE_SERVICES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

export const POSTGRES_ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const NATS_TEST_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** `skip` value for node:test: false when available, a reason string when it may be skipped; throws when required. */
export async function serviceSkip(service: string, probe: () => Promise<void>): Promise<false | string> {
  try {
    await probe();
    return false;
  } catch (error) {
    const reason = `${service} not available: ${(error as Error).message}`;
    if (required.has(service)) throw new Error(`REQUIRE_SERVICES names ${service}, but ${reason}`, { cause: error });
    console.warn(`SKIPPED: ${reason}`);
    return reason;
  }
}

export function postgresSkip(): Promise<false | string> {
  return serviceSkip('postgres', async () => {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 2000 });
    await client.connect();
    await client.end();
  });
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh database for one test file, so runs never see each other's data; dropped afterwards. */
export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const name = `t_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}
