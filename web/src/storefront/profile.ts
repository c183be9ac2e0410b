import { html, nothing } from 'lit-html';
import { addressLine, countryOptions } from '../addresses.ts';
import { balanceEntries } from '../balances.ts';
import type { Page, SavedAddress, StoreCredit, User } from '../types.ts';
import { type AppContext, act, type Content, dateTime, formValues, money } from '../ui.ts';

interface SecurityEvent {
  id: string;
  event: string;
  at: string;
  ip: string | null;
}

/** The security log's events, in the words the account page shows them. */
const EVENT_TEXT: Record<string, string> = {
  'user.registered': 'Account created',
  'login.succeeded': 'Signed in',
  'login.failed': 'A sign-in failed (wrong password)',
  'refresh.reused': 'A stale session was used again: every session was ended',
  logout: 'Signed out',
  'role.changed': 'Access rights changed',
  'admin.bootstrap': 'Made an administrator when the shop started',
  'oidc.linked': 'A sign-in provider was linked',
  'oidc.link_required': 'A sign-in provider asked to be linked',
  'email.verified': 'Email address confirmed',
  'password.changed': 'Password changed',
  'password.change_failed': 'A password change failed (wrong current password)',
  'password.reset_requested': 'A password reset link was asked for',
  'password.reset': 'Password reset by emailed link',
  'email.change_requested': 'A change of email address was asked for',
  'email.change_failed': 'A change of email address failed (wrong password)',
  'email.changed': 'Email address changed',
};

/** A form's address fields, trimmed; an empty second line is left out. */
export function addressFrom(values: Record<string, string>) {
  const line2 = values.line2?.trim();
  return {
    name: values.name.trim(),
    line1: values.line1.trim(),
    ...(line2 ? { line2 } : {}),
    city: values.city.trim(),
    postalCode: values.postalCode.trim(),
    country: values.country,
  };
}

/** The signed-in customer's page: who they are, where they ship, their orders and their account's security log. */
export async function accountPage(ctx: AppContext): Promise<Content> {
  const [user, addresses, events, credit] = await Promise.all([
    ctx.api.get<User>('/v1/users/me'),
    ctx.api.get<{ items: SavedAddress[] }>('/v1/users/me/addresses'),
    ctx.api.get<Page<SecurityEvent>>('/v1/users/me/security-events?size=10'),
    ctx.api.get<StoreCredit>('/v1/users/me/store-credit'),
  ]);
  const resend = (event: Event) =>
    act(ctx, event, async () => {
      await ctx.api.post('/v1/users/me/verification');
      ctx.flash('info', `We sent a new confirmation link to ${user.email}.`);
    });
  const add = (event: SubmitEvent) => {
    const values = formValues(event);
    const form = event.currentTarget as HTMLFormElement;
    return act(ctx, event, async () => {
      await ctx.api.post('/v1/users/me/addresses', {
        ...addressFrom(values),
        isDefault: values.isDefault === 'on',
      });
      form.reset();
      await ctx.refresh();
      ctx.flash('info', 'Address saved.');
    });
  };
  const makeDefault = (address: SavedAddress) => (event: Event) =>
    act(ctx, event, async () => {
      await ctx.api.patch(`/v1/users/me/addresses/${address.id}`, { isDefault: true });
      await ctx.refresh();
    });
  const changeEmail = (event: SubmitEvent) => {
    const values = formValues(event);
    const form = event.currentTarget as HTMLFormElement;
    return act(ctx, event, async () => {
      const asked = await ctx.api.post<{ email: string }>('/v1/users/me/email', {
        email: values.email,
        password: values.password,
      });
      form.reset();
      ctx.flash(
        'info',
        `We sent a link to ${asked.email}. Your account moves to that address when you open it.`,
      );
    });
  };
  // The export is the API's JSON, saved as a file the browser downloads.
  const download = (event: Event) =>
    act(ctx, event, async () => {
      const data = await ctx.api.get<{ exportedAt: string }>('/v1/users/me/export');
      const link = document.createElement('a');
      link.href = URL.createObjectURL(
        new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }),
      );
      link.download = `emporium-data-${data.exportedAt.slice(0, 10)}.json`;
      link.click();
      URL.revokeObjectURL(link.href);
      ctx.flash('info', 'Your data was downloaded.');
    });
  const erase = (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      if (!confirm('Erase your account? This cannot be undone.')) return;
      await ctx.api.delete('/v1/users/me', { body: { password: values.password } });
      await ctx.api.signOut();
      ctx.navigate('/');
      ctx.flash(
        'info',
        'Your account was erased. Orders stay for our accounts, without your name or address.',
      );
    });
  };
  const remove = (address: SavedAddress) => (event: Event) =>
    act(ctx, event, async () => {
      await ctx.api.delete(`/v1/users/me/addresses/${address.id}`);
      await ctx.refresh();
      ctx.flash('info', 'Address removed.');
    });

  return html`
    <h1>Your account</h1>
    <section aria-labelledby="profile-heading">
      <h2 id="profile-heading">Profile</h2>
      <dl class="facts">
        <dt>Name</dt><dd>${user.name}</dd>
        <dt>Email</dt><dd data-testid="account-email">${user.email}
          ${
            user.emailVerified
              ? html`<span class="muted">(confirmed)</span>`
              : html`<span class="muted">(not confirmed yet: you can shop, and the link we sent confirms it)</span>
                <button type="button" class="link" @click=${resend}>Send a new link</button>`
          }</dd>
        <dt>Customer since</dt><dd>${dateTime(user.createdAt)}</dd>
      </dl>
      <details>
        <summary>Change your email address</summary>
        <form class="stack" @submit=${changeEmail} aria-label="Change email">
          <label>New email address <input type="email" name="email" autocomplete="email" required maxlength="320" /></label>
          <label>Your password <input type="password" name="password" autocomplete="current-password" required maxlength="1024" /></label>
          <button type="submit">Send me a link</button>
        </form>
      </details>
      <p><a href="/orders">Your orders</a></p>
    </section>
    ${
      credit.entries.length > 0
        ? html`<section aria-labelledby="credit-heading">
            <h2 id="credit-heading">Store credit</h2>
            <p data-testid="store-credit">You have ${money(credit.balance)} to spend: choose it at checkout.</p>
            ${balanceEntries(credit.entries, 'Changes to your store credit', (orderId) => `/orders/${orderId}`)}
          </section>`
        : nothing
    }
    <section aria-labelledby="addresses-heading">
      <h2 id="addresses-heading">Addresses</h2>
      ${
        addresses.items.length === 0
          ? html`<p class="muted">No saved addresses yet. Checkout offers the ones you save here.</p>`
          : html`<ul class="plain" aria-label="Saved addresses">
          ${addresses.items.map(
            (address) => html`<li class="card" data-address=${address.id}>
              <p>${addressLine(address)} ${address.isDefault ? html`<strong>· default</strong>` : nothing}</p>
              <p>
                ${address.isDefault ? nothing : html`<button type="button" @click=${makeDefault(address)}>Make default</button>`}
                <button type="button" class="danger" @click=${remove(address)} aria-label=${`Remove ${addressLine(address)}`}>Remove</button>
              </p>
            </li>`,
          )}
        </ul>`
      }
      <details>
        <summary>Add an address</summary>
        <form class="stack" @submit=${add} aria-label="New address">
          <label>Full name <input name="name" autocomplete="name" required maxlength="200" .value=${user.name} /></label>
          <label>Address line 1 <input name="line1" autocomplete="address-line1" required maxlength="200" /></label>
          <label>Address line 2 (optional) <input name="line2" autocomplete="address-line2" maxlength="200" /></label>
          <label>City <input name="city" autocomplete="address-level2" required maxlength="100" /></label>
          <label>Postal code <input name="postalCode" autocomplete="postal-code" required maxlength="20" /></label>
          <label>Country <select name="country" autocomplete="country" required>
            <option value="" selected>Choose a country</option>
            ${countryOptions('')}
          </select></label>
          <label><input type="checkbox" name="isDefault" /> Use it first at checkout</label>
          <button type="submit">Save address</button>
        </form>
      </details>
    </section>
    <section aria-labelledby="data-heading">
      <h2 id="data-heading">Your data</h2>
      <p><button type="button" @click=${download}>Download your data</button>
        <span class="muted">Profile, addresses, orders, reviews and account activity, as JSON.</span></p>
      <details>
        <summary>Erase your account</summary>
        <form class="stack" @submit=${erase} aria-label="Erase account">
          <p>Your name, email, addresses and cart are removed and you cannot sign in again. Orders stay for
            our accounts without your name or address; your reviews stay, without your name.</p>
          <label>Your password <input type="password" name="password" autocomplete="current-password" required maxlength="1024" /></label>
          <button type="submit" class="danger">Erase my account</button>
        </form>
      </details>
    </section>
    <section aria-labelledby="security-heading">
      <h2 id="security-heading">Recent account activity</h2>
      <div class="table-scroll"><table class="lines">
        <caption class="visually-hidden">Recent account activity, newest first</caption>
        <thead><tr><th scope="col">What</th><th scope="col">When</th><th scope="col">From</th></tr></thead>
        <tbody>
          ${events.items.map(
            (entry) => html`<tr><td>${EVENT_TEXT[entry.event] ?? 'Account activity'}</td>
              <td>${dateTime(entry.at)}</td><td>${entry.ip ?? 'unknown'}</td></tr>`,
          )}
        </tbody>
      </table></div>
    </section>
  `;
}
