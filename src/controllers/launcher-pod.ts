// The launcher Pod of a VMI (virt-launcher's pod): labels, owner, and the Multus request naming each MAC.
import { generatedSuffix } from '../resources/names.ts';
import {
  ANNOTATION_NETWORKS,
  CONTAINER_GUEST_CONSOLE_LOG,
  LABEL_CREATED_BY,
  LABEL_VM_NAME,
  type Pod,
  type VirtualMachineInstance,
} from '../resources/types.ts';
import { networkSelectionElements, podNetworkRequest } from '../network/interface-plans.ts';
import { ANNOTATION_POD_NETWORK } from '../network/multus.ts';

const LAUNCHER_PREFIX = 'virt-launcher-';

/** The launcher Pod of a VMI: labels, owner, and the Multus request naming each MAC. */
export function launcherPod(vmi: VirtualMachineInstance, nodeName: string): Pod {
  const namespace = vmi.metadata.namespace ?? 'default';
  const elements = networkSelectionElements(vmi.spec, namespace);
  const podNet = podNetworkRequest(vmi.spec, namespace);
  const annotations: Record<string, string> = {};
  if (elements.length > 0) annotations[ANNOTATION_NETWORKS] = JSON.stringify(elements);
  if (podNet) annotations[ANNOTATION_POD_NETWORK] = JSON.stringify(podNet);
  let base = vmi.metadata.name.slice(0, 63 - LAUNCHER_PREFIX.length - 6).replace(/-+$/, '');
  if (base === '') base = 'vm';
  const suffix = generatedSuffix();
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${LAUNCHER_PREFIX}${base}-${suffix}`,
      namespace,
      labels: {
        'kubevirt.io': 'virt-launcher',
        [LABEL_VM_NAME]: vmi.metadata.name,
        [LABEL_CREATED_BY]: vmi.metadata.uid ?? '',
      },
      annotations,
      ownerReferences: [
        {
          apiVersion: 'kubevirt.io/v1',
          kind: 'VirtualMachineInstance',
          name: vmi.metadata.name,
          uid: vmi.metadata.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    // KubeVirt's launcher pod has these two containers; kubectl logs -c refuses a container the spec does not list.
    spec: {
      nodeName,
      containers: [
        { name: 'compute', image: 'harrow/virt-launcher' },
        { name: CONTAINER_GUEST_CONSOLE_LOG, image: 'harrow/virt-launcher' },
      ],
    },
    status: { phase: 'Pending' },
  };
}
