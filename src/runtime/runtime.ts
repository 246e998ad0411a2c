import { httpClientClass, socketClientClass } from '../pkcs11/kms-connection';
import { Token } from '../pkcs11/token';
import { loadCallTable } from './call-table';
import { Dispatcher } from './dispatcher';
import { tokenHandlers } from './handlers';
import { log } from './log';

/** One token and the dispatcher in front of it: what both hostings run. */
export function createRuntime(mode: string): Dispatcher {
  const table = loadCallTable();
  const token = new Token();
  log.info(`runtime started (${mode}, Node ${process.versions.node})`);
  // Load the KMS transports once the host has its answer, not while it waits for C_Initialize.
  setTimeout(() => { httpClientClass(); socketClientClass(); }, 0).unref();
  return new Dispatcher(tokenHandlers(token, table.digest), table);
}
