import type { Session, SessionStore } from './api.ts';

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
