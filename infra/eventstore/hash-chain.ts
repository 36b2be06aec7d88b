// Each stream is a hash chain: hash = sha256(prevHash + canonical JSON of { type, data, metadata without hash }),
// with prevHash the previous event's hash (64 zeros for revision 0). Editing, removing or reordering any stored event
// breaks the chain from that event on. Truncating a stream's tail is not detectable without an outside anchor (the
// last hash, as an auditor may record it).
import crypto from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import type { StoredEvent } from './port.ts';
import { OPTIONAL_METADATA, type PreparedEvent } from './validation.ts';

export const GENESIS_HASH = '0'.repeat(64);

export interface StreamVerification {
  ok: boolean;
  /** Events read from the stream. */
  events: number;
  /** The first revision at which the chain does not hold, or null when it holds throughout. */
  brokenAtRevision: number | null;
}

// crypto.hash (Node >= 20.12) spares a Hash object per event, about a tenth of an append's JS; package.json still
// admits Node 20.10, where only createHash exists.
const sha256: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text).digest('hex');

function digest(prevHash: string, type: string, data: string, metadata: string): string {
  return sha256(`${prevHash}{"data":${data},"metadata":${metadata},"type":${JSON.stringify(type)}}`);
}

function metadataWithPrevHash(event: PreparedEvent, prevHash: string): string {
  const before = event.metadataBefore === '' ? '' : `${event.metadataBefore},`;
  const after = event.metadataAfter === '' ? '' : `,${event.metadataAfter}`;
  return `{${before}"prevHash":"${prevHash}"${after}}`;
}

export interface ChainedBatch {
  /** Stored metadata JSON text of each event: the caller's metadata plus prevHash and hash. */
  metadata: string[];
  lastHash: string;
}

/** Links a prepared batch onto a stream whose last hash is `prevHash`. */
export function chainEvents(events: readonly PreparedEvent[], prevHash: string): ChainedBatch {
  const metadata = new Array<string>(events.length);
  let previous = prevHash;
  events.forEach((event, index) => {
    const withPrevHash = metadataWithPrevHash(event, previous);
    const hash = digest(previous, event.type, event.data, withPrevHash);
    // jsonb does not keep key order, so the stored text need not be canonical: prepend rather than re-serialise.
    metadata[index] = `{"hash":"${hash}",${withPrevHash.slice(1)}`;
    previous = hash;
  });
  return { metadata, lastHash: previous };
}

/**
 * The hash of one event whose metadata already carries `prevHash`; any `hash` in it is ignored, and optional
 * members that are undefined count as absent, exactly as the store writes them.
 */
export function hashEvent(prevHash: string, event: { type: string; data: unknown; metadata: object }): string {
  const metadata: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event.metadata)) {
    if (key === 'hash' || (value === undefined && OPTIONAL_METADATA.has(key))) continue;
    metadata[key] = value;
  }
  return digest(prevHash, event.type, canonicalJson(event.data, '$.data'), canonicalJson(metadata, '$.metadata'));
}

function intact(event: StoredEvent, expectedRevision: bigint, prevHash: string): boolean {
  if (event.revision !== expectedRevision || event.metadata.prevHash !== prevHash) return false;
  try {
    return hashEvent(prevHash, event) === event.metadata.hash;
  } catch {
    // Stored data that is no longer JSON we would have written has been tampered with.
    return false;
  }
}

/** Verifies one stream read forwards from revision 0. Pure: it trusts nothing but the events it is given. */
export async function verifyStream(events: AsyncIterable<StoredEvent> | Iterable<StoredEvent>): Promise<StreamVerification> {
  let expectedRevision = 0n;
  let prevHash = GENESIS_HASH;
  let count = 0;
  let brokenAtRevision: number | null = null;
  for await (const event of events) {
    count++;
    if (brokenAtRevision !== null) continue;
    if (!intact(event, expectedRevision, prevHash)) {
      brokenAtRevision = Number(expectedRevision);
      continue;
    }
    prevHash = event.metadata.hash;
    expectedRevision++;
  }
  return { ok: brokenAtRevision === null, events: count, brokenAtRevision };
}
