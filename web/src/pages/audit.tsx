// The audit log of the namespace: filter by VM, user and time; export what is shown as JSON.
import { useState, type ReactNode } from 'react';
import type { AuditRecord } from '../../../src/resources/types.ts';
import { paths } from '../api/paths.ts';
import { useLiveList } from '../api/use-watch.ts';
import { ApiErrorNotice } from '../components/api-error.tsx';
import { AuditTable } from '../components/audit-table.tsx';
import { SelectField, TextField } from '../components/field.tsx';
import {
  auditExport,
  auditedVmNames,
  emptyAuditFilter,
  filterAudit,
  type AuditFilter,
} from '../model/audit.ts';
import { useLocation } from '../router.tsx';
import { useSession } from '../session.ts';

/** datetime-local text (local time, no zone) → ISO instant, or '' when empty or unreadable. */
const toIso = (local: string): string => {
  if (!local) return '';
  const t = new Date(local);
  return Number.isNaN(t.getTime()) ? '' : t.toISOString();
};

export function AuditPage(): ReactNode {
  const { api, namespace } = useSession();
  const { query } = useLocation();
  const records = useLiveList<AuditRecord>(api, paths.auditRecords(namespace));
  const [vm, setVm] = useState(query.get('vm') ?? '');
  const [user, setUser] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const filter: AuditFilter = { ...emptyAuditFilter, vm, user, from: toIso(from), to: toIso(to) };
  const shown = filterAudit(records.items, filter);
  const objects = auditedVmNames(records.items);

  const exportJson = (): void => {
    const blob = new Blob([auditExport(shown, namespace, filter, new Date())], {
      type: 'application/json',
    });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `harrow-audit-${namespace}-${new Date().toISOString().replaceAll(':', '-').slice(0, 19)}.json`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  return (
    <section aria-labelledby="audit-title">
      <div className="page-head">
        <h1 id="audit-title">Audit Log</h1>
        <div className="page-tools">
          <button type="button" className="btn" onClick={exportJson} disabled={shown.length === 0}>
            Export JSON ({shown.length})
          </button>
        </div>
      </div>
      <form
        className="filters card"
        role="search"
        aria-label="Filter audit records"
        onSubmit={(e) => e.preventDefault()}
      >
        <SelectField
          label="Virtual machine"
          value={vm}
          onChange={setVm}
          options={[
            { value: '', label: 'All objects' },
            ...(vm && !objects.includes(vm) ? [vm] : [])
              .concat(objects)
              .map((o) => ({ value: o, label: o })),
          ]}
        />
        <TextField label="User" value={user} onChange={setUser} placeholder="e.g. admin" />
        <TextField label="From" type="datetime-local" value={from} onChange={setFrom} />
        <TextField label="To" type="datetime-local" value={to} onChange={setTo} />
        <button
          type="button"
          className="btn btn-ghost"
          onClick={() => {
            setVm('');
            setUser('');
            setFrom('');
            setTo('');
          }}
        >
          Clear filters
        </button>
      </form>
      <ApiErrorNotice error={records.error} what="Listing audit records" />
      <p className="muted small" aria-live="polite">
        {records.loaded
          ? `${shown.length} of ${records.items.length} records in ${namespace}, newest first.`
          : 'Loading…'}
      </p>
      <AuditTable
        records={shown}
        caption={`Audit records in ${namespace}`}
        current={records.loaded && !records.stale && !records.error}
      />
    </section>
  );
}
