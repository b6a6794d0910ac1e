import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { writeFileAtomic } from './atomic-write.js';

/**
 * `STATE/revoked.json`: written the moment the agent learns it is revoked,
 * before the hook runs, so that a restarted agent (by hand, or by a
 * supervisor that ignores exit code 6) stays stopped without contacting the
 * server. It names the certificate that was revoked: once the device is
 * reinstated and enrolled again (a new device.pem), the marker no longer
 * applies and the agent runs again.
 */
export const RevocationMarker = Type.Object(
  {
    v: Type.Literal(1),
    deviceId: Type.String({ maxLength: 63 }),
    certificateSerial: Type.String({ maxLength: 40 }),
    at: Type.Integer({ minimum: 0 }),
    source: Type.Union([Type.Literal('result'), Type.Literal('fleet-event'), Type.Literal('connection-refused')]),
    reason: Type.String({ maxLength: 512 }),
    /** The revoked hook ran to completion (whatever its exit status). */
    hookRan: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type RevocationMarker = Static<typeof RevocationMarker>;

const validator = Compile(RevocationMarker);
export const REVOCATION_MARKER_FILE = 'revoked.json';

export async function writeRevocationMarker(stateDir: string, marker: RevocationMarker): Promise<void> {
  await writeFileAtomic(join(stateDir, REVOCATION_MARKER_FILE), JSON.stringify(marker, null, 2) + '\n', 0o600);
}

/** The marker, or undefined when there is none or it is unreadable (then the server decides again). */
export async function readRevocationMarker(stateDir: string): Promise<RevocationMarker | undefined> {
  let text: string;
  try {
    text = await readFile(join(stateDir, REVOCATION_MARKER_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const value: unknown = JSON.parse(text.slice(0, 8192));
    return validator.Check(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
