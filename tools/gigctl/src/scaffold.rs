//! `gigctl scaffold <name> --kind api|event`: a new Lambda function wired into every place that
//! must know it, so adding one is this command plus its code. It writes the crate
//! (`functions/<name>`), a sample event (`events/<name>/`, listed in the samples test), the
//! function's SAM resource with its log group and alarms, its CDK entry, the tests crate's
//! dependency and, for an API function, its route in `shared/src/routes.rs` and its in-process
//! test router. The generated copies of
//! the route table are then rewritten by `gigctl routes` (the caller runs it: it needs the new
//! route table compiled in).
//!
//! Every edit is computed before any file is written, so a missing anchor leaves the tree as it
//! was. The infra tests (tests/integration/infra.rs) hold a scaffolded function to the same
//! rules as the others.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// An HTTP function behind the API: an axum router with one example route.
    Api,
    /// An event function: a handler of one trigger (an EventBridge schedule in the example).
    Event,
}

/// What a scaffold wrote, relative to the repository root.
#[derive(Debug, Default)]
pub struct Written {
    pub created: Vec<PathBuf>,
    pub edited: Vec<PathBuf>,
}

/// The example API route of a new function.
pub fn example_path(name: &str) -> String {
    format!("/{name}")
}

/// Scaffolds function `name` of `kind` in the repository at `root`.
pub fn scaffold(root: &Path, name: &str, kind: Kind, description: &str) -> anyhow::Result<Written> {
    check_name(name)?;
    ensure!(
        !root.join("functions").join(name).exists(),
        "functions/{name} already exists"
    );
    let function = Function {
        name,
        logical: pascal(name),
        description,
        kind,
    };
    let mut created = vec![
        (
            format!("functions/{name}/Cargo.toml"),
            function.cargo_toml(),
        ),
        (format!("functions/{name}/src/main.rs"), function.main_rs()),
        (format!("functions/{name}/src/lib.rs"), function.lib_rs()),
    ];
    created.push(match kind {
        Kind::Api => (
            format!("events/{name}/get-{name}.json"),
            function.http_event(),
        ),
        Kind::Event => (
            format!("events/{name}/scheduled.json"),
            function.schedule_event(),
        ),
    });

    let mut edits: Vec<(&str, Edit)> = vec![
        (
            "infra/template.yaml",
            Box::new(|text| function.edit_sam_template(text)),
        ),
        (
            "infra/cdk/lib/functions.ts",
            Box::new(|text| {
                insert_before_closing(
                    text,
                    "export const FUNCTIONS: FunctionSpec[] = [",
                    &function.cdk_entry(),
                )
            }),
        ),
        (
            "tests/Cargo.toml",
            Box::new(|text| {
                insert_after_last_line_with(
                    text,
                    "{ path = \"../functions/",
                    &format!("{name} = {{ path = \"../functions/{name}\" }}\n"),
                )
            }),
        ),
    ];
    let sample = created.last().expect("the sample event").0.clone();
    edits.push((
        "tests/integration/events.rs",
        Box::new(move |text| {
            // Samples are checked against their function; an API sample is also sent, in
            // Ann's session (`<ACCESS_TOKEN>`), and must answer 200.
            let (list, entry) = match kind {
                Kind::Api => ("const HTTP_SAMPLES: &[(&str, u16)] = &[", "200"),
                Kind::Event => (
                    "const EVENT_SAMPLES: &[(&str, &str)] = &[",
                    "\"aws.events\"",
                ),
            };
            let file = sample.trim_start_matches("events/");
            insert_before_closing(text, list, &format!("    (\"{file}\", {entry}),\n"))
        }),
    ));
    if kind == Kind::Api {
        edits.push((
            "shared/src/routes.rs",
            Box::new(|text| {
                insert_before_closing(
                    text,
                    "pub const ROUTES: &[Route] = &[",
                    &format!(
                        "    route(\"GET\", \"{}\", \"{name}\"),\n",
                        example_path(name)
                    ),
                )
            }),
        ));
        edits.push((
            "tests/src/lib.rs",
            Box::new(|text| {
                insert_before_closing_with(
                    text,
                    "let routers = HashMap::from([",
                    "        ]);",
                    &format!("            (\"{name}\", ::{name}::router(state.clone())),\n"),
                )
            }),
        ));
    }

    let mut edited = Vec::new();
    for (relative, edit) in &edits {
        let path = root.join(relative);
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {relative}"))?;
        let new = edit(&text).with_context(|| format!("editing {relative}"))?;
        edited.push((relative.to_string(), new));
    }
    let mut written = Written::default();
    for (relative, text) in created {
        let path = root.join(&relative);
        std::fs::create_dir_all(path.parent().expect("a file in a directory"))?;
        std::fs::write(&path, text).with_context(|| format!("writing {relative}"))?;
        written.created.push(relative.into());
    }
    for (relative, text) in edited {
        std::fs::write(root.join(&relative), text)
            .with_context(|| format!("writing {relative}"))?;
        written.edited.push(relative.into());
    }
    Ok(written)
}

/// A change to one file's text, or why the file does not fit.
type Edit<'a> = Box<dyn Fn(&str) -> anyhow::Result<String> + 'a>;

/// A crate, binary and Rust identifier at once, and part of resource names: lower-case ASCII
/// letters and digits, starting with a letter.
fn check_name(name: &str) -> anyhow::Result<()> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|first| first.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !valid || name.len() > 30 {
        bail!(
            "{name:?}: a function name is 1 to 30 lower-case letters and digits, starting with a letter"
        );
    }
    Ok(())
}

/// `invoices` -> `Invoices`: the prefix of its logical ids in the SAM template.
fn pascal(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// `text` with `insertion` placed before the `]` line that closes the list opened on the line
/// containing `opening`.
fn insert_before_closing(text: &str, opening: &str, insertion: &str) -> anyhow::Result<String> {
    insert_before_closing_with(text, opening, "];", insertion)
}

/// `text` with `insertion` placed before the first line equal to `closing` after `opening`.
fn insert_before_closing_with(
    text: &str,
    opening: &str,
    closing: &str,
    insertion: &str,
) -> anyhow::Result<String> {
    let start = text
        .find(opening)
        .with_context(|| format!("no `{opening}`"))?;
    let mut offset = start;
    for line in text[start..].split_inclusive('\n') {
        if line.trim_end() == closing {
            return Ok(format!("{}{insertion}{}", &text[..offset], &text[offset..]));
        }
        offset += line.len();
    }
    bail!("`{opening}` is not closed by a `{closing}` line")
}

/// `text` with `insertion` placed after the last line containing `marker`.
fn insert_after_last_line_with(
    text: &str,
    marker: &str,
    insertion: &str,
) -> anyhow::Result<String> {
    let at = text
        .rfind(marker)
        .with_context(|| format!("no line with `{marker}`"))?;
    let end = text[at..].find('\n').map_or(text.len(), |end| at + end + 1);
    Ok(format!("{}{insertion}{}", &text[..end], &text[end..]))
}

/// `text` with `insertion` placed before the line starting with `anchor`.
fn insert_before_line(text: &str, anchor: &str, insertion: &str) -> anyhow::Result<String> {
    let at = text
        .find(&format!("\n{anchor}"))
        .with_context(|| format!("no line `{anchor}`"))?
        + 1;
    Ok(format!("{}{insertion}{}", &text[..at], &text[at..]))
}

struct Function<'a> {
    name: &'a str,
    logical: String,
    description: &'a str,
    kind: Kind,
}

impl Function<'_> {
    fn cargo_toml(&self) -> String {
        let dependencies = match self.kind {
            Kind::Api => {
                "gigmarket-shared = { workspace = true, features = [\"web\", \"jwt-secret\"] }\n\
                 lambda_http.workspace = true\n\
                 axum.workspace = true\n\
                 tokio.workspace = true\n\
                 serde.workspace = true\n\
                 uuid.workspace = true\n"
            }
            Kind::Event => {
                "gigmarket-shared.workspace = true\n\
                 lambda_runtime.workspace = true\n\
                 serde_json.workspace = true\n\
                 time.workspace = true\n\
                 tokio.workspace = true\n\
                 tracing.workspace = true\n"
            }
        };
        format!(
            "[package]\n\
             name = \"{name}\"\n\
             version = \"0.1.0\"\n\
             edition.workspace = true\n\
             rust-version.workspace = true\n\
             license.workspace = true\n\
             publish.workspace = true\n\
             description = {description}\n\
             \n\
             [dependencies]\n\
             {dependencies}",
            name = self.name,
            description = quoted(self.description),
        )
    }

    fn main_rs(&self) -> String {
        let name = self.name;
        match self.kind {
            Kind::Api => format!(
                r#"// One request at a time per instance (Lambda's model): a single-threaded runtime serves it
// without handing work between threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {{
    gigmarket_shared::web::serve({name}::router).await
}}
"#
            ),
            Kind::Event => format!(
                r#"use gigmarket_shared::aws;
use gigmarket_shared::config::Config;
use gigmarket_shared::store::Store;
use gigmarket_shared::telemetry;
use lambda_runtime::{{LambdaEvent, service_fn}};

// One invocation at a time per instance (Lambda's model): a single-threaded runtime serves it
// without handing work between threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {{
    telemetry::init();
    let config = Config::from_env()?;
    let store = Store::new(
        aws::dynamodb(&aws::sdk_config().await),
        config.table_name.clone(),
    );
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {{
        let store = &store;
        async move {{
            {name}::on_schedule(store, &event.payload, time::OffsetDateTime::now_utc()).await
        }}
    }}))
    .await
}}
"#
            ),
        }
    }

    fn lib_rs(&self) -> String {
        let (name, description) = (self.name, self.description);
        let path = example_path(name);
        match self.kind {
            Kind::Api => format!(
                r#"//! `{name}`: {description}. Handlers parse and authenticate; the use cases in
//! `gigmarket_shared::app` decide.

use axum::Router;
use axum::response::Json;
use axum::routing::get;
use gigmarket_shared::ApiResult;
use gigmarket_shared::domain::user::Caller;
use gigmarket_shared::web::{{self, AppState}};
use serde::Serialize;
use uuid::Uuid;

/// Every route of this function; each is also a line of `shared/src/routes.rs`.
pub fn router(state: AppState) -> Router {{
    let routes = Router::new().route("{path}", get(caller));
    web::api(routes, state)
}}

#[derive(Debug, Serialize)]
struct CallerView {{
    user_id: Uuid,
}}

/// The example route: who is calling (a request without a valid token is refused before it).
async fn caller(caller: Caller) -> ApiResult<Json<CallerView>> {{
    Ok(Json(CallerView {{ user_id: caller.id }}))
}}
"#
            ),
            Kind::Event => format!(
                r#"//! `{name}` (EventBridge schedule): {description}. The invocation checks its trigger;
//! the work is `run`, a function of (store, now) that tests call directly.

use gigmarket_shared::ApiError;
use gigmarket_shared::triggers;
use gigmarket_shared::store::Store;
use lambda_runtime::Diagnostic;
use time::OffsetDateTime;

/// The invocation: a run as of `now` when the payload is what the schedule's EventBridge rule
/// sends; any other payload is refused as the invocation's error (`WrongTrigger`).
pub async fn on_schedule(
    store: &Store,
    payload: &serde_json::Value,
    now: OffsetDateTime,
) -> Result<(), Diagnostic> {{
    triggers::scheduled_event(payload)?;
    run(store, now)
        .await
        .map_err(|error| lambda_runtime::Error::from(error).into())
}}

/// One run as of `now`.
pub async fn run(_store: &Store, now: OffsetDateTime) -> Result<(), ApiError> {{
    tracing::info!(at = %now, "{name} ran");
    Ok(())
}}
"#
            ),
        }
    }

    /// A `GET` of the example route as API Gateway (HTTP API, payload v2) sends it, in the field
    /// order of the other samples.
    fn http_event(&self) -> String {
        let path = example_path(self.name);
        format!(
            r#"{{
  "version": "2.0",
  "routeKey": "GET {path}",
  "rawPath": "{path}",
  "rawQueryString": "",
  "headers": {{
    "host": "api.example.com",
    "user-agent": "curl/8.5.0",
    "accept": "application/json",
    "authorization": "Bearer <ACCESS_TOKEN>"
  }},
  "requestContext": {{
    "accountId": "123456789012",
    "apiId": "abcdef1234",
    "domainName": "abcdef1234.execute-api.eu-west-1.amazonaws.com",
    "domainPrefix": "abcdef1234",
    "http": {{
      "method": "GET",
      "path": "{path}",
      "protocol": "HTTP/1.1",
      "sourceIp": "203.0.113.7",
      "userAgent": "curl/8.5.0"
    }},
    "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    "routeKey": "GET {path}",
    "stage": "$default",
    "time": "25/Nov/2026:09:00:00 +0000",
    "timeEpoch": 1795683600000
  }},
  "isBase64Encoded": false
}}
"#
        )
    }

    /// What the schedule's EventBridge rule sends.
    fn schedule_event(&self) -> String {
        format!(
            r#"{{
  "version": "0",
  "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
  "detail-type": "Scheduled Event",
  "source": "aws.events",
  "account": "123456789012",
  "time": "2026-11-25T12:00:00Z",
  "region": "us-east-1",
  "resources": [
    "arn:aws:events:us-east-1:123456789012:rule/gigmarket-{name}"
  ],
  "detail": {{}}
}}
"#,
            name = self.name
        )
    }

    /// The function resource, its log group and its two alarms, each where its kind sits.
    fn edit_sam_template(&self, text: &str) -> anyhow::Result<String> {
        let text = insert_before_line(
            text,
            "  # ---------------------------------------------------------------- data",
            &self.sam_function(),
        )?;
        let text = insert_before_line(&text, "  ApiAccessLogs:", &self.sam_log_group())?;
        insert_before_line(
            &text,
            "  # ---------------------------------------------------------------- JWT keyset",
            &self.sam_alarms(),
        )
    }

    fn sam_function(&self) -> String {
        let (name, logical) = (self.name, &self.logical);
        let description = quoted(self.description);
        match self.kind {
            Kind::Api => format!(
                r#"  {logical}Function:
    Type: AWS::Serverless::Function
    DependsOn: JwtKeyset
    Metadata:
      BuildMethod: rust-cargolambda
    Properties:
      CodeUri: ../functions/{name}
      LoggingConfig:
        LogGroup: !Ref {logical}LogGroup
      Description: {description}
      Policies:
        - Statement:
            # Table access: add a `Table` statement (and `TableIndexes` for Query on the GSIs)
            # with exactly the actions and leading keys its code calls, the same as its entry
            # in infra/cdk/lib/functions.ts.
            - Sid: JwtKeys
              Effect: Allow
              Action: secretsmanager:GetSecretValue
              Resource: !Ref JwtKeysSecret
      Events:
        # BEGIN generated routes: {name} (`cargo run -p gigctl -- routes`, from shared/src/routes.rs)
        # END generated routes: {name}

"#
            ),
            Kind::Event => format!(
                r#"  {logical}Function:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
    Properties:
      CodeUri: ../functions/{name}
      LoggingConfig:
        LogGroup: !Ref {logical}LogGroup
      Description: {description}
      # Table access: add `Policies` with a `Table` statement (and `TableIndexes` for Query on
      # the GSIs) with exactly what its code calls, the same as in infra/cdk/lib/functions.ts.
      Events:
        Hourly:
          Type: Schedule
          Properties:
            Schedule: rate(1 hour)

"#
            ),
        }
    }

    fn sam_log_group(&self) -> String {
        format!(
            "  {logical}LogGroup:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      \
             LogGroupName: !Sub /aws/lambda/${{AWS::StackName}}-{name}\n      \
             RetentionInDays: !Ref LogRetentionDays\n",
            logical = self.logical,
            name = self.name
        )
    }

    fn sam_alarms(&self) -> String {
        let alarm = |metric: &str, what: &str| {
            format!(
                r#"  {logical}{metric}Alarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription: {name} function {what}
      Namespace: AWS/Lambda
      MetricName: {metric}
      Dimensions: [{{Name: FunctionName, Value: !Ref {logical}Function}}]
      Statistic: Sum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
      AlarmActions: [!Ref AlarmTopic]
"#,
                logical = self.logical,
                name = self.name
            )
        };
        alarm("Errors", "errors") + &alarm("Throttles", "throttles") + "\n"
    }

    fn cdk_entry(&self) -> String {
        let (name, description) = (self.name, quoted(self.description));
        let rest = match self.kind {
            Kind::Api => "    // Table access: add `table` (and `queriesIndexes`) with exactly what its code calls, the\n    \
                          // same as in infra/template.yaml.\n    \
                          readsJwtKeys: true,\n"
                .to_owned(),
            Kind::Event => "    // Table access: add `table` (and `queriesIndexes`) with exactly what its code calls, the\n    \
                            // same as in infra/template.yaml.\n    \
                            trigger: { kind: 'schedule', expression: 'rate(1 hour)' },\n"
                .to_owned(),
        };
        format!("  {{\n    name: '{name}',\n    description: {description},\n{rest}  }},\n")
    }
}

/// A double-quoted string that TOML, YAML and TypeScript all read the same.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The files a scaffold edits, copied from this repository into a fresh directory.
    fn copy_of_the_edited_files() -> PathBuf {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let root = std::env::temp_dir().join(format!("gigctl-scaffold-{}", uuid::Uuid::new_v4()));
        for relative in [
            "infra/template.yaml",
            "infra/cdk/lib/functions.ts",
            "tests/Cargo.toml",
            "tests/src/lib.rs",
            "tests/integration/events.rs",
            "shared/src/routes.rs",
        ] {
            let to = root.join(relative);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(repo.join(relative), to).unwrap();
        }
        root
    }

    fn read(root: &Path, relative: &str) -> String {
        std::fs::read_to_string(root.join(relative)).unwrap()
    }

    #[test]
    fn an_api_function_is_wired_everywhere() {
        let root = copy_of_the_edited_files();
        let written = scaffold(&root, "invoices", Kind::Api, "Sends invoices").unwrap();
        assert_eq!(written.created.len(), 4);
        assert_eq!(written.edited.len(), 6);

        let manifest = manifest(&root, "invoices");
        assert_eq!(manifest["package"]["name"].as_str(), Some("invoices"));
        assert_eq!(
            manifest["package"]["description"].as_str(),
            Some("Sends invoices")
        );
        assert!(manifest["dependencies"].get("lambda_http").is_some());
        assert!(
            read(&root, "functions/invoices/src/main.rs")
                .contains("gigmarket_shared::web::serve(invoices::router)")
        );
        assert!(
            read(&root, "functions/invoices/src/lib.rs").contains(".route(\"/invoices\", get(")
        );

        let routes = read(&root, "shared/src/routes.rs");
        assert!(routes.contains("    route(\"GET\", \"/invoices\", \"invoices\"),\n];"));
        let tests_lib = read(&root, "tests/src/lib.rs");
        assert!(tests_lib.contains(
            "            (\"invoices\", ::invoices::router(state.clone())),\n        ]);"
        ));
        let tests_manifest: toml::Table = read(&root, "tests/Cargo.toml").parse().unwrap();
        assert_eq!(
            tests_manifest["dependencies"]["invoices"]["path"].as_str(),
            Some("../functions/invoices")
        );
        assert!(
            read(&root, "infra/cdk/lib/functions.ts")
                .contains("    name: 'invoices',\n    description: \"Sends invoices\",")
        );

        let template = sam(&root);
        let function = check_function_resources(&template, "invoices");
        assert_eq!(function["DependsOn"], "JwtKeyset");
        assert!(
            read(&root, "infra/template.yaml").contains(
                "        # BEGIN generated routes: invoices (`cargo run -p gigctl -- routes`"
            ),
            "gigctl routes fills in the route events"
        );
        assert_eq!(
            sample(&root, "events/invoices/get-invoices.json")["routeKey"],
            "GET /invoices"
        );
        assert!(
            read(&root, "tests/integration/events.rs")
                .contains("    (\"invoices/get-invoices.json\", 200),\n];")
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn an_event_function_is_wired_without_routes() {
        let root = copy_of_the_edited_files();
        let routes_before = read(&root, "shared/src/routes.rs");
        let tests_lib_before = read(&root, "tests/src/lib.rs");
        let written = scaffold(&root, "reminders", Kind::Event, "Reminds people").unwrap();
        assert_eq!(written.edited.len(), 4);
        assert_eq!(read(&root, "shared/src/routes.rs"), routes_before);
        assert_eq!(read(&root, "tests/src/lib.rs"), tests_lib_before);

        assert!(
            manifest(&root, "reminders")["dependencies"]
                .get("lambda_runtime")
                .is_some()
        );
        assert!(
            read(&root, "functions/reminders/src/lib.rs").contains("triggers::scheduled_event")
        );
        let template = sam(&root);
        let function = check_function_resources(&template, "reminders");
        assert_eq!(
            function["Properties"]["Events"]["Hourly"]["Type"],
            "Schedule"
        );
        assert!(function.get("DependsOn").is_none(), "reads no JWT keys");
        assert!(
            read(&root, "infra/cdk/lib/functions.ts")
                .contains("trigger: { kind: 'schedule', expression: 'rate(1 hour)' },\n  },\n];")
        );
        assert_eq!(
            sample(&root, "events/reminders/scheduled.json")["detail-type"],
            "Scheduled Event"
        );
        assert!(
            read(&root, "tests/integration/events.rs")
                .contains("    (\"reminders/scheduled.json\", \"aws.events\"),\n];")
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn names_and_existing_functions_are_refused_before_anything_is_written() {
        let root = copy_of_the_edited_files();
        for bad in ["", "Invoices", "pay-outs", "9lives", "a_b"] {
            assert!(scaffold(&root, bad, Kind::Api, "x").is_err(), "{bad:?}");
        }
        std::fs::create_dir_all(root.join("functions/invoices")).unwrap();
        assert!(scaffold(&root, "invoices", Kind::Api, "x").is_err());
        // A file without its anchor: nothing is written at all.
        std::fs::write(root.join("infra/cdk/lib/functions.ts"), "// no list\n").unwrap();
        let template = read(&root, "infra/template.yaml");
        assert!(scaffold(&root, "reminders", Kind::Event, "x").is_err());
        assert!(!root.join("functions/reminders").exists());
        assert_eq!(read(&root, "infra/template.yaml"), template);
        std::fs::remove_dir_all(root).unwrap();
    }

    fn sam(root: &Path) -> serde_json::Value {
        let yaml: serde_norway::Value =
            serde_norway::from_str(&read(root, "infra/template.yaml")).expect("template is YAML");
        serde_json::to_value(yaml).unwrap()
    }

    fn manifest(root: &Path, name: &str) -> toml::Table {
        read(root, &format!("functions/{name}/Cargo.toml"))
            .parse()
            .expect("Cargo.toml is TOML")
    }

    fn sample(root: &Path, relative: &str) -> serde_json::Value {
        serde_json::from_str(&read(root, relative)).expect("the sample is JSON")
    }

    /// The function's SAM resource, after checking it builds its crate and has its log group
    /// and alarms as every function does.
    fn check_function_resources<'a>(
        template: &'a serde_json::Value,
        name: &str,
    ) -> &'a serde_json::Value {
        let logical = pascal(name);
        let resources = &template["Resources"];
        let function = &resources[format!("{logical}Function")];
        assert_eq!(
            function["Properties"]["CodeUri"],
            format!("../functions/{name}")
        );
        assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
        assert_eq!(
            resources[format!("{logical}Function")]["Properties"]["LoggingConfig"]["LogGroup"],
            serde_json::json!({"!Ref": format!("{logical}LogGroup")})
        );
        assert_eq!(
            resources[format!("{logical}LogGroup")]["Type"],
            "AWS::Logs::LogGroup"
        );
        for metric in ["Errors", "Throttles"] {
            let alarm = &resources[format!("{logical}{metric}Alarm")]["Properties"];
            assert_eq!(alarm["MetricName"], metric);
            assert_eq!(
                alarm["Dimensions"][0]["Value"],
                serde_json::json!({"!Ref": format!("{logical}Function")})
            );
        }
        function
    }
}
