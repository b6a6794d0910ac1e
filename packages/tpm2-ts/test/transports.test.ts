// The transports against a real TPM: mssim framing (spoken natively by swtpm's
// data port), the device transport over a FIFO pair standing in for
// /dev/tpmrm0 at the byte level, and TPM URIs.
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSwtpm, type SwtpmInstance } from '../../../test/harness/swtpm.js';
import { ReadClock } from '../src/commands/clock.js';
import { GetRandom } from '../src/commands/random.js';
import { Startup } from '../src/commands/startup.js';
import { TPM_SU } from '../src/constants/st.js';
import { getTpmIdentity } from '../src/operations/capabilities.js';
import { DeviceTransport } from '../src/transports/device.js';
import { MSSIM, MssimTransport } from '../src/transports/mssim.js';
import { SwtpmControl } from '../src/transports/swtpm-control.js';
import { SwtpmTransport } from '../src/transports/swtpm.js';
import { openTpm, parseTpmUri, TpmUriError } from '../src/transports/uri.js';
import { Tpm } from '../src/tpm.js';

/**
 * An mssim platform port in front of swtpm: POWER_OFF/POWER_ON become
 * TPM_Init on swtpm's control channel, NV_ON and SESSION_END are
 * acknowledged. Every signal is answered with a UINT32 0 as the simulator does.
 */
function platformPortFor(ctrl: SwtpmControl, signals: number[]): Promise<Server> {
  const server = createServer((sock: Socket) => {
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      void (async () => {
        while (buf.length >= 4) {
          const code = buf.readUInt32BE(0);
          buf = buf.subarray(4);
          signals.push(code);
          if (code === MSSIM.SIGNAL_POWER_ON) await ctrl.init();
          if (code === MSSIM.SESSION_END) return sock.end();
          sock.write(Buffer.alloc(4));
        }
      })();
    });
    sock.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('transports against swtpm', () => {
  let sim: SwtpmInstance;
  beforeAll(async () => {
    sim = await startSwtpm({ transport: 'tcp' });
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('mssim: TPM_SEND_COMMAND framing against swtpm, power signals on the platform port', async () => {
    const signals: number[] = [];
    const ctrl = sim.control();
    const platform = await platformPortFor(ctrl, signals);
    const platformPort = (platform.address() as { port: number }).port;
    const t = new MssimTransport({ host: '127.0.0.1', port: sim.port!, platformPort });
    const tpm = new Tpm(t);
    const before = (await tpm.execute(ReadClock, {})).currentTime.clockInfo.resetCount;
    await t.powerCycle();
    expect(signals).toEqual([MSSIM.SIGNAL_POWER_OFF, MSSIM.SIGNAL_POWER_ON, MSSIM.SIGNAL_NV_ON]);
    await tpm.execute(Startup, { startupType: TPM_SU.CLEAR });
    expect((await tpm.execute(ReadClock, {})).currentTime.clockInfo.resetCount).toBe(before + 1);
    expect((await tpm.execute(GetRandom, { bytesRequested: 16 })).randomBytes).toHaveLength(16);
    await tpm.close();
    expect(signals.at(-1)).toBe(MSSIM.SESSION_END);
    await ctrl.close();
    await new Promise((r) => platform.close(r));
  });

  it('openTpm(mssim:...) powers the simulator on; openTpm(swtpm:...) talks raw', async () => {
    const signals: number[] = [];
    const ctrl = sim.control();
    const platform = await platformPortFor(ctrl, signals);
    const platformPort = (platform.address() as { port: number }).port;
    const viaMssim = await openTpm(`mssim:host=127.0.0.1,port=${sim.port},platform-port=${platformPort}`, { startup: true });
    expect(signals.slice(0, 2)).toEqual([MSSIM.SIGNAL_POWER_ON, MSSIM.SIGNAL_NV_ON]);
    const id = await getTpmIdentity(viaMssim);
    await viaMssim.close();
    const raw = await openTpm(sim.uri);
    expect(await getTpmIdentity(raw)).toEqual(id);
    await raw.close();
    await ctrl.close();
    await new Promise((r) => platform.close(r));
  });

  describe('device transport over a FIFO pair standing in for /dev/tpmrm0', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'vigil-fifo-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('writes whole commands and reads whole responses, serialised', async () => {
      const cmdPath = join(dir, 'cmd');
      const rspPath = join(dir, 'rsp');
      execFileSync('mkfifo', [cmdPath, rspPath]);
      // The "kernel" side: read a command (its size is in its header), pass it to swtpm, write the response back.
      const upstream = new SwtpmTransport(sim.data);
      const fromCaller = createReadStream(cmdPath);
      const toCaller = createWriteStream(rspPath);
      let pending = Buffer.alloc(0);
      let commands = 0;
      fromCaller.on('data', (d: Buffer | string) => {
        pending = Buffer.concat([pending, Buffer.from(d)]);
        while (pending.length >= 10 && pending.length >= pending.readUInt32BE(2)) {
          const size = pending.readUInt32BE(2);
          const command = new Uint8Array(pending.subarray(0, size));
          pending = pending.subarray(size);
          commands++;
          void upstream.send(command).then((r) => toCaller.write(r));
        }
      });
      const device = new DeviceTransport({ write: cmdPath, read: rspPath });
      const tpm = new Tpm(device);
      // Concurrent callers: Tpm and the transport both serialise, so each response matches its command.
      const results = await Promise.all([16, 24, 32].map((n) => tpm.execute(GetRandom, { bytesRequested: n })));
      expect(results.map((r) => r.randomBytes.length)).toEqual([16, 24, 32]);
      expect(commands).toBe(3);
      await tpm.close();
      toCaller.end();
      fromCaller.destroy();
      await upstream.close();
    });

    it('a missing device is a TpmTransportError naming it', async () => {
      const tpm = await openTpm(`device:${join(dir, 'no-such-tpm')}`);
      await expect(tpm.execute(GetRandom, { bytesRequested: 1 })).rejects.toThrow(/cannot open device .*no-such-tpm/);
      await tpm.close();
    });
  });
});

describe('TPM URIs', () => {
  it('parses the supported forms', () => {
    expect(parseTpmUri('swtpm:path=/run/x.sock')).toEqual({ kind: 'swtpm', address: { path: '/run/x.sock' } });
    expect(parseTpmUri('swtpm:host=127.0.0.1,port=2321')).toEqual({ kind: 'swtpm', address: { host: '127.0.0.1', port: 2321 } });
    expect(parseTpmUri('swtpm:')).toEqual({ kind: 'swtpm', address: { host: '127.0.0.1', port: 2321 } });
    expect(parseTpmUri('mssim:host=tpm.local,port=5000')).toEqual({ kind: 'mssim', host: 'tpm.local', port: 5000, platformPort: 5001 });
    expect(parseTpmUri('device:/dev/tpmrm0')).toEqual({ kind: 'device', path: '/dev/tpmrm0' });
    expect(parseTpmUri('device:')).toEqual({ kind: 'device', path: '/dev/tpmrm0' });
    expect(parseTpmUri('device:path=/dev/tpm0')).toEqual({ kind: 'device', path: '/dev/tpm0' });
  });

  it.each([
    ['/dev/tpmrm0', /missing the transport prefix/],
    ['tcp:host=x', /unknown transport 'tcp'/],
    ['swtpm:path=/x,port=1', /either path or host\/port/],
    ['swtpm:host=a,port=99999', /port '99999' is not 1..65535/],
    ['swtpm:host=a,port=12ab', /port '12ab'/],
    ['swtpm:hots=a', /unknown option 'hots'/],
    ['swtpm:host', /'host' is not key=value/],
    ['swtpm:host=a,host=b', /'host' given twice/],
    ['mssim:port=', /'port' is empty/],
    ['device:dev/tpm0', /not absolute/],
  ])('rejects %s clearly', (uri, message) => {
    expect(() => parseTpmUri(uri)).toThrow(TpmUriError);
    expect(() => parseTpmUri(uri)).toThrow(message);
  });
});
