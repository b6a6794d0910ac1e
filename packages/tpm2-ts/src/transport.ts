/**
 * How commands reach a TPM. A transport moves one complete command buffer to
 * the TPM and returns one complete response buffer; framing beyond that
 * (swtpm/mssim headers, device reads) is the transport's business.
 * Implementations must serialise concurrent `send` calls themselves or
 * document that they do not; `Tpm` never has two commands in flight.
 */
export interface Transport {
  send(command: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}
