import { badRequest, conflict, DomainError } from '../../platform/errors.ts';

/** The identity module's domain errors: what a person signing in is told, and the code clients switch on. */

const bearer = { 'www-authenticate': 'Bearer' };

export const tokenInvalid = () =>
  badRequest('TOKEN_INVALID', 'This link or code is invalid, expired or already used');

export const invalidCredentials = (detail = 'The email or password is wrong') =>
  new DomainError(401, 'INVALID_CREDENTIALS', 'Invalid credentials', detail, { headers: bearer });

export const invalidRefreshToken = () =>
  new DomainError(
    401,
    'INVALID_REFRESH_TOKEN',
    'Invalid refresh token',
    'The refresh token is invalid, expired or spent',
    { headers: bearer },
  );

/** Sign-ins of this account from this address are held until `until`. */
export const tooManyGuesses = (until: Date) => {
  const seconds = Math.max(1, Math.ceil((until.getTime() - Date.now()) / 1000));
  return new DomainError(
    429,
    'RATE_LIMITED',
    'Too many requests',
    `Too many failed sign-ins for this account from your address; try again in ${seconds} s`,
    { headers: { 'retry-after': String(seconds) } },
  );
};

export const emailTaken = () => conflict('EMAIL_TAKEN', 'An account with this email exists');

export const unknownRole = (role: string) =>
  badRequest('INVALID_ROLE', `There is no role named ${role}: choose one from the list of roles`);

export const emailNotVerified = () =>
  new DomainError(
    403,
    'EMAIL_NOT_VERIFIED',
    'Email not verified',
    'The provider did not confirm a verified email address for this account',
  );

/** Carries the short-lived token with which the account's password links the provider. */
export const accountLinkRequired = (email: string, provider: string, linkToken: string) =>
  conflict(
    'ACCOUNT_LINK_REQUIRED',
    `An account with ${email} exists, but its address has not been confirmed. Enter that account's password to sign in with ${provider} from now on.`,
    { extensions: { linkToken, provider, email } },
  );

export const oidcSignInFailed = (detail: string, cause?: unknown) =>
  new DomainError(401, 'OIDC_SIGN_IN_FAILED', 'Sign-in with the provider failed', detail, {
    cause,
    headers: bearer,
  });

export const oidcProviderUnavailable = (cause: unknown) =>
  new DomainError(
    503,
    'OIDC_PROVIDER_UNAVAILABLE',
    'Sign-in provider unavailable',
    'The sign-in provider could not be reached',
    { cause, headers: { 'retry-after': '5' } },
  );
