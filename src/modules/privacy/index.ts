import type { AppModule } from '../../platform/module.ts';
import { privacyRoutes } from './routes.ts';
import { createPrivacyService, type PrivacyService } from './service.ts';

export type { DataExport, PrivacyService } from './service.ts';

export interface PrivacyModule extends AppModule {
  name: 'privacy';
  service: PrivacyService;
}

/** The owner's data export, composed from identity, ordering and reviews (erasure is identity's, then each module's on user.erased). */
export function createPrivacy(deps: Parameters<typeof createPrivacyService>[0]): PrivacyModule {
  const service = createPrivacyService(deps);
  return { name: 'privacy', service, routes: privacyRoutes(service) };
}
