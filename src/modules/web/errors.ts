import { DomainError } from '../../platform/errors.ts';

/** The web module's domain errors. */

export const notBuilt = () =>
  new DomainError(
    503,
    'WEB_NOT_BUILT',
    'Web front end not built',
    'The storefront is not built: run "npm run build:web" (npm start does it when needed)',
  );
