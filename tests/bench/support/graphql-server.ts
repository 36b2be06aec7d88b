// The server under test as operators run it: `gateway/main.ts` (startServer over the environment) in its own
// process, so the load generator and the subscribers of the benchmark never share its event loop.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface ServerProcess {
  /** http://host:port */
  url: string;
  /** CPU time (user + system) the server process has used so far, in ms; null where /proc is not available. */
  cpuMs(): number | null;
  /** SIGTERM, as in production: a graceful stop; resolves to the exit code. */
  stop(): Promise<number | null>;
}

/** Linux reports utime and stime in USER_HZ ticks, which is 100 per second on every architecture. */
const TICK_MS = 10;

function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may contain spaces: utime and stime are the 12th and 13th of them.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return null;
  }
}

/**
 * What the server inherits from the shell that runs the benchmark: the process basics only, so that no setting of
 * that shell (a DATABASE_URL, a correlation window, …) changes what is measured; the configuration is all `config`.
 */
const INHERITED = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ'];
/** The repository root: `--import tsx` and gateway/main.ts resolve from there whatever the caller's directory. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export async function startServerProcess(
  config: Record<string, string>,
  options: { cpuProfileDir?: string } = {},
): Promise<ServerProcess> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => INHERITED.includes(name)));
  const profile = options.cpuProfileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'gateway/main.ts'], {
    cwd: ROOT,
    env: { ...env, ...config },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout });
  const output: string[] = [];
  let url: string | undefined;
  for await (const line of lines) {
    output.push(line);
    url = /^Incident platform on (http:\/\/\S+)/.exec(line)?.[1];
    if (url !== undefined) break;
  }
  if (url === undefined) throw new Error(`the server exited before listening:\n${output.join('\n')}`);
  // Whatever it logs later goes to stderr: stdout carries the benchmark's one JSON line.
  child.stdout.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  const { pid } = child;
  return {
    url,
    cpuMs: () => (pid === undefined ? null : processCpuMs(pid)),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}
