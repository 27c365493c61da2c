/** Where invalid UTF-8 was found: the 1-based line and the file offset at which that line starts. */
export interface Utf8Error {
  line: number;
  lineStart: number;
}

/**
 * A streaming UTF-8 validator (the WHATWG decoder's byte ranges: no overlongs, no surrogates, nothing
 * above U+10FFFF) that also counts lines, so an error can be reported at the line holding the bad sequence.
 */
export class Utf8Validator {
  private offset = 0;
  private line = 1;
  private lineStart = 0;
  private needed = 0;
  private lower = 0x80;
  private upper = 0xbf;
  private sequenceLine = 1;
  private sequenceLineStart = 0;

  /** Validates the next bytes; returns the first error, after which the validator must not be used. */
  push(bytes: Uint8Array): Utf8Error | undefined {
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i];
      if (this.needed > 0) {
        if (byte < this.lower || byte > this.upper) return this.sequenceError();
        this.lower = 0x80;
        this.upper = 0xbf;
        this.needed--;
        continue;
      }
      if (byte < 0x80) {
        if (byte === 0x0a) {
          this.line++;
          this.lineStart = this.offset + i + 1;
        }
        continue;
      }
      this.sequenceLine = this.line;
      this.sequenceLineStart = this.lineStart;
      if (byte >= 0xc2 && byte <= 0xdf) {
        this.needed = 1;
      } else if (byte >= 0xe0 && byte <= 0xef) {
        if (byte === 0xe0) this.lower = 0xa0;
        if (byte === 0xed) this.upper = 0x9f;
        this.needed = 2;
      } else if (byte >= 0xf0 && byte <= 0xf4) {
        if (byte === 0xf0) this.lower = 0x90;
        if (byte === 0xf4) this.upper = 0x8f;
        this.needed = 3;
      } else {
        return this.sequenceError();
      }
    }
    this.offset += bytes.length;
    return undefined;
  }

  /** Call at the end of input: a sequence cut short by the end of the file is an error. */
  end(): Utf8Error | undefined {
    return this.needed > 0 ? this.sequenceError() : undefined;
  }

  private sequenceError(): Utf8Error {
    return { line: this.sequenceLine, lineStart: this.sequenceLineStart };
  }
}
