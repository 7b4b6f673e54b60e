// Which MAC the guest's NIC gets (KubeVirt's resolveMacAddress): the spec's macAddress wins, then the pod interface's.

/** The MAC for the guest device of one interface; undefined when neither the spec nor the pod interface has one. */
export function resolveGuestMac(
  specMac: string | undefined,
  podInterfaceMac: string | undefined,
): string | undefined {
  if (specMac !== undefined && specMac !== '') return specMac.toLowerCase();
  if (podInterfaceMac !== undefined && podInterfaceMac !== '') return podInterfaceMac.toLowerCase();
  return undefined;
}
