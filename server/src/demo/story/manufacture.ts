import { join } from 'node:path';
import { SwtpmManufacturer } from '@vigil/tpm2-ts/simulator';
import { deviceLayout, DemoDevice } from '../fleet/demo-device.js';
import { MANUFACTURER_BUNDLE, trustManufacturer } from '../fleet/manufacturer-trust.js';
import { serverCli } from '../server-cli.js';
import { count, dataFlag, type Scene } from './scene.js';

/**
 * The server's data directory (`vigil-server init`: fleet CA, broker
 * certificate, database) and the devices' TPMs, side by side: each TPM with
 * its own endorsement seed and EK certificates from one manufacturer CA,
 * which then becomes the server's EK trust anchor.
 */
export async function buildFleet(scene: Scene): Promise<DemoDevice[]> {
  const { term, paths, demoDir, names, signal } = scene;
  term.command(`vigil-server init ${dataFlag(scene)} --san localhost --san 127.0.0.1`);
  const devices = await term.step(`fleet CA and data directory; ${count(names.length, 'TPM')} manufactured with EK certificates`, async (progress) => {
    const manufacturer = await SwtpmManufacturer.open(join(demoDir, 'manufacturer'), { manufacturer: 'Vigil', model: 'vigil-demo-edge', version: '1.0' });
    let made = 0;
    const build = async (name: string): Promise<DemoDevice> => {
      const device = await DemoDevice.build(deviceLayout(demoDir, name), manufacturer);
      progress(`${++made}/${names.length} TPMs manufactured`);
      return device;
    };
    const manufacture = async (): Promise<DemoDevice[]> => {
      // The first TPM creates the manufacturer's CA; the others then two at a time (key generation is CPU-bound).
      const built = [await build(names[0]!)];
      for (let i = 1; i < names.length; i += 2) built.push(...(await Promise.all(names.slice(i, i + 2).map(build))));
      return built;
    };
    // If either fails, the other stops too (init is killed rather than left writing into a directory being removed).
    const stepAbort = new AbortController();
    const both = AbortSignal.any([signal, stepAbort.signal]);
    const [, built] = await Promise.all([serverCli(['init', '--data', paths.root, '--san', 'localhost', '--san', '127.0.0.1'], both), manufacture()]).catch(
      (err: unknown) => {
        stepAbort.abort(err);
        throw err;
      },
    );
    await trustManufacturer(paths, await manufacturer.certificates());
    return built;
  });
  for (const device of devices) scene.teardown.add(`power off ${device.name}'s TPM`, () => device.powerOff());
  term.line(term.paint.dim(`  TPM manufacturer CA trusted for EK certificates: ${MANUFACTURER_BUNDLE} in enrollment.manufacturerCaFiles`));
  return devices;
}
