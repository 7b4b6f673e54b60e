// Namespaces: the list (an operator sees its own), creating one, and each namespace's maintenance window, edited
// through the namespace's annotation with the admission's refusal shown at the field it names.
import { useState, type ReactNode } from 'react';
import type { KubeObject } from '../../../src/resources/meta.ts';
import { poolAdmissionOn } from '../../../src/resources/pool-admission.ts';
import { useCanI } from '../api/access.ts';
import { paths } from '../api/paths.ts';
import { useApiAction } from '../api/use-action.ts';
import { isEmpty, useLiveList } from '../api/use-watch.ts';
import { ApiErrorNotice } from '../components/api-error.tsx';
import { TextField } from '../components/field.tsx';
import { ActionsHeader, EmptyRow, FormCard } from '../components/form-card.tsx';
import { Age } from '../components/time.tsx';
import {
  placeWindowErrors,
  windowFormOf,
  windowPatch,
  windowText,
  type WindowForm,
} from '../model/window.ts';
import { urls } from '../model/urls.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.ts';

interface Namespace extends KubeObject {
  status?: { phase?: string };
}

export function NamespacesPage(): ReactNode {
  const { api } = useSession();
  const namespaces = useLiveList<Namespace>(api, paths.namespaces());
  const canCreate = useCanI(api, { verb: 'create', group: '', resource: 'namespaces' });
  const canPatch = useCanI(api, { verb: 'patch', group: '', resource: 'namespaces' });
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<string>();
  const edited = namespaces.items.find((n) => n.metadata.name === editing);

  return (
    <section aria-labelledby="ns-title">
      <div className="page-head">
        <h1 id="ns-title">Namespaces</h1>
        <div className="page-tools">
          {canCreate ? (
            <button
              type="button"
              className="btn btn-primary"
              onClick={() => setCreating(true)}
              aria-expanded={creating}
              aria-controls="create-namespace"
            >
              Create namespace
            </button>
          ) : null}
        </div>
      </div>
      {creating ? <CreateNamespace onDone={() => setCreating(false)} /> : null}
      <ApiErrorNotice error={namespaces.error} what="Listing namespaces" />
      <table className="table">
        <caption className="sr-only">Namespaces</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
            <th scope="col">Maintenance window</th>
            <th scope="col">MAC pool admission</th>
            <th scope="col">Age</th>
            <ActionsHeader show={canPatch} />
          </tr>
        </thead>
        <tbody>
          {namespaces.items.map((ns) => {
            const name = ns.metadata.name;
            const w = windowFormOf(ns.metadata.annotations);
            return (
              <tr key={name} data-namespace={name}>
                <td>
                  <Link to={urls.vms(name)}>{name}</Link>
                </td>
                <td>{ns.status?.phase ?? 'Active'}</td>
                <td data-testid={`window-${name}`}>
                  {w === undefined ? (
                    <span className="muted">none</span>
                  ) : w === 'unreadable' ? (
                    <span className="bad-text">unreadable (edit to replace it)</span>
                  ) : (
                    <span className="mono">{windowText(w)}</span>
                  )}
                </td>
                <td>{poolAdmissionOn(ns.metadata) ? 'on' : 'off'}</td>
                <td>
                  <Age iso={ns.metadata.creationTimestamp} />
                </td>
                {canPatch ? (
                  <td className="actions">
                    <button
                      type="button"
                      className="btn btn-small"
                      aria-label={`Edit window of ${name}`}
                      aria-expanded={editing === name}
                      aria-controls="window-editor"
                      onClick={() => setEditing(name)}
                    >
                      Edit window
                    </button>
                  </td>
                ) : null}
              </tr>
            );
          })}
          {isEmpty(namespaces) ? (
            <EmptyRow columns={canPatch ? 6 : 5}>No namespaces you may see.</EmptyRow>
          ) : null}
        </tbody>
      </table>
      {edited ? (
        <WindowEditor
          key={edited.metadata.name}
          namespace={edited}
          onDone={() => setEditing(undefined)}
        />
      ) : null}
    </section>
  );
}

function CreateNamespace(props: { onDone(): void }): ReactNode {
  const { api, notify } = useSession();
  const [name, setName] = useState('');
  const { busy, error, clearError, run } = useApiAction();
  // The server judges the name (DNS-1123 label, not taken); its cause for metadata.name goes under the field.
  const nameCause = error?.causeFor('metadata.name')?.message;
  const nameError = nameCause ?? (error?.reason === 'AlreadyExists' ? error.message : undefined);
  const submit = (): Promise<void> =>
    run(async () => {
      await api.create(paths.namespaces(), {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: name.trim() },
      });
      notify(`Created namespace ${name.trim()}.`);
      props.onDone();
    });
  return (
    <FormCard
      id="create-namespace"
      title="New namespace"
      submitLabel="Create"
      busyLabel="Creating…"
      busy={busy}
      onSubmit={() => void submit()}
      onCancel={props.onDone}
    >
      <TextField
        label="Namespace name"
        value={name}
        onChange={(v) => {
          setName(v);
          clearError();
        }}
        error={nameError}
        hint="Lowercase letters, digits and '-', starting and ending with a letter or digit"
        required
        autoFocus
      />
      {error && !nameError ? <ApiErrorNotice error={error} what="Not created" /> : null}
    </FormCard>
  );
}

const NO_WINDOW: WindowForm = { schedule: '', duration: '', timeZone: 'UTC' };

function WindowEditor(props: { namespace: Namespace; onDone(): void }): ReactNode {
  const { api, notify } = useSession();
  const name = props.namespace.metadata.name;
  const current = windowFormOf(props.namespace.metadata.annotations);
  const [form, setForm] = useState<WindowForm>(
    current === undefined || current === 'unreadable' ? NO_WINDOW : current,
  );
  const { busy: saving, error, clearError, run } = useApiAction();
  const errors = error ? placeWindowErrors(error.message, error.causes) : undefined;
  const send = (next: WindowForm | undefined): Promise<void> =>
    run(async () => {
      await api.patch(paths.namespace(name), windowPatch(next), 'merge');
      notify(next ? `Saved the maintenance window of ${name}.` : `Removed the window of ${name}.`);
      props.onDone();
    });
  const set = (k: keyof WindowForm) => (v: string) => {
    setForm((f) => ({ ...f, [k]: v }));
    clearError();
  };

  return (
    <FormCard
      id="window-editor"
      title={`Maintenance window of ${name}`}
      submitLabel="Save window"
      busyLabel="Saving…"
      busy={saving}
      onSubmit={() => void send(form)}
      onCancel={props.onDone}
      actions={
        current !== undefined ? (
          <button
            type="button"
            className="btn"
            disabled={saving}
            onClick={() => void send(undefined)}
          >
            Remove window
          </button>
        ) : null
      }
    >
      <p className="muted small">
        Restarts asked for &ldquo;in the maintenance window&rdquo; happen only while it is open. A
        VM&apos;s own window wins over its namespace&apos;s.
      </p>
      <div className="form-grid">
        <TextField
          label="Schedule (cron)"
          value={form.schedule}
          onChange={set('schedule')}
          error={errors?.fields.schedule}
          hint="When it opens: minute hour day-of-month month day-of-week, e.g. 0 2 * * SUN"
          mono
          autoFocus
        />
        <TextField
          label="Duration"
          value={form.duration}
          onChange={set('duration')}
          error={errors?.fields.duration}
          hint="How long it stays open, e.g. 2h, 90m or 1h30m"
          mono
        />
        <TextField
          label="Time zone"
          value={form.timeZone}
          onChange={set('timeZone')}
          error={errors?.fields.timeZone}
          hint="An IANA time zone, e.g. Europe/Berlin; empty for UTC"
          mono
        />
      </div>
      {errors?.general ? (
        <div className="api-error" role="alert">
          <strong>Not saved: </strong>
          {errors.general}
        </div>
      ) : null}
    </FormCard>
  );
}
