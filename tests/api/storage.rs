//! Typed storage and the lifecycle: stored codes that the enums do not know are errors, the
//! database's CHECK constraints list exactly the enums' codes, illegal transitions are refused,
//! and a database of the earlier schema is upgraded with its plain personal fields sealed.

use awc::http::{Method, StatusCode};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::{json, Value};
use varco::db::DbConn;

use crate::both;
use crate::helpers::{spawn_on, Backend, TestApp};
use crate::referrals::{cas_report, case, file, unit};

/// Runs SQL directly on the test's database.
pub fn sql(app: &TestApp, statements: &str) {
    let mut conn = app.state.db.conn().expect("conn");
    conn.batch_execute(statements)
        .unwrap_or_else(|e| panic!("{statements}: {e}"));
}

async fn a_stored_unknown_code_is_an_error_never_a_default(b: Backend) {
    let mut u = unit(b).await;
    let id = file(&mut u.op, cas_report(u.cas)).await["id"].as_i64().expect("id");
    // A corrupt status (the CHECK constraint is bypassed to store it): before typed storage it
    // read as `new`, and the referral could be acted on again.
    match b {
        Backend::Sqlite => {
            let mut conn = u.op.state.db.conn().expect("conn");
            conn.batch_execute(&format!(
                "PRAGMA ignore_check_constraints = ON; UPDATE referrals SET status = 'bogus' WHERE id = {id}; \
                 PRAGMA ignore_check_constraints = OFF;"
            ))
            .expect("corrupt");
        }
        Backend::Postgres => sql(
            &u.op,
            &format!("ALTER TABLE referrals DROP CONSTRAINT referrals_status; UPDATE referrals SET status = 'bogus' WHERE id = {id};"),
        ),
    }
    let r = u.op.get(&format!("/api/v1/referrals/{id}")).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.body);
    assert!(!r.body.contains("bogus"), "the cause is logged, not shown: {}", r.body);
    let r =
        u.op.api(
            Method::POST,
            &format!("/api/v1/referrals/{id}/take-charge"),
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "never acted on: {}",
        r.body
    );
    let list = u.op.get("/api/v1/referrals").await;
    assert_eq!(
        list.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "a list with it fails too"
    );
}
both!(a_stored_unknown_code_is_an_error_never_a_default);

/// Every stored vocabulary: table, column, the codes its enum declares.
fn vocabularies() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    use varco::audit::{ActorKind, Outcome};
    use varco::domain::{OrgKind, Role, SourceKind, StationLanguage};
    use varco::hotline::model::{CallOutcome, CallerKind};
    use varco::referrals::vocab::{
        AgeBand, Channel, ConsentScope, ContactRoute, DeclineReason, EmergenceContext, EventKind, ExploitationType,
        Gender, LabourSector, RecruiterRelation, Status, Urgency,
    };
    use varco::roster::{Duty, ShiftMode};
    let v = |codes: &'static [&'static str]| codes.to_vec();
    vec![
        ("organisations", "kind", v(OrgKind::CODES)),
        ("users", "role", v(Role::CODES)),
        (
            "api_tokens",
            "role",
            Role::TOKEN_ROLES.iter().map(|r| r.as_str()).collect(),
        ),
        ("audit_log", "actor_kind", v(ActorKind::CODES)),
        ("audit_log", "actor_role", v(Role::CODES)),
        ("audit_log", "outcome", v(Outcome::CODES)),
        ("referrals", "status", v(Status::CODES)),
        ("referrals", "channel", v(Channel::CODES)),
        ("referrals", "source_kind", v(SourceKind::CODES)),
        ("referrals", "urgency", v(Urgency::CODES)),
        ("referrals", "person_gender", v(Gender::CODES)),
        ("referrals", "person_age_band", v(AgeBand::CODES)),
        ("referrals", "person_age_broad", v(varco::domain::AgeBroad::CODES)),
        ("referrals", "emergence_context", v(EmergenceContext::CODES)),
        ("referral_decisions", "decline_reason", v(DeclineReason::CODES)),
        ("referral_exploitation", "exploitation", v(ExploitationType::CODES)),
        ("referral_labour_sectors", "sector", v(LabourSector::CODES)),
        ("referral_recruiter_relations", "relation", v(RecruiterRelation::CODES)),
        ("referral_consents", "scope", v(ConsentScope::CODES)),
        ("referral_consents", "contact_route", v(ContactRoute::CODES)),
        ("referral_events", "kind", v(EventKind::CODES)),
        (
            "referral_routing",
            "mediator_answer",
            v(varco::referrals::vocab::MediatorAnswer::CODES),
        ),
        (
            "escape_points",
            "status",
            v(varco::placements::vocab::PointStatus::CODES),
        ),
        ("placements", "kind", v(varco::placements::vocab::PlacementKind::CODES)),
        (
            "placements",
            "place_type",
            v(varco::placements::vocab::PlaceType::CODES),
        ),
        (
            "placements",
            "status",
            v(varco::placements::vocab::PlacementStatus::CODES),
        ),
        (
            "placements",
            "check_out_reason",
            v(varco::placements::vocab::CheckOutReason::CODES),
        ),
        (
            "placements",
            "turn_away_reason",
            v(varco::placements::vocab::TurnAwayReason::CODES),
        ),
        ("cases", "status", v(varco::casework::vocab::CaseStatus::CODES)),
        (
            "helpline_calls",
            "direction",
            v(varco::helpline::vocab::CallDirection::CODES),
        ),
        (
            "helpline_calls",
            "outcome",
            v(varco::helpline::vocab::CallOutcome::CODES),
        ),
        (
            "helpline_chats",
            "channel",
            v(varco::helpline::vocab::ChatChannel::CODES),
        ),
        (
            "helpline_contacts",
            "channel",
            v(varco::helpline::vocab::ContactChannel::CODES),
        ),
        ("helpline_contacts", "who", v(varco::helpline::vocab::Contacter::CODES)),
        (
            "helpline_contacts",
            "reason",
            v(varco::helpline::vocab::ContactReason::CODES),
        ),
        (
            "helpline_contacts",
            "learned_from",
            v(varco::helpline::vocab::LearnedFrom::CODES),
        ),
        (
            "helpline_contact_referrals",
            "target",
            v(varco::helpline::vocab::ReferralTarget::CODES),
        ),
        (
            "helpline_services",
            "kind",
            v(varco::helpline::vocab::ServiceKind::CODES),
        ),
        ("case_events", "kind", v(varco::casework::vocab::CaseEventKind::CODES)),
        ("case_tasks", "kind", v(varco::casework::vocab::TaskKind::CODES)),
        ("case_flags", "kind", v(varco::casework::vocab::FlagKind::CODES)),
        ("interviews", "kind", v(varco::casework::vocab::InterviewKind::CODES)),
        (
            "interviews",
            "status",
            v(varco::casework::vocab::InterviewStatus::CODES),
        ),
        ("interviews", "setting", v(varco::casework::vocab::Setting::CODES)),
        (
            "interviews",
            "mediator_answer",
            v(varco::referrals::vocab::MediatorAnswer::CODES),
        ),
        ("assessment_answers", "answer", v(varco::casework::vocab::Answer::CODES)),
        (
            "assessment_agencies",
            "agency",
            v(varco::casework::vocab::Agency::CODES),
        ),
        ("case_outcomes", "kind", v(varco::casework::vocab::OutcomeKind::CODES)),
        (
            "case_outcomes",
            "transfer_state",
            v(varco::casework::vocab::TransferState::CODES),
        ),
        ("hotline_calls", "language", v(StationLanguage::CODES)),
        ("hotline_calls", "caller_kind", v(CallerKind::CODES)),
        ("hotline_calls", "outcome", v(CallOutcome::CODES)),
        ("shifts", "duty", v(Duty::CODES)),
        ("shifts", "mode", v(ShiftMode::CODES)),
        ("outbox", "kind", v(varco::notify::Template::CODES)),
        ("outbox", "status", v(varco::notify::Status::CODES)),
        (
            "feedback_letters",
            "recipient_role",
            v(varco::casework::feedback::RecipientRole::CODES),
        ),
        (
            "feedback_letters",
            "status",
            v(varco::casework::feedback::LetterStatus::CODES),
        ),
        (
            "feedback_letters",
            "delivery",
            v(varco::casework::feedback::Delivery::CODES),
        ),
        (
            "referral_blind",
            "purpose",
            v(varco::domain::names::BlindPurpose::CODES),
        ),
        ("index_keys", "purpose", v(varco::domain::names::IndexKeyPurpose::CODES)),
        ("match_decisions", "decision", v(varco::persons::model::Decision::CODES)),
    ]
}

fn quoted(text: &str) -> Vec<String> {
    text.split('\'').skip(1).step_by(2).map(str::to_owned).collect()
}

async fn every_stored_vocabulary_has_a_check_listing_exactly_its_codes(b: Backend) {
    let app = crate::helpers::spawn(b).await;
    let mut conn = app.state.db.conn().expect("conn");
    #[derive(QueryableByName)]
    struct Text {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    for (table, column, codes) in vocabularies() {
        let found: Vec<String> = match b {
            Backend::Sqlite => {
                let ddl: Text = diesel::sql_query(format!(
                    "SELECT sql AS t FROM sqlite_master WHERE type = 'table' AND name = '{table}'"
                ))
                .get_result(&mut *conn)
                .expect("table");
                // The column's own constraint is the first `column IN (…)` of its table.
                let marker = format!("{column} IN (");
                let start = ddl
                    .t
                    .find(&marker)
                    .unwrap_or_else(|| panic!("no CHECK on {table}.{column}"));
                let end = ddl.t[start..].find(')').expect("closing") + start;
                quoted(&ddl.t[start..end])
            }
            Backend::Postgres => {
                let defs: Vec<Text> = diesel::sql_query(format!(
                    "SELECT pg_get_constraintdef(c.oid) AS t FROM pg_constraint c JOIN pg_class r ON c.conrelid = r.oid \
                     WHERE r.relname = '{table}' AND c.contype = 'c' AND c.conname IN ('{table}_{column}', '{table}_{column}_check')"
                ))
                .load(&mut *conn)
                .expect("constraints");
                assert_eq!(defs.len(), 1, "one CHECK on {table}.{column}");
                quoted(&defs[0].t)
            }
        };
        let mut want: Vec<String> = codes.iter().map(|c| (*c).to_owned()).collect();
        let mut got = found;
        want.sort();
        got.sort();
        assert_eq!(got, want, "{table}.{column}");
    }
}
both!(every_stored_vocabulary_has_a_check_listing_exactly_its_codes);

async fn an_illegal_transition_is_refused_naming_the_state_and_the_action(b: Backend) {
    let mut u = unit(b).await;
    let id = file(&mut u.op, cas_report(u.cas)).await["id"].as_i64().expect("id");
    let r =
        u.op.api(
            Method::POST,
            &format!("/api/v1/referrals/{id}/decline"),
            Some(json!({"version": 1, "reason": "redirected_1522", "note": "donna maltrattata dal marito"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r =
        u.op.api(
            Method::POST,
            &format!("/api/v1/referrals/{id}/take-charge"),
            Some(json!({"version": 2})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let p = r.json();
    assert_eq!(p["type"], "urn:varco:problem:illegal-transition");
    assert_eq!(
        (p["state"].as_str(), p["action"].as_str()),
        (Some("declined"), Some("take_charge"))
    );
    let c = case(&mut u.op, id).await;
    assert_eq!(
        (c["status"].as_str(), c["version"].as_i64()),
        (Some("declined"), Some(2))
    );
    assert_eq!(
        c["decision_note"], "donna maltrattata dal marito",
        "the sealed note opens"
    );
    // A stale version is told apart from an illegal action: the version is checked first.
    let r =
        u.op.api(
            Method::POST,
            &format!("/api/v1/referrals/{id}/feedback"),
            Some(json!({"version": 1, "body": "grazie"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["current_version"], 2);
}
both!(an_illegal_transition_is_refused_naming_the_state_and_the_action);

/// Applies the first `n` migrations of the backend to a connection.
fn migrate_to(conn: &mut DbConn, n: usize) {
    use diesel_migrations::MigrationHarness;
    for _ in 0..n {
        match conn {
            DbConn::Sqlite(c) => {
                c.run_next_migration(varco::db::SQLITE_MIGRATIONS).expect("migration");
            }
            DbConn::Pg(c) => {
                c.run_next_migration(varco::db::POSTGRES_MIGRATIONS).expect("migration");
            }
        }
    }
}

/// Rows as the earlier schema (migrations 1 and 2) stored them: personal fields in plain text,
/// multi-valued facts comma-joined, staff named in history details.
const LEGACY: &str = "
INSERT INTO organisations (id, name, kind, province, region, active, version, created_at, updated_at)
    VALUES (1, 'CAS Cona', 'cas', '027', '05', TRUE, 1, '2026-11-01 10:00:00', '2026-11-01 10:00:00');
INSERT INTO organisations (id, name, kind, active, version, created_at, updated_at)
    VALUES (2, 'Commissione Territoriale di Verona', 'territorial_commission', TRUE, 1, '2026-11-01 10:00:00', '2026-11-01 10:00:00');
INSERT INTO users (id, username, display_name, role, password_hash, disabled, failed_logins, password_changed_at,
        version, created_at, updated_at, languages)
    VALUES (1, 'mediatrice', 'Mediatrice', 'mediator', 'x', FALSE, 0, '2026-11-01 10:00:00', 1,
        '2026-11-01 10:00:00', '2026-11-01 10:00:00', 'en,pcm,edo');
INSERT INTO referrals (id, reference, status, channel, source_kind, referring_org_id, received_at, urgency,
        person_gender, person_age_band, person_minor, hosted_org_id, emergence_province, emergence_context,
        exploitation_types, indicators, indicators_version, proposed_mediator_id, decided_at, decline_reason,
        version, created_at, updated_at)
    VALUES (1, 'R-LEGACY01', 'declined', 'hotline', 'cas_operator', 1, '2026-11-02 03:00:00', 'ordinary',
        'female', '18-24', FALSE, 1, '027', 'cas_arrival', 'sexual,labour', 'debt_bondage', '2026-1', 1,
        '2026-11-02 04:00:00', 'redirected_1522', 2, '2026-11-02 03:00:00', '2026-11-02 04:00:00');
INSERT INTO referral_people (referral_id, alias, age, nationality, languages, referrer_contact, notes, decision_note)
    VALUES (1, 'Precious Legacy', 22, 'Nigeria', 'en,pcm', 'operatrice CAS', 'note in chiaro', 'nota decisione in chiaro');
INSERT INTO referral_events (referral_id, at, actor_label, kind, detail)
    VALUES (1, '2026-11-02 03:00:00', 'routing', 'mediator_proposed', 'user 1');
INSERT INTO referral_events (referral_id, at, actor_label, kind, detail)
    VALUES (1, '2026-11-02 03:00:00', 'routing', 'mediator_missing', 'ro');
INSERT INTO referral_feedback (referral_id, at, body)
    VALUES (1, '2026-11-02 05:00:00', 'restituzione in chiaro');
";

async fn an_earlier_database_is_upgraded_with_its_personal_fields_sealed(b: Backend) {
    let db = crate::testdb::empty(b);
    {
        let mut conn = match b {
            Backend::Sqlite => DbConn::Sqlite(diesel::SqliteConnection::establish(&db.url).expect("sqlite")),
            Backend::Postgres => DbConn::Pg(diesel::PgConnection::establish(&db.url).expect("pg")),
        };
        migrate_to(&mut conn, 2);
        let legacy = match b {
            Backend::Sqlite => LEGACY.replace("TRUE", "1").replace("FALSE", "0"),
            // Rows inserted with their ids leave the sequences behind them.
            Backend::Postgres => format!(
                "{LEGACY} SELECT setval('organisations_id_seq', 2); SELECT setval('users_id_seq', 1); \
                 SELECT setval('referrals_id_seq', 1);"
            ),
        };
        conn.batch_execute(&legacy).expect("legacy rows");
    }
    let path = db.url.clone();
    let mut app = spawn_on(db, b, |_| {}).await;
    // Nothing is left in plain text, and what was sealed opens.
    assert_eq!(app.count("pending_seal"), 0);
    // The referral's data key and the person-matching index key.
    assert_eq!(app.count("data_keys"), 2);
    // Indexed at start, to be found among the candidates of later referrals.
    assert!(app.count_where("referral_blind", "referral_id = 1") >= 4);
    app.setup_admin().await;
    app.user("operatrice").create().await;
    app.login("operatrice", crate::helpers::PASSWORD).await;
    let c = case(&mut app, 1).await;
    assert_eq!(c["person"]["alias"], "Precious Legacy");
    assert_eq!(c["person"]["age"], 22);
    assert_eq!(c["person"]["nationality"], "Nigeria");
    assert_eq!(c["person"]["languages"], json!(["en", "pcm"]));
    assert_eq!(c["notes"], "note in chiaro");
    assert_eq!(c["decision_note"], "nota decisione in chiaro");
    assert_eq!(c["decline_reason"], "redirected_1522");
    assert_eq!(c["exploitation_types"], json!(["labour", "sexual"]));
    assert_eq!(c["indicators"], json!(["debt_bondage"]));
    assert_eq!(c["feedback"][0]["body"], "restituzione in chiaro");
    assert_eq!(c["proposed_mediator"]["name"], "Mediatrice (edo, en, pcm)");
    let history: Vec<&Value> = c["history"].as_array().expect("history").iter().collect();
    assert_eq!(
        history[0]["about"]["id"], 1,
        "the mediator named by id, not in a detail"
    );
    assert!(
        history.iter().all(|e| e["detail"].is_null()),
        "the languages left the history"
    );
    if b == Backend::Sqlite {
        // Gone from the database file and its log (rebuilt and truncated once the values were
        // sealed).
        for f in varco::db::files::sqlite_files(std::path::Path::new(&path)) {
            if let Ok(bytes) = std::fs::read(&f) {
                assert!(
                    !contains(&bytes, b"Precious Legacy"),
                    "{} holds the plain alias",
                    f.display()
                );
            }
        }
    }
}
both!(an_earlier_database_is_upgraded_with_its_personal_fields_sealed);

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn opening_a_case_file_page_writes_one_audit_entry(b: Backend) {
    let mut u = unit(b).await;
    let id = file(&mut u.op, cas_report(u.cas)).await["id"].as_i64().expect("id");
    let page = u.op.get(&format!("/referrals/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let reads = u.admin.audit(&format!("action=referral.read&entity_id={id}")).await;
    assert_eq!(reads.len(), 1, "{reads:?}");
}
both!(opening_a_case_file_page_writes_one_audit_entry);

async fn far_off_dates_are_refused_with_400_not_a_panic(b: Backend) {
    let mut u = unit(b).await;
    for path in ["/api/v1/roster?from=+262142-12-31", "/api/v1/roster?from=0001-01-01"] {
        let r = u.op.get(path).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.body);
        assert_eq!(r.problem_fields(), vec!["from"]);
    }
    for path in ["/api/v1/audit?to=+262142-12-31", "/api/v1/audit?from=-0005-01-01"] {
        let r = u.admin.get(path).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.body);
    }
    let mut far = cas_report(u.cas);
    far["received_at"] = json!("+262142-12-31T10:00:00Z");
    let r = u.op.api(Method::POST, "/api/v1/referrals", Some(far)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.problem_fields(), vec!["received_at"]);
}
both!(far_off_dates_are_refused_with_400_not_a_panic);
