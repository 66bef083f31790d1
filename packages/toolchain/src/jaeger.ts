import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { paths, repoRoot } from './paths.js';
import { goBuild, hasCommand, progress } from './processes.js';

/** The Go module `infra/jaeger` pins Jaeger with (its `go.mod` is the one place the version is). */
const jaegerModule = join(repoRoot, 'infra/jaeger');

/** The Jaeger release `infra/jaeger/go.mod` requires, e.g. `v1.75.0` (Jaeger v2's Go module). */
export function jaegerVersion(): string {
  const goMod = readFileSync(join(jaegerModule, 'go.mod'), 'utf8');
  const version = /^\s*github\.com\/jaegertracing\/jaeger (v\S+)/m.exec(goMod)?.[1];
  if (version === undefined)
    throw new Error('infra/jaeger/go.mod requires no jaegertracing/jaeger');
  return version;
}

/**
 * The `jaeger` binary (Jaeger v2, all-in-one: an OpenTelemetry Collector with Jaeger's storage
 * and query UI), built from the Go module proxy with `infra/jaeger` — once (a few minutes with
 * a cold Go cache), cached in `.mela/cache/jaeger-<version>/bin`. A module of its own because
 * Jaeger's has replace directives, which `go install module@version` refuses.
 */
export function ensureJaeger(): string {
  const version = jaegerVersion();
  const bin = join(paths.cache(`jaeger-${version}`), 'bin');
  const binary = join(bin, 'jaeger');
  if (existsSync(binary)) return binary;
  if (!hasCommand('go')) throw new Error('building Jaeger needs Go (the go command) on PATH');
  progress(`building Jaeger ${version} from the Go module proxy — once, a few minutes`);
  mkdirSync(bin, { recursive: true });
  goBuild(jaegerModule, 'github.com/jaegertracing/jaeger/cmd/jaeger', binary);
  return binary;
}
