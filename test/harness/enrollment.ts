/**
 * Test helpers for enrollment: private "manufacturer" CAs that issue EK
 * certificates for any public key (to make EK certificates from an unknown
 * CA, expired ones, ones with odd extensions), reading a swtpm's EKs as the
 * agent would send them, and a hand-driven bootstrap client that sends
 * crafted enrollment messages over the real broker.
 */
import 'reflect-metadata'; // @peculiar/x509 resolves its codecs through tsyringe
import * as x509 from '@peculiar/x509';
import { type KeyObject, webcrypto } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { decodeEnrollChallenge, decodeEnrollResult, type EnrollChallenge, type EnrollResult, ProtocolError, topics } from '@vigil/protocol';
import { createEk, type EkKind, encodePublicBlob, flushKey, readEkCertificate, publicKeyFromTpmt, type Tpm } from '@vigil/tpm2-ts';
import { connectOk } from './broker.js';
import { makeBootstrapCredentials, type BootstrapCredentials } from './pki.js';

type X509Crypto = NonNullable<Parameters<typeof x509.X509CertificateGenerator.create>[1]>;
type KeyPair = { readonly privateKey: webcrypto.CryptoKey; readonly publicKey: webcrypto.CryptoKey };
const crypto = webcrypto as unknown as X509Crypto;
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A test CA (ECDSA P-256: fast to make) that can sign certificates for any key. */
export interface TestCa {
  readonly name: string;
  readonly pem: string;
  readonly certificate: x509.X509Certificate;
  readonly keys: KeyPair;
}

export interface CaOptions {
  /** Sign with this CA (an intermediate); default self-signed (a root). */
  readonly issuer?: TestCa;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

/** A root (self-signed) or intermediate CA: basicConstraints cA, keyUsage keyCertSign + cRLSign. */
export async function makeTestCa(name: string, options: CaOptions = {}): Promise<TestCa> {
  const keys = (await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as KeyPair;
  const extensions = [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
  ];
  const notBefore = options.notBefore ?? new Date(Date.now() - 3_600_000);
  const notAfter = options.notAfter ?? new Date(Date.now() + 365 * 86_400_000);
  const certificate =
    options.issuer === undefined
      ? await x509.X509CertificateGenerator.createSelfSigned({ name: `CN=${name}`, keys, notBefore, notAfter, signingAlgorithm: ECDSA, extensions }, crypto)
      : await x509.X509CertificateGenerator.create(
          {
            subject: `CN=${name}`,
            issuer: options.issuer.certificate.subject,
            publicKey: keys.publicKey,
            signingKey: options.issuer.keys.privateKey,
            notBefore,
            notAfter,
            signingAlgorithm: ECDSA,
            extensions: [...extensions, await x509.AuthorityKeyIdentifierExtension.create(options.issuer.keys.publicKey, false, crypto)],
          },
          crypto,
        );
  return { name, pem: certificate.toString('pem'), certificate, keys };
}

export interface EkCertificateOptions {
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** extKeyUsage OIDs; default tcg-kp-EKCertificate (2.23.133.8.1). */
  readonly extendedKeyUsages?: readonly string[];
  /** Adds a critical extension of this (unknown) OID. */
  readonly criticalExtension?: string;
  /** Makes the certificate a CA certificate (an EK certificate must not be one). */
  readonly ca?: boolean;
}

/**
 * An EK-style certificate (TCG EK profile: empty subject, critical SAN
 * directoryName with TPM manufacturer/model/version, keyUsage
 * keyEncipherment, extKeyUsage tcg-kp-EKCertificate) for `publicKey`, signed by `issuer`. DER.
 */
export async function issueEkCertificate(issuer: TestCa, publicKey: KeyObject, options: EkCertificateOptions = {}): Promise<Uint8Array> {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(options.ca === true, undefined, true),
    new x509.KeyUsagesExtension(options.ca === true ? x509.KeyUsageFlags.keyCertSign : x509.KeyUsageFlags.keyEncipherment, true),
    new x509.SubjectAlternativeNameExtension([{ type: 'dn', value: 'O=Vigil Test TPM' }], true),
    new x509.ExtendedKeyUsageExtension([...(options.extendedKeyUsages ?? ['2.23.133.8.1'])], false),
    await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey, false, crypto),
  ];
  if (options.criticalExtension !== undefined) extensions.push(new x509.Extension(options.criticalExtension, true, new Uint8Array([0x05, 0x00])));
  const cert = await x509.X509CertificateGenerator.create(
    {
      subject: '',
      issuer: issuer.certificate.subject,
      publicKey: spki,
      signingKey: issuer.keys.privateKey,
      notBefore: options.notBefore ?? new Date(Date.now() - 3_600_000),
      notAfter: options.notAfter ?? new Date('9999-12-31T23:59:59Z'),
      signingAlgorithm: ECDSA,
      extensions,
    },
    crypto,
  );
  return new Uint8Array(cert.rawData);
}

/** An EK as the agent sends it: TPM2B_PUBLIC bytes, its key, and the certificate from NV. */
export interface TpmEk {
  readonly kind: EkKind;
  readonly tpm2bPublic: Uint8Array;
  readonly key: KeyObject;
  readonly certificate: Uint8Array | undefined;
}

/** Creates the EK of `kind` on `tpm` (then flushes it) and reads its certificate. */
export async function readTpmEk(tpm: Tpm, kind: EkKind): Promise<TpmEk> {
  const ek = await createEk(tpm, kind);
  try {
    return { kind, tpm2bPublic: encodePublicBlob(ek.public), key: publicKeyFromTpmt(ek.public), certificate: await readEkCertificate(tpm, kind) };
  } finally {
    await flushKey(tpm, ek);
  }
}

/** A bootstrap client driven by hand: its own key, connected and subscribed to its challenge and result topics. */
export class BootstrapClient {
  readonly #inbox: Array<{ topic: string; payload: Buffer }> = [];
  readonly #waiters: Array<(m: { topic: string; payload: Buffer }) => void> = [];

  private constructor(
    readonly credentials: BootstrapCredentials,
    readonly client: MqttClient,
  ) {
    client.on('message', (topic, payload) => {
      const w = this.#waiters.shift();
      if (w) w({ topic, payload });
      else this.#inbox.push({ topic, payload });
    });
  }

  static async connect(port: number, caPem: string, keyPem?: string): Promise<BootstrapClient> {
    const credentials = await makeBootstrapCredentials(keyPem);
    const client = await connectOk(port, caPem, credentials, credentials.bootstrapId);
    await client.subscribeAsync([topics.enrollChallenge(credentials.bootstrapId), topics.enrollResult(credentials.bootstrapId)], { qos: 1 });
    return new BootstrapClient(credentials, client);
  }

  get bootstrapId(): string {
    return this.credentials.bootstrapId;
  }

  async sendRequest(payload: Uint8Array | string): Promise<void> {
    await this.client.publishAsync(topics.enrollRequest(this.bootstrapId), Buffer.from(payload), { qos: 1 });
  }

  async sendProof(payload: Uint8Array | string): Promise<void> {
    await this.client.publishAsync(topics.enrollProof(this.bootstrapId), Buffer.from(payload), { qos: 1 });
  }

  /** The next message from the server, decoded: a challenge or a result. */
  async next(): Promise<{ kind: 'challenge'; challenge: EnrollChallenge } | { kind: 'result'; result: EnrollResult }> {
    const m = this.#inbox.shift() ?? (await new Promise<{ topic: string; payload: Buffer }>((resolve) => this.#waiters.push(resolve)));
    if (m.topic === topics.enrollChallenge(this.bootstrapId)) {
      const challenge = decodeEnrollChallenge(m.payload);
      if (challenge instanceof ProtocolError) throw challenge;
      return { kind: 'challenge', challenge };
    }
    const result = decodeEnrollResult(m.payload);
    if (result instanceof ProtocolError) throw result;
    return { kind: 'result', result };
  }

  /** The next message, which must be a refusal: its reason. */
  async refusal(): Promise<string> {
    const m = await this.next();
    if (m.kind !== 'result' || m.result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(m)}`);
    return m.result.reason;
  }

  close(): void {
    this.client.end(true);
  }
}
