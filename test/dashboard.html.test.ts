/** The dashboard's HTML escaping, without a server. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml, html, SafeHtml } from '../src/dashboard/html.js';
import { curlExamples } from '../src/dashboard/pages/platform.js';

test('escapeHtml replaces markup characters', () => {
  assert.equal(
    escapeHtml(`<a href="x" onclick='y'>&\`=</a>`),
    '&lt;a href&#61;&quot;x&quot; onclick&#61;&#39;y&#39;&gt;&amp;&#96;&#61;&lt;/a&gt;',
  );
  assert.equal(escapeHtml('plain text 123'), 'plain text 123');
  assert.equal(escapeHtml(''), '');
});

test('html escapes every value', () => {
  const name = '<script>alert(1)</script>';
  const attribute = '" autofocus onfocus="alert(1)';
  const out = html`<p title="${attribute}">${name}</p>`;
  assert.ok(out instanceof SafeHtml);
  assert.equal(
    out.value,
    '<p title="&quot; autofocus onfocus&#61;&quot;alert(1)">&lt;script&gt;alert(1)&lt;/script&gt;</p>',
  );
});

test('html keeps nested templates', () => {
  const items = ['<b>', 'ok'].map((item) => html`<li>${item}</li>`);
  assert.equal(html`<ul>${items}</ul>`.value, '<ul><li>&lt;b&gt;</li><li>ok</li></ul>');
});

test('html renders empty values as nothing', () => {
  assert.equal(html`[${null}${undefined}${false}]`.value, '[]');
  assert.equal(html`${0} ${true}`.value, '0 true');
});

test('objects mimicking SafeHtml are escaped', () => {
  const forged = { value: '<script>' } as unknown as string;
  assert.equal(html`${forged}`.value, '[object Object]');
  assert.equal(html`${'<script>'}`.value, '&lt;script&gt;');
});

test('curl examples hold no secret', () => {
  const examples = curlExamples({
    environment: 'staging',
    client_id: 'gpc_test_abc',
    url: 'http://127.0.0.1:8081',
    modules: [{ id: 'demo', prefix: '/demo', requiresProviderSecret: true }],
  });
  assert.equal(examples.length, 2);
  for (const example of examples) {
    assert.match(example.command, /gpc_test_abc/);
    assert.match(example.command, /\$CLIENT_SECRET/);
  }
  assert.match(examples[1]?.command ?? '', /\$PROVIDER_SECRET/);
});
