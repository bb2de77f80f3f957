/** Shapes shared by the pieces of the embedded local stack. */

/** A handler loaded in this process, invoked the way Lambda would invoke it. */
export interface LocalFunction {
  /** Logical ID of the AWS::Lambda::Function in the synthesized template. */
  readonly name: string;
  readonly timeoutSeconds: number;
  /** Resolves with the handler's result; rejects when the handler throws or exceeds its timeout. */
  invoke(event: unknown): Promise<unknown>;
}

/** Something the local stack starts and must stop cleanly on shutdown. */
export interface Stoppable {
  stop(): Promise<void>;
}

/** A CloudFormation template as synthesized by the CDK app. */
export interface CfnTemplate {
  readonly Resources: Readonly<Record<string, CfnResource>>;
}

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Readonly<Record<string, unknown>>;
  readonly Metadata?: Readonly<Record<string, unknown>>;
  readonly DependsOn?: string | readonly string[];
}

/** A JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Template properties and parsed files are untyped JSON: an object's fields, or none. */
export function asRecord(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}
