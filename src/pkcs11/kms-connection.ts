import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { KmipTlsOptions } from '../kmip/client';
import { KmipOperations } from '../kmip/client-operations';
import type { BatchOptions, BatchResult } from '../kmip/client-batch';
import type { KmipSocketClient } from '../kmip/client-socket';
import { KmipError, KmipTransportError } from '../kmip/errors';
import { discoverVersionsRequest } from '../kmip/requests';
import type { TtlvStructure } from '../kmip/ttlv';
import { callTimeLeftMs } from './call-deadline';
import type { ModuleConfig, SlotConfig } from './config';
import { CKR } from './constants';
import { Pkcs11Error } from './errors';
import { neverSent, readOnly, withinMs } from './kms-request-policy';
import { UrlHealth } from './url-health';

/** What authenticates the token to the KMS: from the configuration, or unlocked by the PIN. */
export interface Credentials {
  accessToken?: string;
  cert?: Buffer;
  key?: Buffer;
  pfx?: Buffer;
  passphrase?: string;
}

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Pkcs11Error(CKR.DEVICE_ERROR, `cannot read the ${what} ${path}: ${(e as Error).message}`);
  }
}

/** The credentials a slot has before any login: its access token or client certificate. */
export function configuredCredentials(slot: SlotConfig): Credentials {
  const c: Credentials = {};
  if (slot.accessToken !== undefined && slot.login !== 'pin-is-token') c.accessToken = slot.accessToken;
  if (slot.login === 'pin-unlocks-key') return c;
  if (slot.clientCertPath !== undefined) c.cert = readFile(slot.clientCertPath, 'client certificate');
  if (slot.clientKeyPath !== undefined) c.key = readFile(slot.clientKeyPath, 'client key');
  if (slot.clientPkcs12Path !== undefined) {
    c.pfx = readFile(slot.clientPkcs12Path, 'client PKCS#12');
    if (slot.clientPkcs12Password !== undefined) c.passphrase = slot.clientPkcs12Password;
  }
  return c;
}

/**
 * The credentials a PIN produces. "pin-is-token": the PIN is the bearer token.
 * "pin-unlocks-key": the PIN decrypts the client key (an encrypted PEM key or a PKCS#12);
 * a wrong PIN is CKR_PIN_INCORRECT here, before any network traffic.
 */
export function credentialsFromPin(slot: SlotConfig, pin: string): Credentials {
  if (slot.login === 'pin-is-token') {
    if (pin.length === 0) throw new Pkcs11Error(CKR.PIN_INCORRECT, 'an empty PIN is not an access token');
    return { ...configuredCredentials(slot), accessToken: pin };
  }
  if (slot.login !== 'pin-unlocks-key') return configuredCredentials(slot);
  const c: Credentials = {};
  if (slot.accessToken !== undefined) c.accessToken = slot.accessToken;
  if (slot.clientPkcs12Path !== undefined) {
    const pfx = readFile(slot.clientPkcs12Path, 'client PKCS#12');
    try {
      // Opening the PKCS#12 here proves the PIN before the TLS handshake would.
      createSecureContext({ pfx, passphrase: pin });
    } catch {
      throw new Pkcs11Error(CKR.PIN_INCORRECT, 'the PIN does not open the client PKCS#12');
    }
    return { ...c, pfx, passphrase: pin };
  }
  const keyPem = readFile(slot.clientKeyPath ?? '', 'client key');
  let key: Buffer;
  try {
    key = Buffer.from(createPrivateKey({ key: keyPem, passphrase: pin }).export({ format: 'pem', type: 'pkcs8' }));
  } catch {
    throw new Pkcs11Error(CKR.PIN_INCORRECT, 'the PIN does not decrypt the client key');
  }
  return { ...c, key, ...(slot.clientCertPath !== undefined ? { cert: readFile(slot.clientCertPath, 'client certificate') } : {}) };
}

/**
 * The transports are loaded on first use, not with the module: undici alone costs more than
 * 100 ms to load, which C_Initialize would otherwise pay (the runtime preloads them right
 * after initialising, on its own thread; see src/runtime/runtime.ts).
 */
export function httpClientClass(): typeof import('../kmip/client').KmipClient {
  return (require('../kmip/client') as typeof import('../kmip/client')).KmipClient;
}

export function socketClientClass(): typeof import('../kmip/client-socket').KmipSocketClient {
  return (require('../kmip/client-socket') as typeof import('../kmip/client-socket')).KmipSocketClient;
}

function tlsOptions(slot: SlotConfig, credentials: Credentials): KmipTlsOptions {
  const tls: KmipTlsOptions = {};
  if (slot.caCertPem !== undefined) tls.ca = slot.caCertPem;
  else if (slot.caCertPath !== undefined) tls.ca = readFile(slot.caCertPath, 'CA certificate');
  if (credentials.cert) tls.cert = credentials.cert;
  if (credentials.key) tls.key = credentials.key;
  if (credentials.pfx) tls.pfx = credentials.pfx;
  if (credentials.passphrase !== undefined) tls.passphrase = credentials.passphrase;
  if (slot.acceptInvalidCerts) tls.rejectUnauthorized = false;
  return tls;
}

function clientFor(url: string, slot: SlotConfig, config: ModuleConfig, credentials: Credentials): KmipOperations {
  const parsed = new URL(url);
  const timeouts = { connectTimeoutMs: config.connectTimeoutMs, requestTimeoutMs: config.timeoutMs };
  if (parsed.protocol === 'kmip:' || parsed.protocol === 'kmips:') {
    return new (socketClientClass())({
      host: parsed.hostname.replace(/^\[|\]$/g, ''),
      port: parsed.port ? Number(parsed.port) : 5696,
      tls: tlsOptions(slot, credentials),
      ...timeouts,
    });
  }
  return new (httpClientClass())({
    url,
    ...(credentials.accessToken !== undefined ? { accessToken: credentials.accessToken } : {}),
    tls: tlsOptions(slot, credentials),
    ...timeouts,
  });
}

/**
 * A slot's way to the KMS: one client per configured URL. Calls go to the first URL that
 * is up (see UrlHealth: a URL that failed is probed in the background and preferred again
 * once it answers). A transport failure moves the request to the next URL, within what is
 * left of the host call's timeout, when that is safe (kms-request-policy.ts). KMIP errors
 * (the server answered) never cause a switch.
 */
export class KmsConnection extends KmipOperations {
  /** Made on the first request: a slot that is never used costs nothing to set up. */
  private clients: KmipOperations[] | undefined;
  private readonly health: UrlHealth;

  constructor(readonly urls: readonly string[], private readonly slot: SlotConfig, private readonly config: ModuleConfig, private readonly credentials: Credentials) {
    super();
    this.health = new UrlHealth(urls.length, (i) => this.probe(i));
  }

  private allClients(): KmipOperations[] {
    return (this.clients ??= this.urls.map((u) => clientFor(u, this.slot, this.config, this.credentials)));
  }

  private async attempt<T>(ops: readonly TtlvStructure[], run: (client: KmipOperations) => Promise<T>): Promise<T> {
    let last: unknown;
    const clients = this.allClients();
    const resend = readOnly(ops);
    for (const i of this.health.order()) {
      const budgetMs = callTimeLeftMs(this.config.timeoutMs);
      if (budgetMs <= 0) break;
      try {
        const result = await withinMs(run(clients[i] as KmipOperations), budgetMs, this.urls[i] ?? '');
        this.health.succeeded(i);
        return result;
      } catch (e) {
        if (!(e instanceof KmipTransportError)) throw e;
        this.health.failed(i);
        last = e;
        if (!resend && !neverSent(e)) break;
      }
    }
    throw last ?? new KmipTransportError(this.urls.length === 0 ? 'no KMS URL configured' : 'the call ran out of time before the KMS answered');
  }

  /** Whether a down URL answers again: any answer counts, a KMIP error included. */
  private async probe(i: number): Promise<boolean> {
    const client = this.allClients()[i];
    if (!client) return false;
    try {
      await withinMs(client.call(discoverVersionsRequest()), this.config.timeoutMs, this.urls[i] ?? '');
      return true;
    } catch (e) {
      return e instanceof KmipError;
    }
  }

  call(op: TtlvStructure): Promise<TtlvStructure> {
    return this.attempt([op], (c) => c.call(op));
  }

  batch(ops: TtlvStructure[], opts?: BatchOptions): Promise<BatchResult[]> {
    return this.attempt(ops, (c) => c.batch(ops, opts));
  }

  /**
   * Whether the KMS that answers speaks Cosmian's dialect (vendor `tag` attributes).
   * http(s):// is Cosmian's JSON API; a kmip(s):// server is asked (DiscoverVersions, Query).
   */
  cosmianDialect(): Promise<boolean> {
    return this.attempt([discoverVersionsRequest()], async (c) => (c instanceof socketClientClass() ? (await (c as KmipSocketClient).dialect()).cosmian : true));
  }

  async close(): Promise<void> {
    this.health.close();
    await Promise.all((this.clients ?? []).map((c) => c.close().catch(() => undefined)));
  }
}

/** Whether a KMS keeps Cosmian's vendor tags: true unless it is a connection that says otherwise. */
export function speaksCosmianDialect(kms: KmipOperations): Promise<boolean> {
  return kms instanceof KmsConnection ? kms.cosmianDialect() : Promise.resolve(true);
}
