// The incident API as the incident end-to-end tests call it: every mutation's document, the incident selection they
// compare, and reading an incident's stream and the tenant's log from the store to check what was appended.
import assert from 'node:assert/strict';
import type { StoredEvent } from '../../../infra/eventstore/port.ts';
import { qualify, tenantPrefix } from '../../../infra/eventstore/stream-name.ts';
import { data } from './graphql.ts';
import type { TestServer } from './server.ts';

/** Every field of an incident, nested lists included. */
export const INCIDENT = `id streamId title status severity services summary version declaredAt acknowledgedAt mitigatedAt
  resolvedAt closedAt resolution
  responders { userId role assignedAt assignedBy }
  remediationSteps { id title description command status proposedBy proposedAt approvedBy approvedAt startedBy startedAt
    finishedBy finishedAt output error reason }
  alerts { fingerprint status labels annotations service severity source startsAt endsAt }
  suspectChanges { id service kind summary author at }
  timeline { cursor revision at type actor { id kind } text }`;

export interface Step {
  id: string;
  title: string;
  status: string;
  approvedBy: string | null;
  startedBy: string | null;
  finishedBy: string | null;
  output: string | null;
  error: string | null;
  reason: string | null;
  [field: string]: unknown;
}

export interface TimelineEntry {
  cursor: string;
  revision: number;
  at: string;
  type: string;
  actor: { id: string; kind: string };
  text: string;
}

export interface Incident {
  id: string;
  streamId: string;
  title: string;
  status: string;
  severity: string;
  services: string[];
  summary: string | null;
  version: number;
  declaredAt: string;
  acknowledgedAt: string | null;
  mitigatedAt: string | null;
  resolvedAt: string | null;
  closedAt: string | null;
  resolution: string | null;
  responders: { userId: string; role: string; assignedAt: string; assignedBy: string }[];
  remediationSteps: Step[];
  alerts: Record<string, unknown>[];
  suspectChanges: Record<string, unknown>[];
  timeline: TimelineEntry[];
}

export interface IncidentResult {
  cursor: string;
  incident: Incident;
  step?: Step;
}

const RESULT = `{ cursor incident { ${INCIDENT} } }`;
const STEP_RESULT = `{ cursor incident { ${INCIDENT} } step { id title status approvedBy startedBy finishedBy output error reason } }`;

/** Each mutation with every argument a variable; `run` picks its only root field. */
export const MUTATIONS = {
  declare: `mutation($input: DeclareIncidentInput!) { declareIncident(input: $input) ${RESULT} }`,
  acknowledge: `mutation($id: ID!, $expectedVersion: Int) { acknowledgeIncident(id: $id, expectedVersion: $expectedVersion) ${RESULT} }`,
  note: `mutation($id: ID!, $text: String!, $expectedVersion: Int) {
    addIncidentNote(id: $id, text: $text, expectedVersion: $expectedVersion) ${RESULT} }`,
  statusUpdate: `mutation($id: ID!, $message: String!) { postIncidentStatusUpdate(id: $id, message: $message) ${RESULT} }`,
  severity: `mutation($id: ID!, $severity: Severity!, $reason: String, $expectedVersion: Int) {
    changeIncidentSeverity(id: $id, severity: $severity, reason: $reason, expectedVersion: $expectedVersion) ${RESULT} }`,
  assign: `mutation($id: ID!, $userId: ID!, $role: ResponderRole!, $expectedVersion: Int) {
    assignResponder(id: $id, userId: $userId, role: $role, expectedVersion: $expectedVersion) ${RESULT} }`,
  unassign: `mutation($id: ID!, $userId: ID!) { unassignResponder(id: $id, userId: $userId) ${RESULT} }`,
  mitigate: `mutation($id: ID!, $summary: String) { mitigateIncident(id: $id, summary: $summary) ${RESULT} }`,
  resolve: `mutation($id: ID!, $resolution: String!, $expectedVersion: Int) {
    resolveIncident(id: $id, resolution: $resolution, expectedVersion: $expectedVersion) ${RESULT} }`,
  reopen: `mutation($id: ID!, $reason: String!) { reopenIncident(id: $id, reason: $reason) ${RESULT} }`,
  close: `mutation($id: ID!, $expectedVersion: Int) { closeIncident(id: $id, expectedVersion: $expectedVersion) ${RESULT} }`,
  propose: `mutation($id: ID!, $title: String!, $description: String, $command: String) {
    proposeRemediationStep(id: $id, title: $title, description: $description, command: $command) ${STEP_RESULT} }`,
  approve: `mutation($id: ID!, $stepId: ID!) { approveRemediationStep(id: $id, stepId: $stepId) ${STEP_RESULT} }`,
  start: `mutation($id: ID!, $stepId: ID!) { startRemediationStep(id: $id, stepId: $stepId) ${STEP_RESULT} }`,
  complete: `mutation($id: ID!, $stepId: ID!, $output: String) {
    completeRemediationStep(id: $id, stepId: $stepId, output: $output) ${STEP_RESULT} }`,
  fail: `mutation($id: ID!, $stepId: ID!, $error: String!, $output: String) {
    failRemediationStep(id: $id, stepId: $stepId, error: $error, output: $output) ${STEP_RESULT} }`,
  skip: `mutation($id: ID!, $stepId: ID!, $reason: String!) {
    skipRemediationStep(id: $id, stepId: $stepId, reason: $reason) ${STEP_RESULT} }`,
};

export type MutationName = keyof typeof MUTATIONS;

/** Runs one mutation that must succeed; its result. */
export async function run(
  server: TestServer,
  token: string,
  mutation: MutationName,
  variables: Record<string, unknown>,
): Promise<IncidentResult> {
  const answer = await data<Record<string, IncidentResult>>(server.url, token, MUTATIONS[mutation], variables);
  const [result] = Object.values(answer);
  assert.ok(result, `${mutation} answered nothing`);
  return result;
}

export function declare(server: TestServer, token: string, input: Record<string, unknown> = {}): Promise<IncidentResult> {
  return run(server, token, 'declare', { input: { title: 'Checkout errors', severity: 'SEV3', ...input } });
}

async function collect(events: AsyncIterable<StoredEvent>): Promise<StoredEvent[]> {
  const all: StoredEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

/** An incident's events as the store holds them. */
export function streamEvents(server: TestServer, tenant: string, incidentId: string): Promise<StoredEvent[]> {
  return collect(server.server.services.eventStore.readStream(qualify(tenant, `incident-${incidentId}`)));
}

/**
 * The tenant's whole log once it shows the event at `cursor`. Readers of the log see a commit only once no older
 * transaction is still open (other test files share the PostgreSQL server), so this polls; once `cursor` is
 * visible, so is everything appended before it.
 */
/** The types of every event in a tenant's log, in log order (what a refused request must not have added to). */
export async function tenantLogTypes(server: TestServer, tenant: string): Promise<string[]> {
  const events = await collect(server.server.services.eventStore.readAll({ filter: { streamPrefix: tenantPrefix(tenant) } }));
  return events.map((event) => event.type);
}

export async function tenantLogUpTo(server: TestServer, tenant: string, cursor: string, timeoutMs = 10_000): Promise<StoredEvent[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const filter = { streamPrefix: tenantPrefix(tenant) };
    const events = await collect(server.server.services.eventStore.readAll({ filter }));
    if (events.some((event) => event.position >= cursor)) return events;
    if (Date.now() > deadline) throw new Error(`the log did not show ${cursor} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
