import { createHash } from 'node:crypto';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The model file the demo tampers with, and the folder layout every demo device gets. */
export const MODEL_FILE = 'detector.onnx';
export const MODEL_FILES = [MODEL_FILE, 'labels.txt', 'config.json'] as const;

/**
 * The bytes of a small object-detection "model release", the same on every
 * device (one release deployed fleet-wide). `detector.onnx` starts like an
 * ONNX ModelProto (protobuf field 1 ir_version = 8, field 2 producer_name)
 * followed by 192 KiB of deterministic "weights"; it is not a usable model,
 * just bytes to measure.
 */
export function modelRelease(): ReadonlyMap<string, Uint8Array> {
  const producer = Buffer.from('vigil-demo');
  const header = Buffer.concat([Buffer.from([0x08, 0x08, 0x12, producer.length]), producer]);
  const weights = Buffer.alloc(192 * 1024);
  for (let block = 0; block * 32 < weights.length; block++) {
    createHash('sha256').update(`vigil demo weights ${block}`).digest().copy(weights, block * 32);
  }
  const labels = ['person', 'bicycle', 'car', 'forklift', 'pallet', 'helmet', 'vest', ''].join('\n');
  const config = JSON.stringify({ model: MODEL_FILE, input: [1, 3, 320, 320], labels: 'labels.txt', scoreThreshold: 0.45 }, null, 2) + '\n';
  return new Map<string, Uint8Array>([
    [MODEL_FILE, Buffer.concat([header, weights])],
    ['labels.txt', Buffer.from(labels)],
    ['config.json', Buffer.from(config)],
  ]);
}

/** Writes the model release into `dir` (created). */
export async function writeModelFolder(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, bytes] of modelRelease()) await writeFile(join(dir, name), bytes);
}

/**
 * Changes one byte of `file` in place (XOR 0x01 at `offset`), as a
 * compromised or corrupted model would differ from the release: the file
 * keeps its size, name and most of its content. Returns the byte before and after.
 */
export async function flipOneByte(file: string, offset: number): Promise<{ readonly before: number; readonly after: number }> {
  const handle = await open(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    const { bytesRead } = await handle.read(byte, 0, 1, offset);
    if (bytesRead !== 1) throw new Error(`${file} has no byte at offset ${offset}`);
    const before = byte[0]!;
    byte[0] = before ^ 0x01;
    await handle.write(byte, 0, 1, offset);
    await handle.sync();
    return { before, after: byte[0]! };
  } finally {
    await handle.close();
  }
}
