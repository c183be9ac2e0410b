/**
 * Whether a subscription names the type: exactly, by a prefix wildcard (`order.*` is every
 * `order.…` type), or `*` for all.
 */
export const subscribes = (subscription: string, type: string) =>
  subscription === type ||
  subscription === '*' ||
  (subscription.endsWith('.*') && type.startsWith(subscription.slice(0, -1)));

/** The subscriptions that name a type: itself, each of its prefixes with `.*`, and `*`. */
export function subscriptionsOf(type: string): string[] {
  const parts = type.split('.');
  return [type, ...parts.slice(0, -1).map((_, end) => `${parts.slice(0, end + 1).join('.')}.*`), '*'];
}
