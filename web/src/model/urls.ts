// The UI's own addresses below /ui: every page of a namespace's objects (VMs, disks, images as that namespace uses
// them, networks, the audit log) carries the namespace, so a link can be shared.

const enc = encodeURIComponent;

/** The pages whose address is /namespaces/NS/<section>…; addresses from before named them without a namespace. */
export const NAMESPACED_SECTIONS = ['vms', 'disks', 'images', 'networks', 'audit'] as const;
export type NamespacedSection = (typeof NAMESPACED_SECTIONS)[number];

export const urls = {
  section: (ns: string, section: NamespacedSection): string => `/namespaces/${enc(ns)}/${section}`,
  vms: (ns: string): string => urls.section(ns, 'vms'),
  vmCreate: (ns: string): string => `${urls.vms(ns)}/create`,
  vm: (ns: string, name: string, tab?: string): string =>
    `${urls.vms(ns)}/${enc(name)}${tab ? `/${enc(tab)}` : ''}`,
  vmEdit: (ns: string, name: string): string => `${urls.vm(ns, name)}/edit`,
  disks: (ns: string): string => urls.section(ns, 'disks'),
  images: (ns: string): string => urls.section(ns, 'images'),
  networks: (ns: string): string => urls.section(ns, 'networks'),
  /** The audit log, filtered to one VM's records when `vm` is given. */
  audit: (ns: string, vm?: string): string =>
    `${urls.section(ns, 'audit')}${vm ? `?vm=${enc(vm)}` : ''}`,
};

const NAMESPACED = new RegExp(`^/namespaces/([^/]+)/(${NAMESPACED_SECTIONS.join('|')})(?:/|$)`);

/** The namespace and section of a namespaced page's path below /ui ("/namespaces/NS/disks"), if it is one. */
export function namespacedPage(
  path: string,
): { namespace: string; section: NamespacedSection } | undefined {
  const m = NAMESPACED.exec(path);
  return m
    ? { namespace: decodeURIComponent(m[1] as string), section: m[2] as NamespacedSection }
    : undefined;
}

/** The namespace of a namespaced page's path below /ui ("/namespaces/NS/vms…"), if it is one. */
export const namespaceOf = (path: string): string | undefined => namespacedPage(path)?.namespace;

/**
 * Where an address from before namespaced URLs ("/vms", "/vms/NAME/TAB", "/disks", "/images", "/networks", "/audit")
 * now lives: the same
 * page in the namespace chosen at the top. Undefined for every other path.
 */
export function legacyPath(path: string, namespace: string): string | undefined {
  for (const section of NAMESPACED_SECTIONS) {
    const old = `/${section}`;
    if (path === old || path.startsWith(`${old}/`))
      return `${urls.section(namespace, section)}${path.slice(old.length)}`;
  }
  return undefined;
}
