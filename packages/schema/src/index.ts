export { migrate, migrationsRoot, readMigrations, splitStatements } from './migrate.js';
export type { Migration, MigrationReport } from './migrate.js';
