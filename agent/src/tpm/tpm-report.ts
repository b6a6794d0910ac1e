import { type CommandRunner, EK_CERT_NV_INDEX, type EkKind, getPcrBanks, getTpmIdentity, readEkCertificate, type TpmIdentity } from '@vigil/tpm2-ts';

/** What `vigil-agent tpm info` reports. */
export interface TpmReport {
  readonly identity: TpmIdentity;
  readonly pcrBanks: readonly { readonly name: string; readonly hashAlg: number; readonly pcrCount: number }[];
  readonly ekCertificates: Readonly<Record<EkKind, { readonly present: boolean; readonly nvIndex: number; readonly size?: number }>>;
}

export async function describeTpm(tpm: CommandRunner): Promise<TpmReport> {
  const identity = await getTpmIdentity(tpm);
  const banks = await getPcrBanks(tpm);
  const ekCertificates = {} as Record<EkKind, { present: boolean; nvIndex: number; size?: number }>;
  for (const kind of Object.keys(EK_CERT_NV_INDEX) as EkKind[]) {
    const der = await readEkCertificate(tpm, kind);
    ekCertificates[kind] = der ? { present: true, nvIndex: EK_CERT_NV_INDEX[kind], size: der.length } : { present: false, nvIndex: EK_CERT_NV_INDEX[kind] };
  }
  return { identity, pcrBanks: banks.map((b) => ({ name: b.name, hashAlg: b.hashAlg, pcrCount: b.pcrs.length })), ekCertificates };
}
