import { html, nothing } from 'lit-html';
import type { StockLocation } from '../types.ts';
import { type AppContext, act, type Drawing, formValues } from '../ui.ts';

/** "DE, AT" as the API's list of country codes (upper case, blanks and repeats dropped). */
const countryList = (text: string) => [
  ...new Set(
    text
      .split(/[\s,]+/)
      .map((code) => code.trim().toUpperCase())
      .filter(Boolean),
  ),
];

const countriesText = (location: StockLocation) =>
  location.countries.length > 0 ? location.countries.join(', ') : 'none (by priority only)';

/**
 * Stock locations: where stock is kept, in the order orders draw from them (the locations serving
 * the destination first, then by priority), each with the countries it serves.
 */
export async function locationsPage(ctx: AppContext): Promise<Drawing> {
  const { items: locations } = await ctx.api.get<{ items: StockLocation[] }>('/v1/stock-locations');
  let editing: string | undefined;

  const fields = (values: Record<string, string>) => ({
    name: values.name.trim(),
    priority: Number(values.priority),
    countries: countryList(values.countries),
  });
  const create = (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      await ctx.api.post('/v1/stock-locations', { code: values.code.trim(), ...fields(values) });
      await ctx.refresh();
      ctx.flash('info', `Location ${values.name.trim()} added.`);
    });
  };
  const save = (location: StockLocation) => (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      await ctx.api.patch(`/v1/stock-locations/${location.code}`, fields(values));
      editing = undefined;
      await ctx.refresh();
      ctx.flash('info', `Location ${values.name.trim()} saved.`);
    });
  };
  const edit = (code: string | undefined) => () => {
    editing = code;
    ctx.redraw();
  };

  const row = (location: StockLocation) =>
    editing === location.code
      ? html`<tr data-location=${location.code}><td colspan="4">
          <form class="inline" @submit=${save(location)} aria-label=${`Edit ${location.name}`}>
            <label>Location name <input name="name" required maxlength="100" .value=${location.name} /></label>
            <label>Priority <input name="priority" type="number" required min="0" max="1000" size="4" .value=${String(location.priority)} /></label>
            <label>Countries served <input name="countries" size="16" .value=${location.countries.join(', ')} placeholder="DE, AT" /></label>
            <button type="submit" class="primary">Save</button>
            <button type="button" @click=${edit(undefined)}>Cancel</button>
          </form>
        </td></tr>`
      : html`<tr data-location=${location.code}>
          <td>${location.name}</td><td>${location.priority}</td><td>${countriesText(location)}</td>
          <td><button type="button" @click=${edit(location.code)} aria-label=${`Edit ${location.name}`}>Edit</button></td>
        </tr>`;

  return () => html`
    <h1>Stock locations</h1>
    <p class="muted">An order takes each item from the locations serving its country first, then by priority
      (lower first), and splits an item over several when one has too few.</p>
    <div class="table-scroll"><table class="lines">
      <caption class="visually-hidden">Stock locations</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Priority</th><th scope="col">Countries served</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${locations.map(row)}</tbody>
    </table></div>
    ${locations.length === 0 ? html`<p class="muted">No locations yet.</p>` : nothing}

    <h2>New location</h2>
    <form class="stack" @submit=${create} aria-label="New location">
      <label>Location name <input name="name" required maxlength="100" /></label>
      <label>Code (lower-case letters, digits and hyphens) <input name="code" required pattern="[a-z0-9][a-z0-9\\-]{0,31}" maxlength="32" /></label>
      <label>Priority (lower comes first) <input name="priority" type="number" required min="0" max="1000" value="10" /></label>
      <label>Countries served (codes, for example DE, AT) <input name="countries" /></label>
      <button type="submit" class="primary">Add location</button>
    </form>
  `;
}
