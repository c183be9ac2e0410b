import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { createTestSystem, moduleOf, type TestSystem } from '../../../test/support/system.ts';
import type { IdentityModule } from './index.ts';

const CLIENT = { remoteAddress: '198.51.100.7', headers: { 'user-agent': 'audit-test/1.0' } };

describe.each(dbKinds)('roles and the security audit log on %s', (kind) => {
  let system: TestSystem;
  let identity: IdentityModule;
  beforeAll(async () => {
    system = await createTestSystem(kind, {
      EMPORIUM_ADMIN_EMAIL: 'root@example.test',
      EMPORIUM_ADMIN_PASSWORD: 'admin-password-1',
    });
    identity = moduleOf(system, 'identity');
  });
  afterAll(() => system.dispose());

  const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
    system.app.inject({
      method: 'POST',
      url,
      payload,
      ...CLIENT,
      headers: { ...CLIENT.headers, ...headers },
    });
  const setRole = (id: string, role: unknown, headers: Record<string, string> = {}) =>
    system.app.inject({
      method: 'PATCH',
      url: `/v1/users/${id}/role`,
      payload: { role },
      ...CLIENT,
      headers: { ...CLIENT.headers, ...headers },
    });
  const trail = (userId: string) => identity.service.auditTrail({ userId });

  describe('PATCH /v1/users/{id}/role', () => {
    it('lets an admin promote a customer; the next refresh carries the new role', async () => {
      const admin = await signIn(system, 'admin');
      const customer = await signIn(system, 'customer');
      const response = await setRole(customer.id, 'staff', admin.headers);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ id: customer.id, role: 'staff', email: customer.email });

      const refreshed = await post('/v1/auth/refresh', { refreshToken: customer.refreshToken });
      expect(refreshed.json().user.role).toBe('staff');
      const payload = JSON.parse(
        Buffer.from(refreshed.json().accessToken.split('.')[1], 'base64url').toString(),
      );
      expect(payload.role).toBe('staff');
    });

    it('answers 401 to anonymous callers and 403 to customers and staff', async () => {
      const target = await signIn(system, 'customer');
      expect((await setRole(target.id, 'admin')).statusCode).toBe(401);
      for (const role of ['customer', 'staff'] as const) {
        const caller = await signIn(system, role);
        const response = await setRole(target.id, 'admin', caller.headers);
        expect(response.statusCode).toBe(403);
        expect(response.json().code).toBe('FORBIDDEN');
      }
      // Not even a customer promoting themselves.
      expect((await setRole(target.id, 'admin', target.headers)).statusCode).toBe(403);
      expect(
        (await system.app.inject({ method: 'GET', url: '/v1/users/me', headers: target.headers })).json()
          .role,
      ).toBe('customer');
    });

    it('answers 404 for an unknown user, 400 for an unknown role, 409 for the own role', async () => {
      const admin = await signIn(system, 'admin');
      expect((await setRole('0190a4c2-0000-7000-8000-000000000000', 'staff', admin.headers)).statusCode).toBe(
        404,
      );
      const target = await signIn(system);
      expect((await setRole(target.id, 'root', admin.headers)).statusCode).toBe(400);
      const own = await setRole(admin.id, 'customer', admin.headers);
      expect(own.statusCode).toBe(409);
      expect(own.json().code).toBe('OWN_ROLE');
    });
  });

  describe('security audit log', () => {
    const expectClient = (row: { ip: string | null; userAgent: string | null; at: Date }) => {
      expect(row.ip).toBe('198.51.100.7');
      expect(row.userAgent).toBe('audit-test/1.0');
      expect(row.at).toBeInstanceOf(Date);
      expect(Date.now() - row.at.getTime()).toBeLessThan(60_000);
    };

    it('records sign-in success and failure, refresh-token reuse and logout with who, where and when', async () => {
      const email = `audited-${Date.now()}@example.test`;
      const registered = await post('/v1/auth/register', {
        email,
        password: 'the right one',
        name: 'Audited',
      });
      const userId = registered.json().user.id;
      expect((await post('/v1/auth/login', { email, password: 'the wrong one' })).statusCode).toBe(401);
      const login = (await post('/v1/auth/login', { email, password: 'the right one' })).json();
      const rotated = (await post('/v1/auth/refresh', { refreshToken: login.refreshToken })).json();
      expect((await post('/v1/auth/refresh', { refreshToken: login.refreshToken })).statusCode).toBe(401);
      const other = (await post('/v1/auth/login', { email, password: 'the right one' })).json();
      expect(
        (
          await post(
            '/v1/auth/logout',
            { refreshToken: other.refreshToken },
            { authorization: `Bearer ${rotated.accessToken}` },
          )
        ).statusCode,
      ).toBe(204);

      const rows = await trail(userId);
      expect(rows.map((row) => row.event)).toEqual([
        'user.registered',
        'login.failed',
        'login.succeeded',
        'refresh.reused',
        'login.succeeded',
        'logout',
      ]);
      for (const row of rows) {
        expect(row.userId).toBe(userId);
        expectClient(row);
      }
      expect(rows[1].email).toBe(email);
    });

    it('records failures for unknown emails by the email tried', async () => {
      const email = `nobody-${Date.now()}@example.test`;
      await post('/v1/auth/login', { email, password: 'whatever it is' });
      const rows = await identity.service.auditTrail({ email });
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ event: 'login.failed', userId: null, email });
      expectClient(rows[0]);
    });

    it('records role changes with the old and new role and the admin who made them', async () => {
      const admin = await signIn(system, 'admin');
      const customer = await signIn(system, 'customer');
      await setRole(customer.id, 'staff', admin.headers);
      const change = (await trail(customer.id)).find((row) => row.event === 'role.changed');
      expect(change?.detail).toEqual({ from: 'customer', to: 'staff', by: admin.id });
      expectClient(change!);
    });

    it('records the admin bootstrap with the admin user id and time', async () => {
      const login = await post('/v1/auth/login', {
        email: 'root@example.test',
        password: 'admin-password-1',
      });
      const adminId = login.json().user.id;
      const bootstrap = (await trail(adminId)).find((row) => row.event === 'admin.bootstrap');
      expect(bootstrap).toMatchObject({
        userId: adminId,
        email: 'root@example.test',
        detail: { created: true },
      });
      expect(bootstrap!.at).toBeInstanceOf(Date);
      // Started by the process, not by a request: no address or user agent to record.
      expect(bootstrap!.ip).toBeNull();
    });

    it("serves a user's events to admins only, newest first, paged", async () => {
      const admin = await signIn(system, 'admin');
      const customer = await signIn(system, 'customer');
      await setRole(customer.id, 'staff', admin.headers);
      const url = `/v1/users/${customer.id}/security-events?size=1`;
      const page = await system.app.inject({ method: 'GET', url, headers: admin.headers });
      expect(page.statusCode).toBe(200);
      expect(page.json()).toMatchObject({ page: 1, size: 1, total: 2 });
      expect(page.json().items).toEqual([
        expect.objectContaining({ event: 'role.changed', ip: '198.51.100.7', userAgent: 'audit-test/1.0' }),
      ]);
      // The role change revoked the customer's old token; signed in again as staff, still not admin.
      const stale = await system.app.inject({ method: 'GET', url, headers: customer.headers });
      expect(stale.statusCode).toBe(401);
      expect(stale.json().code).toBe('TOKEN_REVOKED');
      const asStaff = await system.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: customer.email, password: 'correct horse battery staple' },
      });
      const staffHeaders = { authorization: `Bearer ${asStaff.json().accessToken}` };
      expect((await system.app.inject({ method: 'GET', url, headers: staffHeaders })).statusCode).toBe(403);
      expect((await system.app.inject({ method: 'GET', url })).statusCode).toBe(401);
      const unknown = `/v1/users/0190a4c2-0000-7000-8000-000000000000/security-events`;
      expect(
        (await system.app.inject({ method: 'GET', url: unknown, headers: admin.headers })).statusCode,
      ).toBe(404);
    });
  });
});
