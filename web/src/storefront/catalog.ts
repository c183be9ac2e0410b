import { html, nothing } from 'lit-html';
import { decimalString, parseMoneyInput } from '../money.ts';
import type {
  Category,
  Collection,
  Page,
  Product,
  ProductImage,
  ProductList,
  Review,
  Variant,
} from '../types.ts';
import {
  type AppContext,
  act,
  type Content,
  type Drawing,
  dateTime,
  formValues,
  money,
  STORE_CURRENCY,
  shelfPrice,
} from '../ui.ts';

const PAGE_SIZE = 12;
const SORTS = [
  ['', 'Relevance / newest'],
  ['price', 'Price: low to high'],
  ['-price', 'Price: high to low'],
  ['name', 'Name'],
  ['-rating', 'Best rated'],
  ['-createdAt', 'Newest'],
] as const;

const cheapest = (product: Product): Variant =>
  product.variants.reduce((best, variant) => (variant.price.amount < best.price.amount ? variant : best));

const stars = (average: number, count: number) =>
  count === 0
    ? html`<span class="muted">No reviews yet</span>`
    : html`<span class="rating" aria-label=${`Rated ${average.toFixed(1)} out of 5 from ${count} reviews`}
        >${'★'.repeat(Math.round(average))}${'☆'.repeat(5 - Math.round(average))} <span class="muted">(${count})</span></span
      >`;

/** The widths the server renders (GET /v1/images/{id}?w=): the browser picks one for its screen. */
const RENDITION_WIDTHS = [160, 320, 480, 640, 960, 1280, 1920];

/** An image the browser loads when it nears the screen, at the width the layout needs. */
const picture = (image: ProductImage, sizes: string, eager = false) => {
  const widths = RENDITION_WIDTHS.filter((width) => width < image.width);
  const srcset = [
    ...widths.map((width) => `${image.url}?w=${width} ${width}w`),
    `${image.url} ${image.width}w`,
  ].join(', ');
  return html`<img src=${`${image.url}?w=640`} srcset=${srcset} sizes=${sizes} width=${image.width} height=${image.height}
    alt=${image.alt} loading=${eager ? 'eager' : 'lazy'} decoding="async" />`;
};

const stockText = (available: number) =>
  available > 0
    ? html`<span class="in-stock">${available > 10 ? 'In stock' : `Only ${available} left`}</span>`
    : html`<span class="out-of-stock">Out of stock</span>`;

export async function catalogPage(
  ctx: AppContext,
  _params: Record<string, string>,
  query: URLSearchParams,
): Promise<Content> {
  const request = new URLSearchParams({ size: String(PAGE_SIZE), page: query.get('page') ?? '1' });
  request.set('facets', 'category,price,option');
  for (const key of ['q', 'category', 'collection', 'option', 'sort', 'minPrice', 'maxPrice']) {
    const value = query.get(key);
    if (value) request.set(key, value);
  }
  const [list, categories, collections] = await Promise.all([
    ctx.api.get<ProductList>(`/v1/products?${request}`),
    ctx.api.get<{ items: Category[] }>('/v1/categories'),
    ctx.api.get<{ items: Collection[] }>('/v1/collections'),
  ]);
  const collection = collections.items.find((each) => each.slug === query.get('collection'));
  const page = list.page;
  const pages = Math.max(1, Math.ceil(list.total / list.size));
  const priceField = (name: 'minPrice' | 'maxPrice') => {
    const raw = query.get(name);
    return raw ? decimalString({ amount: Number(raw), currency: STORE_CURRENCY }) : '';
  };

  const categoryName = new Map(categories.items.map((category) => [category.slug, category.name]));
  /** This listing with some filters set (or, given undefined, cleared), back at page 1. */
  const withFilters = (changes: Record<string, string | undefined>) => {
    const next = new URLSearchParams(query);
    next.delete('page');
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined) next.delete(key);
      else next.set(key, value);
    }
    return `/?${next}`;
  };
  const facets = list.facets ?? {};
  const optionNames = [...new Set((facets.option ?? []).map((entry) => entry.name))];
  const band = (entry: { min: number; max: number | null }) =>
    entry.max === null
      ? `${money({ amount: entry.min, currency: STORE_CURRENCY })} and up`
      : `${money({ amount: entry.min, currency: STORE_CURRENCY })} to ${money({ amount: entry.max, currency: STORE_CURRENCY })}`;
  const facetLink = (
    label: string,
    count: number,
    active: boolean,
    changes: Record<string, string | undefined>,
  ) =>
    html`<li><a href=${withFilters(changes)} aria-current=${active ? 'true' : nothing}>${label}</a> <span class="muted">(${count})</span></li>`;
  const facetPanel = html`<aside class="facets" aria-label="Narrow the results">
    ${
      (facets.category ?? []).length > 0
        ? html`<h2>Category</h2><ul>${facets.category!.map((entry) =>
            facetLink(
              categoryName.get(entry.value) ?? entry.value,
              entry.count,
              query.get('category') === entry.value,
              {
                category: query.get('category') === entry.value ? undefined : entry.value,
              },
            ),
          )}</ul>`
        : nothing
    }
    ${
      (facets.price ?? []).length > 0
        ? html`<h2>Price</h2><ul>${facets.price!.map((entry) => {
            const active = query.get('minPrice') === String(entry.min);
            return facetLink(band(entry), entry.count, active, {
              minPrice: active ? undefined : String(entry.min),
              maxPrice: active || entry.max === null ? undefined : String(entry.max - 1),
            });
          })}</ul>`
        : nothing
    }
    ${optionNames.map(
      (name) =>
        html`<h2>${name}</h2><ul>${(facets.option ?? [])
          .filter((entry) => entry.name === name)
          .map((entry) => {
            const value = `${entry.name}:${entry.value}`;
            return facetLink(entry.value, entry.count, query.get('option') === value, {
              option: query.get('option') === value ? undefined : value,
            });
          })}</ul>`,
    )}
  </aside>`;

  const search = (event: SubmitEvent) => {
    const values = formValues(event);
    const next = new URLSearchParams();
    if (values.q.trim()) next.set('q', values.q.trim());
    if (values.category) next.set('category', values.category);
    if (values.collection) next.set('collection', values.collection);
    if (values.sort) next.set('sort', values.sort);
    for (const name of ['minPrice', 'maxPrice'] as const) {
      if (!values[name].trim()) continue;
      const amount = parseMoneyInput(values[name], STORE_CURRENCY);
      if (amount === undefined)
        return ctx.flash('error', `${name === 'minPrice' ? 'Minimum' : 'Maximum'} price is not an amount`);
      next.set(name, String(amount));
    }
    ctx.navigate(`/?${next}`);
  };

  return html`
    <h1>${query.get('q') ? `Results for “${query.get('q')}”` : (collection?.name ?? 'All products')}</h1>
    ${collection?.description ? html`<p class="description">${collection.description}</p>` : nothing}
    ${
      collections.items.length > 0
        ? html`<nav class="collections" aria-label="Collections"><ul>
          ${collections.items.map(
            (each) =>
              html`<li><a href="/?collection=${each.slug}" aria-current=${each.slug === collection?.slug ? 'page' : nothing}>${each.name}</a></li>`,
          )}
        </ul></nav>`
        : nothing
    }
    <form class="filters" role="search" aria-label="Search and filter products" @submit=${search}>
      <label>Search <input type="search" name="q" .value=${query.get('q') ?? ''} maxlength="200" /></label>
      <label
        >Category
        <select name="category">
          <option value="">All categories</option>
          ${categories.items.map(
            (category) =>
              html`<option value=${category.slug} ?selected=${query.get('category') === category.slug}>${category.name}</option>`,
          )}
        </select>
      </label>
      ${
        collections.items.length > 0
          ? html`<label
          >Collection
          <select name="collection">
            <option value="">Any collection</option>
            ${collections.items.map(
              (each) =>
                html`<option value=${each.slug} ?selected=${collection?.slug === each.slug}>${each.name}</option>`,
            )}
          </select>
        </label>`
          : nothing
      }
      <label>Min price <input name="minPrice" inputmode="decimal" size="6" .value=${priceField('minPrice')} /></label>
      <label>Max price <input name="maxPrice" inputmode="decimal" size="6" .value=${priceField('maxPrice')} /></label>
      <label
        >Sort
        <select name="sort">
          ${SORTS.map(([value, label]) => html`<option value=${value} ?selected=${(query.get('sort') ?? '') === value}>${label}</option>`)}
        </select>
      </label>
      <button type="submit">Search</button>
    </form>
    <div class="shelf">
    ${facetPanel}
    <div>
    <p class="muted" role="status">${list.total} ${list.total === 1 ? 'product' : 'products'}</p>
    ${
      list.items.length === 0
        ? html`<p>No products match. <a href="/">Show everything</a></p>`
        : html`<ul class="grid" aria-label="Products">
          ${list.items.map((product) => {
            const variant = cheapest(product);
            const available = product.variants.reduce((sum, each) => sum + each.available, 0);
            const main = product.images[0];
            return html`<li class="card product-card">
              ${main ? html`<a href="/products/${product.id}" class="thumb" tabindex="-1" aria-hidden="true">${picture({ ...main, alt: '' }, '(max-width: 40rem) 100vw, 16rem')}</a>` : nothing}
              <h2><a href="/products/${product.id}">${product.name}</a></h2>
              <p class="price">${product.variants.length > 1 ? 'from ' : ''}${money(shelfPrice(variant))}</p>
              <p>${stars(product.rating.average, product.rating.count)}</p>
              <p>${stockText(available)}</p>
            </li>`;
          })}
        </ul>`
    }
    ${
      pages > 1
        ? html`<nav class="pager" aria-label="Pages">
          ${page > 1 ? html`<a href=${withFilters({ page: String(page - 1) })} rel="prev">← Previous</a>` : nothing}
          <span>Page ${page} of ${pages}</span>
          ${page < pages ? html`<a href=${withFilters({ page: String(page + 1) })} rel="next">Next →</a>` : nothing}
        </nav>`
        : nothing
    }
    </div>
    </div>
  `;
}

/** The variant with exactly these option values, if the product has one. */
const variantWith = (product: Product, choice: Record<string, string>) =>
  product.variants.find((variant) =>
    product.options.every((option) => variant.options[option.name] === choice[option.name]),
  );

/**
 * One picker per option (Size, Colour): each value says when, with the other choices, it is out
 * of stock or not made; the chosen combination is the variant added to the cart.
 */
function optionPickers(ctx: AppContext, product: Product, choice: Record<string, string>) {
  const chosen = variantWith(product, choice);
  const choose = (name: string) => (event: Event) => {
    choice[name] = (event.currentTarget as HTMLInputElement).value;
    ctx.redraw();
  };
  return html`${product.options.map(
    (option) => html`<fieldset class="option-picker">
      <legend>${option.name}: <strong>${choice[option.name]}</strong></legend>
      ${option.values.map((value) => {
        const candidate = variantWith(product, { ...choice, [option.name]: value });
        const note = !candidate ? 'not made' : candidate.available <= 0 ? 'out of stock' : '';
        return html`<label class=${`option-value${note ? ' unavailable' : ''}`}>
          <input type="radio" name=${`option-${option.name}`} value=${value} .checked=${choice[option.name] === value} @change=${choose(option.name)} />
          <span>${value}</span>${note ? html` <span class="muted">(${note})</span>` : nothing}
        </label>`;
      })}
    </fieldset>`,
  )}
    <input type="hidden" name="variantId" .value=${chosen?.id ?? ''} />
    <p class="chosen" role="status">${
      !chosen
        ? html`<span class="out-of-stock">This combination is not made. Choose another.</span>`
        : html`<strong>${money(shelfPrice(chosen))}</strong> ${stockText(chosen.available)}`
    }</p>`;
}

export async function productPage(ctx: AppContext, params: Record<string, string>): Promise<Drawing> {
  const [product, reviews] = await Promise.all([
    ctx.api.get<Product>(`/v1/products/${params.id}`),
    ctx.api.get<Page<Review>>(`/v1/products/${params.id}/reviews?size=20`),
  ]);
  ctx.setTitle(product.name);
  const signedIn = ctx.api.session() !== null;

  const addToCart = (event: SubmitEvent) => {
    const values = formValues(event);
    // Not signed in: the item goes into a guest cart (signing in later moves it into the account's).
    return act(ctx, event, async () => {
      await ctx.api.post('/v1/cart/items', {
        variantId: values.variantId,
        quantity: Number(values.quantity),
      });
      ctx.navigate('/cart');
    });
  };
  const review = (event: SubmitEvent) => {
    const values = formValues(event);
    const form = event.currentTarget as HTMLFormElement;
    return act(ctx, event, async () => {
      await ctx.api.post(`/v1/products/${product.id}/reviews`, {
        rating: Number(values.rating),
        ...(values.title.trim() ? { title: values.title.trim() } : {}),
        body: values.body,
      });
      form.reset();
      await ctx.refresh();
      ctx.flash('info', 'Thank you for your review.');
    });
  };
  // Options: start from the first variant in stock (else the first), and follow the shopper's picks.
  const start = product.variants.find((variant) => variant.available > 0) ?? product.variants[0];
  const choice: Record<string, string> = { ...start.options };
  const attributes = (variant: Variant) =>
    Object.entries(variant.attributes)
      .map(([key, value]) => `${key}: ${String(value)}`)
      .join(', ');

  const chosen = () => (product.options.length > 0 ? variantWith(product, choice) : undefined);
  return () => html`
    <nav aria-label="Breadcrumb"><a href="/">← All products</a></nav>
    <article class="product">
      ${
        product.images.length > 0
          ? html`<div class="gallery" aria-label="Pictures of ${product.name}" role="group">
            <figure class="main-image">${picture(product.images[0], '(max-width: 48rem) 100vw, 40rem', true)}</figure>
            ${
              product.images.length > 1
                ? html`<ul class="thumbs">${product.images.slice(1).map((image) => html`<li>${picture(image, '8rem')}</li>`)}</ul>`
                : nothing
            }
          </div>`
          : nothing
      }
      <h1>${product.name}</h1>
      <p>${stars(product.rating.average, product.rating.count)}</p>
      <p class="description">${product.description}</p>
      <form class="buy" @submit=${addToCart} aria-label="Add to cart">
        ${
          product.options.length > 0
            ? optionPickers(ctx, product, choice)
            : html`<fieldset>
          <legend>Choose a variant</legend>
          ${product.variants.map(
            (variant, index) => html`<label class="variant">
              <input type="radio" name="variantId" value=${variant.id} ?checked=${index === 0} ?disabled=${variant.available <= 0} required />
              <span>${attributes(variant) || variant.sku}</span> <strong>${money(shelfPrice(variant))}</strong>
              ${stockText(variant.available)}
            </label>`,
          )}
        </fieldset>`
        }
        <label>Quantity <input type="number" name="quantity" min="1" max="99" value="1" required /></label>
        <button type="submit" class="primary" ?disabled=${product.options.length > 0 && !(chosen()?.available ?? 0)}>Add to cart</button>
      </form>
    </article>
    <section aria-labelledby="reviews-heading">
      <h2 id="reviews-heading">Reviews (${reviews.total})</h2>
      ${reviews.items.length === 0 ? html`<p class="muted">No reviews yet.</p>` : nothing}
      <ul class="reviews">
        ${reviews.items.map(
          (item) => html`<li class="card">
            <p><span aria-label=${`${item.rating} out of 5`}>${'★'.repeat(item.rating)}${'☆'.repeat(5 - item.rating)}</span>
              ${item.title ? html`<strong>${item.title}</strong>` : nothing}
              ${item.verifiedPurchase ? html`<span class="badge verified" title="Written by someone who bought this product">✓ Verified purchase</span>` : nothing}</p>
            <p>${item.body}</p>
            <p class="muted">${dateTime(item.createdAt)}</p>
          </li>`,
        )}
      </ul>
      ${
        signedIn
          ? html`<form class="stack" @submit=${review} aria-label="Write a review">
            <h3>Write a review</h3>
            <p class="muted">Reviews are open to customers who bought this product.</p>
            <label>Rating
              <select name="rating" required>
                ${[5, 4, 3, 2, 1].map((value) => html`<option value=${value}>${value} ★</option>`)}
              </select>
            </label>
            <label>Title (optional) <input name="title" maxlength="200" /></label>
            <label>Review <textarea name="body" maxlength="5000" rows="4" required></textarea></label>
            <button type="submit">Post review</button>
          </form>`
          : html`<p><a href="/signin?next=${encodeURIComponent(`/products/${product.id}`)}">Sign in</a> to write a review.</p>`
      }
    </section>
  `;
}
