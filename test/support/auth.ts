import type { Role } from '../../src/platform/http/auth.ts';
import type { TestSystem } from './system.ts';
import { moduleOf } from './system.ts';

export interface SignedInUser {
  id: string;
  email: string;
  role: Role;
  accessToken: string;
  refreshToken: string;
  /** `{ authorization: 'Bearer …' }` for `app.inject`. */
  headers: { authorization: string };
}

let sequence = 0;

/** The password of every user `signIn` creates. */
export const PASSWORD = 'correct horse battery staple';

/** Creates a user with the role through the identity module and signs in over HTTP. */
export async function signIn(
  system: TestSystem,
  role: Role = 'customer',
  email?: string,
): Promise<SignedInUser> {
  const identity = moduleOf(system, 'identity');
  const address = email ?? `${role}-${process.pid}-${++sequence}-${Date.now()}@example.test`;
  const password = PASSWORD;
  await identity.createUser({ email: address, password, name: `Test ${role}`, role });
  const response = await system.app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { email: address, password },
  });
  if (response.statusCode !== 200) throw new Error(`sign-in failed: ${response.statusCode} ${response.body}`);
  const body = response.json();
  return {
    id: body.user.id,
    email: address,
    role,
    accessToken: body.accessToken,
    refreshToken: body.refreshToken,
    headers: { authorization: `Bearer ${body.accessToken}` },
  };
}
