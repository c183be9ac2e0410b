import { describe, expect, it } from 'vitest';
import { ApiError } from './api.ts';
import { describeError } from './errors.ts';

const invalid = (errors: { path: string; message: string }[]) =>
  new ApiError({
    title: 'Validation failed',
    status: 400,
    code: 'VALIDATION_FAILED',
    detail: 'The request does not match its schema',
    errors,
  });

describe('describeError: what a person reads when a request is refused', () => {
  it('turns the schema’s words into one sentence per field, never a path or a code', () => {
    expect(describeError(invalid([{ path: '/quantity', message: 'must be <= 99' }]))).toBe(
      'Quantity can be at most 99.',
    );
    expect(
      describeError(
        invalid([
          { path: '/variants/0/price/amount', message: 'must be >= 0' },
          { path: '/shippingAddress/postalCode', message: 'must NOT have more than 20 characters' },
          { path: '/headers/idempotency-key', message: "must have required property 'idempotency-key'" },
          { path: '/email', message: 'must match format "email"' },
          { path: '/extra', message: 'is not a known field' },
        ]),
      ),
    ).toBe(
      'Price amount must be at least 0. Shipping address postal code can be at most 20 characters long. ' +
        'Idempotency-key is required. Email must be a valid email. Extra is not something this form can change.',
    );
  });

  it('says the API’s own sentence when there are no field errors, and a plain error’s message', () => {
    const stock = new ApiError({
      title: 'Out of stock',
      status: 409,
      code: 'OUT_OF_STOCK',
      detail: 'Not enough stock for every item',
    });
    expect(describeError(stock)).toBe('Not enough stock for every item');
    expect(describeError(new Error('Choose at least one item to return'))).toBe(
      'Choose at least one item to return',
    );
  });
});
