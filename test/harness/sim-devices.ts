import { enrollSimDevices, SimDevice, type SimServer } from './sim-fleet.js';

/**
 * One more simulated device: enrolled in the server's store (id from
 * `prefix`), connected to its broker over mutual TLS with the fleet
 * certificate, and added to `devices`, which the test closes in afterAll.
 */
export async function connectSimDevice(env: SimServer, prefix: string, devices: SimDevice[]): Promise<SimDevice> {
  const [id] = await enrollSimDevices(env.store, env.ca, 1, prefix);
  const device = new SimDevice(id!);
  await device.connect(env.port, env.ca.certificatePem);
  devices.push(device);
  return device;
}
