// A position is the pair (transaction_id, global_position) of an event, written as two fixed-width lower-case hex
// numbers, so plain string comparison orders positions exactly as the SQL readers page: by transaction, then by
// sequence within it. Ordering by transaction id first is what keeps late-committing transactions from being skipped.
import { InvalidReadError } from './errors.ts';
import { START, type Position } from './port.ts';

const FORMAT = /^([0-9a-f]{16})-([0-9a-f]{16})$/;

/** SQL expression producing the position string from an xid8 and a bigint expression. */
export function positionSql(transactionId: string, globalPosition: string): string {
  return `lpad(to_hex((${transactionId})::text::int8), 16, '0') || '-' || lpad(to_hex(${globalPosition}), 16, '0')`;
}

/** Decimal strings for SQL parameters (`$n::xid8`, `$n::int8`); START decodes to (0, 0), before every event. */
export function decodePosition(position: Position): { transactionId: string; globalPosition: string } {
  if (position === START) return { transactionId: '0', globalPosition: '0' };
  const match = FORMAT.exec(position);
  if (!match) throw new InvalidReadError(`not an event store position: ${JSON.stringify(position)}`);
  return {
    transactionId: BigInt(`0x${match[1]}`).toString(),
    globalPosition: BigInt(`0x${match[2]}`).toString(),
  };
}
