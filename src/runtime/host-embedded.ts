/**
 * Entry point of the runtime embedded in the host process (native/src/embed/node_host.cc).
 * The host owns this process: nothing here may exit it, print to its terminal, or let an
 * exception escape, so all three are caught and sent to the module log instead.
 */
import { createRuntime } from './runtime';
import { log } from './log';

interface Bridge {
  start(dispatch: (id: number, frame: Buffer) => void): void;
  respond(id: number, frame: Buffer): void;
}

const linked = process as unknown as { _linkedBinding(name: string): Bridge };
const bridge = linked._linkedBinding('p11kms_bridge');

process.on('uncaughtException', (e) => log.error(`uncaught: ${e.stack ?? e.message}`));
process.on('unhandledRejection', (e) => log.error(`unhandled rejection: ${String(e)}`));
process.exit = ((code?: number) => {
  log.error(`ignored process.exit(${code ?? ''}) inside the host process`);
}) as typeof process.exit;

const dispatcher = createRuntime('embedded');
bridge.start((id, frame) => {
  dispatcher.handle(frame).then(
    (response) => bridge.respond(id, response),
    (e: unknown) => log.error(`dispatch failed: ${String(e)}`),
  );
});
