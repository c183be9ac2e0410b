import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, dbKinds, type TestDatabase } from '../../../test/support/db.ts';
import { runWithContext } from '../context.ts';
import {
  afterCommit,
  MIGRATIONS_DIR,
  MigrationChecksumError,
  migrate,
  openDatabase,
  transact,
} from './index.ts';

describe.each(dbKinds)('database on %s', (kind) => {
  const opened: TestDatabase[] = [];
  const fresh = async (options?: { migrate?: boolean }) => {
    const database = await createTestDatabase(kind, options);
    opened.push(database);
    return database;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((database) => database.dispose()));
  });

  it('applies migrations once; a second run finds nothing to do', async () => {
    const database = await fresh({ migrate: false });
    const first = await migrate(database.db);
    expect(first.applied.length).toBeGreaterThan(0);
    const second = await migrate(database.db);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toBe(first.applied.length);
  });

  it('refuses to start when an applied migration was edited', async () => {
    const database = await fresh({ migrate: false });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'emporium-migrations-'));
    await fs.writeFile(path.join(dir, '0001_first.sql'), 'create table first_table (id int primary key);');
    await migrate(database.db, dir);
    await fs.writeFile(path.join(dir, '0001_first.sql'), 'create table first_table (id bigint primary key);');
    await expect(migrate(database.db, dir)).rejects.toBeInstanceOf(MigrationChecksumError);
    await expect(migrate(database.db, dir)).rejects.toThrow(
      /0001_first\.sql was changed after it was applied/,
    );
  });

  it('rolls back a failed transaction completely', async () => {
    const database = await fresh();
    await sql`create table t_rollback (id int primary key)`.execute(database.db);
    await expect(
      transact(database.db, async (tx) => {
        await sql`insert into t_rollback values (1)`.execute(tx);
        await sql`insert into t_rollback values (1)`.execute(tx);
      }),
    ).rejects.toThrow();
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from t_rollback`.execute(database.db);
    expect(rows[0].n).toBe(0);
  });

  it('runs after-commit callbacks once the transaction commits, never for a rolled-back attempt', async () => {
    const database = await fresh();
    await sql`create table t_after (id int primary key)`.execute(database.db);
    const heard: string[] = [];
    let attempt = 0;
    await transact(database.db, async (tx) => {
      attempt++;
      afterCommit(tx, () => heard.push(`attempt ${attempt}`));
      await sql`insert into t_after values (${attempt})`.execute(tx);
      expect(heard).toEqual([]);
      // The first attempt fails as a serialization failure would: transact tries again.
      if (attempt === 1) throw Object.assign(new Error('serialization failure'), { code: '40001' });
    });
    expect(heard).toEqual(['attempt 2']);
    await expect(
      transact(database.db, async (tx) => {
        afterCommit(tx, () => heard.push('rolled back'));
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    afterCommit(database.db, () => heard.push('outside a transaction: at once'));
    expect(heard).toEqual(['attempt 2', 'outside a transaction: at once']);
  });

  it('keeps concurrent transactions from interleaving their statements', async () => {
    const database = await fresh();
    await sql`create table t_log (seq serial primary key, tx int not null, step int not null)`.execute(
      database.db,
    );
    const transactions = 20;
    const steps = 5;
    await Promise.all(
      Array.from({ length: transactions }, (_, tx) =>
        transact(database.db, async (trx) => {
          for (let step = 0; step < steps; step++) {
            await sql`insert into t_log (tx, step) values (${tx}, ${step})`.execute(trx);
            await new Promise((resolve) => setImmediate(resolve));
          }
        }),
      ),
    );
    const { rows } = await sql<{ tx: number; step: number }>`select tx, step from t_log order by seq`.execute(
      database.db,
    );
    expect(rows).toHaveLength(transactions * steps);
    if (kind === 'pglite') {
      // One connection: each transaction's statements form one unbroken run.
      for (let i = 0; i < rows.length; i += steps) {
        const run = rows.slice(i, i + steps);
        expect(new Set(run.map((row) => row.tx)).size).toBe(1);
        expect(run.map((row) => row.step)).toEqual([0, 1, 2, 3, 4]);
      }
    }
  });

  it('does not start a query once the unit of work was aborted', async () => {
    const database = await fresh();
    const controller = new AbortController();
    controller.abort(new DOMException('gone', 'AbortError'));
    await expect(
      runWithContext({ signal: controller.signal }, () => sql`select 1`.execute(database.db)),
    ).rejects.toThrow(/gone/);
    await expect(sql`select 1`.execute(database.db)).resolves.toBeTruthy();
  });
});

describe.runIf(dbKinds.includes('postgres'))('migrations on PostgreSQL', () => {
  it('two migrators at once: one applies, the other waits and finds nothing to do', async () => {
    const database = await createTestDatabase('postgres', { migrate: false });
    const other = await openDatabase({ url: database.url! });
    try {
      const reports = await Promise.all([migrate(database.db), migrate(other.db)]);
      const appliedCounts = reports.map((report) => report.applied.length).sort();
      const total = (await fs.readdir(MIGRATIONS_DIR)).filter((file) => file.endsWith('.sql')).length;
      expect(appliedCounts).toEqual([0, total]);
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from schema_migrations`.execute(
        database.db,
      );
      expect(rows[0].n).toBe(total);
    } finally {
      await other.close();
      await database.dispose();
    }
  });
});

describe('embedded PGlite on a data directory', () => {
  it('creates a fresh cluster in a child process: initdb memory never stays in the server, data persists', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'emporium-pglite-'));
    // A process of its own, so the WebAssembly memory measured is only this database's.
    const script = `
      import { sql } from 'kysely';
      import { openDatabase } from './src/platform/db/index.ts';
      const database = await openDatabase({ dataDir: process.argv[1] });
      await sql\`create table if not exists kept (n int)\`.execute(database.db);
      await sql\`insert into kept values (1)\`.execute(database.db);
      const { rows } = await sql\`select count(*)::int as n from kept\`.execute(database.db);
      const externalMb = Math.round(process.memoryUsage().external / 1048576);
      await database.close();
      console.log(JSON.stringify({ rows: rows[0].n, externalMb }));`;
    const run = async () => {
      const { stdout } = await promisify(execFile)(process.execPath, [
        '--input-type=module',
        '-e',
        script,
        dataDir,
      ]);
      return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as { rows: number; externalMb: number };
    };
    try {
      const first = await run();
      // initdb run in the server process grew its WebAssembly memory to ~460 MB; opened after
      // initdb ran elsewhere the database holds ~145 MB.
      expect(first).toMatchObject({ rows: 1 });
      expect(first.externalMb).toBeLessThan(250);
      await expect(fs.access(path.join(dataDir, 'PG_VERSION'))).resolves.toBeUndefined();
      expect(await run()).toMatchObject({ rows: 2 });
    } finally {
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
});
