import type { ComponentChildren } from 'preact';
import { onLinkClick } from './router';

export function Link({ href, children, class: cls, title }: { href: string; children: ComponentChildren; class?: string; title?: string }) {
  return (
    <a href={href} class={cls} title={title} onClick={(e) => onLinkClick(e as unknown as MouseEvent, href)}>
      {children}
    </a>
  );
}
