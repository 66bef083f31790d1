import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/** One option of a command: node:util's `parseArgs` config, and what `--help` says of it. */
export type CliOption = ParseArgsOptionsConfig[string] & {
  /** One line for `--help`. */
  readonly help: string;
  /** How `--help` names a string option's value. @default 'VALUE' */
  readonly value?: string;
};

/** A command's options and the text of its `--help`. */
export interface CommandSpec<O extends Readonly<Record<string, CliOption>>> {
  /** How it is called, e.g. `npm run bench -- [options]`. */
  readonly usage: string;
  /** What it does, in a sentence or two (wrapped at 80 columns unless it has lines of its own). */
  readonly summary: string;
  readonly options: O;
  /** Whether words that are not options are allowed (they are in `positionals`). */
  readonly allowPositionals?: boolean;
}

type Parsed<O extends Readonly<Record<string, CliOption>>> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>
>;

/** What {@link readCommandLine} made of the words: the options, or what to print and exit with. */
export type CommandLine<O extends Readonly<Record<string, CliOption>>> =
  | { readonly values: Parsed<O>['values']; readonly positionals: readonly string[] }
  | { readonly exitCode: number; readonly stdout?: string; readonly stderr?: string };

/** The `--help` text: usage, summary, and each option with its value and default. */
export function commandHelp<O extends Readonly<Record<string, CliOption>>>(
  spec: CommandSpec<O>,
): string {
  const rows = Object.entries(spec.options).map(([name, option]) => {
    const flag = `${option.short ? `-${option.short}, ` : '    '}--${name}${option.type === 'string' ? ` ${option.value ?? 'VALUE'}` : ''}`;
    const fallback =
      option.default === undefined || option.default === false
        ? ''
        : ` (default: ${String(option.default)})`;
    return [flag, `${option.help}${fallback}`] as const;
  });
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  return [
    `Usage: ${spec.usage}`,
    '',
    spec.summary.includes('\n') ? spec.summary : wrap(spec.summary, 80),
    '',
    'Options:',
    ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`),
    '',
  ].join('\n');
}

/** `text` in lines of at most `width` characters, broken between words. */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.join('\n');
}

/** Whether the words ask for a command's help (`--help` or `-h`, wherever they stand). */
export function asksForHelp(args: readonly string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

/**
 * Reads `args` against `spec` without printing or exiting: `--help` (or `-h`) gives the help
 * and 0, an unknown option or a missing value gives the problem and 2 (a usage error, as
 * POSIX tools do), and anything else the options.
 */
export function readCommandLine<O extends Readonly<Record<string, CliOption>>>(
  spec: CommandSpec<O>,
  args: readonly string[],
): CommandLine<O> {
  if (asksForHelp(args)) return { exitCode: 0, stdout: commandHelp(spec) };
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: spec.options,
      allowPositionals: spec.allowPositionals ?? false,
      strict: true,
    });
    return { values, positionals };
  } catch (error) {
    if (
      !(error instanceof TypeError) ||
      !String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')
    )
      throw error;
    return {
      exitCode: 2,
      stderr: `${error.message}\nUsage: ${spec.usage}\nRun it with --help for its options.\n`,
    };
  }
}

/**
 * {@link readCommandLine} on `args` (this process's arguments unless given): the options, or
 * the help or the problem printed and the process exited.
 */
export function commandLine<O extends Readonly<Record<string, CliOption>>>(
  spec: CommandSpec<O>,
  args: readonly string[] = process.argv.slice(2),
): Extract<CommandLine<O>, { values: unknown }> {
  const read = readCommandLine(spec, args);
  if ('values' in read) return read;
  if (read.stdout) process.stdout.write(read.stdout);
  if (read.stderr) process.stderr.write(read.stderr);
  process.exit(read.exitCode);
}

/**
 * `--name`'s value as a positive number (an integer unless `integer` is false); otherwise says
 * what is wrong and exits 2.
 */
export function positiveArg(name: string, value: string | undefined, integer = true): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    process.stderr.write(
      `--${name} must be a positive ${integer ? 'integer' : 'number'}, not ${JSON.stringify(value ?? '')}\n`,
    );
    process.exit(2);
  }
  return n;
}
