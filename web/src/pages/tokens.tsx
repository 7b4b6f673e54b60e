// API tokens (admins): the list, creating one (minted here, only its hash sent; the token shown once), and revoking one
// after a confirmation. Users the server does not let read ApiTokens see its refusal, and no form.
import { useState, type ReactNode } from 'react';
import type { ApiToken, Role } from '../../../src/resources/api-token.ts';
import { useCanI } from '../api/access.ts';
import { paths } from '../api/paths.ts';
import { useApiAction } from '../api/use-action.ts';
import { isEmpty, useLiveList } from '../api/use-watch.ts';
import { ApiErrorNotice } from '../components/api-error.tsx';
import { Banner } from '../components/banner.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { SelectField, TextField } from '../components/field.tsx';
import { ActionsHeader, EmptyRow, FormCard } from '../components/form-card.tsx';
import { Age } from '../components/time.tsx';
import { mintToken, tokenFieldOf, tokenObjectFor, type TokenRequest } from '../model/tokens.ts';
import { useSession } from '../session.ts';

const ROLE_OPTIONS: Array<{ value: Role; label: string }> = [
  { value: 'operator', label: 'operator — VMs and their actions in the namespaces given' },
  { value: 'viewer', label: 'viewer — reads in the namespaces given' },
  { value: 'admin', label: 'admin — everything' },
  { value: 'node', label: "node — a node agent's token" },
];

interface Created {
  id: string;
  token: string;
  who: string;
}

export function TokensPage(): ReactNode {
  const { api } = useSession();
  const tokens = useLiveList<ApiToken>(api, paths.apiTokens());
  const canCreate = useCanI(api, { verb: 'create', group: 'harrow.io', resource: 'apitokens' });
  const canRevoke = useCanI(api, { verb: 'delete', group: 'harrow.io', resource: 'apitokens' });
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Created>();
  const [revoking, setRevoking] = useState<ApiToken>();
  const refused = tokens.error?.code === 403;

  return (
    <section aria-labelledby="tokens-title">
      <div className="page-head">
        <h1 id="tokens-title">API Tokens</h1>
        <div className="page-tools">
          {canCreate ? (
            <button
              type="button"
              className="btn btn-primary"
              onClick={() => {
                setCreating(true);
                setCreated(undefined);
              }}
              aria-expanded={creating}
              aria-controls="create-token"
            >
              Create token
            </button>
          ) : null}
        </div>
      </div>
      {refused ? (
        <Banner tone="info" title="Only admins manage API tokens" testId="tokens-refused">
          The server refuses this token access to API tokens: {tokens.error?.message}
        </Banner>
      ) : (
        <>
          <p className="muted small">
            The server keeps only a hash of each token. The bootstrap admin token (the data
            dir&apos;s admin.token) is not listed.
          </p>
          {creating ? (
            <CreateToken
              onCreated={(c) => {
                setCreated(c);
                setCreating(false);
              }}
              onCancel={() => setCreating(false)}
            />
          ) : null}
          {created ? <NewSecret created={created} onDone={() => setCreated(undefined)} /> : null}
          <ApiErrorNotice error={tokens.error} what="Listing tokens" />
          <table className="table">
            <caption className="sr-only">API tokens</caption>
            <thead>
              <tr>
                <th scope="col">ID</th>
                <th scope="col">User</th>
                <th scope="col">Role</th>
                <th scope="col">Namespaces</th>
                <th scope="col">Age</th>
                <ActionsHeader show={canRevoke} />
              </tr>
            </thead>
            <tbody>
              {tokens.items.map((t) => (
                <tr key={t.metadata.name} data-token={t.metadata.name}>
                  <td className="mono">{t.metadata.name}</td>
                  <td>{t.spec.user}</td>
                  <td>{t.spec.role}</td>
                  <td>
                    {t.spec.role === 'admin' ? (
                      <span className="muted">all</span>
                    ) : t.spec.role === 'node' ? (
                      <span className="muted">its node&apos;s</span>
                    ) : (
                      t.spec.namespaces.join(', ')
                    )}
                  </td>
                  <td>
                    <Age iso={t.metadata.creationTimestamp} />
                  </td>
                  {canRevoke ? (
                    <td className="actions">
                      <button
                        type="button"
                        className="btn btn-small"
                        aria-label={`Revoke token ${t.metadata.name} of ${t.spec.user}`}
                        onClick={() => setRevoking(t)}
                      >
                        Revoke
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
              {isEmpty(tokens) ? (
                <EmptyRow columns={canRevoke ? 6 : 5}>No tokens yet.</EmptyRow>
              ) : null}
            </tbody>
          </table>
        </>
      )}
      {revoking ? <RevokeDialog token={revoking} onDone={() => setRevoking(undefined)} /> : null}
    </section>
  );
}

function CreateToken(props: { onCreated(c: Created): void; onCancel(): void }): ReactNode {
  const { api, notify } = useSession();
  const [form, setForm] = useState<TokenRequest>({ role: 'operator', user: '', namespaces: '' });
  const { busy: saving, error, clearError, run } = useApiAction();
  const fieldError = (f: 'user' | 'namespaces' | 'role'): string | undefined => {
    const msgs = (error?.causes ?? [])
      .filter((c) => tokenFieldOf(c.field) === f)
      .map((c) => c.message);
    return msgs.length > 0 ? msgs.join(' ') : undefined;
  };
  const placed = (error?.causes ?? []).some((c) => tokenFieldOf(c.field) !== undefined);
  const set = (k: keyof TokenRequest) => (v: string) => {
    setForm((f) => ({ ...f, [k]: v }));
    clearError();
  };
  const scoped = form.role === 'operator' || form.role === 'viewer';
  const submit = (): Promise<void> =>
    run(async () => {
      const minted = await mintToken();
      const object = tokenObjectFor(minted, { ...form, namespaces: scoped ? form.namespaces : '' });
      await api.create(paths.apiTokens(), object);
      notify(`Created token ${minted.id} for ${object.spec.user}.`);
      props.onCreated({ id: minted.id, token: minted.token, who: object.spec.user });
    });
  return (
    <FormCard
      id="create-token"
      title="New API token"
      submitLabel="Create token"
      busyLabel="Creating…"
      busy={saving}
      onSubmit={() => void submit()}
      onCancel={props.onCancel}
    >
      <div className="form-grid">
        <SelectField
          label="Role"
          value={form.role}
          onChange={set('role')}
          options={ROLE_OPTIONS}
          error={fieldError('role')}
        />
        <TextField
          label={form.role === 'node' ? 'Node name' : 'User'}
          value={form.user}
          onChange={set('user')}
          error={fieldError('user')}
          hint={
            form.role === 'node'
              ? 'The node the agent runs as; its user is system:node:NAME'
              : 'Who the token stands for, as the audit log will name them'
          }
          required
          autoFocus
        />
        {scoped ? (
          <TextField
            label="Namespaces"
            value={form.namespaces}
            onChange={set('namespaces')}
            error={fieldError('namespaces')}
            hint="The namespaces it may use, separated by commas"
            required
          />
        ) : null}
      </div>
      {error && !placed ? <ApiErrorNotice error={error} what="Not created" /> : null}
    </FormCard>
  );
}

/** The token's text, once: the server never had it, and this page forgets it when dismissed. */
function NewSecret(props: { created: Created; onDone(): void }): ReactNode {
  const [copied, setCopied] = useState<string>();
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(props.created.token);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('The browser did not allow copying: select the text and copy it.');
    }
  };
  return (
    <section className="card card-warn" aria-labelledby="secret-title" data-testid="new-token">
      <h2 id="secret-title" className="card-title">
        Token {props.created.id} for {props.created.who}
      </h2>
      <p>Copy it now: it is shown only this once and cannot be read back.</p>
      <label htmlFor="new-token-text" className="sr-only">
        The new token
      </label>
      <input
        id="new-token-text"
        className="mono secret"
        readOnly
        value={props.created.token}
        onFocus={(e) => e.currentTarget.select()}
      />
      <div className="form-actions">
        <button type="button" className="btn" onClick={() => void copy()}>
          Copy
        </button>
        <button type="button" className="btn btn-primary" onClick={props.onDone}>
          Done
        </button>
        {copied ? (
          <span role="status" className="small">
            {copied}
          </span>
        ) : null}
      </div>
    </section>
  );
}

function RevokeDialog(props: { token: ApiToken; onDone(): void }): ReactNode {
  const { api, notify } = useSession();
  const { busy, error, run } = useApiAction();
  const t = props.token;
  const revoke = (): Promise<void> =>
    run(async () => {
      await api.request('DELETE', paths.apiToken(t.metadata.name));
      notify(`Revoked token ${t.metadata.name}.`);
      props.onDone();
    });
  return (
    <ConfirmDialog
      title={`Revoke token ${t.metadata.name}?`}
      confirmLabel="Revoke"
      busy={busy}
      error={<ApiErrorNotice error={error} what="Not revoked" />}
      onConfirm={() => void revoke()}
      onCancel={props.onDone}
    >
      <p>
        {t.spec.user} ({t.spec.role}) can no longer use it: the next request with it is refused and
        its open watches end. This cannot be undone.
      </p>
    </ConfirmDialog>
  );
}
