// CommonJS on purpose: code restored from a startup snapshot cannot `import()` by itself (Node
// gives the snapshot's script no module loader), while a file compiled by Node's CommonJS loader
// at run time can. src/cli/snapshot-entry.ts reaches ES modules through this.
const importModule = (specifier: string): Promise<unknown> => import(specifier);
export = importModule;
