import { CKR } from '../pkcs11/constants';
import { withCallDeadline } from '../pkcs11/call-deadline';
import { Pkcs11Error } from '../pkcs11/errors';
import * as crypto from '../pkcs11/calls/crypto';
import * as keys from '../pkcs11/calls/keys';
import * as objects from '../pkcs11/calls/objects';
import * as slots from '../pkcs11/calls/slots';
import type { Token } from '../pkcs11/token';
import type { AttributeQuery, CallOutcome, Mechanism, OutBuffer, RawAttribute } from '../pkcs11/types';
import type { CallHandler } from './dispatcher';
import { FrameError, type FrameValue } from './frame';
import { log } from './log';

/**
 * The bridge from decoded frames to the token: each handler takes its arguments by
 * position, with the kinds the call table promises, and turns a Pkcs11Error into its rv.
 */

type ValueOf<K extends FrameValue['kind']> = Extract<FrameValue, { kind: K }>['value'];

function arg<K extends FrameValue['kind']>(args: FrameValue[], i: number, kind: K): ValueOf<K> {
  const v = args[i];
  if (!v || v.kind !== kind) throw new FrameError(`argument ${i} is not of kind ${kind}`);
  // The kind was just checked; TypeScript cannot narrow a union through a generic key.
  return v.value as ValueOf<K>;
}

const u = (a: FrameValue[], i: number): number => arg(a, i, 'u');
const y = (a: FrameValue[], i: number): number => arg(a, i, 'y');
const bytes = (a: FrameValue[], i: number): Uint8Array | null => arg(a, i, 'a');
const data = (a: FrameValue[], i: number): Uint8Array => arg(a, i, 'a') ?? new Uint8Array();
const out = (a: FrameValue[], i: number): OutBuffer => arg(a, i, 'f');
const list = (a: FrameValue[], i: number): OutBuffer => arg(a, i, 'l');
const template = (a: FrameValue[], i: number): RawAttribute[] => arg(a, i, 't');
const query = (a: FrameValue[], i: number): AttributeQuery[] => arg(a, i, 'q');
const mechanism = (a: FrameValue[], i: number): Mechanism | null => arg(a, i, 'm');
function requiredMechanism(a: FrameValue[], i: number): Mechanism {
  const m = mechanism(a, i);
  if (!m) throw new Pkcs11Error(CKR.ARGUMENTS_BAD, 'a mechanism is required');
  return m;
}

async function guard(name: string, run: () => CallOutcome | Promise<CallOutcome>): Promise<CallOutcome> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof Pkcs11Error) {
      log.info(`C_${name}: 0x${e.rv.toString(16)} ${e.message}`);
      return { rv: e.rv };
    }
    throw e;
  }
}

export function tokenHandlers(token: Token, digest: string): Record<string, CallHandler> {
  const table: Record<string, (a: FrameValue[]) => CallOutcome | Promise<CallOutcome>> = {
    Initialize: (a) => {
      if (Buffer.from(data(a, 3)).toString('latin1') !== digest) {
        log.error('C_Initialize: the shim and the runtime were built from different call tables');
        return { rv: CKR.DEVICE_ERROR };
      }
      const hosting = Buffer.from(data(a, 4)).toString('utf8');
      token.initialize({ ulongSize: u(a, 0), pointerSize: u(a, 1), littleEndian: y(a, 2) === 1, hosting }, u(a, 5));
      if (token.config) log.configure(token.config.logLevel, token.config.logFile);
      log.info(`C_Initialize: hosting ${hosting}; configuration ${token.config?.path ?? token.config?.source ?? 'none'}; ${token.slots.length} slot(s)`);
      if (token.configError) log.error(`configuration: ${token.configError}`);
      return { rv: CKR.OK };
    },
    Finalize: async () => {
      await token.finalize();
      return { rv: CKR.OK };
    },
    GetSlotList: (a) => slots.getSlotList(token, y(a, 0), list(a, 1)),
    GetSlotInfo: (a) => slots.getSlotInfo(token, u(a, 0)),
    GetTokenInfo: (a) => slots.getTokenInfo(token, u(a, 0)),
    GetMechanismList: (a) => slots.getMechanismList(token, u(a, 0), list(a, 1)),
    GetMechanismInfo: (a) => slots.getMechanismInfo(token, u(a, 0), u(a, 1)),
    InitToken: (a) => slots.initToken(token, u(a, 0)),
    InitPIN: (a) => slots.initPin(token, u(a, 0)),
    SetPIN: (a) => slots.setPin(token, u(a, 0)),
    OpenSession: (a) => slots.openSession(token, u(a, 0), u(a, 1)),
    CloseSession: (a) => slots.closeSession(token, u(a, 0)),
    CloseAllSessions: (a) => slots.closeAllSessions(token, u(a, 0)),
    GetSessionInfo: (a) => slots.getSessionInfo(token, u(a, 0)),
    Login: (a) => slots.login(token, u(a, 0), u(a, 1), bytes(a, 2)),
    LoginUser: (a) => slots.login(token, u(a, 0), u(a, 1), bytes(a, 2)),
    Logout: (a) => slots.logout(token, u(a, 0)),
    SessionCancel: (a) => slots.sessionCancel(token, u(a, 0), u(a, 1)),
    CreateObject: (a) => objects.createObject(token, u(a, 0), template(a, 1)),
    CopyObject: (a) => objects.copyObject(token, u(a, 0), u(a, 1), template(a, 2)),
    DestroyObject: (a) => objects.destroyObject(token, u(a, 0), u(a, 1)),
    GetObjectSize: (a) => objects.getObjectSize(token, u(a, 0), u(a, 1)),
    GetAttributeValue: (a) => objects.getAttributeValue(token, u(a, 0), u(a, 1), query(a, 2)),
    SetAttributeValue: (a) => objects.setAttributeValue(token, u(a, 0), u(a, 1), template(a, 2)),
    FindObjectsInit: (a) => objects.findObjectsInit(token, u(a, 0), template(a, 1)),
    FindObjects: (a) => objects.findObjects(token, u(a, 0), list(a, 1)),
    FindObjectsFinal: (a) => objects.findObjectsFinal(token, u(a, 0)),
    EncryptInit: (a) => crypto.encryptInit(token, u(a, 0), mechanism(a, 1), u(a, 2)),
    Encrypt: (a) => crypto.encrypt(token, u(a, 0), data(a, 1), out(a, 2)),
    EncryptUpdate: (a) => crypto.encryptUpdate(token, u(a, 0), data(a, 1), out(a, 2)),
    EncryptFinal: (a) => crypto.encryptFinal(token, u(a, 0), out(a, 1)),
    DecryptInit: (a) => crypto.decryptInit(token, u(a, 0), mechanism(a, 1), u(a, 2)),
    Decrypt: (a) => crypto.decrypt(token, u(a, 0), data(a, 1), out(a, 2)),
    DecryptUpdate: (a) => crypto.decryptUpdate(token, u(a, 0), data(a, 1), out(a, 2)),
    DecryptFinal: (a) => crypto.decryptFinal(token, u(a, 0), out(a, 1)),
    DigestInit: (a) => crypto.digestInit(token, u(a, 0), mechanism(a, 1)),
    Digest: (a) => crypto.digest(token, u(a, 0), data(a, 1), out(a, 2)),
    DigestUpdate: (a) => crypto.digestUpdate(token, u(a, 0), data(a, 1)),
    DigestKey: (a) => crypto.digestKey(token, u(a, 0), u(a, 1)),
    DigestFinal: (a) => crypto.digestFinal(token, u(a, 0), out(a, 1)),
    SignInit: (a) => crypto.signInit(token, u(a, 0), mechanism(a, 1), u(a, 2)),
    Sign: (a) => crypto.sign(token, u(a, 0), data(a, 1), out(a, 2)),
    SignUpdate: (a) => crypto.signUpdate(token, u(a, 0), data(a, 1)),
    SignFinal: (a) => crypto.signFinal(token, u(a, 0), out(a, 1)),
    VerifyInit: (a) => crypto.verifyInit(token, u(a, 0), mechanism(a, 1), u(a, 2)),
    Verify: (a) => crypto.verify(token, u(a, 0), data(a, 1), data(a, 2)),
    VerifyUpdate: (a) => crypto.verifyUpdate(token, u(a, 0), data(a, 1)),
    VerifyFinal: (a) => crypto.verifyFinal(token, u(a, 0), data(a, 1)),
    GenerateKey: (a) => keys.generateKey(token, u(a, 0), requiredMechanism(a, 1), template(a, 2)),
    GenerateKeyPair: (a) => keys.generateKeyPair(token, u(a, 0), requiredMechanism(a, 1), template(a, 2), template(a, 3)),
    WrapKey: (a) => keys.wrapKey(token, u(a, 0), requiredMechanism(a, 1), u(a, 2), u(a, 3), out(a, 4)),
    UnwrapKey: (a) => keys.unwrapKey(token, u(a, 0), requiredMechanism(a, 1), u(a, 2), bytes(a, 3), template(a, 4)),
    DeriveKey: (a) => keys.deriveKey(token, u(a, 0), requiredMechanism(a, 1), u(a, 2), template(a, 3)),
    SeedRandom: (a) => keys.seedRandom(token, u(a, 0)),
    GenerateRandom: (a) => keys.generateRandom(token, u(a, 0), out(a, 1)),
  };
  // Each call gets timeout_ms in all, however many KMS requests and URLs it goes through.
  return Object.fromEntries(Object.entries(table).map(([name, run]) => [name, (a: FrameValue[]) => withCallDeadline(token.config?.timeoutMs, () => guard(name, () => run(a)))]));
}
