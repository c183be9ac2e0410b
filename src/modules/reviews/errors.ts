import { DomainError } from '../../platform/errors.ts';

/** The reviews module's domain errors. */

export const purchaseRequired = () =>
  new DomainError(
    403,
    'PURCHASE_REQUIRED',
    'Purchase required',
    'Only customers who bought this product can review it',
  );
