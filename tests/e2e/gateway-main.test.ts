// `npm start` and `npm run token` as an operator uses them: a first embedded start writes the development secret
// and prints an admin token, a restart reuses the secret, the CLI mints tokens with it, SIGTERM stops cleanly.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';

let dataDir: string;
// Only what the server needs: no JWT_SECRET or database URLs leaking in from the test environment.
let env: NodeJS.ProcessEnv;

interface Started {
  child: ChildProcess;
  url: string;
  token: string;
  output: string[];
}

/** Starts gateway/main.ts and waits until it printed its URL and admin token. */
async function start(): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const output: string[] = [];
  let url: string | undefined;
  for await (const line of createInterface({ input: child.stdout! })) {
    output.push(line);
    url ??= /^Incident platform on (http:\/\/\S+)/.exec(line)?.[1];
    const token = /^ {2}(ey\S+)$/.exec(line)?.[1];
    if (url !== undefined && token !== undefined) return { child, url, token, output };
  }
  throw new Error(`server exited before printing its token:\n${output.join('\n')}`);
}

async function stop(server: Started): Promise<number | null> {
  const exited = once(server.child, 'exit');
  server.child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}

async function viewer(url: string, token: string): Promise<unknown> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ viewer { id tenant roles } }' }),
  });
  return response.json();
}

function mint(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'gateway/cli/token.ts', ...args], { env, encoding: 'utf8' });
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'gateway-main-'));
  const unset = ['JWT_SECRET', 'JWT_PUBLIC_KEY', 'DATABASE_URL', 'READ_DATABASE_URL', 'EVENTSTORE_URL', 'NATS_URL'];
  env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !unset.includes(name)));
  Object.assign(env, { DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
});

after(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

test('first start writes a development secret (mode 600) and prints a working admin token; SIGTERM exits 0', async () => {
  const server = await start();
  try {
    assert.ok(server.output.some((line) => line.includes('(created now)')));
    assert.equal((await stat(join(dataDir, 'jwt-secret'))).mode & 0o777, 0o600);
    assert.deepEqual(await viewer(server.url, server.token), {
      data: { viewer: { id: 'admin', tenant: 'default', roles: ['ADMIN'] } },
    });
  } finally {
    assert.equal(await stop(server), 0);
  }
});

test('a restart reuses the secret, and the token CLI mints tokens the server accepts', async () => {
  const minted = mint('--sub', 'alice', '--tenant', 'acme', '--role', 'responder', '--role', 'commander', '--ttl', '1h');
  assert.equal(minted.status, 0, minted.stderr);
  const server = await start();
  try {
    assert.ok(!server.output.some((line) => line.includes('(created now)')));
    assert.deepEqual(await viewer(server.url, minted.stdout.trim()), {
      data: { viewer: { id: 'alice', tenant: 'acme', roles: ['RESPONDER', 'COMMANDER'] } },
    });
  } finally {
    assert.equal(await stop(server), 0);
  }
});

test('the token CLI refuses unknown roles and invalid tenants, naming them', () => {
  const role = mint('--sub', 'alice', '--tenant', 'acme', '--role', 'overlord');
  assert.equal(role.status, 2);
  assert.match(role.stderr, /unknown "overlord"; known roles: viewer, responder, commander, auditor, admin, ingest/);
  const tenant = mint('--sub', 'alice', '--tenant', 'Not A Tenant', '--role', 'viewer');
  assert.equal(tenant.status, 2);
  assert.match(tenant.stderr, /invalid tenant id: "Not A Tenant"/);
});
