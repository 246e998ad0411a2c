import { createPublicKey } from 'node:crypto';
import { getAttributesRequest } from '../kmip/requests';
import type { KmipOperations } from '../kmip/client-operations';
import { KmipError } from '../kmip/errors';
import type { LocateFilter } from '../kmip/requests';
import { readAttributes, type RetrievedObject } from '../kmip/responses';
import { CKR } from './constants';
import { fail, kmipFailure } from './errors';
import { describeCertificate, describePublicKey, type CertificateInfo, type PublicKeyInfo } from './key-material';
import { speaksCosmianDialect } from './kms-connection';
import { kmsObjectFromAttributes, OBJECT_ATTRIBUTE_REFERENCES, STANDARD_ATTRIBUTE_REFERENCES, type KmsObject } from './kms-object';

/** What to ask GetAttributes for: Cosmian's vendor tags only from a server that has them. */
async function attributeReferences(kms: KmipOperations): Promise<readonly string[]> {
  return (await speaksCosmianDialect(kms)) ? OBJECT_ATTRIBUTE_REFERENCES : STANDARD_ATTRIBUTE_REFERENCES;
}

/**
 * A public key as SubjectPublicKeyInfo DER. Asked for as X509; a server that cannot convert
 * (PyKMIP keeps RSA public keys as PKCS#1) is asked for its own format, converted here.
 */
async function publicKeySpki(kms: KmipOperations, uid: string): Promise<Buffer | undefined> {
  let retrieved: RetrievedObject;
  try {
    retrieved = await kms.get(uid, { keyFormatType: 'X509' });
  } catch (e) {
    if (!(e instanceof KmipError) || e.reason !== 'Key_Format_Type_Not_Supported') throw e;
    retrieved = await kms.get(uid);
  }
  if (!retrieved.bytes) return undefined;
  if (retrieved.keyFormatType !== 'PKCS1') return retrieved.bytes;
  return createPublicKey({ key: retrieved.bytes, format: 'der', type: 'pkcs1' }).export({ format: 'der', type: 'spki' });
}

interface Entry {
  object: KmsObject;
  fetchedAt: number;
  publicKey?: PublicKeyInfo;
  certificate?: CertificateInfo;
}

/**
 * A slot's view of the KMS objects: a search is one Locate and one GetAttributes batch
 * (several BatchItems in one KMIP message) for the objects not already cached. The cache
 * holds metadata and public material only; it expires with the slot's TTL and loses an
 * object as soon as this module changes or destroys it.
 */
export class ObjectStore {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly kms: () => KmipOperations, private readonly ttlMs: number) {}

  private fresh(uid: string): Entry | undefined {
    const e = this.entries.get(uid);
    if (e && Date.now() - e.fetchedAt <= this.ttlMs) return e;
    return undefined;
  }

  invalidate(uid?: string): void {
    if (uid === undefined) this.entries.clear();
    else this.entries.delete(uid);
  }

  /** Locate, then fetch the attributes of every located object not cached, in one batch. */
  async search(filter: LocateFilter): Promise<KmsObject[]> {
    let uids: string[];
    try {
      uids = await this.kms().locate(filter);
    } catch (e) {
      throw kmipFailure(e, 'object');
    }
    await this.load(uids.filter((u) => !this.fresh(u)));
    return uids.map((u) => this.entries.get(u)?.object).filter((o): o is KmsObject => o !== undefined);
  }

  private async load(uids: string[]): Promise<void> {
    if (uids.length === 0) return;
    let results;
    try {
      const references = await attributeReferences(this.kms());
      results = await this.kms().batch(uids.map((u) => getAttributesRequest(u, references)), { continueOnError: true });
    } catch (e) {
      throw kmipFailure(e, 'object');
    }
    const now = Date.now();
    results.forEach((r, i) => {
      const uid = uids[i] as string;
      // An object destroyed between the Locate and the batch simply drops out.
      if (r.ok) this.entries.set(uid, { object: kmsObjectFromAttributes(uid, readAttributes(r.response)), fetchedAt: now });
      else this.entries.delete(uid);
    });
  }

  async get(uid: string, subject: 'object' | 'key' = 'object'): Promise<KmsObject> {
    const cached = this.fresh(uid);
    if (cached) return cached.object;
    try {
      const view = await this.kms().getAttributes(uid, await attributeReferences(this.kms()));
      const object = kmsObjectFromAttributes(uid, view);
      this.entries.set(uid, { object, fetchedAt: Date.now() });
      return object;
    } catch (e) {
      throw kmipFailure(e, subject);
    }
  }

  private entryFor(o: KmsObject): Entry {
    let e = this.entries.get(o.uid);
    if (!e) {
      e = { object: o, fetchedAt: Date.now() };
      this.entries.set(o.uid, e);
    }
    return e;
  }

  /**
   * Removes an object from the KMS: KMIP destroys only objects that are not Active, so an
   * Active one (or one whose state is unknown) is revoked first.
   */
  async destroy(uid: string, state: string | undefined): Promise<void> {
    this.invalidate(uid);
    const kms = this.kms();
    try {
      if (state === 'Active') await kms.revoke(uid, 'CessationOfOperation');
      // Unknown state: a revoke of an object that is not Active fails harmlessly.
      else if (state === undefined) await kms.revoke(uid, 'CessationOfOperation').catch(() => undefined);
      await kms.destroy(uid);
    } catch (e) {
      throw kmipFailure(e, 'object');
    }
  }

  /** The public half of a key or certificate. A private key's comes from its linked public key. */
  async publicKey(o: KmsObject): Promise<PublicKeyInfo | undefined> {
    const e = this.entryFor(o);
    if (e.publicKey) return e.publicKey;
    if (o.objectType === 'Certificate') return (await this.certificate(o)).publicKey;
    let uid = o.uid;
    if (o.objectType === 'PrivateKey') {
      const linked = o.links.get('PublicKeyLink');
      if (linked === undefined) return undefined;
      uid = linked;
    } else if (o.objectType !== 'PublicKey') {
      return undefined;
    }
    try {
      const spki = await publicKeySpki(this.kms(), uid);
      if (!spki) return undefined;
      e.publicKey = describePublicKey(spki);
      return e.publicKey;
    } catch (err) {
      throw kmipFailure(err, 'object');
    }
  }

  async certificate(o: KmsObject): Promise<CertificateInfo> {
    const e = this.entryFor(o);
    if (e.certificate) return e.certificate;
    try {
      const retrieved = await this.kms().get(o.uid);
      if (!retrieved.bytes) fail(CKR.DEVICE_ERROR, `the KMS returned no DER for certificate ${o.uid}`);
      e.certificate = describeCertificate(retrieved.bytes);
      return e.certificate;
    } catch (err) {
      throw kmipFailure(err, 'object');
    }
  }

  /** The secret bytes of a data object or an extractable, non-sensitive secret key. Never cached. */
  async value(o: KmsObject): Promise<Buffer> {
    try {
      const retrieved = await this.kms().get(o.uid, o.objectType === 'SymmetricKey' ? { keyFormatType: 'Raw' } : {});
      if (!retrieved.bytes) fail(CKR.DEVICE_ERROR, `the KMS returned no value for ${o.uid}`);
      return retrieved.bytes;
    } catch (err) {
      throw kmipFailure(err, 'object');
    }
  }
}
