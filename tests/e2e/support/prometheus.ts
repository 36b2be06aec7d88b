// Real Prometheus, Alertmanager and node-exporter (Debian packages) for end-to-end tests of ingestion, each on a free
// loopback port with its configuration and data in a temporary directory. One alert rule, `E2ETriggered`, fires
// while node-exporter's textfile collector reports `test_trigger 1` and resolves once it reports 0; Alertmanager
// sends its notifications to the gateway's webhook receiver with the ingest token.
import { spawn, type ChildProcess } from 'node:child_process';
import { access, constants, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { serviceSkip } from '../../support/services.ts';

const BINARIES = {
  prometheus: '/usr/bin/prometheus',
  alertmanager: '/usr/bin/prometheus-alertmanager',
  nodeExporter: '/usr/bin/prometheus-node-exporter',
};

/** The alert the rule raises, and the labels it carries besides `alertname`. */
export const ALERT_NAME = 'E2ETriggered';
export const ALERT_LABELS = { severity: 'critical', service: 'checkout' };

/** node:test's `skip`: false when the three binaries are installed (REQUIRE_SERVICES=prometheus fails otherwise). */
export function prometheusSkip(): Promise<false | string> {
  return serviceSkip('prometheus', async () => {
    for (const binary of Object.values(BINARIES)) {
      await access(binary, constants.X_OK).catch(() => {
        throw new Error(`${binary} is missing (apt-get install prometheus prometheus-alertmanager prometheus-node-exporter)`);
      });
    }
  });
}

export interface AlertingOptions {
  /** Where Alertmanager's webhook posts, e.g. http://127.0.0.1:<port>/ingest/alertmanager. */
  webhookUrl: string;
  /** Sent by Alertmanager as `Authorization: Bearer <token>`. */
  bearerToken: string;
}

/** An alert as Alertmanager's API (GET /api/v2/alerts) lists it. */
export interface AlertmanagerAlert {
  fingerprint: string;
  labels: Record<string, string>;
  status: { state: string };
}

export interface Alerting {
  prometheusUrl: string;
  alertmanagerUrl: string;
  /** Sets the metric the rule watches: 1 makes the alert fire, 0 resolves it. */
  trigger(value: 0 | 1): Promise<void>;
  /** The alerts Alertmanager holds now. */
  alertmanagerAlerts(): Promise<AlertmanagerAlert[]>;
  /** Everything the three processes wrote, for a failing test to print. */
  logs(): string;
  /** Stops the processes (SIGTERM, then SIGKILL after a few seconds) and removes the directory. */
  stop(): Promise<void>;
}

/** A port nothing listens on at the moment, on 127.0.0.1 (the binaries cannot report a port they picked). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface Process {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
}

function launch(name: string, binary: string, args: string[], output: string[]): Process {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const record = (chunk: Buffer) => output.push(...chunk.toString().split('\n').filter(Boolean).map((line) => `[${name}] ${line}`));
  child.stdout?.on('data', record);
  child.stderr?.on('data', record);
  // Should the test process die without its `after`, the child dies with it rather than holding the ports.
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      process.off('exit', kill);
      output.push(`[${name}] exited (${signal ?? `code ${String(code)}`})`);
      resolve();
    });
    child.once('error', (error) => {
      output.push(`[${name}] failed to start: ${error.message}`);
      resolve();
    });
  });
  return { name, child, exited };
}

async function stopProcess({ child, exited }: Process): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killed = await Promise.race([exited.then(() => true), sleep(5_000, false, { ref: false })]);
  if (!killed) {
    child.kill('SIGKILL');
    await exited;
  }
}

/** Waits until `url` answers 200, failing at once if the process exits first, and after `timeoutMs` otherwise. */
async function waitReady(target: Process, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (target.child.exitCode !== null || target.child.signalCode !== null) throw new Error(`${target.name} exited before it was ready`);
    const ok = await fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${target.name} was not ready at ${url} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

export async function startAlerting({ webhookUrl, bearerToken }: AlertingOptions, timeoutMs = 20_000): Promise<Alerting> {
  const dir = await mkdtemp(join(tmpdir(), 'e2e-prometheus-'));
  const textfiles = join(dir, 'textfiles');
  await mkdir(textfiles);
  const [prometheusPort, alertmanagerPort, nodeExporterPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
  const alertmanagerUrl = `http://127.0.0.1:${alertmanagerPort}`;
  const nodeExporterUrl = `http://127.0.0.1:${nodeExporterPort}`;

  // node-exporter reads the file on every scrape: a rename makes each write whole, never half a line.
  const trigger = async (value: 0 | 1) => {
    const staging = join(dir, 'trigger.prom.tmp');
    await writeFile(staging, `# TYPE test_trigger gauge\ntest_trigger ${value}\n`);
    await rename(staging, join(textfiles, 'trigger.prom'));
  };
  await trigger(0);

  await writeFile(
    join(dir, 'alertmanager.yml'),
    stringify({
      route: {
        receiver: 'gateway',
        group_by: ['alertname', 'service'],
        // Notify within a second of the alert arriving and of it resolving, not the default half minute and 5 min.
        group_wait: '1s',
        group_interval: '1s',
        repeat_interval: '1m',
      },
      receivers: [
        {
          name: 'gateway',
          webhook_configs: [
            {
              url: webhookUrl,
              send_resolved: true,
              http_config: { authorization: { type: 'Bearer', credentials: bearerToken } },
            },
          ],
        },
      ],
    }),
  );
  await writeFile(
    join(dir, 'rules.yml'),
    stringify({
      groups: [
        {
          name: 'e2e',
          rules: [
            {
              alert: ALERT_NAME,
              // max() drops job and instance: the alert's labels are exactly alertname and ALERT_LABELS.
              expr: 'max(test_trigger) > 0',
              for: '0s',
              labels: ALERT_LABELS,
              annotations: { summary: 'The end-to-end test raised its trigger' },
            },
          ],
        },
      ],
    }),
  );
  await writeFile(
    join(dir, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [join(dir, 'rules.yml')],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${alertmanagerPort}`] }] }] },
      scrape_configs: [{ job_name: 'node', static_configs: [{ targets: [`127.0.0.1:${nodeExporterPort}`] }] }],
    }),
  );

  const output: string[] = [];
  const processes: Process[] = [];
  const stop = async () => {
    await Promise.all(processes.map(stopProcess));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const alertmanager = launch('alertmanager', BINARIES.alertmanager, [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'alertmanager')}`,
      `--web.listen-address=127.0.0.1:${alertmanagerPort}`,
      // Empty: no cluster, so nothing listens beyond the web port and no gossip delays the first notification.
      '--cluster.listen-address=',
    ], output);
    processes.push(alertmanager);
    const nodeExporter = launch('node-exporter', BINARIES.nodeExporter, [
      `--web.listen-address=127.0.0.1:${nodeExporterPort}`,
      // Only the textfile collector: the trigger is all the rule reads, and the machine is shared.
      '--collector.disable-defaults',
      '--collector.textfile',
      `--collector.textfile.directory=${textfiles}`,
    ], output);
    processes.push(nodeExporter);
    const prometheus = launch('prometheus', BINARIES.prometheus, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'prometheus')}`,
      `--web.listen-address=127.0.0.1:${prometheusPort}`,
      // Prometheus drops alerts raised before it has discovered Alertmanager and resends only after this delay
      // (1 min by default).
      '--rules.alert.resend-delay=1s',
    ], output);
    processes.push(prometheus);
    await Promise.all([
      waitReady(alertmanager, `${alertmanagerUrl}/-/ready`, timeoutMs),
      waitReady(nodeExporter, `${nodeExporterUrl}/metrics`, timeoutMs),
      waitReady(prometheus, `${prometheusUrl}/-/ready`, timeoutMs),
    ]);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${output.join('\n')}`, { cause: error });
  }

  return {
    prometheusUrl,
    alertmanagerUrl,
    trigger,
    async alertmanagerAlerts() {
      const response = await fetch(`${alertmanagerUrl}/api/v2/alerts`, { signal: AbortSignal.timeout(5_000) });
      if (!response.ok) throw new Error(`Alertmanager answered ${response.status} to GET /api/v2/alerts`);
      return (await response.json()) as AlertmanagerAlert[];
    },
    logs: () => output.join('\n'),
    stop,
  };
}
