import { badRequest, conflict, DomainError } from '../../platform/errors.ts';

/** The catalog module's domain errors: what staff are told, and the code clients switch on. */

export const preconditionFailed = () =>
  new DomainError(412, 'PRECONDITION_FAILED', 'Precondition failed', 'The product changed since you read it');

export const preconditionRequired = () =>
  new DomainError(
    428,
    'PRECONDITION_REQUIRED',
    'Precondition required',
    'Send If-Match with the ETag you read, so a concurrent change is not overwritten',
  );

export const unknownCategories = (slugs: string[]) =>
  badRequest('UNKNOWN_CATEGORY', `No such categories: ${slugs.join(', ')}`);

export const productArchived = () => conflict('PRODUCT_ARCHIVED', 'An archived product cannot be changed');
