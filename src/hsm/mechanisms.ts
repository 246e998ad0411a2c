import { randomBytes } from 'node:crypto';
import * as pkcs11 from 'pkcs11js';
import { pkcs11Rv } from './errors';
import type { HsmSlot, OaepHash } from './slot';

export type CipherAlgorithm = 'AES-GCM' | 'AES-CBC' | 'RSA-OAEP' | 'RSA-PKCS1';
export type SignatureAlgorithm = 'RSA-PKCS1-SHA256' | 'RSA-PSS-SHA256' | 'ECDSA-SHA256';

export const GCM_IV_BYTES = 12;
export const GCM_TAG_BYTES = 16;
export const CBC_IV_BYTES = 16;

/** CK_RSA_PKCS_OAEP_PARAMS.source: the label comes from pSourceData (empty here). pkcs11js does not export it. */
const CKZ_DATA_SPECIFIED = 1;

const OAEP_HASHES: Readonly<Record<OaepHash, { hashAlg: number; mgf: number }>> = {
  'SHA-1': { hashAlg: pkcs11.CKM_SHA_1, mgf: pkcs11.CKG_MGF1_SHA1 },
  'SHA-256': { hashAlg: pkcs11.CKM_SHA256, mgf: pkcs11.CKG_MGF1_SHA256 },
  'SHA-384': { hashAlg: pkcs11.CKM_SHA384, mgf: pkcs11.CKG_MGF1_SHA384 },
  'SHA-512': { hashAlg: pkcs11.CKM_SHA512, mgf: pkcs11.CKG_MGF1_SHA512 },
};

/**
 * The order "best" means for OAEP: SHA-256 first because it is Cosmian's default and what
 * other KMIP clients expect; SHA-1 last, used only where it is all the token has (Debian's
 * SoftHSM2 2.6.1).
 */
export const OAEP_PREFERENCE: readonly OaepHash[] = ['SHA-256', 'SHA-384', 'SHA-512', 'SHA-1'];

export function gcmMechanism(iv: Buffer, aad?: Buffer): pkcs11.Mechanism {
  const parameter: pkcs11.AesGCM = { type: pkcs11.CK_PARAMS_AES_GCM, iv, ivBits: iv.length * 8, tagBits: GCM_TAG_BYTES * 8 };
  if (aad && aad.length > 0) parameter.aad = aad;
  return { mechanism: pkcs11.CKM_AES_GCM, parameter };
}

/** Plain CBC: padding is done on the host, as Cosmian does, because not every HSM has CKM_AES_CBC_PAD. */
export function cbcMechanism(iv: Buffer): pkcs11.Mechanism {
  return { mechanism: pkcs11.CKM_AES_CBC, parameter: iv };
}

export function oaepMechanism(hash: OaepHash): pkcs11.Mechanism {
  const parameter: pkcs11.RsaOAEP = { type: pkcs11.CK_PARAMS_RSA_OAEP, ...OAEP_HASHES[hash], source: CKZ_DATA_SPECIFIED };
  return { mechanism: pkcs11.CKM_RSA_PKCS_OAEP, parameter };
}

export function pssSha256Mechanism(): pkcs11.Mechanism {
  const parameter: pkcs11.RsaPSS = { type: pkcs11.CK_PARAMS_RSA_PSS, hashAlg: pkcs11.CKM_SHA256, mgf: pkcs11.CKG_MGF1_SHA256, saltLen: 32 };
  return { mechanism: pkcs11.CKM_SHA256_RSA_PKCS_PSS, parameter };
}

export function pkcs7Pad(data: Buffer): Buffer {
  const n = CBC_IV_BYTES - (data.length % CBC_IV_BYTES);
  return Buffer.concat([data, Buffer.alloc(n, n)]);
}

/** The unpadded plaintext, or undefined when the padding is malformed. */
export function pkcs7Unpad(data: Buffer): Buffer | undefined {
  const n = data.length > 0 ? data[data.length - 1]! : 0;
  if (n < 1 || n > CBC_IV_BYTES || n > data.length) return undefined;
  let bad = 0;
  for (let i = data.length - n; i < data.length; i++) bad |= data[i]! ^ n;
  return bad === 0 ? data.subarray(0, data.length - n) : undefined;
}

/**
 * Which OAEP hashes the token really accepts. Mechanism lists do not say (SoftHSM2 lists
 * CKM_RSA_PKCS_OAEP yet rejects SHA-256 with CKR_ARGUMENTS_BAD), so each hash is tried on a
 * throwaway key pair. Unlike Cosmian's probe (a token RSA-1024 pair), the pair is a session
 * object: it never reaches the token's storage, even if the process dies mid-probe.
 * Returns the hashes best first, or the reason there are none.
 */
export function probeOaepHashes(slot: HsmSlot): { hashes: OaepHash[]; error?: string } {
  if (!slot.hasMechanism(pkcs11.CKM_RSA_PKCS_OAEP) || !slot.hasMechanism(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN)) {
    return { hashes: [], error: 'the token lists no CKM_RSA_PKCS_OAEP or no RSA key-pair generation' };
  }
  try {
    return { hashes: slot.withSession({ operation: 'probe RSA-OAEP hashes' }, (session, p11) => probeWith(slot, session, p11)) };
  } catch (e) {
    return { hashes: [], error: e instanceof Error ? e.message : String(e) };
  }
}

function probeWith(slot: HsmSlot, session: Buffer, p11: pkcs11.PKCS11): OaepHash[] {
  // The smallest size the token accepts, but no less than 1024: FIPS-mode tokens refuse less.
  const bits = Math.max(1024, p11.C_GetMechanismInfo(slot.handle, pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN).minKeySize);
  const pair = p11.C_GenerateKeyPair(session, { mechanism: pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN }, [
    { type: pkcs11.CKA_TOKEN, value: false },
    { type: pkcs11.CKA_MODULUS_BITS, value: bits },
    { type: pkcs11.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
    { type: pkcs11.CKA_ENCRYPT, value: true },
  ], [
    { type: pkcs11.CKA_TOKEN, value: false },
    { type: pkcs11.CKA_PRIVATE, value: true },
    { type: pkcs11.CKA_SENSITIVE, value: true },
    { type: pkcs11.CKA_DECRYPT, value: true },
  ]);
  try {
    const probe = randomBytes(16);
    const out = Buffer.alloc(bits / 8);
    return OAEP_PREFERENCE.filter((hash) => {
      try {
        p11.C_EncryptInit(session, oaepMechanism(hash), pair.publicKey);
        const cipher = Buffer.from(p11.C_Encrypt(session, probe, out));
        p11.C_DecryptInit(session, oaepMechanism(hash), pair.privateKey);
        return p11.C_Decrypt(session, cipher, out).equals(probe);
      } catch (e) {
        if (pkcs11Rv(e) === undefined) throw e;
        return false;
      }
    });
  } finally {
    p11.C_DestroyObject(session, pair.privateKey);
    p11.C_DestroyObject(session, pair.publicKey);
  }
}
