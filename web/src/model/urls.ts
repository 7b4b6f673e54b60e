// The UI's own addresses for virtual machines, below /ui: every VM page carries its namespace, so a link can be shared.

const enc = encodeURIComponent;

export const urls = {
  vms: (ns: string): string => `/namespaces/${enc(ns)}/vms`,
  vmCreate: (ns: string): string => `${urls.vms(ns)}/create`,
  vm: (ns: string, name: string, tab?: string): string =>
    `${urls.vms(ns)}/${enc(name)}${tab ? `/${enc(tab)}` : ''}`,
  vmEdit: (ns: string, name: string): string => `${urls.vm(ns, name)}/edit`,
};

/** The namespace of a VM page's path below /ui ("/namespaces/NS/vms…"), if it is one. */
export function namespaceOf(path: string): string | undefined {
  const m = /^\/namespaces\/([^/]+)\/vms(?:\/|$)/.exec(path);
  return m ? decodeURIComponent(m[1] as string) : undefined;
}

/**
 * Where an address from before namespaced URLs ("/vms", "/vms/NAME/TAB") now lives: the same page in the namespace
 * chosen at the top. Undefined for every other path.
 */
export function legacyVmPath(path: string, namespace: string): string | undefined {
  if (path !== '/vms' && !path.startsWith('/vms/')) return undefined;
  return `${urls.vms(namespace)}${path.slice('/vms'.length)}`;
}
