/**
 * Helpers to acknowledge specific cdk-nag (v3) findings with a reason.
 *
 * cdk-nag 3 reports through CDK's policy-validation plugins and reads acknowledgments recorded
 * with `Validations.of(construct).acknowledge()`. Wildcard findings (`AwsSolutions-IAM5`) are
 * acknowledged one resource string at a time; the helpers here compute that string from the same
 * token the grant used, so only the intended wildcard is accepted and any new one still fails.
 * @module
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

type Cfn = string | number | boolean | null | undefined | Cfn[] | { [key: string]: Cfn };

function isObject(v: Cfn): v is { [key: string]: Cfn } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Flattens a resolved CloudFormation value the way cdk-nag names findings (`<Logical.Arn>/x/*`). */
export function flattenCfn(node: Cfn): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (isObject(node)) {
    const join = node['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return join[1].map(flattenCfn).join(join[0]);
    }
    if (node['Fn::Sub'] !== undefined) return flattenCfn(node['Fn::Sub']);
    const getAtt = node['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${flattenCfn(getAtt[0])}.${flattenCfn(getAtt[1])}>`;
    if (node['Fn::ImportValue'] !== undefined) return flattenCfn(node['Fn::ImportValue']);
    if (node.Ref !== undefined) return `<${flattenCfn(node.Ref)}>`;
  }
  return JSON.stringify(node);
}

/** The cdk-nag finding id of a (possibly tokenised) IAM resource string. */
export function wildcardResourceFinding(scope: IConstruct, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${flattenCfn(Stack.of(scope).resolve(resource) as Cfn)}]`;
}

/**
 * Acknowledges `AwsSolutions-IAM5` for exactly these wildcard resources on `scope` (a role or a
 * policy, or an ancestor of them).
 */
export function acknowledgeWildcardResources(scope: IConstruct, resources: readonly string[], reason: string): void {
  for (const r of resources) acknowledgeRule(scope, wildcardResourceFinding(scope, r), reason);
}

/** Acknowledges one cdk-nag rule (or finding) on `scope` with a reason. */
export function acknowledgeRule(scope: IConstruct, id: string, reason: string): void {
  if (!reason.trim()) throw new Error(`acknowledgment of ${id} needs a reason`);
  Validations.of(scope).acknowledge({ id, reason });
}
