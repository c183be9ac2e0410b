import { DomainError } from '../../platform/errors.ts';

/** The stream module's domain errors. */

/** A plain GET of the stream: told how to connect instead of a bare 404. */
export const upgradeRequired = () =>
  new DomainError(426, 'UPGRADE_REQUIRED', 'Upgrade required', 'Connect with a WebSocket upgrade', {
    headers: { upgrade: 'websocket', connection: 'Upgrade' },
  });
