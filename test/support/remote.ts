import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';

/** A JSON request to a server running in another process (tests of several real processes). */
export async function callServer(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const response = await fetch(base + path, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** Registers a new customer through the server at `base`. */
export async function signUpAt(base: string, domain: string) {
  const registered = await callServer(base, 'POST', '/v1/auth/register', {
    email: `buyer-${randomUUID()}@${domain}`,
    password: 'long enough password',
    name: 'Buyer',
  });
  expect(registered.status).toBe(201);
  const token = registered.body.accessToken as string;
  return { id: registered.body.user.id as string, token, authorization: `Bearer ${token}` };
}
