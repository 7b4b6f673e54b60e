// Persistent disks of the namespace: DataVolumes and PersistentVolumeClaims, their size, source, node and the VMs that
// use them; a disk no VM uses can be deleted after a confirmation (its DataVolume, whose claim and file go with it).
import { useState, type ReactNode } from 'react';
import type {
  DataVolume,
  PersistentVolumeClaim,
  VirtualMachine,
  VirtualMachineInstance,
} from '../../../src/resources/types.ts';
import { useCanI } from '../api/access.ts';
import { paths } from '../api/paths.ts';
import { useApiAction } from '../api/use-action.ts';
import { isEmpty, useLiveList } from '../api/use-watch.ts';
import { ApiErrorNotice } from '../components/api-error.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { ActionsHeader, EmptyRow } from '../components/form-card.tsx';
import { Age } from '../components/time.tsx';
import { diskRows, type DiskRow } from '../model/disks.ts';
import { urls } from '../model/urls.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.ts';

export function DisksPage(): ReactNode {
  const { api, namespace } = useSession();
  const dvs = useLiveList<DataVolume>(api, paths.dataVolumes(namespace));
  const claims = useLiveList<PersistentVolumeClaim>(api, paths.claims(namespace));
  const vms = useLiveList<VirtualMachine>(api, paths.vms(namespace));
  const vmis = useLiveList<VirtualMachineInstance>(api, paths.vmis(namespace));
  const canDelete = useCanI(api, {
    verb: 'delete',
    group: 'cdi.kubevirt.io',
    resource: 'datavolumes',
    namespace,
  });
  const [deleting, setDeleting] = useState<DiskRow>();
  const rows = diskRows(dvs.items, claims.items, vms.items, vmis.items);
  // "Unused" is a promise only when what uses disks is known and current.
  const usersKnown =
    vms.loaded && vmis.loaded && !vms.stale && !vmis.stale && !vms.error && !vmis.error;
  const lists = [dvs, claims];

  return (
    <section aria-labelledby="disks-title">
      <h1 id="disks-title">Disks</h1>
      <p className="muted small">
        Persistent disks in {namespace}: each lives on the node of the first VM that used it and
        survives every restart. A disk a VM owns goes when that VM is deleted.
      </p>
      <ApiErrorNotice error={dvs.error} what="Listing DataVolumes" />
      <ApiErrorNotice error={claims.error} what="Listing claims" />
      <ApiErrorNotice error={vms.error} what="Listing VMs" />
      <table className="table">
        <caption className="sr-only">Persistent disks in namespace {namespace}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Phase</th>
            <th scope="col">Size</th>
            <th scope="col">Source</th>
            <th scope="col">Used by</th>
            <th scope="col">Node</th>
            <th scope="col">Age</th>
            <ActionsHeader show={canDelete} />
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.name} data-disk={r.name}>
              <td>
                {r.name}
                {!r.dataVolume ? <span className="muted small"> (claim only)</span> : null}
              </td>
              <td>{r.phase}</td>
              <td className="nowrap">{r.size ?? '—'}</td>
              <td className="mono">{r.source}</td>
              <td data-testid={`disk-${r.name}-users`}>
                {r.usedBy.length > 0 ? (
                  <>
                    {r.usedBy.map((vm, i) => (
                      <span key={vm}>
                        {i > 0 ? ', ' : ''}
                        <Link to={urls.vm(namespace, vm)}>{vm}</Link>
                      </span>
                    ))}
                    {r.owner ? <span className="muted small"> (owned by {r.owner})</span> : null}
                  </>
                ) : (
                  <span className="muted">no VM</span>
                )}
              </td>
              <td>{r.node ?? <span className="muted">not placed yet</span>}</td>
              <td>
                <Age iso={r.created} />
              </td>
              {canDelete ? (
                <td className="actions">
                  {r.usedBy.length === 0 && usersKnown ? (
                    <button
                      type="button"
                      className="btn btn-small"
                      aria-label={`Delete disk ${r.name}`}
                      onClick={() => setDeleting(r)}
                    >
                      Delete
                    </button>
                  ) : null}
                </td>
              ) : null}
            </tr>
          ))}
          {lists.every(isEmpty) ? (
            <EmptyRow columns={canDelete ? 8 : 7}>
              No persistent disks in {namespace}. A VM gets one from a dataVolumeTemplates entry or
              a DataVolume its volumes name.
            </EmptyRow>
          ) : null}
        </tbody>
      </table>
      {deleting ? (
        <DeleteDisk key={deleting.name} row={deleting} onDone={() => setDeleting(undefined)} />
      ) : null}
    </section>
  );
}

function DeleteDisk(props: { row: DiskRow; onDone(): void }): ReactNode {
  const { api, namespace, notify } = useSession();
  const { busy, error, run } = useApiAction();
  const r = props.row;
  const remove = (): Promise<void> =>
    run(async () => {
      // The DataVolume owns its claim: deleting it takes the claim and the disk file along.
      await api.request(
        'DELETE',
        r.dataVolume ? paths.dataVolume(namespace, r.name) : paths.claim(namespace, r.name),
      );
      notify(`Deleted disk ${r.name}.`);
      props.onDone();
    });
  return (
    <ConfirmDialog
      title={`Delete disk ${r.name}?`}
      confirmLabel="Delete disk"
      busy={busy}
      error={<ApiErrorNotice error={error} what="Not deleted" />}
      onConfirm={() => void remove()}
      onCancel={props.onDone}
    >
      <p>
        Its data{r.size ? ` (${r.size})` : ''}
        {r.node ? ` on node ${r.node}` : ''} is deleted for good. No VM uses it.
      </p>
    </ConfirmDialog>
  );
}
