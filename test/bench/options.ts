/**
 * A benchmark's integer option, `--name=value` or `--name value`, at least `min` (default 1); the
 * fallback when absent. Throws with the flag's name for anything else.
 */
export function integerOption(args: readonly string[], name: string, fallback: number, min = 1): number {
  const flag = `--${name}`;
  const at = args.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
  const raw = at < 0 ? undefined : args[at] === flag ? args[at + 1] : args[at]!.slice(flag.length + 1);
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${flag} must be an integer of at least ${min}, got ${raw}`);
  return value;
}
