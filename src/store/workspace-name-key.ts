/**
 * The form under which two workspace names count as the same, kept in `workspaces.normalized_name`
 * under a unique index: NFKC (full-width `ＢＥＴＡ` is `BETA`, `ﬁ` is `fi`), case folded (upper- then
 * lower-casing also folds `ß` to `ss`), invisible code points dropped and runs of spaces made one.
 * Changing it changes which names clash: that needs a migration that recomputes the column.
 */
export function workspaceNameKey(name: string): string {
  return name
    .normalize('NFKC')
    .replace(/\p{Default_Ignorable_Code_Point}/gu, '')
    .toUpperCase()
    .toLowerCase()
    .normalize('NFKC')
    .replace(/\s+/gu, ' ')
    .trim();
}
