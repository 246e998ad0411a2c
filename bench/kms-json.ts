import type { ChildProcess } from 'node:child_process';

/** JSON TTLV requests and set-up calls shared by kms-bench.ts and hsm-bench.ts. */

export const text = (tag: string, value: string): string => `{"tag":"${tag}","type":"TextString","value":"${value}"}`;
export const bytes = (tag: string, hex: string): string => `{"tag":"${tag}","type":"ByteString","value":"${hex}"}`;

const AES_256 = [
  '{"tag":"CryptographicAlgorithm","type":"Enumeration","value":"AES"}',
  '{"tag":"CryptographicLength","type":"Integer","value":256}',
  '{"tag":"CryptographicUsageMask","type":"Integer","value":12}',
  '{"tag":"ActivationDate","type":"DateTime","value":"2024-01-01T00:00:00Z"}',
];
/** An active AES-256 Encrypt/Decrypt key; `extra` attributes go after the standard ones. */
export const createAesRequest = (...extra: string[]): string =>
  `{"tag":"Create","value":[{"tag":"ObjectType","type":"Enumeration","value":"SymmetricKey"},{"tag":"Attributes","value":[${[...AES_256, ...extra].join(',')}]}]}`;

export const PLAINTEXT_HEX = '00'.repeat(64);
export const encryptRequest = (uid: string): string => `{"tag":"Encrypt","value":[${text('UniqueIdentifier', uid)},${bytes('Data', PLAINTEXT_HEX)}]}`;

export interface GcmOutput {
  data: string;
  iv: string;
  tag: string;
}

export const decryptRequest = (uid: string, c: GcmOutput): string =>
  `{"tag":"Decrypt","value":[${text('UniqueIdentifier', uid)},${bytes('Data', c.data)},${bytes('IVCounterNonce', c.iv)},${bytes('AuthenticatedEncryptionTag', c.tag)}]}`;

export type JsonTtlv = Record<string, unknown>;

export async function post(origin: string, body: string): Promise<JsonTtlv> {
  const res = await fetch(`${origin}/kmip/2_1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const textBody = await res.text();
  if (res.status !== 200) throw new Error(`setup request failed: ${res.status} ${textBody}`);
  return JSON.parse(textBody) as JsonTtlv;
}

export function field(response: JsonTtlv, tag: string): string {
  const found = (response['value'] as Array<{ tag: string; value: unknown }>).find((n) => n.tag === tag);
  if (!found) throw new Error(`no ${tag} in response`);
  return String(found.value);
}

/** Encrypts the benchmark's 64 B and decrypts the result back: the key works before it is measured. */
export async function checkRoundTrip(origin: string, uid: string): Promise<void> {
  try {
    const enc = await post(origin, encryptRequest(uid));
    const gcm = { data: field(enc, 'Data'), iv: field(enc, 'IVCounterNonce'), tag: field(enc, 'AuthenticatedEncryptionTag') };
    const dec = await post(origin, decryptRequest(uid, gcm));
    if (field(dec, 'Data').toLowerCase() !== PLAINTEXT_HEX) throw new Error('Decrypt did not give back the plaintext');
  } catch (e) {
    throw new Error(`round trip with ${uid} on ${origin}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Resolves once the child has printed `pattern` `times` times (stdout or stderr). */
export function waitForLines(child: ChildProcess, pattern: RegExp, times = 1): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      const count = seen.split('\n').filter((line) => pattern.test(line)).length;
      if (count >= times) {
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`process exited (${code}) before it was ready:\n${seen}`)));
  });
}
