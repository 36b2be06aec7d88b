// `npm start`: configuration from the environment, the platform started (gateway/compose.ts), and a graceful stop on
// SIGTERM/SIGINT: no new connections, WebSockets closed with 1001, in-flight requests finished, engine and publisher
// stopped, store and databases closed. A second signal, or a stop that hangs, ends the process at once.
import pino from 'pino';
import { loadConfig } from '../infra/config.ts';
import { devSecretPath } from './auth/keys.ts';
import { signToken } from './auth/token.ts';
import { startServer } from './compose.ts';

const SHUTDOWN_TIMEOUT_MS = 15_000;
const DEV_TOKEN_TTL_SECONDS = 30 * 24 * 3600;

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = pino({ level: config.logLevel });
  const server = await startServer(config, { logger });
  const backend = config.eventStoreUrl ? 'KurrentDB' : config.databaseUrl ? 'PostgreSQL' : `embedded (${config.dataDir})`;
  console.log(`Incident platform on ${server.url} — events: ${backend}`);
  if (server.key.development) {
    const token = signToken(server.key.key, { sub: 'admin', tenant: 'default', roles: ['admin'] }, DEV_TOKEN_TTL_SECONDS);
    console.log(
      [
        'No JWT_SECRET or JWT_PUBLIC_KEY: tokens are signed with the development secret in ' +
          devSecretPath(config.dataDir) +
          (server.key.created ? ' (created now).' : '.'),
        'Admin token (tenant "default", valid 30 days; mint others with `npm run token`):',
        `  ${token}`,
        `GraphQL: ${server.url}/graphql  (Authorization: Bearer <token>)`,
      ].join('\n'),
    );
  }

  const stop = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down');
    // unref: the timer only fires if something else still keeps the process alive.
    setTimeout(() => {
      logger.error(`shutdown did not finish within ${SHUTDOWN_TIMEOUT_MS} ms; exiting`);
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    server.close().then(
      () => logger.info('stopped'),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exitCode = 1;
      },
    );
  };
  // `once`: a second signal gets the default handling and ends the process immediately.
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(`cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
