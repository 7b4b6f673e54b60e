// VM networks (NetworkAttachmentDefinitions): the list, and creating a bridge network with a VLAN and a DHCP range.
import { useState, type FormEvent, type ReactNode } from 'react';
import type { NetworkAttachmentDefinition, VirtualMachine } from '../../../src/resources/types.ts';
import { ApiError } from '../api/client.ts';
import { paths } from '../api/paths.ts';
import { isEmpty, useLiveList } from '../api/use-watch.ts';
import { ApiErrorNotice } from '../components/api-error.tsx';
import { useConfirm } from '../components/confirm.tsx';
import { TextField } from '../components/field.tsx';
import { Age } from '../components/time.tsx';
import {
  bridgeNad,
  bridgeView,
  validateBridgeNetwork,
  type BridgeNetwork,
} from '../model/network-config.ts';
import { useSession } from '../session.ts';

export function NetworksPage(): ReactNode {
  const { api, namespace, notify } = useSession();
  const nads = useLiveList<NetworkAttachmentDefinition>(api, paths.nads(namespace));
  const vms = useLiveList<VirtualMachine>(api, paths.vms(namespace));
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<ReadonlySet<string>>(new Set());
  const { dialog, confirm } = useConfirm();
  const remove = async (name: string): Promise<void> => {
    setDeleting((d) => new Set(d).add(name));
    try {
      await api.delete(paths.nad(namespace, name));
      notify(`Deleted network ${name}.`);
    } catch (e) {
      notify(
        `Delete network ${name} failed: ${e instanceof ApiError ? e.message : String(e)}`,
        'error',
      );
    } finally {
      setDeleting((d) => {
        const next = new Set(d);
        next.delete(name);
        return next;
      });
    }
  };
  const confirmDelete = (name: string, users: string[]): void =>
    confirm({
      title: `Delete network ${name}?`,
      body:
        users.length > 0 ? (
          <p>
            {users.length === 1
              ? 'One virtual machine uses'
              : `${users.length} virtual machines use`}{' '}
            it ({users.slice(0, 5).join(', ')}
            {users.length > 5 ? ', …' : ''}): their NICs on {name} lose their network until it is
            created again. This cannot be undone.
          </p>
        ) : (
          <p>No virtual machine uses it. This cannot be undone.</p>
        ),
      confirmLabel: `Delete network ${name}`,
      danger: true,
      onConfirm: () => void remove(name),
    });

  const usersOf = (nad: string): string[] =>
    vms.items
      .filter((vm) =>
        (vm.spec.template?.spec?.networks ?? []).some((n) => {
          const ref = n.multus?.networkName;
          return ref === nad || ref === `${namespace}/${nad}`;
        }),
      )
      .map((vm) => vm.metadata.name);

  return (
    <section aria-labelledby="nets-title">
      {dialog}
      <div className="page-head">
        <h1 id="nets-title">Networks</h1>
        <div className="page-tools">
          <button
            type="button"
            className="btn btn-primary"
            onClick={() => setCreating(true)}
            aria-expanded={creating}
            aria-controls="create-network"
          >
            Create
          </button>
        </div>
      </div>
      {creating ? <CreateNetwork onDone={() => setCreating(false)} /> : null}
      <ApiErrorNotice error={nads.error} what="Listing networks" />
      <table className="table">
        <caption className="sr-only">Networks in namespace {namespace}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Type</th>
            <th scope="col">VLAN</th>
            <th scope="col">Subnet</th>
            <th scope="col">DHCP range</th>
            <th scope="col">Gateway</th>
            <th scope="col">Used by</th>
            <th scope="col">Age</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {nads.items.map((nad) => {
            const v = bridgeView(nad);
            const users = usersOf(nad.metadata.name);
            return (
              <tr key={nad.metadata.name}>
                <td>{nad.metadata.name}</td>
                <td>{v.type}</td>
                <td>{v.vlan ?? 'untagged'}</td>
                <td className="mono">{v.subnet ?? '—'}</td>
                <td className="mono">
                  {v.rangeStart && v.rangeEnd ? `${v.rangeStart} – ${v.rangeEnd}` : '—'}
                </td>
                <td className="mono">{v.gateway ?? '—'}</td>
                <td>
                  {users.length > 0 ? users.join(', ') : <span className="muted">no VM</span>}
                </td>
                <td>
                  <Age iso={nad.metadata.creationTimestamp} />
                </td>
                <td className="actions">
                  <button
                    type="button"
                    className="btn btn-small btn-danger-outline"
                    disabled={deleting.has(nad.metadata.name)}
                    aria-label={`Delete network ${nad.metadata.name}`}
                    onClick={() => confirmDelete(nad.metadata.name, users)}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            );
          })}
          {isEmpty(nads) ? (
            <tr>
              <td colSpan={9} className="empty">
                No networks in {namespace}. VMs can still use the pod network.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </section>
  );
}

function CreateNetwork(props: { onDone(): void }): ReactNode {
  const { api, namespace, notify } = useSession();
  const [form, setForm] = useState({
    name: '',
    vlan: '',
    subnet: '198.18.5.0/24',
    rangeStart: '198.18.5.100',
    rangeEnd: '198.18.5.199',
    gateway: '198.18.5.1',
  });
  const [submitted, setSubmitted] = useState(false);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<ApiError>();
  const vlanText = form.vlan.trim();
  const network: BridgeNetwork = {
    ...form,
    name: form.name.trim(),
    vlan: vlanText === '' ? undefined : Number(vlanText),
  };
  const errors = validateBridgeNetwork(network);
  const errorOf = (field: keyof BridgeNetwork): string | undefined => {
    const local = errors.find((e) => e.field === field)?.message;
    // The name is only judged once typed into or on submit, so an empty form does not open in red.
    if (field === 'name' && form.name === '' && !submitted) return undefined;
    if (local) return local;
    const cause = error?.causes.find((c) =>
      c.field?.endsWith(field === 'name' ? 'metadata.name' : field),
    );
    return cause?.message;
  };
  const set = (k: keyof typeof form) => (v: string) => {
    setError(undefined);
    setForm({ ...form, [k]: v });
  };
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setSubmitted(true);
    if (errors.length > 0) return;
    setSaving(true);
    try {
      await api.create(paths.nads(namespace), bridgeNad(namespace, network));
      notify(`Created network ${network.name}.`);
      props.onDone();
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'NetworkError', String(err)));
    } finally {
      setSaving(false);
    }
  };
  return (
    <form
      id="create-network"
      className="card"
      onSubmit={(e) => void submit(e)}
      noValidate
      aria-labelledby="create-network-title"
    >
      <h2 id="create-network-title" className="card-title">
        New bridge network
      </h2>
      <div className="form-grid">
        <TextField
          label="Name"
          value={form.name}
          onChange={set('name')}
          error={errorOf('name')}
          required
          autoFocus
        />
        <TextField
          label="VLAN ID"
          type="number"
          min={1}
          max={4094}
          value={form.vlan}
          onChange={set('vlan')}
          error={errorOf('vlan')}
          hint="1–4094; empty for untagged"
        />
        <TextField
          label="Subnet"
          value={form.subnet}
          onChange={set('subnet')}
          error={errorOf('subnet')}
          hint="Internal networks use 198.18.0.0/15"
          required
          mono
        />
        <TextField
          label="Gateway"
          value={form.gateway}
          onChange={set('gateway')}
          error={errorOf('gateway')}
          required
          mono
        />
        <TextField
          label="DHCP range start"
          value={form.rangeStart}
          onChange={set('rangeStart')}
          error={errorOf('rangeStart')}
          required
          mono
        />
        <TextField
          label="DHCP range end"
          value={form.rangeEnd}
          onChange={set('rangeEnd')}
          error={errorOf('rangeEnd')}
          required
          mono
        />
      </div>
      <ApiErrorNotice error={error} what="Create failed" />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={saving}>
          {saving ? 'Creating…' : 'Create network'}
        </button>
        <button type="button" className="btn" onClick={props.onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
