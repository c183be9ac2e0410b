import { DomainError } from '../../platform/errors.ts';

/** The cart module's domain errors: what a shopper is told, and the code clients switch on. */

export const productUnavailable = (variantIds: string[]) =>
  new DomainError(
    409,
    'PRODUCT_UNAVAILABLE',
    'Product unavailable',
    'Some items can no longer be bought in this currency',
    { extensions: { variantIds } },
  );

export const priceUnavailable = (currency: string, variantIds: string[]) =>
  new DomainError(409, 'PRICE_UNAVAILABLE', 'Price unavailable', `Some items have no price in ${currency}`, {
    extensions: { variantIds },
  });
