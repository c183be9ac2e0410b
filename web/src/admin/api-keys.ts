import { html, nothing } from 'lit-html';
import type { ApiKey } from '../types.ts';
import { type AppContext, act, type Content, dateTime } from '../ui.ts';

/** What each scope lets an integration do, in the words the console shows. */
const SCOPES: Array<[ApiKey['scopes'][number], string]> = [
  ['catalog:read', 'Read products and reviews'],
  ['catalog:write', 'Change products, categories and reviews'],
  ['inventory:read', 'Read stock'],
  ['inventory:write', 'Change stock'],
  ['orders:read', 'Read orders, shipments and returns'],
  ['orders:write', 'Ship, refund and cancel orders'],
  ['customers:read', 'Read customers and their groups'],
  ['customers:write', 'Change customer groups'],
  ['pricing:read', 'Read promotions, tax and shipping'],
  ['pricing:write', 'Change promotions, tax and shipping'],
  ['webhooks:read', 'Read webhooks and their deliveries'],
  ['webhooks:write', 'Change webhooks'],
];
const scopeText = (scope: string) => SCOPES.find(([name]) => name === scope)?.[1] ?? scope;

/** The secret of the key just made: shown on this page until it is left (or reloaded), never again. */
let justMade: { name: string; secret: string } | null = null;

/** Admins' keys for integrations: make one with the rights it needs, see when each was last used, revoke. */
export async function apiKeysPage(ctx: AppContext): Promise<Content> {
  const keys = await ctx.api.get<{ items: ApiKey[] }>('/v1/api-keys');
  const shown = justMade;
  if (shown)
    ctx.onLeave(() => {
      justMade = null;
    });
  const create = (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    return act(ctx, event, async () => {
      const scopes = data.getAll('scope').map(String);
      if (scopes.length === 0) throw new Error('Choose at least one thing the key may do');
      const made = await ctx.api.post<ApiKey & { secret: string }>('/v1/api-keys', {
        name: String(data.get('name')).trim(),
        scopes,
      });
      justMade = { name: made.name, secret: made.secret };
      await ctx.refresh();
    });
  };
  const revoke = (key: ApiKey) => (event: Event) =>
    act(ctx, event, async () => {
      if (!confirm(`Revoke “${key.name}”? Anything using it stops working at once.`)) return;
      await ctx.api.delete(`/v1/api-keys/${key.id}`);
      await ctx.refresh();
      ctx.flash('info', `“${key.name}” was revoked.`);
    });
  return html`
    <h1>API keys</h1>
    ${
      shown
        ? html`<div class="alert info" role="status" data-testid="new-secret">
          <p>The key “${shown.name}” was made. Copy its secret now: it is not shown again.</p>
          <p><code>${shown.secret}</code></p>
        </div>`
        : nothing
    }
    ${
      keys.items.length === 0
        ? html`<p>No keys yet.</p>`
        : html`<table class="lines">
      <caption class="visually-hidden">API keys, newest first</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">May</th><th scope="col">Made</th><th scope="col">Last used</th><th scope="col"></th></tr></thead>
      <tbody>
        ${keys.items.map(
          (key) => html`<tr data-key=${key.id}>
            <td>${key.name}</td>
            <td>${key.scopes.map(scopeText).join('; ')}</td>
            <td>${dateTime(key.createdAt)}</td>
            <td>${key.lastUsedAt ? dateTime(key.lastUsedAt) : 'never'}</td>
            <td>${
              key.revokedAt
                ? html`<span class="muted">revoked ${dateTime(key.revokedAt)}</span>`
                : html`<button type="button" class="danger" @click=${revoke(key)} aria-label=${`Revoke ${key.name}`}>Revoke</button>`
            }</td>
          </tr>`,
        )}
      </tbody>
    </table>`
    }
    <details>
      <summary>Make a key</summary>
      <form class="stack" @submit=${create} aria-label="New API key">
        <label>Name <input name="name" required maxlength="100" placeholder="e.g. Warehouse sync" /></label>
        <fieldset>
          <legend>What it may do</legend>
          ${SCOPES.map(
            ([scope, text]) =>
              html`<label><input type="checkbox" name="scope" value=${scope} /> ${text}</label>`,
          )}
        </fieldset>
        <button type="submit">Make the key</button>
      </form>
    </details>
  `;
}
