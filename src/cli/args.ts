import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true; tokens: true }>>;

/**
 * A command's arguments, parsed strictly with `node:util` parseArgs, with two curl habits added:
 *
 * - an option that takes a value takes the next argument whatever it looks like (`-m -1`, `-d -x`),
 *   where parseArgs would call it ambiguous; a bad value is then reported by the option's validator;
 * - at most `positionals.max` positionals (`what` names them for the message): an extra one is a usage error, not silently dropped.
 *
 * `tokens` keep the command-line order (fetch joins its data options in that order, as curl does).
 * Unknown options and missing values are reported by `usageFromParseError` (see main.ts), naming the
 * command and the option.
 */
export function parseCommand<const O extends Options>(command: string, args: string[], options: O, positionals: { max: number; what?: string }): Parsed<O> {
  const parsed = parseArgs({ args: joinValues(args, options), options, allowPositionals: true, strict: true, tokens: true });
  const extra = parsed.positionals[positionals.max];
  if (extra !== undefined) {
    const takes = positionals.what ? `${command} takes ${positionals.what}` : `${command} takes no arguments`;
    throw new UsageError(`${command}: unexpected argument "${extra}": ${takes} (see jaato-proxy ${command} --help)`);
  }
  return parsed;
}

/** `--opt value` and `-o value` as `--opt=value` for every option that takes a value, up to `--`. */
function joinValues(args: readonly string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    const long = arg.startsWith('--') ? arg.slice(2) : arg.length === 2 && arg[0] === '-' ? longOf(options, arg[1] as string) : undefined;
    const next = args[i + 1];
    if (long !== undefined && options[long]?.type === 'string' && next !== undefined) {
      out.push(`--${long}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

function longOf(options: Options, short: string): string | undefined {
  for (const [name, o] of Object.entries(options)) if (o.short === short) return name;
  return undefined;
}

/**
 * parseArgs' own errors as one usage line that names the command and the option, instead of its
 * advice about positionals that start with a dash. Undefined for an error that is not parseArgs'.
 */
export function usageFromParseError(command: string | undefined, error: unknown): UsageError | undefined {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) return undefined;
  const message = (error as Error).message;
  const where = command ? `${command}: ` : '';
  const help = command ? `jaato-proxy ${command} --help` : 'jaato-proxy --help';
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (unknown) return new UsageError(`${where}unknown option "${unknown[1]}" (see ${help})`);
  const option = /^Option '(?:(-\w), )?(--[^ ']+)/.exec(message);
  if (option) {
    const name = option[1] ? `${option[1]}/${option[2]}` : (option[2] as string);
    if (/argument missing/.test(message)) return new UsageError(`${where}${name} needs a value (see ${help})`);
    if (/does not take an argument/.test(message)) return new UsageError(`${where}${name} takes no value (see ${help})`);
  }
  return new UsageError(`${where}${message.split('\n')[0]}`);
}

/** How an option is named in messages: `-m/--max-time`, or `--long` when it has no short form. */
export function optionLabel(options: Options, long: string): string {
  const short = options[long]?.short;
  return short ? `-${short}/--${long}` : `--${long}`;
}

/**
 * A duration given in seconds, as curl takes them (fractions allowed: `0.5`), in milliseconds; a
 * usage error naming the option for anything that is not a number ≥ 0.
 */
export function secondsOption(value: string | undefined, label: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`${label} "${value}" is not a number of seconds (0 or more, e.g. 2.5)`);
  return Math.round(n * 1000);
}

/** A whole number within [min, max]; a usage error naming the option otherwise. `what` names the unit for the message. */
export function integerOption(value: string | undefined, label: string, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${label} "${value}" is not ${what}`);
  }
  return n;
}
