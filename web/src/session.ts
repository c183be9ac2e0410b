import type { GuestStore, Session, SessionStore } from './api.ts';

const KEY = 'emporium.session';

/**
 * The session in localStorage, shared by the storefront and the admin console and by every tab;
 * refreshes are serialised across tabs with the Web Locks API. The strict CSP the server sends
 * (no inline or foreign script) is what keeps the stored refresh token out of other hands.
 */
export function browserSessionStore(): SessionStore & { onChange(listener: () => void): void } {
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of listeners) listener();
  };
  // Another tab signed in or out, or rotated the tokens.
  window.addEventListener('storage', (event) => {
    if (event.key === KEY) notify();
  });
  return {
    load() {
      const raw = localStorage.getItem(KEY);
      if (!raw) return null;
      try {
        return JSON.parse(raw) as Session;
      } catch {
        return null;
      }
    },
    save(session) {
      const before = localStorage.getItem(KEY);
      if (session) localStorage.setItem(KEY, JSON.stringify(session));
      else localStorage.removeItem(KEY);
      const signedInAs = (raw: string | null) => (raw ? (JSON.parse(raw) as Session).user.id : null);
      if (signedInAs(before) !== (session?.user.id ?? null)) notify();
    },
    exclusive(task) {
      return navigator.locks ? navigator.locks.request('emporium.session.refresh', task) : task();
    },
    onChange(listener) {
      listeners.add(listener);
    },
  };
}

const CART_TOKEN = 'emporium.cartToken';
const ORDER_TOKENS = 'emporium.orderTokens';
/** The guest orders a browser remembers, newest last; older ones are opened from their mail's link. */
const MAX_ORDER_TOKENS = 20;

/** A guest's cart and order tokens in localStorage (the same CSP keeps them as safe as a session). */
export function browserGuestStore(): GuestStore {
  const orderTokens = (): Array<[string, string]> => {
    try {
      const parsed = JSON.parse(localStorage.getItem(ORDER_TOKENS) ?? '[]') as unknown;
      return Array.isArray(parsed) ? (parsed as Array<[string, string]>) : [];
    } catch {
      return [];
    }
  };
  return {
    cartToken: () => localStorage.getItem(CART_TOKEN),
    setCartToken(token) {
      if (token) localStorage.setItem(CART_TOKEN, token);
      else localStorage.removeItem(CART_TOKEN);
    },
    orderToken: (orderId) => orderTokens().find(([id]) => id === orderId)?.[1] ?? null,
    setOrderToken(orderId, token) {
      const kept = orderTokens().filter(([id]) => id !== orderId);
      kept.push([orderId, token]);
      localStorage.setItem(ORDER_TOKENS, JSON.stringify(kept.slice(-MAX_ORDER_TOKENS)));
    },
  };
}
