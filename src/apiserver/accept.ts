// Content negotiation on Accept: which version of a g=…;as=… media type (Table, APIGroupDiscoveryList) a client asked for.

/** The version that the first media range in Accept naming g=group, as=as and one of `versions` asks for, if any. */
export function acceptedVersion<V extends string>(
  accept: string | undefined,
  group: string,
  as: string,
  versions: readonly V[],
): V | undefined {
  for (const mediaRange of (accept ?? '').split(',')) {
    const params = new Map(
      mediaRange
        .split(';')
        .slice(1)
        .map((p) => p.trim().split('=') as [string, string]),
    );
    const v = params.get('v');
    if (
      params.get('g') === group &&
      params.get('as') === as &&
      versions.some((known) => known === v)
    )
      return v as V;
  }
  return undefined;
}
