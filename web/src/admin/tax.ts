import { html, nothing } from 'lit-html';
import { COUNTRIES, countryName } from '../addresses.ts';
import type { Region } from '../types.ts';
import { type AppContext, act, type Content, formValues } from '../ui.ts';

interface TaxClass {
  code: string;
  name: string;
}
interface TaxRate {
  country: string;
  taxClass: string;
  rate: number;
  name: string;
}

/** Basis points as staff read them: 1900 → "19 %", 550 → "5.5 %". */
const percent = (basisPoints: number) =>
  `${(basisPoints / 100).toLocaleString('en', { maximumFractionDigits: 2 })} %`;

/** "19", "5.5" or "5,5" percent as basis points; undefined for anything else. */
function basisPoints(raw: string): number | undefined {
  const value = Number(raw.trim().replace(',', '.'));
  if (!raw.trim() || Number.isNaN(value) || value < 0 || value > 100) return undefined;
  return Math.round(value * 100);
}

/** Regions (where prices contain tax), tax classes and the rate of each class per country. */
export async function taxPage(ctx: AppContext): Promise<Content> {
  const [{ items: regions }, { items: classes }, { items: rates }] = await Promise.all([
    ctx.api.get<{ items: Region[] }>('/v1/regions'),
    ctx.api.get<{ items: TaxClass[] }>('/v1/tax-classes'),
    ctx.api.get<{ items: TaxRate[] }>('/v1/tax-rates'),
  ]);
  const className = (code: string) => classes.find((taxClass) => taxClass.code === code)?.name ?? code;
  const rateOf = (country: string, taxClass: string) =>
    rates.find((rate) => rate.country === country && rate.taxClass === taxClass);
  const countries = [...new Set([...COUNTRIES.map(([code]) => code), ...rates.map((rate) => rate.country)])];

  const saveRegion = (event: SubmitEvent) => {
    const values = formValues(event);
    const form = event.currentTarget as HTMLFormElement;
    return act(ctx, event, async () => {
      const chosen = COUNTRIES.map(([code]) => code).filter((code) => values[`country-${code}`]);
      if (chosen.length === 0) throw new Error('Choose the countries the region takes in');
      await ctx.api.post('/v1/regions', {
        code: values.code.trim().toLowerCase(),
        name: values.name.trim(),
        currency: values.currency.trim().toUpperCase(),
        countries: chosen,
        taxInclusive: values.taxInclusive === 'on',
      });
      form.reset();
      await ctx.refresh();
      ctx.flash('info', `Region ${values.name.trim()} created.`);
    });
  };
  const removeRegion = (region: Region) => (event: Event) =>
    act(ctx, event, async () => {
      await ctx.api.delete(`/v1/regions/${region.code}`);
      await ctx.refresh();
      ctx.flash('info', `Region ${region.name} removed: its countries are taxed on top of prices again.`);
    });
  const saveClass = (event: SubmitEvent) => {
    const values = formValues(event);
    const form = event.currentTarget as HTMLFormElement;
    return act(ctx, event, async () => {
      await ctx.api.post('/v1/tax-classes', {
        code: values.code.trim().toLowerCase(),
        name: values.name.trim(),
      });
      form.reset();
      await ctx.refresh();
      ctx.flash('info', `Tax class ${values.name.trim()} created.`);
    });
  };
  const saveRate = (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      const rate = basisPoints(values.rate);
      if (rate === undefined) throw new Error('The rate is a percentage from 0 to 100, like 19 or 5.5');
      await ctx.api.put(`/v1/tax-rates/${values.country}`, {
        taxClass: values.taxClass,
        rate,
        name: values.name.trim() || className(values.taxClass),
      });
      await ctx.refresh();
      ctx.flash(
        'info',
        `${countryName(values.country)}: ${className(values.taxClass).toLowerCase()} is now ${percent(rate)}.`,
      );
    });
  };

  return html`
    <h1>Tax and regions</h1>
    <h2>Regions</h2>
    <p class="muted">In a region whose prices include tax, the shelf price is what the shopper pays and the tax
      is the part of it the rate makes up. Elsewhere tax is added at checkout.</p>
    <div class="table-scroll"><table class="lines">
      <caption class="visually-hidden">Regions</caption>
      <thead><tr><th scope="col">Region</th><th scope="col">Currency</th><th scope="col">Countries</th><th scope="col">Prices</th><th scope="col"><span class="visually-hidden">Remove</span></th></tr></thead>
      <tbody>
        ${regions.map(
          (region) => html`<tr data-region=${region.code}>
            <td>${region.name}</td><td>${region.currency}</td>
            <td>${region.countries.map(countryName).join(', ')}</td>
            <td>${region.taxInclusive ? 'Include tax' : 'Tax added at checkout'}</td>
            <td><button type="button" class="link" @click=${removeRegion(region)} aria-label=${`Remove the region ${region.name}`}>Remove</button></td>
          </tr>`,
        )}
      </tbody>
    </table></div>
    ${regions.length === 0 ? html`<p class="muted">No regions yet: tax is added on top of prices everywhere.</p>` : nothing}
    <form class="stack narrow" @submit=${saveRegion} aria-label="New region">
      <label>Name <input name="name" required maxlength="100" placeholder="European Union" /></label>
      <label>Short code <input name="code" required pattern="[a-z][a-z0-9\\-]{1,31}" placeholder="eu" /></label>
      <label>Currency <input name="currency" required pattern="[A-Za-z]{3}" size="3" value="EUR" /></label>
      <fieldset><legend>Countries</legend>
        ${COUNTRIES.map(
          ([code, name]) =>
            html`<label class="variant"><input type="checkbox" name=${`country-${code}`} /> ${name}</label>`,
        )}
      </fieldset>
      <label class="variant"><input type="checkbox" name="taxInclusive" checked /> Prices include tax</label>
      <button type="submit" class="primary">Create region</button>
    </form>

    <h2>Tax rates</h2>
    <div class="table-scroll"><table class="lines">
      <caption class="visually-hidden">Tax rates by country and class</caption>
      <thead><tr><th scope="col">Country</th>${classes.map((taxClass) => html`<th scope="col">${taxClass.name}</th>`)}</tr></thead>
      <tbody>
        ${countries.map(
          (country) => html`<tr data-country=${country}>
            <th scope="row">${countryName(country)}</th>
            ${classes.map((taxClass) => {
              const rate = rateOf(country, taxClass.code);
              return html`<td>${rate ? percent(rate.rate) : html`<span class="muted">standard rate</span>`}</td>`;
            })}
          </tr>`,
        )}
      </tbody>
    </table></div>
    <p class="muted">A class without a rate in a country is taxed there at its standard rate; shipping always is.</p>
    <form class="stack narrow" @submit=${saveRate} aria-label="Set a tax rate">
      <label>Country <select name="country">${COUNTRIES.map(([code, name]) => html`<option value=${code}>${name}</option>`)}</select></label>
      <label>Tax class <select name="taxClass">${classes.map((taxClass) => html`<option value=${taxClass.code}>${taxClass.name}</option>`)}</select></label>
      <label>Rate (%) <input name="rate" required inputmode="decimal" size="5" placeholder="19" /></label>
      <label>Name on receipts (optional) <input name="name" maxlength="100" placeholder="VAT" /></label>
      <button type="submit" class="primary">Set rate</button>
    </form>

    <h2>Tax classes</h2>
    <ul>${classes.map((taxClass) => html`<li>${taxClass.name}</li>`)}</ul>
    <form class="inline" @submit=${saveClass} aria-label="New tax class">
      <label>Name <input name="name" required maxlength="100" placeholder="Books" /></label>
      <label>Short code <input name="code" required pattern="[a-z][a-z0-9_\\-]{0,31}" placeholder="books" /></label>
      <button type="submit">Create class</button>
    </form>
  `;
}
