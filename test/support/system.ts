import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Config, loadConfig } from '../../src/config.ts';
import type { ModuleRegistry } from '../../src/modules/index.ts';
import { createLogger } from '../../src/platform/observability/logger.ts';
import { createSystem, prepareShop, type System, type SystemOptions } from '../../src/system.ts';
import { createTestDatabase, type DbKind, type TestDatabase } from './db.ts';

export interface TestSystem extends System {
  testDb: TestDatabase;
  dispose(): Promise<void>;
}

/** The whole application on a fresh database, not listening: drive it with `app.inject`. */
export async function createTestSystem(
  kind: DbKind,
  env: Record<string, string> = {},
  overrides: Partial<Config> = {},
  options: Pick<SystemOptions, 'spanExporter'> & {
    /** Collects every log line (as parsed JSON) instead of writing it anywhere. */
    logLines?: Array<{ level: number; msg?: string }>;
    /** Another system's database (a second instance, or a restart); its owner disposes of it. */
    database?: TestDatabase;
  } = {},
): Promise<TestSystem> {
  const shared = options.database;
  const testDb = shared ?? (await createTestDatabase(kind));
  // Files the system writes (e.g. mail from the file transport) go to a directory of its own.
  const dataDir = env.DATA_DIR ? undefined : await mkdtemp(path.join(tmpdir(), 'emporium-test-'));
  // Cheap password hashing keeps tests that sign in many users fast; the algorithm is unchanged.
  const config = {
    ...loadConfig({
      LOG_LEVEL: 'silent',
      SEED_PRODUCTS: '0',
      ARGON2_MEMORY_KIB: '1024',
      ARGON2_TIME_COST: '1',
      ...(dataDir ? { DATA_DIR: dataDir } : {}),
      // Tests sign in many users from one address; tests of the login limit set their own.
      LOGIN_LIMIT_PER_MINUTE: '100000',
      REGISTER_LIMIT_PER_MINUTE: '100000',
      GUEST_CART_LIMIT_PER_MINUTE: '100000',
      ...env,
    }),
    ...overrides,
  };
  const { logLines, database: _shared, ...systemOptions } = options;
  const destination = logLines && { write: (line: string) => void logLines.push(JSON.parse(line)) };
  const system = await createSystem(config, createLogger(config.logLevel, destination), {
    database: testDb,
    skipMigrations: true,
    ...systemOptions,
  }).catch(async (error: unknown) => {
    if (!shared) await testDb.dispose();
    throw error;
  });
  // As `serve` does before it listens: the configured admin, the demo shop on an empty database.
  await prepareShop(system);
  return {
    ...system,
    testDb,
    async dispose() {
      await system.close();
      if (!shared) await testDb.dispose();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A module of the system by name, typed as its public interface (a wrong name does not compile). */
export function moduleOf<K extends keyof ModuleRegistry>(
  system: Pick<System, 'registry' | 'config'>,
  name: K,
): NonNullable<ModuleRegistry[K]> {
  const module = system.registry[name];
  if (!module) throw new Error(`the ${system.config.role} role does not build the ${name} module`);
  return module;
}
