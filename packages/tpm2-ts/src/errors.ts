import { commandName } from './constants/cc.js';
import { type DecodedResponseCode, decodeResponseCode } from './constants/rc.js';

export { TpmMarshalError, TpmUnmarshalError } from './codec/errors.js';

/**
 * The TPM answered a command with a non-success response code. Names the
 * command, the code, its format-0/1 decoding and, for format-1 codes, which
 * handle, session or parameter it concerns (1-based, as in Part 3's tables).
 */
export class TpmResponseError extends Error {
  readonly command: string;
  readonly commandCode: number;
  readonly code: number;
  readonly decoded: DecodedResponseCode;

  constructor(commandCode: number, code: number) {
    const decoded = decodeResponseCode(code);
    const command = commandName(commandCode);
    const where =
      decoded.parameter !== undefined
        ? `, parameter ${decoded.parameter}`
        : decoded.handle !== undefined
          ? `, handle ${decoded.handle}`
          : decoded.session !== undefined
            ? `, session ${decoded.session}`
            : '';
    const fmt = decoded.format === 0 || decoded.format === 1 ? `format ${decoded.format}` : decoded.format;
    super(
      `${command} failed: ${decoded.name} (0x${code.toString(16).padStart(3, '0')}, ${fmt}${where})` +
        (decoded.meaning ? `: ${decoded.meaning}` : ''),
    );
    this.name = 'TpmResponseError';
    this.command = command;
    this.commandCode = commandCode;
    this.code = code;
    this.decoded = decoded;
  }

  /** True when the base code (without handle/session/parameter number) equals `rc` (a TPM_RC value). */
  is(rc: number): boolean {
    return this.decoded.base === rc;
  }
}

/** The response did not follow the TPM command/response framing (Part 1 §18, Part 3 §5). */
export class TpmProtocolError extends Error {
  constructor(
    readonly command: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${command}: malformed TPM response: ${message}`, options);
    this.name = 'TpmProtocolError';
  }
}

/** The transport could not reach the TPM, or the connection broke mid-command. */
export class TpmTransportError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TpmTransportError';
  }
}

/** A session failed to authenticate the TPM's response (wrong response HMAC): the response must not be trusted. */
export class TpmSessionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TpmSessionError';
  }
}
