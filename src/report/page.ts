/**
 * A stand-alone page in the report's look (its stylesheet, light and dark, print layout) for
 * outputs that are not a run's report — `imload plan --lab`'s comparison — so they read like it.
 * No script and no network: sections of HTML the caller made, each under its heading.
 */
import { escapeHtml as h } from '../text/escape.js';
import { PAGE_CSS } from './html-style.js';

export interface StandaloneSection {
  readonly id: string;
  readonly title: string;
  readonly html: string;
}

/** The doctype, head and page header every imload page starts with (the report's too). */
export function pageTop(page: { readonly title: string; readonly heading: string; readonly sub: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${h(page.title)}</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<header><h1>${h(page.heading)}</h1><p class="sub">${h(page.sub)}</p></header>`;
}

export function standalonePage(page: { readonly title: string; readonly heading: string; readonly sub: string; readonly sections: readonly StandaloneSection[] }): string {
  return `${pageTop(page)}
<main>
${page.sections.map((section) => `<section id="${h(section.id)}"><h2>${h(section.title)}</h2>${section.html}</section>`).join('\n')}
</main>
</body>
</html>
`;
}
