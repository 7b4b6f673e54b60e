// A view of a store in which Pods and VMIs of other nodes do not exist for list and watch: the node-side controllers'
// informers see only what is scheduled to their node (gets and writes pass through unchanged).
import type { KubeObject, ObjectRef } from '../resources/meta.ts';
import type {
  ListOptions,
  ListResult,
  ResourceStore,
  WatchEvent,
  WatchHandle,
  WatchOptions,
  WriteOp,
} from '../store/types.ts';

/** The node an object is scheduled to, for the kinds a node filters; undefined for kinds every node sees. */
export function scheduledNode(o: KubeObject): string | undefined {
  if (o.kind === 'Pod')
    return String((o.spec as { nodeName?: string } | undefined)?.nodeName ?? '');
  if (o.kind === 'VirtualMachineInstance')
    return String((o.status as { nodeName?: string } | undefined)?.nodeName ?? '');
  return undefined;
}

export const FILTERED_KINDS = new Set(['Pod', 'VirtualMachineInstance']);

export class NodeView implements ResourceStore {
  constructor(
    private readonly inner: ResourceStore,
    readonly nodeName: string,
  ) {}

  private mine(o: KubeObject): boolean {
    const node = scheduledNode(o);
    return node === undefined || node === this.nodeName;
  }

  get(ref: ObjectRef): Promise<KubeObject | undefined> {
    return this.inner.get(ref);
  }

  list(kind: string, options: ListOptions = {}): Promise<ListResult> {
    if (!FILTERED_KINDS.has(kind)) return this.inner.list(kind, options);
    const filter = options.filter;
    return this.inner.list(kind, {
      ...options,
      filter: (o) => this.mine(o) && (filter ? filter(o) : true),
    });
  }

  create(object: KubeObject): Promise<KubeObject> {
    return this.inner.create(object);
  }

  update(object: KubeObject): Promise<KubeObject> {
    return this.inner.update(object);
  }

  delete(ref: ObjectRef, resourceVersion?: string): Promise<KubeObject> {
    return this.inner.delete(ref, resourceVersion);
  }

  commit(ops: WriteOp[]): Promise<KubeObject[]> {
    return this.inner.commit(ops);
  }

  watch(kind: string, options: WatchOptions, listener: (event: WatchEvent) => void): WatchHandle {
    if (!FILTERED_KINDS.has(kind)) return this.inner.watch(kind, options, listener);
    // Keys delivered as ours: an object that leaves this node is reported deleted here.
    const delivered = new Set<string>();
    return this.inner.watch(kind, options, (e) => {
      const key = `${e.object.metadata.namespace ?? ''}/${e.object.metadata.name}`;
      if (this.mine(e.object)) {
        if (e.type === 'DELETED') delivered.delete(key);
        else delivered.add(key);
        listener(e);
      } else if (delivered.delete(key)) {
        listener({ type: 'DELETED', object: e.object });
      }
    });
  }

  currentResourceVersion(): Promise<string> {
    return this.inner.currentResourceVersion();
  }

  /** The view does not own the store it looks through. */
  async close(): Promise<void> {}
}
