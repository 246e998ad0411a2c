/**
 * Entry point of a `p11kms serve` worker process. The primary passes the options in the
 * environment, so workers start the same way whatever launched the primary (the CLI, a
 * service manager, a test).
 */
import { runWorker } from './main';

runWorker(process.env['P11KMS_WORKER_OPTIONS'] ?? '{}');
