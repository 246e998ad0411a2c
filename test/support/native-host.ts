import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './server';

/**
 * Builds one of the C host programs in test/native (harness, hostile, failover) the way every
 * test builds them: warnings are errors, the PKCS#11 headers of p11-kit and of the module.
 */
export function buildNativeHost(source: string, output: string, libraries: string[] = ['-ldl', '-lpthread']): void {
  execFileSync('cc', ['-Wall', '-Wextra', '-Werror', '-O1', '-g', '-I/usr/include/p11-kit-1', `-I${join(REPO_ROOT, 'native', 'include')}`,
    '-o', output, join(REPO_ROOT, 'test', 'native', source), ...libraries], { stdio: ['ignore', 'inherit', 'inherit'] });
}

/** The environment that lets a host (built without sanitizers) load the ASan + UBSan module. */
export function asanEnv(): NodeJS.ProcessEnv {
  const libasan = execFileSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim();
  return {
    LD_PRELOAD: libasan,
    // allocator_may_return_null stays off: a huge allocation attempt is itself a finding.
    ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=0:halt_on_error=1',
    UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
  };
}
