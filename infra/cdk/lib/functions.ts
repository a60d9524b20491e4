/**
 * What each Lambda function may do and what triggers it, besides HTTP routes (those come from
 * infra/routes.json, generated from shared/src/routes.rs).
 *
 * Adding a function: add its entry here. An HTTP function needs only `tableActions`; its routes
 * follow from the route table. The stack refuses to synth while a crate in functions/ has no entry
 * here or a route names a function that is not here, so nothing is silently left out.
 *
 * Entries for crates that have not landed yet are skipped (`functions/<name>/Cargo.toml` missing),
 * which lets the event-driven functions below be wired in advance.
 */

/** DynamoDB actions a function's code paths call. TransactWriteItems is authorised per item as
 * Put/Update/Delete/ConditionCheckItem; Query on an index needs `queriesIndexes`. */
export type TableAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:BatchGetItem'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:ConditionCheckItem'
  | 'dynamodb:Query';

export type Trigger =
  /** Order changes on the table stream (filtered on the `entity` attribute). */
  | { kind: 'orderStream' }
  /** The order-events queue, with partial batch failures. */
  | { kind: 'orderQueue' }
  /** An EventBridge schedule expression, e.g. `rate(15 minutes)`. */
  | { kind: 'schedule'; expression: string };

export interface FunctionSpec {
  /** The crate under functions/ (and its binary). */
  readonly name: string;
  readonly description: string;
  readonly tableActions: TableAction[];
  /** Query/read the GSIs (`<table>/index/*`) too. */
  readonly queriesIndexes?: boolean;
  readonly memorySize?: number;
  readonly timeoutSeconds?: number;
  readonly trigger?: Trigger;
  /** Sends to the order-events queue. */
  readonly sendsOrderEvents?: boolean;
  /** Sends email through SES as the configured sender. */
  readonly sendsEmail?: boolean;
}

export const FUNCTIONS: FunctionSpec[] = [
  {
    name: 'auth',
    description: 'Registration, login, token refresh and logout',
    tableActions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    // argon2id hashing is CPU-bound: more memory is more CPU.
    memorySize: 1024,
  },
  {
    name: 'users',
    description: "The caller's profile and public profiles",
    tableActions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  },
  // Event-driven functions, wired in advance; each appears once its crate lands. Check the
  // table actions against its store calls then.
  {
    name: 'dispatcher',
    description: 'Turns order changes on the table stream into order events',
    tableActions: ['dynamodb:GetItem'],
    trigger: { kind: 'orderStream' },
    sendsOrderEvents: true,
  },
  {
    name: 'notifier',
    description: 'Emails the parties of an order event',
    tableActions: ['dynamodb:GetItem'],
    trigger: { kind: 'orderQueue' },
    sendsEmail: true,
  },
  {
    name: 'scheduler',
    description: 'Periodic order housekeeping',
    tableActions: ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
    queriesIndexes: true,
    timeoutSeconds: 60,
    trigger: { kind: 'schedule', expression: 'rate(15 minutes)' },
  },
];

/** One row of infra/routes.json. */
export interface Route {
  readonly method: string;
  readonly path: string;
  readonly function: string;
}
