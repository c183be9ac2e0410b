import { createHash, randomBytes } from 'node:crypto';

/**
 * An opaque token (refresh tokens, emailed links, guest carts and orders): 256 random bits; only
 * its SHA-256 is stored, so a copy of the database opens nothing.
 */
export function newOpaqueToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashOpaqueToken(token) };
}

export function hashOpaqueToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
