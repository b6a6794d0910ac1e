/** Well-known GUIDs (UEFI specification 2.10; shim). */
export const Guid = {
  EFI_GLOBAL_VARIABLE: '8be4df61-93ca-11d2-aa0d-00e098032b8c',
  EFI_IMAGE_SECURITY_DATABASE: 'd719b2cb-3d3a-4596-a3bc-dad00e67656f',
  SHIM_LOCK: '605dab50-e046-4300-abb6-3dd810dd8b23',
  EFI_CERT_SHA256: 'c1c41626-504c-4092-aca9-41f936934328',
  EFI_CERT_RSA2048: '3c5766e8-269c-4e34-aa14-ed776e85b3b6',
  EFI_CERT_RSA2048_SHA256: 'e2b36190-879b-4a3d-ad8d-f2e7bba32784',
  EFI_CERT_SHA1: '826ca512-cf10-4ac9-b187-be01496631bd',
  EFI_CERT_RSA2048_SHA1: '67f8444f-8743-48f1-a328-1eaab8736080',
  EFI_CERT_X509: 'a5c059a1-94e4-4aa7-87b5-ab155c2bf072',
  EFI_CERT_SHA224: '0b6e5233-a65c-44c9-9407-d9ab83bfc8bd',
  EFI_CERT_SHA384: 'ff3e5307-9fd0-48c9-85f1-8ad56c701e01',
  EFI_CERT_SHA512: '093e0fae-a6c4-4f50-9f1b-d41e2b89c19a',
  EFI_CERT_X509_SHA256: '3bd2a492-96c0-4079-b420-fcf98ef103ed',
  EFI_CERT_X509_SHA384: '7076876e-80c2-4ee6-aad2-28b349a6865b',
  EFI_CERT_X509_SHA512: '446dbf63-2502-4cda-bcfa-2465d2b0fe9d',
  SMBIOS_TABLE: 'eb9d2d31-2d88-11d3-9a16-0090273fc14d',
  SMBIOS3_TABLE: 'f2fd1544-9794-4a2c-992e-e5bbcf20e394',
  ACPI_TABLE: 'eb9d2d30-2d88-11d3-9a16-0090273fc14d',
  ACPI_20_TABLE: '8868e871-e4f1-11d3-bc22-0080c73c8881',
} as const;

/** EFI_SIGNATURE_LIST.SignatureType -> short name. */
export const SIGNATURE_TYPES: ReadonlyMap<string, SignatureTypeName> = new Map([
  [Guid.EFI_CERT_X509, 'x509'],
  [Guid.EFI_CERT_SHA256, 'sha256'],
  [Guid.EFI_CERT_SHA1, 'sha1'],
  [Guid.EFI_CERT_SHA224, 'sha224'],
  [Guid.EFI_CERT_SHA384, 'sha384'],
  [Guid.EFI_CERT_SHA512, 'sha512'],
  [Guid.EFI_CERT_RSA2048, 'rsa2048'],
  [Guid.EFI_CERT_RSA2048_SHA256, 'rsa2048-sha256'],
  [Guid.EFI_CERT_RSA2048_SHA1, 'rsa2048-sha1'],
  [Guid.EFI_CERT_X509_SHA256, 'x509-sha256'],
  [Guid.EFI_CERT_X509_SHA384, 'x509-sha384'],
  [Guid.EFI_CERT_X509_SHA512, 'x509-sha512'],
]);

export type SignatureTypeName =
  | 'x509'
  | 'sha256'
  | 'sha1'
  | 'sha224'
  | 'sha384'
  | 'sha512'
  | 'rsa2048'
  | 'rsa2048-sha256'
  | 'rsa2048-sha1'
  | 'x509-sha256'
  | 'x509-sha384'
  | 'x509-sha512'
  | 'unknown';

export const CONFIGURATION_TABLES: ReadonlyMap<string, string> = new Map([
  [Guid.SMBIOS_TABLE, 'SMBIOS'],
  [Guid.SMBIOS3_TABLE, 'SMBIOS3'],
  [Guid.ACPI_TABLE, 'ACPI'],
  [Guid.ACPI_20_TABLE, 'ACPI 2.0'],
]);
