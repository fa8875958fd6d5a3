/**
 * The `chain_filter` language: a JSONPath filter expression in the dialect Cirrus uses
 * (jsonpath-ng's extended filters, applied as `$.features[?(<chain_filter>)]`), for example
 * `@.id =~ 'SWE*' & @.properties.confidence > 80`. It is evaluated with a small tokenizer, parser
 * and evaluator instead of a JavaScript-evaluating JSONPath library: payloads come from users, and a
 * filter must never run code.
 *
 * `=~` tests whether the pattern matches anywhere in the string (Python's `re.search`, as
 * jsonpath-ng does), on re2js, a pure JavaScript port of RE2: matching takes time linear in the
 * input whatever the pattern, so no filter can stall update-state. RE2 syntax has no
 * backreferences and no lookaround; a pattern RE2 cannot compile is a {@link ChainFilterError}.
 * @module
 */
import type { RE2JS } from 're2js' with { 'resolution-mode': 'require' };
import { isLosslessNumber } from 'lossless-json';
import { ChainFilterError, errorMessage } from './errors';
import { isJsonObject, type JsonValue } from './json';

type Tok = { t: 'path'; v: (string | number)[] } | { t: 'lit'; v: JsonValue } | { t: 'op'; v: string } | { t: 'punc'; v: string };

type Node =
  | { k: 'or' | 'and'; a: Node; b: Node }
  | { k: 'not'; a: Node }
  | { k: 'cmp'; op: string | null; a: Operand; b?: Operand };
type Operand = { path: (string | number)[] } | { lit: JsonValue };

/**
 * Splits a chain_filter expression into tokens. Left as one single-pass scanner of about 75 lines
 * on purpose: every branch advances the same position `i` (paths, quoted strings, numbers, words,
 * operators), and split into functions it would need that position threaded through each.
 */
function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const readQuoted = (): string => {
    const q = src[i++];
    let s = '';
    while (i < src.length && src[i] !== q) {
      if (src[i] === '\\' && i + 1 < src.length) i++;
      s += src[i++];
    }
    if (src[i] !== q) throw new ChainFilterError(`unterminated string in chain_filter: ${src}`);
    i++;
    return s;
  };
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '@' || c === '$') {
      i++;
      const path: (string | number)[] = [];
      for (;;) {
        if (src[i] === '.') {
          i++;
          if (src[i] === "'" || src[i] === '"') path.push(readQuoted());
          else {
            const m = /^[A-Za-z0-9_:@-]+/.exec(src.slice(i));
            if (!m) throw new ChainFilterError(`expected a field name at ${i} in chain_filter: ${src}`);
            path.push(m[0]);
            i += m[0].length;
          }
        } else if (src[i] === '[') {
          i++;
          while (src[i] === ' ') i++;
          if (src[i] === "'" || src[i] === '"') path.push(readQuoted());
          else {
            const m = /^-?\d+/.exec(src.slice(i));
            if (!m) throw new ChainFilterError(`expected an index at ${i} in chain_filter: ${src}`);
            path.push(Number(m[0]));
            i += m[0].length;
          }
          while (src[i] === ' ') i++;
          if (src[i++] !== ']') throw new ChainFilterError(`expected ] in chain_filter: ${src}`);
        } else break;
      }
      toks.push({ t: 'path', v: path });
    } else if (c === "'" || c === '"') {
      toks.push({ t: 'lit', v: readQuoted() });
    } else if (/[-\d]/.test(c) && /^-?\d/.test(src.slice(i))) {
      const m = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(src.slice(i)) as RegExpExecArray;
      toks.push({ t: 'lit', v: Number(m[0]) });
      i += m[0].length;
    } else {
      const rest = src.slice(i);
      const op = /^(==|!=|<=|>=|=~|&&|\|\||[=<>&|!()])/.exec(rest);
      const word = /^(and|or|not|true|false|null|True|False|None)\b/.exec(rest);
      if (word) {
        const w = word[0];
        if (w === 'and') toks.push({ t: 'op', v: '&' });
        else if (w === 'or') toks.push({ t: 'op', v: '|' });
        else if (w === 'not') toks.push({ t: 'op', v: '!' });
        else toks.push({ t: 'lit', v: w === 'true' || w === 'True' ? true : w === 'false' || w === 'False' ? false : null });
        i += w.length;
      } else if (op) {
        const v = op[0] === '&&' ? '&' : op[0] === '||' ? '|' : op[0] === '=' ? '==' : op[0];
        toks.push(v === '(' || v === ')' ? { t: 'punc', v } : { t: 'op', v });
        i += op[0].length;
      } else {
        throw new ChainFilterError(`unexpected ${JSON.stringify(c)} at ${i} in chain_filter: ${src}`);
      }
    }
  }
  return toks;
}

/** Parses a chain filter expression into an evaluable tree. */
function parse(src: string): Node {
  const toks = tokenize(src);
  let p = 0;
  const peek = (): Tok | undefined => toks[p];
  const isOp = (v: string): boolean => peek()?.t === 'op' && peek()?.v === v;
  const operand = (): Operand => {
    const t = toks[p++];
    if (!t) throw new ChainFilterError(`chain_filter ends early: ${src}`);
    if (t.t === 'path') return { path: t.v };
    if (t.t === 'lit') return { lit: t.v };
    throw new ChainFilterError(`expected a path or a value in chain_filter: ${src}`);
  };
  const primary = (): Node => {
    if (peek()?.t === 'punc' && peek()?.v === '(') {
      p++;
      const n = or();
      const close = toks[p++];
      if (!close || close.t !== 'punc' || close.v !== ')') throw new ChainFilterError(`expected ) in chain_filter: ${src}`);
      return n;
    }
    if (isOp('!')) {
      p++;
      return { k: 'not', a: primary() };
    }
    const a = operand();
    const t = peek();
    if (t?.t === 'op' && ['==', '!=', '<', '<=', '>', '>=', '=~'].includes(t.v)) {
      p++;
      return { k: 'cmp', op: t.v, a, b: operand() };
    }
    return { k: 'cmp', op: null, a };
  };
  /** A left-associative chain of `next` joined by `op` (`&` binds tighter than `|`). */
  const chain = (op: '&' | '|', k: 'and' | 'or', next: () => Node) => (): Node => {
    let n = next();
    while (isOp(op)) {
      p++;
      n = { k, a: n, b: next() };
    }
    return n;
  };
  const and = chain('&', 'and', primary);
  const or = chain('|', 'or', and);
  const n = or();
  if (p !== toks.length) throw new ChainFilterError(`unexpected trailing input in chain_filter: ${src}`);
  return n;
}

const MISSING = Symbol('missing');

function resolve(o: Operand, item: JsonValue): JsonValue | typeof MISSING {
  if ('lit' in o) return o.lit;
  let cur: JsonValue | typeof MISSING = item;
  for (const seg of o.path) {
    if (typeof seg === 'number' && Array.isArray(cur)) cur = seg < 0 ? cur[cur.length + seg] ?? MISSING : cur[seg] ?? MISSING;
    else if (typeof seg === 'string' && isJsonObject(cur) && !isLosslessNumber(cur) && seg in cur) cur = cur[seg];
    else return MISSING;
  }
  // A number read without rounding (a payload's exact text) is compared by its value.
  return isLosslessNumber(cur) ? Number(cur.value) : cur;
}

function equal(a: JsonValue, b: JsonValue): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function evaluate(n: Node, item: JsonValue): boolean {
  switch (n.k) {
    case 'or':
      return evaluate(n.a, item) || evaluate(n.b, item);
    case 'and':
      return evaluate(n.a, item) && evaluate(n.b, item);
    case 'not':
      return !evaluate(n.a, item);
    case 'cmp': {
      const a = resolve(n.a, item);
      if (n.op === null) return a !== MISSING;
      const b = resolve(n.b as Operand, item);
      if (a === MISSING || b === MISSING) return false;
      switch (n.op) {
        case '==':
          return equal(a, b);
        case '!=':
          return !equal(a, b);
        case '=~':
          if (typeof a !== 'string' || typeof b !== 'string') return false;
          return compileRegex(b).test(a);
        default: {
          const comparable = (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');
          if (!comparable) return false;
          if (n.op === '<') return a < b;
          if (n.op === '<=') return a <= b;
          if (n.op === '>') return a > b;
          return a >= b;
        }
      }
    }
  }
}

// re2js ships its types as an ECMAScript module; this project compiles to CommonJS and loads the
// package's CommonJS build (bundled by esbuild).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const re2js = require('re2js') as { RE2JS: typeof RE2JS };

const regexCache = new Map<string, RE2JS>();

/** Compiles an `=~` pattern with RE2 (linear-time matching), once per pattern. */
function compileRegex(pattern: string): RE2JS {
  let re = regexCache.get(pattern);
  if (!re) {
    try {
      re = re2js.RE2JS.compile(pattern);
    } catch (err) {
      throw new ChainFilterError(`invalid regular expression in chain_filter (RE2 syntax): ${JSON.stringify(pattern)}: ${errorMessage(err)}`);
    }
    if (regexCache.size >= 256) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

/** Compiles a chain filter; the returned predicate tells whether a feature passes. */
export function compileChainFilter(expression: string): (feature: JsonValue) => boolean {
  const tree = parse(expression);
  return (feature) => evaluate(tree, feature);
}

/** Applies `$.features[?(<expression>)]` to a feature list. */
export function filterFeatures(features: readonly JsonValue[], expression: string): JsonValue[] {
  const pass = compileChainFilter(expression);
  return features.filter(pass);
}
