import { useCallback, useEffect, useRef, useState } from 'react';
import { useParams } from 'react-router';
import { parse } from '../api';
import { useAlert, useSession } from '../context';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { DataTable } from '../components/DataTable';
import { InlineForm } from '../components/InlineForm';
import { useAction } from '../components/useAction';
import { classesPath, escapeRegex, formatDate } from '../apiExtra';

interface UserRow {
  objectId: string;
  username?: string;
  email?: string;
  emailVerified?: boolean;
  createdAt?: string;
}

interface RoleRow {
  objectId: string;
  name: string;
}

const USER_KEYS = 'objectId,username,email,emailVerified,createdAt';

function rolePointer(id: string) {
  return { __type: 'Pointer', className: '_Role', objectId: id };
}

export function UsersRolesPage() {
  const { appId = '' } = useParams();
  return (
    <div className="page ur-page">
      <h1>Users and roles</h1>
      <div className="ur-columns">
        <UsersSection appId={appId} />
        <RolesSection appId={appId} />
      </div>
    </div>
  );
}

// ---------- users ----------

function UsersSection({ appId }: { appId: string }) {
  const { showError } = useAlert();
  const [search, setSearch] = useState('');
  const [users, setUsers] = useState<UserRow[] | null>(null);
  const [count, setCount] = useState<number | null>(null);
  const seq = useRef(0);

  const load = useCallback(
    async (text: string) => {
      const id = ++seq.current;
      const t = text.trim();
      const where = t
        ? {
            $or: [
              { username: { $regex: `^${escapeRegex(t)}`, $options: 'i' } },
              { email: { $regex: `^${escapeRegex(t)}`, $options: 'i' } },
            ],
          }
        : {};
      try {
        const r = await parse<{ results?: UserRow[]; count?: number }>(
          appId,
          'GET',
          classesPath('_User', { where, order: t ? 'username' : '-createdAt', limit: 100, keys: USER_KEYS, count: 1 }),
        );
        if (id !== seq.current) return;
        setUsers(r.results ?? []);
        setCount(r.count ?? null);
      } catch (e) {
        if (id === seq.current) showError(e);
      }
    },
    [appId, showError],
  );

  // Search as the user types, a moment after the last key.
  useEffect(() => {
    const t = setTimeout(() => void load(search), search ? 250 : 0);
    return () => clearTimeout(t);
  }, [search, load]);

  return (
    <section className="card ur-card" aria-labelledby="users-title">
      <h2 id="users-title">Users</h2>
      <form onSubmit={(e) => (e.preventDefault(), void load(search))} role="search">
        <label>
          Search by username or email (starts with)
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} autoComplete="off" data-testid="user-search" />
        </label>
      </form>
      {users === null ? (
        <p className="muted">Loading…</p>
      ) : users.length === 0 ? (
        <p className="muted" data-testid="user-none">
          No user matches.
        </p>
      ) : (
        <>
          <p className="help">
            {count !== null && count > users.length ? `The first ${users.length} of ${count} users.` : `${users.length} user${users.length === 1 ? '' : 's'}.`}
          </p>
          <DataTable columns={['objectId', 'Username', 'Email', 'Verified', 'Created']} testId="user-table">
            {users.map((u) => (
              <tr key={u.objectId} data-testid={`user-row-${u.objectId}`}>
                <td>
                  <code>{u.objectId}</code>
                </td>
                <td>{u.username ?? ''}</td>
                <td>{u.email ?? ''}</td>
                <td>{u.emailVerified === true ? 'yes' : u.emailVerified === false ? 'no' : ''}</td>
                <td>{formatDate(u.createdAt)}</td>
              </tr>
            ))}
          </DataTable>
        </>
      )}
    </section>
  );
}

// ---------- roles ----------

function RolesSection({ appId }: { appId: string }) {
  const { session } = useSession();
  const readOnly = session.readOnly;
  const { showError } = useAlert();
  const { busy, run } = useAction();
  const [roles, setRoles] = useState<RoleRow[] | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [newRole, setNewRole] = useState('');

  const load = useCallback(async () => {
    try {
      const r = await parse<{ results?: RoleRow[] }>(appId, 'GET', classesPath('_Role', { order: 'name', limit: 1000, keys: 'name' }));
      setRoles(r.results ?? []);
    } catch (e) {
      showError(e);
    }
  }, [appId, showError]);

  useEffect(() => {
    void load();
  }, [load]);

  const create = () =>
    run(async () => {
      const name = newRole.trim();
      if (!/^[A-Za-z0-9_ -]+$/.test(name)) throw new Error('A role name has only letters, digits, spaces, _ and -.');
      const r = await parse<{ objectId: string }>(appId, 'POST', 'classes/_Role', { name, ACL: { '*': { read: true } } });
      setNewRole('');
      await load();
      setSelected(r.objectId);
    });

  const role = roles?.find((r) => r.objectId === selected) ?? null;

  return (
    <section className="card ur-card" aria-labelledby="roles-title">
      <h2 id="roles-title">Roles</h2>
      {roles === null ? (
        <p className="muted">Loading…</p>
      ) : roles.length === 0 ? (
        <p className="muted">This app has no roles yet.</p>
      ) : (
        <ul className="ur-roles" aria-label="Roles">
          {roles.map((r) => (
            <li key={r.objectId}>
              <button
                type="button"
                className={r.objectId === selected ? 'ur-role active' : 'ur-role'}
                aria-pressed={r.objectId === selected}
                onClick={() => setSelected(r.objectId === selected ? null : r.objectId)}
                data-testid={`role-${r.name}`}
              >
                {r.name}
              </button>
            </li>
          ))}
        </ul>
      )}
      {!readOnly && (
        <InlineForm label="New role" onSubmit={() => void create()} submitLabel="Create role" submitTestId="role-create" submitDisabled={busy}>
          <input value={newRole} onChange={(e) => setNewRole(e.target.value)} placeholder="Admin" autoComplete="off" data-testid="role-name-input" />
        </InlineForm>
      )}
      {role && roles && (
        <RoleDetail
          key={role.objectId}
          appId={appId}
          role={role}
          roles={roles}
          readOnly={readOnly}
          onDeleted={() => {
            setSelected(null);
            void load();
          }}
        />
      )}
    </section>
  );
}

function RoleDetail(props: { appId: string; role: RoleRow; roles: RoleRow[]; readOnly: boolean; onDeleted: () => void }) {
  const { appId, role, roles, readOnly, onDeleted } = props;
  const { showError } = useAlert();
  const { busy, run } = useAction();
  const [members, setMembers] = useState<UserRow[] | null>(null);
  const [children, setChildren] = useState<RoleRow[] | null>(null);
  const [addUser, setAddUser] = useState('');
  const [addChild, setAddChild] = useState('');
  const [deleting, setDeleting] = useState(false);

  const load = useCallback(async () => {
    const related = (key: string) => ({ $relatedTo: { object: rolePointer(role.objectId), key } });
    try {
      const [u, r] = await Promise.all([
        parse<{ results?: UserRow[] }>(appId, 'GET', classesPath('_User', { where: related('users'), limit: 1000, keys: USER_KEYS, order: 'username' })),
        parse<{ results?: RoleRow[] }>(appId, 'GET', classesPath('_Role', { where: related('roles'), limit: 1000, keys: 'name', order: 'name' })),
      ]);
      setMembers(u.results ?? []);
      setChildren(r.results ?? []);
    } catch (e) {
      showError(e);
    }
  }, [appId, role.objectId, showError]);

  useEffect(() => {
    void load();
  }, [load]);

  const relation = async (key: 'users' | 'roles', op: 'AddRelation' | 'RemoveRelation', className: string, objectId: string) => {
    await parse(appId, 'PUT', `classes/_Role/${encodeURIComponent(role.objectId)}`, {
      [key]: { __op: op, objects: [{ __type: 'Pointer', className, objectId }] },
    });
  };

  /** A change to the role's relations, then the lists again. */
  const change = (work: () => Promise<void>) =>
    run(async () => {
      await work();
      await load();
    });

  /** The user named in the box: by username first, then by objectId. */
  const findUser = async (text: string): Promise<string> => {
    const byName = await parse<{ results?: UserRow[] }>(appId, 'GET', classesPath('_User', { where: { username: text }, limit: 1, keys: 'objectId' }));
    if (byName.results?.[0]) return byName.results[0].objectId;
    const byId = await parse<{ results?: UserRow[] }>(appId, 'GET', classesPath('_User', { where: { objectId: text }, limit: 1, keys: 'objectId' }));
    if (byId.results?.[0]) return byId.results[0].objectId;
    throw new Error(`There is no user with the username or objectId “${text}”.`);
  };

  const onAddUser = () => {
    const t = addUser.trim();
    if (!t) return;
    void change(async () => {
      const id = await findUser(t);
      await relation('users', 'AddRelation', '_User', id);
      setAddUser('');
    });
  };

  const onAddChild = () => {
    if (!addChild) return;
    void change(async () => {
      await relation('roles', 'AddRelation', '_Role', addChild);
      setAddChild('');
    });
  };

  const remove = async () => {
    await parse(appId, 'DELETE', `classes/_Role/${encodeURIComponent(role.objectId)}`);
    onDeleted();
  };

  const childCandidates = roles.filter((r) => r.objectId !== role.objectId && !children?.some((c) => c.objectId === r.objectId));

  return (
    <div className="ur-detail" data-testid="role-detail">
      <div className="page-head">
        <h3>
          Role <span data-testid="role-detail-name">{role.name}</span>
        </h3>
        {!readOnly && (
          <button type="button" className="btn small danger" onClick={() => setDeleting(true)} data-testid="role-delete">
            Delete role
          </button>
        )}
      </div>
      <h4>Users in this role</h4>
      {members === null ? (
        <p className="muted">Loading…</p>
      ) : members.length === 0 ? (
        <p className="muted">No users.</p>
      ) : (
        <ul className="ur-members">
          {members.map((u) => (
            <li key={u.objectId} data-testid={`role-member-${u.objectId}`}>
              <span>
                {u.username ?? '(no username)'} <code>{u.objectId}</code>
              </span>
              {!readOnly && (
                <button
                  type="button"
                  className="btn small"
                  disabled={busy}
                  onClick={() => void change(() => relation('users', 'RemoveRelation', '_User', u.objectId))}
                  aria-label={`Remove ${u.username ?? u.objectId} from ${role.name}`}
                  data-testid={`role-remove-${u.objectId}`}
                >
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {!readOnly && (
        <InlineForm
          label="Add a user (username or objectId)"
          onSubmit={onAddUser}
          submitLabel="Add user"
          submitTestId="role-add-user"
          submitDisabled={busy || !addUser.trim()}
        >
          <input value={addUser} onChange={(e) => setAddUser(e.target.value)} autoComplete="off" data-testid="role-add-user-input" />
        </InlineForm>
      )}
      <h4>Child roles</h4>
      <p className="help">Users of these roles also get the permissions of {role.name}.</p>
      {children === null ? (
        <p className="muted">Loading…</p>
      ) : children.length === 0 ? (
        <p className="muted">No child roles.</p>
      ) : (
        <ul className="ur-members">
          {children.map((r) => (
            <li key={r.objectId} data-testid={`role-child-${r.name}`}>
              <span>{r.name}</span>
              {!readOnly && (
                <button
                  type="button"
                  className="btn small"
                  disabled={busy}
                  onClick={() => void change(() => relation('roles', 'RemoveRelation', '_Role', r.objectId))}
                  aria-label={`Remove child role ${r.name}`}
                  data-testid={`role-child-remove-${r.name}`}
                >
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {!readOnly && childCandidates.length > 0 && (
        <InlineForm label="Add a child role" onSubmit={onAddChild} submitLabel="Add role" submitTestId="role-add-child" submitDisabled={busy || !addChild}>
          <select value={addChild} onChange={(e) => setAddChild(e.target.value)} data-testid="role-add-child-select">
            <option value="">Choose a role…</option>
            {childCandidates.map((r) => (
              <option key={r.objectId} value={r.objectId}>
                {r.name}
              </option>
            ))}
          </select>
        </InlineForm>
      )}
      {deleting && (
        <ConfirmDialog title={`Delete the role ${role.name}?`} onClose={() => setDeleting(false)} action={remove} confirmLabel="Delete role">
          <p>Its users lose the permissions given to the role. This cannot be undone.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}
