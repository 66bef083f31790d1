/**
 * Loaded (`--import`) into every process `npm test` starts, and acting only in node:test's
 * children (NODE_TEST_CONTEXT=child…). Each test file runs in a child that streams its
 * verdicts to the runner over stdout, a pipe. With `--test-force-exit` the child exits as soon
 * as its tests have ended, and on Linux a pipe's writes are asynchronous: verdicts still
 * buffered were lost, and the runner reported fewer tests than ran, with exit 0
 * (nodejs/node#64833; a fresh-clone CI run here lost the last test of order-domain.test.ts).
 * A blocking stdout has written every verdict before the exit.
 */
if (process.env['NODE_TEST_CONTEXT']?.startsWith('child')) {
  const stdout = process.stdout as unknown as {
    readonly _handle?: { setBlocking?: (blocking: boolean) => void };
  };
  stdout._handle?.setBlocking?.(true);
}

export {};
