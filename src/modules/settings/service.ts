import type { Db } from '../../platform/db/index.ts';
import { emailAddressOf } from '../../platform/email-address.ts';
import { mailPreviews } from '../notifications/index.ts';
import { type StoreAddress, type StoreSettingsRow, settingsStore as store } from './store.ts';

/** The shop as shoppers see it: its name and how to reach it, beside what the configuration fixes. */
export interface StoreSettings {
  name: string;
  supportEmail?: string;
  address?: StoreAddress;
  /** Fixed by STORE_CURRENCY and STORE_LOCALES (prices and texts are kept in them). */
  currency: string;
  locales: string[];
  updatedAt: string;
}

export function createSettingsService(deps: {
  db: Db;
  storeCurrency: string;
  storeLocales: readonly string[];
  /** Where the shop answers: the previews' links point there. */
  publicUrl: string;
}) {
  const { db } = deps;
  const toSettings = (row: StoreSettingsRow): StoreSettings => {
    // PGlite may hand json back as text; node-postgres parses it.
    const address = typeof row.address === 'string' ? (JSON.parse(row.address) as StoreAddress) : row.address;
    return {
      name: row.name,
      ...(row.supportEmail ? { supportEmail: row.supportEmail } : {}),
      ...(address ? { address } : {}),
      currency: deps.storeCurrency,
      locales: [...deps.storeLocales],
      updatedAt: row.updatedAt.toISOString(),
    };
  };

  return {
    read: async (): Promise<StoreSettings> => toSettings(await store.read(db)),

    /** Each mail as its template renders it with sample data. */
    mailPreviews: async () =>
      mailPreviews((await store.read(db)).name, deps.publicUrl, deps.storeCurrency).map(({ name, mail }) => ({
        template: mail.kind,
        name,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
      })),

    async write(
      input: { name: string; supportEmail?: string; address?: StoreAddress },
      actorId: string,
    ): Promise<StoreSettings> {
      const row = await store.write(db, {
        name: input.name.trim(),
        supportEmail: input.supportEmail
          ? emailAddressOf(
              input.supportEmail,
              'Enter the email address shoppers write to, such as help@example.com',
              '/supportEmail',
            )
          : null,
        address: input.address ?? null,
        updatedBy: actorId,
      });
      return toSettings(row);
    },
  };
}

export type SettingsService = ReturnType<typeof createSettingsService>;
