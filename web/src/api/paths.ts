// REST paths of the resources the UI reads and writes (DESIGN §4), one builder per collection.

const enc = encodeURIComponent;

export const paths = {
  namespaces: (): string => '/api/v1/namespaces',
  namespace: (ns: string): string => `/api/v1/namespaces/${enc(ns)}`,
  vms: (ns: string): string => `/apis/kubevirt.io/v1/namespaces/${enc(ns)}/virtualmachines`,
  vm: (ns: string, name: string): string => `${paths.vms(ns)}/${enc(name)}`,
  vmAction: (ns: string, name: string, action: 'start' | 'stop' | 'restart'): string =>
    `/apis/subresources.kubevirt.io/v1/namespaces/${enc(ns)}/virtualmachines/${enc(name)}/${action}`,
  vmis: (ns: string): string =>
    `/apis/kubevirt.io/v1/namespaces/${enc(ns)}/virtualmachineinstances`,
  pods: (ns: string): string => `/api/v1/namespaces/${enc(ns)}/pods`,
  launcherPods: (ns: string, vm: string): string =>
    `${paths.pods(ns)}?labelSelector=${enc(`vm.kubevirt.io/name=${vm}`)}`,
  events: (ns: string): string => `/api/v1/namespaces/${enc(ns)}/events`,
  eventsOf: (ns: string, name: string): string =>
    `${paths.events(ns)}?fieldSelector=${enc(`involvedObject.name=${name}`)}`,
  nads: (ns: string): string =>
    `/apis/k8s.cni.cncf.io/v1/namespaces/${enc(ns)}/network-attachment-definitions`,
  nad: (ns: string, name: string): string => `${paths.nads(ns)}/${enc(name)}`,
  macPools: (): string => '/apis/harrow.io/v1/macpools',
  macAllocations: (): string => '/apis/harrow.io/v1/macallocations',
  macAllocation: (name: string): string => `/apis/harrow.io/v1/macallocations/${enc(name)}`,
  auditRecords: (ns: string): string => `/apis/harrow.io/v1/namespaces/${enc(ns)}/auditrecords`,
  harrowSubresources: (): string => '/apis/subresources.harrow.io/v1',
  apiTokens: (): string => '/apis/harrow.io/v1/apitokens',
  apiToken: (id: string): string => `/apis/harrow.io/v1/apitokens/${enc(id)}`,
  images: (): string => '/apis/harrow.io/v1/virtualmachineimages',
  dataVolumes: (ns: string): string =>
    `/apis/cdi.kubevirt.io/v1beta1/namespaces/${enc(ns)}/datavolumes`,
  dataVolume: (ns: string, name: string): string => `${paths.dataVolumes(ns)}/${enc(name)}`,
  claims: (ns: string): string => `/api/v1/namespaces/${enc(ns)}/persistentvolumeclaims`,
  claim: (ns: string, name: string): string => `${paths.claims(ns)}/${enc(name)}`,
  accessReview: (): string => '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
  /** The maintenance-window restart (DESIGN §8); used only when discovery lists it, so an older server can never take it for a plain restart. */
  scheduleRestart: (ns: string, name: string): string =>
    `/apis/subresources.harrow.io/v1/namespaces/${enc(ns)}/virtualmachines/${enc(name)}/schedule-restart`,
  guestExec: (ns: string, vmi: string): string =>
    `/apis/subresources.harrow.io/v1/namespaces/${enc(ns)}/virtualmachineinstances/${enc(vmi)}/guest-exec`,
};
