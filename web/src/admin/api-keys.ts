import { html, nothing } from 'lit-html';
import type { ApiKey } from '../types.ts';
import { type AppContext, act, type Content, dateTime } from '../ui.ts';
import { PERMISSION_TEXT, permissionText } from './permissions.ts';

// A key may hold any permission but the staff ones: people are managed by people.
const SCOPES = PERMISSION_TEXT.filter(([permission]) => !permission.startsWith('staff:'));

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
        : html`<div class="table-scroll"><table class="lines">
      <caption class="visually-hidden">API keys, newest first</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">May</th><th scope="col">Made</th><th scope="col">Last used</th><th scope="col"></th></tr></thead>
      <tbody>
        ${keys.items.map(
          (key) => html`<tr data-key=${key.id}>
            <td>${key.name}</td>
            <td>${key.scopes.map(permissionText).join('; ')}</td>
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
    </table></div>`
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
