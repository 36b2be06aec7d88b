// Entry points for silence commands (GraphQL and the correlation manager), through the one generic handler against
// the silence's stream `silence-<id>`.
import { v7 as uuidv7 } from 'uuid';
import { silenceDecider, SilenceNotFoundError, type MatcherInput, type Silence, type SilenceCommand } from '../domain/silence/index.ts';
import type { EventStore, Position } from '../infra/eventstore/port.ts';
import { qualify, streamIdOf } from '../infra/eventstore/stream-name.ts';
import { handleCommand, type HandleOptions } from './handler.ts';
import { commandMetadata, decisionMetadata, type CommandContext } from './context.ts';

export const SILENCE_CATEGORY = 'silence';

export function silenceStreamId(tenantId: string, silenceId: string): string {
  return qualify(tenantId, streamIdOf(SILENCE_CATEGORY, silenceId));
}

export interface SilenceCommandResult {
  silence: Silence;
  cursor: Position;
}

type CommandWithoutMetadata<C> = C extends SilenceCommand ? Omit<C, 'metadata'> : never;

async function run(
  store: EventStore,
  context: CommandContext,
  silenceId: string,
  command: CommandWithoutMetadata<SilenceCommand>,
  eventId?: HandleOptions['eventId'],
): Promise<SilenceCommandResult> {
  const full: SilenceCommand = { ...command, metadata: decisionMetadata(context) };
  const result = await handleCommand(store, silenceDecider, silenceStreamId(context.tenantId, silenceId), full, {
    metadata: commandMetadata(context, uuidv7()),
    ...(eventId === undefined ? {} : { eventId }),
  });
  // decide refuses every command but a creation on a missing silence, so this only narrows the type.
  if (result.state === null) throw new SilenceNotFoundError('no such silence');
  return { silence: result.state, cursor: result.position };
}

export interface CreateSilenceInput {
  matchers: readonly MatcherInput[];
  startsAt?: string | null;
  endsAt: string;
  comment?: string | null;
}

/** Creates a silence under a fresh UUID v7. */
export function createSilence(store: EventStore, context: CommandContext, input: CreateSilenceInput): Promise<SilenceCommandResult> {
  const silenceId = uuidv7();
  return run(store, context, silenceId, { type: 'CreateSilence', data: { silenceId, ...input } });
}

export function expireSilence(store: EventStore, context: CommandContext, silenceId: string): Promise<SilenceCommandResult> {
  return run(store, context, silenceId, { type: 'ExpireSilence', data: {} });
}

/** The correlation manager's record that the silence muted an alert's firing; `eventId` makes a redelivery a no-op. */
export function recordSuppression(
  store: EventStore,
  context: CommandContext,
  input: { silenceId: string; fingerprint: string; episode: number },
  eventId: HandleOptions['eventId'],
): Promise<SilenceCommandResult> {
  const { silenceId, fingerprint, episode } = input;
  return run(store, context, silenceId, { type: 'RecordSuppression', data: { fingerprint, episode } }, eventId);
}
