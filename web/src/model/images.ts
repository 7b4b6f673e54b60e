// The local image store's images as the Images page shows them: sizes in words and which VMs and disks of a namespace
// name each image (by its name or any alias, as containerDisk volumes and DataVolume sources do).
import { imageReferenceOf } from '../../../src/resources/datavolume.ts';
import type {
  DataVolume,
  VirtualMachine,
  VirtualMachineImage,
} from '../../../src/resources/types.ts';

/** `1073741824` → `1 GiB`, `1536000` → `1.5 MiB`. */
export function sizeText(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const shown = i === 0 || v >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1);
  return `${shown} ${units[i]}`;
}

const namesOf = (image: VirtualMachineImage): Set<string> =>
  new Set([image.metadata.name, ...(image.spec.aliases ?? [])]);

/** The VMs (by their containerDisk volumes) and DataVolumes (by their source) that name the image. */
export function imageUsers(
  image: VirtualMachineImage,
  vms: VirtualMachine[],
  dataVolumes: DataVolume[],
): { vms: string[]; disks: string[] } {
  const names = namesOf(image);
  return {
    vms: vms
      .filter((vm) =>
        (vm.spec.template?.spec?.volumes ?? []).some(
          (v) => v.containerDisk !== undefined && names.has(v.containerDisk.image),
        ),
      )
      .map((vm) => vm.metadata.name),
    disks: dataVolumes
      .filter((dv) => {
        const ref = imageReferenceOf(dv.spec.source ?? {}, dv.spec.sourceRef);
        return ref !== undefined && names.has(ref);
      })
      .map((dv) => dv.metadata.name),
  };
}
