/**
 * String enums as plain objects.
 * @module
 */

/**
 * An object mapping each of `names` to itself, in the order given: `stringEnum('A', 'B')` is
 * `{ A: 'A', B: 'B' }`, so `E.A` reads like a TypeScript string enum member and `Object.values(E)`
 * lists the names. Declare its type beside it: `type E = (typeof E)[keyof typeof E]`.
 */
export function stringEnum<N extends string>(...names: N[]): { readonly [K in N]: K } {
  return Object.freeze(Object.fromEntries(names.map((n) => [n, n]))) as { readonly [K in N]: K };
}
