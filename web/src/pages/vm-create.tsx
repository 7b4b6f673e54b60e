// Create a VM: name, CPU, memory, one or more networks, an optional MAC per NIC (checked as typed and by a dry run).
import { useState, type FormEvent, type ReactNode } from 'react';
import type { NetworkAttachmentDefinition } from '../../../src/resources/types.ts';
import { ApiError } from '../api/client.ts';
import { paths } from '../api/paths.ts';
import { useDryRun } from '../api/use-dry-run.ts';
import { useLiveList } from '../api/use-watch.ts';
import { ApiErrorNotice } from '../components/api-error.tsx';
import { SelectField, TextField } from '../components/field.tsx';
import { checkMac } from '../model/mac-field.ts';
import { placeMacErrors } from '../model/mac-errors.ts';
import { POD_NETWORK } from '../model/nics.ts';
import { nicName, vmManifest, type NewNic } from '../model/vm.ts';
import { Link, navigate } from '../router.tsx';
import { urls } from '../model/urls.ts';
import { useSession } from '../session.ts';

const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;

export function VmCreatePage(): ReactNode {
  const { api, namespace, notify } = useSession();
  const nads = useLiveList<NetworkAttachmentDefinition>(api, paths.nads(namespace));
  const [name, setName] = useState('');
  const [cpu, setCpu] = useState('1');
  const [memory, setMemory] = useState('256Mi');
  const [start, setStart] = useState(true);
  const [nics, setNics] = useState<NewNic[]>([{ network: '', macAddress: '' }]);
  const [touched, setTouched] = useState(false);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<ApiError>();

  const firstNad = nads.items[0]?.metadata.name;
  // Until the operator picks, a new VM joins the first bridge network if there is one (as Harvester pre-selects).
  const effective = nics.map((n, i) =>
    i === 0 && n.network === '' && firstNad && !touched ? { ...n, network: firstNad } : n,
  );

  const nameError =
    name === ''
      ? touched
        ? 'A name is required.'
        : undefined
      : DNS1123.test(name) && name.length <= 63
        ? undefined
        : 'Use lower-case letters, digits and "-", starting and ending with a letter or digit (at most 63).';
  const cpuNumber = Number(cpu);
  const cpuError =
    Number.isInteger(cpuNumber) && cpuNumber >= 1 && cpuNumber <= 64
      ? undefined
      : 'A whole number from 1 to 64.';
  const memoryError = QUANTITY.test(memory.trim()) ? undefined : 'A quantity such as 256Mi or 2Gi.';
  const macChecks = effective.map((n) => checkMac(n.macAddress, { masquerade: n.network === '' }));
  const seen = new Map<string, number>();
  const duplicateIn = new Map<number, string>();
  macChecks.forEach((c, i) => {
    if (c.kind !== 'valid') return;
    const prev = seen.get(c.mac);
    if (prev !== undefined)
      duplicateIn.set(i, `Already used by ${nicName(effective[prev] as NewNic, prev)} of this VM.`);
    else seen.set(c.mac, i);
  });
  const localInvalid =
    name === '' ||
    nameError !== undefined ||
    cpuError !== undefined ||
    memoryError !== undefined ||
    macChecks.some((c) => c.kind === 'invalid') ||
    duplicateIn.size > 0;

  const manifest = vmManifest({
    namespace,
    name,
    cpuCores: cpuNumber,
    memory: memory.trim(),
    start,
    nics: effective.map((n, i) => {
      const c = macChecks[i];
      return { network: n.network, macAddress: c?.kind === 'valid' ? c.mac : n.macAddress };
    }),
  });
  const givenMacs = macChecks.flatMap((c, i) =>
    c.kind === 'valid' ? [{ index: i, mac: c.mac }] : [],
  );
  // Only MACs need the server's word before submit (is it free?); other fields are judged here.
  const dryKey = !localInvalid && givenMacs.length > 0 ? JSON.stringify(manifest) : null;
  const dry = useDryRun(dryKey, () => api.create(paths.vms(namespace), manifest, { dryRun: true }));
  const serverError = error ?? (dry.status === 'error' ? dry.error : undefined);
  const placed = serverError ? placeMacErrors(serverError, givenMacs) : undefined;

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setTouched(true);
    if (localInvalid || dry.status === 'checking' || dry.status === 'error') return;
    setSaving(true);
    setError(undefined);
    try {
      await api.create(paths.vms(namespace), manifest);
      notify(`Created ${name}.`);
      navigate(urls.vm(namespace, name, 'networks'));
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'NetworkError', String(err)));
    } finally {
      setSaving(false);
    }
  };

  const networkOptions = [
    { value: '', label: `${POD_NETWORK} (masquerade)` },
    ...nads.items.map((n) => ({ value: n.metadata.name, label: `${n.metadata.name} (bridge)` })),
  ];

  return (
    <section aria-labelledby="create-title">
      <p className="crumbs">
        <Link to={urls.vms(namespace)}>Virtual Machines</Link> /
      </p>
      <h1 id="create-title">Create virtual machine</h1>
      <form onSubmit={(e) => void submit(e)} noValidate className="create-form">
        <div className="card">
          <h2 className="card-title">Basics</h2>
          <div className="form-grid">
            <TextField
              label="Name"
              value={name}
              onChange={(v) => {
                setName(v);
                setError(undefined);
              }}
              error={nameError}
              required
              autoFocus
            />
            <TextField
              label="CPU cores"
              type="number"
              min={1}
              max={64}
              value={cpu}
              onChange={setCpu}
              error={cpuError}
              required
            />
            <TextField
              label="Memory"
              value={memory}
              onChange={setMemory}
              error={memoryError}
              hint="e.g. 256Mi, 2Gi"
              required
              mono
            />
            <div className="field checkbox">
              <input
                id="start-after"
                type="checkbox"
                checked={start}
                onChange={(e) => setStart(e.target.checked)}
              />
              <label htmlFor="start-after">Start the virtual machine after creation</label>
            </div>
          </div>
        </div>
        <div className="card">
          <h2 className="card-title">Networks</h2>
          {effective.map((n, i) => {
            const c = macChecks[i];
            const fieldError =
              c?.kind === 'invalid' ? c.message : (duplicateIn.get(i) ?? placed?.byIndex.get(i));
            const note =
              c?.kind === 'valid' ? (
                dry.status === 'checking' ? (
                  <span className="busy-text">Checking with the server that {c.mac} is free…</span>
                ) : dry.status === 'ok' ? (
                  <span className="ok-text">✓ {c.mac} is valid and free (server dry run).</span>
                ) : undefined
              ) : undefined;
            return (
              <fieldset key={i} className="nic-row" data-nic-index={i}>
                <legend>
                  NIC {i + 1} <span className="muted small">({nicName(n, i)})</span>
                </legend>
                <SelectField
                  label={`Network of NIC ${i + 1}`}
                  value={n.network}
                  options={networkOptions}
                  onChange={(v) => {
                    setTouched(true);
                    setNics(effective.map((x, j) => (j === i ? { ...x, network: v } : x)));
                  }}
                />
                <TextField
                  label={`MAC address of NIC ${i + 1} (optional)`}
                  value={n.macAddress}
                  onChange={(v) => {
                    setError(undefined);
                    setNics(effective.map((x, j) => (j === i ? { ...x, macAddress: v } : x)));
                  }}
                  error={fieldError}
                  note={note}
                  placeholder="from the MAC pool"
                  mono
                />
                {effective.length > 1 ? (
                  <button
                    type="button"
                    className="btn btn-small btn-ghost"
                    onClick={() => setNics(effective.filter((_, j) => j !== i))}
                    aria-label={`Remove NIC ${i + 1}`}
                  >
                    Remove
                  </button>
                ) : null}
              </fieldset>
            );
          })}
          <button
            type="button"
            className="btn btn-small"
            onClick={() => setNics([...effective, { network: firstNad ?? '', macAddress: '' }])}
          >
            Add network
          </button>
        </div>
        {serverError && placed?.general ? (
          <ApiErrorNotice
            error={new ApiError(serverError.code, serverError.reason, placed.general)}
            what={error ? 'Create failed' : 'The server would not accept this'}
          />
        ) : null}
        <div className="form-actions">
          <button
            type="submit"
            className="btn btn-primary"
            disabled={saving || dry.status === 'checking'}
          >
            {saving ? 'Creating…' : 'Create'}
          </button>
          <button type="button" className="btn" onClick={() => navigate(urls.vms(namespace))}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}
