import { randomFillSync } from 'node:crypto';

// Random bytes are drawn in blocks, as crypto.randomUUID does: one system call per 256 ids
// instead of one per id (checkout makes a dozen ids per order).
const BLOCK = 16 * 256;
const entropy = Buffer.allocUnsafe(BLOCK);
let offset = BLOCK;

/**
 * UUIDv7 (RFC 9562): a 48-bit millisecond timestamp, then random bits. Time-ordered ids keep
 * B-tree inserts at the right edge of the index and sort by creation.
 */
export function uuidv7(now: number = Date.now()): string {
  if (offset === BLOCK) {
    randomFillSync(entropy);
    offset = 0;
  }
  const bytes = entropy.subarray(offset, offset + 16);
  offset += 16;
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
