// Edit config: Basics (CPU, memory) and Networks → Advanced → MAC address, checked locally and by a server dry run before Save.
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import type { VirtualMachine } from '../../../src/resources/types.ts';
import { ApiError } from '../api/client.ts';
import { paths } from '../api/paths.ts';
import { useDryRun } from '../api/use-dry-run.ts';
import { ApiErrorNotice } from '../components/api-error.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { TextField } from '../components/field.tsx';
import { Tabs } from '../components/tabs.tsx';
import { checkMac } from '../model/mac-field.ts';
import { placeMacErrors } from '../model/mac-errors.ts';
import { POD_NETWORK } from '../model/nics.ts';
import { cpuOf, memoryOf, vmEditPatch } from '../model/vm.ts';
import { Link, navigate } from '../router.tsx';
import { urls } from '../model/urls.ts';
import { useSession } from '../session.ts';
import { useVmData } from './vm-data.ts';

/** A server warning as a sentence: its first letter capitalised, a full stop at the end. */
const sentence = (text: string): string =>
  `${text.charAt(0).toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? '' : '.'}`;

const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;

export function VmEditPage(props: { name: string }): ReactNode {
  const { namespace } = useSession();
  const { vms } = useVmData(namespace);
  const vm = vms.items.find((v) => v.metadata.name === props.name);
  if (!vm) {
    return (
      <section>
        <h1>Edit {props.name}</h1>
        <ApiErrorNotice error={vms.error} />
        <p>
          {vms.loaded ? `There is no virtual machine ${props.name} in ${namespace}.` : 'Loading…'}
        </p>
      </section>
    );
  }
  // Keyed by uid: the form starts from the VM as it was when opened, and is not overwritten by watch updates.
  return <EditForm key={vm.metadata.uid ?? vm.metadata.name} vm={vm} />;
}

interface NicRow {
  index: number;
  name: string;
  network: string;
  masquerade: boolean;
  model: string | undefined;
  original: string;
}

function EditForm(props: { vm: VirtualMachine }): ReactNode {
  const { api, namespace, notify } = useSession();
  const [initial] = useState(props.vm);
  const name = initial.metadata.name;
  const nics: NicRow[] = useMemo(() => {
    const spec = initial.spec.template.spec;
    return (spec.domain.devices.interfaces ?? []).map((iface, index) => {
      const net = spec.networks?.find((n) => n.name === iface.name);
      return {
        index,
        name: iface.name,
        network: net?.multus?.networkName ?? POD_NETWORK,
        masquerade: iface.masquerade !== undefined,
        model: iface.model,
        original: iface.macAddress ?? '',
      };
    });
  }, [initial]);

  const [tab, setTab] = useState('networks');
  const [cpu, setCpu] = useState(String(cpuOf(initial) ?? 1));
  const [memory, setMemory] = useState(memoryOf(initial) ?? '');
  const [macs, setMacs] = useState<string[]>(nics.map((n) => n.original));
  const [open, setOpen] = useState<Set<number>>(new Set());
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<ApiError>();

  const localChecks = nics.map((n, i) => checkMac(macs[i] ?? '', { masquerade: n.masquerade }));
  const changedMacs = new Map<number, string>();
  nics.forEach((n, i) => {
    const check = localChecks[i];
    const text = (macs[i] ?? '').trim();
    const canonical = check?.kind === 'valid' ? check.mac : text;
    if (canonical !== n.original.toLowerCase() && text !== n.original)
      changedMacs.set(i, check?.kind === 'valid' ? check.mac : text);
  });
  const cpuNumber = Number(cpu);
  const cpuError =
    Number.isInteger(cpuNumber) && cpuNumber >= 1 && cpuNumber <= 64
      ? undefined
      : 'CPU cores: a whole number from 1 to 64.';
  const memoryError = QUANTITY.test(memory.trim())
    ? undefined
    : 'Memory: a quantity such as 512Mi or 2Gi.';
  const resourcesChanged =
    String(cpuOf(initial) ?? 1) !== cpu || (memoryOf(initial) ?? '') !== memory.trim();
  const localInvalid =
    localChecks.some((c) => c.kind === 'invalid') ||
    cpuError !== undefined ||
    memoryError !== undefined;

  const patch = vmEditPatch(
    initial,
    changedMacs,
    resourcesChanged ? { cpuCores: cpuNumber, memory: memory.trim() } : undefined,
  );

  const hasChanges = changedMacs.size > 0 || resourcesChanged;
  const dryKey = hasChanges && !localInvalid ? JSON.stringify(patch) : null;
  const vmPath = paths.vm(namespace, name);
  // The dry run as the change is typed also hears the server's warnings (Warning headers), so they show beside the
  // field before Save, which asks again.
  const dry = useDryRun(
    dryKey,
    async () => (await api.patchWithWarnings(vmPath, patch, 'merge', { dryRun: true })).warnings,
  );
  const dryWarnings = dry.status === 'ok' ? dry.value : [];

  const candidates = [...changedMacs].map(([index, mac]) => ({ index, mac }));
  const serverError = saveError ?? (dry.status === 'error' ? dry.error : undefined);
  const placed = serverError ? placeMacErrors(serverError, candidates) : undefined;

  // A field the server objects to is opened, so its message is seen.
  useEffect(() => {
    if (placed && placed.byIndex.size > 0) {
      setOpen((o) => {
        const missing = [...placed.byIndex.keys()].filter((i) => !o.has(i));
        return missing.length === 0 ? o : new Set([...o, ...missing]);
      });
      setTab('networks');
    }
  }, [placed?.byIndex.size]);

  const canSave = hasChanges && !localInvalid && dry.status === 'ok' && !saving;

  // The server's warnings about exactly what is on screen (a dry run on Save), shown for a decision before it is saved.
  const [warned, setWarned] = useState<{ key: string; warnings: string[] }>();
  const warnings = warned && warned.key === dryKey ? warned.warnings : undefined;

  const write = async (options: { askOnWarnings: boolean }): Promise<void> => {
    setSaving(true);
    setSaveError(undefined);
    setWarned(undefined);
    try {
      if (options.askOnWarnings && dryKey !== null) {
        // Kubernetes sends a warning (an accepted change it doubts: a MAC the guest's networkData still matches) as a
        // Warning header; a dry run hears it before anything is stored.
        const dryRun = await api.patchWithWarnings(vmPath, patch, 'merge', { dryRun: true });
        if (dryRun.warnings.length > 0) {
          setWarned({ key: dryKey, warnings: dryRun.warnings });
          return;
        }
      }
      await api.patch(vmPath, patch, 'merge');
      notify(`Saved ${name}.`);
      navigate(urls.vm(namespace, name, 'networks'));
    } catch (e) {
      setSaveError(e instanceof ApiError ? e : new ApiError(0, 'NetworkError', String(e)));
    } finally {
      setSaving(false);
    }
  };
  const save = (): Promise<void> => write({ askOnWarnings: true });

  const macNote = (i: number): ReactNode => {
    if (!changedMacs.has(i)) return undefined;
    const mac = changedMacs.get(i) as string;
    if (dry.status === 'checking')
      return (
        <span className="busy-text">
          Checking with the server that {mac || 'this change'} is free…
        </span>
      );
    if (dry.status === 'ok') {
      const verdict =
        mac === '' ? (
          <span className="ok-text">The pool will assign a new MAC.</span>
        ) : (
          <span className="ok-text">✓ {mac} is valid and free (server dry run).</span>
        );
      if (dryWarnings.length === 0) return verdict;
      return (
        <>
          {verdict}
          <span className="field-warning" data-testid="mac-warnings">
            The server warns: {dryWarnings.map(sentence).join(' ')}
          </span>
        </>
      );
    }
    return undefined;
  };

  return (
    <section aria-labelledby="edit-title">
      <p className="crumbs">
        <Link to={urls.vms(namespace)}>Virtual Machines</Link> /{' '}
        <Link to={urls.vm(namespace, name)}>{name}</Link> /
      </p>
      <h1 id="edit-title">Edit config: {name}</h1>
      {warnings ? (
        <ConfirmDialog
          title={`Save ${name} despite the server's warning?`}
          confirmLabel="Save anyway"
          busy={saving}
          onConfirm={() => void write({ askOnWarnings: false })}
          onCancel={() => setWarned(undefined)}
        >
          <p>The server accepts this change, but warns:</p>
          <ul className="save-warnings" data-testid="save-warnings">
            {warnings.map((w) => (
              <li key={w}>{sentence(w)}</li>
            ))}
          </ul>
          <p>Nothing is saved until you choose Save anyway.</p>
        </ConfirmDialog>
      ) : null}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (canSave) void save();
        }}
        noValidate
      >
        <Tabs
          label="Configuration sections"
          tabs={[
            { id: 'basics', label: 'Basics' },
            { id: 'networks', label: 'Networks' },
          ]}
          selected={tab}
          onSelect={setTab}
        >
          {tab === 'basics' ? (
            <div className="tab-body form-grid">
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
                hint="e.g. 512Mi, 2Gi"
                required
                mono
              />
              {resourcesChanged ? (
                <p className="muted">CPU and memory changes apply on the next restart.</p>
              ) : null}
            </div>
          ) : (
            <div className="tab-body">
              {nics.map((n, i) => {
                const check = localChecks[i];
                const isOpen = open.has(i);
                const panelId = `nic-adv-${i}`;
                const fieldError =
                  check?.kind === 'invalid' ? check.message : placed?.byIndex.get(i);
                return (
                  <fieldset key={n.name} className="card nic-edit" data-nic={n.name}>
                    <legend className="card-title">Network interface {n.name}</legend>
                    <dl className="facts compact">
                      <dt>Network</dt>
                      <dd>{n.network}</dd>
                      <dt>Type</dt>
                      <dd>{n.masquerade ? 'masquerade' : 'bridge'}</dd>
                      <dt>Model</dt>
                      <dd>{n.model ?? 'virtio'}</dd>
                      <dt>Current MAC</dt>
                      <dd className="mono">{n.original || 'assigned by the pool'}</dd>
                    </dl>
                    <button
                      type="button"
                      className="disclosure"
                      aria-expanded={isOpen}
                      aria-controls={panelId}
                      onClick={() =>
                        setOpen((o) => {
                          const next = new Set(o);
                          if (next.has(i)) next.delete(i);
                          else next.add(i);
                          return next;
                        })
                      }
                    >
                      <span aria-hidden="true">{isOpen ? '▾' : '▸'}</span> Advanced
                    </button>
                    <div id={panelId} hidden={!isOpen} className="advanced">
                      <TextField
                        label={`MAC address of ${n.name}`}
                        value={macs[i] ?? ''}
                        onChange={(v) => {
                          setSaveError(undefined);
                          setMacs((m) => m.map((x, j) => (j === i ? v : x)));
                        }}
                        error={fieldError}
                        note={macNote(i)}
                        hint="52:54:00:ab:cd:ef, 52-54-00-AB-CD-EF, 5254.00ab.cdef or 525400abcdef. Leave empty to get one from the pool."
                        placeholder={n.original || '02:xx:xx:xx:xx:xx'}
                        mono
                      />
                    </div>
                  </fieldset>
                );
              })}
            </div>
          )}
        </Tabs>
        {placed?.general ? (
          <ApiErrorNotice
            error={
              new ApiError(serverError?.code ?? 0, serverError?.reason ?? 'Unknown', placed.general)
            }
            what="The server would not accept this"
          />
        ) : null}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={!canSave}>
            {saving ? 'Saving…' : 'Save'}
          </button>
          <button type="button" className="btn" onClick={() => navigate(urls.vm(namespace, name))}>
            Cancel
          </button>
          <span className="muted small" aria-live="polite">
            {!hasChanges
              ? 'No changes yet.'
              : localInvalid
                ? 'Fix the marked fields to save.'
                : dry.status === 'checking'
                  ? 'Checking with the server…'
                  : dry.status === 'ok'
                    ? dryWarnings.length > 0
                      ? 'The server accepts these changes with a warning (dry run); Save asks before storing them.'
                      : 'The server accepts these changes (dry run). A MAC change applies on restart.'
                    : 'The server would reject these changes.'}
          </span>
        </div>
      </form>
    </section>
  );
}
