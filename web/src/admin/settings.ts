import { html, nothing } from 'lit-html';
import { ADMIN_BASE } from '../../../src/modules/web/pages.ts';
import { countryOptions } from '../addresses.ts';
import type { MailPreview, StoreSettings } from '../types.ts';
import { type AppContext, act, type Content, dateTime, formValues, languageName } from '../ui.ts';

/** The settings staff find in one place, each for the roles that may use it. */
const SECTIONS: Array<{ href: string; name: string; text: string; permission: string }> = [
  {
    href: '/tax',
    name: 'Tax and regions',
    text: 'Tax rates and classes, regions, shipping methods',
    permission: 'pricing:read',
  },
  {
    href: '/locations',
    name: 'Stock locations',
    text: 'Warehouses and the countries they serve',
    permission: 'inventory:read',
  },
  {
    href: '/webhooks',
    name: 'Webhooks',
    text: 'Addresses told of what happens, their deliveries',
    permission: 'webhooks:read',
  },
  {
    href: '/api-keys',
    name: 'API keys',
    text: 'Keys for integrations, with what each may do',
    permission: 'staff:write',
  },
  {
    href: '/staff',
    name: 'Staff and roles',
    text: 'Who works here, their roles, invitations',
    permission: 'staff:read',
  },
];

const currencyName = (code: string) =>
  `${new Intl.DisplayNames(['en'], { type: 'currency' }).of(code) ?? code} (${code})`;

/** The shop's details (its name, contact and address, shown on the storefront) and the other settings. */
export async function settingsPage(ctx: AppContext): Promise<Content> {
  const permissions: readonly string[] = ctx.api.session()?.user.permissions ?? [];
  const [store, mails] = await Promise.all([
    ctx.api.get<StoreSettings>('/v1/store'),
    permissions.includes('orders:read')
      ? ctx.api.get<{ items: MailPreview[] }>('/v1/email-templates')
      : Promise.resolve({ items: [] }),
  ]);
  const editable = permissions.includes('staff:write');
  const save = (event: SubmitEvent) => {
    const values = formValues(event);
    const hasAddress = [values.line1, values.city, values.postalCode].some((value) => value.trim());
    return act(ctx, event, async () => {
      await ctx.api.put<StoreSettings>('/v1/store', {
        name: values.name.trim(),
        ...(values.supportEmail.trim() ? { supportEmail: values.supportEmail.trim() } : {}),
        ...(hasAddress
          ? {
              address: {
                line1: values.line1.trim(),
                ...(values.line2.trim() ? { line2: values.line2.trim() } : {}),
                city: values.city.trim(),
                postalCode: values.postalCode.trim(),
                country: values.country,
              },
            }
          : {}),
      });
      await ctx.refresh();
      ctx.flash('info', 'Saved: the shop shows the new details now.');
    });
  };
  return html`
    <h1>Settings</h1>
    <section aria-labelledby="store-heading">
      <h2 id="store-heading">The shop</h2>
      <p class="muted">Prices are kept in ${currencyName(store.currency)}; the catalog is written in
        ${new Intl.ListFormat('en').format(store.locales.map(languageName))}. Both are chosen by whoever runs the shop's server, when
        it starts. Last changed ${dateTime(store.updatedAt)}.</p>
      <form class="stack narrow" @submit=${save} aria-label="The shop's details">
        <fieldset ?disabled=${!editable}>
          <label>Name shoppers see <input name="name" required maxlength="100" .value=${store.name} /></label>
          <label>Email for questions <input name="supportEmail" type="email" maxlength="320" .value=${store.supportEmail ?? ''} /></label>
          <label>Address line 1 <input name="line1" maxlength="200" .value=${store.address?.line1 ?? ''} /></label>
          <label>Address line 2 <input name="line2" maxlength="200" .value=${store.address?.line2 ?? ''} /></label>
          <label>City <input name="city" maxlength="100" .value=${store.address?.city ?? ''} /></label>
          <label>Postal code <input name="postalCode" maxlength="20" .value=${store.address?.postalCode ?? ''} /></label>
          <label>Country <select name="country">${countryOptions(store.address?.country ?? 'DE')}</select></label>
        </fieldset>
        ${editable ? html`<button type="submit">Save</button>` : html`<p class="muted">Only administrators change these.</p>`}
      </form>
    </section>
    ${
      mails.items.length > 0
        ? html`<section aria-labelledby="mail-heading">
          <h2 id="mail-heading">Emails the shop sends</h2>
          <p class="muted">As customers and staff receive them, with sample figures.</p>
          ${mails.items.map(
            (mail) => html`<details data-mail=${mail.template}>
              <summary>${mail.name}: “${mail.subject}”</summary>
              <pre class="mail">${mail.text}</pre>
            </details>`,
          )}
        </section>`
        : nothing
    }
    <section aria-labelledby="more-heading">
      <h2 id="more-heading">More settings</h2>
      <ul class="plain">
        ${SECTIONS.filter((section) => permissions.includes(section.permission)).map(
          (section) =>
            html`<li><a href="${ADMIN_BASE}${section.href}">${section.name}</a> <span class="muted">${section.text}</span></li>`,
        )}
      </ul>
      ${SECTIONS.every((section) => !permissions.includes(section.permission)) ? html`<p class="muted">Nothing more for your role.</p>` : nothing}
    </section>
  `;
}
