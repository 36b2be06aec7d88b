// Realistic benchmark events: incident-lifecycle JSON of 300–500 bytes with the full metadata a command handler
// writes (actor, correlation, causation, traceparent), so figures reflect what the platform really stores.
import { randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { JsonObject, NewEvent, NewEventMetadata } from '../../../infra/eventstore/port.ts';

export const BENCH_TENANT = 'bench';

const SERVICES = ['checkout', 'payments', 'search', 'auth', 'inventory', 'shipping', 'notifications', 'gateway'];
const SEVERITIES = ['SEV1', 'SEV2', 'SEV3', 'SEV4'];
export const EVENT_TYPES = ['IncidentDeclared', 'AlertAttached', 'IncidentAcknowledged', 'IncidentNoteAdded', 'ResponderAssigned'];

function pick<T>(values: readonly T[], index: number): T {
  return values[index % values.length] as T;
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

function data(type: string, sequence: number): JsonObject {
  const service = pick(SERVICES, sequence);
  const common: JsonObject = {
    service,
    severity: pick(SEVERITIES, sequence >> 2),
    labels: { env: 'production', region: 'eu-west-1', team: `${service}-oncall`, cluster: `k8s-${sequence % 7}` },
    dashboard: `https://grafana.example.com/d/${hex(5)}/${service}-overview?from=now-1h&to=now`,
  };
  switch (type) {
    case 'IncidentDeclared':
      return {
        ...common,
        title: `Elevated 5xx error rate on ${service} API (p99 latency above SLO)`,
        summary: `Error budget burn rate 14.4x over 1h; ${120 + (sequence % 80)} requests/s failing with 503 upstream.`,
        services: [service, pick(SERVICES, sequence + 3)],
      };
    case 'AlertAttached':
      return {
        ...common,
        fingerprint: hex(8),
        alertname: 'HighErrorRate',
        startsAt: new Date(1_700_000_000_000 + sequence * 1000).toISOString(),
        annotations: { summary: `5xx ratio ${(sequence % 40) + 5}% on ${service}`, runbook: 'https://runbooks/high-error-rate' },
      };
    case 'IncidentAcknowledged':
      return {
        ...common,
        acknowledgedBy: `user-${sequence % 50}`,
        note: 'Looking at it: error rate started with the 14:02 deploy, preparing a rollback of the canary.',
      };
    case 'IncidentNoteAdded':
      return {
        ...common,
        text: `Deploy ${hex(4)} correlates with the spike; canary showed 2% errors before promotion. Rolling back now.`,
      };
    default:
      return {
        ...common,
        userId: `user-${sequence % 50}`,
        role: 'RESPONDER',
        assignedBy: `user-${(sequence + 7) % 50}`,
        note: 'Owns the database side: check connection pool saturation and replica lag.',
      };
  }
}

function metadata(sequence: number): NewEventMetadata {
  return {
    tenantId: BENCH_TENANT,
    actor: { id: `user-${sequence % 50}`, kind: 'user', roles: ['responder', 'commander'] },
    correlationId: uuidv7(),
    causationId: uuidv7(),
    traceparent: `00-${hex(16)}-${hex(8)}-01`,
    schemaVersion: 1,
    reason: 'benchmark',
  };
}

let counter = 0;

/** `count` events as one command would append them to one incident stream, starting at `revision` of it. */
export function incidentEvents(count: number, revision = 0): NewEvent[] {
  return Array.from({ length: count }, (_, index) => {
    const sequence = counter++;
    const type = revision + index === 0 ? 'IncidentDeclared' : pick(EVENT_TYPES, 1 + ((revision + index) % (EVENT_TYPES.length - 1)));
    return { id: uuidv7(), type, data: data(type, sequence), metadata: metadata(sequence) };
  });
}

/** A store-level (tenant-qualified) stream id for a fresh incident. */
export function incidentStream(): string {
  return `${BENCH_TENANT}/incident-${uuidv7()}`;
}
