/** A JSON column's value: MariaDB's JSON is LONGTEXT, which the driver may or may not parse. */
export function jsonColumn(value: unknown): unknown {
  return typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
}

/** A JSON column's value as text (for passing on unchanged, e.g. to Kafka). */
export function jsonText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
