import { describe, expect, it } from 'vitest';
import { assertTransition, canTransition, type OrderStatus } from './state.ts';

const STATUSES: OrderStatus[] = ['pending', 'confirmed', 'cancelled', 'partially_shipped', 'shipped'];

describe('order state machine', () => {
  it('allows exactly the documented transitions', () => {
    const allowed = STATUSES.flatMap((from) =>
      STATUSES.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`),
    );
    expect(allowed.sort()).toEqual(
      [
        'pending->confirmed',
        'pending->cancelled',
        'confirmed->cancelled',
        'confirmed->partially_shipped',
        'confirmed->shipped',
        'partially_shipped->shipped',
      ].sort(),
    );
  });

  it('answers an illegal transition with 409 INVALID_STATE', () => {
    expect(() => assertTransition('shipped', 'cancelled')).toThrow(
      expect.objectContaining({ status: 409, code: 'INVALID_STATE' }),
    );
    expect(() => assertTransition('cancelled', 'confirmed')).toThrow(
      expect.objectContaining({ code: 'INVALID_STATE' }),
    );
  });
});
