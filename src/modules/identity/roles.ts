import type { Cache } from '../../platform/cache/index.ts';
import type { Db } from '../../platform/db/index.ts';
import { badRequest, conflict, forbidden, notFound } from '../../platform/errors.ts';
import {
  BUILT_IN_PERMISSIONS,
  BUILT_IN_ROLES,
  isBuiltInRole,
  PERMISSIONS,
  type Permission,
  type Principal,
} from '../../platform/http/auth.ts';
import { roleStore as store, textArray } from './store.ts';

/** A role as admins see it: what it allows, and how many accounts hold it. */
export interface RoleView {
  name: string;
  description: string;
  permissions: Permission[];
  builtIn: boolean;
  members: number;
}

/** How long an instance may serve a made role's permissions without asking the database. */
const PERMISSIONS_TTL_MS = 30_000;

/**
 * Refuses to hand on a permission the giver does not hold: whoever may manage staff still cannot
 * make a role, a key or an invitation worth more than themselves.
 */
export function assertHeld(by: Principal, permissions: readonly string[], what: string): void {
  const missing = permissions.filter((permission) => !by.permissions.includes(permission as Permission));
  if (missing.length > 0)
    throw forbidden(
      `You cannot ${what} a permission you do not hold yourself (${missing.join(', ')})`,
      'PERMISSION_NOT_HELD',
    );
}

const known = (permissions: unknown): Permission[] =>
  textArray(permissions).filter((permission): permission is Permission =>
    (PERMISSIONS as readonly string[]).includes(permission),
  );

const ROLE_NAME = /^[a-z][a-z0-9-]{1,31}$/;

/**
 * Roles as named sets of permissions. The built-in ones are constants (no lookup on the hot
 * path); a made role's permissions are read through `cache` (one every instance sees alike), and
 * a change is written there after its commit, so it reaches every instance within a request.
 */
export function createRoles(db: Db, cache: Cache | undefined) {
  const key = (name: string) => `role-permissions:${name}`;

  async function permissionsOf(role: string): Promise<readonly Permission[]> {
    if (isBuiltInRole(role)) return BUILT_IN_PERMISSIONS[role];
    const cached = await cache?.get(key(role)).catch(() => undefined);
    if (cached !== undefined) return JSON.parse(cached) as Permission[];
    const row = await store.find(db, role);
    const permissions = row ? known(row.permissions) : [];
    await cache?.add(key(role), JSON.stringify(permissions), PERMISSIONS_TTL_MS).catch(() => {});
    return permissions;
  }

  /** Publishes a change just committed; rejects when the cache cannot be told (as token versions do). */
  const changed = (name: string, permissions: readonly Permission[]) =>
    cache?.set(key(name), JSON.stringify(permissions), PERMISSIONS_TTL_MS);

  const view = (row: Awaited<ReturnType<typeof store.list>>[number]): RoleView => ({
    name: row.name,
    description: row.description,
    permissions: isBuiltInRole(row.name) ? [...BUILT_IN_PERMISSIONS[row.name]] : known(row.permissions),
    builtIn: row.builtIn,
    members: row.members,
  });

  const sorted = (permissions: readonly Permission[]) =>
    PERMISSIONS.filter((permission) => permissions.includes(permission));

  async function find(name: string): Promise<RoleView> {
    const role = (await store.list(db)).find((row) => row.name === name);
    if (!role) throw notFound('Role');
    return view(role);
  }

  return {
    permissionsOf,

    /** Whether a role of that name exists (an account may only be given one that does). */
    exists: async (name: string) => isBuiltInRole(name) || !!(await store.find(db, name)),

    /** Built-in roles first, from least to most allowed; then made ones, oldest first. */
    list: async (): Promise<RoleView[]> => {
      const rank = (name: string) =>
        isBuiltInRole(name) ? BUILT_IN_ROLES.indexOf(name) : BUILT_IN_ROLES.length;
      const rows = await store.list(db);
      return rows.map(view).sort((a, b) => rank(a.name) - rank(b.name));
    },

    find,

    async create(
      by: Principal,
      input: { name: string; description?: string; permissions: Permission[] },
    ): Promise<RoleView> {
      const name = input.name.trim().toLowerCase();
      if (!ROLE_NAME.test(name))
        throw badRequest(
          'INVALID_ROLE',
          'A role name is 2 to 32 lowercase letters, digits or hyphens, starting with a letter',
        );
      assertHeld(by, input.permissions, 'give a role');
      const permissions = sorted(input.permissions);
      if (!(await store.insert(db, { name, description: input.description?.trim() ?? '', permissions })))
        throw conflict('ROLE_EXISTS', `There is already a role named ${name}`);
      await changed(name, permissions);
      return find(name);
    },

    async update(
      by: Principal,
      name: string,
      change: { description?: string; permissions?: Permission[] },
    ): Promise<RoleView> {
      if (isBuiltInRole(name))
        throw conflict(
          'ROLE_BUILT_IN',
          `The ${name} role is built in: make a new role to change what it allows`,
        );
      const before = await find(name);
      // Both what is added and what is taken away: a role worth more than its editor stays out of reach.
      if (change.permissions)
        assertHeld(by, [...before.permissions, ...change.permissions], 'change a role with');
      const permissions = change.permissions && sorted(change.permissions);
      if (!(await store.update(db, name, { description: change.description?.trim(), permissions })))
        throw notFound('Role');
      if (permissions) await changed(name, permissions);
      return find(name);
    },

    async remove(by: Principal, name: string): Promise<void> {
      if (isBuiltInRole(name)) throw conflict('ROLE_BUILT_IN', `The ${name} role is built in and stays`);
      assertHeld(by, (await find(name)).permissions, 'remove a role with');
      const outcome = await store.delete(db, name);
      if (outcome === 'in_use')
        throw conflict(
          'ROLE_IN_USE',
          `Some people hold the ${name} role or are invited to it: give them another role first`,
        );
      if (outcome === 'missing') throw notFound('Role');
      await changed(name, []);
    },
  };
}

export type Roles = ReturnType<typeof createRoles>;
