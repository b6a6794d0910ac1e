/**
 * One entry of the kernel's IMA measurement list (Documentation/security/IMA-templates.rst):
 * the PCR, the template hash that was extended, the template name and the
 * template data that the hash covers.
 */

/** The fields of the templates Vigil understands, decoded from the template data. */
export type ImaTemplate =
  /** `ima`: d (SHA-1/MD5 file digest, 20 bytes) | n (file name, at most 255 bytes). */
  | { readonly kind: 'ima'; readonly digest: Uint8Array; readonly path: string }
  /** `ima-ng`: d-ng (`<algo>:` + digest) | n-ng (file name). */
  | { readonly kind: 'ima-ng'; readonly algorithm: string; readonly digest: Uint8Array; readonly path: string }
  /** `ima-sig`: d-ng | n-ng | sig (the security.ima signature, possibly empty). */
  | { readonly kind: 'ima-sig'; readonly algorithm: string; readonly digest: Uint8Array; readonly path: string; readonly signature: Uint8Array }
  /** `ima-buf`: d-ng | n-ng | buf (a measured buffer: kexec command line, keys). */
  | { readonly kind: 'ima-buf'; readonly algorithm: string; readonly digest: Uint8Array; readonly path: string; readonly buffer: Uint8Array }
  /** Any other template: kept (and replayed) by its template data, not decoded. */
  | { readonly kind: 'unknown' };

export interface ImaEntry {
  /** 0-based position in the list. */
  readonly index: number;
  /** Byte offset of the entry (line) in the list. */
  readonly offset: number;
  readonly pcr: number;
  /** The template hash as logged (SHA-1 in the default lists): what the kernel extended into the SHA-1 bank. */
  readonly templateHash: Uint8Array;
  readonly templateName: string;
  readonly template: ImaTemplate;
  /**
   * The bytes the kernel hashed to get the template hash, rebuilt exactly;
   * null only for an unknown template read from the ASCII list.
   */
  readonly templateData: Uint8Array | null;
  /** A violation entry: logged with an all-zero template hash, extended as all ones (ima_add_violation). */
  readonly violation: boolean;
}

/** The IMA list formats: `ascii_runtime_measurements` and `binary_runtime_measurements`. */
export type ImaLogFormat = 'ascii' | 'binary';
