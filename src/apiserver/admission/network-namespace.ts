// Admission that keeps a workload on its own tenant's networks, as Multus's namespaceIsolation does: a VM or VMI may
// attach to NetworkAttachmentDefinitions of its own namespace and of the global namespaces, and to no other.
import { isObject } from '../../resources/meta.ts';
import { fieldInvalid, type StatusCause } from '../../resources/errors.ts';
import { objectInvalid, type AdmissionPlugin, type AdmissionRequest } from './types.ts';

/** Multus lets every namespace use the NADs of `default`; `globalNamespaces` adds others. */
export const DEFAULT_GLOBAL_NETWORK_NAMESPACES: readonly string[] = ['default'];

/** The `networks` of a VM's template or of a VMI, with the field path they sit at. */
function networksOf(req: AdmissionRequest): { path: string; networks: unknown } | undefined {
  const spec = req.object?.spec;
  if (!isObject(spec)) return undefined;
  if (req.kind === 'VirtualMachineInstance')
    return { path: 'spec.networks', networks: spec.networks };
  const template = isObject(spec.template) ? spec.template.spec : undefined;
  return {
    path: 'spec.template.spec.networks',
    networks: isObject(template) ? template.networks : undefined,
  };
}

/**
 * One cause per multus network whose NetworkAttachmentDefinition (`NAMESPACE/NAME`; a bare name is the workload's own
 * namespace) lies in a namespace that is neither the workload's nor a global one.
 */
export function foreignNetworkCauses(
  networks: unknown,
  path: string,
  namespace: string,
  globalNamespaces: readonly string[],
): StatusCause[] {
  if (!Array.isArray(networks)) return [];
  const causes: StatusCause[] = [];
  networks.forEach((n: unknown, i) => {
    const target = isObject(n) && isObject(n.multus) ? n.multus.networkName : undefined;
    if (typeof target !== 'string') return;
    const slash = target.indexOf('/');
    if (slash < 0) return;
    const nadNamespace = target.slice(0, slash);
    if (nadNamespace === namespace || globalNamespaces.includes(nadNamespace)) return;
    const allowed = [namespace, ...globalNamespaces].map((s) => JSON.stringify(s)).join(', ');
    causes.push(
      fieldInvalid(
        `${path}[${i}].multus.networkName`,
        `${JSON.stringify(target)}: a workload in namespace ${JSON.stringify(namespace)} may not attach to a ` +
          `NetworkAttachmentDefinition of namespace ${JSON.stringify(nadNamespace)}; allowed namespaces: ${allowed} ` +
          `(its own and the global ones)`,
      ),
    );
  });
  return causes;
}

export function networkNamespaceAdmission(
  options: { globalNamespaces?: readonly string[] } = {},
): AdmissionPlugin {
  const globalNamespaces = options.globalNamespaces ?? DEFAULT_GLOBAL_NETWORK_NAMESPACES;
  return {
    kinds: ['VirtualMachine', 'VirtualMachineInstance'],
    async admit(req) {
      if (req.operation === 'delete' || !req.object) return;
      const found = networksOf(req);
      if (!found) return;
      const namespace = req.object.metadata.namespace ?? 'default';
      const causes = foreignNetworkCauses(found.networks, found.path, namespace, globalNamespaces);
      if (causes.length === 0) return;
      throw objectInvalid(
        `${req.kind}.kubevirt.io`,
        req.kind,
        'kubevirt.io',
        req.object.metadata.name,
        causes,
      );
    },
  };
}
