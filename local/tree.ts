/**
 * Draws S3 keys as a tree, the way the README's "Key layout" section draws the payload bucket.
 * @module
 */

interface Node {
  children: Map<string, Node>;
  size?: number;
}

/** Renders keys (relative or absolute) as an indented tree under a root label. */
export function renderTree(rootLabel: string, keys: readonly { key: string; size?: number }[]): string {
  const root: Node = { children: new Map() };
  for (const { key, size } of keys) {
    let node = root;
    const parts = key.split('/');
    parts.forEach((part, i) => {
      const name = i < parts.length - 1 ? `${part}/` : part;
      let child = node.children.get(name);
      if (!child) {
        child = { children: new Map() };
        node.children.set(name, child);
      }
      if (i === parts.length - 1) child.size = size;
      node = child;
    });
  }
  const lines = [rootLabel];
  const walk = (node: Node, indent: string): void => {
    const entries = [...node.children.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    entries.forEach(([name, child], i) => {
      const last = i === entries.length - 1;
      const label = child.size !== undefined ? `${name}  (${formatBytes(child.size)})` : name;
      lines.push(`${indent}${last ? '└── ' : '├── '}${label}`);
      walk(child, indent + (last ? '    ' : '│   '));
    });
  };
  walk(root, '');
  return lines.join('\n');
}

/** `1.2 KB`, `120.0 KB`, `3.4 MB`. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1000 * 1000) return `${(n / 1000).toFixed(1)} KB`;
  return `${(n / 1000 / 1000).toFixed(1)} MB`;
}
