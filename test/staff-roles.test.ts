import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_PERMISSIONS, type Permission } from '../src/platform/http/auth.ts';
import { PASSWORD, type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { mailedLinks } from './support/mail.ts';
import { createProduct } from './support/shop.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

// In the order every answer lists permissions (PERMISSIONS').
const WAREHOUSE: Permission[] = ['orders:read', 'orders:write', 'inventory:read', 'inventory:write'];

/**
 * Roles are sets of permissions: admins make roles ("warehouse") and invite staff by email, every
 * staff route checks a permission (the matrix walks the whole OpenAPI document with each role),
 * a role's change reaches its holders on their next request, and nobody hands on more than they hold.
 */
describe.each(dbKinds)('staff roles and invitations on %s', (kind) => {
  let system: TestSystem;
  let dataDir: string;
  let admin: SignedInUser;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'emporium-staff-'));
    system = await createTestSystem(kind, { DATA_DIR: dataDir, PUBLIC_URL: 'https://shop.example.test' });
    await system.startWorkers();
    admin = await signIn(system, 'admin');
    const made = await call(admin, 'POST', '/v1/roles', {
      name: 'warehouse',
      description: 'Stock and shipping',
      permissions: WAREHOUSE,
    });
    expect(made.statusCode).toBe(201);
  });
  afterAll(async () => {
    await system.dispose();
    await rm(dataDir, { recursive: true, force: true });
  });

  const LINK = /https:\/\/shop\.example\.test\/admin\/invite\?token=[\w%-]+/;
  const tokenOf = (link: string) => decodeURIComponent(new URL(link).searchParams.get('token')!);
  const fresh = () => `invited-${randomUUID().slice(0, 8)}@example.test`;
  function call(
    user: { headers: Record<string, string> } | undefined,
    method: string,
    url: string,
    payload?: object,
  ) {
    return system.app.inject({ method: method as 'GET', url, headers: user?.headers, payload });
  }
  const headersOf = (accessToken: string) => ({ headers: { authorization: `Bearer ${accessToken}` } });

  async function invite(by: SignedInUser, email: string, role: string) {
    const response = await call(by, 'POST', '/v1/staff/invites', { email, role });
    expect(response.statusCode, response.body).toBe(201);
    const [link] = await mailedLinks(dataDir, 'staff_invite', email.toLowerCase(), LINK);
    return { id: response.json().id as string, token: tokenOf(link) };
  }

  it('an admin makes a warehouse role and invites someone, who joins by the link with exactly its rights', async () => {
    const email = fresh();
    const { token } = await invite(admin, email.toUpperCase(), 'warehouse');
    const pending = (await call(admin, 'GET', '/v1/staff/invites')).json().items;
    expect(pending).toContainEqual(
      expect.objectContaining({ email, role: 'warehouse', invitedBy: admin.id }),
    );

    const accept = (payload: object) => call(undefined, 'POST', '/v1/staff/invites/accept', payload);
    expect((await accept({ token, name: 'Wendy', password: 'short' })).json()).toMatchObject({
      code: 'PASSWORD_TOO_SHORT',
    });
    const joined = await accept({ token, name: 'Wendy', password: PASSWORD });
    expect(joined.statusCode, joined.body).toBe(200);
    expect(joined.json().user).toMatchObject({
      email,
      name: 'Wendy',
      role: 'warehouse',
      emailVerified: true,
      permissions: WAREHOUSE,
    });
    expect((await accept({ token, name: 'Again', password: PASSWORD })).json()).toMatchObject({
      code: 'TOKEN_INVALID',
    });
    expect((await call(admin, 'GET', '/v1/staff/invites')).json().items).not.toContainEqual(
      expect.objectContaining({ email }),
    );

    const wendy = headersOf(joined.json().accessToken);
    const product = await createProduct(system, admin, { stock: 5 });
    const adjust = () =>
      call(wendy, 'POST', `/v1/inventory/${product.sku}/adjustments`, { delta: 2, reason: 'found a box' });
    expect((await adjust()).statusCode).toBeLessThan(300);
    expect((await call(wendy, 'GET', '/v1/orders')).statusCode).toBe(200);
    const refused = await call(wendy, 'POST', '/v1/products', { name: 'Not mine to make' });
    expect(refused.json()).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect(refused.json().detail).toBe(
      'Your role (warehouse) does not allow this: it needs the permission catalog:write',
    );
    expect((await call(wendy, 'GET', '/v1/customers')).statusCode).toBe(403);
    expect((await call(wendy, 'GET', '/v1/users/me')).json().permissions).toEqual(WAREHOUSE);

    const staff = (await call(admin, 'GET', '/v1/staff')).json().items;
    expect(staff).toContainEqual(expect.objectContaining({ email, role: 'warehouse' }));
    const roles = (await call(admin, 'GET', '/v1/roles')).json().items;
    expect(roles.map((role: { name: string }) => role.name)).toEqual([
      'customer',
      'staff',
      'admin',
      'warehouse',
    ]);
    expect(roles.find((role: { name: string }) => role.name === 'warehouse')).toMatchObject({
      members: 1,
      builtIn: false,
      permissions: WAREHOUSE,
    });
    expect(roles.find((role: { name: string }) => role.name === 'admin').permissions).toContain(
      'staff:write',
    );

    // Taking a permission from the role stops its holders on their next request, same token.
    const narrowed = await call(admin, 'PATCH', '/v1/roles/warehouse', {
      permissions: ['inventory:read', 'orders:read'],
    });
    expect(narrowed.json().permissions).toEqual(['orders:read', 'inventory:read']);
    expect((await adjust()).statusCode).toBe(403);
    await call(admin, 'PATCH', '/v1/roles/warehouse', { permissions: WAREHOUSE });
    expect((await adjust()).statusCode).toBeLessThan(300);
  });

  it('keeps the built-in roles as they are, and a role while anyone holds it', async () => {
    expect((await call(admin, 'PATCH', '/v1/roles/staff', { permissions: [] })).json()).toMatchObject({
      status: 409,
      code: 'ROLE_BUILT_IN',
    });
    expect((await call(admin, 'DELETE', '/v1/roles/admin')).json().code).toBe('ROLE_BUILT_IN');
    expect((await call(admin, 'POST', '/v1/roles', { name: 'warehouse', permissions: [] })).json().code).toBe(
      'ROLE_EXISTS',
    );
    expect((await call(admin, 'POST', '/v1/roles', { name: 'Bad Name!', permissions: [] })).json().code).toBe(
      'INVALID_ROLE',
    );
    expect(
      (await call(admin, 'POST', '/v1/roles', { name: 'x-ray', permissions: ['everything'] })).statusCode,
    ).toBe(400);

    expect(
      (await call(admin, 'POST', '/v1/roles', { name: 'seasonal', permissions: ['catalog:read'] }))
        .statusCode,
    ).toBe(201);
    const temp = await signIn(system, 'seasonal');
    expect((await call(admin, 'DELETE', '/v1/roles/seasonal')).json()).toMatchObject({
      status: 409,
      code: 'ROLE_IN_USE',
    });
    const unknown = await call(admin, 'PATCH', `/v1/users/${temp.id}/role`, { role: 'nonexistent' });
    expect(unknown.json()).toMatchObject({ status: 400, code: 'INVALID_ROLE' });
    expect((await call(admin, 'PATCH', `/v1/users/${temp.id}/role`, { role: 'customer' })).statusCode).toBe(
      200,
    );
    expect((await call(admin, 'DELETE', '/v1/roles/seasonal')).statusCode).toBe(204);
    expect(
      (await call(admin, 'GET', '/v1/roles')).json().items.map((role: { name: string }) => role.name),
    ).not.toContain('seasonal');
  });

  it('lets nobody hand on more than they hold: roles, invitations, role changes and keys', async () => {
    await call(admin, 'POST', '/v1/roles', {
      name: 'people-lead',
      permissions: ['staff:read', 'staff:write', 'inventory:read'],
    });
    const lead = await signIn(system, 'people-lead');
    const notHeld = { status: 403, code: 'PERMISSION_NOT_HELD' };
    expect(
      (await call(lead, 'POST', '/v1/roles', { name: 'sneaky', permissions: ['catalog:write'] })).json(),
    ).toMatchObject(notHeld);
    expect(
      (await call(lead, 'POST', '/v1/staff/invites', { email: fresh(), role: 'admin' })).json(),
    ).toMatchObject(notHeld);
    expect(
      (await call(lead, 'PATCH', `/v1/users/${admin.id}/role`, { role: 'customer' })).json(),
    ).toMatchObject(notHeld);
    expect(
      (await call(lead, 'POST', '/v1/api-keys', { name: 'x', scopes: ['catalog:read'] })).json(),
    ).toMatchObject(notHeld);
    expect((await call(lead, 'PATCH', '/v1/roles/warehouse', { description: 'mine now' })).statusCode).toBe(
      200,
    );
    expect(
      (await call(lead, 'PATCH', '/v1/roles/warehouse', { permissions: ['inventory:read'] })).json(),
    ).toMatchObject(notHeld);
    // Within what they hold, they manage freely.
    expect(
      (await call(lead, 'POST', '/v1/roles', { name: 'stock-viewer', permissions: ['inventory:read'] }))
        .statusCode,
    ).toBe(201);
    const customer = await signIn(system);
    expect(
      (await call(lead, 'PATCH', `/v1/users/${customer.id}/role`, { role: 'stock-viewer' })).json(),
    ).toMatchObject({
      role: 'stock-viewer',
    });
    expect((await call(lead, 'PATCH', `/v1/users/${lead.id}/role`, { role: 'customer' })).json().code).toBe(
      'OWN_ROLE',
    );
    expect(
      (await call(lead, 'POST', '/v1/staff/invites', { email: fresh(), role: 'customer' })).json().code,
    ).toBe('INVALID_ROLE');
  });

  it('an existing account accepts with its password, and its old sessions end', async () => {
    const customer = await signIn(system);
    const { token } = await invite(admin, customer.email, 'staff');
    const accept = (password: string) =>
      call(undefined, 'POST', '/v1/staff/invites/accept', { token, password });
    expect((await accept('not the password')).statusCode).toBe(401);
    const joined = await accept(PASSWORD);
    expect(joined.statusCode, joined.body).toBe(200);
    expect(joined.json().user).toMatchObject({ id: customer.id, role: 'staff' });
    expect((await call(customer, 'GET', '/v1/users/me')).json().code).toBe('TOKEN_REVOKED');
    expect((await call(headersOf(joined.json().accessToken), 'GET', '/v1/customers')).statusCode).toBe(200);
  });

  it('a withdrawn invitation, or one mailed again, leaves the older link worthless', async () => {
    const email = fresh();
    const { id, token } = await invite(admin, email, 'warehouse');
    expect((await call(admin, 'DELETE', `/v1/staff/invites/${id}`)).statusCode).toBe(204);
    expect((await call(admin, 'DELETE', `/v1/staff/invites/${id}`)).statusCode).toBe(404);
    const accepted = await call(undefined, 'POST', '/v1/staff/invites/accept', {
      token,
      name: 'Late',
      password: PASSWORD,
    });
    expect(accepted.json()).toMatchObject({ status: 400, code: 'TOKEN_INVALID' });
    expect(
      (
        await system.app.inject({
          method: 'POST',
          url: '/v1/auth/login',
          payload: { email, password: PASSWORD },
        })
      ).statusCode,
    ).toBe(401);
  });

  it('every operation of the API answers each role by the permission it documents', async () => {
    const document = (await system.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, { security?: Array<Record<string, string[]>> }>>;
    };
    const people = {
      customer: await signIn(system, 'customer'),
      staff: await signIn(system, 'staff'),
      admin: await signIn(system, 'admin'),
      warehouse: await signIn(system, 'warehouse'),
    };
    const permissionsOf = { ...BUILT_IN_PERMISSIONS, warehouse: WAREHOUSE };
    let checked = 0;
    for (const [template, operations] of Object.entries(document.paths)) {
      if (template === '/v1/stream') continue;
      const url = template.replace(/\{[^}]+\}/g, randomUUID());
      for (const [method, operation] of Object.entries(operations)) {
        const needed = operation.security?.find((requirement) => 'bearer' in requirement)?.bearer[0];
        if (!needed) continue;
        for (const [role, user] of Object.entries(people)) {
          const verb = method.toUpperCase();
          const answer = await call(user, verb, url, verb === 'GET' ? undefined : {});
          const allowed = (permissionsOf[role as keyof typeof permissionsOf] as readonly string[]).includes(
            needed,
          );
          const what = `${verb} ${template} as ${role} (needs ${needed})`;
          if (allowed) expect([401, 403], what).not.toContain(answer.statusCode);
          else expect(answer.statusCode, what).toBe(403);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(200);
  });
});
