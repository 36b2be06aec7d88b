// `npm run token -- --sub alice --tenant acme --role responder [--role commander] [--ttl 12h]`: mints an HS256
// token with JWT_SECRET, or with the development secret of an embedded DATA_DIR. Prints only the token, so that
// `TOKEN=$(npm run -s token -- …)` works.
import { parseArgs } from 'node:util';
import { loadConfig } from '../../infra/config.ts';
import { existingDevKey, keySource } from '../auth/keys.ts';
import { signToken, type Hs256Key } from '../auth/token.ts';
import { ROLES } from '../auth/roles.ts';

const USAGE = `usage: npm run token -- --sub <user> --tenant <tenant> --role <role> [--role <role>…] [--ttl 12h]
roles: ${ROLES.join(', ')}; ttl: a number with s, m, h or d (default 12h)`;

class UsageError extends Error {}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

function ttlSeconds(text: string): number {
  const match = /^(\d+)([smhd])$/.exec(text);
  if (match === null) throw new UsageError(`--ttl ${JSON.stringify(text)}: expected e.g. 90s, 30m, 12h or 7d`);
  return Number(match[1]) * (UNIT_SECONDS[match[2] ?? 's'] ?? 1);
}

async function signingKey(): Promise<Hs256Key> {
  const source = keySource(loadConfig());
  if (source.kind === 'development') {
    const key = await existingDevKey(source.dataDir);
    if (key === undefined) {
      const hint = 'start the server once (npm start) or set JWT_SECRET';
      throw new UsageError(`no development secret in ${source.dataDir}; ${hint}`);
    }
    return key;
  }
  if (source.key.algorithm !== 'HS256') {
    throw new UsageError('JWT_PUBLIC_KEY is set: RS256 tokens are minted by whoever holds the private key, not here');
  }
  return source.key;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sub: { type: 'string' },
      tenant: { type: 'string' },
      role: { type: 'string', multiple: true },
      ttl: { type: 'string', default: '12h' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.sub === undefined || values.tenant === undefined || values.role === undefined) {
    throw new UsageError('--sub, --tenant and at least one --role are required');
  }
  // signToken refuses unknown roles and invalid tenants with a message naming them.
  const claims = { sub: values.sub, tenant: values.tenant, roles: values.role };
  console.log(signToken(await signingKey(), claims, ttlSeconds(values.ttl)));
}

main().catch((error: unknown) => {
  console.error(`token: ${error instanceof Error ? error.message : String(error)}`);
  if (error instanceof UsageError || (error instanceof TypeError && 'code' in error)) console.error(USAGE);
  process.exit(2);
});
