import type { Principal } from '../../platform/http/auth.ts';
import type { SavedAddress, User } from '../identity/index.ts';
import type { Order } from '../ordering/index.ts';
import type { Review } from '../reviews/index.ts';

interface SecurityEvent {
  id: string;
  event: string;
  at: string;
  email: string | null;
  ip: string | null;
  userAgent: string | null;
  detail: Record<string, unknown>;
}

/** Everything the shop holds about one person, as they download it. */
export interface DataExport {
  exportedAt: string;
  profile: User;
  addresses: SavedAddress[];
  orders: Order[];
  reviews: Review[];
  securityEvents: SecurityEvent[];
}

type PageOf<T> = (page: number, size: number) => Promise<{ items: T[]; total: number }>;

/** Every item of a paged list, a page at a time. */
async function everything<T>(pageOf: PageOf<T>, size = 100): Promise<T[]> {
  const all: T[] = [];
  for (let page = 1; ; page++) {
    const { items, total } = await pageOf(page, size);
    all.push(...items);
    if (items.length < size || all.length >= total) return all;
  }
}

/**
 * The owner's copy of their data (GDPR, the right of access), composed from the modules that hold
 * it through their public doors: identity (profile, addresses, security log), ordering, reviews.
 */
export function createPrivacyService(deps: {
  accounts: {
    me(principal: Principal): Promise<User>;
    securityEvents(
      userId: string,
      query: { page: number; size: number },
    ): Promise<{ items: SecurityEvent[]; total: number }>;
  };
  addresses: { list(userId: string): Promise<SavedAddress[]> };
  orders: {
    list(
      principal: Principal,
      query: { page: number; size: number },
    ): Promise<{ items: Order[]; total: number }>;
  };
  reviews?: { byUser(userId: string): Promise<Review[]> };
}) {
  return {
    async exportFor(principal: Principal): Promise<DataExport> {
      const [profile, addresses, orders, reviews, securityEvents] = await Promise.all([
        deps.accounts.me(principal),
        deps.addresses.list(principal.id),
        everything((page, size) => deps.orders.list(principal, { page, size })),
        deps.reviews?.byUser(principal.id) ?? [],
        everything((page, size) => deps.accounts.securityEvents(principal.id, { page, size })),
      ]);
      return { exportedAt: new Date().toISOString(), profile, addresses, orders, reviews, securityEvents };
    },
  };
}

export type PrivacyService = ReturnType<typeof createPrivacyService>;
