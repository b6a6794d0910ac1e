/** The MQTT-over-TLS port assumed when `server` names none (IANA "secure-mqtt"). */
export const DEFAULT_MQTTS_PORT = 8883;

/** `mqtts://HOST[:PORT]` taken apart; undefined when it is not one (the schema has already checked the form). */
export function parseServerUrl(url: string): { readonly host: string; readonly port: number } | undefined {
  const m = /^mqtts:\/\/([^/\s:@]+)(?::([0-9]{1,5}))?\/?$/.exec(url);
  if (!m) return undefined;
  const port = m[2] === undefined ? DEFAULT_MQTTS_PORT : Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!, port };
}
