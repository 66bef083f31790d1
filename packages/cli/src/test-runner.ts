import { fileURLToPath } from 'node:url';

/** The preload that keeps node:test's children from losing verdicts (test-child.ts). */
const testChild = fileURLToPath(new URL('./test-child.js', import.meta.url));

/** node's arguments for `npm test`: the files, `concurrency` at a time. */
export function testRunnerArgs(files: readonly string[], concurrency: string): string[] {
  return [
    `--import=${testChild}`,
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-timeout=120000',
    // A file whose hook failed with children still running would otherwise never end.
    '--test-force-exit',
    ...files,
  ];
}
