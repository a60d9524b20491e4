//! One source of truth for the deployable infra: the SAM template (`infra/template.yaml`) and the
//! CDK app's synth output (`infra/cdk/cdk.out`, written by `make test` before the tests run) must
//! deploy exactly the route table (`shared::routes::ROUTES`), one function per crate in
//! `functions/`, and the table in `infra/table.json` (which local tables are created from too:
//! the last test creates one in DynamoDB Local and compares).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use gigmarket_shared::routes::{ROUTES, routes_json};
use serde_json::{Value, json};

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo(relative)).unwrap_or_else(|error| panic!("{relative}: {error}"))
}

/// The SAM template as JSON; a short-form intrinsic like `!Ref X` becomes `{"!Ref": "X"}`.
fn sam_template() -> Value {
    let yaml: serde_norway::Value =
        serde_norway::from_str(&read("infra/template.yaml")).expect("template.yaml is YAML");
    serde_json::to_value(yaml).expect("template as JSON")
}

const CDK_STACK: &str = "Gigmarket-dev";

/// The CDK synth output for the dev stage. `make test` synthesises it first (offline, without
/// building the functions); by hand: `cd infra/cdk && npm run synth:offline`.
fn cdk_template(stack: &str) -> Value {
    let relative = format!("infra/cdk/cdk.out/{stack}.template.json");
    let text = std::fs::read_to_string(repo(&relative)).unwrap_or_else(|error| {
        panic!("{relative}: {error}; synthesise it with `cd infra/cdk && npm run synth:offline` (make test does)")
    });
    serde_json::from_str(&text).expect("synth output is JSON")
}

fn resources_of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    template["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, resource)| resource["Type"] == kind)
        .collect()
}

fn function_crates() -> BTreeSet<String> {
    std::fs::read_dir(repo("functions"))
        .expect("functions/")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            path.join("Cargo.toml")
                .exists()
                .then(|| path.file_name()?.to_str().map(str::to_owned))?
        })
        .collect()
}

fn route_table() -> BTreeSet<(String, String, String)> {
    ROUTES
        .iter()
        .map(|route| {
            (
                route.method.to_owned(),
                route.path.to_owned(),
                route.function.to_owned(),
            )
        })
        .collect()
}

/// A table's definition in one comparable shape, from CloudFormation properties.
fn canonical_cfn_table(properties: &Value) -> Value {
    let mut attributes = properties["AttributeDefinitions"]
        .as_array()
        .expect("AttributeDefinitions")
        .clone();
    attributes.sort_by_key(|attribute| attribute["AttributeName"].to_string());
    let mut indexes: Vec<Value> = properties["GlobalSecondaryIndexes"]
        .as_array()
        .expect("GlobalSecondaryIndexes")
        .iter()
        .map(|index| {
            json!({
                "IndexName": index["IndexName"],
                "KeySchema": index["KeySchema"],
                "Projection": index["Projection"],
            })
        })
        .collect();
    indexes.sort_by_key(|index| index["IndexName"].to_string());
    json!({
        "AttributeDefinitions": attributes,
        "KeySchema": properties["KeySchema"],
        "GlobalSecondaryIndexes": indexes,
        "BillingMode": properties["BillingMode"],
        "StreamViewType": properties["StreamSpecification"]["StreamViewType"],
        "TimeToLive": properties["TimeToLiveSpecification"],
    })
}

/// infra/table.json in the same shape as `canonical_cfn_table`.
fn canonical_table_json() -> Value {
    let definition: Value = serde_json::from_str(&read("infra/table.json")).expect("table.json");
    assert_eq!(
        definition["StreamSpecification"]["StreamEnabled"], true,
        "the dispatcher needs the stream"
    );
    let mut properties = definition.clone();
    properties["TimeToLiveSpecification"] =
        json!({"AttributeName": definition["TimeToLiveAttribute"], "Enabled": true});
    canonical_cfn_table(&properties)
}

fn only_table(template: &Value) -> &Value {
    let tables = resources_of_type(template, "AWS::DynamoDB::Table");
    assert_eq!(tables.len(), 1, "exactly one table: {tables:?}");
    &tables[0].1["Properties"]
}

#[test]
fn routes_json_is_generated_from_the_route_table() {
    assert_eq!(
        read("infra/routes.json"),
        routes_json(),
        "infra/routes.json is stale: regenerate it with `cargo run -p gigctl -- routes --json > infra/routes.json`"
    );
}

#[test]
fn sam_deploys_one_rust_function_per_crate() {
    let template = sam_template();
    assert_eq!(
        template["Globals"]["Function"]["Runtime"],
        "provided.al2023"
    );
    assert_eq!(
        template["Globals"]["Function"]["Architectures"],
        json!(["arm64"])
    );
    let mut deployed = BTreeSet::new();
    for (id, function) in resources_of_type(&template, "AWS::Serverless::Function") {
        assert_eq!(
            function["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{id}"
        );
        let code_uri = function["Properties"]["CodeUri"].as_str().expect("CodeUri");
        let name = code_uri
            .strip_prefix("../functions/")
            .unwrap_or_else(|| panic!("{id}: CodeUri {code_uri} is not ../functions/<crate>"));
        assert!(deployed.insert(name.to_owned()), "{name} deployed twice");
    }
    assert_eq!(
        deployed,
        function_crates(),
        "infra/template.yaml must have one AWS::Serverless::Function per crate in functions/"
    );
}

#[test]
fn sam_http_api_serves_exactly_the_route_table() {
    let template = sam_template();
    let mut served = BTreeSet::new();
    for (id, function) in resources_of_type(&template, "AWS::Serverless::Function") {
        let code_uri = function["Properties"]["CodeUri"]
            .as_str()
            .unwrap_or_default();
        let name = code_uri.trim_start_matches("../functions/");
        let Some(events) = function["Properties"]["Events"].as_object() else {
            continue;
        };
        for (event_id, event) in events {
            if event["Type"] != "HttpApi" {
                continue;
            }
            let properties = &event["Properties"];
            assert_eq!(
                properties["ApiId"],
                json!({"!Ref": "HttpApi"}),
                "{id}.{event_id}: every route is on the one HttpApi"
            );
            let route = (
                properties["Method"].as_str().expect("Method").to_owned(),
                properties["Path"].as_str().expect("Path").to_owned(),
                name.to_owned(),
            );
            assert!(served.insert(route.clone()), "{route:?} twice");
        }
    }
    assert_eq!(
        served,
        route_table(),
        "infra/template.yaml HttpApi events differ from shared/src/routes.rs"
    );
}

#[test]
fn sam_table_is_infra_table_json() {
    let template = sam_template();
    assert_eq!(
        canonical_cfn_table(only_table(&template)),
        canonical_table_json()
    );
}

#[test]
fn cdk_deploys_one_rust_function_per_crate() {
    let template = cdk_template(CDK_STACK);
    let deployed: BTreeSet<String> = resources_of_type(&template, "AWS::Lambda::Function")
        .into_iter()
        .filter(|(_, function)| function["Properties"]["Runtime"] == "provided.al2023")
        .map(|(id, function)| {
            assert_eq!(
                function["Properties"]["Architectures"],
                json!(["arm64"]),
                "{id}"
            );
            function_tag(function).unwrap_or_else(|| panic!("{id} has no gigmarket:function tag"))
        })
        .collect();
    assert_eq!(deployed, function_crates());
}

fn function_tag(resource: &Value) -> Option<String> {
    resource["Properties"]["Tags"]
        .as_array()?
        .iter()
        .find(|tag| tag["Key"] == "gigmarket:function")
        .and_then(|tag| tag["Value"].as_str())
        .map(str::to_owned)
}

#[test]
fn cdk_http_api_serves_exactly_the_route_table() {
    let template = cdk_template(CDK_STACK);
    let resources = &template["Resources"];
    let mut served = BTreeSet::new();
    for (id, route) in resources_of_type(&template, "AWS::ApiGatewayV2::Route") {
        let key = route["Properties"]["RouteKey"].as_str().expect("RouteKey");
        let (method, path) = key.split_once(' ').expect("METHOD /path");
        // Target: {"Fn::Join": ["", ["integrations/", {"Ref": <integration>}]]}
        let integration_id = route["Properties"]["Target"]["Fn::Join"][1][1]["Ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: unexpected Target"));
        let integration = &resources[integration_id]["Properties"];
        assert_eq!(integration["IntegrationType"], "AWS_PROXY");
        assert_eq!(integration["PayloadFormatVersion"], "2.0");
        let function_id = integration["IntegrationUri"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap_or_else(|| panic!("{integration_id}: unexpected IntegrationUri"));
        let function = function_tag(&resources[function_id]).expect("function tag");
        assert!(served.insert((method.to_owned(), path.to_owned(), function)));
    }
    assert_eq!(served, route_table());
}

#[test]
fn cdk_table_is_infra_table_json() {
    let template = cdk_template(CDK_STACK);
    assert_eq!(
        canonical_cfn_table(only_table(&template)),
        canonical_table_json()
    );
}

/// Every IAM statement in a template, wherever it sits (SAM `Policies`, IAM roles and policies).
fn statements(value: &Value, found: &mut Vec<Value>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(list)) = map.get("Statement") {
                found.extend(list.iter().cloned());
            }
            map.values().for_each(|child| statements(child, found));
        }
        Value::Array(list) => list.iter().for_each(|child| statements(child, found)),
        _ => {}
    }
}

fn as_list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(list) => list.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

#[test]
fn no_statement_grants_dynamodb_on_every_resource() {
    for (name, template) in [
        ("infra/template.yaml", sam_template()),
        ("CDK synth", cdk_template(CDK_STACK)),
    ] {
        let mut found = Vec::new();
        statements(&template, &mut found);
        // ListStreams has no resource-level permissions (IAM needs `*`), and names no table: the
        // stream event source asks for it.
        let dynamodb: Vec<&Value> = found
            .iter()
            .filter(|statement| {
                as_list(&statement["Action"]).iter().any(|action| {
                    action.as_str().is_some_and(|action| {
                        action.starts_with("dynamodb:") && action != "dynamodb:ListStreams"
                    })
                })
            })
            .collect();
        assert!(!dynamodb.is_empty(), "{name}: no DynamoDB statements found");
        for statement in dynamodb {
            for action in as_list(&statement["Action"]) {
                assert!(
                    !action.as_str().unwrap_or_default().contains('*'),
                    "{name}: wildcard action in {statement}"
                );
            }
            for resource in as_list(&statement["Resource"]) {
                assert_ne!(resource, json!("*"), "{name}: `*` resource in {statement}");
            }
        }
    }
}

#[test]
fn keyset_initialiser_is_one_piece_of_code() {
    let source = read("infra/jwt-keyset/index.py");
    let sam = sam_template();
    assert_eq!(
        sam["Resources"]["JwtKeysetInitFunction"]["Properties"]["Code"]["ZipFile"],
        json!(source),
        "infra/template.yaml's JwtKeysetInitFunction must inline infra/jwt-keyset/index.py"
    );
    let cdk = cdk_template(CDK_STACK);
    let inline: Vec<_> = resources_of_type(&cdk, "AWS::Lambda::Function")
        .into_iter()
        .filter(|(_, function)| function["Properties"]["Code"]["ZipFile"] == json!(source))
        .collect();
    assert_eq!(
        inline.len(),
        1,
        "the CDK app inlines infra/jwt-keyset/index.py"
    );
}

/// The order-events queue redrives to its DLQ after as many receives as `gigctl setup` uses locally.
#[test]
fn order_events_queue_redrives_to_its_dlq() {
    let sam = sam_template();
    let redrive = &sam["Resources"]["OrderEventsQueue"]["Properties"]["RedrivePolicy"];
    assert_eq!(redrive["maxReceiveCount"], 5);
    assert_eq!(
        redrive["deadLetterTargetArn"],
        json!({"!GetAtt": "OrderEventsDlq.Arn"})
    );
    let cdk = cdk_template(CDK_STACK);
    let redrives: Vec<&Value> = resources_of_type(&cdk, "AWS::SQS::Queue")
        .into_iter()
        .filter_map(|(_, queue)| queue["Properties"].get("RedrivePolicy"))
        .collect();
    assert_eq!(redrives.len(), 1, "one queue with a DLQ: {redrives:?}");
    assert_eq!(redrives[0]["maxReceiveCount"], 5);
}

/// SAM functions by crate name.
fn sam_functions(template: &Value) -> BTreeMap<String, &Value> {
    resources_of_type(template, "AWS::Serverless::Function")
        .into_iter()
        .map(|(id, function)| {
            let code_uri = function["Properties"]["CodeUri"].as_str().expect("CodeUri");
            let name = code_uri
                .strip_prefix("../functions/")
                .unwrap_or_else(|| panic!("{id}: CodeUri {code_uri}"));
            (name.to_owned(), function)
        })
        .collect()
}

/// CDK Rust functions by crate name (their `gigmarket:function` tag), with their logical ids.
fn cdk_functions(template: &Value) -> BTreeMap<String, (&String, &Value)> {
    resources_of_type(template, "AWS::Lambda::Function")
        .into_iter()
        .filter_map(|(id, function)| function_tag(function).map(|name| (name, (id, function))))
        .collect()
}

/// The statement with `sid` among `found`, if any.
fn statement_with_sid<'a>(found: &'a [Value], sid: &str) -> Option<&'a Value> {
    found.iter().find(|statement| statement["Sid"] == sid)
}

fn action_set(statement: Option<&Value>) -> BTreeSet<String> {
    statement
        .map(|statement| {
            as_list(&statement["Action"])
                .iter()
                .map(|action| action.as_str().expect("action").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The statements of a SAM function's inline `Policies`.
fn sam_statements(function: &Value) -> Vec<Value> {
    let mut found = Vec::new();
    statements(&function["Properties"]["Policies"], &mut found);
    found
}

/// The statements of the IAM policies attached to a CDK function's role.
fn cdk_statements(template: &Value, function: &Value) -> Vec<Value> {
    let role = &function["Properties"]["Role"]["Fn::GetAtt"][0];
    let mut found = Vec::new();
    for (_, policy) in resources_of_type(template, "AWS::IAM::Policy") {
        if as_list(&policy["Properties"]["Roles"]).contains(&json!({"Ref": role})) {
            statements(&policy["Properties"]["PolicyDocument"], &mut found);
        }
    }
    found
}

/// Both deployments give each function the same table actions and the same JWT keyset access,
/// and only the API functions (the ones with routes) read the keyset.
#[test]
fn sam_and_cdk_grant_each_function_the_same_access() {
    let sam = sam_template();
    let cdk = cdk_template(CDK_STACK);
    let sam_functions = sam_functions(&sam);
    let cdk_functions = cdk_functions(&cdk);
    let api_functions: BTreeSet<&str> = ROUTES.iter().map(|route| route.function).collect();
    for name in function_crates() {
        let sam_found = sam_statements(sam_functions[&name]);
        let cdk_found = cdk_statements(&cdk, cdk_functions[&name].1);
        let sam_table = statement_with_sid(&sam_found, "Table");
        let cdk_table = statement_with_sid(&cdk_found, "Table");
        assert_eq!(
            action_set(sam_table),
            action_set(cdk_table),
            "{name}: table actions differ between infra/template.yaml and infra/cdk/lib/functions.ts"
        );
        // Index ARNs in both or in neither.
        let on_indexes = |statement: Option<&Value>| {
            statement
                .is_some_and(|statement| statement["Resource"].to_string().contains("/index/*"))
        };
        assert_eq!(
            on_indexes(sam_table),
            on_indexes(cdk_table),
            "{name}: index resources"
        );
        let queries = action_set(sam_table).contains("dynamodb:Query");
        assert_eq!(
            on_indexes(sam_table),
            queries,
            "{name}: Query goes with the index ARNs"
        );
        let reads_keys = api_functions.contains(name.as_str());
        for (deployment, found) in [("SAM", &sam_found), ("CDK", &cdk_found)] {
            assert_eq!(
                statement_with_sid(found, "JwtKeys").is_some(),
                reads_keys,
                "{deployment} {name}: only API functions read the JWT keyset"
            );
        }
    }
}

/// The stream trigger of the dispatcher, the queue trigger of the notifier and the scheduler's
/// schedule, in both deployments.
#[test]
fn event_driven_functions_are_wired_in_sam_and_cdk() {
    use gigmarket_shared::store::entity;
    let only_order_items = json!({"dynamodb": {"NewImage": {"entity": {"S": [entity::ORDER]}}}});
    let check_stream = |deployment: &str, stream: &Value, failure_destination: &Value| {
        assert_eq!(stream["BisectBatchOnFunctionError"], true, "{deployment}");
        assert_eq!(stream["MaximumRetryAttempts"], 5, "{deployment}");
        assert_eq!(
            stream["FunctionResponseTypes"],
            json!(["ReportBatchItemFailures"]),
            "{deployment}"
        );
        assert_eq!(
            failure_destination,
            &json!("StreamFailuresDlq"),
            "{deployment}: failed batches go to the stream DLQ"
        );
        let filters: Vec<Value> = stream["FilterCriteria"]["Filters"]
            .as_array()
            .expect("filters")
            .iter()
            .map(|filter| serde_json::from_str(filter["Pattern"].as_str().unwrap()).unwrap())
            .collect();
        assert_eq!(
            filters,
            vec![only_order_items.clone()],
            "{deployment}: the dispatcher sees order items only"
        );
    };

    // SAM
    let sam = sam_template();
    let functions = sam_functions(&sam);
    let event_of = |name: &str, kind: &str| -> Value {
        let events = functions[name]["Properties"]["Events"]
            .as_object()
            .unwrap_or_else(|| panic!("{name} has no events"));
        let found: Vec<&Value> = events
            .values()
            .filter(|event| event["Type"] == kind)
            .collect();
        assert_eq!(found.len(), 1, "{name}: one {kind} event: {events:?}");
        found[0]["Properties"].clone()
    };
    let stream = event_of("dispatcher", "DynamoDB");
    assert_eq!(stream["Stream"], json!({"!GetAtt": "Table.StreamArn"}));
    let destination = stream["DestinationConfig"]["OnFailure"]["Destination"]["!GetAtt"]
        .as_str()
        .and_then(|target| target.strip_suffix(".Arn"))
        .map(|queue| json!(queue))
        .unwrap_or_default();
    check_stream("SAM", &stream, &destination);
    let queue = event_of("notifier", "SQS");
    assert_eq!(queue["Queue"], json!({"!GetAtt": "OrderEventsQueue.Arn"}));
    assert_eq!(
        queue["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(
        event_of("scheduler", "Schedule")["Schedule"],
        "rate(15 minutes)"
    );
    let dispatcher_statements = sam_statements(functions["dispatcher"]);
    let send = statement_with_sid(&dispatcher_statements, "OrderEvents").expect("dispatcher sends");
    assert_eq!(send["Action"], "sqs:SendMessage");
    assert_eq!(send["Resource"], json!({"!GetAtt": "OrderEventsQueue.Arn"}));
    assert_eq!(
        functions["notifier"]["Properties"]["Policies"]
            .as_array()
            .expect("policies")
            .iter()
            .filter(|policy| **policy == json!({"!Ref": "SendOrderEmailPolicy"}))
            .count(),
        1,
        "the notifier may send mail"
    );

    // CDK
    let cdk = cdk_template(CDK_STACK);
    let resources = &cdk["Resources"];
    let mappings = resources_of_type(&cdk, "AWS::Lambda::EventSourceMapping");
    let mapping_of = |name: &str| {
        let found: Vec<&Value> = mappings
            .iter()
            .filter(|(_, mapping)| function_tag(mapping).as_deref() == Some(name))
            .map(|(_, mapping)| &mapping["Properties"])
            .collect();
        assert_eq!(found.len(), 1, "{name}: one event source");
        found[0]
    };
    let logical_type = |reference: &Value| -> String {
        let id = reference["Fn::GetAtt"][0].as_str().unwrap_or_default();
        resources[id]["Type"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let stream = mapping_of("dispatcher");
    assert_eq!(
        stream["EventSourceArn"]["Fn::GetAtt"],
        json!(["Table", "StreamArn"])
    );
    let destination = stream["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        .as_str()
        .filter(|id| id.starts_with("StreamFailuresDlq"))
        .map(|_| json!("StreamFailuresDlq"))
        .unwrap_or_default();
    check_stream("CDK", stream, &destination);
    let queue = mapping_of("notifier");
    assert_eq!(logical_type(&queue["EventSourceArn"]), "AWS::SQS::Queue");
    assert!(
        queue["EventSourceArn"]["Fn::GetAtt"][0]
            .as_str()
            .is_some_and(|id| id.starts_with("OrderEventsQueue"))
    );
    assert_eq!(
        queue["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    let scheduler_id = cdk_functions(&cdk)["scheduler"].0.clone();
    let rules = resources_of_type(&cdk, "AWS::Events::Rule");
    assert!(
        rules.iter().any(|(_, rule)| {
            rule["Properties"]["ScheduleExpression"] == "rate(15 minutes)"
                && rule["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0] == json!(scheduler_id)
        }),
        "the scheduler runs every 15 minutes"
    );
    let functions = cdk_functions(&cdk);
    let dispatcher_statements = cdk_statements(&cdk, functions["dispatcher"].1);
    let send = statement_with_sid(&dispatcher_statements, "OrderEvents").expect("dispatcher sends");
    assert_eq!(send["Action"], "sqs:SendMessage");
    let notifier_role = &functions["notifier"].1["Properties"]["Role"]["Fn::GetAtt"][0];
    let notifier_policies =
        &resources[notifier_role.as_str().unwrap()]["Properties"]["ManagedPolicyArns"];
    assert!(
        as_list(notifier_policies).iter().any(|policy| policy["Ref"]
            .as_str()
            .is_some_and(|id| id.starts_with("SendOrderEmailPolicy"))),
        "the notifier may send mail: {notifier_policies}"
    );
}

/// A notifier invocation ends before its messages become visible again and before its mail claims
/// may be taken over, so a live send is never duplicated by a redelivery.
#[test]
fn notifier_times_out_before_redelivery_and_claim_takeover() {
    let sam = sam_template();
    let timeout = sam_functions(&sam)["notifier"]["Properties"]["Timeout"]
        .as_i64()
        .or_else(|| sam["Globals"]["Function"]["Timeout"].as_i64())
        .expect("timeout");
    let visibility = sam["Resources"]["OrderEventsQueue"]["Properties"]["VisibilityTimeout"]
        .as_i64()
        .expect("visibility timeout");
    assert!(timeout * 6 <= visibility, "AWS: visibility >= 6 x timeout");
    assert!(timeout < notifier::MAIL_CLAIM_LEASE_SECS);
    let cdk = cdk_template(CDK_STACK);
    let cdk_timeout = cdk_functions(&cdk)["notifier"].1["Properties"]["Timeout"].clone();
    assert_eq!(cdk_timeout, json!(timeout), "CDK and SAM agree");
    let cdk_visibility: Vec<Value> = resources_of_type(&cdk, "AWS::SQS::Queue")
        .into_iter()
        .filter(|(_, queue)| queue["Properties"].get("RedrivePolicy").is_some())
        .map(|(_, queue)| queue["Properties"]["VisibilityTimeout"].clone())
        .collect();
    assert_eq!(cdk_visibility, vec![json!(visibility)]);
}

/// `gigctl setup` and the test harness create tables with `store::table::create_table`: what
/// DynamoDB Local then describes is infra/table.json too.
#[tokio::test]
async fn a_locally_created_table_is_infra_table_json() {
    use gigmarket_shared::aws;
    use gigmarket_shared::store::table;
    gigmarket_tests::require_stack();
    let dynamodb = aws::dynamodb(&aws::sdk_config().await);
    let name = format!("infra-{}", uuid::Uuid::new_v4().simple());
    table::create_table(&dynamodb, &name).await.expect("create");
    let described = dynamodb
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .expect("describe")
        .table
        .expect("table");
    let ttl = dynamodb
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .expect("describe TTL")
        .time_to_live_description
        .expect("TTL");
    table::delete_table(&dynamodb, &name).await.expect("delete");
    let keys = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Value {
        schema
            .iter()
            .map(|key| json!({"AttributeName": key.attribute_name(), "KeyType": key.key_type().as_str()}))
            .collect()
    };
    let properties = json!({
        "AttributeDefinitions": described.attribute_definitions().iter().map(|attribute| json!({
            "AttributeName": attribute.attribute_name(),
            "AttributeType": attribute.attribute_type().as_str(),
        })).collect::<Vec<_>>(),
        "KeySchema": keys(described.key_schema()),
        "GlobalSecondaryIndexes": described.global_secondary_indexes().iter().map(|index| json!({
            "IndexName": index.index_name(),
            "KeySchema": keys(index.key_schema()),
            "Projection": {"ProjectionType": index.projection().and_then(|p| p.projection_type()).map(|t| t.as_str())},
        })).collect::<Vec<_>>(),
        "BillingMode": described.billing_mode_summary().and_then(|b| b.billing_mode()).map(|m| m.as_str()),
        "StreamSpecification": {
            "StreamViewType": described.stream_specification().and_then(|s| s.stream_view_type()).map(|v| v.as_str()),
        },
        "TimeToLiveSpecification": {
            "AttributeName": ttl.attribute_name(),
            "Enabled": ttl.time_to_live_status().map(|status| status.as_str()) == Some("ENABLED"),
        },
    });
    assert_eq!(canonical_cfn_table(&properties), canonical_table_json());
}
