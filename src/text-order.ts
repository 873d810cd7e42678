/** Orders strings by UTF-16 code units, as a plain `sort()` does, so listings are the same in every locale. */
export function compareCodeUnits(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
