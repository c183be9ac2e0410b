import { type CloudEvent, cloudEvent, type EventBus } from '../../platform/events/index.ts';
import type { InviteRow, UserRow } from './store.ts';

export const IDENTITY_SOURCE = '/emporium/identity';
/**
 * The events that name an account by its id alone, with nothing personal: an erasure keeps them
 * (and their webhook deliveries) as its record, and to tell receivers to erase theirs.
 */
export const ERASURE_KEEPS: readonly string[] = ['user.erased', 'user.sessions_revoked'];
/** The events identity emits (webhooks accept subscriptions to these). */
export const IDENTITY_EVENT_TYPES = [
  'user.registered',
  'user.email_verified',
  'user.sessions_revoked',
] as const;

/** Asks for a verification email; for the notifications module only (a webhook gets nothing from it). */
export const VERIFICATION_REQUESTED = 'user.verification_requested';
/** Asks for the link that confirms a new address; for the notifications module only. */
export const EMAIL_CHANGE_REQUESTED = 'user.email_change_requested';
/** Tells the address an account left that it moved; for the notifications module only. */
export const EMAIL_CHANGED = 'user.email_changed';
/** Asks for the mail inviting someone to join the staff; for the notifications module only. */
export const STAFF_INVITED = 'staff.invited';
/** Asks for a password reset email; for the notifications module only. */
export const PASSWORD_RESET_REQUESTED = 'user.password_reset_requested';

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

/**
 * The user proved they own this address (a verification or reset link opened, or a provider that
 * verified it). Ordering gives them the guest orders placed with it.
 */
export function emailVerified(userId: string, email: string): CloudEvent {
  return cloudEvent(IDENTITY_SOURCE, 'user.email_verified', userId, { userId, email });
}

/**
 * The owner had their account erased: each module erases or anonymises what it holds of them
 * (carts, orders' personal fields, mail), and a subscriber (a CRM) should do the same. Only the id.
 */
export function accountErased(userId: string): CloudEvent {
  return cloudEvent(IDENTITY_SOURCE, 'user.erased', userId, { userId });
}

/**
 * How a module erases what it holds of an erased account: `erase` runs for each user.erased
 * that reaches `consumer` (and may run again for a redelivery).
 */
export function onAccountErased(
  bus: Pick<EventBus, 'subscribe'>,
  consumer: string,
  erase: (userId: string) => Promise<unknown>,
): void {
  bus.subscribe(consumer, ['user.erased'], async (event) => {
    const { userId } = event.data as { userId?: unknown };
    if (typeof userId === 'string') await erase(userId);
  });
}

/**
 * Every access token the user held was revoked (logout, password or role change): instances close
 * the user's open streams, and security tooling may react. No secret in it.
 */
export function sessionsRevoked(userId: string, reason: string): CloudEvent {
  return cloudEvent(IDENTITY_SOURCE, 'user.sessions_revoked', userId, { userId, reason });
}

/**
 * The user asked for another verification link. The link's token is not in the event (events are
 * kept and relayed): the mailer asks identity for a fresh one when it sends.
 */
export function verificationRequested(user: Pick<UserRow, 'id' | 'email'>): CloudEvent {
  return cloudEvent(IDENTITY_SOURCE, VERIFICATION_REQUESTED, user.id, { userId: user.id, email: user.email });
}

/**
 * The user asked to change their address to `email`: the link goes to the new address (the
 * token is made when the mail is sent, as for verification).
 */
export function emailChangeRequested(userId: string, email: string): CloudEvent {
  return cloudEvent(IDENTITY_SOURCE, EMAIL_CHANGE_REQUESTED, userId, { userId, email });
}

/**
 * The account moved to a new address. The old one is told, so that someone who took the account
 * over cannot move it away unseen.
 */
export function emailChanged(userId: string, previousEmail: string, email: string): CloudEvent {
  return cloudEvent(IDENTITY_SOURCE, EMAIL_CHANGED, userId, { userId, previousEmail, email });
}

/**
 * Someone asked to reset the password of this account. As with verification, the link's token is
 * not in the event: the mailer asks identity for a fresh one when it sends.
 */
export function passwordResetRequested(user: Pick<UserRow, 'id' | 'email'>): CloudEvent {
  return cloudEvent(IDENTITY_SOURCE, PASSWORD_RESET_REQUESTED, user.id, {
    userId: user.id,
    email: user.email,
  });
}

/**
 * Someone was invited to join the staff with a role: the mailer asks identity for the link's
 * token when it sends (the event never carries it).
 */
export function staffInvited(invite: Pick<InviteRow, 'id' | 'email' | 'role' | 'invitedBy'>): CloudEvent {
  return cloudEvent(IDENTITY_SOURCE, STAFF_INVITED, invite.id, {
    inviteId: invite.id,
    email: invite.email,
    role: invite.role,
    invitedBy: invite.invitedBy,
  });
}
