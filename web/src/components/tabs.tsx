// Accessible tabs (WAI-ARIA tabs pattern): arrow keys, Home and End move between tabs; the panel follows.
import { useRef, type KeyboardEvent, type ReactNode } from 'react';

export interface TabDef {
  id: string;
  label: ReactNode;
}

export function Tabs(props: {
  label: string;
  tabs: TabDef[];
  selected: string;
  onSelect(id: string): void;
  children: ReactNode;
}): ReactNode {
  const refs = useRef(new Map<string, HTMLButtonElement>());
  const ids = props.tabs.map((t) => t.id);
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>): void => {
    const i = ids.indexOf(props.selected);
    let next: number | undefined;
    if (e.key === 'ArrowRight') next = (i + 1) % ids.length;
    else if (e.key === 'ArrowLeft') next = (i - 1 + ids.length) % ids.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = ids.length - 1;
    if (next === undefined) return;
    e.preventDefault();
    const id = ids[next] as string;
    props.onSelect(id);
    refs.current.get(id)?.focus();
  };
  return (
    <div className="tabs">
      <div role="tablist" aria-label={props.label} className="tablist" onKeyDown={onKeyDown}>
        {props.tabs.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={t.id === props.selected}
            aria-controls={`panel-${t.id}`}
            tabIndex={t.id === props.selected ? 0 : -1}
            className="tab"
            ref={(el) => {
              if (el) refs.current.set(t.id, el);
              else refs.current.delete(t.id);
            }}
            onClick={() => props.onSelect(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div
        role="tabpanel"
        id={`panel-${props.selected}`}
        aria-labelledby={`tab-${props.selected}`}
        className="tabpanel"
        tabIndex={0}
      >
        {props.children}
      </div>
    </div>
  );
}
