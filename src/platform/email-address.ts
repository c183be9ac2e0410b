import { badRequest } from './errors.ts';

/** An address with a local part, an @ and a dotted domain, and no spaces or control characters. */
const EMAIL = /^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+\.[^\s@\p{Cc}]+$/u;

/** Addresses are compared trimmed and lower-cased (what people type is not case-sensitive). */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export const isEmailAddress = (normalised: string): boolean =>
  EMAIL.test(normalised) && normalised.length <= 320;

/** The address normalised, or 400 INVALID_EMAIL saying `detail`, pointing at the field `path`. */
export function emailAddressOf(raw: string, detail: string, path = '/email'): string {
  const email = normaliseEmail(raw);
  if (!isEmailAddress(email))
    throw badRequest('INVALID_EMAIL', detail, { errors: [{ path, message: 'must be an email address' }] });
  return email;
}
