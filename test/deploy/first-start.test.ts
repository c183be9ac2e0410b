import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, killAll, runCli, START_TIMEOUT_MS, startCli } from './processes.ts';

/** `npm start` with nothing configured: the person starting it is told how to sign in to the console. */
describe('a first start with no admin configured (development)', () => {
  let dir: string;
  let port: number;
  const env = () => ({
    SEED_PRODUCTS: '0',
    DATABASE_URL: '',
    EMPORIUM_ADMIN_EMAIL: '',
    EMPORIUM_ADMIN_PASSWORD: '',
    NODE_ENV: 'development',
    DATA_DIR: dir,
  });
  const serve = () => startCli(['serve', '--port', String(port)], env(), 'Emporium is ready');
  const signIn = (email: string, password: string) =>
    fetch(`http://127.0.0.1:${port}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'emporium-first-start-'));
    port = await freePort();
  });

  afterAll(async () => {
    await killAll();
    await rm(dir, { recursive: true, force: true });
  });

  it(
    'makes an admin with a generated password, shown once in the ready line, and never again',
    async () => {
      const first = await serve();
      const shown = first.output().match(/console sign-in: (\S+) with password (\S+) \(shown this once/);
      expect(shown, first.output()).not.toBeNull();
      const [, email, password] = shown!;
      expect(password).toMatch(/^[\w-]{16}$/);
      const answer = await signIn(email, password);
      expect(answer.status).toBe(200);
      expect(((await answer.json()) as { user: object }).user).toMatchObject({
        email,
        role: 'admin',
        emailVerified: true,
      });
      first.child.kill('SIGKILL');
      await first.exited;

      // The next start finds the admin: no second account, no password printed, the first one works.
      const second = await serve();
      expect(second.output()).toContain('console sign-in: an existing admin');
      expect(second.output()).not.toContain('with password');
      expect((await signIn(email, password)).status).toBe(200);
      expect((await signIn(email, 'not the password')).status).toBe(401);
    },
    START_TIMEOUT_MS * 2,
  );

  it(
    'in production, refuses to start without a payment provider named: exit 2, naming the variable',
    async () => {
      const { code, output } = await runCli(['serve', '--port', String(port)], {
        ...env(),
        NODE_ENV: 'production',
        PAYMENTS_PROVIDER: '',
        PAYMENTS_URL: '',
      });
      expect(code).toBe(2);
      expect(output).toMatch(/PAYMENTS_PROVIDER is not set/);
      expect(output).not.toContain('Emporium is ready');
    },
    START_TIMEOUT_MS,
  );
});
