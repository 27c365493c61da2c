const NOT_ASCII_LETTER = /[^A-Z]/g;

// American Soundex letter codes; vowels, Y, H and W have none.
const SOUNDEX_CODES = new Map<string, string>(
  Object.entries({ BFPV: '1', CGJKQSXZ: '2', DT: '3', L: '4', MN: '5', R: '6' }).flatMap(([letters, code]) =>
    [...letters].map((letter): [string, string] => [letter, code]),
  ),
);

const VOWELS = new Set(['A', 'E', 'I', 'O', 'U']);

/** Default length of a NYSIIS code: the original algorithm keeps six characters. */
export const NYSIIS_DEFAULT_LENGTH = 6;

function asciiLetters(text: string): string {
  return text.toUpperCase().replace(NOT_ASCII_LETTER, '');
}

/**
 * American Soundex of the ASCII letters of `text` (other characters are ignored; pass text through
 * `normaliseAscii` first), or null when it has none. The rules of the U.S. National Archives: keep the
 * first letter; code the others B F P V → 1, C G J K Q S X Z → 2, D T → 3, L → 4, M N → 5, R → 6; letters
 * with the same code next to each other, or separated only by H or W, are coded once (the first letter
 * included); a vowel or Y between them makes both count; pad with zeros to a letter and three digits.
 * `Ashcraft` → `A261`, `Tymczak` → `T522`, `Pfister` → `P236`.
 */
export function soundex(text: string): string | null {
  const letters = asciiLetters(text);
  if (letters === '') return null;
  let code = letters[0];
  let previous = SOUNDEX_CODES.get(letters[0]);
  for (let i = 1; i < letters.length && code.length < 4; i += 1) {
    const letter = letters[i];
    const digit = SOUNDEX_CODES.get(letter);
    if (digit !== undefined) {
      if (digit !== previous) code += digit;
      previous = digit;
    } else if (letter !== 'H' && letter !== 'W') {
      previous = undefined;
    }
  }
  return code.padEnd(4, '0');
}

function transcode(previous: string, current: string, next: string, afterNext: string): string {
  if (current === 'E' && next === 'V') return 'AF';
  if (VOWELS.has(current)) return 'A';
  if (current === 'Q') return 'G';
  if (current === 'Z') return 'S';
  if (current === 'M') return 'N';
  if (current === 'K') return next === 'N' ? 'NN' : 'C';
  if (current === 'S' && next === 'C' && afterNext === 'H') return 'SSS';
  if (current === 'P' && next === 'H') return 'FF';
  if (current === 'H' && (!VOWELS.has(previous) || !VOWELS.has(next))) return previous;
  if (current === 'W' && VOWELS.has(previous)) return previous;
  return current;
}

/**
 * NYSIIS (New York State Identification and Intelligence System; R. L. Taft, "Name Search
 * Techniques", 1970) of the ASCII letters of `text`, at most `maxLength` characters, or null when it
 * has no letter. Rules: translate a leading MAC → MCC, KN → NN, K → C, PH or PF → FF, SCH → SSS and a
 * trailing EE or IE → Y, DT RT RD NT ND → D; keep the first letter; transcode each following letter
 * (EV → AF, other vowels → A, Q → G, Z → S, M → N, KN → N, K → C, SCH → SSS, PH → FF, H → the previous
 * letter unless between vowels, W after a vowel → the previous letter) and add it unless it repeats the
 * previous one; drop a final S, turn a final AY into Y, drop a final A.
 * `Brian` → `BRAN`, `Macintosh` → `MCANT`, `Trueman` → `TRANAN`.
 */
export function nysiis(text: string, maxLength: number = NYSIIS_DEFAULT_LENGTH): string | null {
  const letters = asciiLetters(text);
  if (letters === '') return null;
  const name = letters
    .replace(/^MAC/, 'MCC')
    .replace(/^KN/, 'NN')
    .replace(/^K/, 'C')
    .replace(/^(PH|PF)/, 'FF')
    .replace(/^SCH/, 'SSS')
    .replace(/(EE|IE)$/, 'Y')
    .replace(/(DT|RT|RD|NT|ND)$/, 'D');
  const chars = [...name];
  let key = chars[0];
  for (let i = 1; i < chars.length; i += 1) {
    const replacement = transcode(chars[i - 1], chars[i], chars[i + 1] ?? '', chars[i + 2] ?? '');
    // A multi-letter replacement (AF, NN, SSS, FF) also rewrites the letters after the current one.
    for (let j = 0; j < replacement.length; j += 1) chars[i + j] = replacement[j];
    if (chars[i] !== chars[i - 1]) key += chars[i];
  }
  if (key.length > 1 && key.endsWith('S')) key = key.slice(0, -1);
  if (key.length > 2 && key.endsWith('AY')) key = `${key.slice(0, -2)}Y`;
  if (key.length > 1 && key.endsWith('A')) key = key.slice(0, -1);
  return key.slice(0, maxLength);
}
