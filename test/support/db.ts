import { type Database, migrate, openDatabase } from '../../src/platform/db/index.ts';
import { createScratchDatabase } from '../../src/platform/db/scratch.ts';

export type DbKind = 'pglite' | 'postgres';

/** PGlite always; PostgreSQL too when DATABASE_URL is set (always in CI). */
export const dbKinds: DbKind[] = process.env.DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];

export interface TestDatabase extends Database {
  /** The URL of the PostgreSQL database made for this test; undefined on PGlite. */
  url?: string;
  dispose(): Promise<void>;
}

/**
 * A fresh, empty database: in-memory PGlite, or a new database on the PostgreSQL server at
 * DATABASE_URL, dropped again by `dispose`. Tests never share state through the database.
 */
export async function createTestDatabase(
  kind: DbKind,
  options: { migrate?: boolean } = {},
): Promise<TestDatabase> {
  let database: Database;
  let url: string | undefined;
  let drop = async () => {};
  if (kind === 'postgres') {
    const adminUrl = process.env.DATABASE_URL;
    if (!adminUrl) throw new Error('DATABASE_URL is not set');
    const scratch = await createScratchDatabase(adminUrl, 'emporium_test');
    url = scratch.url;
    database = await openDatabase({ url, poolSize: 10 });
    drop = scratch.drop;
  } else {
    database = await openDatabase({});
  }
  if (options.migrate !== false) await migrate(database.db);
  return {
    ...database,
    url,
    async dispose() {
      await database.close();
      await drop();
    },
  };
}
