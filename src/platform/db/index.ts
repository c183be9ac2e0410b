import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import {
  type Dialect,
  Kysely,
  PostgresAdapter,
  PostgresDialect,
  PostgresIntrospector,
  type PostgresPool,
  type PostgresPoolClient,
  PostgresQueryCompiler,
  sql,
  type Transaction,
} from 'kysely';
import pg from 'pg';
import { PGliteDriver } from './pglite-driver.ts';
import { ensureCluster, PGLITE_START_PARAMS } from './pglite-initdb.ts';
import { SignalDriver } from './signal-driver.ts';

export { MIGRATIONS_DIR, MigrationChecksumError, type MigrationReport, migrate } from './migrate.ts';
export { type PageOrder, pageOf } from './paging.ts';

// biome-ignore lint/complexity/noBannedTypes: the platform knows no tables; modules add theirs with `db.withTables<T>()`.
type NoTables = {};
export type Db = Kysely<NoTables>;
export type Tx = Transaction<NoTables>;

export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** Resolves when the database answers within `timeoutMs`; rejects otherwise. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres:// URL; when absent the embedded PGlite is used. */
  url?: string;
  /** PGlite data directory; absent means in memory. */
  dataDir?: string;
  poolSize?: number;
  /** Told when a pooled client fails while idle (a server restart); the pool replaces it. */
  onIdleError?: (error: unknown) => void;
}

// pg returns int8 and numeric as strings by default; counts and sums here fit in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** Distinct statements named at most; beyond this they run unnamed (no server memory per text). */
const MAX_NAMED_STATEMENTS = 500;

/**
 * Sends every parameterised statement as a named prepared statement, so PostgreSQL parses and
 * analyses each distinct statement once per connection instead of on every execution (a checkout
 * runs about twenty). Statements without parameters keep the simple protocol: transaction
 * control, and migrations that hold several commands in one text.
 */
function preparedStatements(pool: pg.Pool): PostgresPool {
  const names = new Map<string, string>();
  const nameOf = (text: string): string | undefined => {
    let name = names.get(text);
    if (name === undefined && names.size < MAX_NAMED_STATEMENTS) {
      name = `emporium_${names.size}`;
      names.set(text, name);
    }
    return name;
  };
  return {
    async connect() {
      const client = await pool.connect();
      // Kysely only calls query(text, values); cursors (its other overload) are not used here.
      const prepared = {
        query(text: string, values: readonly unknown[]) {
          const name = values.length > 0 ? nameOf(text) : undefined;
          return name ? client.query({ name, text, values: [...values] }) : client.query(text, [...values]);
        },
        release: (error?: Error | boolean) => client.release(error),
      };
      return prepared as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      // Also bounds the wait for a free client when the pool is busy; the request deadline is the real limit.
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
    });
    // A pooled client can fail while idle (server restart); without a listener that kills the process.
    pool.on('error', options.onIdleError ?? (() => {}));
    const db = new Kysely<NoTables>({
      dialect: signalAware(new PostgresDialect({ pool: preparedStatements(pool) })),
    });
    return { db, kind: 'postgres', ping: (timeoutMs) => ping(db, timeoutMs), close: () => db.destroy() };
  }
  if (options.dataDir) await ensureCluster(options.dataDir);
  const pglite = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    startParams: PGLITE_START_PARAMS,
    // The extensions the migrations create, as PostgreSQL's contrib package has them.
    extensions: { pg_trgm },
  });
  const driver = new PGliteDriver(pglite);
  const db = new Kysely<NoTables>({
    dialect: signalAware({
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => driver,
      createIntrospector: (kysely) => new PostgresIntrospector(kysely),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    }),
  });
  return { db, kind: 'pglite', ping: (timeoutMs) => ping(db, timeoutMs), close: () => db.destroy() };
}

function signalAware(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createDriver: () => new SignalDriver(dialect.createDriver()),
    createIntrospector: (kysely) => dialect.createIntrospector(kysely),
    createQueryCompiler: () => dialect.createQueryCompiler(),
  };
}

async function ping(db: Db, timeoutMs = 2000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`database did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([sql`select 1`.execute(db), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A json or jsonb value as read: PGlite may hand it over as text, node-postgres parses it. */
export function jsonValue<T>(value: T | string): T {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}

const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);

/** Callbacks waiting for the commit of a transaction `transact` opened, by its transaction object. */
const commitCallbacks = new WeakMap<object, Array<() => void>>();

/**
 * Runs `callback` once the transaction `executor` belongs to has committed (never if it rolls
 * back); outside a transaction opened by `transact`, at once. For telling other processes about a
 * change: told before the commit they could read, and cache, what it replaces.
 */
export function afterCommit(executor: Db, callback: () => void): void {
  const callbacks = commitCallbacks.get(executor);
  if (callbacks) callbacks.push(callback);
  else callback();
}

/**
 * Runs `work` in one transaction, retrying a few times when PostgreSQL aborts it for a
 * serialization failure or deadlock — the two errors that mean "try again", not "you are wrong".
 */
export async function transact<T>(
  db: Db,
  work: (tx: Tx) => Promise<T>,
  options: { isolation?: 'read committed' | 'repeatable read' | 'serializable'; attempts?: number } = {},
): Promise<T> {
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    // Each attempt collects its own: an aborted attempt's callbacks are dropped with it.
    const committed: Array<() => void> = [];
    let result: T;
    try {
      const builder = options.isolation
        ? db.transaction().setIsolationLevel(options.isolation)
        : db.transaction();
      result = await builder.execute((tx) => {
        commitCallbacks.set(tx, committed);
        return work(tx);
      });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= attempts || !code || !RETRYABLE_SQLSTATES.has(code)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** attempt));
      continue;
    }
    for (const callback of committed) callback();
    return result;
  }
}
