/**
 * HTML built with one escaping rule. `html` is a tagged template: every interpolated value is
 * escaped with `escapeHtml` unless it is itself the result of `html`, and arrays are joined, so
 * a page can only contain markup that was written in a template literal here.
 */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
  '=': '&#61;',
};

/**
 * Escape text for HTML element content and for quoted attribute values. Every character that can
 * end a text run or an attribute value is replaced by its character reference.
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`=]/g, (character) => ESCAPES[character] ?? character);
}

/** Markup that is already safe: produced by `html` from escaped values. */
export class SafeHtml {
  constructor(readonly value: string) {}

  toString(): string {
    return this.value;
  }
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | HtmlValue[];

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, index) => {
    out += render(value) + (strings[index + 1] ?? '');
  });
  return new SafeHtml(out);
}
