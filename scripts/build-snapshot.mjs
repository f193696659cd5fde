// Builds millrace's startup snapshot (README "CLI start-up"): bundles src/cli/snapshot-entry.ts
// (as compiled into dist) into one script, runs it under `node --build-snapshot`, and records
// beside the blob which node binary made it. bin/millrace uses the blob only with that binary.
// Run by `npm run build`, after tsc.
import { spawnSync } from 'node:child_process';
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cliDir = path.join(root, 'dist/src/cli');
const entry = path.join(cliDir, 'snapshot-entry.js');
// Beside main.js, so that paths the modules resolve from their own URL stay right.
const bundle = path.join(cliDir, 'main.snapshot.cjs');
const blob = path.join(cliDir, 'main.snapshot.blob');
const stamp = path.join(cliDir, 'main.snapshot.stamp');

/** The V8 flags of main.js's shebang: a blob loads only under the flags it was built with. */
function shebangFlags() {
  const first = readFileSync(path.join(cliDir, 'main.js'), 'utf8').split('\n', 1)[0];
  const match = /^#!\/usr\/bin\/env -S node((?: --[\w-]+=\S+)*)$/.exec(first);
  if (!match) throw new Error(`build-snapshot: unexpected shebang in main.js: ${first}`);
  return match[1].trim().split(' ').filter(Boolean);
}

/** The command modules the entry preloads; every other one stays out of the bundle. */
function preloadedCommands() {
  const source = readFileSync(entry, 'utf8');
  return new Set([...source.matchAll(/import\('\.\/commands\/([\w-]+\.js)'\)/g)].map((m) => m[1]));
}

/**
 * Shapes the bundle for a snapshot: commands the snapshot does not serve are left out (the entry
 * hands them to main.js), and `tls`, which Node 20 cannot snapshot once loaded, is loaded only
 * when a connection first uses it.
 */
function snapshotPlugin(kept) {
  const lazyTls = '\0lazy-tls';
  return {
    name: 'millrace-snapshot',
    resolveId(source, importer) {
      if (source === 'tls' || source === 'node:tls') return lazyTls;
      const command = /^\.\.\/commands\/([\w-]+\.js)$/.exec(source);
      if (command && importer?.includes(`${path.sep}definitions${path.sep}`) && !kept.has(command[1]))
        return { id: source, external: true };
      return null;
    },
    load(id) {
      if (id !== lazyTls) return null;
      return 'module.exports = new Proxy({}, { get: (_, key) => require("node:tls")[key] });';
    },
  };
}

async function writeBundle() {
  const build = await rolldown({
    input: entry,
    platform: 'node',
    plugins: [snapshotPlugin(preloadedCommands())],
    logLevel: 'warn',
  });
  await build.write({ file: bundle, format: 'cjs', codeSplitting: false, sourcemap: false });
  await build.close();
}

/** Identity of the node binary as bin/millrace reads it: `stat -L -c '%d:%i %s %Y'`. */
function nodeIdentity() {
  const s = statSync(process.execPath);
  return `${s.dev}:${s.ino} ${s.size} ${Math.floor(s.mtimeMs / 1000)}`;
}

// Without a stamp bin/millrace starts main.js, so a command started meanwhile never reads a blob
// that is being replaced; the new blob is renamed into place whole.
rmSync(stamp, { force: true });
rmSync(blob, { force: true });
await writeBundle();
const flags = shebangFlags();
const partial = `${blob}.partial`;
const built = spawnSync(
  process.execPath,
  [...flags, '--snapshot-blob', partial, '--build-snapshot', bundle],
  { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
);
if (built.status !== 0) {
  // Without a blob bin/millrace starts every command from main.js: slower, never different. A node
  // whose snapshot support differs must not stop the build (the snapshot test names the failure).
  process.stderr.write(built.stdout + built.stderr);
  process.stderr.write(
    `build-snapshot: node --build-snapshot exited ${built.status ?? built.signal}; millrace will start without its snapshot\n`,
  );
  rmSync(partial, { force: true });
  process.exit(0);
}
renameSync(partial, blob);
writeFileSync(
  stamp,
  `${nodeIdentity()}\n# ${process.version} ${process.execPath} ${flags.join(' ')}\n`,
);
