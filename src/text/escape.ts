/** Escaping for the text formats the report writes (HTML, XML, Markdown table cells). */

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values; XML uses the same set. */
export function escapeHtml(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]!);
}

/** XML 1.0 forbids most control characters even when escaped, so they are dropped. */
export function escapeXml(text: string | number): string {
  return escapeHtml(text).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

/** JSON inside <script>: `<` is escaped so no `</script>` or `<!--` can end the element early. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** A Markdown table cell: pipes and newlines would break the row. */
export function escapeMarkdownCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}
