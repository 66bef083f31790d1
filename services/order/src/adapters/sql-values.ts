/** A Date as MySQL DATETIME(3) text in UTC (the pools run with `timezone: 'Z'`). */
export function toSqlTime(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** DATETIME(3) text (UTC) back to an ISO 8601 instant. */
export function fromSqlTime(value: string): string {
  return `${value.replace(' ', 'T')}Z`;
}

/** A JSON column's value: MariaDB's JSON is LONGTEXT, which the driver may or may not parse. */
export function jsonColumn(value: unknown): unknown {
  return typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
}

/** A JSON column's value as text (for passing on unchanged, e.g. to Kafka). */
export function jsonText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
