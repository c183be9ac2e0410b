import { html } from 'lit-html';
import { ApiError } from '../api.ts';
import type { User } from '../types.ts';
import { type AppContext, act, type Content, describeError, formValues } from '../ui.ts';

/** Only paths inside this app, so ?next= cannot send a shopper to another site. */
export function safeNext(query: URLSearchParams, fallback: string): string {
  const next = query.get('next') ?? '';
  return next.startsWith('/') && !next.startsWith('//') ? next : fallback;
}

export function signInPage(
  ctx: AppContext,
  _params: Record<string, string>,
  query: URLSearchParams,
): Content {
  const submit = (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      await ctx.api.signIn(values.email, values.password);
      ctx.navigate(safeNext(query, '/'), true);
    });
  };
  return html`
    <h1>Sign in</h1>
    <form class="stack narrow" @submit=${submit} aria-label="Sign in">
      <label>Email <input type="email" name="email" autocomplete="username" required maxlength="320" /></label>
      <label>Password <input type="password" name="password" autocomplete="current-password" required /></label>
      <button type="submit" class="primary">Sign in</button>
    </form>
    <p><a href="/forgot-password">Forgot your password?</a></p>
    <p>New here? <a href="/register${query.get('next') ? `?next=${encodeURIComponent(query.get('next')!)}` : ''}">Create an account</a></p>
  `;
}

export function registerPage(
  ctx: AppContext,
  _params: Record<string, string>,
  query: URLSearchParams,
): Content {
  const submit = (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      await ctx.api.register({ email: values.email, password: values.password, name: values.name });
      ctx.navigate(safeNext(query, '/'), true);
      ctx.flash(
        'info',
        `Welcome! We have sent a link to ${values.email.trim()} to confirm that the address is yours.`,
      );
    });
  };
  return html`
    <h1>Create an account</h1>
    <form class="stack narrow" @submit=${submit} aria-label="Create an account">
      <label>Name <input name="name" autocomplete="name" required maxlength="200" /></label>
      <label>Email <input type="email" name="email" autocomplete="username" required maxlength="320" /></label>
      <label>Password <input type="password" name="password" autocomplete="new-password" required minlength="8" aria-describedby="password-help" /></label>
      <p id="password-help" class="muted">At least 8 characters.</p>
      <button type="submit" class="primary">Create account</button>
    </form>
    <p>Already have an account? <a href="/signin">Sign in</a></p>
  `;
}

/** Asks for a reset link. The answer never says whether the address has an account. */
export function forgotPasswordPage(ctx: AppContext): Content {
  const submit = (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      await ctx.api.request('POST', '/v1/auth/password-reset', {
        body: { email: values.email.trim() },
        auth: false,
      });
      ctx.flash(
        'info',
        `If an account uses ${values.email.trim()}, a link to choose a new password is on its way. It works once, within an hour.`,
      );
    });
  };
  return html`
    <h1>Forgot your password?</h1>
    <p>Tell us the address you shop with and we will email you a link to choose a new password.</p>
    <form class="stack narrow" @submit=${submit} aria-label="Send a reset link">
      <label>Email <input type="email" name="email" autocomplete="username" required maxlength="320" /></label>
      <button type="submit" class="primary">Send me a link</button>
    </form>
    <p><a href="/signin">Back to sign in</a></p>
  `;
}

/** The link in the reset email lands here: a new password, then sign in with it. */
export function resetPasswordPage(
  ctx: AppContext,
  _params: Record<string, string>,
  query: URLSearchParams,
): Content {
  const token = query.get('token') ?? '';
  const submit = (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      await ctx.api.request('POST', '/v1/auth/password-reset/confirm', {
        body: { token, password: values.password },
        auth: false,
      });
      ctx.navigate('/signin', true);
      ctx.flash(
        'info',
        'Your password is changed, and every device was signed out. Sign in with the new one.',
      );
    });
  };
  return html`
    <h1>Choose a new password</h1>
    <form class="stack narrow" @submit=${submit} aria-label="Choose a new password">
      <label>New password <input type="password" name="password" autocomplete="new-password" required minlength="8" aria-describedby="password-help" /></label>
      <p id="password-help" class="muted">At least 8 characters. Every device signed in to your account is signed out.</p>
      <button type="submit" class="primary">Set the new password</button>
    </form>
    <p>Link not working? <a href="/forgot-password">Ask for a new one</a>.</p>
  `;
}

/** The link in the verification email lands here: the token in it proves the address. */
export async function verifyEmailPage(
  ctx: AppContext,
  _params: Record<string, string>,
  query: URLSearchParams,
): Promise<Content> {
  const token = query.get('token') ?? '';
  let confirmed: User | undefined;
  let problem: string | undefined;
  try {
    confirmed = (
      await ctx.api.request<User>('POST', '/v1/auth/verify-email', { body: { token }, auth: false })
    ).body;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status >= 500) throw error;
    problem = describeError(error);
  }
  if (confirmed) {
    return html`<h1>Email confirmed</h1>
      <p role="status">Thank you: ${confirmed.email} is confirmed as the address of your account.</p>
      <p><a href="/">Back to the shop</a></p>`;
  }
  const resend = (event: Event) =>
    act(ctx, event, async () => {
      await ctx.api.post('/v1/users/me/verification', undefined);
      ctx.flash('info', 'A new link is on its way; it works once, for 24 hours.');
    });
  return html`<h1>This link does not work</h1>
    <p class="alert error" role="alert">${problem}</p>
    ${
      ctx.api.session()
        ? html`<p><button type="button" @click=${resend}>Send me a new link</button></p>`
        : html`<p><a href="/signin?next=${encodeURIComponent('/verify-email')}">Sign in</a> to ask for a new link.</p>`
    }
`;
}
