/**
 * Tokenizer for the HTTP authentication headers (RFC 7235 §2.1): `WWW-Authenticate` and `Authorization`.
 *
 * One header may carry several challenges, and a challenge's parameters and the challenges themselves are
 * both separated by commas, so the grammar is parsed rather than split. Scheme and parameter names are
 * case-insensitive (lowercased here); values keep their case. Quoted strings may contain commas and
 * backslash escapes.
 */

export interface AuthChallenge {
  /** Lowercased scheme, e.g. `digest`, `basic`. */
  scheme: string;
  /** Lowercased parameter names to their (unquoted, unescaped) values. */
  params: Record<string, string>;
  /** For schemes such as Basic credentials or Negotiate that carry one opaque token instead of params. */
  token68?: string;
}

export class AuthHeaderSyntaxError extends Error {
  readonly code = "bad-auth-header";
  constructor(message: string) {
    super(message);
    this.name = "AuthHeaderSyntaxError";
  }
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*/;

class Cursor {
  pos = 0;
  constructor(readonly text: string) {}
  get done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(): string {
    return this.text[this.pos] ?? "";
  }
  skipSpaces(): void {
    while (this.peek() === " " || this.peek() === "\t") this.pos++;
  }
  skipSpacesAndCommas(): void {
    while (this.peek() === " " || this.peek() === "\t" || this.peek() === ",") this.pos++;
  }
  token(): string {
    const start = this.pos;
    while (!this.done && TOKEN_CHAR.test(this.peek())) this.pos++;
    return this.text.slice(start, this.pos);
  }
  quoted(): string {
    // Caller has checked that peek() is a double quote.
    this.pos++;
    let value = "";
    while (!this.done) {
      const ch = this.text[this.pos++] as string;
      if (ch === "\\") {
        if (this.done) break;
        value += this.text[this.pos++];
      } else if (ch === '"') {
        return value;
      } else {
        value += ch;
      }
    }
    throw new AuthHeaderSyntaxError("unterminated quoted string in authentication header");
  }
}

/** Parses one or more header values into the challenges (or credentials) they contain, in order. */
export function parseAuthHeader(headerValues: string | readonly string[]): AuthChallenge[] {
  const values = typeof headerValues === "string" ? [headerValues] : headerValues;
  const result: AuthChallenge[] = [];
  for (const value of values) result.push(...parseOne(value));
  return result;
}

function parseOne(text: string): AuthChallenge[] {
  const cursor = new Cursor(text);
  const challenges: AuthChallenge[] = [];
  let current: AuthChallenge | undefined;
  for (;;) {
    cursor.skipSpacesAndCommas();
    if (cursor.done) break;
    const startOfItem = cursor.pos;
    const name = cursor.token();
    if (name === "") {
      throw new AuthHeaderSyntaxError(
        `unexpected character ${JSON.stringify(cursor.peek())} at ${cursor.pos}`,
      );
    }
    cursor.skipSpaces();
    if (cursor.peek() === "=" && current !== undefined) {
      cursor.pos++;
      cursor.skipSpaces();
      const value = cursor.peek() === '"' ? cursor.quoted() : cursor.token();
      current.params[name.toLowerCase()] = value;
      continue;
    }
    if (cursor.peek() === "=" && current === undefined) {
      throw new AuthHeaderSyntaxError(`parameter ${name} before any scheme at ${startOfItem}`);
    }
    current = { scheme: name.toLowerCase(), params: {} };
    challenges.push(current);
    readToken68(cursor, current);
  }
  return challenges;
}

/** After a scheme: `Basic QWxh...==` carries a token68 rather than parameters. */
function readToken68(cursor: Cursor, challenge: AuthChallenge): void {
  const rest = cursor.text.slice(cursor.pos);
  const match = TOKEN68.exec(rest);
  if (!match) return;
  const after = rest.slice(match[0].length).trimStart();
  const endsItem = after === "" || after.startsWith(",");
  // `realm="x"` also starts with token68 characters and '=', but is followed by a value, not a comma.
  if (endsItem) {
    challenge.token68 = match[0];
    cursor.pos += match[0].length;
  }
}

/** Quotes a value for a header parameter, escaping `"` and `\`. */
export function quote(value: string): string {
  return `"${value.replace(/(["\\])/g, "\\$1")}"`;
}
