import type { Rendered } from './read-model.ts';

interface Money {
  amount: number;
  currency: string;
}
interface PricedVariant {
  price: Money;
  prices: Money[];
}

/** A variant shown in `currency`: its price there becomes `price`, the store price joins `prices`. */
function repriced(variant: PricedVariant, currency: string): PricedVariant {
  const there = variant.prices.find((price) => price.currency === currency);
  if (!there) return variant;
  const others = variant.prices.filter((price) => price !== there);
  return {
    ...variant,
    price: there,
    prices: [variant.price, ...others].sort((a, b) => (a.currency < b.currency ? -1 : 1)),
  };
}

/**
 * A rendered product or list as a region's shoppers see it: each variant's `price` in the region's
 * currency where it has one (the store price moves into `prices`, so nothing is lost), and the
 * ETag marked with the currency so a cache never answers one region with another's prices. Only
 * requests that name a region take this path; the store currency's answer is the rendered one.
 */
export function inCurrency(rendered: Rendered, currency: string, storeCurrency: string): Rendered {
  if (currency === storeCurrency) return rendered;
  const parsed = JSON.parse(rendered.body) as {
    variants?: PricedVariant[];
    items?: Array<{ variants: PricedVariant[] }>;
  };
  const reprice = (product: { variants: PricedVariant[] }) => ({
    ...product,
    variants: product.variants.map((variant) => repriced(variant, currency)),
  });
  const body = parsed.items
    ? { ...parsed, items: parsed.items.map(reprice) }
    : reprice(parsed as { variants: PricedVariant[] });
  return { body: JSON.stringify(body), etag: `${rendered.etag.slice(0, -1)}.${currency.toLowerCase()}"` };
}
