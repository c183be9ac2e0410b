import { conflict } from '../../platform/errors.ts';

/** The fulfillment module's domain errors. */

export const invalidState = (detail: string) => conflict('INVALID_STATE', detail);
