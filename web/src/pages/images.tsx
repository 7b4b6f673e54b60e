// The local image store: the images containerDisk volumes and DataVolumes can name, as the server lists them
// (VirtualMachineImage, read-only), with what in the current namespace uses each.
import type { ReactNode } from 'react';
import type {
  DataVolume,
  VirtualMachine,
  VirtualMachineImage,
} from '../../../src/resources/types.ts';
import { paths } from '../api/paths.ts';
import { isEmpty, useLiveList } from '../api/use-watch.ts';
import { ApiErrorNotice } from '../components/api-error.tsx';
import { EmptyRow } from '../components/form-card.tsx';
import { Age } from '../components/time.tsx';
import { imageUsers, sizeText } from '../model/images.ts';
import { useSession } from '../session.ts';

const BOOT: Record<string, string> = {
  firmware: 'its own boot loader',
  kernel: "the host's kernel",
};

export function ImagesPage(): ReactNode {
  const { api, namespace } = useSession();
  const images = useLiveList<VirtualMachineImage>(api, paths.images());
  const vms = useLiveList<VirtualMachine>(api, paths.vms(namespace));
  const dvs = useLiveList<DataVolume>(api, paths.dataVolumes(namespace));

  return (
    <section aria-labelledby="images-title">
      <h1 id="images-title">Images</h1>
      <p className="muted small">
        The server&apos;s local image store. A VM boots one through a containerDisk volume (a
        throw-away copy per start) or copies it into a persistent disk (a DataVolume whose source
        names it). Images are added on the server&apos;s host with <code>harrow image import</code>{' '}
        or <code>harrow image build debian</code>; the API lists them read-only.
      </p>
      <ApiErrorNotice error={images.error} what="Listing images" />
      <table className="table">
        <caption className="sr-only">Images in the local image store</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Also known as</th>
            <th scope="col">Format</th>
            <th scope="col">Size</th>
            <th scope="col">Boots with</th>
            <th scope="col">Used in {namespace}</th>
            <th scope="col">Imported</th>
          </tr>
        </thead>
        <tbody>
          {images.items.map((image) => {
            const users = imageUsers(image, vms.items, dvs.items);
            const used = [
              ...users.vms.map((v) => `VM ${v}`),
              ...users.disks.map((d) => `disk ${d}`),
            ];
            return (
              <tr key={image.metadata.name} data-image={image.metadata.name}>
                <td>{image.metadata.name}</td>
                <td className="mono">
                  {image.spec.aliases.length > 0 ? (
                    image.spec.aliases.join(', ')
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
                <td>{image.status?.format ?? '—'}</td>
                <td className="nowrap">
                  {image.status ? sizeText(image.status.virtualSizeBytes) : '—'}
                </td>
                <td>{BOOT[image.status?.boot ?? ''] ?? '—'}</td>
                <td>
                  {used.length > 0 ? used.join(', ') : <span className="muted">nothing</span>}
                </td>
                <td>
                  <Age iso={image.status?.imported ?? image.metadata.creationTimestamp} />
                </td>
              </tr>
            );
          })}
          {isEmpty(images) ? (
            <EmptyRow columns={7}>
              The image store is empty. VMs without disks boot the built-in busybox guest.
            </EmptyRow>
          ) : null}
        </tbody>
      </table>
    </section>
  );
}
