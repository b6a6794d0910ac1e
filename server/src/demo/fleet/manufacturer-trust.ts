import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import type { ManufacturerCertificates } from '@vigil/tpm2-ts/simulator';
import type { DataDir } from '../../datadir.js';

export const MANUFACTURER_BUNDLE = 'tpm-manufacturers.pem';

/**
 * Makes the TPM manufacturer's CA the server's EK trust anchor, as an
 * operator does for a real vendor: its root and the intermediate that signs
 * EK certificates go into one PEM file in the data directory (devices send
 * only their EK certificate), and `enrollment.manufacturerCaFiles` in
 * config.yaml names it. The file is edited as a YAML document, so the
 * comments `init` wrote stay.
 */
export async function trustManufacturer(paths: DataDir, certificates: ManufacturerCertificates): Promise<string> {
  const bundle = join(paths.root, MANUFACTURER_BUNDLE);
  await writeFile(bundle, certificates.rootPem + certificates.issuerPem, { mode: 0o644 });
  const doc = YAML.parseDocument(await readFile(paths.config, 'utf8'));
  doc.setIn(['enrollment', 'manufacturerCaFiles'], doc.createNode([MANUFACTURER_BUNDLE]));
  await writeFile(paths.config, doc.toString({ lineWidth: 0 }));
  return bundle;
}
