// One real server for an end-to-end test file, on the backend the file asks for (platform.ts): PostgreSQL, with NATS
// under subjects of its own when NATS is there, or embedded.
import type { RunningServer } from '../../../gateway/compose.ts';
import { natsSkip } from '../../int/live-support.ts';
import { postgresSkip } from '../../support/services.ts';
import { startPlatform, type Backend } from './platform.ts';

export type { Backend } from './platform.ts';

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

export async function startTestServer(backend: Backend, label: string): Promise<TestServer> {
  const nats = backend === 'postgres' && (await natsSkip()) === false;
  const platform = await startPlatform(backend, label, { nats });
  try {
    return { ...(await platform.start()), close: () => platform.close() };
  } catch (error) {
    await platform.close();
    throw error;
  }
}
