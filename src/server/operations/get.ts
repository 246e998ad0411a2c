import { createPrivateKey } from 'node:crypto';
import { COSMIAN_FAILURES, KmipError } from '../../kmip/errors';
import { T, child, type TtlvNode, type TtlvStructure } from '../../kmip/ttlv';
import type { OperationContext } from '../context';
import { getAttr, linkedId, textAttr } from '../model/attributes';
import { isExtractable, isProtectable, isSensitive } from '../model/protection';
import { defaultFormat, keyBlock, privateKeyMaterial, publicKeyMaterial, symmetricKeyMaterial } from '../model/key-block';
import { publicKeyOf, symmetricKeyOf } from '../model/key-objects';
import { effectiveState, requireUsableState } from '../model/lifecycle';
import { fullAttributes, userTags, type ManagedObject } from '../model/managed-object';
import { tagsAttribute } from '../model/attributes';
import { rsaEncryptionChoice, symmetricChoice } from '../model/crypto-params';
import { USAGE, requireUsage } from '../model/usage';
import { rsaEncrypt, symmetricEncrypt } from '../crypto';
import { buildPkcs12 } from '../crypto/pkcs12';
import { read, readCryptoParams } from './payload';
import { hsmKeyWrappingData, hsmWrappingKeyOf } from '../hsm/key-wrapping';

interface Wrapping {
  method: string;
  keyUid: string;
  params: TtlvStructure | undefined;
}

function readWrapping(p: TtlvStructure): Wrapping | undefined {
  const spec = read.struct(p, 'KeyWrappingSpecification');
  if (!spec) return undefined;
  const method = read.enum(spec, 'WrappingMethod') ?? 'Encrypt';
  const info = read.struct(spec, 'EncryptionKeyInformation');
  const keyUid = read.text(info, 'UniqueIdentifier');
  if (!keyUid) throw new KmipError('Missing_Data', 'missing EncryptionKeyInformation.UniqueIdentifier');
  return { method, keyUid, params: read.struct(info, 'CryptographicParameters') };
}

/** The bytes a key is wrapped as: raw for symmetric keys, PKCS#8 for private keys, SPKI for public ones. */
async function wrapKeyBytes(ctx: OperationContext, bytes: Buffer, w: Wrapping): Promise<{ wrapped: Buffer; data: TtlvStructure }> {
  if (w.method !== 'Encrypt') throw new KmipError('Feature_Not_Supported', `wrapping method ${w.method} is not supported`);
  // Wrapping encrypts with the wrapping key: a non-owner needs "encrypt" on it, whatever it exports.
  const wrapper = await ctx.load(w.keyUid, 'encrypt');
  requireUsableState(wrapper, 'protect', ctx.now());
  requireUsage(wrapper, 'WrapKey', USAGE.WrapKey | USAGE.Encrypt);
  const params = readCryptoParams(w.params ? T.struct('x', [w.params]) : undefined);
  let wrapped: Buffer;
  if (wrapper.objectType === 'SymmetricKey') {
    const choice = symmetricChoice({ mode: 'AESKeyWrapPadding', ...params }, textAttr(wrapper.attributes, 'CryptographicAlgorithm') ?? 'AES');
    wrapped = symmetricEncrypt({ ...choice, key: symmetricKeyOf(wrapper), data: bytes }).data;
  } else {
    wrapped = await rsaEncrypt(publicKeyOf(wrapper), bytes, rsaEncryptionChoice(params));
  }
  const data = T.struct('KeyWrappingData', [
    T.enum('WrappingMethod', 'Encrypt'),
    T.struct('EncryptionKeyInformation', [T.text('UniqueIdentifier', w.keyUid), w.params]),
  ]);
  return { wrapped, data };
}

/** Enforces Sensitive and Extractable: a sensitive key leaves only wrapped; a non-extractable one never. */
function checkExportable(o: ManagedObject, wrapping: Wrapping | true | undefined): void {
  if (!isProtectable(o.objectType)) return;
  if (!isExtractable(o.attributes)) {
    throw new KmipError('Not_Extractable', `object ${o.uid} is not extractable`);
  }
  if (isSensitive(o.attributes) && !wrapping) {
    throw new KmipError('Sensitive', `object ${o.uid} is sensitive: it can only be exported wrapped`);
  }
}

async function renderObject(ctx: OperationContext, o: ManagedObject, format: string | undefined, wrapping: Wrapping | undefined, pkcs12Password: string | undefined): Promise<TtlvStructure> {
  if (!o.material) throw new KmipError('Key_Value_Not_Present', `object ${o.uid} has no key material (${o.state})`);
  const algorithm = getAttr(o.attributes, 'CryptographicAlgorithm');
  const length = getAttr(o.attributes, 'CryptographicLength');
  const attrs = [...fullAttributes(o), ...(userTags(o).length ? [tagsAttribute(userTags(o))] : [])];
  const finish = async (fmt: string, material: TtlvNode, canonical: Buffer): Promise<TtlvStructure> => {
    if (!wrapping) return keyBlock(fmt, material, attrs, algorithm, length);
    const { wrapped, data } = await wrapKeyBytes(ctx, canonical, wrapping);
    return T.struct('KeyBlock', [T.enum('KeyFormatType', fmt), T.bytes('KeyValue', wrapped), algorithm, length, data]);
  };
  switch (o.objectType) {
    case 'SymmetricKey': {
      const fmt = format ?? defaultFormat('SymmetricKey');
      const key = symmetricKeyOf(o); // unwrapped through the HSM when the key is stored wrapped
      return T.struct('SymmetricKey', [await finish(fmt, symmetricKeyMaterial(fmt, key), key)]);
    }
    case 'PrivateKey': {
      if (format === 'PKCS12') return T.struct('PrivateKey', [await pkcs12Block(ctx, o, pkcs12Password)]);
      const fmt = format ?? defaultFormat('PrivateKey', createPrivateKey({ key: o.material, format: 'der', type: 'pkcs8' }));
      const wrappedFmt = wrapping ? 'PKCS8' : fmt;
      return T.struct('PrivateKey', [await finish(wrappedFmt, privateKeyMaterial(fmt, o.material), o.material)]);
    }
    case 'PublicKey': {
      const fmt = format ?? defaultFormat('PublicKey', publicKeyOf(o));
      return T.struct('PublicKey', [await finish(fmt, publicKeyMaterial(fmt, o.material), o.material)]);
    }
    case 'Certificate':
      if (format !== undefined && format !== 'X509') throw new KmipError('Key_Format_Type_Not_Supported', `a certificate is exported as X509, not ${format}`);
      return T.struct('Certificate', [T.enum('CertificateType', 'X509'), T.bytes('CertificateValue', o.material)]);
    case 'SecretData': {
      const type = getAttr(o.attributes, 'SecretDataType');
      return T.struct('SecretData', [
        T.enum('SecretDataType', type ? String(type.value) : 'Password'),
        await finish('Raw', T.bytes('KeyMaterial', o.material), o.material),
      ]);
    }
    case 'OpaqueObject': {
      const type = getAttr(o.attributes, 'OpaqueDataType');
      return T.struct('OpaqueObject', [T.enum('OpaqueDataType', type ? String(type.value) : 'Unknown'), T.bytes('OpaqueDataValue', o.material)]);
    }
  }
}

/** PKCS#12 of a private key with its linked certificate; Cosmian passes the password as the wrapping key "UID". */
async function pkcs12Block(ctx: OperationContext, o: ManagedObject, password: string | undefined): Promise<TtlvStructure> {
  if (password === undefined) throw new KmipError('Missing_Data', 'PKCS12 export needs a password (KeyWrappingSpecification.EncryptionKeyInformation.UniqueIdentifier)');
  const certUid = linkedId(o.attributes, 'CertificateLink') ?? linkedId(o.attributes, 'PKCS12CertificateLink');
  if (!certUid) throw new KmipError('Item_Not_Found', `private key ${o.uid} has no linked certificate`);
  const cert = await ctx.load(certUid);
  if (!cert.material || !o.material) throw new KmipError('Key_Value_Not_Present', 'the certificate or the key has no value');
  const pfx = buildPkcs12({ certificateDer: cert.material, privateKeyPkcs8Der: o.material, password, friendlyName: textAttr(o.attributes, 'Pkcs12FriendlyName') ?? o.uid });
  return T.struct('KeyBlock', [T.enum('KeyFormatType', 'PKCS12'), T.struct('KeyValue', [T.bytes('KeyMaterial', pfx)])]);
}

async function getOrExport(p: TtlvStructure, ctx: OperationContext, exporting: boolean): Promise<TtlvStructure> {
  const uid = await ctx.resolveUid(p);
  const o = await ctx.load(uid);
  const state = effectiveState(o, ctx.now());
  const destroyed = state === 'Destroyed' || state === 'Destroyed_Compromised';
  const format = read.enum(p, 'KeyFormatType');
  if (read.enum(p, 'KeyCompressionType') !== undefined) throw new KmipError('Key_Compression_Type_Not_Supported', 'key compression is not supported');
  const isPkcs12 = format === 'PKCS12';
  const wrapping = isPkcs12 ? undefined : readWrapping(p);
  const password = isPkcs12 ? read.text(child(child(p, 'KeyWrappingSpecification'), 'EncryptionKeyInformation'), 'UniqueIdentifier') : undefined;
  const head = [T.enum('ObjectType', o.objectType), T.text('UniqueIdentifier', uid)];
  const response = exporting ? 'ExportResponse' : 'GetResponse';
  if (destroyed) {
    if (!exporting) throw COSMIAN_FAILURES.objectDestroyed(`object ${uid} is destroyed`);
    return T.struct(response, [...head, T.struct('Attributes', fullAttributes(o))]);
  }
  // A key stored wrapped by an HSM key leaves as stored (iv‖ct‖tag with KeyWrappingData naming the HSM key),
  // as Cosmian's default does, unless KeyWrapType NotWrapped asks for it in clear or another wrapping is asked for.
  const hsmKek = o.objectType === 'SymmetricKey' ? hsmWrappingKeyOf(o.attributes) : undefined;
  const asStored = hsmKek !== undefined && !wrapping && !isPkcs12 && read.enum(p, 'KeyWrapType') !== 'NotWrapped';
  // A PKCS#12 password is chosen by the caller, so it protects nothing against the caller: treat it as clear.
  checkExportable(o, isPkcs12 ? undefined : asStored ? true : wrapping);
  const object = asStored && hsmKek !== undefined && o.material
    ? T.struct('SymmetricKey', [T.struct('KeyBlock', [T.enum('KeyFormatType', format ?? defaultFormat('SymmetricKey')), T.bytes('KeyValue', o.material),
      getAttr(o.attributes, 'CryptographicAlgorithm'), getAttr(o.attributes, 'CryptographicLength'), hsmKeyWrappingData(hsmKek)])])
    : await renderObject(ctx, o, format, wrapping, password);
  return T.struct(response, [...head, exporting ? T.struct('Attributes', fullAttributes(o)) : undefined, object]);
}

export function get(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  return getOrExport(p, ctx, false);
}

export function exportObject(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  return getOrExport(p, ctx, true);
}
