import { DEVICES_ACLS, DEVICES_ROLE, VERIFIER_ACLS, VERIFIER_ROLE } from './roles.js';
import type { Acl } from './messages.js';
import { DYNSEC_TOPIC } from './messages.js';
import { verifierUsername } from '../verifier-identity.js';

/** The role that lets a replica send dynamic-security commands (and nothing else). */
export const DYNSEC_ADMIN_ROLE = 'vigil:dynsec-admin';

const CONTROL_FILTER = `${DYNSEC_TOPIC.split('/').slice(0, 2).join('/')}/#`; // $CONTROL/dynamic-security/#

const DYNSEC_ADMIN_ACLS: readonly Acl[] = [
  { acltype: 'publishClientSend', topic: CONTROL_FILTER, allow: true },
  { acltype: 'publishClientReceive', topic: CONTROL_FILTER, allow: true },
  { acltype: 'subscribePattern', topic: CONTROL_FILTER, allow: true },
];

/**
 * The initial configuration file of Mosquitto's dynamic-security plugin
 * for a Vigil fleet (`plugin_opt_config_file`, written before the broker's
 * first start): the plugin's default access left as it ships (publishing
 * and subscribing denied unless granted), Vigil's roles with the ACLs this
 * code defines, and one client per verifier replica — username
 * `vigil:verifier:<name>`, the CN of the replica's broker client
 * certificate, no password (clients authenticate by certificate:
 * `use_identity_as_username`). Devices are added by the replicas as they
 * enroll. The server re-checks the roles' ACLs at every connection, so a
 * file from an older Vigil is brought up to date.
 */
export function dynsecConfigFile(replicas: readonly string[]): string {
  const role = (rolename: string, textname: string, acls: readonly Acl[]) => ({ rolename, textname, acls: acls.map((a) => ({ ...a, priority: 0 })) });
  const config = {
    defaultACLAccess: { publishClientSend: false, publishClientReceive: true, subscribe: false, unsubscribe: true },
    clients: replicas.map((name) => ({
      username: verifierUsername(name),
      textname: `Vigil verifier replica ${name}`,
      roles: [{ rolename: DYNSEC_ADMIN_ROLE }, { rolename: VERIFIER_ROLE }],
    })),
    groups: [],
    roles: [
      role(DYNSEC_ADMIN_ROLE, 'Vigil replicas: manage device access', DYNSEC_ADMIN_ACLS),
      role(VERIFIER_ROLE, 'Vigil verifier replicas', VERIFIER_ACLS),
      role(DEVICES_ROLE, 'Vigil fleet devices', DEVICES_ACLS),
    ],
  };
  return JSON.stringify(config, null, 2) + '\n';
}
