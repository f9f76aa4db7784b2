import type { ReactNode } from 'react';

/**
 * A table that scrolls sideways in a narrow window, with its column headers; `actions` adds a last
 * column for row buttons, named for screen readers only.
 */
export function DataTable({
  columns,
  actions = false,
  label,
  children,
}: {
  readonly columns: readonly string[];
  readonly actions?: boolean;
  readonly label?: string;
  readonly children: ReactNode;
}) {
  return (
    <div className="table-scroll">
      <table aria-label={label}>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
            {actions ? (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
