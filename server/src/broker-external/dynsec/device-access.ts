import type { Static } from 'typebox';
import type { Logger } from '../../log.js';
import { DynsecError, type DynsecClient } from './client.js';
import { GetClientData, GetRoleData, ListClientsData, ListRolesData, type Acl, type DynsecClientInfo, type DynsecCommand, type DynsecResponse } from './messages.js';
import { DEVICE_ROLE_PREFIX, DEVICES_ACLS, DEVICES_ROLE, deviceAcls, deviceRole, VERIFIER_ACLS, VERIFIER_ROLE } from './roles.js';

/** Whether a device may use the broker, as the store says. */
export interface DesiredAccess {
  readonly deviceId: string;
  readonly enabled: boolean;
}

export interface ReconcileReport {
  readonly devices: number;
  readonly admitted: number;
  readonly excluded: number;
  readonly commandsFailed: number;
}

/** Page size of client and role listings. */
const PAGE = 1000;

/** Errors that mean "already so" (Mosquitto 2.0 answers a role added twice with "Internal error", so that is never sent knowingly). */
const ALREADY = new Set(['Client already exists', 'Role already exists']);
const GONE = new Set(['Client not found', 'Role not found']);

/**
 * Each device's access at a Mosquitto broker, through its
 * dynamic-security plugin. With `use_identity_as_username`, a device's
 * username is its certificate CN, its device id; the plugin grants by
 * username:
 *
 * - admitted: a client `<id>` holding `vigil:device:<id>` (its own four
 *   topics, exactly) and `vigil:devices` (the fleet revocation events);
 * - excluded (revoked): both roles removed and the client disabled. Either
 *   change makes the plugin close the device's live session at once.
 *   Mosquitto 2.0 does not check the disabled flag for clients that
 *   authenticate by certificate alone (no password), so the roles are what
 *   keeps a reconnecting revoked device away from every topic; the CRL,
 *   reloaded by the broker, refuses its certificate at the handshake.
 */
export class DeviceAccess {
  constructor(
    private readonly dynsec: DynsecClient,
    private readonly log: Logger,
  ) {}

  /**
   * Makes sure the roles Vigil relies on exist with exactly the ACLs the
   * code defines, and that this replica's client holds the verifier role.
   * Changes only what differs (changing a role makes the plugin reconnect
   * its holders). Adding the role to this replica's own client ends this
   * very session: the link reconnects with the new rights.
   */
  async ensureVerifierRoles(selfUsername: string): Promise<{ selfChanged: boolean }> {
    await this.#ensureRole(VERIFIER_ROLE, VERIFIER_ACLS, 'Vigil verifier replicas');
    await this.#ensureRole(DEVICES_ROLE, DEVICES_ACLS, 'Vigil fleet devices');
    const self = await this.dynsec.query({ command: 'getClient', username: selfUsername }, GetClientData);
    if ((self.client.roles ?? []).some((r) => r.rolename === VERIFIER_ROLE)) return { selfChanged: false };
    this.log.warn({ username: selfUsername, role: VERIFIER_ROLE }, 'giving this replica the verifier role at the broker (its session restarts)');
    await this.dynsec.runOk([{ command: 'addClientRole', username: selfUsername, rolename: VERIFIER_ROLE }]);
    return { selfChanged: true };
  }

  /** Gives an enrolled device its access (creating its role and client, or enabling them again after a re-enrollment). */
  async admit(deviceId: string): Promise<void> {
    const role = deviceRole(deviceId);
    const [createdRole, createdClient] = await this.dynsec.run([
      { command: 'createRole', rolename: role, textname: `Vigil device ${deviceId}`, acls: deviceAcls(deviceId) },
      { command: 'createClient', username: deviceId, textname: `Vigil device ${deviceId}`, roles: [{ rolename: role }, { rolename: DEVICES_ROLE }] },
    ]);
    failUnless(createdRole!, ALREADY);
    if (createdClient!.error === undefined) return;
    failUnless(createdClient!, ALREADY);
    // The client exists (a re-enrollment, or another replica was first): give back what is missing.
    const info = await this.dynsec.query({ command: 'getClient', username: deviceId }, GetClientData);
    await this.dynsec.runOk(admitCommands(deviceId, info.client));
  }

  /** Takes a device's access away and closes its live session. */
  async exclude(deviceId: string): Promise<void> {
    const responses = await this.dynsec.run(excludeCommands(deviceId, undefined));
    for (const r of responses) {
      // Nothing to take away (never admitted, or already excluded) is fine.
      if (r.error !== undefined && !GONE.has(r.error) && r.error !== 'Internal error') throw new DynsecError(r.command, r.error);
    }
  }

  /** Closes a device's live session without changing its access (e.g. its certificate was superseded). */
  async kick(deviceId: string): Promise<void> {
    await this.dynsec.runOk(
      [
        { command: 'disableClient', username: deviceId },
        { command: 'enableClient', username: deviceId },
      ],
      (r) => r.error !== undefined && GONE.has(r.error),
    );
  }

  /**
   * Brings the broker in line with the store: every device the store says
   * may connect is admitted, every other client that holds a Vigil device
   * role is excluded. `desired` must be read after this call starts (it is
   * a function for that reason): a device enrolled meanwhile is in the
   * store before its client is created, so it is never excluded by a
   * listing that saw its client.
   */
  async reconcile(desired: () => Promise<readonly DesiredAccess[]>): Promise<ReconcileReport> {
    const clients = await this.#listClients();
    const roles = await this.#listRoles();
    const want = await desired();
    const commands: DynsecCommand[] = [];
    let admitted = 0;
    let excluded = 0;
    const known = new Set<string>();
    for (const d of want) {
      known.add(d.deviceId);
      const info = clients.get(d.deviceId);
      if (d.enabled) {
        const before = commands.length;
        if (!roles.has(deviceRole(d.deviceId))) {
          commands.push({ command: 'createRole', rolename: deviceRole(d.deviceId), textname: `Vigil device ${d.deviceId}`, acls: deviceAcls(d.deviceId) });
        }
        if (info === undefined) {
          commands.push({ command: 'createClient', username: d.deviceId, textname: `Vigil device ${d.deviceId}`, roles: [{ rolename: deviceRole(d.deviceId) }, { rolename: DEVICES_ROLE }] });
        } else {
          commands.push(...admitCommands(d.deviceId, info));
        }
        if (commands.length > before) admitted++;
      } else if (info !== undefined) {
        const more = excludeCommands(d.deviceId, info);
        if (more.length > 0) excluded++;
        commands.push(...more);
      }
    }
    // Clients with a device role the store does not know (a database restored from an older backup): no access.
    for (const [username, info] of clients) {
      if (known.has(username) || !(info.roles ?? []).some((r) => r.rolename.startsWith(DEVICE_ROLE_PREFIX))) continue;
      const more = excludeCommands(username, info);
      if (more.length > 0) excluded++;
      commands.push(...more);
    }
    const responses = commands.length === 0 ? [] : await this.dynsec.run(commands);
    const failed = responses.filter((r) => r.error !== undefined && !ALREADY.has(r.error) && !GONE.has(r.error));
    for (const r of failed.slice(0, 5)) this.log.error({ command: r.command, error: r.error }, 'dynamic-security command refused during reconciliation');
    return { devices: want.length, admitted, excluded, commandsFailed: failed.length };
  }

  async #ensureRole(rolename: string, acls: readonly Acl[], textname: string): Promise<void> {
    let data: Static<typeof GetRoleData> | undefined;
    try {
      data = await this.dynsec.query({ command: 'getRole', rolename }, GetRoleData);
    } catch (err) {
      if (!(err instanceof DynsecError && GONE.has(err.reason))) throw err;
    }
    if (data === undefined) {
      await this.dynsec.runOk([{ command: 'createRole', rolename, textname, acls: [...acls] }], (r) => r.error !== undefined && ALREADY.has(r.error));
      this.log.info({ role: rolename }, 'created a broker role');
      return;
    }
    const key = (a: Pick<Acl, 'acltype' | 'topic' | 'allow'>) => `${a.acltype} ${a.allow ? 'allow' : 'deny'} ${a.topic}`;
    const have = new Map((data.role.acls ?? []).map((a) => [key(a), a]));
    const wanted = new Set(acls.map(key));
    const commands: DynsecCommand[] = [];
    for (const a of acls) if (!have.has(key(a))) commands.push({ command: 'addRoleACL', rolename, ...a });
    for (const [k, a] of have) if (!wanted.has(k)) commands.push({ command: 'removeRoleACL', rolename, acltype: a.acltype, topic: a.topic });
    if (commands.length === 0) return;
    await this.dynsec.runOk(commands);
    this.log.warn({ role: rolename, changes: commands.length }, 'corrected the ACLs of a broker role');
  }

  async #listClients(): Promise<Map<string, DynsecClientInfo>> {
    const out = new Map<string, DynsecClientInfo>();
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.dynsec.query({ command: 'listClients', verbose: true, count: PAGE, offset }, ListClientsData);
      for (const c of page.clients) out.set(c.username, c);
      if (page.clients.length < PAGE || offset + PAGE >= page.totalCount) return out;
    }
  }

  async #listRoles(): Promise<Set<string>> {
    const out = new Set<string>();
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.dynsec.query({ command: 'listRoles', verbose: false, count: PAGE, offset }, ListRolesData);
      for (const r of page.roles) out.add(typeof r === 'string' ? r : r.rolename);
      if (page.roles.length < PAGE || offset + PAGE >= page.totalCount) return out;
    }
  }
}

/** Commands that give an existing client back the roles it lacks, then enable it. */
function admitCommands(deviceId: string, info: DynsecClientInfo): DynsecCommand[] {
  const held = new Set((info.roles ?? []).map((r) => r.rolename));
  const out: DynsecCommand[] = [];
  for (const rolename of [deviceRole(deviceId), DEVICES_ROLE]) if (!held.has(rolename)) out.push({ command: 'addClientRole', username: deviceId, rolename });
  if (info.disabled === true) out.push({ command: 'enableClient', username: deviceId });
  return out;
}

/** Commands that take a client's Vigil roles and disable it; with `info` unknown, all of them (errors for what is absent are expected). */
function excludeCommands(username: string, info: DynsecClientInfo | undefined): DynsecCommand[] {
  const held = info === undefined ? undefined : new Set((info.roles ?? []).map((r) => r.rolename));
  const out: DynsecCommand[] = [];
  for (const rolename of [deviceRole(username), DEVICES_ROLE, ...[...(held ?? [])].filter((r) => r.startsWith(DEVICE_ROLE_PREFIX) && r !== deviceRole(username))]) {
    if (held === undefined || held.has(rolename)) out.push({ command: 'removeClientRole', username, rolename });
  }
  if (info === undefined || info.disabled !== true) out.push({ command: 'disableClient', username });
  return out;
}

function failUnless(r: DynsecResponse, ok: ReadonlySet<string>): void {
  if (r.error !== undefined && !ok.has(r.error)) throw new DynsecError(r.command, r.error);
}

