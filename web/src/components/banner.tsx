// A notice across the page: restart required, drift, connectivity result, errors.
import type { ReactNode } from 'react';

export function Banner(props: {
  tone: 'info' | 'warning' | 'error' | 'success';
  title: string;
  children?: ReactNode;
  actions?: ReactNode;
  testId?: string;
}): ReactNode {
  const urgent = props.tone === 'error' || props.tone === 'warning';
  return (
    <section
      className={`banner banner-${props.tone}`}
      role={urgent ? 'alert' : 'status'}
      aria-label={props.title}
      data-testid={props.testId}
    >
      <div className="banner-body">
        <h2 className="banner-title">{props.title}</h2>
        {props.children ? <div className="banner-text">{props.children}</div> : null}
      </div>
      {props.actions ? <div className="banner-actions">{props.actions}</div> : null}
    </section>
  );
}
