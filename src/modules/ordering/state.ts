import { invalidState } from './errors.ts';

export type OrderStatus = 'pending' | 'confirmed' | 'cancelled' | 'partially_shipped' | 'shipped';

/** The one place that decides which status may follow which. */
const TRANSITIONS: Record<OrderStatus, readonly OrderStatus[]> = {
  pending: ['confirmed', 'cancelled'],
  confirmed: ['cancelled', 'partially_shipped', 'shipped'],
  partially_shipped: ['shipped'],
  shipped: [],
  cancelled: [],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(from: OrderStatus, to: OrderStatus): void {
  if (!canTransition(from, to)) {
    throw invalidState(`An order that is ${from} cannot become ${to}`);
  }
}
