import { html, nothing } from 'lit-html';
import type { Page, Product, Review } from '../types.ts';
import { type AppContext, act, type Content, dateTime, formValues, pager } from '../ui.ts';

const FILTERS = [
  ['', 'All reviews'],
  ['visible', 'Shown in the shop'],
  ['hidden', 'Hidden'],
] as const;

/** Staff moderation: every review newest first; hiding takes it out of the shop and the rating. */
export async function reviewsPage(
  ctx: AppContext,
  _params: Record<string, string>,
  query: URLSearchParams,
): Promise<Content> {
  const status = query.get('status') ?? '';
  const page = Number(query.get('page') ?? '1') || 1;
  const list = await ctx.api.get<Page<Review>>(
    `/v1/reviews?${new URLSearchParams({ page: String(page), size: '20', ...(status ? { status } : {}) })}`,
  );
  // Product names, each product read once (product reads are cached by the server).
  const productIds = [...new Set(list.items.map((review) => review.productId))];
  const products = await Promise.all(
    productIds.map((id) => ctx.api.get<Product>(`/v1/products/${id}`).catch(() => undefined)),
  );
  const productName = new Map(
    productIds.map((id, index) => [id, products[index]?.name ?? 'a removed product']),
  );
  const link = (to: number) =>
    `/admin/reviews?${new URLSearchParams({ ...(status ? { status } : {}), page: String(to) })}`;

  const hide = (review: Review) => (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      await ctx.api.post(`/v1/reviews/${review.id}/hide`, { reason: values.reason.trim() });
      await ctx.refresh();
      ctx.flash('info', `The review of ${productName.get(review.productId)} is hidden from the shop.`);
    });
  };
  const show = (review: Review) => (event: Event) =>
    act(ctx, event, async () => {
      await ctx.api.post(`/v1/reviews/${review.id}/show`);
      await ctx.refresh();
      ctx.flash('info', `The review of ${productName.get(review.productId)} is shown again.`);
    });
  const filter = (event: SubmitEvent) => {
    const values = formValues(event);
    ctx.navigate(values.status ? `/admin/reviews?status=${values.status}` : '/admin/reviews');
  };

  return html`
    <h1>Reviews</h1>
    <p>Only customers who bought a product can review it. A hidden review leaves the shop and the product's rating; showing it again puts it back in both.</p>
    <form class="inline" @submit=${filter} aria-label="Filter reviews">
      <label>Show <select name="status">
        ${FILTERS.map(([value, label]) => html`<option value=${value} ?selected=${value === status}>${label}</option>`)}
      </select></label>
      <button type="submit">Filter</button>
    </form>
    ${list.items.length === 0 ? html`<p class="muted">No reviews here.</p>` : nothing}
    <ul class="reviews">
      ${list.items.map(
        (review) => html`<li class="card" data-review=${review.id}>
          <p><a href="/admin/products/${review.productId}">${productName.get(review.productId)}</a> ·
            <span aria-label=${`${review.rating} out of 5`}>${'★'.repeat(review.rating)}${'☆'.repeat(5 - review.rating)}</span>
            ${review.title ? html`<strong>${review.title}</strong>` : nothing}
            ${review.verifiedPurchase ? html`<span class="badge verified">✓ Verified purchase</span>` : nothing}
            · ${dateTime(review.createdAt)}</p>
          <p>${review.body}</p>
          ${
            review.hidden
              ? html`<p class="alert info">Hidden ${dateTime(review.hidden.at)}: “${review.hidden.reason}”
                  <button type="button" @click=${show(review)}>Show again</button></p>`
              : html`<form class="inline" @submit=${hide(review)} aria-label="Hide this review">
                  <label>Reason <input name="reason" required maxlength="500" placeholder="e.g. abusive language" /></label>
                  <button type="submit" class="danger">Hide</button>
                </form>`
          }
        </li>`,
      )}
    </ul>
    ${pager(list, 'reviews', link)}
  `;
}
