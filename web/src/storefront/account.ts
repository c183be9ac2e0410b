import { html } from 'lit-html';
import { act, type AppContext, type Content, formValues } from '../ui.ts';

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
