/**
 * A list of names in one text column, as ",a,b," (incidents' kinds and zones), so that a filter finds a
 * name with LIKE in SQLite and PostgreSQL alike; a name's commas become spaces.
 */

/** A list as stored for the filters: ",a,b," (no commas inside a name), or NULL when empty. */
export function listColumn(values: readonly string[]): string | null {
  const names = [...new Set(values.map((v) => v.replaceAll(",", " ").trim()).filter((v) => v.length > 0))];
  return names.length > 0 ? `,${names.join(",")},` : null;
}

export function listOf(column: string | null | undefined): string[] {
  return column ? column.split(",").filter((v) => v.length > 0) : [];
}

/** The LIKE pattern that finds `name` in a list column (its wildcards escaped with `\`). */
export function listPattern(name: string): string {
  return `%,${name
    .replaceAll(",", " ")
    .trim()
    .replace(/[\\%_]/g, (c) => `\\${c}`)},%`;
}
