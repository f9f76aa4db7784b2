import { useEffect, useRef, useState } from 'react';
import type { Workspace } from '../api.js';
import { navigate } from '../route.js';

/**
 * The workspace drop-down of the top bar: a button named after the current workspace that opens a
 * menu with New workspace, Settings and one item per workspace. Arrow keys move, Escape closes.
 */
export function WorkspaceMenu({
  workspaces,
  current,
}: {
  readonly workspaces: readonly Workspace[];
  readonly current: Workspace | undefined;
}) {
  const [open, setOpen] = useState(false);
  const menu = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!open) return;
    menu.current?.querySelector<HTMLElement>('[role="menuitem"]:not([disabled])')?.focus();
    const close = (event: MouseEvent) => {
      if (!menu.current?.contains(event.target as Node) && !button.current?.contains(event.target as Node)) {
        setOpen(false);
      }
    };
    document.addEventListener('mousedown', close);
    return () => document.removeEventListener('mousedown', close);
  }, [open]);

  const choose = (action: () => void) => {
    setOpen(false);
    button.current?.focus();
    action();
  };

  const onKeyDown = (event: React.KeyboardEvent) => {
    const items = [
      ...(menu.current?.querySelectorAll<HTMLElement>('[role="menuitem"]:not([disabled])') ?? []),
    ];
    const index = items.indexOf(document.activeElement as HTMLElement);
    if (event.key === 'Escape') {
      setOpen(false);
      button.current?.focus();
    } else if (event.key === 'ArrowDown') {
      event.preventDefault();
      items[(index + 1) % items.length]?.focus();
    } else if (event.key === 'ArrowUp') {
      event.preventDefault();
      items[(index - 1 + items.length) % items.length]?.focus();
    }
  };

  return (
    <div className="menu-anchor">
      <button
        ref={button}
        type="button"
        className="workspace-button"
        aria-haspopup="menu"
        aria-expanded={open}
        onClick={() => setOpen(!open)}
      >
        {current?.name ?? 'Select workspace'}
        <span aria-hidden="true"> ▾</span>
      </button>
      {open ? (
        <div
          ref={menu}
          role="menu"
          aria-label="Workspaces"
          className="menu"
          tabIndex={-1}
          onKeyDown={onKeyDown}
        >
          <button type="button" role="menuitem" onClick={() => choose(() => navigate({ page: 'new' }))}>
            New workspace
          </button>
          <button
            type="button"
            role="menuitem"
            disabled={!current}
            onClick={() => choose(() => current && navigate({ page: 'settings', workspaceId: current.id }))}
          >
            Settings
          </button>
          <hr className="menu-separator" />
          {workspaces.map((w) => (
            <button
              key={w.id}
              type="button"
              role="menuitem"
              aria-current={w.id === current?.id ? 'true' : undefined}
              onClick={() => choose(() => navigate({ page: 'configuration', workspaceId: w.id }))}
            >
              {w.name}
            </button>
          ))}
        </div>
      ) : null}
    </div>
  );
}
