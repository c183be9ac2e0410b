import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type { Db } from './index.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/', import.meta.url));

// One constant key: every Emporium instance that migrates the same database queues on it.
const MIGRATION_LOCK_KEY = 727_101;

export class MigrationChecksumError extends Error {
  override name = 'MigrationChecksumError';
}

export interface MigrationReport {
  applied: string[];
  alreadyApplied: number;
}

interface MigrationFile {
  version: string;
  name: string;
  sql: string;
  checksum: string;
}

async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const files = (await fs.readdir(dir)).filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file)).sort();
  return Promise.all(
    files.map(async (file) => {
      const text = await fs.readFile(path.join(dir, file), 'utf8');
      return {
        version: file.slice(0, 4),
        name: file.slice(5, -4),
        sql: text,
        checksum: createHash('sha256').update(text).digest('hex'),
      };
    }),
  );
}

/** The count of applied migrations when every file is applied with its recorded checksum. */
async function alreadyApplied(db: Db, files: MigrationFile[]): Promise<number | undefined> {
  const table = await sql<{
    exists: boolean;
  }>`select to_regclass('schema_migrations') is not null as exists`.execute(db);
  if (!table.rows[0]?.exists) return undefined;
  const applied = await sql<{ version: string; checksum: string }>`
    select version, checksum from schema_migrations`.execute(db);
  const checksums = new Map(applied.rows.map((row) => [row.version, row.checksum]));
  return files.every((file) => checksums.get(file.version) === file.checksum)
    ? applied.rows.length
    : undefined;
}

/**
 * Applies pending forward-only migrations in one transaction under an advisory lock, so two
 * instances starting together do not race: the second waits, then finds nothing to do. An
 * applied migration whose file has changed since stops everything: history is not rewritten.
 */
export async function migrate(db: Db, dir: string = MIGRATIONS_DIR): Promise<MigrationReport> {
  const files = await readMigrations(dir);
  // The common case on every start: everything applied and unchanged. One read, no lock.
  const upToDate = await alreadyApplied(db, files);
  if (upToDate !== undefined) return { applied: [], alreadyApplied: upToDate };
  return db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`.execute(tx);
    await sql`create table if not exists schema_migrations (
      version text primary key,
      name text not null,
      checksum text not null,
      applied_at timestamptz not null default now()
    )`.execute(tx);
    const applied = await sql<{ version: string; name: string; checksum: string }>`
      select version, name, checksum from schema_migrations order by version`.execute(tx);
    const appliedByVersion = new Map(applied.rows.map((row) => [row.version, row]));
    const report: MigrationReport = { applied: [], alreadyApplied: appliedByVersion.size };
    for (const file of files) {
      const done = appliedByVersion.get(file.version);
      if (done) {
        if (done.checksum !== file.checksum) {
          throw new MigrationChecksumError(
            `migration ${file.version}_${file.name}.sql was changed after it was applied ` +
              `(recorded checksum ${done.checksum.slice(0, 12)}, file ${file.checksum.slice(0, 12)}); ` +
              'add a new migration instead of editing an applied one',
          );
        }
        continue;
      }
      await sql.raw(file.sql).execute(tx);
      await sql`insert into schema_migrations (version, name, checksum)
        values (${file.version}, ${file.name}, ${file.checksum})`.execute(tx);
      report.applied.push(`${file.version}_${file.name}`);
    }
    return report;
  });
}
