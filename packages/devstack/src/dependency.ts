/** A server of the local stack that `deps up|down|status` manages. */
export interface Dependency {
  readonly name: string;
  /** Starts it unless it already runs; idempotent and fast when running. */
  up(): Promise<void>;
  /** Stops it if running. */
  down(): Promise<void>;
  status(): Promise<DependencyStatus>;
}

export interface DependencyStatus {
  readonly name: string;
  readonly running: boolean;
  readonly endpoint: string;
  readonly pid: number | undefined;
}
