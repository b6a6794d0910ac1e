import type { DemoDevice } from '../fleet/demo-device.js';
import { count, type Scene } from './scene.js';

/** Each TPM starts, and the "firmware" measures a recorded UEFI boot into it. */
export async function powerOn(scene: Scene, devices: readonly DemoDevice[]): Promise<void> {
  await scene.term.step(
    'devices powered on',
    () => Promise.all(devices.map((device) => device.powerOn())),
    (events) => `${count(devices.length, 'device')} powered on: a recorded UEFI boot (${events[0]} events: firmware, shim, GRUB, kernel) measured into each TPM`,
  );
}
