import { type CloudEvent, cloudEvent } from '../../platform/events/index.ts';
import type { UserRow } from './store.ts';

export const IDENTITY_SOURCE = '/emporium/identity';
/** The events identity emits (webhooks accept subscriptions to these). */
export const IDENTITY_EVENT_TYPES = ['user.registered'] as const;

/**
 * A new account. Carries the email because subscribers (a CRM, a welcome mail) need an address
 * to act on; never the password hash, and nothing else personal (the name stays behind the API).
 */
export function userRegistered(
  user: Pick<UserRow, 'id' | 'email' | 'role' | 'createdAt'>,
  via: { method: 'password' } | { method: 'oidc'; provider: string },
): CloudEvent {
  return cloudEvent(IDENTITY_SOURCE, 'user.registered', user.id, {
    userId: user.id,
    email: user.email,
    role: user.role,
    ...via,
    registeredAt: user.createdAt.toISOString(),
  });
}
