import type { Db } from '../../platform/db/index.ts';
import type { AppModule } from '../../platform/module.ts';
import { settingsRoutes } from './routes.ts';
import { createSettingsService, type SettingsService } from './service.ts';

export { MailPreviewSchema, StoreSettingsSchema } from './routes.ts';
export type { SettingsService, StoreSettings } from './service.ts';

export interface SettingsModule extends AppModule {
  name: 'settings';
  service: SettingsService;
}

/** The shop's own details (name, contact, address) that staff set and the storefront shows; previews of its mail. */
export function createSettings(deps: {
  db: Db;
  storeCurrency: string;
  storeLocales: readonly string[];
  publicUrl: string;
}): SettingsModule {
  const service = createSettingsService(deps);
  return { name: 'settings', service, routes: settingsRoutes(service) };
}
