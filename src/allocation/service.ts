// The MAC pool persisted through the store: allocation and reservation at admission, release into quarantine, and the
// consistency check. The store's MacAllocation key (named after the MAC) is what makes a MAC unique, on any store.
import { isLocallyAdministered } from '../mac/mac.ts';
import { MacPoolAllocator, PoolExhaustedError } from '../pool/allocator.ts';
import {
  AlreadyExists,
  Conflict,
  HarrowError,
  PoolExhausted,
  fieldDuplicate,
  fieldInvalid,
  type StatusCause,
} from '../resources/errors.ts';
import type { KubeObject } from '../resources/meta.ts';
import {
  macAllocationName,
  type MacAllocation,
  type MacAllocationOwner,
  type Interface,
  type MacPool,
  type VirtualMachine,
  type VirtualMachineInstance,
} from '../resources/types.ts';
import { interfacesOf, templateSpecOf } from '../resources/virtualmachine.ts';
import { controllingVm } from '../resources/virtualmachineinstance.ts';
import type { ResourceStore, WatchHandle, WriteOp } from '../store/types.ts';

export const DEFAULT_POOL = 'default';
export const DEFAULT_RANGE = { start: '02:48:52:00:00:00', end: '02:48:52:ff:ff:ff' };
export const DEFAULT_QUARANTINE_SECONDS = 300;
/** VM annotation naming the MacPool its missing MACs come from (default: the pool named "default"). */
export const ANNOTATION_MAC_POOL = 'harrow.io/mac-pool';

export interface MacChange {
  field: string;
  old?: string;
  new?: string;
}

/** The store writes that make a VM's MACs its own, to commit atomically with the VM; undo with rollback(). */
export interface MacPlan {
  ops: WriteOp[];
  warnings: string[];
  changes: MacChange[];
  rollback(): void;
  committed(): void;
}

interface Held {
  owner: string; // namespace/name of the VM
  state: 'InUse' | 'Quarantined';
  until?: number;
}

interface PoolEntry {
  pool: MacPool;
  allocator: MacPoolAllocator;
}

export interface MacAllocationServiceOptions {
  quarantineSeconds?: number;
  now?: () => number;
  /**
   * Mixed into each pool's walk order. Replicas sharing one store give different salts, so they do not offer the same
   * free MACs in lock-step (the store would still keep MACs unique, but every tie costs the loser a retry).
   */
  allocationSalt?: string;
}

const ownerKey = (namespace: string, name: string): string => `${namespace}/${name}`;
/** Same holder: a bare VMI and a VM of one name are two holders (`kind` absent on old records means VirtualMachine). */
const sameOwner = (
  a: MacAllocationOwner,
  namespace: string,
  name: string,
  kind: string = VM_KIND,
): boolean => a.namespace === namespace && a.name === name && (a.kind || VM_KIND) === kind;

const VM_KIND = 'VirtualMachine';
const VMI_KIND = 'VirtualMachineInstance';

/** What holds MACs: a VM (for its template's interfaces) or a bare VMI (for its own). */
export interface MacCarrier {
  kind: typeof VM_KIND | typeof VMI_KIND;
  namespace: string;
  name: string;
  uid?: string;
  /** Where the interfaces are in the object: `spec.template.spec` (VM) or `spec` (VMI). */
  specPath: string;
  annotations?: Record<string, string>;
}

export const carrierOfVm = (vm: VirtualMachine): MacCarrier => ({
  kind: VM_KIND,
  namespace: vm.metadata.namespace ?? 'default',
  name: vm.metadata.name,
  ...(vm.metadata.uid ? { uid: vm.metadata.uid } : {}),
  specPath: 'spec.template.spec',
  ...(vm.metadata.annotations ? { annotations: vm.metadata.annotations } : {}),
});

export const carrierOfVmi = (vmi: VirtualMachineInstance): MacCarrier => ({
  kind: VMI_KIND,
  namespace: vmi.metadata.namespace ?? 'default',
  name: vmi.metadata.name,
  ...(vmi.metadata.uid ? { uid: vmi.metadata.uid } : {}),
  specPath: 'spec',
  ...(vmi.metadata.annotations ? { annotations: vmi.metadata.annotations } : {}),
});

/** Who holds a VMI's MACs: its VM when it has one (the VMI runs the VM's interfaces), else the VMI itself. */
export function carrierOfInstance(vmi: VirtualMachineInstance): MacCarrier {
  const vm = controllingVm(vmi);
  if (!vm) return carrierOfVmi(vmi);
  return {
    kind: VM_KIND,
    namespace: vmi.metadata.namespace ?? 'default',
    name: vm.name,
    ...(vm.uid ? { uid: vm.uid } : {}),
    specPath: 'spec',
    ...(vmi.metadata.annotations ? { annotations: vmi.metadata.annotations } : {}),
  };
}

export const holderName = (o: MacAllocationOwner): string =>
  `${(o.kind || VM_KIND) === VM_KIND ? '' : `${o.kind} `}${o.namespace}/${o.name}`;

export interface PlanOptions {
  allocateMissing: boolean;
  mayNameHolder?: MayNameHolder;
}

/** Whether the caller may learn which VM of a namespace holds a MAC (a viewer of namespace a must not learn b's). */
export type MayNameHolder = (namespace: string) => boolean;

/** How a 409 names the holder of a MAC: by namespace/name only to a caller who may see that namespace. */
export function describeHolder(a: MacAllocation, mayName: MayNameHolder): string {
  const o = a.spec.owner;
  if (!mayName(o.namespace))
    return a.status?.state === 'Quarantined'
      ? 'is quarantined after another VM released it'
      : 'is in use by another VM';
  if (a.status?.state === 'Quarantined') {
    return `was released by ${holderName(o)} and is quarantined until ${a.status.quarantineUntil ?? 'unknown'}`;
  }
  return `is in use by ${holderName(o)} (interface ${o.interface})`;
}

export class MacAllocationService {
  private readonly pools = new Map<string, PoolEntry>();
  /** MAC → owner key of a plan not yet committed or rolled back: closes the window between the store read and the commit. */
  private readonly pending = new Map<string, string>();
  /** MAC → who holds it and how, mirrored from the store's MacAllocations. */
  private readonly held = new Map<string, Held>();
  /** owner key (namespace/name) → MACs it holds: the index of `held` by owner. */
  private readonly byOwner = new Map<string, Set<string>>();
  private watches: WatchHandle[] = [];
  private following = false;
  private closed = false;
  private readonly now: () => number;
  private readonly quarantineMs: number;
  private readonly salt: string;

  private constructor(
    private readonly store: ResourceStore,
    options: MacAllocationServiceOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.quarantineMs = (options.quarantineSeconds ?? DEFAULT_QUARANTINE_SECONDS) * 1000;
    this.salt = options.allocationSalt ?? '';
  }

  /** Loads pools and allocations from the store (creating the default pool on first start) and follows later changes. */
  static async open(
    store: ResourceStore,
    options: MacAllocationServiceOptions = {},
  ): Promise<MacAllocationService> {
    const service = new MacAllocationService(store, options);
    await service.load();
    return service;
  }

  private async load(): Promise<void> {
    let pools = (await this.store.list('MacPool')).items as MacPool[];
    if (pools.length === 0) {
      try {
        pools = [(await this.store.create(defaultPool(this.quarantineMs / 1000))) as MacPool];
      } catch (e) {
        // Another replica starting at the same moment created it first.
        if (!(e instanceof AlreadyExists)) throw e;
      }
    }
    await this.follow();
  }

  /** Whether the mirror follows the store (false from a watch the store ended until the re-list is done). */
  get synced(): boolean {
    return this.following;
  }

  /**
   * Lists pools and allocations into the mirror (dropping what is gone) and watches from the list's revision; when the
   * store ends a watch on its own (etcd after a compaction) it does this again, so the mirror never stays stale.
   */
  private async follow(): Promise<void> {
    for (const w of this.watches) w.stop();
    this.watches = [];
    const pools = await this.store.list('MacPool');
    const allocations = await this.store.list('MacAllocation');
    const since = pools.resourceVersion;
    const present = new Set(pools.items.map((p) => p.metadata.name));
    for (const name of [...this.pools.keys()]) if (!present.has(name)) this.pools.delete(name);
    for (const pool of pools.items as MacPool[])
      this.pools.set(pool.metadata.name, this.buildPool(pool));
    const listed = new Set((allocations.items as MacAllocation[]).map((a) => a.spec.macAddress));
    for (const mac of [...this.held.keys()]) {
      if (listed.has(mac)) continue;
      this.forgetHolder(mac);
      const entry = this.poolFor(mac);
      if (entry && !this.pending.has(mac)) this.mirrorInto(entry.allocator, mac);
    }
    const ended = (): void => {
      if (this.closed || !this.following) return;
      this.following = false;
      const retry = (delayMs: number): void => {
        setTimeout(() => {
          if (this.closed) return;
          this.follow().catch(() => retry(Math.min(delayMs * 2, 10_000)));
        }, delayMs).unref();
      };
      retry(100);
    };
    // Watching from the pools' list revision (the older one) only repeats changes the allocation list already holds.
    this.watches.push(
      this.store.watch('MacAllocation', { sinceResourceVersion: since, onEnded: ended }, (e) => {
        if (e.type === 'DELETED') this.forget(e.object as MacAllocation);
        else this.remember(e.object as MacAllocation);
      }),
    );
    this.watches.push(
      this.store.watch('MacPool', { sinceResourceVersion: since, onEnded: ended }, (e) => {
        if (e.type === 'DELETED') this.pools.delete(e.object.metadata.name);
        else this.poolChanged(e.object as MacPool);
      }),
    );
    for (const a of allocations.items as MacAllocation[]) this.remember(a);
    this.following = true;
  }

  /**
   * A pool's allocator is rebuilt only when what it allocates from changed: the status controller writes the pool after
   * every burst of allocations, and a rebuild would cost a pass over every held MAC and restart the allocation order.
   */
  private poolChanged(pool: MacPool): void {
    const entry = this.pools.get(pool.metadata.name);
    const sameSpec =
      entry &&
      entry.pool.metadata.uid === pool.metadata.uid &&
      JSON.stringify(entry.pool.spec.ranges) === JSON.stringify(pool.spec.ranges) &&
      entry.pool.spec.quarantineSeconds === pool.spec.quarantineSeconds;
    if (sameSpec) entry.pool = pool;
    else this.pools.set(pool.metadata.name, this.buildPool(pool));
  }

  private buildPool(pool: MacPool): PoolEntry {
    const seconds = pool.spec.quarantineSeconds ?? this.quarantineMs / 1000;
    // Each pool walks its own order (seeded by its uid), so two pools or clusters do not start on the same addresses.
    const allocator = new MacPoolAllocator({
      ranges: pool.spec.ranges,
      quarantineMs: seconds * 1000,
      seed: `${pool.metadata.uid ?? pool.metadata.name}${this.salt}`,
    });
    for (const mac of this.held.keys()) this.mirrorInto(allocator, mac);
    return { pool, allocator };
  }

  private mirrorInto(allocator: MacPoolAllocator, mac: string): void {
    if (!allocator.contains(mac)) return;
    const s = this.held.get(mac);
    const current = allocator.stateOf(mac, this.now());
    if (current.state !== 'free') allocator.free(mac);
    if (!s) return;
    if (s.state === 'InUse') allocator.reserve(mac, this.now());
    else allocator.restoreQuarantine(mac, s.until ?? this.now());
  }

  private poolFor(mac: string): PoolEntry | undefined {
    for (const entry of this.pools.values()) if (entry.allocator.contains(mac)) return entry;
    return undefined;
  }

  private remember(a: MacAllocation): void {
    const mac = a.spec.macAddress;
    this.forgetHolder(mac);
    const owner = ownerKey(a.spec.owner.namespace, a.spec.owner.name);
    let set = this.byOwner.get(owner);
    if (!set) this.byOwner.set(owner, (set = new Set()));
    set.add(mac);
    const until = a.status?.quarantineUntil ? Date.parse(a.status.quarantineUntil) : undefined;
    this.held.set(mac, {
      owner,
      state: a.status?.state === 'Quarantined' ? 'Quarantined' : 'InUse',
      ...(until ? { until } : {}),
    });
    const entry = this.poolFor(mac);
    if (entry && !this.pending.has(mac)) this.mirrorInto(entry.allocator, mac);
  }

  private forget(a: MacAllocation): void {
    const mac = a.spec.macAddress;
    this.forgetHolder(mac);
    const entry = this.poolFor(mac);
    if (
      entry &&
      !this.pending.has(mac) &&
      entry.allocator.stateOf(mac, this.now()).state !== 'free'
    )
      entry.allocator.free(mac);
  }

  private forgetHolder(mac: string): void {
    const h = this.held.get(mac);
    if (h === undefined) return;
    this.held.delete(mac);
    const set = this.byOwner.get(h.owner);
    set?.delete(mac);
    if (set && set.size === 0) this.byOwner.delete(h.owner);
  }

  /** Every VM (namespace/name) that holds a MAC. */
  owners(): string[] {
    return [...this.byOwner.keys()];
  }

  /** MACs held (in use or quarantined) by the VM namespace/name. */
  macsOwnedBy(namespace: string, name: string): string[] {
    return [...(this.byOwner.get(ownerKey(namespace, name)) ?? [])];
  }

  async holder(mac: string): Promise<MacAllocation | undefined> {
    return (await this.store.get({ kind: 'MacAllocation', name: macAllocationName(mac) })) as
      MacAllocation | undefined;
  }

  /**
   * Makes every MAC of `vm` its own: fills interfaces that have none (carrying over the MAC the same interface had in
   * `oldVm`, else allocating from the pool when `allocateMissing`), and returns the MacAllocation writes to commit with the
   * VM. Throws Conflict (naming the field and the holder) for a MAC another VM holds, PoolExhausted when none is left.
   * Mutates `vm` (fills macAddress).
   */
  planVirtualMachine(
    oldVm: VirtualMachine | undefined,
    vm: VirtualMachine,
    options: PlanOptions,
  ): Promise<MacPlan> {
    return this.planInterfaces(
      carrierOfVm(vm),
      interfacesOf(oldVm ? templateSpecOf(oldVm) : undefined),
      interfacesOf(templateSpecOf(vm)),
      options,
    );
  }

  /** planVirtualMachine for the interfaces of a VMI held by `carrier` (the VMI itself when bare, else its VM). */
  planInstance(
    carrier: MacCarrier,
    oldVmi: VirtualMachineInstance | undefined,
    vmi: VirtualMachineInstance,
    options: PlanOptions,
  ): Promise<MacPlan> {
    return this.planInterfaces(
      { ...carrier, specPath: 'spec' },
      interfacesOf(oldVmi?.spec),
      interfacesOf(vmi.spec),
      options,
    );
  }

  private async planInterfaces(
    carrier: MacCarrier,
    oldInterfaces: Interface[],
    interfaces: Interface[],
    options: PlanOptions,
  ): Promise<MacPlan> {
    const mayName = options.mayNameHolder ?? ((): boolean => true);
    const self = ownerKey(carrier.namespace, carrier.name);
    const macField = (i: number): string =>
      `${carrier.specPath}.domain.devices.interfaces[${i}].macAddress`;
    const oldMacs = new Map(oldInterfaces.map((i) => [i.name, i.macAddress]));
    const poolName = carrier.annotations?.[ANNOTATION_MAC_POOL] ?? DEFAULT_POOL;
    const ops: WriteOp[] = [];
    const warnings: string[] = [];
    const changes: MacChange[] = [];
    const claimed: Array<{ mac: string; allocated: PoolEntry | undefined }> = [];
    const rollback = (): void => {
      for (const c of claimed) {
        if (this.pending.get(c.mac) === self) this.pending.delete(c.mac);
        if (c.allocated) {
          c.allocated.allocator.free(c.mac);
          const entry = this.poolFor(c.mac);
          if (entry) this.mirrorInto(entry.allocator, c.mac);
        }
      }
      claimed.length = 0;
    };
    const claim = (mac: string, field: string): void => {
      const holder = this.pending.get(mac);
      if (holder !== undefined && holder !== self) {
        const other = mayName(holder.slice(0, holder.indexOf('/'))) ? holder : 'another VM';
        throw macConflict(
          carrier,
          field,
          `MAC ${mac} is being assigned to ${other} by a concurrent request`,
        );
      }
      this.pending.set(mac, self);
      claimed.push({ mac, allocated: undefined });
    };
    const given = new Set(
      interfaces.flatMap((i) => (i.macAddress !== undefined ? [i.macAddress] : [])),
    );
    try {
      for (let i = 0; i < interfaces.length; i++) {
        const iface = interfaces[i]!;
        const field = macField(i);
        const previous = oldMacs.get(iface.name);
        if (iface.macAddress === undefined) {
          // An interface given no MAC keeps its old one, unless the manifest now gives that MAC to another interface:
          // then it moved, and keeping it here too would put one MAC on two NICs.
          if (previous !== undefined && !given.has(previous)) iface.macAddress = previous;
          else if (options.allocateMissing) {
            iface.macAddress = await this.allocateFor(
              carrier,
              iface.name,
              poolName,
              field,
              claimed,
              ops,
              self,
            );
            changes.push({ field, new: iface.macAddress });
            continue;
          } else continue;
        }
        const mac = iface.macAddress;
        if (previous !== mac)
          changes.push({ field, ...(previous ? { old: previous } : {}), new: mac });
        claim(mac, field);
        const existing = await this.holder(mac);
        const op = this.claimOp(carrier, iface.name, mac, field, existing, mayName);
        if (op) ops.push(op);
        const entry = this.poolFor(mac);
        if (!entry && !isLocallyAdministered(mac)) {
          warnings.push(
            `${field}: ${mac} is a universally administered address outside every MAC pool; make sure no other host uses it`,
          );
        }
      }
    } catch (e) {
      rollback();
      throw e;
    }
    return {
      ops,
      warnings,
      changes,
      rollback,
      committed: () => {
        for (const c of claimed) if (this.pending.get(c.mac) === self) this.pending.delete(c.mac);
        claimed.length = 0;
      },
    };
  }

  /** The write that makes `mac` held by the VM's interface, or none when it already is; throws when someone else holds it. */
  private claimOp(
    carrier: MacCarrier,
    iface: string,
    mac: string,
    field: string,
    existing: MacAllocation | undefined,
    mayName: MayNameHolder = () => true,
  ): WriteOp | undefined {
    const { namespace, name, kind } = carrier;
    const owner: MacAllocationOwner = {
      kind,
      namespace,
      name,
      interface: iface,
      ...(carrier.uid ? { uid: carrier.uid } : {}),
    };
    if (!existing)
      return {
        type: 'create',
        object: allocationObject(mac, this.poolFor(mac)?.pool.metadata.name ?? '', owner),
      };
    const expired =
      existing.status?.state === 'Quarantined' &&
      Date.parse(existing.status.quarantineUntil ?? '') <= this.now();
    if (!sameOwner(existing.spec.owner, namespace, name, kind) && !expired) {
      throw macConflict(carrier, field, `MAC ${mac} ${describeHolder(existing, mayName)}`);
    }
    if (
      existing.status?.state === 'InUse' &&
      existing.spec.owner.interface === iface &&
      sameOwner(existing.spec.owner, namespace, name, kind)
    ) {
      return undefined;
    }
    const next = allocationObject(mac, existing.spec.pool, owner);
    // Kept: uid and resourceVersion (the update is guarded by it) and others' labels; the owner labels are the new owner's.
    next.metadata = {
      ...existing.metadata,
      labels: { ...existing.metadata.labels, ...next.metadata.labels },
    };
    return { type: 'update', object: next };
  }

  private async allocateFor(
    carrier: MacCarrier,
    iface: string,
    poolName: string,
    field: string,
    claimed: Array<{ mac: string; allocated: PoolEntry | undefined }>,
    ops: WriteOp[],
    self: string,
  ): Promise<string> {
    const entry = this.pools.get(poolName);
    if (!entry)
      throw new Conflict(`MacPool "${poolName}" does not exist`, {
        causes: [
          fieldInvalid(
            `metadata.annotations.${ANNOTATION_MAC_POOL}`,
            `no MacPool named ${poolName}`,
          ),
        ],
      });
    // A MAC the in-memory pool thinks free may still have a store record (another replica took it, or an expired
    // quarantine not yet collected): check, and try the next one a bounded number of times.
    for (let attempt = 0; attempt < 64; attempt++) {
      let mac: string;
      try {
        mac = entry.allocator.allocate(this.now());
      } catch (e) {
        if (e instanceof PoolExhaustedError) {
          throw new PoolExhausted(`MacPool "${poolName}" is exhausted: ${e.message}`, {
            causes: [fieldInvalid(field, `no free MAC left in MacPool ${poolName}`)],
          });
        }
        throw e;
      }
      if (this.pending.has(mac)) continue;
      this.pending.set(mac, self);
      claimed.push({ mac, allocated: entry });
      const existing = await this.holder(mac);
      try {
        const op = this.claimOp(carrier, iface, mac, field, existing);
        if (op) ops.push(op);
        return mac;
      } catch (e) {
        if (!(e instanceof Conflict)) throw e;
        // held according to the store: leave it marked in use in memory, and forget the claim.
        claimed.pop();
        this.pending.delete(mac);
      }
    }
    throw new PoolExhausted(`MacPool "${poolName}" had no free MAC after 64 tries`, {
      causes: [fieldInvalid(field, 'could not allocate a MAC')],
    });
  }

  /**
   * Moves the MACs held by VM namespace/name that are not in `referenced` into quarantine (pool-gc). Returns how many.
   */
  async releaseUnreferenced(
    namespace: string,
    name: string,
    referenced: ReadonlySet<string>,
  ): Promise<MacAllocation[]> {
    const released: MacAllocation[] = [];
    for (const mac of this.macsOwnedBy(namespace, name)) {
      if (referenced.has(mac) || this.pending.has(mac)) continue;
      const a = await this.holder(mac);
      if (
        !a ||
        a.status?.state === 'Quarantined' ||
        a.spec.owner.namespace !== namespace ||
        a.spec.owner.name !== name
      )
        continue;
      const seconds =
        this.pools.get(a.spec.pool)?.pool.spec.quarantineSeconds ?? this.quarantineMs / 1000;
      const now = this.now();
      a.status = {
        state: 'Quarantined',
        releasedAt: new Date(now).toISOString(),
        quarantineUntil: new Date(now + seconds * 1000).toISOString(),
      };
      try {
        released.push((await this.store.update(a)) as MacAllocation);
      } catch (e) {
        if (!(e instanceof Conflict)) throw e; // changed meanwhile: the next reconcile sees the new state
      }
    }
    return released;
  }

  /** Deletes quarantined allocations whose time has come; returns the time (ms) of the next expiry, if any. */
  async expireQuarantine(): Promise<{ freed: string[]; nextExpiry?: number }> {
    const now = this.now();
    const freed: string[] = [];
    let nextExpiry: number | undefined;
    for (const [mac, s] of this.held) {
      if (s.state !== 'Quarantined') continue;
      const until = s.until ?? 0;
      if (until > now) {
        nextExpiry = nextExpiry === undefined ? until : Math.min(nextExpiry, until);
        continue;
      }
      const a = await this.holder(mac);
      if (!a || a.status?.state !== 'Quarantined') continue;
      try {
        await this.store.delete(
          { kind: 'MacAllocation', name: a.metadata.name },
          a.metadata.resourceVersion,
        );
        freed.push(mac);
      } catch (e) {
        if (!(e instanceof Conflict)) throw e;
      }
    }
    return { freed, ...(nextExpiry !== undefined ? { nextExpiry } : {}) };
  }

  close(): void {
    this.closed = true;
    for (const w of this.watches) w.stop();
    this.watches = [];
  }
}

/**
 * The commit's MacAllocation write met a store that changed since the plan read it: another write took the MAC first
 * (AlreadyExists, Conflict), or pool-gc deleted the expired quarantine the plan meant to take over (NotFound). Each is a
 * lost race the next plan resolves; none is the client's 404 or 409.
 */
export const isLostMacRace = (e: unknown): e is HarrowError =>
  e instanceof HarrowError &&
  (e.reason === 'AlreadyExists' || e.reason === 'Conflict' || e.reason === 'NotFound') &&
  e.details.kind === 'macallocations';

/** A refusal because a MAC the write asks for is held by, or being assigned to, another VM or VMI (see macConflict). */
export const isMacConflict = (e: unknown): e is Conflict =>
  e instanceof Conflict &&
  (e.details.causes ?? []).some(
    (c) => c.reason === 'FieldValueDuplicate' && c.field.endsWith('.macAddress'),
  );

function macConflict(carrier: MacCarrier, field: string, message: string): Conflict {
  const cause: StatusCause = fieldDuplicate(field, message);
  return new Conflict(`${carrier.kind} "${carrier.name}": ${field}: ${message}`, {
    name: carrier.name,
    group: 'kubevirt.io',
    kind: carrier.kind,
    causes: [cause],
  });
}

export function allocationObject(
  mac: string,
  pool: string,
  owner: MacAllocationOwner,
): MacAllocation {
  return {
    apiVersion: 'harrow.io/v1',
    kind: 'MacAllocation',
    metadata: {
      name: macAllocationName(mac),
      labels: {
        'harrow.io/owner-namespace': owner.namespace,
        'harrow.io/owner-name': owner.name,
        ...(pool ? { 'harrow.io/pool': pool } : {}),
      },
    },
    spec: { macAddress: mac, pool, owner },
    status: { state: 'InUse' },
  };
}

function defaultPool(quarantineSeconds: number): KubeObject {
  return {
    apiVersion: 'harrow.io/v1',
    kind: 'MacPool',
    metadata: { name: DEFAULT_POOL },
    spec: { ranges: [DEFAULT_RANGE], quarantineSeconds },
  };
}
