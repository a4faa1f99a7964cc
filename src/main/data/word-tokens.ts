/**
 * Word tokens (SPEC §4 word-level text): text → tokens, and sampled tokens → text. Imports
 * nothing of Node: the browser runtime tokenises a prime and joins its samples with these.
 */

/** A line break is a token of its own. */
export const LINE_BREAK = '\n';

/**
 * A maximal run of letters, marks and digits, joined by apostrophes that stand between two of
 * them ("don't", "o'clock"; U+0027 or U+2019); else one non-space character; else a line break.
 * Other whitespace only separates.
 */
const TOKEN = /[\p{L}\p{M}\p{N}]+(?:['\u2019][\p{L}\p{M}\p{N}]+)*|\n|\S/gu;

/** The tokens of `text`: CRLF and a lone CR are line breaks too; `lowercase` folds case first. */
export function tokenizeWords(text: string, lowercase: boolean): string[] {
  const normalized = text.replace(/\r\n?/g, '\n');
  return (lowercase ? normalized.toLowerCase() : normalized).match(TOKEN) ?? [];
}

/** Tokens that take no space before them. */
const CLOSING = new Set(['.', ',', ';', ':', '!', '?', ')', ']', '}', '%', "'", '\u2019', '\u2026']);
/** Tokens that take no space after them. */
const OPENING = new Set(['(', '[', '{']);
/** Tokens bound to both neighbours: hyphens and slashes inside compounds ("old-style", "and/or"). */
const BINDING = new Set(['-', '/']);
const QUOTE = '"';

/**
 * Sampled tokens as text: words apart by single spaces, none before closing punctuation, none
 * after opening brackets, none around hyphens, slashes and line breaks; a `"` opens (space
 * before, none after) and closes (none before) in turn within a line.
 */
export function joinWords(tokens: readonly string[]): string {
  let out = '';
  let glued = true; // no space before the next token: the start, or after a line break or an opener
  let quoteOpen = false;
  for (const token of tokens) {
    const closesQuote = token === QUOTE && quoteOpen;
    if (!glued && token !== LINE_BREAK && !CLOSING.has(token) && !BINDING.has(token) && !closesQuote) out += ' ';
    out += token;
    if (token === QUOTE) quoteOpen = !quoteOpen;
    if (token === LINE_BREAK) quoteOpen = false;
    glued = token === LINE_BREAK || OPENING.has(token) || BINDING.has(token) || (token === QUOTE && quoteOpen);
  }
  return out;
}
