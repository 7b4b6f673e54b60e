// Validation of KubeVirt disks and volumes: every disk has a volume of its name and every volume a disk, one source per
// volume, boot orders unique, sizes are quantities. Causes name the field, as KubeVirt's admitter does.
import {
  fieldDuplicate,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  type StatusCause,
} from './errors.ts';
import { validateDns1123Label } from './names.ts';
import type { Disk, Volume, VMISpec } from './types.ts';

/** Volume sources Harrow serves. */
export const SUPPORTED_VOLUME_SOURCES = [
  'containerDisk',
  'cloudInitNoCloud',
  'emptyDisk',
  'dataVolume',
  'persistentVolumeClaim',
] as const;
export type VolumeSource = (typeof SUPPORTED_VOLUME_SOURCES)[number];

/** KubeVirt's other volume sources: recognised (so the error says "not supported"), not served. */
const OTHER_VOLUME_SOURCES = [
  'cloudInitConfigDrive',
  'ephemeral',
  'hostDisk',
  'configMap',
  'secret',
  'serviceAccount',
  'sysprep',
  'downwardAPI',
  'downwardMetrics',
  'memoryDump',
] as const;
const DISK_TYPES = ['disk', 'cdrom', 'lun'] as const;
const QUANTITY = /^([0-9]+(\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P|m)?$/;
const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}[\r\n]*$/;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A Kubernetes quantity in bytes (`10Gi`, `500M`, `1073741824`); undefined when it is not one. */
export function quantityToBytes(q: unknown): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) && q >= 0 ? Math.ceil(q) : undefined;
  if (typeof q !== 'string') return undefined;
  const m = QUANTITY.exec(q.trim());
  if (!m) return undefined;
  const factor: Record<string, number> = {
    '': 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
    Pi: 1024 ** 5,
  };
  return Math.ceil(Number(m[1]) * (factor[m[3] ?? ''] ?? 1));
}

/** The source kind of a volume (the one source key it carries). */
export function volumeSourceOf(volume: Volume): VolumeSource | undefined {
  return SUPPORTED_VOLUME_SOURCES.find((s) => volume[s] !== undefined);
}

export const disksOf = (spec: VMISpec | undefined): Disk[] => spec?.domain?.devices?.disks ?? [];
export const volumesOf = (spec: VMISpec | undefined): Volume[] => spec?.volumes ?? [];

/** The claim a persistent volume names: a DataVolume's claim has its name. */
export const claimNameOf = (volume: Volume): string | undefined =>
  volume.dataVolume?.name ?? volume.persistentVolumeClaim?.claimName;

/** Causes for the disks and volumes of a VMI spec at `prefix` (`spec.template.spec` for a VM, `spec` for a VMI). */
export function validateDisksAndVolumes(spec: VMISpec, prefix: string): StatusCause[] {
  const causes: StatusCause[] = [];
  const disksPath = `${prefix}.domain.devices.disks`;
  const volumesPath = `${prefix}.volumes`;
  const rawDisks: unknown = spec.domain?.devices?.disks;
  const rawVolumes: unknown = spec.volumes;
  const diskNames = new Map<string, number>();
  const volumeNames = new Map<string, number>();
  const bootOrders = new Map<number, number>();

  if (rawDisks !== undefined && !Array.isArray(rawDisks))
    causes.push(fieldInvalid(disksPath, 'must be a list'));
  if (rawVolumes !== undefined && !Array.isArray(rawVolumes))
    causes.push(fieldInvalid(volumesPath, 'must be a list'));
  const disks: unknown[] = Array.isArray(rawDisks) ? rawDisks : [];
  const volumes: unknown[] = Array.isArray(rawVolumes) ? rawVolumes : [];

  disks.forEach((raw, i) => {
    const field = `${disksPath}[${i}]`;
    if (!isObject(raw)) {
      causes.push(fieldInvalid(field, 'must be an object'));
      return;
    }
    const disk = raw as Disk;
    const nameCauses = validateDns1123Label(disk.name, `${field}.name`);
    causes.push(...nameCauses);
    if (nameCauses.length === 0) {
      if (diskNames.has(disk.name))
        causes.push(
          fieldDuplicate(`${field}.name`, `disk name ${JSON.stringify(disk.name)} is used twice`),
        );
      else diskNames.set(disk.name, i);
    }
    const types = DISK_TYPES.filter((t) => disk[t] !== undefined);
    if (types.length > 1)
      causes.push(fieldInvalid(field, `a disk has one device type, found ${types.join(', ')}`));
    if (disk.lun !== undefined)
      causes.push(fieldNotSupported(`${field}.lun`, 'lun disks are not supported: use disk'));
    if (disk.bootOrder !== undefined) {
      if (!Number.isInteger(disk.bootOrder) || disk.bootOrder < 1) {
        causes.push(fieldInvalid(`${field}.bootOrder`, 'must be a whole number of at least 1'));
      } else {
        const first = bootOrders.get(disk.bootOrder);
        if (first !== undefined)
          causes.push(
            fieldDuplicate(
              `${field}.bootOrder`,
              `boot order ${disk.bootOrder} is already used by disk ${JSON.stringify((disks[first] as Disk).name)}`,
            ),
          );
        else bootOrders.set(disk.bootOrder, i);
      }
    }
    if (
      disk.serial !== undefined &&
      (typeof disk.serial !== 'string' || !/^[A-Za-z0-9_.+-]{1,20}$/.test(disk.serial))
    )
      causes.push(fieldInvalid(`${field}.serial`, 'must be 1 to 20 letters, digits or _ . + -'));
  });

  volumes.forEach((raw, i) => {
    const field = `${volumesPath}[${i}]`;
    if (!isObject(raw)) {
      causes.push(fieldInvalid(field, 'must be an object'));
      return;
    }
    const volume = raw as Volume;
    const nameCauses = validateDns1123Label(volume.name, `${field}.name`);
    causes.push(...nameCauses);
    if (nameCauses.length === 0) {
      if (volumeNames.has(volume.name))
        causes.push(
          fieldDuplicate(
            `${field}.name`,
            `volume name ${JSON.stringify(volume.name)} is used twice`,
          ),
        );
      else volumeNames.set(volume.name, i);
      if (!diskNames.has(volume.name))
        causes.push(
          fieldInvalid(
            `${field}.name`,
            `no disk named ${JSON.stringify(volume.name)} in ${disksPath}: every volume needs a disk of the same name`,
          ),
        );
    }
    const other = OTHER_VOLUME_SOURCES.filter((s) => volume[s] !== undefined);
    const sources = [...SUPPORTED_VOLUME_SOURCES.filter((s) => volume[s] !== undefined), ...other];
    if (sources.length !== 1) {
      causes.push(
        fieldInvalid(
          field,
          sources.length === 0
            ? `a volume needs exactly one source: ${SUPPORTED_VOLUME_SOURCES.join(', ')}`
            : `a volume has exactly one source, found ${sources.join(', ')}`,
        ),
      );
      return;
    }
    if (other.length > 0) {
      causes.push(
        fieldNotSupported(
          `${field}.${other[0]}`,
          `volume source ${other[0]} is not supported by Harrow: use ${SUPPORTED_VOLUME_SOURCES.join(', ')}`,
        ),
      );
      return;
    }
    causes.push(...validateSource(volume, field));
  });

  disks.forEach((raw, i) => {
    const name = isObject(raw) ? raw.name : undefined;
    if (typeof name === 'string' && diskNames.get(name) === i && !volumeNames.has(name))
      causes.push(
        fieldInvalid(
          `${disksPath}[${i}].name`,
          `no volume named ${JSON.stringify(name)} in ${volumesPath}: every disk needs a volume of the same name`,
        ),
      );
  });
  return causes;
}

function validateSource(volume: Volume, field: string): StatusCause[] {
  const causes: StatusCause[] = [];
  const source = volumeSourceOf(volume);
  const body: unknown = source ? volume[source] : undefined;
  const at = `${field}.${source}`;
  if (!isObject(body)) return [fieldInvalid(at, 'must be an object')];
  switch (source) {
    case 'containerDisk':
      if (typeof body.image !== 'string' || body.image.trim() === '')
        causes.push(fieldRequired(`${at}.image`, 'the image to boot from is required'));
      break;
    case 'emptyDisk': {
      const bytes = quantityToBytes(body.capacity);
      if (body.capacity === undefined)
        causes.push(fieldRequired(`${at}.capacity`, 'capacity is required, e.g. 1Gi'));
      else if (bytes === undefined || bytes < 1024 * 1024)
        causes.push(
          fieldInvalid(
            `${at}.capacity`,
            `${JSON.stringify(body.capacity)}: must be a quantity of at least 1Mi, e.g. 1Gi`,
          ),
        );
      break;
    }
    case 'dataVolume':
      causes.push(...validateDns1123Label(body.name, `${at}.name`));
      break;
    case 'persistentVolumeClaim':
      causes.push(...validateDns1123Label(body.claimName, `${at}.claimName`));
      break;
    case 'cloudInitNoCloud': {
      for (const key of ['userData', 'networkData'] as const)
        if (body[key] !== undefined && typeof body[key] !== 'string')
          causes.push(fieldInvalid(`${at}.${key}`, 'must be a string'));
      for (const key of ['userDataBase64', 'networkDataBase64'] as const) {
        const v = body[key];
        if (v !== undefined && (typeof v !== 'string' || !BASE64.test(v)))
          causes.push(fieldInvalid(`${at}.${key}`, 'must be base64'));
      }
      // secretRef / networkDataSecretRef are KubeVirt's and accepted (a KubeVirt manifest applies unchanged); Harrow
      // serves no Secrets, so such a VMI waits with VolumesReady=False (controllers/guest-disks.ts) saying so.
      for (const key of ['secretRef', 'networkDataSecretRef'] as const)
        if (body[key] !== undefined && !isNamedRef(body[key]))
          causes.push(fieldRequired(`${at}.${key}.name`, 'a Secret reference needs a name'));
      if (body.userData !== undefined && body.userDataBase64 !== undefined)
        causes.push(
          fieldInvalid(`${at}.userDataBase64`, 'give userData or userDataBase64, not both'),
        );
      if (body.networkData !== undefined && body.networkDataBase64 !== undefined)
        causes.push(
          fieldInvalid(
            `${at}.networkDataBase64`,
            'give networkData or networkDataBase64, not both',
          ),
        );
      if (
        body.userData === undefined &&
        body.userDataBase64 === undefined &&
        body.secretRef === undefined
      )
        causes.push(fieldRequired(`${at}.userData`, 'userData or userDataBase64 is required'));
      break;
    }
  }
  return causes;
}

const isNamedRef = (v: unknown): boolean =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as { name?: unknown }).name === 'string' &&
  (v as { name: string }).name !== '';
