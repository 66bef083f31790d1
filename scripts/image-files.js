// Used by the Dockerfile: lays out in OUT what the services' image runs, and nothing else —
// the compiled code of the services and of the workspace packages they import (by their
// package.json `files`, without declaration files), and a package.json whose workspaces are
// just those, so that `npm ci --omit=dev` in OUT installs only their runtime dependencies.
// The schema package comes along for the migration Job (`mela-migrate`).
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import process from 'node:process';

const [out] = process.argv.slice(2);
if (out === undefined) throw new Error('usage: node scripts/image-files.js OUT');

const root = JSON.parse(readFileSync('package.json', 'utf8'));
const workspaces = JSON.parse(execFileSync('npm', ['query', '.workspace'], { encoding: 'utf8' }));
const byName = new Map(workspaces.map((w) => [w.name, w.location]));
const entry = [
  ...workspaces.filter((w) => w.location.startsWith('services/')).map((w) => w.name),
  '@mela/schema',
];

// The workspaces reachable from the entry points through runtime dependencies.
const closure = new Set();
const visit = (name) => {
  const location = byName.get(name);
  if (location === undefined || closure.has(location)) return;
  closure.add(location);
  const manifest = JSON.parse(readFileSync(join(location, 'package.json'), 'utf8'));
  Object.keys(manifest.dependencies ?? {}).forEach(visit);
};
entry.forEach(visit);

const shipped = (file) => !/\.d\.ts(\.map)?$|\.tsbuildinfo$/.test(file);
let count = 0;
for (const location of [...closure].sort()) {
  const [pack] = JSON.parse(
    execFileSync(
      'npm',
      ['pack', '--dry-run', '--json', '--ignore-scripts', `--workspace=${location}`],
      {
        encoding: 'utf8',
      },
    ),
  );
  for (const { path } of pack.files.filter((f) => shipped(f.path))) {
    const target = join(out, location, path);
    mkdirSync(dirname(target), { recursive: true });
    cpSync(join(location, path), target);
    count += 1;
  }
}
// The root manifest without the tooling: no dev dependencies, no scripts.
const manifest = { ...root, workspaces: [...closure].sort() };
delete manifest.devDependencies;
delete manifest.scripts;
writeFileSync(join(out, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
cpSync('package-lock.json', join(out, 'package-lock.json'));
process.stdout.write(`image files: ${String(count)} from ${[...closure].sort().join(', ')}\n`);
