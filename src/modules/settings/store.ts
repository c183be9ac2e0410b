import type { Kysely } from 'kysely';
import type { Db } from '../../platform/db/index.ts';

export interface StoreAddress {
  line1: string;
  line2?: string;
  city: string;
  postalCode: string;
  country: string;
}

type SettingsTables = {
  store_settings: {
    id: number;
    name: string;
    support_email: string | null;
    address: StoreAddress | null;
    updated_by: string | null;
    updated_at: Date;
  };
};

export interface StoreSettingsRow {
  name: string;
  supportEmail: string | null;
  address: StoreAddress | string | null;
  updatedAt: Date;
}

const tables = (executor: Db): Kysely<SettingsTables> => executor.withTables<SettingsTables>();

const columns = ['name', 'support_email as supportEmail', 'address', 'updated_at as updatedAt'] as const;

/** All SQL of the settings module: its one row. */
export const settingsStore = {
  read(executor: Db): Promise<StoreSettingsRow> {
    return tables(executor)
      .selectFrom('store_settings')
      .select(columns)
      .where('id', '=', 1)
      .executeTakeFirstOrThrow();
  },

  write(
    executor: Db,
    settings: { name: string; supportEmail: string | null; address: StoreAddress | null; updatedBy: string },
  ): Promise<StoreSettingsRow> {
    return tables(executor)
      .updateTable('store_settings')
      .set({
        name: settings.name,
        support_email: settings.supportEmail,
        address: settings.address ? (JSON.stringify(settings.address) as unknown as StoreAddress) : null,
        updated_by: settings.updatedBy,
        updated_at: new Date(),
      })
      .where('id', '=', 1)
      .returning(columns)
      .executeTakeFirstOrThrow();
  },
};
