import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as client from 'openid-client';
import type { OidcProviderConfig } from '../../config.ts';
import { currentSignal } from '../../platform/context.ts';
import type { Db } from '../../platform/db/index.ts';
import { notFound } from '../../platform/errors.ts';
import { oidcProviderUnavailable, oidcSignInFailed } from './errors.ts';
import { identityStore as store } from './store.ts';

/** How long a user has to come back from the provider. */
const LOGIN_REQUEST_TTL_MS = 10 * 60_000;
const PROVIDER_TIMEOUT_SECONDS = 10;

/** What a provider vouched for, from a verified ID token. */
export interface OidcIdentity {
  provider: string;
  subject: string;
  email?: string;
  emailVerified: boolean;
  name?: string;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest();

/** The cookie that binds a sign-in attempt to the browser that started it. */
export const BROWSER_BINDING_COOKIE = 'emporium_oidc';
export const LOGIN_REQUEST_TTL_SECONDS = LOGIN_REQUEST_TTL_MS / 1000;

/**
 * "Sign in with <provider>": the authorization code flow with PKCE (S256), state and nonce, via
 * openid-client. What the callback must check (state, nonce, PKCE verifier) stays server-side and
 * is consumed on first use, so a tampered or replayed callback finds nothing to continue.
 */
export function createOidcSignIn(deps: {
  db: Db;
  providers: OidcProviderConfig[];
  allowInsecureRequests: boolean;
}) {
  const { db } = deps;
  const providers = new Map(deps.providers.map((provider) => [provider.name, provider]));
  const discovered = new Map<string, Promise<client.Configuration>>();

  function provider(name: string): OidcProviderConfig {
    const found = providers.get(name);
    if (!found) throw notFound(`Sign-in provider "${name}"`);
    return found;
  }

  // Outbound calls end with the request that made them (deadline or client gone), or on timeout.
  const fetchWithRequestSignal: client.CustomFetch = (url, options) => {
    const signals = [options.signal, currentSignal()].filter((signal) => signal !== undefined);
    return fetch(url, { ...options, signal: AbortSignal.any(signals) } as RequestInit);
  };

  /** Discovery runs on first use and is cached; a failure is forgotten so the next try repeats it. */
  function configuration(settings: OidcProviderConfig): Promise<client.Configuration> {
    let pending = discovered.get(settings.name);
    if (!pending) {
      pending = client
        .discovery(
          new URL(settings.issuer),
          settings.clientId,
          undefined,
          client.ClientSecretBasic(settings.clientSecret),
          {
            timeout: PROVIDER_TIMEOUT_SECONDS,
            [client.customFetch]: fetchWithRequestSignal,
            // Plain http only ever for loopback providers in tests; config refuses it otherwise.
            execute: deps.allowInsecureRequests ? [client.allowInsecureRequests] : [],
          },
        )
        .catch((error: unknown) => {
          discovered.delete(settings.name);
          throw oidcProviderUnavailable(error);
        });
      discovered.set(settings.name, pending);
    }
    return pending;
  }

  return {
    providerNames: () => [...providers.keys()],

    /**
     * Records a new sign-in attempt; answers the provider's authorization URL and the browser
     * binding value, which the caller must set as a cookie.
     */
    async start(providerName: string): Promise<{ url: URL; browserBinding: string; secureCookie: boolean }> {
      const settings = provider(providerName);
      const config = await configuration(settings);
      const state = client.randomState();
      const nonce = client.randomNonce();
      const codeVerifier = client.randomPKCECodeVerifier();
      const browserBinding = randomBytes(32).toString('base64url');
      await store.insertOidcLoginRequest(db, {
        stateHash: sha256(state).toString('hex'),
        browserBindingHash: sha256(browserBinding).toString('hex'),
        provider: settings.name,
        codeVerifier,
        nonce,
        expiresAt: new Date(Date.now() + LOGIN_REQUEST_TTL_MS),
      });
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: settings.redirectUri,
        scope: 'openid email profile',
        response_type: 'code',
        state,
        nonce,
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
      });
      return { url, browserBinding, secureCookie: new URL(settings.redirectUri).protocol === 'https:' };
    },

    /**
     * Checks the provider's answer (the callback's query string) and redeems the code: the state
     * must be one we issued and not yet used, to the browser presenting it, the ID token must carry
     * our nonce, and the code only works with this attempt's PKCE verifier.
     */
    async finish(
      providerName: string,
      query: string,
      browserBinding: string | undefined,
    ): Promise<OidcIdentity> {
      const settings = provider(providerName);
      const state = new URLSearchParams(query).get('state');
      const pending = state
        ? await store.takeOidcLoginRequest(db, sha256(state).toString('hex'), settings.name)
        : undefined;
      if (!state || !pending) {
        throw oidcSignInFailed('The sign-in attempt is unknown, expired or already used; start again');
      }
      if (
        !browserBinding ||
        !timingSafeEqual(sha256(browserBinding), Buffer.from(pending.browserBindingHash, 'hex'))
      ) {
        throw oidcSignInFailed('This sign-in was started in another browser; start again here');
      }
      const config = await configuration(settings);
      const callbackUrl = new URL(settings.redirectUri);
      callbackUrl.search = query;
      let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
      try {
        tokens = await client.authorizationCodeGrant(config, callbackUrl, {
          expectedState: state,
          expectedNonce: pending.nonce,
          pkceCodeVerifier: pending.codeVerifier,
          idTokenExpected: true,
        });
      } catch (error) {
        const name = (error as Error).name;
        if ((error instanceof TypeError && /fetch/.test(error.message)) || name === 'TimeoutError') {
          throw oidcProviderUnavailable(error);
        }
        throw oidcSignInFailed('The provider did not confirm this sign-in', error);
      }
      const idToken = tokens.claims();
      if (!idToken) throw oidcSignInFailed('The provider sent no ID token');
      // Many providers put the email only in UserInfo; the subject must match the ID token's.
      const claims: Record<string, unknown> & { sub: string } =
        typeof idToken.email === 'string'
          ? idToken
          : await client.fetchUserInfo(config, tokens.access_token, idToken.sub).catch((error: unknown) => {
              throw oidcSignInFailed('The provider did not return the account profile', error);
            });
      return {
        provider: settings.name,
        subject: claims.sub,
        email: typeof claims.email === 'string' ? claims.email : undefined,
        emailVerified: claims.email_verified === true,
        name: typeof claims.name === 'string' ? claims.name : undefined,
      };
    },
  };
}

export type OidcSignIn = ReturnType<typeof createOidcSignIn>;
