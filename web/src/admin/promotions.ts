import { html, nothing } from 'lit-html';
import { newIdempotencyKey } from '../api.ts';
import { decimalString, parseMoneyInput } from '../money.ts';
import { type AppContext, act, type Content, formValues, STORE_CURRENCY } from '../ui.ts';

interface Promotion {
  id: string;
  code: string;
  kind: 'percentage' | 'fixed' | 'free_shipping';
  value: number;
  currency?: string;
  minSubtotal?: number;
  usageLimit?: number;
  perCustomerLimit?: number;
  timesUsed: number;
  active: boolean;
}

function valueText(promotion: Promotion): string {
  if (promotion.kind === 'percentage') return `${promotion.value}% off`;
  if (promotion.kind === 'free_shipping') return 'Free shipping';
  return `${decimalString({ amount: promotion.value, currency: promotion.currency ?? STORE_CURRENCY })} ${promotion.currency ?? STORE_CURRENCY} off`;
}

export async function promotionsPage(ctx: AppContext): Promise<Content> {
  const { items } = await ctx.api.get<{ items: Promotion[] }>('/v1/promotions');
  const create = (event: SubmitEvent) => {
    const values = formValues(event);
    const form = event.currentTarget as HTMLFormElement;
    return act(ctx, event, async () => {
      const kind = values.kind as Promotion['kind'];
      const value =
        kind === 'fixed'
          ? parseMoneyInput(values.value, STORE_CURRENCY)
          : kind === 'percentage'
            ? Number(values.value)
            : 0;
      if (value === undefined || Number.isNaN(value)) throw new Error('The value is not a number');
      const minSubtotal = values.minSubtotal.trim()
        ? parseMoneyInput(values.minSubtotal, STORE_CURRENCY)
        : undefined;
      if (values.minSubtotal.trim() && minSubtotal === undefined)
        throw new Error('The minimum subtotal is not an amount');
      await ctx.api.post(
        '/v1/promotions',
        {
          code: values.code.trim(),
          kind,
          value,
          ...(kind === 'fixed' ? { currency: STORE_CURRENCY } : {}),
          ...(minSubtotal !== undefined ? { minSubtotal } : {}),
          ...(values.usageLimit ? { usageLimit: Number(values.usageLimit) } : {}),
          ...(values.perCustomerLimit ? { perCustomerLimit: Number(values.perCustomerLimit) } : {}),
        },
        { headers: { 'idempotency-key': newIdempotencyKey() } },
      );
      form.reset();
      await ctx.refresh();
      ctx.flash('info', `Code ${values.code.trim().toUpperCase()} created.`);
    });
  };
  const deactivate = (promotion: Promotion) => (event: Event) =>
    act(ctx, event, async () => {
      await ctx.api.delete(`/v1/promotions/${promotion.id}`);
      await ctx.refresh();
      ctx.flash('info', `Code ${promotion.code} deactivated.`);
    });
  return html`
    <h1>Promotions</h1>
    <table class="lines">
      <caption class="visually-hidden">Promotion codes</caption>
      <thead><tr><th scope="col">Code</th><th scope="col">Discount</th><th scope="col">Minimum</th><th scope="col">Used</th><th scope="col">State</th></tr></thead>
      <tbody>
        ${items.map(
          (promotion) => html`<tr>
            <td><code>${promotion.code}</code></td>
            <td>${valueText(promotion)}</td>
            <td>${promotion.minSubtotal ? decimalString({ amount: promotion.minSubtotal, currency: promotion.currency ?? STORE_CURRENCY }) : '—'}</td>
            <td>${promotion.timesUsed}${promotion.usageLimit ? ` of ${promotion.usageLimit}` : ''}</td>
            <td>${
              promotion.active
                ? html`Active <button type="button" class="link" @click=${deactivate(promotion)} aria-label=${`Deactivate ${promotion.code}`}>Deactivate</button>`
                : 'Inactive'
            }</td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${items.length === 0 ? html`<p class="muted">No promotion codes yet.</p>` : nothing}
    <h2>New code</h2>
    <form class="stack narrow" @submit=${create} aria-label="New promotion code">
      <label>Code <input name="code" required minlength="2" maxlength="40" pattern="[A-Za-z0-9_\\-]+" /></label>
      <label>Kind <select name="kind">
        <option value="percentage">Percentage off</option>
        <option value="fixed">Fixed amount off (${STORE_CURRENCY})</option>
        <option value="free_shipping">Free shipping</option>
      </select></label>
      <label>Value (percent, or amount for fixed) <input name="value" inputmode="decimal" value="10" /></label>
      <label>Minimum subtotal (${STORE_CURRENCY}, optional) <input name="minSubtotal" inputmode="decimal" /></label>
      <label>Usage limit (optional) <input name="usageLimit" type="number" min="1" /></label>
      <label>Per customer limit (optional) <input name="perCustomerLimit" type="number" min="1" /></label>
      <button type="submit" class="primary">Create code</button>
    </form>
  `;
}
