import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';

/**
 * Renders a Helm chart's templates in-process for tests, because helm itself cannot be installed
 * here. It implements the part of Go's text/template and of Helm's function library that this
 * chart uses (if/else/range/with/define, variables, pipelines, include, required, toYaml, nindent,
 * quote, default, printf, ...) and throws on anything else, so a template using more fails loudly
 * instead of rendering wrong.
 */

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipeline: string }
  | { kind: 'if'; branches: { condition: string | null; body: Node[] }[] }
  | { kind: 'range'; pipeline: string; keyVar?: string; valueVar?: string; body: Node[] }
  | { kind: 'with'; pipeline: string; body: Node[] };

interface Scope {
  dot: unknown;
  root: unknown;
  vars: Map<string, unknown>;
}

function tokenizeTemplate(source: string): ({ text: string } | { action: string })[] {
  const parts: ({ text: string } | { action: string })[] = [];
  let rest = source;
  while (rest.length > 0) {
    const open = rest.indexOf('{{');
    if (open < 0) {
      parts.push({ text: rest });
      break;
    }
    let text = rest.slice(0, open);
    const close = rest.indexOf('}}', open);
    if (close < 0) throw new Error('unclosed {{');
    let action = rest.slice(open + 2, close);
    if (action.startsWith('-')) {
      text = text.replace(/\s+$/, '');
      action = action.slice(1);
    }
    let after = rest.slice(close + 2);
    if (action.endsWith('-')) {
      action = action.slice(0, -1);
      after = after.replace(/^\s+/, '');
    }
    parts.push({ text }, { action: action.trim() });
    rest = after;
  }
  return parts;
}

function parseTemplate(source: string, defines: Map<string, Node[]>): Node[] {
  const parts = tokenizeTemplate(source);
  let index = 0;
  function block(terminators: string[]): { nodes: Node[]; end: string } {
    const nodes: Node[] = [];
    while (index < parts.length) {
      const part = parts[index++];
      if ('text' in part) {
        if (part.text) nodes.push({ kind: 'text', text: part.text });
        continue;
      }
      const action = part.action;
      if (action.startsWith('/*')) continue;
      const keyword = action.split(/\s+/)[0];
      if (terminators.includes(keyword)) return { nodes, end: action };
      if (keyword === 'if') {
        const branches: { condition: string | null; body: Node[] }[] = [];
        let condition: string | null = action.slice(2).trim();
        for (;;) {
          const { nodes: body, end } = block(['else', 'end']);
          branches.push({ condition, body });
          if (end === 'end') break;
          condition = end.startsWith('else if') ? end.slice('else if'.length).trim() : null;
        }
        nodes.push({ kind: 'if', branches });
      } else if (keyword === 'range') {
        const spec = action.slice(5).trim();
        const declared = spec.match(/^(\$\w+)(?:\s*,\s*(\$\w+))?\s*:=\s*(.*)$/);
        const { nodes: body } = block(['end']);
        nodes.push(
          declared
            ? declared[2]
              ? { kind: 'range', pipeline: declared[3], keyVar: declared[1], valueVar: declared[2], body }
              : { kind: 'range', pipeline: declared[3], valueVar: declared[1], body }
            : { kind: 'range', pipeline: spec, body },
        );
      } else if (keyword === 'with') {
        const { nodes: body } = block(['end']);
        nodes.push({ kind: 'with', pipeline: action.slice(4).trim(), body });
      } else if (keyword === 'define') {
        const name = JSON.parse(action.slice(6).trim());
        defines.set(name, block(['end']).nodes);
      } else if (['else', 'end'].includes(keyword)) {
        throw new Error(`unexpected {{ ${action} }}`);
      } else {
        nodes.push({ kind: 'action', pipeline: action });
      }
    }
    if (terminators.length > 0) throw new Error(`missing {{ end }} (expected ${terminators.join('/')})`);
    return { nodes, end: '' };
  }
  return block([]).nodes;
}

function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value && typeof value === 'object') return Object.keys(value).length > 0;
  return Boolean(value);
}

function field(value: unknown, names: string[]): unknown {
  let node = value;
  for (const name of names) {
    if (node === null || node === undefined) return undefined;
    node = (node as Record<string, unknown>)[name];
  }
  return node;
}

function show(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function indentLines(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .map((line) => pad + line)
    .join('\n');
}

export interface RenderContext {
  Values: unknown;
  Chart: Record<string, unknown>;
  Release: Record<string, unknown>;
  Template: Record<string, unknown>;
}

export class ChartRenderer {
  private readonly defines = new Map<string, Node[]>();
  private readonly templates = new Map<string, Node[]>();

  private readonly chartDir: string;

  constructor(chartDir: string) {
    this.chartDir = chartDir;
    const chartName = parse(readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8')).name;
    const dir = path.join(chartDir, 'templates');
    for (const file of readdirSync(dir).sort()) {
      const nodes = parseTemplate(readFileSync(path.join(dir, file), 'utf8'), this.defines);
      if (file.startsWith('_')) continue;
      this.templates.set(file, nodes);
      // As in Helm, a template file is also a named template: `include (print .Template.BasePath ...)`.
      this.defines.set(`${chartName}/templates/${file}`, nodes);
    }
  }

  /** Every template rendered with `values` (merged over values.yaml), by file name. */
  render(values: Record<string, unknown> = {}, release = { Name: 'shop', Namespace: 'default' }) {
    const chart = parse(readFileSync(path.join(this.chartDir, 'Chart.yaml'), 'utf8'));
    const defaults = parse(readFileSync(path.join(this.chartDir, 'values.yaml'), 'utf8'));
    const context: RenderContext = {
      Values: merge(defaults, values),
      Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
      Release: { Revision: 1, Service: 'Helm', ...release },
      Template: { BasePath: `${chart.name}/templates` },
    };
    const rendered: Record<string, string> = {};
    for (const [file, nodes] of this.templates) {
      rendered[file] = this.run(nodes, { dot: context, root: context, vars: new Map([['$', context]]) });
    }
    return rendered;
  }

  private run(nodes: Node[], scope: Scope): string {
    let out = '';
    for (const node of nodes) {
      if (node.kind === 'text') out += node.text;
      else if (node.kind === 'action') {
        const declared = node.pipeline.match(/^(\$\w+)\s*:=\s*(.*)$/);
        if (declared) scope.vars.set(declared[1], this.evaluate(declared[2], scope));
        else out += show(this.evaluate(node.pipeline, scope));
      } else if (node.kind === 'if') {
        const branch = node.branches.find(
          (candidate) => candidate.condition === null || truthy(this.evaluate(candidate.condition, scope)),
        );
        if (branch) out += this.run(branch.body, { ...scope, vars: new Map(scope.vars) });
      } else if (node.kind === 'with') {
        const value = this.evaluate(node.pipeline, scope);
        if (truthy(value)) out += this.run(node.body, { ...scope, dot: value, vars: new Map(scope.vars) });
      } else {
        const collection = this.evaluate(node.pipeline, scope);
        const entries: [unknown, unknown][] = Array.isArray(collection)
          ? collection.map((item, position) => [position, item])
          : Object.keys((collection ?? {}) as object)
              .sort()
              .map((key) => [key, (collection as Record<string, unknown>)[key]]);
        for (const [key, value] of entries) {
          const vars = new Map(scope.vars);
          if (node.keyVar) vars.set(node.keyVar, key);
          if (node.valueVar) vars.set(node.valueVar, value);
          out += this.run(node.body, { ...scope, dot: value, vars });
        }
      }
    }
    return out;
  }

  private evaluate(pipeline: string, scope: Scope): unknown {
    const tokens = pipeline.match(/"(?:[^"\\]|\\.)*"|\(|\)|\||[^\s()|]+/g) ?? [];
    let position = 0;
    const parsePipeline = (): unknown => {
      let value: unknown;
      let first = true;
      while (position < tokens.length && tokens[position] !== ')') {
        const args: unknown[] = [];
        const head = tokens[position];
        const isFunction = /^[a-z]\w*$/.test(head) && !['true', 'false', 'nil'].includes(head);
        if (isFunction) position++;
        while (position < tokens.length && tokens[position] !== '|' && tokens[position] !== ')') {
          args.push(parseOperand());
        }
        if (!first) args.push(value);
        if (isFunction) value = this.call(head, args, scope);
        else if (args.length === 1) value = args[0];
        else throw new Error(`cannot evaluate "${pipeline}"`);
        first = false;
        if (tokens[position] === '|') position++;
      }
      return value;
    };
    const parseOperand = (): unknown => {
      const token = tokens[position++];
      if (token === '(') {
        const value = parsePipeline();
        if (tokens[position++] !== ')') throw new Error(`unbalanced parentheses in "${pipeline}"`);
        return value;
      }
      if (token.startsWith('"')) return JSON.parse(token);
      if (/^-?\d+$/.test(token)) return Number(token);
      if (token === 'true' || token === 'false') return token === 'true';
      if (token === '.') return scope.dot;
      if (token.startsWith('.')) return field(scope.dot, token.slice(1).split('.'));
      if (token.startsWith('$')) {
        const [name, ...names] = token.split('.');
        if (!scope.vars.has(name)) throw new Error(`undefined variable ${name}`);
        return field(scope.vars.get(name), names);
      }
      throw new Error(`unsupported operand "${token}" in "${pipeline}"`);
    };
    const value = parsePipeline();
    if (position !== tokens.length) throw new Error(`cannot parse "${pipeline}"`);
    return value;
  }

  private call(name: string, args: unknown[], scope: Scope): unknown {
    const text = (index: number) => show(args[index]);
    switch (name) {
      case 'include': {
        const body = this.defines.get(text(0));
        if (!body) throw new Error(`include of undefined template "${text(0)}"`);
        return this.run(body, { dot: args[1], root: scope.root, vars: new Map([['$', args[1]]]) });
      }
      case 'print':
        return args.map(show).join('');
      case 'printf': {
        let next = 1;
        return text(0).replace(/%s/g, () => show(args[next++]));
      }
      case 'required':
        if (!truthy(args[1])) throw new Error(`required: ${text(0)}`);
        return args[1];
      case 'default':
        return truthy(args[1]) ? args[1] : args[0];
      case 'quote':
        return JSON.stringify(show(args[0]));
      case 'toYaml':
        return stringify(args[0]).replace(/\n$/, '');
      case 'nindent':
        return `\n${indentLines(text(1), Number(args[0]))}`;
      case 'indent':
        return indentLines(text(1), Number(args[0]));
      case 'trunc':
        return text(1).slice(0, Number(args[0]));
      case 'trimSuffix':
        return text(1).endsWith(text(0)) ? text(1).slice(0, -text(0).length) : text(1);
      case 'contains':
        return text(1).includes(text(0));
      case 'replace':
        return text(2).replaceAll(text(0), text(1));
      case 'sha256sum':
        return createHash('sha256').update(text(0)).digest('hex');
      case 'omit': {
        const [object, ...keys] = args as [Record<string, unknown>, ...string[]];
        return Object.fromEntries(Object.entries(object ?? {}).filter(([key]) => !keys.includes(key)));
      }
      case 'not':
        return !truthy(args[0]);
      case 'and':
        return args.reduce((all: unknown, arg) => (truthy(all) ? arg : all));
      case 'or':
        return args.reduce((any: unknown, arg) => (truthy(any) ? any : arg));
      case 'eq':
        return args[0] === args[1];
      case 'ne':
        return args[0] !== args[1];
      default:
        throw new Error(`unsupported template function "${name}"`);
    }
  }
}

function merge(base: unknown, override: unknown): unknown {
  if (!override || typeof override !== 'object' || Array.isArray(override)) return override ?? base;
  if (!base || typeof base !== 'object' || Array.isArray(base)) return override;
  const result: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(override)) result[key] = merge(result[key], value);
  return result;
}
