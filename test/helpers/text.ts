/** A small deterministic text with a few dozen distinct characters, for tiny text runs. */
export function sampleText(chars: number): string {
  const words = ['the', 'quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog', 'ROMEO:', 'JULIET:', 'and', 'shall', 'not', 'be,', 'so.'];
  let out = '';
  let x = 12345;
  while (out.length < chars) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out += words[x % words.length] + ((x >> 8) % 7 === 0 ? '\n' : ' ');
  }
  return out.slice(0, chars);
}
