//! `gigctl`: the operator's command line. Everything that must never be possible through the API
//! (creating admins, blocking users) and everything the local stack needs (table, queues, verified
//! sender, demo data) lives here.

mod local_only;

use anyhow::{Context, bail};
use aws_sdk_sqs::types::QueueAttributeName;
use clap::{Parser, Subcommand};
use gigmarket_shared::aws;
use gigmarket_shared::domain::gig::{Gig, GigDraft, GigStatus};
use gigmarket_shared::domain::user::{Registration, Role, normalize_email};
use gigmarket_shared::pagination::PageRequest;
use gigmarket_shared::store::table;
use gigmarket_shared::web::AppState;
use uuid::Uuid;

#[derive(Parser)]
#[command(name = "gigctl", about = "Gigmarket operator commands")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the table (from infra/table.json), the order-events queue with its DLQ, and verify
    /// the SES sender. Idempotent. Prints the environment the functions need.
    Setup {
        #[arg(long, env = "TABLE_NAME")]
        table: String,
        #[arg(
            long,
            env = "ORDER_EVENTS_QUEUE_NAME",
            default_value = "gigmarket-order-events"
        )]
        queue: String,
        #[arg(long, env = "SENDER_EMAIL", default_value = "no-reply@gigmarket.local")]
        sender: String,
        /// Receives before a message goes to the dead-letter queue.
        #[arg(long, default_value_t = 5)]
        max_receives: u32,
    },
    /// Seed demo users and their active demo gigs (idempotent). Needs the functions'
    /// environment (TABLE_NAME, JWT keys). Refuses unless DynamoDB is local
    /// (AWS_ENDPOINT_URL_DYNAMODB on this machine): the demo password is published.
    Seed,
    /// Create an admin account. The password comes from GIGMARKET_ADMIN_PASSWORD.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, env = "GIGMARKET_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        /// Who runs this, for the audit log (default: $USER).
        #[arg(long, env = "USER")]
        operator: String,
    },
    /// Block a user, exactly as `POST /admin/users/{id}/block` does (the same use case): no more
    /// logins, refreshes or writes, their gigs leave browse and search; audited with the
    /// operator's name.
    BlockUser {
        id: Uuid,
        #[arg(long)]
        reason: String,
        /// Who runs this, for the audit log (default: $USER).
        #[arg(long, env = "USER")]
        operator: String,
    },
    /// Lift a block (as `POST /admin/users/{id}/unblock`): their active gigs are listed again.
    /// Audited with the operator's name.
    UnblockUser {
        id: Uuid,
        /// Who runs this, for the audit log (default: $USER).
        #[arg(long, env = "USER")]
        operator: String,
    },
    /// Finish the gig re-listings that a crash left half-way after a block or unblock.
    ResumeReindex,
    /// Give the users, orders and published reviews stored before the admin lists
    /// (`GET /admin/users`, `/admin/orders`, `/admin/reviews`) their list keys. A one-off
    /// migration that Scans the whole table; idempotent. Needs the functions' environment
    /// (TABLE_NAME) and Scan/UpdateItem on the table.
    BackfillAdminListKeys,
    /// Mark an account's email verified without its mailed token (support, and scripts/test.sh's
    /// fuzz users). Needs the functions' environment (TABLE_NAME).
    VerifyEmail {
        #[arg(long)]
        email: String,
    },
    /// Regenerate every copy of the route table (shared/src/routes.rs) in the repository: the
    /// `cargo lambda watch` router in Cargo.toml, infra/routes.json (the CDK app reads it) and the
    /// SAM template's HttpApi events; run from the repository root. With `--json`, only print
    /// the route table as JSON.
    Routes {
        #[arg(long)]
        json: bool,
    },
}

/// Demo accounts for local development only; the local stack prints them.
const DEMO_PASSWORD: &str = "demo-password-123";
const DEMO_USERS: &[(&str, &str, Role)] = &[
    (
        "freelancer@demo.gigmarket.local",
        "Frida Freelancer",
        Role::Freelancer,
    ),
    (
        "designer@demo.gigmarket.local",
        "Dario Designer",
        Role::Freelancer,
    ),
    ("client@demo.gigmarket.local", "Clara Client", Role::Client),
    ("admin@demo.gigmarket.local", "Ada Admin", Role::Admin),
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Setup {
            table,
            queue,
            sender,
            max_receives,
        } => setup(&table, &queue, &sender, max_receives).await,
        Command::Seed => seed().await,
        Command::CreateAdmin {
            email,
            name,
            password,
            operator,
        } => {
            gigmarket_shared::domain::audit::check_operator_name(&operator)
                .map_err(|error| to_anyhow(error.into()))?;
            let state = AppState::from_env().await?;
            let email = normalize_email(&email);
            // Same rules as self-registration, except the role.
            Registration {
                email: email.clone(),
                password: password.clone(),
                name: name.clone(),
                role: Role::Client,
            }
            .validate()
            .map_err(|error| anyhow::anyhow!("{error:?}"))?;
            let operator = gigmarket_shared::domain::audit::Actor::operator(&operator);
            let user = state
                .accounts()
                .create_admin(
                    email,
                    password,
                    name,
                    &operator,
                    time::OffsetDateTime::now_utc(),
                )
                .await
                .map_err(|error| anyhow::anyhow!("{}", error.to_problem().detail))?;
            println!(
                "created admin {} ({}), audited as operator {}",
                user.email, user.id, operator.id
            );
            Ok(())
        }
        Command::BlockUser {
            id,
            reason,
            operator,
        } => set_status(id, Some(reason), &operator).await,
        Command::UnblockUser { id, operator } => set_status(id, None, &operator).await,
        Command::ResumeReindex => resume_reindex().await,
        Command::BackfillAdminListKeys => backfill_admin_list_keys().await,
        Command::VerifyEmail { email } => verify_email(&email).await,
        Command::Routes { json } => {
            if json {
                print!("{}", gigmarket_shared::routes::routes_json());
                Ok(())
            } else {
                write_routes()
            }
        }
    }
}

async fn setup(
    table_name: &str,
    queue: &str,
    sender: &str,
    max_receives: u32,
) -> anyhow::Result<()> {
    let sdk = aws::sdk_config().await;
    let sqs = aws::sqs(&sdk);
    table::create_table(&aws::dynamodb(&sdk), table_name).await?;
    let dlq_url = create_queue(&sqs, &format!("{queue}-dlq"), None).await?;
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .context("reading DLQ ARN")?
        .attributes
        .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn).cloned())
        .context("DLQ has no ARN")?;
    let redrive =
        serde_json::json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives })
            .to_string();
    let queue_url = create_queue(&sqs, queue, Some(redrive)).await?;
    aws::ses(&sdk)
        .verify_email_identity()
        .email_address(sender)
        .send()
        .await
        .context("verifying SES sender")?;
    println!("export TABLE_NAME={table_name}");
    println!("export ORDER_EVENTS_QUEUE_URL={queue_url}");
    println!("export ORDER_EVENTS_DLQ_URL={dlq_url}");
    println!("export SENDER_EMAIL={sender}");
    Ok(())
}

async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    redrive_policy: Option<String>,
) -> anyhow::Result<String> {
    let mut request = sqs
        .create_queue()
        .queue_name(name)
        // Longer than the notifier's timeout, so a message is not handed out twice concurrently.
        .attributes(QueueAttributeName::VisibilityTimeout, "60");
    if let Some(policy) = redrive_policy {
        request = request.attributes(QueueAttributeName::RedrivePolicy, policy);
    }
    let output = request
        .send()
        .await
        .with_context(|| format!("creating queue {name}"))?;
    output.queue_url.context("queue without URL")
}

/// Demo gigs per demo freelancer: (email, [(title, category, subcategory, tags, description,
/// basic price in cents, delivery days)]). Seeded active, so `make dev` opens on a storefront.
type DemoGig = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    u64,
    u32,
);
const DEMO_GIGS: &[(&str, &[DemoGig])] = &[
    (
        "freelancer@demo.gigmarket.local",
        &[
            (
                "Rust backend API on AWS Lambda",
                "programming-tech",
                "backend",
                &["rust", "aws", "serverless"],
                "A typed, tested HTTP API in Rust with axum on Lambda and DynamoDB, with CI and docs.",
                45_000,
                10,
            ),
            (
                "DevOps review of your cloud setup",
                "programming-tech",
                "devops",
                &["aws", "terraform"],
                "I review your infrastructure, costs and alerts and hand you a prioritised fix list.",
                20_000,
                5,
            ),
            (
                "Technical blog articles about cloud",
                "writing-translation",
                "articles",
                &["blog", "cloud"],
                "Clear, accurate articles on serverless, databases and DevOps for developer audiences.",
                9_000,
                4,
            ),
        ],
    ),
    (
        "designer@demo.gigmarket.local",
        &[
            (
                "Minimalist logo design for startups",
                "graphics-design",
                "logo-design",
                &["branding", "logos"],
                "Three original logo concepts, vector files and a one-page brand sheet.",
                7_500,
                5,
            ),
            (
                "Café and restaurant menu design",
                "graphics-design",
                "brand-identity",
                &["menus", "print"],
                "Print-ready menus and table cards that match your brand, in two languages.",
                6_000,
                3,
            ),
            (
                "Landing page design in Figma",
                "graphics-design",
                "web-design",
                &["figma", "website"],
                "A responsive landing page design with desktop and mobile layouts and a style guide.",
                25_000,
                7,
            ),
        ],
    ),
];

fn demo_gig(freelancer_id: Uuid, demo: &DemoGig) -> anyhow::Result<Gig> {
    let (title, category, subcategory, tags, description, price, days) = *demo;
    let package = |tier: &str, factor: u64, extra_days: u32| {
        serde_json::json!({
            "tier": tier, "name": format!("{}{}", tier[..1].to_uppercase(), &tier[1..]),
            "description": format!("The {tier} package"), "price_cents": price * factor,
            "currency": "EUR", "delivery_days": days + extra_days,
            "revisions": if factor == 1 { serde_json::json!(1) } else { serde_json::json!("unlimited") },
            "features": ["source files"]
        })
    };
    let draft: GigDraft = serde_json::from_value(serde_json::json!({
        "title": title, "description": description, "category": category,
        "subcategory": subcategory, "tags": tags,
        "packages": [package("basic", 1, 0), package("standard", 2, 2), package("premium", 4, 4)]
    }))?;
    let content = draft
        .validate()
        .map_err(|error| anyhow::anyhow!("demo gig {title:?}: {:?}", error))?;
    Ok(Gig::new(
        freelancer_id,
        content,
        GigStatus::Active,
        time::OffsetDateTime::now_utc(),
    ))
}

async fn seed() -> anyhow::Result<()> {
    local_only::require_local_dynamodb()?;
    let state = AppState::from_env().await?;
    for (email, name, role) in DEMO_USERS {
        if state
            .store
            .credentials(email)
            .await
            .map_err(to_anyhow)?
            .is_some()
        {
            println!("exists  {role:?} {email}");
            continue;
        }
        let user = state
            .accounts()
            .create_user(
                (*email).to_owned(),
                DEMO_PASSWORD.to_owned(),
                (*name).to_owned(),
                *role,
                time::OffsetDateTime::now_utc(),
            )
            .await
            .map_err(to_anyhow)?;
        println!("created {role:?} {email} ({})", user.id);
    }
    for (email, gigs) in DEMO_GIGS {
        let freelancer_id = state
            .store
            .credentials(email)
            .await
            .map_err(to_anyhow)?
            .with_context(|| format!("demo freelancer {email} missing"))?
            .user_id;
        let first_page = PageRequest {
            limit: 1,
            after: None,
        };
        let (existing, _) = state
            .store
            .owner_gigs(freelancer_id, &first_page)
            .await
            .map_err(to_anyhow)?;
        if !existing.is_empty() {
            println!("exists  gigs of {email}");
            continue;
        }
        for demo in *gigs {
            let gig = demo_gig(freelancer_id, demo)?;
            state.store.create_gig(&gig).await.map_err(to_anyhow)?;
            println!("created gig {:?} ({})", gig.title, gig.id);
        }
    }
    println!("demo password for all of them: {DEMO_PASSWORD}");
    Ok(())
}

/// Blocks (with `reason`) or unblocks through the admin use case, as operator `operator`.
async fn set_status(id: Uuid, reason: Option<String>, operator: &str) -> anyhow::Result<()> {
    use gigmarket_shared::app::admin::users::{block_user, unblock_user};
    use gigmarket_shared::domain::audit::{Actor, ReasonBody, check_operator_name};
    check_operator_name(operator).map_err(|error| to_anyhow(error.into()))?;
    let state = AppState::from_env().await?;
    let actor = Actor::operator(operator);
    let now = time::OffsetDateTime::now_utc();
    let changed = match reason {
        Some(reason) => block_user(&state.store, &actor, id, Ok(ReasonBody { reason }), now).await,
        None => unblock_user(&state.store, &actor, id, now).await,
    }
    .map_err(to_anyhow)?;
    println!(
        "user {id} is now {:?} (audit entry {}, operator {})",
        changed.status, changed.audit_id, actor.id
    );
    Ok(())
}

async fn resume_reindex() -> anyhow::Result<()> {
    let state = AppState::from_env().await?;
    let resumed = gigmarket_shared::app::admin::users::resume_gig_reindexes(&state.store)
        .await
        .map_err(to_anyhow)?;
    println!("finished {resumed} pending gig re-listing(s)");
    Ok(())
}

async fn backfill_admin_list_keys() -> anyhow::Result<()> {
    let state = AppState::from_env().await?;
    let done = gigmarket_shared::app::admin::backfill::backfill_list_keys(&state.store)
        .await
        .map_err(to_anyhow)?;
    println!(
        "list keys written: {} user(s), {} order(s), {} review(s)",
        done.users, done.orders, done.reviews
    );
    Ok(())
}

async fn verify_email(email: &str) -> anyhow::Result<()> {
    let state = AppState::from_env().await?;
    let email = normalize_email(email);
    let Some(credentials) = state.store.credentials(&email).await.map_err(to_anyhow)? else {
        bail!("no account with email {email}");
    };
    state
        .store
        .mark_email_verified(credentials.user_id, time::OffsetDateTime::now_utc())
        .await
        .map_err(to_anyhow)?;
    println!("{email} ({}) is verified", credentials.user_id);
    Ok(())
}

fn to_anyhow(error: gigmarket_shared::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{error}")
}

/// Rewrites the generated route blocks and files (see `Command::Routes`).
fn write_routes() -> anyhow::Result<()> {
    use gigmarket_shared::routes;
    let rewrite = |path: &str, render: &dyn Fn(&str) -> String| -> anyhow::Result<()> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{path} (run from the repository root)"))?;
        let new = routes::regenerate_blocks(&text, render)
            .map_err(|error| anyhow::anyhow!("{path}: {error}"))?;
        if new != text {
            std::fs::write(path, new)?;
            println!("updated {path}");
        }
        Ok(())
    };
    rewrite("Cargo.toml", &|_| routes::watch_router_toml())?;
    rewrite("infra/template.yaml", &|function| {
        routes::sam_events_yaml(function)
    })?;
    let template = std::fs::read_to_string("infra/template.yaml")?;
    let blocks = routes::block_keys(&template);
    for function in routes::ROUTES.iter().map(|route| route.function) {
        anyhow::ensure!(
            blocks.iter().any(|key| key == function),
            "infra/template.yaml: function {function} has routes but no `# BEGIN generated routes: {function}` block under its Events"
        );
    }
    let json = routes::routes_json();
    if std::fs::read_to_string("infra/routes.json").ok().as_deref() != Some(json.as_str()) {
        std::fs::write("infra/routes.json", json)?;
        println!("updated infra/routes.json");
    }
    Ok(())
}
