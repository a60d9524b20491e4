/**
 * What each Lambda function may do and what triggers it, besides HTTP routes (those come from
 * infra/routes.json, generated from shared/src/routes.rs).
 *
 * Adding a function: add its entry here. An HTTP function needs only `tableActions` (and
 * `readsJwtKeys`); its routes follow from the route table. The stack refuses to synth while a
 * crate in functions/ has no entry here, an entry has no crate, or a route names a function that
 * is not here, so nothing is silently left out. tests/integration/infra.rs checks that each function's table
 * access is the same as in infra/template.yaml, and tests/permissions.rs that it is exactly what
 * the function was seen calling in a `make test` run (actions, resources, leading keys).
 */

/** DynamoDB actions a function's code paths call on the table. TransactWriteItems is authorised
 * per item as Put/Update/Delete/ConditionCheckItem; Query on an index is `queriesIndexes`. */
export type TableAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:BatchGetItem'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:ConditionCheckItem'
  | 'dynamodb:Query';

export type Trigger =
  /** Order, review and message items on the table stream (filtered on `entity`), and every
   * write of a gig item (a search index hint, and a moderation decision to mail). */
  | { kind: 'orderStream' }
  /** The order-events queue, with partial batch failures. */
  | { kind: 'orderQueue' }
  /** The search index queue (gig hints, with partial batch failures) and the full rebuild on
   * an EventBridge schedule. */
  | { kind: 'searchIndexQueue'; rebuildSchedule: string }
  /** An EventBridge schedule expression, e.g. `rate(15 minutes)`. */
  | { kind: 'schedule'; expression: string };

export interface TableAccess {
  readonly actions: TableAction[];
  /** `dynamodb:LeadingKeys` (ForAllValues:StringLike): the partition key prefixes its items and
   * table Queries have, e.g. `USER#*` (shared/src/store/keys.rs). `RATE#*`: every function with
   * API routes other than Stripe's webhooks counts each caller's requests (`web::rate_limit`). */
  readonly leadingKeys: string[];
}

export interface FunctionSpec {
  /** The crate under functions/ (and its binary). */
  readonly name: string;
  readonly description: string;
  /** Its access to the table's items; none: no table access at all (a stream trigger's read is
   * granted with the trigger). */
  readonly table?: TableAccess;
  /** Query on the GSIs (`<table>/index/*`). */
  readonly queriesIndexes?: boolean;
  /** Verifies access tokens: reads the verifying JWT keyset secret at cold start. */
  readonly readsJwtKeys?: boolean;
  /** Reads the signing keyset and issues access tokens (auth alone). */
  readonly signsAccessTokens?: boolean;
  /** Talks to Stripe: reads the Stripe secret key's secret at cold start. */
  readonly readsStripeKey?: boolean;
  /** Verifies Stripe's webhook deliveries: reads the webhook signing secrets at cold start. */
  readonly readsStripeWebhookSecrets?: boolean;
  /** Verifies Stripe Connect's webhook deliveries: reads that endpoint's own signing secrets. */
  readonly readsStripeConnectWebhookSecrets?: boolean;
  readonly memorySize?: number;
  readonly timeoutSeconds?: number;
  readonly trigger?: Trigger;
  /** Sends to the order-events queue. */
  readonly sendsOrderEvents?: boolean;
  /** Sends gig hints to the search index queue; it gets SEARCH_INDEX_QUEUE_URL. */
  readonly sendsSearchIndexHints?: boolean;
  /** The search index bucket's `search-index/` objects: `read` loads the published version
   * (`search`), `write` also publishes and deletes retired files (`indexer`). It gets
   * SEARCH_INDEX_BUCKET. */
  readonly searchIndex?: 'read' | 'write';
  /** Reserved concurrency: 1 makes the function the only one of its kind running. */
  readonly reservedConcurrency?: number;
  /** Sends email through SES as the configured sender. */
  readonly sendsEmail?: boolean;
  /** The files bucket's key prefix (`orders/`, `conversations/`) whose objects it presigns
   * uploads and downloads of, checks (HeadObject) and deletes; it gets FILES_BUCKET. */
  readonly filesPrefix?: string;
  /** Deletes closed orders' files their retention period after the close (DeleteObject on
   * `orders/`); it gets FILES_BUCKET and ORDER_FILES_RETENTION_DAYS. */
  readonly expiresOrderFiles?: boolean;
}

export const FUNCTIONS: FunctionSpec[] = [
  {
    name: 'auth',
    description: 'Registration, login, token refresh, logout, email verification and password reset',
    // DeleteItem: a verification or reset token is consumed (deleted) when used.
    table: {
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      leadingKeys: ['USER#*', 'EMAIL#*', 'REFRESH#*', 'FAMILY#*', 'LOGINFAIL#*', 'LOGINIP#*', 'REGISTERIP#*', 'TOKEN#*', 'VERIFYMAIL#*', 'RESETMAIL#*', 'METRICS#*', 'RATE#*'],
    },
    readsJwtKeys: true,
    signsAccessTokens: true,
    // The verification and reset mails: `account` events straight to the events queue.
    sendsOrderEvents: true,
    // argon2id hashing is CPU-bound: more memory is more CPU.
    memorySize: 1024,
  },
  {
    name: 'users',
    description: "The caller's profile and public profiles",
    table: {
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      leadingKeys: ['USER#*', 'RATE#*'],
    },
    readsJwtKeys: true,
  },
  {
    name: 'gigs',
    description: "Publishing gigs, reading one, a freelancer's gigs, categories",
    // GetItem: the gig, its owner. Query: the listing and owner indexes. Every gig write is one
    // TransactWriteItems: the gig (Put/Update), its listing entries (Put/Delete), a
    // ConditionCheck of the owner's status and, on creation, the owner's daily quota (Update).
    table: {
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
      leadingKeys: ['GIG#*', 'USER#*', 'METRICS#*', 'QUOTA#*', 'RATE#*'],
    },
    queriesIndexes: true,
    readsJwtKeys: true,
  },
  {
    name: 'orders',
    description: "Order placement, lifecycle transitions and order reads with their timeline, and the orders' files",
    // GetItem: idempotency record, gig, freelancer, order. Query: an order's partition and the
    // listing indexes. Placement and transitions are one TransactWriteItems of Puts, an Update
    // (the gig) and, at placement, a ConditionCheck of the freelancer (not blocked) and the
    // client's hourly quota (Update). A file is a Put with an Update of the order's file count;
    // a refused upload's or a deleted unused file's a Delete with that Update; a used one an
    // Update in its delivery's transaction.
    table: {
      actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
      leadingKeys: ['ORDER#*', 'IDEMPOTENCY#*', 'GIG#*', 'USER#*', 'METRICS#*', 'LEDGER#*', 'BALANCE#*', 'EARNINGS#*', 'QUOTA#*', 'RATE#*'],
    },
    queriesIndexes: true,
    readsJwtKeys: true,
    readsStripeKey: true,
    filesPrefix: 'orders/',
  },
  {
    name: 'reviews',
    description: 'Two-way reviews of completed orders (sealed until both have spoken), replies, review listings',
    // GetItem: the order, its review states, the other review, the author, the gig. Query: the
    // sparse review indexes. A review is one TransactWriteItems: Puts (the review, the other one
    // when published with it), Updates (review states, rating totals on users and the gig) and a
    // ConditionCheck of the author; a reply is one UpdateItem. Then the gig's re-index (Update of
    // the gig, Put of each listing entry, ConditionCheck of the owner). A public listing reads
    // the gigs and users its page names in one BatchGetItem.
    table: {
      actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
      leadingKeys: ['ORDER#*', 'REVIEW#*', 'USER#*', 'GIG#*', 'METRICS#*', 'RATE#*'],
    },
    queriesIndexes: true,
    readsJwtKeys: true,
  },
  // Messaging.
  {
    name: 'messages',
    description: 'Conversations, messages, the inbox, read receipts and attachments',
    // GetItem: inbox entries, users, the order or gig of a context. Query: a conversation's
    // messages and the inbox index. Opening, sending and reading are one TransactWriteItems each:
    // Puts (message, inbox entries), Updates (inbox entries, unread totals, the hourly counter of
    // opened conversations, the sender's per-minute quota) and a ConditionCheck of the sender
    // (not blocked). Attachments as an order's files (Put, Update of the count, Delete of a
    // refused one).
    table: {
      actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
      leadingKeys: ['CONV#*', 'CONVRATE#*', 'USER#*', 'ORDER#*', 'GIG#*', 'METRICS#*', 'QUOTA#*', 'RATE#*'],
    },
    queriesIndexes: true,
    readsJwtKeys: true,
    filesPrefix: 'conversations/',
  },
  // Admin.
  {
    name: 'admin',
    description: 'The admin API - users, gigs, orders, reviews, metrics, payments and the audit log',
    // GetItem: users, gigs. Query: the audit, owner and order indexes. A block/unblock is one
    // TransactWriteItems (Update of the user, Put of the audit entry); then the user's gigs are
    // re-listed (Update of the gig, Put/Delete of listing entries, ConditionCheck of the owner)
    // and the pending mark cleared (UpdateItem).
    // Metrics: BatchGetItem of the counter shards (METRICS#); a block/unblock also ADDs to the
    // users counters (an Update in its transaction). Hiding/unhiding a review: GetItem and
    // Update of the review (REVIEW#), Updates of the rating totals (USER#, GIG#) and counters,
    // Put of the audit entry, then the gig's re-index.
    // Cancelling an order: GetItem of the order, then one TransactWriteItems: Puts of the order
    // and its timeline entry (ORDER#), Updates of the gig counter and the metrics, Put of the
    // audit entry; for a paid order also the refund's ledger transaction and balances, then an
    // Update of the order with the refund Stripe accepted.
    // Refunding a completed order: GetItem of the order, its earning (EARNINGS#) and the
    // request's Idempotency-Key (IDEMPOTENCY#), then one TransactWriteItems: Put of the refund
    // (REFUND#) and the key, Updates of the order and earning, the ledger move, the audit entry;
    // Stripe's answers are Puts of the refund and of each reversal's ledger transaction.
    // Money figures: the same BatchGetItem reads the ledger's currency shards (LEDGER#), then
    // one BatchGetItem the platform balances (BALANCE#). The payments list Queries gsi4.
    table: {
      actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
      leadingKeys: ['USER#*', 'GIG#*', 'AUDIT#*', 'METRICS#*', 'REVIEW#*', 'ORDER#*', 'LEDGER#*', 'BALANCE#*', 'EARNINGS#*', 'IDEMPOTENCY#*', 'REFUND#*', 'RATE#*'],
    },
    queriesIndexes: true,
    readsJwtKeys: true,
    // An admin's cancel refunds a paid order.
    readsStripeKey: true,
  },
  {
    name: 'dispatcher',
    description: 'Turns changes on the table stream into events and search index hints on their queues',
    // Everything it needs is in the stream record; the trigger grants the stream read.
    trigger: { kind: 'orderStream' },
    sendsOrderEvents: true,
    sendsSearchIndexHints: true,
  },
  {
    name: 'notifier',
    description: 'Emails the parties of an order event (once per event and recipient)',
    // GetItem: the recipient. The dedupe record: Put (claim), Update (sent), Delete (release).
    // Messaging: GetItem of the recipient's inbox entry, Put of the 15-minute mail throttle.
    table: {
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      leadingKeys: ['USER#*', 'MAIL#*', 'CONV#*', 'MSGMAIL#*'],
    },
    // Below the queue's visibility timeout (60 s) and the 120 s lease of a mail claim.
    timeoutSeconds: 10,
    trigger: { kind: 'orderQueue' },
    sendsEmail: true,
  },
  {
    name: 'scheduler',
    description: 'Reconciles missed Stripe events daily, auto-completes delivered orders after 3 days, marks late orders, expires unpaid orders, retries refunds, publishes reviews whose window closed',
    // Query: the sparse deadline indexes. Transitions: Puts (order, timeline, a completion's
    // ledger transaction) and Updates (gig, ledger balances); a refund Stripe accepted is an
    // Update of the order.
    // Publishing a sealed review is a Put (review) and Updates (review
    // states, rating totals), then the gig's re-index (GetItem gig and owner, Update gig, Put
    // entries, ConditionCheck owner).
    // The daily reconciliation: GetItem and conditional PutItem of its watermark
    // (RECONCILIATION#), GetItem of an event's applied record (STRIPE_EVENT#), and the webhook's
    // own transaction for an event it missed (order, ledger, Put of the STRIPE_EVENT# record).
    // A missed `charge.refunded` naming an admin refund: GetItem and Put of the refund (REFUND#).
    // What Stripe did not answer: an admin refund's Put (REFUND#) with its reversals' ledger
    // transactions, and a lost dispute's reversals: Update of the dispute (DISPUTE#).
    // A closed order's files past their retention: Query of its partition, an Update of each
    // file and of its file count item.
    // An automatic withdrawal is the withdrawal use case's: GetItem of the payout account
    // (USER#), the earned currencies and the available earnings (EARNINGS#, BatchGetItem) and
    // the request's key (IDEMPOTENCY#), then its TransactWriteItems (withdrawal, request,
    // earnings, ledger, ConditionCheck of the user); the mark's removal is an Update (USER#).
    table: {
      actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
      leadingKeys: ['ORDER#*', 'GIG#*', 'REVIEW#*', 'USER#*', 'METRICS#*', 'LEDGER#*', 'BALANCE#*', 'STRIPE_EVENT#*', 'RECONCILIATION#*', 'EARNINGS#*', 'REFUND#*', 'DISPUTE#*', 'IDEMPOTENCY#*'],
    },
    queriesIndexes: true,
    timeoutSeconds: 60,
    // Expiries cancel PaymentIntents; refunds Stripe did not accept are asked for again; the
    // reconciliation lists events.
    readsStripeKey: true,
    expiresOrderFiles: true,
    trigger: { kind: 'schedule', expression: 'rate(15 minutes)' },
  },
  {
    name: 'realtime',
    description: 'Real time over the WebSocket API: connection tickets, $connect/$disconnect/messages, pushes to open connections',
    // GetItem: a ticket, a connection.
    // Issuing a ticket is a TransactWriteItems (Put of the ticket, ConditionCheck of the user:
    // not blocked); $connect one more (Delete of the ticket, Puts of the connection's two items,
    // ConditionCheck of the user); $disconnect one of two Deletes. A push: Query of the
    // recipient's connections, and the two Deletes of a connection found gone. Typing: GetItem
    // of the typist's inbox entry (a participant?), UpdateItem of their typing throttle.
    table: {
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem', 'dynamodb:Query'],
      leadingKeys: ['TICKET#*', 'CONNECTION#*', 'CONNECTIONS#*', 'USER#*', 'CONV#*', 'TYPING#*', 'RATE#*'],
    },
    readsJwtKeys: true,
  },
  {
    name: 'payments',
    description: 'Stripe webhooks: verified, deduplicated payment reports that move orders and the ledger',
    // GetItem: the order a PaymentIntent names. A payment is one TransactWriteItems: Puts (the
    // order, its timeline entry, the ledger transaction, the Stripe event), Updates (metrics,
    // ledger balances); a payment status is an Update of the order with the Put of the event.
    // `transfer.created`: GetItem of the order and its withdrawal, Put of the confirmed one.
    // `charge.dispute.*`: Put of the dispute, Update of the order, Put of its earning.
    // `charge.refunded` naming an admin refund: GetItem and Put of the refund (REFUND#).
    table: {
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      leadingKeys: ['ORDER#*', 'LEDGER#*', 'BALANCE#*', 'STRIPE_EVENT#*', 'METRICS#*', 'EARNINGS#*', 'DISPUTE#*', 'REFUND#*'],
    },
    readsJwtKeys: true,
    readsStripeWebhookSecrets: true,
    // A payment that arrives after its order was cancelled is refunded at once.
    readsStripeKey: true,
  },
  {
    name: 'payouts',
    description: 'Pays freelancers out: Connect onboarding, balances, withdrawals',
    // The payout account (USER#), earnings and withdrawals (EARNINGS#), a withdrawal request's
    // key (IDEMPOTENCY#), balances (BALANCE#, BatchGetItem); a withdrawal's TransactWriteItems
    // also Puts its ledger transaction (LEDGER#). Query: ledger entries, earnings by status.
    table: {
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem'],
      leadingKeys: ['USER#*', 'EARNINGS#*', 'IDEMPOTENCY#*', 'BALANCE#*', 'LEDGER#*', 'RATE#*'],
    },
    queriesIndexes: true,
    readsJwtKeys: true,
    readsStripeConnectWebhookSecrets: true,
    // Creates connected accounts, onboarding links and transfers.
    readsStripeKey: true,
  },
  {
    name: 'search',
    description: 'Browse and keyword search (GET /gigs) from the published search index',
    // BatchGetItem: a page's gigs. UpdateItem: the caller's request count.
    table: {
      actions: ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem'],
      leadingKeys: ['GIG#*', 'RATE#*'],
    },
    readsJwtKeys: true,
    searchIndex: 'read',
    // The index is held in memory; more memory is also more CPU for the queries.
    memorySize: 512,
  },
  {
    name: 'indexer',
    description: 'The search index writer - gig hints and an hourly full rebuild to the next published index version',
    // BatchGetItem: the hinted gigs, re-read. Query: the rebuild's listing of every listed gig.
    table: {
      actions: ['dynamodb:BatchGetItem'],
      leadingKeys: ['GIG#*'],
    },
    queriesIndexes: true,
    searchIndex: 'write',
    // The only writer: publications never race (a superseded one is applied again anyway).
    reservedConcurrency: 1,
    memorySize: 1024,
    timeoutSeconds: 120,
    trigger: { kind: 'searchIndexQueue', rebuildSchedule: 'rate(1 hour)' },
  },
];

/** One row of infra/routes.json. */
export interface Route {
  readonly method: string;
  readonly path: string;
  readonly function: string;
}
