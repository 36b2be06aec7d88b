// Which key verifies tokens, decided once from the configuration. Fully embedded runs without a configured key use a
// development secret kept under DATA_DIR, so that `npm start` works on a laptop and its tokens survive restarts.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, type Config } from '../../infra/config.ts';
import { hs256Key, rs256Key, type Hs256Key, type VerificationKey } from './token.ts';

const DEV_SECRET_FILE = 'jwt-secret';

export function devSecretPath(dataDir: string): string {
  return join(dataDir, DEV_SECRET_FILE);
}

function isEmbedded(config: Config): boolean {
  return config.databaseUrl === undefined && config.eventStoreUrl === undefined;
}

async function readDevSecret(dataDir: string): Promise<string | undefined> {
  try {
    return (await readFile(devSecretPath(dataDir), 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The secret under DATA_DIR, written (mode 600) on first use; `created` says whether this call wrote it. */
async function loadOrCreateDevSecret(dataDir: string): Promise<{ secret: string; created: boolean }> {
  const existing = await readDevSecret(dataDir);
  if (existing !== undefined) return { secret: existing, created: false };
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  try {
    // 'wx' fails if another process created it in the meantime; then that secret wins.
    await writeFile(devSecretPath(dataDir), `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return { secret, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { secret: (await readDevSecret(dataDir)) ?? secret, created: false };
  }
}

export type KeySource =
  | { kind: 'configured'; key: VerificationKey }
  /** Embedded without JWT_SECRET / JWT_PUBLIC_KEY: the development secret under DATA_DIR. */
  | { kind: 'development'; dataDir: string };

/** Where the verification key comes from; refuses configurations that would leave tokens unverifiable. */
export function keySource(config: Config): KeySource {
  if (config.jwtSecret !== undefined && config.jwtPublicKey !== undefined) {
    throw new ConfigError('set either JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256), not both');
  }
  if (config.jwtPublicKey !== undefined) return { kind: 'configured', key: rs256Key(config.jwtPublicKey) };
  if (config.jwtSecret !== undefined) return { kind: 'configured', key: hs256Key(config.jwtSecret) };
  if (!isEmbedded(config)) {
    throw new ConfigError('JWT_SECRET or JWT_PUBLIC_KEY is required when DATABASE_URL or EVENTSTORE_URL is set');
  }
  return { kind: 'development', dataDir: config.dataDir };
}

/** The HS256 key of an existing development secret, or undefined when the server never started in DATA_DIR. */
export async function existingDevKey(dataDir: string): Promise<Hs256Key | undefined> {
  const secret = await readDevSecret(dataDir);
  return secret === undefined ? undefined : hs256Key(secret);
}

export type ResolvedKey =
  | { development: false; key: VerificationKey }
  /** The development secret is in use; `created` when this start wrote it. */
  | { development: true; key: Hs256Key; created: boolean };

/** The server's verification key, creating the development secret if this is its first embedded start. */
export async function resolveKey(config: Config): Promise<ResolvedKey> {
  const source = keySource(config);
  if (source.kind === 'configured') return { development: false, key: source.key };
  const { secret, created } = await loadOrCreateDevSecret(source.dataDir);
  return { development: true, key: hs256Key(secret), created };
}
