import Type from 'typebox';
import { fields, isoTime, shortTime, table } from '../format.js';
import { OperationError } from '../errors.js';
import { defineOperation } from '../operation.js';
import { DeviceIdParam, IsoTime, Nullable } from '../schemas.js';
import { AttestationEntry, DeviceSummary } from './schemas.js';
import { attestationEntry, deviceSummary } from './summary.js';

const DeviceDetail = Type.Object(
  {
    ...DeviceSummary.properties,
    ekName: Type.String({ description: 'EK Name (nameAlg || digest), hex' }),
    akName: Type.String({ description: 'AK Name, hex' }),
    hasEkCertificate: Type.Boolean(),
    reenrollAllowed: Type.Boolean(),
    facts: Type.Record(Type.String(), Type.Unknown(), { description: 'what the device reported about itself at enrollment (informational, not trusted)' }),
    tpmClock: Nullable(
      Type.Object(
        { clock: Type.String({ description: 'TPMS_CLOCK_INFO.clock, ms, decimal' }), resetCount: Type.Integer(), restartCount: Type.Integer() },
        { additionalProperties: false },
      ),
    ),
    updatedAt: IsoTime,
  },
  { additionalProperties: false },
);

const Certificate = Type.Object(
  { serial: Type.String(), notBefore: IsoTime, notAfter: IsoTime, issuedAt: IsoTime, revokedAt: Nullable(IsoTime) },
  { additionalProperties: false },
);

const Revocation = Type.Object(
  {
    id: Type.Integer(),
    reason: Type.String(),
    message: Nullable(Type.String()),
    actor: Type.String(),
    revokedAt: IsoTime,
    reinstatedAt: Nullable(IsoTime),
  },
  { additionalProperties: false },
);

export const showDevice = defineOperation({
  name: 'devices.show',
  summary: 'one device: identity, standing, certificates, revocations and latest attestation',
  method: 'GET',
  path: '/v1/devices/:id',
  role: 'viewer',
  input: Type.Object({ id: DeviceIdParam }, { additionalProperties: false }),
  output: Type.Object(
    {
      device: DeviceDetail,
      certificates: Type.Array(Certificate),
      revocations: Type.Array(Revocation),
      lastAttestation: Nullable(AttestationEntry),
    },
    { additionalProperties: false },
  ),
  offline: true,
  async handler({ store }, { id }) {
    const device = await store.getDevice(id);
    if (device === null) throw new OperationError('not-found', `no device ${id}`);
    const [summary, certificates, revocations, latest] = await Promise.all([
      deviceSummary(store, device),
      store.listCertificates(id),
      store.listRevocations(id),
      store.listAttestations(id, 1),
    ]);
    return {
      device: {
        ...summary,
        ekName: device.ekName,
        akName: device.akName,
        hasEkCertificate: device.ekCertificate !== null,
        reenrollAllowed: device.reenrollAllowed,
        facts: { ...device.facts },
        tpmClock:
          device.tpmClock === null
            ? null
            : { clock: device.tpmClock.clock.toString(), resetCount: device.tpmClock.resetCount, restartCount: device.tpmClock.restartCount },
        updatedAt: isoTime(device.updatedAt),
      },
      certificates: certificates.map((c) => ({
        serial: c.serial,
        notBefore: isoTime(c.notBefore),
        notAfter: isoTime(c.notAfter),
        issuedAt: isoTime(c.issuedAt),
        revokedAt: isoTime(c.revokedAt),
      })),
      revocations: revocations.map((r) => ({
        id: r.id,
        reason: r.reason,
        message: r.message,
        actor: r.actor,
        revokedAt: isoTime(r.revokedAt),
        reinstatedAt: isoTime(r.reinstatedAt),
      })),
      lastAttestation: latest[0] === undefined ? null : attestationEntry(latest[0]),
    };
  },
  cli: {
    command: ['device', 'show'],
    arguments: ['id'],
    render({ device: d, certificates, revocations, lastAttestation: a }) {
      const facts = d.facts as { hostname?: unknown; os?: unknown; arch?: unknown; agentVersion?: unknown };
      let out = fields([
        ['device', d.id],
        ['state', d.state],
        ['group', d.group ?? '-'],
        ['policy', d.policy ?? '-'],
        ['enrolled', shortTime(d.enrolledAt)],
        ['last verified', shortTime(d.lastVerifiedAt)],
        ['last attestation', shortTime(d.lastAttestationAt)],
        ['EK name', d.ekName],
        ['AK name', d.akName],
        ['TPM clock', d.tpmClock === null ? '-' : `${d.tpmClock.clock} ms, resetCount ${d.tpmClock.resetCount}, restartCount ${d.tpmClock.restartCount}`],
        ['reported', [facts.hostname, facts.os, facts.arch, facts.agentVersion && `agent ${String(facts.agentVersion)}`].filter(Boolean).map(String).join(', ') || '-'],
      ]);
      if (a !== null) {
        out += `\nlatest attestation ${a.id}: ${a.status} at ${shortTime(a.receivedAt)}${a.policy === null ? '' : ` (policy ${a.policy})`}\n`;
        for (const r of a.reasons) out += `  ${r.submodule}/${r.code}: ${r.message}\n`;
      }
      out += '\ncertificates:\n' + table(['SERIAL', 'NOT AFTER', 'REVOKED'], certificates.map((c) => [c.serial, shortTime(c.notAfter), shortTime(c.revokedAt)]));
      if (revocations.length > 0) {
        out +=
          '\nrevocations:\n' +
          table(
            ['ID', 'REASON', 'BY', 'REVOKED', 'REINSTATED', 'MESSAGE'],
            revocations.map((r) => [String(r.id), r.reason, r.actor, shortTime(r.revokedAt), shortTime(r.reinstatedAt), r.message ?? '']),
          );
      }
      return out;
    },
  },
});
