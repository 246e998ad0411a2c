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
  return new Dispatcher(tokenHandlers(token, table.digest), table);
}
