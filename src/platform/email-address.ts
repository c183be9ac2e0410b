/** An address with a local part, an @ and a dotted domain, and no spaces or control characters. */
const EMAIL = /^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+\.[^\s@\p{Cc}]+$/u;

/** Addresses are compared trimmed and lower-cased (what people type is not case-sensitive). */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export const isEmailAddress = (normalised: string): boolean =>
  EMAIL.test(normalised) && normalised.length <= 320;
