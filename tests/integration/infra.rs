//! One source of truth for the deployable infra: the SAM template (`infra/template.yaml`) and the
//! CDK app's synth output (`infra/cdk/cdk.out`, written by `make test` before the tests run) must
//! deploy exactly the route table (`shared::routes::ROUTES`), one function per crate in
//! `functions/`, and the table in `infra/table.json` (which local tables are created from too:
//! the last test creates one in DynamoDB Local and compares).

use std::collections::{BTreeMap, BTreeSet};

use gigmarket_shared::routes::{ROUTES, routes_json};
use gigmarket_tests::{function_crates, repo_path as repo};
use serde_json::{Value, json};

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

/// Whether an `ApiId` (`{"Ref": <api>}`) names an HTTP API (not the WebSocket API).
fn is_http_api(resources: &Value, api_id: &Value) -> bool {
    referenced_id(api_id)
        .is_some_and(|api| resources[api.as_str()]["Properties"]["ProtocolType"] == "HTTP")
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
        // The WebSocket API's routes: `websocket_api_is_the_same_in_sam_and_cdk`.
        if !is_http_api(resources, &route["Properties"]["ApiId"]) {
            continue;
        }
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

/// The order-events and search index queues redrive to their DLQs after as many receives as
/// `gigctl setup` uses locally.
#[test]
fn queues_redrive_to_their_dlqs() {
    let sam = sam_template();
    for (queue, dlq) in [
        ("OrderEventsQueue", "OrderEventsDlq"),
        ("SearchIndexQueue", "SearchIndexDlq"),
    ] {
        let redrive = &sam["Resources"][queue]["Properties"]["RedrivePolicy"];
        assert_eq!(redrive["maxReceiveCount"], 5, "{queue}");
        assert_eq!(
            redrive["deadLetterTargetArn"],
            json!({"!GetAtt": format!("{dlq}.Arn")}),
            "{queue}"
        );
    }
    let cdk = cdk_template(CDK_STACK);
    let mut redrives: Vec<(String, String)> = resources_of_type(&cdk, "AWS::SQS::Queue")
        .into_iter()
        .filter_map(|(id, queue)| {
            let redrive = queue["Properties"].get("RedrivePolicy")?;
            assert_eq!(redrive["maxReceiveCount"], 5, "{id}");
            let dlq = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0].as_str()?;
            Some((id.to_owned(), dlq.to_owned()))
        })
        .collect();
    redrives.sort();
    assert_eq!(redrives.len(), 2, "two queues with a DLQ: {redrives:?}");
    assert!(
        redrives[0].0.starts_with("OrderEventsQueue")
            && redrives[0].1.starts_with("OrderEventsDlq")
    );
    assert!(
        redrives[1].0.starts_with("SearchIndexQueue")
            && redrives[1].1.starts_with("SearchIndexDlq")
    );
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

/// Both deployments give each function the same table access (actions, leading keys, index
/// queries) and the same JWT keyset access, and only the API functions (the ones with routes)
/// read the keyset. Whether that access is the right one is tests/permissions.rs's job: it
/// checks both against the calls each function made in a `make test` run.
#[test]
fn sam_and_cdk_grant_each_function_the_same_access() {
    let sam = sam_template();
    let cdk = cdk_template(CDK_STACK);
    let sam_functions = sam_functions(&sam);
    let cdk_functions = cdk_functions(&cdk);
    let api_functions: BTreeSet<&str> = ROUTES.iter().map(|route| route.function).collect();
    let leading_keys = |statement: Option<&Value>| -> BTreeSet<String> {
        statement
            .map(|statement| {
                as_list(&statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"])
                    .iter()
                    .map(|key| key.as_str().expect("pattern").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    for name in function_crates() {
        let sam_found = sam_statements(sam_functions[&name]);
        let cdk_found = cdk_statements(&cdk, cdk_functions[&name].1);
        for sid in ["Table", "TableIndexes"] {
            let (sam_statement, cdk_statement) = (
                statement_with_sid(&sam_found, sid),
                statement_with_sid(&cdk_found, sid),
            );
            assert_eq!(
                action_set(sam_statement),
                action_set(cdk_statement),
                "{name}: {sid} actions differ between infra/template.yaml and infra/cdk/lib/functions.ts"
            );
            assert_eq!(
                leading_keys(sam_statement),
                leading_keys(cdk_statement),
                "{name}: {sid} dynamodb:LeadingKeys differ"
            );
            // The table ARN alone, or the index ARNs alone.
            for (deployment, statement) in [("SAM", sam_statement), ("CDK", cdk_statement)] {
                if let Some(statement) = statement {
                    let resources = as_list(&statement["Resource"]);
                    assert_eq!(
                        resources.len(),
                        1,
                        "{deployment} {name} {sid}: {resources:?}"
                    );
                    assert_eq!(
                        resources[0].to_string().contains("/index/*"),
                        sid == "TableIndexes",
                        "{deployment} {name} {sid}: {resources:?}"
                    );
                }
            }
        }
        let reads_keys = api_functions.contains(name.as_str());
        for (deployment, found) in [("SAM", &sam_found), ("CDK", &cdk_found)] {
            assert_eq!(
                statement_with_sid(found, "JwtKeys").is_some(),
                reads_keys,
                "{deployment} {name}: only API functions read the JWT keyset"
            );
            // The private keys: auth alone may read them, so no other function's code or role
            // can mint a token.
            let signing = found
                .iter()
                .filter(|statement| statement.to_string().contains("JwtSigningKeysSecret"))
                .collect::<Vec<_>>();
            assert_eq!(
                !signing.is_empty(),
                name == "auth",
                "{deployment} {name}: only auth reads the JWT signing keyset: {signing:?}"
            );
            if name == "auth" {
                let statement = statement_with_sid(found, "JwtSigningKeys")
                    .unwrap_or_else(|| panic!("{deployment} auth: no JwtSigningKeys statement"));
                assert_eq!(
                    statement["Action"], "secretsmanager:GetSecretValue",
                    "{deployment}"
                );
            }
        }
    }
}

/// The stream trigger of the dispatcher, the queue triggers of the notifier and the indexer, and
/// the scheduler's and the indexer's schedules, in both deployments.
#[test]
fn event_driven_functions_are_wired_in_sam_and_cdk() {
    use gigmarket_shared::store::entity;
    let only_order_items = json!({"dynamodb": {"NewImage": {"entity": {"S": [entity::ORDER, entity::REVIEW, entity::MESSAGE, entity::DISPUTE]}}}});
    let gigs = json!({"dynamodb": {"NewImage": {"entity": {"S": [entity::GIG]}}}});
    let cleared_earnings = json!({"dynamodb": {
        "NewImage": {"entity": {"S": [entity::EARNING]}, "status": {"S": ["available"]}},
        "OldImage": {"status": {"S": ["pending"]}}
    }});
    let settled_withdrawals = json!({"dynamodb": {"NewImage": {"entity": {"S": [entity::WITHDRAWAL]}, "gsi3pk": {"S": [{"exists": false}]}}}});
    let issued_admin_refunds = json!({"dynamodb": {
        "NewImage": {"entity": {"S": [entity::ADMIN_REFUND]}, "status": {"S": ["pending", "succeeded"]}},
        "OldImage": {"status": {"S": ["requested"]}}
    }});
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
            vec![
                only_order_items.clone(),
                gigs.clone(),
                cleared_earnings.clone(),
                settled_withdrawals.clone(),
                issued_admin_refunds.clone()
            ],
            "{deployment}: the dispatcher sees order, review, message, dispute and gig items, \
             cleared earnings, settled withdrawals and issued admin refunds only"
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
    let hints = event_of("indexer", "SQS");
    assert_eq!(hints["Queue"], json!({"!GetAtt": "SearchIndexQueue.Arn"}));
    assert_eq!(
        hints["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(event_of("indexer", "Schedule")["Schedule"], "rate(1 hour)");
    assert_eq!(
        functions["indexer"]["Properties"]["ReservedConcurrentExecutions"], 1,
        "one index writer"
    );
    let dispatcher_statements = sam_statements(functions["dispatcher"]);
    let send = statement_with_sid(&dispatcher_statements, "OrderEvents").expect("dispatcher sends");
    assert_eq!(send["Action"], "sqs:SendMessage");
    assert_eq!(send["Resource"], json!({"!GetAtt": "OrderEventsQueue.Arn"}));
    let hint =
        statement_with_sid(&dispatcher_statements, "SearchIndexHints").expect("dispatcher hints");
    assert_eq!(hint["Action"], "sqs:SendMessage");
    assert_eq!(hint["Resource"], json!({"!GetAtt": "SearchIndexQueue.Arn"}));
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
    let hints = mapping_of("indexer");
    assert!(
        hints["EventSourceArn"]["Fn::GetAtt"][0]
            .as_str()
            .is_some_and(|id| id.starts_with("SearchIndexQueue"))
    );
    assert_eq!(
        hints["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    let functions = cdk_functions(&cdk);
    let indexer_id = functions["indexer"].0.clone();
    assert!(
        rules.iter().any(|(_, rule)| {
            rule["Properties"]["ScheduleExpression"] == "rate(1 hour)"
                && rule["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0] == json!(indexer_id)
        }),
        "the index is rebuilt hourly"
    );
    assert_eq!(
        functions["indexer"].1["Properties"]["ReservedConcurrentExecutions"], 1,
        "one index writer"
    );
    let dispatcher_statements = cdk_statements(&cdk, functions["dispatcher"].1);
    let send = statement_with_sid(&dispatcher_statements, "OrderEvents").expect("dispatcher sends");
    assert_eq!(send["Action"], "sqs:SendMessage");
    let hint =
        statement_with_sid(&dispatcher_statements, "SearchIndexHints").expect("dispatcher hints");
    assert_eq!(hint["Action"], "sqs:SendMessage");
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
        .filter(|(id, _)| id.starts_with("OrderEventsQueue"))
        .map(|(_, queue)| queue["Properties"]["VisibilityTimeout"].clone())
        .collect();
    assert_eq!(cdk_visibility, vec![json!(visibility)]);
}

/// An indexer batch is done (or given up) before its hints become visible again.
#[test]
fn indexer_times_out_before_redelivery() {
    let sam = sam_template();
    let timeout = sam_functions(&sam)["indexer"]["Properties"]["Timeout"]
        .as_i64()
        .expect("the indexer's timeout");
    let visibility = sam["Resources"]["SearchIndexQueue"]["Properties"]["VisibilityTimeout"]
        .as_i64()
        .expect("visibility timeout");
    assert!(timeout * 6 <= visibility, "AWS: visibility >= 6 x timeout");
    let cdk = cdk_template(CDK_STACK);
    assert_eq!(
        cdk_functions(&cdk)["indexer"].1["Properties"]["Timeout"],
        json!(timeout),
        "CDK and SAM agree"
    );
    let cdk_visibility: Vec<Value> = resources_of_type(&cdk, "AWS::SQS::Queue")
        .into_iter()
        .filter(|(id, _)| id.starts_with("SearchIndexQueue"))
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

// ------------------------------------------------------------------ generated routes

/// The SAM template's HttpApi events are generated from the route table (`cargo run -p gigctl --
/// routes` rewrites the marked block under each API function's `Events`).
#[test]
fn sam_route_events_are_generated_from_the_route_table() {
    use gigmarket_shared::routes::{block_keys, regenerate_blocks, sam_events_yaml};
    let text = read("infra/template.yaml");
    let keys = block_keys(&text);
    for route in ROUTES {
        assert!(
            keys.iter().any(|key| key == route.function),
            "infra/template.yaml: {} has routes but no `# BEGIN generated routes: {}` block",
            route.function,
            route.function
        );
    }
    assert!(
        regenerate_blocks(&text, sam_events_yaml).expect("well-formed blocks") == text,
        "infra/template.yaml's HttpApi events are stale: run `cargo run -p gigctl -- routes`"
    );
}

// ------------------------------------------------------------------ operations

/// A logical id's target, SAM (`{"!Ref": id}`, `{"!GetAtt": "id.Attr"}`) or CDK (`{"Ref": id}`,
/// `{"Fn::GetAtt": [id, attr]}`).
fn referenced_id(value: &Value) -> Option<String> {
    value["!Ref"]
        .as_str()
        .or_else(|| value["Ref"].as_str())
        .or_else(|| {
            value["!GetAtt"]
                .as_str()
                .and_then(|target| target.split('.').next())
        })
        .or_else(|| value["Fn::GetAtt"][0].as_str())
        .map(str::to_owned)
}

/// Logical id -> crate name of each Rust function, in either template.
fn function_ids(template: &Value) -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    for (id, function) in resources_of_type(template, "AWS::Serverless::Function") {
        if let Some(name) = function["Properties"]["CodeUri"]
            .as_str()
            .and_then(|uri| uri.strip_prefix("../functions/"))
        {
            ids.insert(id.clone(), name.to_owned());
        }
    }
    for (id, function) in resources_of_type(template, "AWS::Lambda::Function") {
        if let Some(name) = function_tag(function) {
            ids.insert(id.clone(), name);
        }
    }
    ids
}

/// Every alarm as (namespace, metric, what it watches), after checking it fires on any datum
/// and notifies the one topic that AlarmEmail subscribes to.
fn alarms(deployment: &str, template: &Value) -> BTreeSet<(String, String, String)> {
    let functions = function_ids(template);
    let topics = resources_of_type(template, "AWS::SNS::Topic");
    assert_eq!(topics.len(), 1, "{deployment}: one alarm topic");
    let topic = topics[0].0.clone();
    let subscriptions = resources_of_type(template, "AWS::SNS::Subscription");
    assert!(
        subscriptions.iter().any(|(_, subscription)| {
            let properties = &subscription["Properties"];
            properties["Protocol"] == "email"
                && referenced_id(&properties["Endpoint"]).as_deref() == Some("AlarmEmail")
                && referenced_id(&properties["TopicArn"]).as_deref() == Some(topic.as_str())
        }),
        "{deployment}: AlarmEmail subscribes to the alarm topic"
    );
    let mut found = BTreeSet::new();
    for (id, alarm) in resources_of_type(template, "AWS::CloudWatch::Alarm") {
        let properties = &alarm["Properties"];
        assert_eq!(
            properties["ComparisonOperator"], "GreaterThanThreshold",
            "{deployment} {id}"
        );
        assert_eq!(properties["EvaluationPeriods"], 1, "{deployment} {id}");
        // The index lag (indexer, EMF milliseconds): its p99 over a quarter hour above a minute.
        // Every other alarm fires on anything in five minutes.
        if properties["MetricName"] == gigmarket_shared::emf::SEARCH_INDEX_LAG {
            assert_eq!(properties["Threshold"], 60_000, "{deployment} {id}");
            assert_eq!(properties["Period"], 900, "{deployment} {id}");
            assert_eq!(properties["ExtendedStatistic"], "p99", "{deployment} {id}");
        } else {
            assert_eq!(properties["Threshold"], 0, "{deployment} {id}");
            assert_eq!(properties["Period"], 300, "{deployment} {id}");
        }
        assert_eq!(
            properties["TreatMissingData"], "notBreaching",
            "{deployment} {id}"
        );
        let actions = as_list(&properties["AlarmActions"]);
        assert_eq!(actions.len(), 1, "{deployment} {id}");
        assert_eq!(
            referenced_id(&actions[0]).as_deref(),
            Some(topic.as_str()),
            "{deployment} {id}: notifies the alarm topic"
        );
        let dimensions = as_list(&properties["Dimensions"]);
        // A business metric (EMF, shared/src/emf.rs): the stage's namespace, no dimensions.
        if dimensions.is_empty() {
            let namespace = properties["Namespace"].to_string();
            assert!(
                namespace.contains("Gigmarket/"),
                "{deployment} {id}: {namespace}"
            );
            found.insert((
                "Gigmarket/<stage>".to_owned(),
                properties["MetricName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                "metric".to_owned(),
            ));
            continue;
        }
        assert_eq!(dimensions.len(), 1, "{deployment} {id}: {dimensions:?}");
        let target = referenced_id(&dimensions[0]["Value"]).unwrap_or_default();
        let watched = match dimensions[0]["Name"].as_str().unwrap_or_default() {
            "FunctionName" => format!("function {}", functions[&target]),
            "QueueName" => {
                let queue = ["OrderEventsDlq", "StreamFailuresDlq", "SearchIndexDlq"]
                    .into_iter()
                    .find(|queue| target.starts_with(queue))
                    .unwrap_or_else(|| panic!("{deployment} {id}: queue {target}"));
                format!("queue {queue}")
            }
            "ApiId" => {
                assert!(target.starts_with("HttpApi"), "{deployment} {id}: {target}");
                "api".to_owned()
            }
            other => panic!("{deployment} {id}: dimension {other}"),
        };
        found.insert((
            properties["Namespace"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            properties["MetricName"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            watched,
        ));
    }
    found
}

/// Both deployments alarm on any message in either DLQ, any error or throttle of any function,
/// any API 5xx, any failed push and any refused Stripe signature, to the topic AlarmEmail
/// subscribes to.
#[test]
fn sam_and_cdk_have_the_same_alarms() {
    let mut expected: BTreeSet<(String, String, String)> = BTreeSet::new();
    let entry = |namespace: &str, metric: &str, watched: String| {
        (namespace.to_owned(), metric.to_owned(), watched)
    };
    for name in function_crates() {
        for metric in ["Errors", "Throttles"] {
            expected.insert(entry("AWS/Lambda", metric, format!("function {name}")));
        }
    }
    for queue in ["OrderEventsDlq", "StreamFailuresDlq", "SearchIndexDlq"] {
        expected.insert(entry(
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            format!("queue {queue}"),
        ));
    }
    expected.insert(entry("AWS/ApiGateway", "5xx", "api".to_owned()));
    // A push to a live connection failed (realtime, EMF `PushFailures`); a Stripe delivery's
    // signature did not verify (payments, EMF `WebhookSignatureFailures`).
    // The search index: `search` kept an older version (EMF `SearchIndexRefreshFailures`), and
    // the indexer's lag (EMF `SearchIndexLag`).
    for metric in [
        gigmarket_shared::emf::PUSH_FAILURES,
        gigmarket_shared::emf::WEBHOOK_SIGNATURE_FAILURES,
        gigmarket_shared::emf::SEARCH_INDEX_REFRESH_FAILURES,
        gigmarket_shared::emf::SEARCH_INDEX_LAG,
    ] {
        expected.insert(entry("Gigmarket/<stage>", metric, "metric".to_owned()));
    }
    assert_eq!(alarms("SAM", &sam_template()), expected, "SAM alarms");
    assert_eq!(
        alarms("CDK", &cdk_template(CDK_STACK)),
        expected,
        "CDK alarms"
    );
}

/// The parameters both deployments take, with their defaults: logs, alarms, CORS, the table.
#[test]
fn sam_and_cdk_take_the_same_operations_parameters() {
    let sam = sam_template();
    let cdk = cdk_template(CDK_STACK);
    for name in [
        "LogLevel",
        "LogRetentionDays",
        "AlarmEmail",
        "CorsAllowedOrigins",
        "TableDeletionProtection",
        "FilesRetentionDays",
    ] {
        let (sam_parameter, cdk_parameter) = (&sam["Parameters"][name], &cdk["Parameters"][name]);
        assert!(sam_parameter.is_object(), "SAM parameter {name}");
        for field in ["Type", "Default", "AllowedValues", "AllowedPattern"] {
            // CloudFormation takes numbers as strings or numbers alike.
            let normalise = |value: &Value| match value {
                Value::Array(list) => list
                    .iter()
                    .map(|item| item.to_string().replace('"', ""))
                    .collect::<Vec<_>>()
                    .into(),
                other => json!(other.to_string().replace('"', "")),
            };
            assert_eq!(
                normalise(&sam_parameter[field]),
                normalise(&cdk_parameter[field]),
                "{name}.{field} differs between SAM and CDK"
            );
        }
    }
    assert_eq!(sam["Parameters"]["LogRetentionDays"]["Default"], 30);
    assert_eq!(
        sam["Parameters"]["TableDeletionProtection"]["Default"],
        "true"
    );
    let levels = as_list(&sam["Parameters"]["LogLevel"]["AllowedValues"]);
    assert!(
        !levels.contains(&json!("TRACE")),
        "TRACE would log payloads"
    );
}

/// Every function logs JSON into a log group of its own with the retention parameter, and the
/// API writes an access log (the same line in both) into one too.
#[test]
fn sam_and_cdk_keep_logs_with_retention() {
    let retention_of = |template: &Value, reference: &Value, what: &str| {
        let id = referenced_id(reference).unwrap_or_else(|| panic!("{what}: {reference}"));
        let group = &template["Resources"][&id];
        assert_eq!(group["Type"], "AWS::Logs::LogGroup", "{what}: {id}");
        referenced_id(&group["Properties"]["RetentionInDays"])
    };
    // SAM: LoggingConfig merges the Globals (format, levels) with each function's log group.
    let sam = sam_template();
    let globals = &sam["Globals"]["Function"]["LoggingConfig"];
    assert_eq!(globals["LogFormat"], "JSON");
    assert_eq!(globals["ApplicationLogLevel"], json!({"!Ref": "LogLevel"}));
    for (name, function) in sam_functions(&sam) {
        let group = &function["Properties"]["LoggingConfig"]["LogGroup"];
        assert_eq!(
            retention_of(&sam, group, &name).as_deref(),
            Some("LogRetentionDays"),
            "SAM {name}"
        );
    }
    let sam_api = &sam["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"];
    assert_eq!(
        retention_of(&sam, &sam_api["DestinationArn"], "SAM API").as_deref(),
        Some("LogRetentionDays")
    );
    // CDK
    let cdk = cdk_template(CDK_STACK);
    for (name, (_, function)) in cdk_functions(&cdk) {
        let config = &function["Properties"]["LoggingConfig"];
        assert_eq!(config["LogFormat"], "JSON", "CDK {name}");
        assert_eq!(config["ApplicationLogLevel"], json!({"Ref": "LogLevel"}));
        assert_eq!(
            retention_of(&cdk, &config["LogGroup"], &name).as_deref(),
            Some("LogRetentionDays"),
            "CDK {name}"
        );
    }
    let stages: Vec<_> = resources_of_type(&cdk, "AWS::ApiGatewayV2::Stage")
        .into_iter()
        .filter(|(_, stage)| is_http_api(&cdk["Resources"], &stage["Properties"]["ApiId"]))
        .collect();
    assert_eq!(stages.len(), 1);
    let cdk_api = &stages[0].1["Properties"]["AccessLogSettings"];
    assert_eq!(
        retention_of(&cdk, &cdk_api["DestinationArn"], "CDK API").as_deref(),
        Some("LogRetentionDays")
    );
    let format = |settings: &Value| -> Value {
        serde_json::from_str(settings["Format"].as_str().expect("Format")).expect("a JSON line")
    };
    let line = format(sam_api);
    assert_eq!(line, format(cdk_api), "the same access log line");
    assert_eq!(line["requestId"], "$context.requestId");
}

/// X-Ray on every function (HTTP APIs can not trace themselves: docs/operations.md).
#[test]
fn sam_and_cdk_trace_every_function() {
    let sam = sam_template();
    assert_eq!(sam["Globals"]["Function"]["Tracing"], "Active");
    for (name, function) in sam_functions(&sam) {
        assert!(
            function["Properties"].get("Tracing").is_none(),
            "SAM {name} overrides tracing"
        );
    }
    let cdk = cdk_template(CDK_STACK);
    for (name, (_, function)) in cdk_functions(&cdk) {
        assert_eq!(
            function["Properties"]["TracingConfig"]["Mode"], "Active",
            "CDK {name}"
        );
    }
}

/// The same CORS rules on the API, the origins from the CorsAllowedOrigins parameter.
#[test]
fn sam_and_cdk_apis_allow_the_same_cors() {
    let canonical = |cors: &Value| -> Value {
        let lower = |field: &str| -> BTreeSet<String> {
            as_list(&cors[field])
                .iter()
                .map(|value| value.as_str().unwrap_or_default().to_ascii_lowercase())
                .collect()
        };
        json!({
            "origins": referenced_id(&cors["AllowOrigins"]),
            "methods": lower("AllowMethods"),
            "headers": lower("AllowHeaders"),
            "expose": lower("ExposeHeaders"),
            "max_age": cors["MaxAge"],
        })
    };
    let sam = sam_template();
    let sam_cors = canonical(&sam["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]);
    let cdk = cdk_template(CDK_STACK);
    let apis: Vec<_> = resources_of_type(&cdk, "AWS::ApiGatewayV2::Api")
        .into_iter()
        .filter(|(_, api)| api["Properties"]["ProtocolType"] == "HTTP")
        .collect();
    assert_eq!(apis.len(), 1);
    let cdk_cors = canonical(&apis[0].1["Properties"]["CorsConfiguration"]);
    assert_eq!(sam_cors, cdk_cors);
    assert_eq!(sam_cors["origins"], "CorsAllowedOrigins");
    // What browsers need for this API: bearer tokens, JSON bodies, idempotency and ETags.
    for header in [
        "authorization",
        "content-type",
        "idempotency-key",
        "if-match",
    ] {
        assert!(
            sam_cors["headers"]
                .as_array()
                .unwrap()
                .contains(&json!(header))
        );
    }
}

/// The table is retained on stack deletion and protected from deletion unless the parameter
/// says otherwise, in both.
#[test]
fn sam_and_cdk_protect_the_table() {
    let sam = sam_template();
    let cdk = cdk_template(CDK_STACK);
    for (deployment, template) in [("SAM", &sam), ("CDK", &cdk)] {
        let tables = resources_of_type(template, "AWS::DynamoDB::Table");
        let table = tables[0].1;
        assert_eq!(table["DeletionPolicy"], "Retain", "{deployment}");
        let protection = table["Properties"]["DeletionProtectionEnabled"].to_string();
        assert!(
            protection.contains("ProtectTable") && protection.contains("true"),
            "{deployment}: DeletionProtectionEnabled follows the ProtectTable condition: {protection}"
        );
        let condition = template["Conditions"]["ProtectTable"].to_string();
        assert!(
            condition.contains("TableDeletionProtection"),
            "{deployment}: {condition}"
        );
    }
}

/// The WebSocket API, in each template: its route selection, its routes (which are two-way),
/// that each integrates with `realtime`, and its stage.
fn websocket_api(template: &Value) -> Value {
    let apis: Vec<_> = resources_of_type(template, "AWS::ApiGatewayV2::Api")
        .into_iter()
        .filter(|(_, api)| api["Properties"]["ProtocolType"] == "WEBSOCKET")
        .collect();
    assert_eq!(apis.len(), 1, "one WebSocket API");
    let (api_id, api) = &apis[0];
    let of_api = |resource: &Value| {
        referenced_id(&resource["Properties"]["ApiId"]).as_deref() == Some(api_id.as_str())
    };
    let mut routes = BTreeMap::new();
    for (_, route) in resources_of_type(template, "AWS::ApiGatewayV2::Route") {
        if !of_api(route) {
            continue;
        }
        let key = route["Properties"]["RouteKey"].as_str().expect("RouteKey");
        let two_way = route["Properties"]["RouteResponseSelectionExpression"] == "$default";
        routes.insert(key.to_owned(), two_way);
    }
    // CDK makes an integration per route, SAM one for all: the same function either way.
    let integrations: BTreeSet<String> =
        resources_of_type(template, "AWS::ApiGatewayV2::Integration")
            .into_iter()
            .filter(|(_, integration)| of_api(integration))
            .map(|(_, integration)| {
                let uri = integration["Properties"]["IntegrationUri"].to_string();
                assert!(uri.contains("RealtimeFunction"), "{uri}");
                integration["Properties"]["IntegrationType"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
    let stages: Vec<_> = resources_of_type(template, "AWS::ApiGatewayV2::Stage")
        .into_iter()
        .filter(|(_, stage)| of_api(stage))
        .map(|(_, stage)| {
            json!({
                "name": stage["Properties"]["StageName"],
                "auto_deploy": stage["Properties"]["AutoDeploy"],
                "access_log": socket_access_log(template, stage),
            })
        })
        .collect();
    json!({
        "selection": api["Properties"]["RouteSelectionExpression"],
        "routes": routes,
        "integration_types": integrations,
        "stages": stages,
    })
}

/// A WebSocket stage's access log: its line, its log group's retention, and the role API
/// Gateway's account settings log with (AWS refuses a WebSocket stage's logs without one, so the
/// stage depends on the setting).
fn socket_access_log(template: &Value, stage: &Value) -> Value {
    let settings = &stage["Properties"]["AccessLogSettings"];
    let line: Value =
        serde_json::from_str(settings["Format"].as_str().expect("an access log Format"))
            .expect("a JSON line");
    let group_id = referenced_id(&settings["DestinationArn"]).expect("a log group");
    let group = &template["Resources"][&group_id];
    assert_eq!(group["Type"], "AWS::Logs::LogGroup", "{group_id}");
    let accounts = resources_of_type(template, "AWS::ApiGateway::Account");
    assert_eq!(accounts.len(), 1, "one account setting");
    let (account_id, account) = accounts[0];
    assert!(
        as_list(&stage["DependsOn"]).contains(&json!(account_id)),
        "the stage waits for the account's logging role: {stage}"
    );
    let role_id = referenced_id(&account["Properties"]["CloudWatchRoleArn"]).expect("a role");
    let role = &template["Resources"][&role_id];
    assert_eq!(role["Type"], "AWS::IAM::Role", "{role_id}");
    let trust = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"];
    assert_eq!(trust.as_array().map(Vec::len), Some(1), "{trust}");
    json!({
        "line": line,
        "retention": referenced_id(&group["Properties"]["RetentionInDays"]),
        "role_trusts": trust[0]["Principal"]["Service"],
        "role_policy": role["Properties"]["ManagedPolicyArns"]
            .to_string()
            .contains("policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"),
        "role_retained": role["DeletionPolicy"],
    })
}

#[test]
fn websocket_api_is_the_same_in_sam_and_cdk() {
    let sam = websocket_api(&sam_template());
    assert_eq!(sam, websocket_api(&cdk_template(CDK_STACK)));
    assert_eq!(sam["selection"], "$request.body.action");
    assert_eq!(
        sam["routes"],
        json!({"$connect": false, "$disconnect": false, "$default": true, "ping": true})
    );
    assert_eq!(sam["integration_types"], json!(["AWS_PROXY"]));
    let stage = &sam["stages"][0];
    assert_eq!(sam["stages"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        (&stage["name"], &stage["auto_deploy"]),
        (&json!("live"), &json!(true))
    );
    let log = &stage["access_log"];
    assert_eq!(log["retention"], "LogRetentionDays");
    assert_eq!(
        (
            &log["role_trusts"],
            &log["role_policy"],
            &log["role_retained"]
        ),
        (
            &json!("apigateway.amazonaws.com"),
            &json!(true),
            &json!("Retain")
        )
    );
    for (field, variable) in [
        ("requestId", "requestId"),
        ("connectionId", "connectionId"),
        ("eventType", "eventType"),
        ("routeKey", "routeKey"),
        ("status", "status"),
        ("error", "error.message"),
        ("integrationLatencyMs", "integrationLatency"),
    ] {
        assert_eq!(
            log["line"][field],
            format!("$context.{variable}"),
            "{field}"
        );
    }
}

/// A DynamoDB stream throttles past two readers: the dispatcher and `realtime` are its only ones,
/// in both deployments.
#[test]
fn the_table_stream_has_two_readers() {
    let sam = sam_template();
    let sam_readers: Vec<String> = sam_functions(&sam)
        .into_iter()
        .filter(|(_, function)| {
            function["Properties"]["Events"]
                .as_object()
                .is_some_and(|events| events.values().any(|event| event["Type"] == "DynamoDB"))
        })
        .map(|(name, _)| name)
        .collect();
    assert_eq!(sam_readers, ["dispatcher", "realtime"], "SAM");

    let cdk = cdk_template(CDK_STACK);
    let mut cdk_readers: Vec<String> = resources_of_type(&cdk, "AWS::Lambda::EventSourceMapping")
        .into_iter()
        .filter(|(_, mapping)| {
            mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"] == json!(["Table", "StreamArn"])
        })
        .filter_map(|(_, mapping)| function_tag(mapping))
        .collect();
    cdk_readers.sort();
    assert_eq!(cdk_readers, ["dispatcher", "realtime"], "CDK");
}

/// `realtime` hears only what it pushes, the same in both deployments: messages and orders,
/// published reviews, inbox entries with a read receipt, user items with an unread total. The
/// local bridge invokes it unfiltered, so only this test sees a record the filter would drop.
#[test]
fn the_realtime_stream_filter_lets_through_what_it_pushes() {
    use gigmarket_shared::store::entity;
    let exists = json!([{"exists": true}]);
    let expected = vec![
        json!({"dynamodb": {"NewImage": {"entity": {"S": [entity::MESSAGE, entity::ORDER]}}}}),
        json!({"dynamodb": {"NewImage": {"entity": {"S": [entity::REVIEW]}, "state": {"S": ["published"]}}}}),
        json!({"dynamodb": {"NewImage": {"entity": {"S": [entity::CONVERSATION_MEMBER]}, "counterpart_last_read_at": {"S": exists}}}}),
        json!({"dynamodb": {"NewImage": {"entity": {"S": [entity::USER]}, "unread_messages": {"N": exists}}}}),
    ];
    let patterns = |filters: &Value| -> Vec<Value> {
        filters["Filters"]
            .as_array()
            .expect("filters")
            .iter()
            .map(|filter| serde_json::from_str(filter["Pattern"].as_str().unwrap()).unwrap())
            .collect()
    };

    let sam = sam_template();
    let functions = sam_functions(&sam);
    let sam_filters: Vec<Vec<Value>> = functions["realtime"]["Properties"]["Events"]
        .as_object()
        .expect("realtime's events")
        .values()
        .filter(|event| event["Type"] == "DynamoDB")
        .map(|event| patterns(&event["Properties"]["FilterCriteria"]))
        .collect();
    assert_eq!(sam_filters, vec![expected.clone()], "SAM");

    let cdk = cdk_template(CDK_STACK);
    let cdk_filters: Vec<Vec<Value>> = resources_of_type(&cdk, "AWS::Lambda::EventSourceMapping")
        .into_iter()
        .filter(|(_, mapping)| function_tag(mapping).as_deref() == Some("realtime"))
        .map(|(_, mapping)| patterns(&mapping["Properties"]["FilterCriteria"]))
        .collect();
    assert_eq!(cdk_filters, vec![expected], "CDK");
}

/// The files bucket in both deployments: the same properties (private, public access blocked,
/// ACLs off, SSE, no versioning, CORS from the API's origins, the lifecycle rules), and S3 access
/// only for `orders` (on `orders/*`) and `messages` (on `conversations/*`), with the same actions.
#[test]
fn the_files_bucket_is_private_and_the_same_in_sam_and_cdk() {
    let sam = sam_template();
    let cdk = cdk_template(CDK_STACK);
    let bucket = |template: &Value| -> Value {
        let buckets: Vec<(&String, &Value)> = resources_of_type(template, "AWS::S3::Bucket")
            .into_iter()
            .filter(|(id, _)| id.starts_with("FilesBucket"))
            .collect();
        assert_eq!(buckets.len(), 1, "one files bucket: {buckets:?}");
        buckets[0].1["Properties"].clone()
    };
    let (sam_bucket, cdk_bucket) = (bucket(&sam), bucket(&cdk));
    for properties in [&sam_bucket, &cdk_bucket] {
        let block = &properties["PublicAccessBlockConfiguration"];
        for flag in [
            "BlockPublicAcls",
            "BlockPublicPolicy",
            "IgnorePublicAcls",
            "RestrictPublicBuckets",
        ] {
            assert_eq!(block[flag], true, "{flag}: {properties}");
        }
        assert_eq!(
            properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
                ["SSEAlgorithm"],
            "AES256"
        );
        assert_eq!(
            properties["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
            "BucketOwnerEnforced"
        );
        assert!(
            properties["VersioningConfiguration"].is_null(),
            "{properties}"
        );
        let cors = &properties["CorsConfiguration"]["CorsRules"][0];
        assert_eq!(cors["AllowedMethods"], json!(["POST", "GET"]));
        assert!(
            cors["AllowedOrigins"]
                .to_string()
                .contains("CorsAllowedOrigins"),
            "{cors}"
        );
        let rules = properties["LifecycleConfiguration"]["Rules"]
            .as_array()
            .expect("lifecycle rules");
        // Only the abort rule: S3 lifecycle counts from an upload, so the scheduler expires a
        // closed order's files (no rule may pretend to).
        assert_eq!(rules.len(), 1, "{rules:?}");
        assert_eq!(
            rules[0]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"],
            1
        );
    }
    let sam_functions = sam_functions(&sam);
    let cdk_functions = cdk_functions(&cdk);
    for name in function_crates() {
        let sam_found = sam_statements(sam_functions[&name]);
        let cdk_found = cdk_statements(&cdk, cdk_functions[&name].1);
        let s3 = |found: &[Value]| -> Vec<(BTreeSet<String>, String)> {
            found
                .iter()
                .filter(|statement| statement["Action"].to_string().contains("s3:"))
                // The search index bucket's grants: `the_search_index_bucket_...`.
                .filter(|statement| {
                    !statement["Resource"]
                        .to_string()
                        .contains("SearchIndexBucket")
                })
                .map(|statement| {
                    let resource = statement["Resource"].to_string();
                    let prefix = if resource.contains("/orders/*") {
                        "orders/"
                    } else if resource.contains("/conversations/*") {
                        "conversations/"
                    } else if !resource.contains("/*") {
                        // s3:ListBucket on the bucket itself.
                        ""
                    } else {
                        panic!("{name}: S3 beyond a file prefix: {resource}")
                    };
                    (action_set(Some(statement)), prefix.to_owned())
                })
                .collect()
        };
        let expected: Vec<(BTreeSet<String>, String)> = match name.as_str() {
            // ListBucket: a HeadObject of a file never uploaded is a 404, not a 403.
            "orders" | "messages" => vec![
                (
                    ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
                        .map(str::to_owned)
                        .into(),
                    if name == "orders" {
                        "orders/".to_owned()
                    } else {
                        "conversations/".to_owned()
                    },
                ),
                (["s3:ListBucket"].map(str::to_owned).into(), String::new()),
            ],
            "scheduler" => vec![(
                ["s3:DeleteObject"].map(str::to_owned).into(),
                "orders/".to_owned(),
            )],
            _ => Vec::new(),
        };
        assert_eq!(s3(&sam_found), expected, "SAM {name}");
        assert_eq!(s3(&cdk_found), expected, "CDK {name}");
    }
}

/// The search index bucket: private like the files bucket, no CORS (no browser reaches it), and
/// only `search` (reads) and `indexer` (reads, writes, deletes) touch its `search-index/`.
#[test]
fn the_search_index_bucket_is_private_and_only_its_two_functions_reach_it() {
    let sam = sam_template();
    let cdk = cdk_template(CDK_STACK);
    for (deployment, template) in [("SAM", &sam), ("CDK", &cdk)] {
        let buckets: Vec<(&String, &Value)> = resources_of_type(template, "AWS::S3::Bucket")
            .into_iter()
            .filter(|(id, _)| id.starts_with("SearchIndexBucket"))
            .collect();
        assert_eq!(buckets.len(), 1, "{deployment}: one search index bucket");
        let properties = &buckets[0].1["Properties"];
        let block = &properties["PublicAccessBlockConfiguration"];
        for flag in [
            "BlockPublicAcls",
            "BlockPublicPolicy",
            "IgnorePublicAcls",
            "RestrictPublicBuckets",
        ] {
            assert_eq!(block[flag], true, "{deployment} {flag}");
        }
        assert!(properties["CorsConfiguration"].is_null(), "{deployment}");
        assert_eq!(
            properties["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
            "BucketOwnerEnforced"
        );
    }
    let sam_functions = sam_functions(&sam);
    let cdk_functions = cdk_functions(&cdk);
    for name in function_crates() {
        let reach = |found: &[Value]| -> BTreeSet<(BTreeSet<String>, bool)> {
            found
                .iter()
                .filter(|statement| {
                    statement["Resource"]
                        .to_string()
                        .contains("SearchIndexBucket")
                })
                .map(|statement| {
                    let resource = statement["Resource"].to_string();
                    (
                        action_set(Some(statement)),
                        resource.contains("/search-index/*"),
                    )
                })
                .collect()
        };
        let set = |actions: &[&str]| actions.iter().map(|action| (*action).to_owned()).collect();
        let expected: BTreeSet<(BTreeSet<String>, bool)> = match name.as_str() {
            "search" => [
                (set(&["s3:GetObject"]), true),
                (set(&["s3:ListBucket"]), false),
            ]
            .into(),
            "indexer" => [
                (
                    set(&["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]),
                    true,
                ),
                (set(&["s3:ListBucket"]), false),
            ]
            .into(),
            _ => BTreeSet::new(),
        };
        assert_eq!(
            reach(&sam_statements(sam_functions[&name])),
            expected,
            "SAM {name}"
        );
        assert_eq!(
            reach(&cdk_statements(&cdk, cdk_functions[&name].1)),
            expected,
            "CDK {name}"
        );
    }
}
