import { DomainError } from '../../platform/errors.ts';

/** The inventory module's domain errors. */

export const outOfStock = (variantIds: string[]) =>
  new DomainError(409, 'OUT_OF_STOCK', 'Out of stock', 'Not enough stock for every item', {
    extensions: { variantIds },
  });
