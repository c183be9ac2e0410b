import { randomFillSync } from 'node:crypto';

// Random bytes are drawn in blocks, as crypto.randomUUID does: one system call per 256 ids
// instead of one per id (checkout makes a dozen ids per order).
const BLOCK = 16 * 256;
const entropy = Buffer.allocUnsafe(BLOCK);
let offset = BLOCK;

/** The millisecond of the last id made on the clock, and its 12-bit counter within that millisecond. */
let lastMs = 0;
let counter = 0;

/**
 * UUIDv7 (RFC 9562): a 48-bit millisecond timestamp, then random bits. Time-ordered ids keep
 * B-tree inserts at the right edge of the index and sort by creation. Ids made on the clock are
 * monotonic within the process (RFC 9562 §6.2, method 1): within one millisecond, and when the clock
 * steps back, a 12-bit counter in rand_a (seeded at random below its top bit) orders them, so a
 * query that breaks a timestamp tie by id returns rows in the order they were made. `at` writes a
 * given time instead (backdated demo data) and takes no part in that order.
 */
export function uuidv7(at?: number): string {
  if (offset === BLOCK) {
    randomFillSync(entropy);
    offset = 0;
  }
  const bytes = entropy.subarray(offset, offset + 16);
  offset += 16;
  if (at === undefined) {
    const now = Date.now();
    if (now > lastMs) {
      lastMs = now;
      counter = bytes.readUInt16BE(6) & 0x7ff;
    } else if (++counter > 0xfff) {
      lastMs += 1;
      counter = 0;
    }
    bytes.writeUIntBE(lastMs, 0, 6);
    bytes[6] = 0x70 | (counter >> 8);
    bytes[7] = counter & 0xff;
  } else {
    bytes.writeUIntBE(at, 0, 6);
    bytes[6] = (bytes[6] & 0x0f) | 0x70;
  }
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
