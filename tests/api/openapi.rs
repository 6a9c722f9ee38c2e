//! The OpenAPI document told against the server. Every operation it lists is called by every role,
//! by an organisation's bearer token, with a bad token and by nobody, with real ids, with valid
//! input and with each kind of bad input; each answer must have a status the document lists for
//! that operation, the content type it names (problem+json for errors), a body its schema accepts
//! and the headers it promises. Every status the document lists (but 503) must be seen, and every
//! enum value it lists must be understood where it is sent.

use std::collections::{BTreeMap, BTreeSet};

use awc::http::{Method, StatusCode};
use serde_json::{json, Value};
use varco::auth::Access;
use varco::domain::Role;
use varco::web::routes::declarations;

use crate::both;
use crate::helpers::{Backend, Reply, TestApp, PASSWORD};
use crate::referrals::{cas_report, consent, unit_with, Unit};

/// The body limit the walk runs with (small, so that the oversized bodies stay small).
const BODY_LIMIT: usize = 16 * 1024;
/// A path id no record has.
const NO_SUCH_ID: &str = "987654321";

// ----- a JSON-schema check of what utoipa writes (OpenAPI 3.1) -----

/// The keywords the check understands; any other in the document is an error, so that a
/// constraint is never skipped in silence.
const KEYWORDS: &[&str] = &[
    "$ref",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "enum",
    "items",
    "oneOf",
    "anyOf",
    "allOf",
    "nullable",
    "format",
    "minimum",
    "maximum",
    "description",
    "title",
    "example",
    "examples",
    "default",
    "deprecated",
];

/// Checks JSON values against the schemas of one document. Stricter than JSON Schema in one way:
/// an object schema that lists its properties is closed unless it says otherwise, because a
/// property the document does not name is drift as much as a missing one.
struct Validator<'a> {
    doc: &'a Value,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_type(t: &str, v: &Value) -> bool {
    match t {
        "number" => v.is_number(),
        other => type_name(v) == other,
    }
}

impl<'a> Validator<'a> {
    fn new(doc: &'a Value) -> Self {
        Validator { doc }
    }

    fn component(&self, name: &str) -> Option<&'a Value> {
        self.doc["components"]["schemas"].get(name)
    }

    /// The errors of `value` against `schema`, each with its JSON path.
    fn errors(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut out = Vec::new();
        self.walk(schema, value, "$", &mut out, 0);
        out
    }

    fn walk(&self, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>, depth: usize) {
        if depth > 40 {
            out.push(format!("{at}: schema nested too deep"));
            return;
        }
        let Some(s) = schema.as_object() else {
            if schema != &Value::Bool(true) {
                out.push(format!("{at}: the schema is not an object: {schema}"));
            }
            return;
        };
        for k in s.keys() {
            if !KEYWORDS.contains(&k.as_str()) {
                out.push(format!("{at}: unsupported schema keyword `{k}`"));
            }
        }
        if let Some(r) = s.get("$ref") {
            let target = r
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .and_then(|name| self.component(name));
            match target {
                Some(t) => self.walk(t, value, at, out, depth + 1),
                None => out.push(format!("{at}: unresolvable $ref {r}")),
            }
        }
        if value.is_null() && s.get("nullable") == Some(&Value::Bool(true)) {
            return;
        }
        if let Some(t) = s.get("type") {
            let types: Vec<&str> = match t {
                Value::String(one) => vec![one.as_str()],
                Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if !types.iter().any(|t| is_type(t, value)) {
                out.push(format!("{at}: {} where the schema says {t}", type_name(value)));
                return;
            }
        }
        if let Some(values) = s.get("enum").and_then(Value::as_array) {
            if !values.contains(value) {
                out.push(format!("{at}: {value} is not one of {}", Value::Array(values.clone())));
            }
        }
        if let Some(format) = s.get("format").and_then(Value::as_str) {
            let ok = match (format, value) {
                ("date-time", Value::String(t)) => chrono::DateTime::parse_from_rfc3339(t).is_ok(),
                ("date", Value::String(t)) => chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").is_ok(),
                ("int32", Value::Number(n)) => n.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
                ("int64", Value::Number(n)) => n.is_i64(),
                _ => true,
            };
            if !ok {
                out.push(format!("{at}: {value} is not a {format}"));
            }
        }
        if let Some(n) = value.as_f64() {
            if s.get("minimum").and_then(Value::as_f64).is_some_and(|min| n < min) {
                out.push(format!("{at}: {n} is below the minimum"));
            }
            if s.get("maximum").and_then(Value::as_f64).is_some_and(|max| n > max) {
                out.push(format!("{at}: {n} is above the maximum"));
            }
        }
        if let Some(map) = value.as_object() {
            for name in s.get("required").and_then(Value::as_array).into_iter().flatten() {
                let name = name.as_str().unwrap_or_default();
                if !map.contains_key(name) {
                    out.push(format!("{at}: the required property `{name}` is missing"));
                }
            }
            let props = s.get("properties").and_then(Value::as_object);
            let extra = s.get("additionalProperties");
            for (k, v) in map {
                let here = format!("{at}.{k}");
                match (props.and_then(|p| p.get(k)), extra) {
                    (Some(p), _) => self.walk(p, v, &here, out, depth + 1),
                    (None, Some(Value::Bool(true))) => {}
                    (None, Some(Value::Bool(false))) => out.push(format!("{at}: `{k}` is not a documented property")),
                    (None, Some(other)) => self.walk(other, v, &here, out, depth + 1),
                    (None, None) if props.is_some() => out.push(format!("{at}: `{k}` is not a documented property")),
                    (None, None) => {}
                }
            }
        }
        if let (Some(items), Some(list)) = (s.get("items"), value.as_array()) {
            for (i, v) in list.iter().enumerate() {
                self.walk(items, v, &format!("{at}[{i}]"), out, depth + 1);
            }
        }
        for sub in s.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            self.walk(sub, value, at, out, depth + 1);
        }
        if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
            let branches: Vec<Vec<String>> = any.iter().map(|b| self.sub(b, value, at, depth)).collect();
            if !branches.iter().any(Vec::is_empty) {
                out.push(format!("{at}: matches no branch of anyOf: {branches:?}"));
            }
        }
        if let Some(one) = s.get("oneOf").and_then(Value::as_array) {
            let branches: Vec<Vec<String>> = one.iter().map(|b| self.sub(b, value, at, depth)).collect();
            match branches.iter().filter(|e| e.is_empty()).count() {
                1 => {}
                0 => out.push(format!("{at}: matches no branch of oneOf: {branches:?}")),
                n => out.push(format!("{at}: matches {n} branches of oneOf, not exactly one")),
            }
        }
    }

    fn sub(&self, schema: &Value, value: &Value, at: &str, depth: usize) -> Vec<String> {
        let mut out = Vec::new();
        self.walk(schema, value, at, &mut out, depth + 1);
        out
    }

    /// The component a schema refers to, through `$ref` and a nullable `oneOf`.
    fn target(&self, schema: &'a Value) -> &'a Value {
        if let Some(name) = schema["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
        {
            return self.component(name).map(|c| self.target(c)).unwrap_or(schema);
        }
        if let Some(one) = schema["oneOf"].as_array() {
            let not_null: Vec<&Value> = one.iter().filter(|b| b["type"] != "null").collect();
            if let [only] = not_null.as_slice() {
                return self.target(only);
            }
        }
        schema
    }

    /// The codes of an enum schema (through `$ref`, a nullable `oneOf` and array items).
    fn enum_values(&self, schema: &'a Value) -> Option<(bool, Vec<Value>)> {
        let s = self.target(schema);
        if let Some(values) = s["enum"].as_array() {
            return Some((false, values.clone()));
        }
        let is_array = s["type"] == "array" || s["type"].as_array().is_some_and(|t| t.contains(&json!("array")));
        if is_array {
            let items = self.target(&s["items"]);
            return items["enum"].as_array().map(|v| (true, v.clone()));
        }
        None
    }
}

#[test]
fn the_validator_catches_drift() {
    let doc = json!({"components": {"schemas": {
        "Thing": {"type": "object", "required": ["id", "kind"], "properties": {
            "id": {"type": "integer", "format": "int64"},
            "kind": {"$ref": "#/components/schemas/Kind"},
            "at": {"type": ["string", "null"], "format": "date-time"},
            "parent": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Thing"}]}}},
        "Other": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
        "Kind": {"type": "string", "enum": ["cas_operator", "0-13"]},
        "Either": {"oneOf": [{"$ref": "#/components/schemas/Thing"}, {"$ref": "#/components/schemas/Other"}]}}}});
    let v = Validator::new(&doc);
    let thing = json!({"$ref": "#/components/schemas/Thing"});
    assert!(v
        .errors(&thing, &json!({"id": 1, "kind": "0-13", "at": null}))
        .is_empty());
    assert!(v
        .errors(&thing, &json!({"id": 1, "kind": "0-13", "at": "2026-11-25T03:00:00+01:00", "parent": {"id": 2, "kind": "cas_operator"}}))
        .is_empty());
    for bad in [
        json!({"kind": "0-13"}),
        json!({"id": "1", "kind": "0-13"}),
        json!({"id": 1, "kind": "CasOperator"}),
        json!({"id": 1, "kind": "0-13", "at": "yesterday"}),
        json!({"id": 1, "kind": "0-13", "colour": "red"}),
        json!({"id": 1, "kind": "0-13", "parent": {"id": 2}}),
        json!([]),
    ] {
        assert!(!v.errors(&thing, &bad).is_empty(), "{bad} must be refused");
    }
    let either = json!({"$ref": "#/components/schemas/Either"});
    assert!(v.errors(&either, &json!({"id": 1, "name": "x"})).is_empty());
    assert!(!v.errors(&either, &json!({"name": "x"})).is_empty(), "no branch");
    let both = json!({"oneOf": [{"type": "integer"}, {"type": "number"}]});
    assert!(!v.errors(&both, &json!(3)).is_empty(), "two branches of a oneOf");
    assert!(
        !v.errors(&json!({"type": "string", "pattern": "x"}), &json!("x"))
            .is_empty(),
        "unknown keyword"
    );
}

// ----- the document's operations -----

struct Op {
    id: String,
    method: Method,
    path: String,
    spec: Value,
    access: Access,
}

impl Op {
    fn has_id(&self) -> bool {
        self.path.contains("{id}")
    }

    fn json_body(&self) -> bool {
        self.spec["requestBody"]["content"]["application/json"].is_object()
    }

    fn any_body(&self) -> bool {
        self.spec["requestBody"].is_object()
    }

    fn params(&self, place: &str) -> Vec<&Value> {
        self.spec["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == place)
            .collect()
    }

    fn versioned(&self) -> bool {
        self.params("header").iter().any(|p| p["name"] == "If-Match")
    }

    fn changes(&self) -> bool {
        self.method != Method::GET
    }

    fn at(&self, id: &str) -> String {
        // A sub-resource's `{sub}` takes the same value: no such id, or not a number.
        self.path.replace("{id}", id).replace("{sub}", id)
    }
}

fn operations(doc: &Value) -> Vec<Op> {
    let routes = declarations();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, spec) in item.as_object().expect("path item") {
            let method: Method = method.to_uppercase().parse().expect("method");
            let access = routes
                .iter()
                .find(|(m, p, _)| *m == method && p == path)
                .map(|(_, _, a)| *a)
                .unwrap_or_else(|| panic!("{method} {path} is documented but not routed"));
            ops.push(Op {
                id: spec["operationId"].as_str().unwrap_or_default().to_owned(),
                method,
                path: path.clone(),
                spec: spec.clone(),
                access,
            });
        }
    }
    ops
}

#[test]
fn every_operation_has_its_own_id() {
    let doc: Value = serde_json::from_str(varco::openapi::document_json()).expect("the document is JSON");
    let ops = operations(&doc);
    let ids: BTreeSet<&str> = ops.iter().map(|o| o.id.as_str()).collect();
    assert!(!ids.contains(""), "an operation without id");
    assert_eq!(ids.len(), ops.len(), "operation ids are unique");
}

/// Every vocabulary the API carries, as the server knows it.
fn vocabularies() -> Vec<(&'static str, &'static [&'static str])> {
    use varco::referrals::vocab as r;
    vec![
        ("Role", Role::CODES),
        ("OrgKind", varco::domain::OrgKind::CODES),
        ("SourceKind", varco::domain::SourceKind::CODES),
        ("StationLanguage", varco::domain::StationLanguage::CODES),
        ("Channel", r::Channel::CODES),
        ("Gender", r::Gender::CODES),
        ("AgeBand", r::AgeBand::CODES),
        ("EmergenceContext", r::EmergenceContext::CODES),
        ("ExploitationType", r::ExploitationType::CODES),
        ("LabourSector", r::LabourSector::CODES),
        ("RecruiterRelation", r::RecruiterRelation::CODES),
        ("Urgency", r::Urgency::CODES),
        ("Status", r::Status::CODES),
        ("DeclineReason", r::DeclineReason::CODES),
        ("ContactRoute", r::ContactRoute::CODES),
        ("EventKind", r::EventKind::CODES),
        ("MediatorAnswer", r::MediatorAnswer::CODES),
        ("ConsentScope", r::ConsentScope::CODES),
        ("CallerKind", varco::hotline::model::CallerKind::CODES),
        ("CallOutcome", varco::hotline::model::CallOutcome::CODES),
        ("Template", varco::notify::Template::CODES),
        ("OutboxStatus", varco::notify::Status::CODES),
        ("Outcome", varco::audit::Outcome::CODES),
        ("ActorKind", varco::audit::ActorKind::CODES),
        ("ShiftMode", varco::roster::ShiftMode::CODES),
        ("Duty", varco::roster::Duty::CODES),
        ("LetterStatus", varco::casework::feedback::LetterStatus::CODES),
        ("LetterDelivery", varco::casework::feedback::Delivery::CODES),
        ("RecipientRole", varco::casework::feedback::RecipientRole::CODES),
        ("Decision", varco::persons::model::Decision::CODES),
        ("MatchField", varco::persons::model::MatchField::CODES),
        ("Verdict", varco::persons::model::Verdict::CODES),
        ("CaseStatus", varco::casework::vocab::CaseStatus::CODES),
        ("CaseAction", varco::casework::lifecycle::CaseAction::CODES),
        ("CaseEventKind", varco::casework::vocab::CaseEventKind::CODES),
        ("TaskKind", varco::casework::vocab::TaskKind::CODES),
        ("FlagKind", varco::casework::vocab::FlagKind::CODES),
        ("InterviewKind", varco::casework::vocab::InterviewKind::CODES),
        ("InterviewStatus", varco::casework::vocab::InterviewStatus::CODES),
        ("Setting", varco::casework::vocab::Setting::CODES),
        ("Answer", varco::casework::vocab::Answer::CODES),
        ("Agency", varco::casework::vocab::Agency::CODES),
        ("OutcomeKind", varco::casework::vocab::OutcomeKind::CODES),
        ("TransferState", varco::casework::vocab::TransferState::CODES),
        ("PlaceType", varco::placements::vocab::PlaceType::CODES),
        ("PointStatus", varco::placements::vocab::PointStatus::CODES),
        ("PlacementKind", varco::placements::vocab::PlacementKind::CODES),
        ("PlacementStatus", varco::placements::vocab::PlacementStatus::CODES),
        ("CheckOutReason", varco::placements::vocab::CheckOutReason::CODES),
        ("TurnAwayReason", varco::placements::vocab::TurnAwayReason::CODES),
        ("ContactChannel", varco::helpline::vocab::ContactChannel::CODES),
        ("Contacter", varco::helpline::vocab::Contacter::CODES),
        ("ContactReason", varco::helpline::vocab::ContactReason::CODES),
        ("LearnedFrom", varco::helpline::vocab::LearnedFrom::CODES),
        ("ReferralTarget", varco::helpline::vocab::ReferralTarget::CODES),
        ("ServiceKind", varco::helpline::vocab::ServiceKind::CODES),
        (
            "Mode",
            &[
                "emergency",
                "direct_transfer",
                "referent_closed",
                "national_orientation",
            ],
        ),
        (
            "LanguageService",
            &["available", "not_now", "by_appointment", "unavailable"],
        ),
        ("Measure", varco::observatory::model::Measure::CODES),
        ("ObservatoryIndicator", varco::observatory::model::Indicator::CODES),
        ("TerritoryBasis", varco::observatory::model::TerritoryBasis::CODES),
    ]
}

#[test]
fn every_enum_schema_lists_the_codes_the_server_sends_and_reads() {
    let doc: Value = serde_json::from_str(varco::openapi::document_json()).expect("the document is JSON");
    let known: BTreeMap<&str, &[&str]> = vocabularies().into_iter().collect();
    let mut enums = 0;
    for (name, schema) in doc["components"]["schemas"].as_object().expect("schemas") {
        let Some(values) = schema["enum"].as_array() else {
            continue;
        };
        enums += 1;
        let codes = known
            .get(name.as_str())
            .unwrap_or_else(|| panic!("the enum {name} is not one of the vocabularies this test knows"));
        assert_eq!(values, &codes.iter().map(|c| json!(c)).collect::<Vec<_>>(), "{name}");
    }
    assert_eq!(
        enums,
        known.len(),
        "every vocabulary is in the document, under its own name"
    );
}

// ----- the callers -----

/// Someone calling the API: a signed-in user (session cookie and CSRF header), a bearer token,
/// or nobody.
struct Caller {
    name: &'static str,
    role: Option<Role>,
    app: TestApp,
    token: Option<String>,
}

impl Caller {
    fn allowed(&self, op: &Op) -> bool {
        op.access.allows(self.role)
    }

    fn by_session(&self) -> bool {
        self.token.is_none() && self.app.csrf.is_some()
    }
}

/// A request, before the caller's credentials are added.
#[derive(Clone)]
struct Req {
    case: String,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Option<(&'static str, Vec<u8>)>,
    /// Leave out the session's CSRF header.
    no_csrf: bool,
}

impl Req {
    fn new(case: &str, path: String) -> Req {
        Req {
            case: case.into(),
            path,
            headers: Vec::new(),
            body: None,
            no_csrf: false,
        }
    }

    fn json(mut self, body: Value) -> Req {
        self.body = Some(("application/json", body.to_string().into_bytes()));
        self
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Req {
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.into()));
        self
    }

    fn without_header(mut self, name: &str) -> Req {
        self.headers.retain(|(n, _)| *n != name);
        self
    }

    fn case(mut self, case: &str) -> Req {
        self.case = case.into();
        self
    }

    fn json_value(&self) -> Option<Value> {
        match &self.body {
            Some(("application/json", b)) => serde_json::from_slice(b).ok(),
            _ => None,
        }
    }
}

async fn call(c: &mut Caller, method: &Method, req: &Req) -> Reply {
    let mut headers = req.headers.clone();
    if let Some(t) = &c.token {
        headers.push(("authorization", format!("Bearer {t}")));
    } else if *method != Method::GET && !req.no_csrf {
        if let Some(t) = &c.app.csrf {
            headers.push(("x-csrf-token", t.clone()));
        }
    }
    let saved = c.token.as_ref().map(|_| std::mem::take(&mut c.app.jar));
    let r = c.app.send(method.clone(), &req.path, &headers, req.body.clone()).await;
    if let Some(jar) = saved {
        c.app.jar = jar;
    }
    r
}

// ----- the world the walk runs in -----

struct World {
    callers: Vec<Caller>,
    cas: i64,
    ct: i64,
    op_id: i64,
    target_org: i64,
    target_user: i64,
    r_unit: i64,
    r_ref: i64,
    r_com: i64,
    n: u32,
}

impl World {
    fn app(&mut self, name: &str) -> &mut TestApp {
        &mut self
            .callers
            .iter_mut()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no caller {name}"))
            .app
    }

    fn unique(&mut self, prefix: &str) -> String {
        self.n += 1;
        format!("{prefix}-{}", self.n)
    }

    async fn expect(
        &mut self,
        who: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: StatusCode,
    ) -> Value {
        let r = self.app(who).api(method.clone(), path, body).await;
        assert_eq!(r.status, status, "{who}: {method} {path}: {}", r.body);
        if r.body.is_empty() {
            Value::Null
        } else {
            r.json()
        }
    }

    /// Files a referral as `who`; its id.
    async fn file(&mut self, who: &str, body: Value) -> i64 {
        let r = self
            .expect(who, Method::POST, "/api/v1/referrals", Some(body), StatusCode::CREATED)
            .await;
        r["id"].as_i64().expect("id")
    }

    /// A new referral the unit filed (proposed to the mediator, who speaks English).
    async fn unit_referral(&mut self) -> i64 {
        let body = cas_report(self.cas);
        self.file("coordinator", body).await
    }

    /// A new referral the commission filed, with its consent.
    async fn commission_referral(&mut self) -> i64 {
        self.file("commission", commission_report()).await
    }

    /// The version of a record, read by someone who may read it.
    async fn version(&mut self, who: &str, path: &str) -> i64 {
        let r = self.expect(who, Method::GET, path, None, StatusCode::OK).await;
        r["version"].as_i64().expect("version")
    }

    async fn draft(&mut self) -> i64 {
        let csrf = self.app("operator").csrf.clone().unwrap_or_default();
        let r = self
            .app("operator")
            .send(
                Method::POST,
                "/api/v1/referrals/drafts",
                &[("x-csrf-token", csrf)],
                Some(("message/rfc822", eml())),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.json()["id"].as_i64().expect("id")
    }

    async fn token(&mut self) -> i64 {
        let label = self.unique("system");
        let cas = self.cas;
        let r = self
            .expect(
                "admin",
                Method::POST,
                "/api/v1/tokens",
                Some(json!({"org_id": cas, "role": "referrer", "label": label})),
                StatusCode::CREATED,
            )
            .await;
        r["token"]["id"].as_i64().expect("id")
    }

    /// A case opened by taking a new commission report in charge, moved to `outcome_decided`
    /// through the store (until the case API does it), and its id.
    async fn feedback_case(&mut self) -> i64 {
        let rid = self.commission_referral().await;
        let v = self.version("coordinator", &format!("/api/v1/referrals/{rid}")).await;
        self.expect(
            "coordinator",
            Method::POST,
            &format!("/api/v1/referrals/{rid}/take-charge"),
            Some(json!({"version": v})),
            StatusCode::OK,
        )
        .await;
        let db = self.callers[2].app.state.db.clone();
        db.write(move |c| {
            use varco::casework::lifecycle::CaseAction;
            use varco::casework::store;
            let case =
                store::case_of_referral(c, varco::domain::ReferralId(rid))?.ok_or(varco::error::AppError::NotFound)?;
            let actor = varco::referrals::store::Actor {
                user_id: None,
                token_id: None,
                label: "openapi walk".into(),
            };
            let now = chrono::Utc::now().naive_utc();
            for action in [
                CaseAction::PlanInterview,
                CaseAction::HoldInterview,
                CaseAction::DecideOutcome,
            ] {
                let current = store::get(c, case)?;
                store::apply(c, &current, current.version, action, &actor, now)?;
            }
            Ok(case.get())
        })
        .await
        .expect("a case")
    }

    /// A feedback letter to the commission, drafted by the operator, then approved (`approved`)
    /// and sent (`sent`) when asked: its case, its id and its version.
    /// An outbox message given up after its attempts (recorded as the dispatcher would).
    async fn failed_message(&mut self) -> i64 {
        let app = self.app("admin");
        let now = varco::clock::db_now(&app.clock);
        let msg = varco::notify::NewMessage::from_template(
            varco::notify::Template::Escalation,
            "coordinamento@varco.test",
            "R-WALK0000",
            "/referrals/1",
        );
        app.state
            .db
            .write(move |c| {
                let id = varco::notify::enqueue(c, &msg, now)?;
                for _ in 0..varco::notify::MAX_ATTEMPTS {
                    let row = varco::notify::get(c, id)?;
                    varco::notify::record_attempt(c, &row, now, Err("SMTP: connection refused".into()))?;
                }
                Ok(id.get())
            })
            .await
            .expect("a message given up")
    }

    async fn letter(&mut self, stage: &str) -> (i64, i64, i64) {
        let case = self.feedback_case().await;
        let base = format!("/api/v1/cases/{case}/feedback");
        let drafts = self
            .expect("operator", Method::POST, &base, Some(json!({})), StatusCode::CREATED)
            .await;
        let id = drafts[0]["id"].as_i64().expect("id");
        let mut version = 1;
        if stage != "draft" {
            let path = format!("{base}/{id}/approve");
            let r = self
                .expect(
                    "coordinator",
                    Method::POST,
                    &path,
                    Some(json!({"version": version})),
                    StatusCode::OK,
                )
                .await;
            version = r["version"].as_i64().expect("version");
        }
        if stage == "sent" {
            let path = format!("{base}/{id}/send");
            let r = self
                .expect(
                    "operator",
                    Method::POST,
                    &path,
                    Some(json!({"version": version})),
                    StatusCode::OK,
                )
                .await;
            version = r["version"].as_i64().expect("version");
        }
        (case, id, version)
    }

    /// A shift of the operator on a day of its own in December.
    async fn shift(&mut self) -> i64 {
        let body = self.shift_body();
        let r = self
            .expect(
                "coordinator",
                Method::POST,
                "/api/v1/roster/shifts",
                Some(body),
                StatusCode::CREATED,
            )
            .await;
        r["id"].as_i64().expect("id")
    }

    /// Two new referrals about the same person: the person the first is proposed as for the
    /// second, and both ids.
    /// A case run by the operator caller: `taken` (just taken in charge) or `interviewed`;
    /// with its version.
    async fn case_at(&mut self, stage: &str) -> (i64, i64) {
        let rid = self.unit_referral().await;
        let v = self.version("coordinator", &format!("/api/v1/referrals/{rid}")).await;
        self.expect(
            "coordinator",
            Method::POST,
            &format!("/api/v1/referrals/{rid}/take-charge"),
            Some(json!({"version": v})),
            StatusCode::OK,
        )
        .await;
        let list = self
            .expect(
                "coordinator",
                Method::GET,
                &format!("/api/v1/cases?referral_id={rid}"),
                None,
                StatusCode::OK,
            )
            .await;
        let case = list[0]["id"].as_i64().expect("case");
        let v = list[0]["version"].as_i64().expect("version");
        let op = self.op_id;
        let r = self
            .expect(
                "coordinator",
                Method::POST,
                &format!("/api/v1/cases/{case}/reassign"),
                Some(json!({"operator_id": op, "version": v})),
                StatusCode::OK,
            )
            .await;
        let mut v = r["version"].as_i64().expect("version");
        if stage == "interviewed" {
            let (_, interview, iv) = self.interview_on(case, None).await;
            let r = self
                .expect(
                    "coordinator",
                    Method::POST,
                    &format!("/api/v1/cases/{case}/interviews/{interview}/held"),
                    Some(json!({"version": iv})),
                    StatusCode::OK,
                )
                .await;
            assert_eq!(r["status"], "held");
            v = self.version("coordinator", &format!("/api/v1/cases/{case}")).await;
        }
        (case, v)
    }

    /// A planned interview on `case` (with `mediator` booked), at a time of its own.
    async fn interview_on(&mut self, case: i64, mediator: Option<i64>) -> (i64, i64, i64) {
        self.n += 1;
        let at = format!("2027-01-{:02}T{:02}:00", 1 + self.n % 28, 8 + self.n % 10);
        let r = self
            .expect(
                "coordinator",
                Method::POST,
                &format!("/api/v1/cases/{case}/interviews"),
                Some(json!({"starts_at": at, "minutes": 30, "setting": "remote", "mediator_id": mediator})),
                StatusCode::CREATED,
            )
            .await;
        (
            case,
            r["interview"]["id"].as_i64().expect("id"),
            r["interview"]["version"].as_i64().expect("version"),
        )
    }

    async fn pair(&mut self) -> (i64, i64, i64) {
        let first = self.unit_referral().await;
        let second = self.unit_referral().await;
        let list = self
            .expect(
                "operator",
                Method::GET,
                &format!("/api/v1/persons/candidates?referral_id={second}"),
                None,
                StatusCode::OK,
            )
            .await;
        let person = list["candidates"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["referral"]["id"] == first)
            .and_then(|c| c["person_id"].as_i64())
            .unwrap_or_else(|| panic!("the first referral is proposed for the second: {list}"));
        (person, first, second)
    }

    /// The body of a new escape point with a code of its own (one bed, one family room).
    fn escape_point_body(&mut self) -> Value {
        let code = self.unique("T");
        json!({"code": code, "name": "Casa del giro", "province": "VE", "beds": 1, "family_rooms": 1,
               "takes_women": true, "takes_children": true, "languages": ["it", "en"],
               "contact_phone": "+39 041 000 0000", "address": "Calle riservata 1"})
    }

    /// A new escape point (by the coordinator); its id.
    /// A shelter in the 1522 directory (Bari), added by a coordinator: its id.
    async fn helpline_shelter(&mut self, name: &str) -> i64 {
        let body = json!({"kind": "shelter", "name": name, "province": "BA", "municipality": "Bari", "address": "Via segreta 1"});
        self.expect(
            "coordinator",
            Method::POST,
            "/api/v1/1522/directory",
            Some(body),
            StatusCode::CREATED,
        )
        .await;
        let list = self
            .expect(
                "coordinator",
                Method::GET,
                "/api/v1/1522/directory?place=Bari",
                None,
                StatusCode::OK,
            )
            .await;
        list.as_array()
            .and_then(|l| l.iter().find(|s| s["name"] == name))
            .and_then(|s| s["id"].as_i64())
            .expect("the shelter listed")
    }

    async fn escape_point(&mut self) -> i64 {
        let body = self.escape_point_body();
        let r = self
            .expect(
                "coordinator",
                Method::POST,
                "/api/v1/escape-points",
                Some(body),
                StatusCode::CREATED,
            )
            .await;
        r["id"].as_i64().expect("id")
    }

    /// A hold on a bed of a new point for a new case of the operator, made by `who`: the case,
    /// the point and the placement.
    async fn hold(&mut self, who: &str) -> (i64, i64, i64) {
        let (case, _) = self.case_at("taken").await;
        let point = self.escape_point().await;
        let r = self
            .expect(
                who,
                Method::POST,
                "/api/v1/placements",
                Some(json!({"case_id": case, "point_id": point, "kind": "hold", "place_type": "bed"})),
                StatusCode::CREATED,
            )
            .await;
        (case, point, r["id"].as_i64().expect("id"))
    }

    fn shift_body(&mut self) -> Value {
        self.n += 1;
        let (day, hour) = (1 + self.n / 3 % 28, 8 * (self.n % 3));
        json!({"user_id": self.op_id, "duty": "operator", "mode": "on_call",
               "starts_at": format!("2026-12-{day:02}T{hour:02}:00"),
               "ends_at": format!("2026-12-{day:02}T{:02}:00", hour + 7)})
    }
}

fn eml() -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/eml/plain.eml", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

fn commission_report() -> Value {
    json!({"urgency": "ordinary", "consent": consent(),
           "person": {"alias": "Joy", "gender": "female", "age": 22, "nationality": "Nigeria", "languages": ["en"]}})
}

/// A referrer's own report: its organisation, source and channel are its own.
fn referrer_report(cas: i64) -> Value {
    let mut body = cas_report(cas);
    if let Some(o) = body.as_object_mut() {
        for k in ["channel", "source_kind", "referring_org_id"] {
            o.remove(k);
        }
    }
    body
}

/// The requests that should succeed for `caller` (with fresh records when `fresh`; denied callers
/// get requests on standing records, which the server must refuse before reading them).
async fn valid(w: &mut World, op: &Op, caller: &str, fresh: bool) -> Vec<Req> {
    let ok = |path: String| Req::new("valid", path);
    match op.id.as_str() {
        "healthz" | "me" | "list_orgs" | "list_users" | "list_tokens" | "list_referrals" | "list_calls"
        | "get_roster" | "list_outbox" => vec![ok(op.path.clone())],
        "list_audit" => vec![ok("/api/v1/audit?limit=20".into())],
        "retry_outbox_message" => {
            if fresh {
                // Sent again once; the same message again is no longer one given up.
                let id = w.failed_message().await.to_string();
                vec![ok(op.at(&id)), Req::new("a message not given up", op.at(&id))]
            } else {
                vec![ok(op.at("1"))]
            }
        }
        "get_org" => vec![ok(op.at(&w.cas.to_string()))],
        "get_user" => vec![ok(op.at(&w.op_id.to_string()))],
        "create_org" => {
            let name = w.unique("Associazione");
            vec![ok(op.path.clone()).json(json!({"name": name, "kind": "ngo", "province": "VE"}))]
        }
        "update_org" => {
            let id = w.target_org;
            let v = if fresh {
                w.version("admin", &format!("/api/v1/organisations/{id}")).await
            } else {
                1
            };
            let name = w.unique("Cooperativa");
            vec![ok(op.at(&id.to_string())).json(json!({"version": v, "name": name}))]
        }
        "create_user" => {
            let username = w.unique("utente");
            vec![ok(op.path.clone()).json(json!({"username": username, "role": "operator", "password": PASSWORD}))]
        }
        "update_user" => {
            let id = w.target_user;
            let v = if fresh {
                w.version("admin", &format!("/api/v1/users/{id}")).await
            } else {
                1
            };
            let name = w.unique("Nome");
            vec![ok(op.at(&id.to_string())).json(json!({"version": v, "display_name": name}))]
        }
        "create_token" => {
            let label = w.unique("gestionale");
            vec![ok(op.path.clone()).json(json!({"org_id": w.cas, "role": "referrer", "label": label}))]
        }
        "revoke_token" => {
            let id = if fresh { w.token().await } else { 1 };
            vec![ok(op.at(&id.to_string()))]
        }
        "create_referral" => {
            let body = match caller {
                "referrer" => referrer_report(w.cas),
                "commission" | "commission token" => commission_report(),
                _ => cas_report(w.cas),
            };
            vec![ok(op.path.clone()).json(body)]
        }
        "get_referral" => {
            let own = match caller {
                "referrer" => w.r_ref,
                "commission" | "commission token" => w.r_com,
                _ => w.r_unit,
            };
            let mut all = vec![ok(op.at(&own.to_string()))];
            for (case, id) in [("unit's", w.r_unit), ("referrer's", w.r_ref), ("commission's", w.r_com)] {
                if id != own {
                    all.push(Req::new(&format!("the {case} referral"), op.at(&id.to_string())));
                }
            }
            all
        }
        "list_feedback_letters" => {
            let case = if fresh { w.letter("draft").await.0 } else { 1 };
            vec![ok(op.at(&case.to_string()))]
        }
        "draft_feedback_letters" => {
            let case = if fresh { w.feedback_case().await } else { 1 };
            vec![ok(op.at(&case.to_string())).json(json!({}))]
        }
        "get_feedback_letter"
        | "edit_feedback_letter"
        | "approve_feedback_letter"
        | "withdraw_feedback_approval"
        | "send_feedback_letter"
        | "get_feedback_pdf" => {
            let stage = match op.id.as_str() {
                "send_feedback_letter" | "withdraw_feedback_approval" => "approved",
                "get_feedback_pdf" => "sent",
                _ => "draft",
            };
            let (case, id, v) = if fresh { w.letter(stage).await } else { (1, 1, 1) };
            let path = op
                .path
                .replace("{id}", &case.to_string())
                .replace("{sub}", &id.to_string());
            match op.id.as_str() {
                "edit_feedback_letter" => {
                    vec![ok(path).json(json!({"version": v, "body": "Testo del riscontro, già rivisto."}))]
                }
                "approve_feedback_letter" | "send_feedback_letter" | "withdraw_feedback_approval" => {
                    vec![ok(path).json(json!({"version": v}))]
                }
                _ => vec![ok(path)],
            }
        }
        "import_draft" => {
            let mut r = ok(op.path.clone()).header("x-file-name", "segnalazione.eml");
            r.body = Some(("message/rfc822", eml()));
            let mut all = vec![r];
            if fresh {
                // A PEC receipt of a letter sent: recorded against it, no draft.
                let (_, letter, _) = w.letter("sent").await;
                let mid = crate::feedback::message_id_of(&w.callers[2].app, letter);
                let mut receipt = Req::new("a PEC receipt", op.path.clone()).header("x-file-name", "ricevuta.eml");
                receipt.body = Some((
                    "message/rfc822",
                    crate::feedback::pec_receipt("avvenuta-consegna", &mid),
                ));
                all.push(receipt);
            }
            all
        }
        "confirm_draft" => {
            let id = if fresh { w.draft().await } else { w.r_unit };
            let mut body = cas_report(w.cas);
            body["channel"] = json!("email");
            vec![ok(op.at(&id.to_string())).header("if-match", "\"1\"").json(body)]
        }
        "acknowledge_referral"
        | "take_charge"
        | "decline_referral"
        | "send_feedback"
        | "withdraw_consent"
        | "answer_mediation" => {
            // Consent is withdrawn on a commission's report; the other actions are the unit's.
            let id = match (fresh, op.id == "withdraw_consent") {
                (false, _) => w.r_unit,
                (true, true) => w.commission_referral().await,
                (true, false) => w.unit_referral().await,
            };
            let v = if fresh {
                w.version("coordinator", &format!("/api/v1/referrals/{id}")).await
            } else {
                1
            };
            let path = op.at(&id.to_string());
            match op.id.as_str() {
                "decline_referral" => vec![ok(path).json(
                    json!({"version": v, "reason": "redirected_1522", "note": "non è tratta: indirizzata al 1522"}),
                )],
                "send_feedback" => {
                    vec![ok(path).json(json!({"version": v, "body": "presa visione, vi ricontattiamo"}))]
                }
                "answer_mediation" => {
                    let second = if fresh { w.unit_referral().await } else { w.r_unit };
                    let v2 = if fresh {
                        w.version("coordinator", &format!("/api/v1/referrals/{second}")).await
                    } else {
                        1
                    };
                    vec![
                        ok(path).json(json!({"version": v, "answer": "accepted"})),
                        Req::new("declined", op.at(&second.to_string()))
                            .json(json!({"version": v2, "answer": "declined"})),
                    ]
                }
                _ => vec![ok(path).json(json!({"version": v}))],
            }
        }
        "create_call" => vec![ok(op.path.clone()).json(
            json!({"duration_secs": 60, "language": "en", "caller_kind": "private_citizen", "outcome": "information"}),
        )],
        "create_shift" => {
            let body = w.shift_body();
            vec![ok(op.path.clone()).json(body)]
        }
        "delete_shift" => {
            let id = if fresh { w.shift().await } else { 1 };
            vec![ok(op.at(&id.to_string()))]
        }
        "person_candidates" => {
            let path = |id: &str| format!("{}?referral_id={id}", op.path);
            vec![
                ok(path(&w.r_unit.to_string())),
                Req::new("no such referral", path(NO_SUCH_ID)),
            ]
        }
        "get_person" => {
            let person = if fresh { w.pair().await.0 } else { 1 };
            vec![ok(op.at(&person.to_string()))]
        }
        "link_person" | "reject_person" | "unlink_person" => {
            let (person, first, second) = if fresh { w.pair().await } else { (1, w.r_unit, w.r_unit) };
            if fresh && op.id == "unlink_person" {
                w.expect(
                    caller,
                    Method::POST,
                    &format!("/api/v1/persons/{person}/link"),
                    Some(json!({"referral_id": second})),
                    StatusCode::OK,
                )
                .await;
            }
            let _ = first;
            let r = ok(op.at(&person.to_string())).json(json!({"referral_id": second}));
            vec![r.clone(), r.case("the same decision again")]
        }
        "list_cases" => vec![
            ok(op.path.clone()),
            ok(format!("{}?open=true&status=taken_in_charge&limit=50", op.path)),
            Req::new("by referral", format!("{}?referral_id={}", op.path, w.r_unit)),
        ],
        "get_case" => {
            let (case, _) = if fresh { w.case_at("taken").await } else { (1, 1) };
            vec![ok(op.at(&case.to_string()))]
        }
        "case_transition" | "reassign_case" => {
            let (case, v) = if fresh { w.case_at("interviewed").await } else { (1, 1) };
            let body = match op.id.as_str() {
                "case_transition" => json!({"action": "close", "version": v}),
                _ => json!({"operator_id": w.op_id, "version": v}),
            };
            let r = ok(op.at(&case.to_string())).json(body);
            vec![r.clone(), r.case("the same change again (stale)")]
        }
        "plan_interview" => {
            let (case, _) = if fresh { w.case_at("taken").await } else { (1, 1) };
            w.n += 1;
            let at = format!("2027-02-{:02}T10:00", 1 + w.n % 28);
            let r = ok(op.at(&case.to_string())).json(
                json!({"starts_at": at, "minutes": 60, "setting": "unit_office", "language": "en", "staff": [w.op_id]}),
            );
            vec![r.clone(), r.case("the same people at the same time (a double booking)")]
        }
        "hold_interview" | "cancel_interview" | "answer_booking" => {
            let mediator = if op.id == "answer_booking" && fresh {
                w.expect("mediator", Method::GET, "/api/v1/me", None, StatusCode::OK)
                    .await["user_id"]
                    .as_i64()
            } else {
                None
            };
            let (case, interview, v) = if fresh {
                let (case, _) = w.case_at("taken").await;
                w.interview_on(case, mediator).await
            } else {
                (1, 1, 1)
            };
            let path = op
                .path
                .replace("{id}", &case.to_string())
                .replace("{sub}", &interview.to_string());
            let body = match op.id.as_str() {
                "hold_interview" => json!({"version": v, "notes": "colloquio svolto con la mediatrice"}),
                "answer_booking" => json!({"version": v, "answer": "accepted"}),
                _ => json!({"version": v}),
            };
            let r = ok(path).json(body);
            vec![r.clone(), r.case("the same answer again")]
        }
        "add_task" | "raise_flag" | "add_note" | "record_assessment" => {
            let (case, _) = if fresh { w.case_at("taken").await } else { (1, 1) };
            let body = match op.id.as_str() {
                "add_task" => json!({"kind": "call_back_referrer", "due_at": "2026-11-26T10:00", "note": "richiamare"}),
                "raise_flag" => json!({"kind": "risk_to_staff", "reason": "minacce all'operatrice"}),
                "add_note" => json!({"body": "prima nota di valutazione"}),
                _ => json!({"answers": {"dr_nature_job": "present", "mc_threats": "unknown"}, "agencies": ["police"]}),
            };
            vec![ok(op.at(&case.to_string())).json(body)]
        }
        "finish_task" | "clear_flag" => {
            let (case, sub) = if fresh {
                let (case, _) = w.case_at("taken").await;
                let (path, body) = match op.id.as_str() {
                    "finish_task" => ("tasks", json!({"kind": "other", "due_at": "2026-11-26T10:00"})),
                    _ => ("flags", json!({"kind": "health", "reason": "terapia in corso"})),
                };
                let r = w
                    .expect(
                        "coordinator",
                        Method::POST,
                        &format!("/api/v1/cases/{case}/{path}"),
                        Some(body),
                        StatusCode::CREATED,
                    )
                    .await;
                (case, r["id"].as_i64().expect("id"))
            } else {
                (1, 1)
            };
            let r = ok(op
                .path
                .replace("{id}", &case.to_string())
                .replace("{sub}", &sub.to_string()));
            vec![r.clone(), r.case("done already")]
        }
        "decide_outcome" => {
            let (case, _) = if fresh { w.case_at("interviewed").await } else { (1, 1) };
            let (early, _) = if fresh { w.case_at("taken").await } else { (1, 1) };
            vec![
                ok(op.at(&case.to_string())).json(json!({"kind": "interview"})),
                Req::new("before any interview", op.at(&early.to_string())).json(json!({"kind": "counselling"})),
            ]
        }
        "answer_transfer" => {
            let (case, outcome) = if fresh {
                let (case, _) = w.case_at("interviewed").await;
                let r = w
                    .expect(
                        "coordinator",
                        Method::POST,
                        &format!("/api/v1/cases/{case}/outcomes"),
                        Some(json!({"kind": "transfer", "project_id": "lombardia", "consent": true})),
                        StatusCode::CREATED,
                    )
                    .await;
                (case, r["id"].as_i64().expect("id"))
            } else {
                (1, 1)
            };
            let r = ok(op
                .path
                .replace("{id}", &case.to_string())
                .replace("{sub}", &outcome.to_string()))
            .json(json!({"state": "accepted"}));
            vec![r.clone(), r.case("answered already")]
        }
        "calendar" => vec![ok(op.path.clone()), ok(format!("{}?from=2027-01-01&days=31", op.path))],
        "list_escape_points" => vec![ok(op.path.clone())],
        "create_escape_point" => {
            let body = w.escape_point_body();
            let mut bad = body.clone();
            bad["code"] = json!(w.unique("T"));
            bad["province"] = json!("Atlantide");
            vec![
                ok(op.path.clone()).json(body.clone()),
                Req::new("code taken", op.path.clone()).json(body),
                Req::new("unknown province", op.path.clone()).json(bad),
            ]
        }
        "escape_point_board" => vec![
            ok(op.path.clone()),
            ok(format!(
                "{}?gender=female&children=true&language=en&province=PA",
                op.path
            )),
            Req::new("unknown province", format!("{}?province=Atlantide", op.path)),
        ],
        "observatory_table" => vec![
            ok(format!("{}?from=2026-01-01&to=2026-12-31", op.path)),
            ok(format!(
                "{}?measure=persons&rows=gender&cols=source_kind&from=2026-01-01&to=2026-12-31&region=Veneto",
                op.path
            )),
            Req::new(
                "unknown region",
                format!("{}?from=2026-01-01&to=2026-12-31&region=Atlantide", op.path),
            ),
        ],
        "observatory_table_file" => vec![
            ok(format!("{}?from=2026-01-01&to=2026-12-31", op.path)),
            ok(format!(
                "{}?rows=year&cols=gender&from=2026-01-01&to=2026-12-31&format=json",
                op.path
            )),
            Req::new("to before from", format!("{}?from=2026-01-01&to=2025-12-31", op.path)),
        ],
        "observatory_records" => vec![
            ok(format!("{}?from=2026-01-01&to=2026-12-31", op.path)),
            Req::new(
                "two territories",
                format!("{}?from=2026-01-01&to=2026-12-31&region=05&province=VE", op.path),
            ),
        ],
        "escape_point_occupancy" => vec![
            ok(format!("{}?from=2027-01-01&to=2027-12-31", op.path)),
            Req::new("period too long", format!("{}?from=2027-01-01&to=2028-06-01", op.path)),
        ],
        "get_escape_point" => {
            let id = if fresh { w.escape_point().await } else { 1 };
            vec![ok(op.at(&id.to_string()))]
        }
        "update_escape_point" => {
            let id = if fresh { w.escape_point().await } else { 1 };
            let mut body = w.escape_point_body();
            if let Some(o) = body.as_object_mut() {
                o.remove("code");
                o.remove("address");
            }
            body["version"] = json!(1);
            body["status"] = json!("suspended");
            body["suspended_reason"] = json!("manutenzione");
            vec![ok(op.at(&id.to_string())).json(body)]
        }
        "reveal_escape_point_address" => {
            let id = match (fresh, caller) {
                (true, "operator") => w.hold("operator").await.1,
                (true, _) => w.escape_point().await,
                _ => 1,
            };
            vec![ok(op.at(&id.to_string()))]
        }
        "list_placements" => {
            let case = if fresh { w.hold("operator").await.0 } else { 1 };
            vec![
                ok(format!("{}?case_id={case}", op.path)),
                Req::new("no such case", format!("{}?case_id={NO_SUCH_ID}", op.path)),
            ]
        }
        "create_placement" => {
            let (case, point) = if fresh {
                let (case, _) = w.case_at("taken").await;
                (case, w.escape_point().await)
            } else {
                (1, 1)
            };
            let body = json!({"case_id": case, "point_id": point, "kind": "emergency", "place_type": "bed"});
            vec![
                ok(op.path.clone()).json(body.clone()),
                Req::new("no free bed", op.path.clone()).json(body),
                Req::new("no such point", op.path.clone())
                    .json(json!({"case_id": case, "point_id": 987_654_321, "kind": "hold"})),
            ]
        }
        "check_in_placement" | "release_placement" | "check_out_placement" | "turn_away_placement" => {
            let id = if fresh {
                let (_, _, id) = w.hold("operator").await;
                if op.id == "check_out_placement" {
                    w.expect(
                        "operator",
                        Method::POST,
                        &format!("/api/v1/placements/{id}/check-in"),
                        None,
                        StatusCode::OK,
                    )
                    .await;
                }
                id
            } else {
                1
            };
            let mut r = ok(op.at(&id.to_string()));
            match op.id.as_str() {
                "check_out_placement" => r = r.json(json!({"reason": "moved_on"})),
                "turn_away_placement" => r = r.json(json!({"reason": "no_space"})),
                _ => {}
            }
            vec![r.clone(), r.case("done already")]
        }
        "list_helpline_protocols" => vec![ok(op.path.clone())],
        "helpline_routing" => vec![
            ok("/api/v1/1522/routing?province=BA&language=en".into()),
            Req::new("unknown province", "/api/v1/1522/routing?province=Atlantide".into()),
        ],
        "helpline_report" => vec![
            ok("/api/v1/1522/report?from=2025-09-01&to=2025-11-30".into()),
            Req::new(
                "reversed period",
                "/api/v1/1522/report?from=2025-11-30&to=2025-09-01".into(),
            ),
        ],
        "import_helpline_switchboard" => {
            let uid = w.unique("u");
            let cdr = format!("\"\",\"x\",\"1522\",\"ivr\",\"\",\"SIP/x\",\"\",\"Queue\",\"\",\"2025-10-01 10:00:00\",\"\",\"2025-10-01 10:00:00\",5,0,\"NO ANSWER\",\"DOCUMENTATION\",\"{uid}\",\"\"\n");
            vec![ok(op.path.clone()).json(json!({"cdr": cdr, "queue_log": ""}))]
        }
        "import_helpline_chats" => {
            vec![ok(op.path.clone())
                .json(json!({"csv": "started_at,channel,first_response_seconds\n2025-10-01T10:00:00+02:00,app,12\n"}))]
        }
        "helpline_directory" => vec![
            ok("/api/v1/1522/directory?place=Puglia".into()),
            Req::new("no place", "/api/v1/1522/directory?place=%20".into()),
        ],
        "add_helpline_service" => {
            let name = w.unique("Centro antiviolenza");
            vec![ok(op.path.clone()).json(json!({"kind": "shelter", "name": name, "province": "BA", "municipality": "Bari", "address": "Via segreta 1"}))]
        }
        "reveal_helpline_service_address" => {
            let id = if fresh {
                let name = w.unique("Casa rifugio");
                w.helpline_shelter(&name).await
            } else {
                1
            };
            vec![
                ok(op.at(&id.to_string())),
                Req::new("no such service", op.at(NO_SUCH_ID)),
            ]
        }
        "create_helpline_contact" => {
            vec![ok(op.path.clone())
                .json(json!({"channel": "phone", "reason": "violence_help", "referrals": ["police"]}))]
        }
        other => panic!("the walk does not know the operation `{other}`: teach `valid` how to call it"),
    }
}

/// Bad variants of a valid request, each naming what it breaks.
fn invalid(op: &Op, base: &Req, caller: &Caller) -> Vec<Req> {
    let mut out = Vec::new();
    if op.has_id() {
        out.push(
            Req {
                path: op.at(NO_SUCH_ID),
                ..base.clone()
            }
            .case("no such id"),
        );
        out.push(
            Req {
                path: op.at("x"),
                ..base.clone()
            }
            .case("id not a number"),
        );
    }
    if !op.params("query").is_empty() {
        let sep = if base.path.contains('?') { '&' } else { '?' };
        out.push(
            Req {
                path: format!("{}{sep}bogus=1", base.path),
                ..base.clone()
            }
            .case("unknown query parameter"),
        );
    }
    if op.json_body() {
        let mut r = base.clone().case("malformed JSON");
        r.body = Some(("application/json", b"{\"version\": ".to_vec()));
        out.push(r);
        out.push(
            base.clone()
                .case("control character")
                .json(json!({"version": 1, "note": "bell\u{7}"})),
        );
        let mut r = base.clone().case("larger than the limit");
        r.body = Some((
            "application/json",
            format!("{{\"note\": \"{}\"}}", "x".repeat(BODY_LIMIT)).into_bytes(),
        ));
        out.push(r);
    }
    if op.any_body() {
        let mut r = base.clone().case("wrong content type");
        r.body = Some(("text/plain", b"hello".to_vec()));
        out.push(r);
    }
    if op.versioned() {
        let body = base.json_value().unwrap_or(json!({}));
        let mut without = body.clone();
        if let Some(o) = without.as_object_mut() {
            o.remove("version");
        }
        out.push(
            base.clone()
                .case("no version")
                .without_header("if-match")
                .json(without.clone()),
        );
        out.push(
            base.clone()
                .case("bad If-Match")
                .header("if-match", "\"three\"")
                .json(without.clone()),
        );
        let mut stale = body;
        if let Some(o) = stale.as_object_mut() {
            if o.contains_key("version") {
                o.insert("version".into(), json!(999));
            }
        }
        out.push(
            base.clone()
                .case("stale version")
                .header("if-match", "\"999\"")
                .json(stale),
        );
    }
    // A reference to a record that does not exist.
    let dangling: Option<&[(&str, Value)]> = match op.id.as_str() {
        "create_token" => Some(&[("org_id", json!(987_654_321))]),
        "create_user" | "update_user" => Some(&[("org_id", json!(987_654_321)), ("role", json!("referrer"))]),
        "create_shift" => Some(&[("user_id", json!(987_654_321))]),
        "create_call" => Some(&[
            ("outcome", json!("referral_opened")),
            ("referral_id", json!(987_654_321)),
        ]),
        "create_referral" | "confirm_draft" => Some(&[("referring_org_id", json!(987_654_321))]),
        "decline_referral" => Some(&[("reason", json!("duplicate")), ("duplicate_of", json!(987_654_321))]),
        "link_person" | "reject_person" | "unlink_person" => Some(&[("referral_id", json!(987_654_321))]),
        _ => None,
    };
    if let (Some(fields), Some(mut body)) = (dangling, base.json_value()) {
        for (k, v) in fields {
            body[*k] = v.clone();
        }
        out.push(base.clone().case("a reference to no record").json(body));
    }
    if op.changes() && caller.by_session() {
        let mut r = base.clone().case("no CSRF token");
        r.no_csrf = true;
        out.push(r);
    }
    out
}

// ----- the tally -----

#[derive(Default)]
struct Tally {
    failures: Vec<String>,
    validated: usize,
    /// Statuses seen, by operation id.
    seen: BTreeMap<String, BTreeSet<String>>,
    /// (operation, caller) pairs called.
    pairs: BTreeSet<(String, String)>,
}

impl Tally {
    /// Checks one answer against the document.
    fn check(&mut self, v: &Validator, op: &Op, who: &str, case: &str, r: &Reply) {
        let status = r.status.as_u16().to_string();
        let what = format!("{} ({} {}) as {who}, {case}: {status}", op.id, op.method, op.path);
        self.pairs.insert((op.id.clone(), who.to_owned()));
        self.seen.entry(op.id.clone()).or_default().insert(status.clone());
        let Some(doc) = op.spec["responses"].get(&status) else {
            self.failures.push(format!("{what} is not documented: {}", r.body));
            return;
        };
        if r.status.is_server_error() {
            self.failures.push(format!("{what}: a server error: {}", r.body));
        }
        let content_type = r
            .header("content-type")
            .map(|c| c.split(';').next().unwrap_or_default().trim().to_owned());
        let content = doc["content"].as_object().filter(|c| !c.is_empty());
        let Some(content) = content else {
            if !r.body.is_empty() {
                self.failures
                    .push(format!("{what}: a body where the document has none: {}", r.body));
            }
            self.headers(doc, &what, r);
            self.validated += 1;
            return;
        };
        let Some(media) = content_type.as_deref().filter(|c| content.contains_key(*c)) else {
            self.failures.push(format!(
                "{what}: content type {content_type:?}, documented {:?}",
                content.keys().collect::<Vec<_>>()
            ));
            return;
        };
        // A file (a letter's PDF): its type is checked, it has no JSON schema to meet.
        if !media.ends_with("json") {
            if r.status.as_u16() >= 400 {
                self.failures.push(format!("{what}: an error as {media}"));
            }
            self.headers(doc, &what, r);
            self.validated += 1;
            return;
        }
        if r.status.as_u16() >= 400 && media != "application/problem+json" {
            self.failures.push(format!("{what}: an error as {media}"));
        }
        let body: Value = match serde_json::from_str(&r.body) {
            Ok(b) => b,
            Err(e) => {
                self.failures.push(format!("{what}: not JSON ({e}): {}", r.body));
                return;
            }
        };
        if media == "application/problem+json"
            && (body["status"] != r.status.as_u16()
                || !body["type"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("urn:varco:problem:")))
        {
            self.failures.push(format!(
                "{what}: a problem that does not say its status and type: {body}"
            ));
        }
        let errors = v.errors(&content[media]["schema"], &body);
        if !errors.is_empty() {
            self.failures
                .push(format!("{what}: the body breaks its schema: {errors:?}\n{body}"));
        }
        self.headers(doc, &what, r);
        self.validated += 1;
    }

    /// `ETag` and `Location`: sent exactly where the document says (on success; errors may).
    fn headers(&mut self, doc: &Value, what: &str, r: &Reply) {
        for name in ["ETag", "Location"] {
            let documented = doc["headers"].get(name).is_some();
            let sent = r.header(name).is_some();
            if sent && !documented {
                self.failures.push(format!("{what}: sends {name}, not documented"));
            }
            if documented && !sent && r.status.is_success() {
                self.failures.push(format!("{what}: documents {name}, not sent"));
            }
        }
    }
}

// ----- the walk -----

async fn world(b: Backend) -> World {
    let u: Unit = unit_with(b, |s| s.body_limit = BODY_LIMIT).await;
    let Unit {
        mut admin,
        coord,
        op,
        cas,
        ct_verona: ct,
        op_id,
        ..
    } = u;
    let login = |username: &'static str| {
        let mut app = TestApp::sibling(&admin);
        async move {
            assert_eq!(
                app.login(username, PASSWORD).await.status,
                StatusCode::SEE_OTHER,
                "{username}"
            );
            app
        }
    };
    let mediator = login("mediatrice.edo").await;
    admin.user("ref.cas").role("referrer").org(cas).create().await;
    admin.user("ct.verona").role("commission").org(ct).create().await;
    admin.user("osservatorio").role("analyst").create().await;
    let target_org = admin.org("Cooperativa da rinominare").kind("ngo").create().await;
    let target_user = admin.user("utente.da.modificare").create().await;
    let login = |username: &'static str| {
        let mut app = TestApp::sibling(&admin);
        async move {
            assert_eq!(
                app.login(username, PASSWORD).await.status,
                StatusCode::SEE_OTHER,
                "{username}"
            );
            app
        }
    };
    let referrer = login("ref.cas").await;
    let commission = login("ct.verona").await;
    let analyst = login("osservatorio").await;
    let r = admin
        .api(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"org_id": ct, "role": "commission", "label": "gestionale della commissione"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let secret = r.json()["secret"].as_str().expect("secret").to_owned();
    let nobody = TestApp::sibling(&admin);
    let bogus = TestApp::sibling(&admin);
    let token_app = TestApp::sibling(&admin);
    let caller = |name, role, app, token| Caller { name, role, app, token };
    let callers = vec![
        caller("nobody", None, nobody, None),
        caller(
            "bad token",
            None,
            bogus,
            Some("vrc_not-a-token-anyone-was-given".into()),
        ),
        caller("admin", Some(Role::Admin), admin, None),
        caller("coordinator", Some(Role::Coordinator), coord, None),
        caller("operator", Some(Role::Operator), op, None),
        caller("mediator", Some(Role::Mediator), mediator, None),
        caller("referrer", Some(Role::Referrer), referrer, None),
        caller("commission", Some(Role::Commission), commission, None),
        caller("analyst", Some(Role::Analyst), analyst, None),
        caller("commission token", Some(Role::Commission), token_app, Some(secret)),
    ];
    let mut w = World {
        callers,
        cas,
        ct,
        op_id,
        target_org,
        target_user,
        r_unit: 0,
        r_ref: 0,
        r_com: 0,
        n: 0,
    };
    w.r_unit = w.unit_referral().await;
    w.r_ref = w.file("referrer", referrer_report(cas)).await;
    w.r_com = w.commission_referral().await;
    // Some of everything the lists show.
    w.expect(
        "operator",
        Method::POST,
        "/api/v1/hotline/calls",
        Some(json!({"language": "ro", "caller_kind": "private_citizen", "province": "PD", "outcome": "diverted"})),
        StatusCode::CREATED,
    )
    .await;
    let r_unit = w.r_unit;
    let v = w.version("coordinator", &format!("/api/v1/referrals/{r_unit}")).await;
    w.expect(
        "coordinator",
        Method::POST,
        &format!("/api/v1/referrals/{r_unit}/feedback"),
        Some(json!({"version": v, "body": "ricevuta"})),
        StatusCode::OK,
    )
    .await;
    w.draft().await;
    w.token().await;
    let app = &w.callers[2].app;
    let transport = varco::notify::Transport::from_settings(&app.settings).expect("transport");
    varco::notify::dispatch_due(&app.state.db, &transport, &app.state.settings, &app.state.clock)
        .await
        .expect("dispatch");
    w
}

async fn the_document_describes_every_answer_of_every_operation(b: Backend) {
    let doc: Value = serde_json::from_str(varco::openapi::document_json()).expect("the document is JSON");
    let v = Validator::new(&doc);
    let ops = operations(&doc);
    let mut w = world(b).await;
    let mut t = Tally::default();
    for op in &ops {
        for i in 0..w.callers.len() {
            let (name, allowed, by_session) = {
                let c = &w.callers[i];
                (c.name, c.allowed(op), c.by_session())
            };
            let mut reqs = valid(&mut w, op, name, allowed).await;
            if allowed {
                let extra: Vec<Req> = invalid(op, &reqs[0], &w.callers[i]);
                reqs.extend(extra);
                // Twice: a duplicate, a replay, or a record already gone.
                let again = match op.id.as_str() {
                    "create_referral" => Some(
                        reqs[0]
                            .clone()
                            .case("retried with its Idempotency-Key")
                            .header("idempotency-key", format!("retry-{name}")),
                    ),
                    "create_org"
                    | "create_user"
                    | "create_shift"
                    | "revoke_token"
                    | "delete_shift"
                    | "draft_feedback_letters" => Some(reqs[0].clone().case("sent twice")),
                    _ => None,
                };
                if let Some(again) = again {
                    reqs.insert(1, again.clone());
                    reqs.insert(1, again);
                }
            } else if op.changes() && by_session {
                let mut r = reqs[0].clone().case("no CSRF token");
                r.no_csrf = true;
                reqs.push(r);
            }
            for req in reqs {
                let r = call(&mut w.callers[i], &op.method, &req).await;
                t.check(&v, op, name, &req.case, &r);
            }
        }
    }
    // A message over the 32 MB an email may have.
    let import = ops.iter().find(|o| o.id == "import_draft").expect("import_draft");
    let mut big = Req::new("a message over 32 MB", import.path.clone());
    big.body = Some(("message/rfc822", vec![b'x'; 33 * 1024 * 1024]));
    let operator = w.callers.iter_mut().find(|c| c.name == "operator").expect("operator");
    let r = call(operator, &Method::POST, &big).await;
    t.check(&v, import, "operator", &big.case, &r);
    let mut garbage = Req::new("not a message", import.path.clone());
    garbage.body = Some(("message/rfc822", b"\x00\x01 not a message".to_vec()));
    let r = call(operator, &Method::POST, &garbage).await;
    t.check(&v, import, "operator", &garbage.case, &r);

    // Each role gets the view the document names for it.
    for (who, id, view) in [
        ("coordinator", w.r_unit, "ReferralView"),
        ("mediator", w.r_unit, "MediatorCaseView"),
        ("referrer", w.r_ref, "OutsideView"),
        ("commission", w.r_com, "OutsideView"),
        ("commission token", w.r_com, "OutsideView"),
    ] {
        let c = w.callers.iter_mut().find(|c| c.name == who).expect("caller");
        let r = call(c, &Method::GET, &Req::new("view", format!("/api/v1/referrals/{id}"))).await;
        assert_eq!(r.status, StatusCode::OK, "{who}: {}", r.body);
        let errors = v.errors(&json!({"$ref": format!("#/components/schemas/{view}")}), &r.json());
        assert!(errors.is_empty(), "{who} must receive {view}: {errors:?}");
    }
    for (who, line) in [("operator", "ReferralSummary"), ("referrer", "OutsideView")] {
        let c = w.callers.iter_mut().find(|c| c.name == who).expect("caller");
        let list = call(c, &Method::GET, &Req::new("view", "/api/v1/referrals".into()))
            .await
            .json();
        let items = list.as_array().expect("a list");
        assert!(!items.is_empty(), "{who} sees referrals");
        for item in items {
            let errors = v.errors(&json!({"$ref": format!("#/components/schemas/{line}")}), item);
            assert!(errors.is_empty(), "{who} must receive {line} lines: {errors:?}");
        }
    }

    assert!(
        t.failures.is_empty(),
        "{} answers disagree with the document:\n{}",
        t.failures.len(),
        t.failures.join("\n\n")
    );
    assert_eq!(
        ops.len(),
        32 + 5 + 8 + 17 + 13 + 9 + 3,
        "the operations walked (the outbox's retry among the first 32, with the persons' 5, written feedback's 8, casework's 17, placements' 13, the 1522's 9, the observatory's 3)"
    );
    assert_eq!(
        t.pairs.len(),
        ops.len() * w.callers.len(),
        "every operation, every caller"
    );
    assert!(t.validated > 700, "answers validated: {}", t.validated);
    // Every status the document lists for an operation was answered by it (503 needs the
    // database down), and every operation succeeded at least once.
    let mut unseen = Vec::new();
    for op in &ops {
        let seen = t.seen.get(&op.id).cloned().unwrap_or_default();
        for status in op.spec["responses"].as_object().expect("responses").keys() {
            if status != "503" && !seen.contains(status) {
                unseen.push(format!("{} {status}", op.id));
            }
        }
    }
    assert!(unseen.is_empty(), "documented but never answered: {unseen:?}");
    eprintln!(
        "openapi walk: {} operations x {} callers, {} answers validated",
        ops.len(),
        w.callers.len(),
        t.validated
    );
}
both!(the_document_describes_every_answer_of_every_operation);

/// Every enum value the document lists for a query parameter or a JSON body field, sent where
/// the document says: the server understands it (never a 400), and its answer is as documented.
async fn every_enum_value_in_the_document_is_understood(b: Backend) {
    let doc: Value = serde_json::from_str(varco::openapi::document_json()).expect("the document is JSON");
    let v = Validator::new(&doc);
    let ops = operations(&doc);
    let mut w = world(b).await;
    let mut t = Tally::default();
    let mut sent = 0;
    let mut covered: BTreeSet<(String, String)> = BTreeSet::new();
    for op in &ops {
        let Some(i) = ["coordinator", "admin", "mediator", "commission", "operator"]
            .iter()
            .filter_map(|n| w.callers.iter().position(|c| c.name == *n))
            .find(|&i| w.callers[i].allowed(op))
        else {
            continue;
        };
        let name = w.callers[i].name;
        // Where enums go: query parameters, body fields and the fields of body objects.
        let mut slots: Vec<(Vec<String>, bool, Vec<Value>)> = Vec::new();
        for p in op.params("query") {
            if let Some((is_array, values)) = v.enum_values(&p["schema"]) {
                slots.push((
                    vec![p["name"].as_str().unwrap_or_default().to_owned()],
                    is_array,
                    values,
                ));
            }
        }
        let body_schema = v.target(&op.spec["requestBody"]["content"]["application/json"]["schema"]);
        let body_name = op.spec["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        for (field, schema) in body_schema["properties"].as_object().into_iter().flatten() {
            if let Some((is_array, values)) = v.enum_values(schema) {
                slots.push((vec![field.clone()], is_array, values));
            } else if let Some(inner) = v.target(schema)["properties"].as_object() {
                for (sub, schema) in inner {
                    if let Some((is_array, values)) = v.enum_values(schema) {
                        slots.push((vec![field.clone(), sub.clone()], is_array, values));
                    }
                }
            }
        }
        for (field, is_array, values) in slots {
            let in_query = op.params("query").iter().any(|p| p["name"] == field[0].as_str());
            // A body type shared by two operations is read by the same code: once is enough.
            if !in_query && !body_name.is_empty() && !covered.insert((body_name.clone(), field.join("."))) {
                continue;
            }
            for value in values {
                let base = valid(&mut w, op, name, true).await.remove(0);
                let code = value.as_str().unwrap_or_default().to_owned();
                let mut req = base.clone().case(&format!("{} = {code}", field.join(".")));
                if in_query {
                    let sep = if base.path.contains('?') { '&' } else { '?' };
                    req.path = format!("{}{sep}{}={}", base.path, field[0], urlencode(&code));
                } else {
                    let mut body = base.json_value().expect("a JSON body");
                    let slot = field.iter().fold(&mut body, |at, key| {
                        if !at[key.as_str()].is_object() && key != field.last().expect("a field") {
                            at[key.as_str()] = json!({});
                        }
                        &mut at[key.as_str()]
                    });
                    *slot = if is_array { json!([value]) } else { value.clone() };
                    req = req.json(body);
                }
                let r = call(&mut w.callers[i], &op.method, &req).await;
                sent += 1;
                if r.status == StatusCode::BAD_REQUEST {
                    t.failures.push(format!(
                        "{} as {name}: {} = {code} is not understood: {}",
                        op.id,
                        field.join("."),
                        r.body
                    ));
                }
                t.check(&v, op, name, &req.case, &r);
            }
        }
    }
    assert!(t.failures.is_empty(), "{}", t.failures.join("\n\n"));
    assert!(sent > 150, "enum values sent: {sent}");
    eprintln!("openapi enums: {sent} values sent, {} answers validated", t.validated);

    // Every role the document lists can be given to a user.
    let roles = doc["components"]["schemas"]["Role"]["enum"]
        .as_array()
        .expect("roles")
        .clone();
    assert_eq!(roles.len(), Role::ALL.len());
    for role in roles {
        let role = role.as_str().expect("a code");
        let org = match role {
            "referrer" => Some(w.cas),
            "commission" => Some(w.ct),
            _ => None,
        };
        let mut body = json!({"username": format!("nuovo.{role}"), "role": role, "password": PASSWORD});
        if let Some(org) = org {
            body["org_id"] = json!(org);
        }
        w.expect("admin", Method::POST, "/api/v1/users", Some(body), StatusCode::CREATED)
            .await;
    }
}
both!(every_enum_value_in_the_document_is_understood);

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)]).expect("encode")[2..].to_owned()
}
