import { html, nothing } from 'lit-html';
import { ADMIN_BASE } from '../../../src/modules/web/pages.ts';
import type { RoleView, StaffInvite, User } from '../types.ts';
import { type AppContext, act, type Content, dateTime, formValues } from '../ui.ts';
import { PERMISSION_TEXT, permissionText } from './permissions.ts';

const roleLabel = (role: string) => (role === 'admin' ? 'administrator' : role);

/** The checked permissions of a role form. */
const checkedPermissions = (event: SubmitEvent) =>
  new FormData(event.currentTarget as HTMLFormElement).getAll('permission').map(String);

function permissionBoxes(held: readonly string[]) {
  return html`<fieldset>
    <legend>What it may do</legend>
    ${PERMISSION_TEXT.map(
      ([permission, text]) =>
        html`<label><input type="checkbox" name="permission" value=${permission} ?checked=${held.includes(permission)} /> ${text}</label>`,
    )}
  </fieldset>`;
}

/**
 * The shop's people: who is on the staff and with which role, who is invited, and the roles
 * themselves as sets of permissions. Everything here is checked again by the API: a role worth
 * more than your own cannot be given, made or taken.
 */
export async function staffPage(ctx: AppContext): Promise<Content> {
  const [staff, invites, roles] = await Promise.all([
    ctx.api.get<{ items: User[] }>('/v1/staff'),
    ctx.api.get<{ items: StaffInvite[] }>('/v1/staff/invites'),
    ctx.api.get<{ items: RoleView[] }>('/v1/roles'),
  ]);
  const me = ctx.api.session()?.user;
  const staffRoles = roles.items.filter((role) => role.name !== 'customer');

  const invite = (event: SubmitEvent) => {
    const values = formValues(event);
    const form = event.currentTarget as HTMLFormElement;
    return act(ctx, event, async () => {
      const made = await ctx.api.post<StaffInvite>('/v1/staff/invites', {
        email: values.email.trim(),
        role: values.role,
      });
      form.reset();
      await ctx.refresh();
      ctx.flash('info', `An invitation was sent to ${made.email}. Its link works once, for a week.`);
    });
  };
  const withdraw = (sent: StaffInvite) => (event: Event) =>
    act(ctx, event, async () => {
      await ctx.api.delete(`/v1/staff/invites/${sent.id}`);
      await ctx.refresh();
      ctx.flash('info', `The invitation to ${sent.email} was withdrawn: its link no longer works.`);
    });
  const changeRole = (person: User) => (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      await ctx.api.patch(`/v1/users/${person.id}/role`, { role: values.role });
      await ctx.refresh();
      ctx.flash('info', `${person.name} is now ${roleLabel(values.role)}; from their next request.`);
    });
  };
  const createRole = (event: SubmitEvent) => {
    const permissions = checkedPermissions(event);
    const values = formValues(event);
    return act(ctx, event, async () => {
      if (permissions.length === 0) throw new Error('Choose at least one thing the role may do');
      const made = await ctx.api.post<RoleView>('/v1/roles', {
        name: values.name.trim().toLowerCase(),
        description: values.description.trim(),
        permissions,
      });
      await ctx.refresh();
      ctx.flash('info', `The role “${made.name}” was made.`);
    });
  };
  const updateRole = (role: RoleView) => (event: SubmitEvent) => {
    const permissions = checkedPermissions(event);
    const values = formValues(event);
    return act(ctx, event, async () => {
      await ctx.api.patch(`/v1/roles/${role.name}`, { description: values.description.trim(), permissions });
      await ctx.refresh();
      ctx.flash('info', `“${role.name}” was saved; its holders' next request follows it.`);
    });
  };
  const deleteRole = (role: RoleView) => (event: Event) =>
    act(ctx, event, async () => {
      if (!confirm(`Delete the role “${role.name}”?`)) return;
      await ctx.api.delete(`/v1/roles/${role.name}`);
      await ctx.refresh();
      ctx.flash('info', `“${role.name}” was deleted.`);
    });

  return html`
    <h1>Staff and roles</h1>
    <section aria-labelledby="staff-heading">
      <h2 id="staff-heading">Staff</h2>
      <div class="table-scroll"><table class="lines">
        <caption class="visually-hidden">Staff, longest-serving first</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Since</th><th scope="col">Role</th></tr></thead>
        <tbody>
          ${staff.items.map(
            (person) => html`<tr data-staff=${person.email}>
              <td>${person.name}</td>
              <td>${person.email}</td>
              <td>${dateTime(person.createdAt)}</td>
              <td>${
                person.id === me?.id
                  ? html`${roleLabel(person.role)} <span class="muted">(you)</span>`
                  : html`<form class="inline" @submit=${changeRole(person)} aria-label=${`Change the role of ${person.name}`}>
                      <select name="role" aria-label=${`Role of ${person.name}`}>
                        ${roles.items.map(
                          (role) =>
                            html`<option value=${role.name} ?selected=${role.name === person.role}>${roleLabel(role.name)}</option>`,
                        )}
                      </select>
                      <button type="submit">Change</button>
                    </form>`
              }</td>
            </tr>`,
          )}
        </tbody>
      </table></div>
    </section>

    <section aria-labelledby="invites-heading">
      <h2 id="invites-heading">Invitations</h2>
      ${
        invites.items.length === 0
          ? html`<p>No invitation is waiting.</p>`
          : html`<div class="table-scroll"><table class="lines">
        <caption class="visually-hidden">Invitations waiting, newest first</caption>
        <thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Sent</th><th scope="col">Works until</th><th scope="col"></th></tr></thead>
        <tbody>
          ${invites.items.map(
            (sent) => html`<tr data-invite=${sent.email}>
              <td>${sent.email}</td>
              <td>${roleLabel(sent.role)}</td>
              <td>${dateTime(sent.createdAt)}</td>
              <td>${dateTime(sent.expiresAt)}</td>
              <td><button type="button" class="danger" @click=${withdraw(sent)} aria-label=${`Withdraw the invitation to ${sent.email}`}>Withdraw</button></td>
            </tr>`,
          )}
        </tbody>
      </table></div>`
      }
      <form class="stack narrow" @submit=${invite} aria-label="Invite someone">
        <label>Email <input type="email" name="email" required maxlength="320" /></label>
        <label>Role
          <select name="role" required>
            ${staffRoles.map((role) => html`<option value=${role.name}>${roleLabel(role.name)}</option>`)}
          </select>
        </label>
        <button type="submit" class="primary">Send the invitation</button>
      </form>
    </section>

    <section aria-labelledby="roles-heading">
      <h2 id="roles-heading">Roles</h2>
      <div class="table-scroll"><table class="lines">
        <caption class="visually-hidden">Roles: built-in ones first</caption>
        <thead><tr><th scope="col">Role</th><th scope="col">May</th><th scope="col">Held by</th></tr></thead>
        <tbody>
          ${roles.items.map(
            (role) => html`<tr data-role=${role.name}>
              <td>${roleLabel(role.name)}${role.builtIn ? html` <span class="muted">(built in)</span>` : nothing}
                ${role.description ? html`<br /><span class="muted">${role.description}</span>` : nothing}</td>
              <td>${role.permissions.length === 0 ? 'Shop and manage their own account' : role.permissions.map(permissionText).join('; ')}</td>
              <td>${role.members === 1 ? '1 person' : `${role.members} people`}</td>
            </tr>`,
          )}
        </tbody>
      </table></div>
      ${roles.items
        .filter((role) => !role.builtIn)
        .map(
          (role) => html`<details data-edit-role=${role.name}>
            <summary>Change “${role.name}”</summary>
            <form class="stack" @submit=${updateRole(role)} aria-label=${`Change ${role.name}`}>
              <label>Description <input name="description" maxlength="200" .value=${role.description} /></label>
              ${permissionBoxes(role.permissions)}
              <div>
                <button type="submit" class="primary">Save “${role.name}”</button>
                <button type="button" class="danger" @click=${deleteRole(role)}>Delete “${role.name}”</button>
              </div>
            </form>
          </details>`,
        )}
      <details>
        <summary>Make a role</summary>
        <form class="stack" @submit=${createRole} aria-label="New role">
          <label>Name <input name="name" required pattern="[a-z]([a-z0-9]|-){1,31}" maxlength="32" placeholder="e.g. warehouse" aria-describedby="role-name-help" /></label>
          <p id="role-name-help" class="muted">2 to 32 lowercase letters, digits or hyphens, starting with a letter.</p>
          <label>Description <input name="description" maxlength="200" placeholder="e.g. Stock and shipping only" /></label>
          ${permissionBoxes([])}
          <button type="submit" class="primary">Make the role</button>
        </form>
      </details>
    </section>
  `;
}

/**
 * The invitation's mailed link lands here. Someone new chooses a name and a password; someone
 * who already shops here with that address confirms with their password and keeps the account.
 */
export function acceptInvitePage(
  ctx: AppContext,
  _params: Record<string, string>,
  query: URLSearchParams,
): Content {
  const token = query.get('token') ?? '';
  const submit = (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      const name = values.name?.trim();
      const session = await ctx.api.acceptInvite({
        token,
        password: values.password,
        ...(name ? { name } : {}),
      });
      ctx.navigate(ADMIN_BASE, true);
      ctx.flash(
        'info',
        `Welcome to the staff, ${session.user.name}: you are ${roleLabel(session.user.role)}.`,
      );
    });
  };
  return html`
    <h1>Join the staff</h1>
    <p>You were invited to help run this shop.</p>
    <form class="stack narrow" @submit=${submit} aria-label="Accept the invitation">
      <label>Your name <input name="name" autocomplete="name" maxlength="100" aria-describedby="name-help" /></label>
      <p id="name-help" class="muted">Leave it empty if you already have an account with the invited address.</p>
      <label>Password <input type="password" name="password" autocomplete="new-password" required aria-describedby="password-help" /></label>
      <p id="password-help" class="muted">New here: choose one of at least 8 characters. Already have an account: its password.</p>
      <button type="submit" class="primary">Accept the invitation</button>
    </form>
  `;
}
