import type { Logger } from '../log.js';
import type { Device, PolicyAssignment, Store } from '../store/index.js';
import type { FleetAllowlist } from './appraise/models.js';
import { parsePolicyDocument } from './parse.js';
import { PreparedPolicy } from './prepared-policy.js';

interface Snapshot {
  readonly byDevice: ReadonlyMap<string, PreparedPolicy>;
  readonly byGroup: ReadonlyMap<string, PreparedPolicy>;
  readonly fleet: PreparedPolicy | undefined;
  readonly allowlist: FleetAllowlist;
}

const EMPTY: Snapshot = { byDevice: new Map(), byGroup: new Map(), fleet: undefined, allowlist: new Map() };

/**
 * The policies in force, in memory: every assignment with its policy
 * version prepared once, and the fleet model allowlist. Resolution follows
 * the store's rule (the device's own assignment, else its group's, else the
 * fleet's) without a query per verdict. Reloaded every `refreshMs` (changes
 * made by another process, e.g. the offline CLI, apply within that) and at
 * once after a change through this server (`reload()`). A load that fails
 * keeps the previous snapshot.
 */
export class PolicyCache {
  #snapshot: Snapshot = EMPTY;
  #timer: NodeJS.Timeout | undefined;
  #loading: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly refreshMs = 5000,
  ) {}

  async start(): Promise<void> {
    await this.reload();
    this.#timer = setInterval(() => {
      this.reload().catch((err: unknown) => this.log.error({ err }, 'policy reload failed; keeping the previous policies'));
    }, this.refreshMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** The policy that applies to `device` (PreparedPolicy.none when none is assigned). */
  forDevice(device: Pick<Device, 'id' | 'group'>): PreparedPolicy {
    const s = this.#snapshot;
    return s.byDevice.get(device.id) ?? (device.group !== null ? s.byGroup.get(device.group) : undefined) ?? s.fleet ?? PreparedPolicy.none;
  }

  fleetAllowlist(): FleetAllowlist {
    return this.#snapshot.allowlist;
  }

  /** Reloads now (coalescing concurrent calls). */
  reload(): Promise<void> {
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #load(): Promise<void> {
    const [assignments, models] = await Promise.all([this.store.listPolicyAssignments(), this.store.listModels()]);
    const prepared = new Map<string, PreparedPolicy | null>();
    const policyOf = async (a: PolicyAssignment): Promise<PreparedPolicy | null> => {
      const key = `${a.policyName}@${a.policyVersion ?? 'latest'}`;
      if (!prepared.has(key)) {
        const record = await this.store.getPolicy(a.policyName, a.policyVersion ?? undefined);
        prepared.set(key, record === null ? null : new PreparedPolicy(record.name, record.version, parsePolicyDocument(record.document)));
      }
      return prepared.get(key)!;
    };
    const byDevice = new Map<string, PreparedPolicy>();
    const byGroup = new Map<string, PreparedPolicy>();
    let fleet: PreparedPolicy | undefined;
    for (const a of assignments) {
      const p = await policyOf(a);
      if (p === null) continue;
      if (a.target.kind === 'device') byDevice.set(a.target.deviceId, p);
      else if (a.target.kind === 'group') byGroup.set(a.target.group, p);
      else fleet = p;
    }
    const allowlist = new Map<string, Set<string>>();
    for (const m of models) {
      let set = allowlist.get(m.name);
      if (set === undefined) allowlist.set(m.name, (set = new Set()));
      set.add(m.digest);
    }
    this.#snapshot = { byDevice, byGroup, fleet, allowlist };
  }
}
