// Part 3 §12: Object commands.
import { command } from '../command.js';
import { TPM_CC } from '../constants/cc.js';
import { TPM2B_DATA, TPM2B_DIGEST, TPM2B_NAME, TPML_PCR_SELECTION, TPMT_TK_CREATION } from '../structures/basic.js';
import { TPM2B_CREATION_DATA } from '../structures/misc.js';
import {
  TPM2B_ENCRYPTED_SECRET,
  TPM2B_ID_OBJECT,
  TPM2B_PRIVATE,
  TPM2B_PUBLIC,
  TPM2B_SENSITIVE_CREATE,
  TPM2B_SENSITIVE_DATA,
} from '../structures/public.js';

/**
 * TPM2_Create (Part 3 §12.1): a new ordinary object under parentHandle,
 * returned wrapped (outPrivate) for TPM2_Load; creationPCR selects PCRs
 * whose digest goes into creationData.
 */
export const Create = command({
  name: 'TPM2_Create',
  code: TPM_CC.Create,
  handles: { parentHandle: 'auth' },
  parameters: {
    inSensitive: TPM2B_SENSITIVE_CREATE,
    inPublic: TPM2B_PUBLIC,
    outsideInfo: TPM2B_DATA,
    creationPCR: TPML_PCR_SELECTION,
  },
  responseHandles: [],
  response: {
    outPrivate: TPM2B_PRIVATE,
    outPublic: TPM2B_PUBLIC,
    creationData: TPM2B_CREATION_DATA,
    creationHash: TPM2B_DIGEST,
    creationTicket: TPMT_TK_CREATION,
  },
});

/** TPM2_Load (Part 3 §12.2): loads a Create'd object under its parent; returns its transient handle and Name. */
export const Load = command({
  name: 'TPM2_Load',
  code: TPM_CC.Load,
  handles: { parentHandle: 'auth' },
  parameters: { inPrivate: TPM2B_PRIVATE, inPublic: TPM2B_PUBLIC },
  responseHandles: ['objectHandle'],
  response: { name: TPM2B_NAME },
});

/** TPM2_ReadPublic (Part 3 §12.4): the public area and Name of a loaded object (no authorization). */
export const ReadPublic = command({
  name: 'TPM2_ReadPublic',
  code: TPM_CC.ReadPublic,
  handles: { objectHandle: 'none' },
  parameters: {},
  responseHandles: [],
  response: { outPublic: TPM2B_PUBLIC, name: TPM2B_NAME, qualifiedName: TPM2B_NAME },
});

/**
 * TPM2_ActivateCredential (Part 3 §12.5): keyHandle (the EK) decrypts
 * `secret` to the seed protecting credentialBlob, which only opens if
 * activateHandle's Name is the one MakeCredential bound in. activateHandle
 * needs ADMIN role, keyHandle USER role (for an EK: its PolicySecret policy).
 */
export const ActivateCredential = command({
  name: 'TPM2_ActivateCredential',
  code: TPM_CC.ActivateCredential,
  handles: { activateHandle: 'auth', keyHandle: 'auth' },
  parameters: { credentialBlob: TPM2B_ID_OBJECT, secret: TPM2B_ENCRYPTED_SECRET },
  responseHandles: [],
  response: { certInfo: TPM2B_DIGEST },
});

/** TPM2_MakeCredential (Part 3 §12.6): the TPM as a software helper, sealing `credential` to objectName for the public key at `handle`. */
export const MakeCredential = command({
  name: 'TPM2_MakeCredential',
  code: TPM_CC.MakeCredential,
  handles: { handle: 'none' },
  parameters: { credential: TPM2B_DIGEST, objectName: TPM2B_NAME },
  responseHandles: [],
  response: { credentialBlob: TPM2B_ID_OBJECT, secret: TPM2B_ENCRYPTED_SECRET },
});

/** TPM2_Unseal (Part 3 §12.7): the data of a sealed data object (keyedHash with sign and decrypt clear). */
export const Unseal = command({
  name: 'TPM2_Unseal',
  code: TPM_CC.Unseal,
  handles: { itemHandle: 'auth' },
  parameters: {},
  responseHandles: [],
  response: { outData: TPM2B_SENSITIVE_DATA },
});
