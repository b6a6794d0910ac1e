import { EnrollmentError } from './errors.js';

/** IANA "secure-mqtt". */
export const DEFAULT_MQTTS_PORT = 8883;

export interface ServerAddress {
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
}

/** `mqtts://HOST[:PORT]`: only MQTT over TLS exists; anything else is a usage error. */
export function parseServerUrl(text: string): ServerAddress {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new EnrollmentError('usage', `--server: ${JSON.stringify(text)} is not a URL such as mqtts://vigil.example:8883`);
  }
  if (url.protocol !== 'mqtts:') throw new EnrollmentError('usage', `--server: ${JSON.stringify(text)} must use mqtts:// (there is no plaintext MQTT)`);
  if (url.hostname === '' || url.username !== '' || url.password !== '' || (url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
    throw new EnrollmentError('usage', `--server: ${JSON.stringify(text)} must be mqtts://HOST[:PORT] and nothing more`);
  }
  const host = url.hostname.startsWith('[') && url.hostname.endsWith(']') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port: url.port === '' ? DEFAULT_MQTTS_PORT : Number(url.port) };
}
