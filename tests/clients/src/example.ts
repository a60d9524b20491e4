// A client nobody here wrote: types generated from openapi.yaml by openapi-typescript, requests
// made by openapi-fetch. It walks what a new client does: register, verify the email with the
// token from the mail, browse the listed gigs, order the first one's cheapest package. Any answer
// the spec does not lead a client to expect ends the run with a non-zero exit and what was seen.
//
// Needs GIGMARKET_API_URL (the running API) and MOTO_ENDPOINT (the moto server whose SES holds
// the verification mail), and at least one listed gig. With GIGMARKET_SECRETS_FILE set, the
// password and every token used are appended to it, so the caller can check no log shows them.

import { appendFileSync } from "node:fs";
import { randomUUID } from "node:crypto";

import createClient from "openapi-fetch";

import type { components, paths } from "./generated/gigmarket.js";

type Session = components["schemas"]["Session"];
type Gig = components["schemas"]["Gig"];
type Order = components["schemas"]["Order"];

const VERIFICATION_SUBJECT = "Verify your email address for Gigmarket";
// The notifier mails through a queue and a stream consumer: allow for a busy machine.
const MAIL_DEADLINE_MS = 180_000;

class Unexpected extends Error {}

function env(name: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(`client example failed: ${name} is not set`);
    process.exit(1);
  }
  return value;
}

function rememberSecret(...secrets: string[]): void {
  const file = process.env.GIGMARKET_SECRETS_FILE;
  if (file) {
    appendFileSync(file, secrets.map((secret) => `${secret}\n`).join(""));
  }
}

// What openapi-fetch answers: `data` on a 2xx, `error` (the problem+json body) otherwise.
interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

function expect<T>(step: string, answer: Answer<T>, status: number): T {
  const { data, error, response } = answer;
  if (response.status !== status || data === undefined) {
    const body = JSON.stringify(error ?? data);
    throw new Unexpected(`${step}: expected ${status}, got ${response.status}: ${body}`);
  }
  return data;
}

const api = createClient<paths>({ baseUrl: env("GIGMARKET_API_URL") });
const moto = env("MOTO_ENDPOINT");

async function register(email: string, password: string): Promise<Session> {
  const session = expect(
    "POST /auth/register",
    await api.POST("/auth/register", {
      body: { email, password, name: "TypeScript Client", role: "client" },
    }),
    201,
  );
  rememberSecret(session.access_token, session.refresh_token);
  if (session.user.email !== email || session.user.email_verified) {
    throw new Unexpected(`POST /auth/register: a new, unverified ${email} expected, got ${JSON.stringify(session.user)}`);
  }
  return session;
}

// The mail moto's SES accepted, as GET /moto-api/data.json lists it under ses.Message.
interface SentMail {
  destinations?: { ToAddresses?: string[] };
  subject?: string;
  body?: string;
}

// The token of the verification mail's link (`...?token=<base64url>`). moto's dump can answer a
// 500 page while queues change under it: such an answer is asked for again.
async function verificationToken(email: string): Promise<string> {
  const deadline = Date.now() + MAIL_DEADLINE_MS;
  for (;;) {
    const response = await fetch(`${moto}/moto-api/data.json`);
    if (response.ok) {
      const state = (await response.json()) as { ses?: { Message?: SentMail[] } };
      const mail = (state.ses?.Message ?? []).find(
        (sent) => sent.subject === VERIFICATION_SUBJECT && (sent.destinations?.ToAddresses ?? []).includes(email),
      );
      if (mail) {
        const token = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail.body ?? "")?.[1];
        if (!token) {
          throw new Unexpected(`the verification mail to ${email} has no link with a token`);
        }
        rememberSecret(token);
        return token;
      }
    }
    if (Date.now() > deadline) {
      throw new Unexpected(`no verification mail for ${email} in moto's SES after ${MAIL_DEADLINE_MS / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function verify(email: string): Promise<void> {
  const token = await verificationToken(email);
  const profile = expect("POST /auth/verify", await api.POST("/auth/verify", { body: { token } }), 200);
  if (!profile.email_verified) {
    throw new Unexpected(`POST /auth/verify: the profile is still unverified: ${JSON.stringify(profile)}`);
  }
}

// The first listed gig, read in full for its packages.
async function browse(): Promise<Gig> {
  const page = expect("GET /gigs", await api.GET("/gigs", { params: { query: { sort: "newest", limit: 10 } } }), 200);
  const card = page.items[0];
  if (!card) {
    throw new Unexpected("GET /gigs: no listed gig to order (make dev seeds demo gigs; a test run seeds one first)");
  }
  const gig = expect(
    `GET /gigs/${card.id}`,
    await api.GET("/gigs/{id}", { params: { path: { id: card.id } } }),
    200,
  );
  if (gig.status !== "active") {
    throw new Unexpected(`GET /gigs/${card.id}: a listed gig is active, got ${gig.status}`);
  }
  return gig;
}

async function order(session: Session, gig: Gig): Promise<Order> {
  const cheapest = gig.packages.reduce((best, offer) => (offer.price_cents < best.price_cents ? offer : best));
  const placed = expect(
    "POST /orders",
    await api.POST("/orders", {
      params: { header: { "Idempotency-Key": randomUUID() } },
      headers: { Authorization: `Bearer ${session.access_token}` },
      body: {
        gig_id: gig.id,
        package: cheapest.tier,
        requirements: "A logo for a bakery, in blue.",
        expected_price_cents: cheapest.price_cents,
        currency: cheapest.currency,
      },
    }),
    201,
  );
  if (placed.status !== "awaiting_payment" || placed.gig_id !== gig.id || placed.client_id !== session.user.id) {
    throw new Unexpected(`POST /orders: an order of ${gig.id} by ${session.user.id} awaiting payment expected, got ${JSON.stringify(placed)}`);
  }
  // The browser pays with Stripe.js and this client secret; the charge is the price plus the fee.
  const payment = placed.payment;
  if (!payment?.client_secret || payment.amount_cents !== placed.client_total_cents) {
    throw new Unexpected(`POST /orders: a payment of the price plus the service fee expected, got ${JSON.stringify(payment)}`);
  }
  const mine = expect(
    "GET /orders",
    await api.GET("/orders", { headers: { Authorization: `Bearer ${session.access_token}` } }),
    200,
  );
  if (!mine.items.some((listed) => listed.id === placed.id)) {
    throw new Unexpected(`GET /orders: the new order ${placed.id} is not among the client's orders`);
  }
  return placed;
}

// Runs one step; a thrown error (an unreachable API, a body that is not JSON) is named by it.
async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error: unknown) {
    if (error instanceof Unexpected) {
      throw error;
    }
    const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : "";
    throw new Unexpected(`${name}: ${error instanceof Error ? error.message : String(error)}${cause}`);
  }
}

async function main(): Promise<void> {
  const email = `ts-client-${randomUUID()}@example.com`;
  const password = `client password ${randomUUID()}`;
  rememberSecret(password);
  const session = await step("register", () => register(email, password));
  console.log(`registered ${email} (${session.user.id})`);
  await step("verify the email", () => verify(email));
  console.log("verified the email with the mailed token");
  const gig = await step("browse", browse);
  console.log(`browsed: ${gig.title} (${gig.id}), ${gig.packages.length} package(s)`);
  const placed = await step("order", () => order(session, gig));
  console.log(
    `ordered the ${placed.package} package: order ${placed.id} is ${placed.status}, ${placed.payment?.amount_cents} ${placed.currency} cents to pay`,
  );
}

main().catch((error: unknown) => {
  console.error(`client example failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
