import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type DbKind, dbKinds, type TestDatabase } from '../../../test/support/db.ts';
import { loadConfig } from '../../config.ts';
import { createLogger } from '../../platform/observability/logger.ts';
import { createSystem, type SystemOptions } from '../../system.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../../..');
const NODE = path.join(root, 'node_modules/.bin/node');
// Each CLI run starts Node and opens (and on first use migrates) a database: seconds, not millis.
const SLOW = 180_000;

/** Runs the real CLI in a child process; resolves with its exit code and output, never rejects. */
async function cli(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(NODE, ['src/main.ts', ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', SEED_PRODUCTS: '0', ...env },
      timeout: 90_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe.each(dbKinds)('emporium users create on %s', (kind: DbKind) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  /** Where the CLI should write: a temp DATA_DIR (PGlite) or a fresh PostgreSQL database. */
  async function target(): Promise<{ env: Record<string, string>; options: SystemOptions }> {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'emporium-cli-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    if (kind === 'pglite') return { env: { DATA_DIR: dataDir }, options: {} };
    const database: TestDatabase = await createTestDatabase('postgres', { migrate: false });
    cleanups.push(() => database.dispose());
    return { env: { DATA_DIR: dataDir, DATABASE_URL: database.url! }, options: { database } };
  }

  it(
    'creates a staff user who can then sign in',
    async () => {
      const { env, options } = await target();
      const created = await cli(
        [
          'users',
          'create',
          '--email',
          'Staff@Example.test',
          '--password',
          'staff-password',
          '--role',
          'staff',
        ],
        env,
      );
      expect(created.stderr).not.toContain('emporium:');
      expect(created.code).toBe(0);
      expect(created.stdout).toMatch(/^created user [0-9a-f-]{36} \(Staff@Example.test, staff\)\n$/);

      const config = loadConfig({ ...env, LOG_LEVEL: 'silent', SEED_PRODUCTS: '0' });
      const system = await createSystem(config, createLogger('silent'), options);
      try {
        const login = await system.app.inject({
          method: 'POST',
          url: '/v1/auth/login',
          payload: { email: 'staff@example.test', password: 'staff-password' },
        });
        expect(login.statusCode).toBe(200);
        expect(login.json().user).toMatchObject({ email: 'staff@example.test', role: 'staff' });
      } finally {
        await system.close();
      }

      const again = await cli(
        ['users', 'create', '--email', 'staff@example.test', '--password', 'other-password'],
        env,
      );
      expect(again.code).toBe(2);
      expect(again.stderr).toContain('cannot create the user: An account with this email exists');
    },
    SLOW,
  );

  it(
    'refuses an unknown role and a short password with a plain message',
    async () => {
      const { env } = await target();
      const role = await cli(
        ['users', 'create', '--email', 'a@example.test', '--password', 'long enough', '--role', 'root'],
        env,
      );
      expect(role.code).toBe(2);
      expect(role.stderr).toContain('There is no role named');
      expect(role.stderr).not.toContain('    at ');
      const short = await cli(['users', 'create', '--email', 'a@example.test', '--password', 'short'], env);
      expect(short.code).toBe(2);
      expect(short.stderr).toContain('at least 8 characters');
    },
    SLOW,
  );
});

describe('emporium --help', () => {
  it(
    'explains the commands and the users options without touching a database',
    async () => {
      const main = await cli(['--help'], {});
      expect(main.code).toBe(0);
      expect(main.stdout).toContain('users create');
      const users = await cli(['users', '--help'], {});
      expect(users.code).toBe(0);
      expect(users.stdout).toContain('--role customer|staff|admin');
      const missing = await cli(['users', 'create'], {});
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('--email and --password are required');
    },
    SLOW,
  );
});
