export { migrate, migrationsRoot, readMigrations, splitStatements } from './migrate.js';
export type { Migration, MigrationReport } from './migrate.js';
export { scratchDatabase, shardServer } from './scratch.js';
export type { ScratchDatabase, ScratchOptions } from './scratch.js';
