import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { melaApp, type Environment } from '../src/index.js';

/** A Kubernetes object as synthesized. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly [field: string]: unknown;
}

/** Synthesizes an environment into a temporary folder: file name → its text. */
export function synthFiles(env: Environment): Map<string, string> {
  const dir = mkdtempSync(join(tmpdir(), `mela-synth-${env.name}-`));
  try {
    melaApp(env, dir).synth();
    return new Map(
      readdirSync(dir)
        .sort()
        .map((file) => [file, readFileSync(join(dir, file), 'utf8')]),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every object of an environment, in file order. */
export function synthObjects(env: Environment): Manifest[] {
  return [...synthFiles(env).values()].flatMap((text) =>
    parseAllDocuments(text).map((doc) => doc.toJS() as Manifest),
  );
}
