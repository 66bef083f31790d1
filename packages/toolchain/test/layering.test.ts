import assert from 'node:assert/strict';
import { existsSync, globSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../src/index.js';

/** The layers, lowest first, as docs/architecture.md names them. */
const layers = ['foundation', 'libraries', 'services', 'test support', 'tools', 'deploy'] as const;
type Layer = (typeof layers)[number];
const testSupport = layers.indexOf('test support');

interface Workspace {
  readonly name: string;
  readonly short: string;
  readonly dir: string;
  readonly layer: number;
  readonly dependencies: ReadonlySet<string>;
  readonly devDependencies: ReadonlySet<string>;
  /** Mela packages imported by its code (src, and the catalog's storefront). */
  readonly codeImports: ReadonlyMap<string, string>;
  /** Mela packages imported by its tests. */
  readonly testImports: ReadonlyMap<string, string>;
  /** The Mela packages its code's TypeScript project references. */
  readonly codeReferences: ReadonlySet<string>;
  /** …and its tests' project (test/tsconfig.json), apart from the package itself. */
  readonly testReferences: ReadonlySet<string>;
}

/** docs/architecture.md's table: package → layer. */
function documentedLayers(): Map<string, Layer> {
  const doc = readFileSync(join(repoRoot, 'docs/architecture.md'), 'utf8');
  const table = new Map<string, Layer>();
  for (const [, name, layer] of doc.matchAll(/^\| `([a-z-]+)` \| ([a-z ]+) \|/gm)) {
    assert.ok(name !== undefined && layer !== undefined);
    assert.ok((layers as readonly string[]).includes(layer), `${name}: no layer "${layer}"`);
    assert.ok(!table.has(name), `${name} is listed twice in docs/architecture.md`);
    table.set(name, layer as Layer);
  }
  return table;
}

const melaImport = /(?:from|import)\s*\(?\s*'(@mela\/[a-z-]+)(?:\/[^']*)?'/g;

/** Mela packages imported by the TypeScript files under `dirs`, each with one file that does. */
function importsIn(dirs: readonly string[], self: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const dir of dirs) {
    for (const file of globSync('**/*.{ts,tsx}', { cwd: dir, exclude: ['**/dist/**'] })) {
      const path = join(dir, file);
      for (const [, name] of readFileSync(path, 'utf8').matchAll(melaImport)) {
        if (name !== undefined && name !== self && !found.has(name))
          found.set(name, relative(repoRoot, path));
      }
    }
  }
  return found;
}

/** Mela packages referenced by the TypeScript project `file`, apart from `self`. */
function referencesOf(file: string, self: string, byDir: ReadonlyMap<string, string>): Set<string> {
  const names = new Set<string>();
  if (!existsSync(file)) return names;
  const config = JSON.parse(readFileSync(file, 'utf8')) as { references?: { path: string }[] };
  for (const reference of config.references ?? []) {
    const name = byDir.get(resolve(dirname(file), reference.path));
    if (name !== undefined && name !== self) names.add(name);
  }
  return names;
}

function workspaces(): Workspace[] {
  const table = documentedLayers();
  const manifests = globSync(
    ['packages/*/package.json', 'services/*/package.json', 'infra/package.json'],
    {
      cwd: repoRoot,
    },
  ).map((file) => {
    const manifest = JSON.parse(readFileSync(join(repoRoot, file), 'utf8')) as {
      name: string;
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    return { dir: join(repoRoot, dirname(file)), manifest };
  });
  const byDir = new Map(manifests.map(({ dir, manifest }) => [dir, manifest.name]));
  return manifests.map(({ dir, manifest }) => {
    const short = manifest.name.replace('@mela/', '');
    const layer = table.get(short);
    assert.ok(layer, `${manifest.name} is not in docs/architecture.md's table`);
    const mela = (deps: Record<string, string> | undefined) =>
      new Set(Object.keys(deps ?? {}).filter((d) => d.startsWith('@mela/')));
    return {
      name: manifest.name,
      short,
      dir,
      layer: layers.indexOf(layer),
      dependencies: mela(manifest.dependencies),
      devDependencies: mela(manifest.devDependencies),
      codeImports: importsIn([join(dir, 'src'), join(dir, 'storefront')], manifest.name),
      testImports: importsIn([join(dir, 'test')], manifest.name),
      codeReferences: referencesOf(join(dir, 'tsconfig.json'), manifest.name, byDir),
      testReferences: referencesOf(join(dir, 'test', 'tsconfig.json'), manifest.name, byDir),
    };
  });
}

describe("the packages' layering (docs/architecture.md)", () => {
  const all = workspaces();
  const byName = new Map(all.map((w) => [w.name, w]));
  const layerOf = (name: string) => byName.get(name)?.layer ?? -1;

  it('then every package in the table is a workspace, and every workspace is in the table', () => {
    const names = all.map((w) => w.short).sort();
    assert.deepEqual(names, [...documentedLayers().keys()].sort());
  });

  it("then a package's code imports only its own layer and those below", () => {
    const wrong = all.flatMap((w) =>
      [...w.codeImports]
        .filter(([name]) => layerOf(name) > w.layer)
        .map(
          ([name, file]) =>
            `${file} (${layers[w.layer]}) imports ${name} (${layers[layerOf(name)]})`,
        ),
    );
    assert.deepEqual(wrong, []);
  });

  it('then tests import only their layer, those below, and the test support', () => {
    const wrong = all.flatMap((w) =>
      [...w.testImports]
        .filter(([name]) => layerOf(name) > Math.max(w.layer, testSupport))
        .map(
          ([name, file]) =>
            `${file} (${layers[w.layer]}) imports ${name} (${layers[layerOf(name)]})`,
        ),
    );
    assert.deepEqual(wrong, []);
  });

  it('then the packages, with their tests, form no cycle', () => {
    const edges = new Map(all.map((w) => [w.name, [...w.dependencies, ...w.devDependencies]]));
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (name: string, path: readonly string[]): void => {
      if (state.get(name) === 'done') return;
      if (state.get(name) === 'open') {
        cycles.push([...path.slice(path.indexOf(name)), name].join(' → '));
        return;
      }
      state.set(name, 'open');
      for (const next of edges.get(name) ?? []) visit(next, [...path, name]);
      state.set(name, 'done');
    };
    for (const name of edges.keys()) visit(name, []);
    assert.deepEqual(cycles, []);
  });

  it("then package.json declares exactly what the code and the tests import (the code's as dependencies)", () => {
    const problems = all.flatMap((w) => {
      // infra runs at build time only: everything it uses is a devDependency (the image carries none).
      const runtime = w.short === 'infra' ? w.devDependencies : w.dependencies;
      const declared = new Set([...w.dependencies, ...w.devDependencies]);
      const used = new Set([...w.codeImports.keys(), ...w.testImports.keys()]);
      return [
        ...[...w.codeImports.keys()]
          .filter((name) => !runtime.has(name))
          .map((name) => `${w.name}: its code imports ${name}, not among its dependencies`),
        ...[...w.testImports.keys()]
          .filter((name) => !declared.has(name))
          .map((name) => `${w.name}: its tests import ${name}, not declared`),
        ...[...declared]
          .filter((name) => !used.has(name))
          .map((name) => `${w.name}: declares ${name}, which nothing imports`),
      ];
    });
    assert.deepEqual(problems, []);
  });

  it("then the code and the tests are two TypeScript projects, each referencing what it imports, so a library builds without its tests' helpers", () => {
    const differences = (
      what: string,
      refs: ReadonlySet<string>,
      imports: ReadonlyMap<string, string>,
    ) => [
      ...[...imports.keys()]
        .filter((n) => !refs.has(n))
        .map((n) => `${what} imports ${n} without referencing it`),
      ...[...refs]
        .filter((n) => !imports.has(n))
        .map((n) => `${what} references ${n}, which it does not import`),
    ];
    const problems = all.flatMap((w) => [
      ...differences(`${w.name} (code)`, w.codeReferences, w.codeImports),
      ...differences(`${w.name} (tests)`, w.testReferences, w.testImports),
    ]);
    assert.deepEqual(problems, []);
  });

  it("then a service's domain imports no HTTP, no driver and none of the service's adapters or routes", () => {
    const forbidden =
      /(?:from|import)\s*'(express|@mela\/platform|ioredis|mysql2|@platformatic\/kafka|nodemailer|\.\.\/(?:adapters|routes)\/[^']*)'/g;
    const wrong = globSync('services/*/src/domain/**/*.ts', { cwd: repoRoot }).flatMap((file) =>
      [...readFileSync(join(repoRoot, file), 'utf8').matchAll(forbidden)].map(
        ([, name]) => `${file} imports ${name ?? ''}`,
      ),
    );
    assert.deepEqual(wrong, []);
  });
});
