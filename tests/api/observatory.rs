//! The observatory: each indicator table on a hand-built dataset with known answers, the three
//! measures never mixed (a person reported through three channels is one person and three
//! referrals), the seed's yearly series of activations from the international-protection system
//! reproduced exactly, disclosure control that an attacker cannot undo from the margins, a
//! k-anonymous record file without a personal marker, and the analyst kept to aggregates.

use awc::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{Backend, TestApp, PASSWORD};
use crate::referrals::{cas_report, file, unit, unit_with, Unit};

/// Referrals to insert directly (fast): `n` alike.
#[derive(Clone)]
pub struct Batch {
    pub n: usize,
    pub tag: &'static str,
    /// Rome wall-clock day; the time is noon UTC.
    pub day: &'static str,
    pub channel: &'static str,
    pub source: &'static str,
    pub gender: &'static str,
    pub age_band: Option<&'static str>,
    pub minor: bool,
    pub province: Option<&'static str>,
    pub exploitation_province: Option<&'static str>,
    pub citizenship: Option<&'static str>,
    pub age_broad: Option<&'static str>,
    pub status: &'static str,
}

impl Batch {
    pub fn new(n: usize, tag: &'static str, day: &'static str) -> Batch {
        Batch {
            n,
            tag,
            day,
            channel: "hotline",
            source: "police",
            gender: "female",
            age_band: Some("18-24"),
            minor: false,
            province: Some("027"),
            exploitation_province: None,
            citizenship: None,
            age_broad: None,
            status: "new",
        }
    }
    fn source(mut self, s: &'static str) -> Self {
        self.source = s;
        self
    }
    fn gender(mut self, g: &'static str) -> Self {
        self.gender = g;
        self
    }
    fn citizenship(mut self, c: &'static str) -> Self {
        self.citizenship = Some(c);
        self
    }
    fn channel(mut self, c: &'static str) -> Self {
        self.channel = c;
        self
    }
    fn province(mut self, p: &'static str) -> Self {
        self.province = Some(p);
        self
    }
    fn status(mut self, s: &'static str) -> Self {
        self.status = s;
        self
    }
    fn age(mut self, band: &'static str, broad: &'static str, minor: bool) -> Self {
        self.age_band = Some(band);
        self.age_broad = Some(broad);
        self.minor = minor;
        self
    }
}

fn exec(app: &TestApp, sql: &str) {
    use diesel::RunQueryDsl;
    let mut conn = app.state.db.conn().expect("conn");
    diesel::sql_query(sql)
        .execute(&mut *conn)
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
}

fn opt(v: Option<&str>) -> String {
    v.map_or("NULL".to_owned(), |s| format!("'{s}'"))
}

/// Inserts the batches straight into the referrals table; references are `TAG-i`.
pub fn seed(app: &TestApp, batches: &[Batch]) {
    let mut values = Vec::new();
    for b in batches {
        for i in 0..b.n {
            values.push(format!(
                "('{}-{i}', '{}', '{}', '{}', '{} 11:00:00', 'ordinary', '{}', {}, {}, {}, {}, {}, {}, 1, '{} 11:00:00', '{} 11:00:00')",
                b.tag,
                b.status,
                b.channel,
                b.source,
                b.day,
                b.gender,
                opt(b.age_band),
                if b.minor { "TRUE" } else { "FALSE" },
                opt(b.province),
                opt(b.exploitation_province),
                opt(b.citizenship),
                opt(b.age_broad),
                b.day,
                b.day
            ));
        }
    }
    for chunk in values.chunks(400) {
        exec(
            app,
            &format!(
                "INSERT INTO referrals (reference, status, channel, source_kind, received_at, urgency, person_gender, \
                 person_age_band, person_minor, emergence_province, exploitation_province, person_citizenship, person_age_broad, \
                 version, created_at, updated_at) VALUES {}",
                chunk.join(", ")
            ),
        );
    }
}

/// Adds a row of a multi-valued fact to the referrals whose reference starts with `prefix`.
fn fact(app: &TestApp, table: &str, column: &str, prefix: &str, value: &str) {
    exec(
        app,
        &format!("INSERT INTO {table} (referral_id, {column}) SELECT id, '{value}' FROM referrals WHERE reference LIKE '{prefix}%'"),
    );
}

async fn table(app: &mut TestApp, query: &str) -> Value {
    let r = app.get(&format!("/api/v1/observatory/table?{query}")).await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
    r.json()
}

fn idx(keys: &Value, code: &str) -> usize {
    keys.as_array()
        .expect("keys")
        .iter()
        .position(|k| k["code"] == code)
        .unwrap_or_else(|| panic!("{code} not among {keys}"))
}

/// A cell by row and column codes (`all` for a frequency table's only column).
fn cell(t: &Value, row: &str, col: &str) -> Value {
    t["cells"][idx(&t["rows"], row)][idx(&t["cols"], col)].clone()
}

fn row_total(t: &Value, row: &str) -> Value {
    t["row_totals"][idx(&t["rows"], row)].clone()
}

fn col_total(t: &Value, col: &str) -> Value {
    t["col_totals"][idx(&t["cols"], col)].clone()
}

async fn login_as(u: &mut Unit, username: &str, role: &str) -> TestApp {
    u.admin.user(username).role(role).create().await;
    let mut app = TestApp::sibling(&u.admin);
    assert_eq!(app.login(username, PASSWORD).await.status, StatusCode::SEE_OTHER);
    app
}

/// Seed 004: "Nel 2014 … 11 (su 194 totali), tutte cittadine nigeriane; nel 2015 … 107 persone
/// (su 219 totali) … di cui 100 donne e 7 uomini, tutte nigeriane; ad agosto 2016 … 160 persone
/// (su 223 totali) … di cui 118 donne nigeriane e 42 uomini prevalentemente marocchini e
/// pakistani; a marzo 2017 … 159 persone (su 198 totali) … tutte donne nigeriane."
async fn the_seeds_yearly_series_is_reproduced_exactly(b: Backend) {
    let mut u = unit(b).await;
    let p = |n, tag, day, source| Batch::new(n, tag, day).source(source).citizenship("NG");
    seed(
        &u.admin,
        &[
            p(6, "A14", "2014-03-10", "cas_operator"),
            p(5, "B14", "2014-11-20", "territorial_commission"),
            Batch::new(150, "C14", "2014-06-01"),
            Batch::new(33, "D14", "2014-12-31").gender("male").source("street_unit"),
            p(60, "A15", "2015-02-01", "cas_operator"),
            p(40, "B15", "2015-09-01", "prefecture"),
            p(7, "C15", "2015-10-01", "sai_operator").gender("male"),
            Batch::new(112, "D15", "2015-05-05")
                .source("social_health_service")
                .citizenship("RO"),
            p(118, "A16", "2016-04-04", "cas_operator"),
            Batch::new(30, "B16", "2016-07-07")
                .source("prefecture")
                .gender("male")
                .citizenship("MA"),
            Batch::new(12, "C16", "2016-08-31")
                .source("territorial_commission")
                .gender("male")
                .citizenship("PK"),
            Batch::new(63, "D16", "2016-02-02"),
            // After August 2016: outside the period the seed counts.
            p(9, "E16", "2016-09-01", "cas_operator"),
            p(159, "A17", "2017-01-15", "sai_operator"),
            Batch::new(39, "B17", "2017-03-31").source("labour"),
        ],
    );
    let years = table(
        &mut u.op,
        "rows=year&cols=international_protection&from=2014-01-01&to=2015-12-31",
    )
    .await;
    assert_eq!(years["measure"], "referrals");
    assert_eq!(cell(&years, "2014", "yes"), 11);
    assert_eq!(row_total(&years, "2014"), 194);
    assert_eq!(cell(&years, "2015", "yes"), 107);
    assert_eq!(row_total(&years, "2015"), 219);
    assert_eq!(years["total"], 413);

    let by_gender = table(
        &mut u.op,
        "rows=gender&cols=international_protection&from=2015-01-01&to=2015-12-31",
    )
    .await;
    assert_eq!(cell(&by_gender, "female", "yes"), 100);
    assert_eq!(cell(&by_gender, "male", "yes"), 7);
    let by_nationality = table(
        &mut u.op,
        "rows=citizenship&cols=international_protection&from=2015-01-01&to=2015-12-31",
    )
    .await;
    assert_eq!(cell(&by_nationality, "NG", "yes"), 107, "all Nigerian");
    assert_eq!(col_total(&by_nationality, "yes"), 107);
    assert_eq!(
        by_nationality["rows"][idx(&by_nationality["rows"], "NG")]["label"],
        "Nigeria"
    );

    let aug16 = table(
        &mut u.op,
        "measure=persons&rows=gender&cols=international_protection&from=2016-01-01&to=2016-08-31",
    )
    .await;
    assert_eq!(aug16["measure"], "persons");
    assert_eq!(col_total(&aug16, "yes"), 160);
    assert_eq!(aug16["total"], 223);
    assert_eq!(cell(&aug16, "female", "yes"), 118);
    assert_eq!(cell(&aug16, "male", "yes"), 42);
    let men = table(&mut u.op, "rows=citizenship&cols=gender&from=2016-01-01&to=2016-08-31").await;
    assert_eq!(cell(&men, "MA", "male"), 30);
    assert_eq!(cell(&men, "PK", "male"), 12);

    let mar17 = table(&mut u.op, "rows=international_protection&from=2017-01-01&to=2017-03-31").await;
    assert_eq!(cell(&mar17, "yes", "all"), 159);
    assert_eq!(mar17["total"], 198);

    // The monthly trend of 2016 up to August adds up to the same, every month listed.
    let months = table(
        &mut u.op,
        "rows=month&cols=international_protection&from=2016-01-01&to=2016-08-31",
    )
    .await;
    assert_eq!(months["rows"].as_array().map(Vec::len), Some(8));
    assert_eq!(row_total(&months, "2016-08"), 12);
    assert_eq!(row_total(&months, "2016-03"), 0);
    assert_eq!(col_total(&months, "yes"), 160);
    // Quarters, in Italian labels.
    let quarters = table(&mut u.op, "rows=quarter&from=2016-01-01&to=2016-12-31").await;
    assert_eq!(row_total(&quarters, "2016-Q3"), 30 + 12 + 9);
    assert_eq!(quarters["rows"][0]["label"], "2016 T1");
    assert_eq!(u.op.count_where("audit_log", "action = 'observatory.report'"), 8);
}
both!(the_seeds_yearly_series_is_reproduced_exactly);

/// Inserts a person linking the referrals of the given references; its id.
fn link(app: &TestApp, refs: &[&str]) {
    exec(app, "INSERT INTO persons (created_at) VALUES ('2026-01-01 10:00:00')");
    for r in refs {
        exec(
            app,
            &format!(
                "INSERT INTO referral_persons (referral_id, person_id, linked_at) \
                 SELECT r.id, (SELECT MAX(id) FROM persons), '2026-01-01 10:00:00' FROM referrals r WHERE r.reference = '{r}'"
            ),
        );
    }
}

async fn a_person_reported_through_three_channels_is_one_person_and_three_referrals(b: Backend) {
    let mut u = unit(b).await;
    seed(
        &u.admin,
        &[
            Batch::new(1, "HOT", "2016-05-01")
                .channel("hotline")
                .source("cas_operator"),
            Batch::new(1, "PEC", "2016-05-03")
                .channel("pec")
                .source("territorial_commission"),
            Batch::new(1, "DESK", "2016-05-04")
                .channel("in_person")
                .source("sai_operator"),
            Batch::new(1, "OTHER", "2016-05-05").channel("hotline").source("police"),
            Batch::new(1, "DECL", "2016-05-06").channel("email").status("declined"),
            Batch::new(1, "DRAFT", "2016-05-06").channel("email").status("draft"),
        ],
    );
    link(&u.admin, &["HOT-0", "PEC-0", "DESK-0"]);
    let q = "rows=channel&from=2016-05-01&to=2016-05-31";
    let referrals = table(&mut u.op, q).await;
    assert_eq!(referrals["total"], 5, "a declined referral counts, a draft does not");
    assert_eq!(cell(&referrals, "hotline", "all"), 2);
    assert_eq!(referrals["linked_referrals"], 3);
    assert_eq!(referrals["linked_persons"], 1);
    let persons = table(&mut u.op, &format!("measure=persons&{q}")).await;
    assert_eq!(
        persons["total"], 3,
        "the linked person once, the two unlinked referrals once each"
    );
    assert_eq!(cell(&persons, "hotline", "all"), 2);
    assert_eq!(cell(&persons, "pec", "all"), 1);
    assert_eq!(persons["margins_are_sums"], false);
    assert!(persons["statement"]
        .as_array()
        .expect("statement")
        .iter()
        .any(|s| s.as_str().is_some_and(|s| s.contains("3") && s.contains("1"))));
    // The same as the persons store counts.
    let mut conn = u.admin.state.db.conn().expect("conn");
    assert_eq!(varco::persons::store::count_persons(&mut conn).expect("count"), 3);
    drop(conn);
    // Three channels, one person: by status the declined one is there.
    let status = table(&mut u.op, "measure=persons&rows=status&from=2016-05-01&to=2016-05-31").await;
    assert_eq!(cell(&status, "declined", "all"), 1);
}
both!(a_person_reported_through_three_channels_is_one_person_and_three_referrals);

async fn each_indicator_table_has_its_known_answer(b: Backend) {
    let mut u = unit(b).await;
    seed(
        &u.admin,
        &[
            Batch::new(2, "SL", "2020-02-10")
                .source("cas_operator")
                .citizenship("NG")
                .age("18-24", "18--20", false),
            Batch::new(1, "S", "2020-02-11")
                .province("028")
                .age("14-17", "9--17", true),
            Batch::new(1, "N", "2020-05-11")
                .province("082")
                .gender("male")
                .citizenship("PK"),
            Batch {
                exploitation_province: Some("082"),
                ..Batch::new(1, "X", "2020-06-11").gender("trans").source("street_unit")
            },
        ],
    );
    fact(&u.admin, "referral_exploitation", "exploitation", "SL", "sexual");
    fact(&u.admin, "referral_exploitation", "exploitation", "SL", "labour");
    fact(&u.admin, "referral_exploitation", "exploitation", "S-", "sexual");
    fact(&u.admin, "referral_labour_sectors", "sector", "SL", "agriculture");
    fact(&u.admin, "referral_recruiter_relations", "relation", "S-", "not_known");
    fact(&u.admin, "referral_recruiter_relations", "relation", "S-", "friend");
    fact(&u.admin, "referral_indicators", "indicator", "SL", "debt_bondage");
    fact(&u.admin, "referral_indicators", "indicator", "SL", "ritual_oath");
    fact(&u.admin, "referral_indicators", "indicator", "S-", "visible_fear");
    let y = "from=2020-01-01&to=2020-12-31";
    let expect = |t: &Value, pairs: &[(&str, i64)]| {
        for (code, n) in pairs {
            assert_eq!(cell(t, code, "all"), *n, "{code} in {t}");
        }
    };
    expect(
        &table(&mut u.op, &format!("rows=gender&{y}")).await,
        &[("female", 3), ("male", 1), ("trans", 1)],
    );
    expect(
        &table(&mut u.op, &format!("rows=age_band&{y}")).await,
        &[("18-24", 4), ("14-17", 1)],
    );
    expect(
        &table(&mut u.op, &format!("rows=minor&{y}")).await,
        &[("yes", 1), ("no", 4)],
    );
    expect(
        &table(&mut u.op, &format!("rows=emergence_region&{y}")).await,
        &[("05", 4), ("19", 1)],
    );
    expect(
        &table(&mut u.op, &format!("rows=emergence_province&{y}")).await,
        &[("027", 3), ("028", 1), ("082", 1)],
    );
    expect(
        &table(&mut u.op, &format!("rows=exploitation_region&{y}")).await,
        &[("19", 1), ("unknown", 4)],
    );
    expect(
        &table(&mut u.op, &format!("rows=exploitation_province&{y}")).await,
        &[("082", 1), ("unknown", 4)],
    );
    let ex = table(&mut u.op, &format!("rows=exploitation_type&{y}")).await;
    expect(&ex, &[("sexual", 3), ("labour", 2), ("unknown", 2)]);
    assert_eq!(ex["total"], 5, "a referral with two types is counted once in the total");
    assert_eq!(ex["margins_are_sums"], false);
    expect(
        &table(&mut u.op, &format!("rows=labour_sector&{y}")).await,
        &[("agriculture", 2), ("unknown", 3)],
    );
    let rr = table(&mut u.op, &format!("rows=recruiter_relation&{y}")).await;
    expect(&rr, &[("friend", 1), ("not_known", 1), ("unknown", 4)]);
    assert_eq!(rr["total"], 5);
    expect(
        &table(&mut u.op, &format!("rows=source_kind&{y}")).await,
        &[("cas_operator", 2), ("police", 2), ("street_unit", 1)],
    );
    expect(
        &table(&mut u.op, &format!("rows=international_protection&{y}")).await,
        &[("yes", 2), ("no", 3)],
    );
    expect(&table(&mut u.op, &format!("rows=channel&{y}")).await, &[("hotline", 5)]);
    expect(
        &table(&mut u.op, &format!("rows=citizenship&{y}")).await,
        &[("NG", 2), ("PK", 1), ("unknown", 2)],
    );
    expect(
        &table(&mut u.op, &format!("rows=means_of_control&{y}")).await,
        &[("debt_bondage", 2), ("psychological_abuse", 2), ("not_specified", 3)],
    );
    expect(&table(&mut u.op, &format!("rows=status&{y}")).await, &[("new", 5)]);
    expect(&table(&mut u.op, &format!("rows=year&{y}")).await, &[("2020", 5)]);
    expect(
        &table(&mut u.op, &format!("rows=quarter&{y}")).await,
        &[("2020-Q1", 3), ("2020-Q2", 2), ("2020-Q4", 0)],
    );
    expect(
        &table(&mut u.op, &format!("rows=month&{y}")).await,
        &[("2020-02", 3), ("2020-06", 1)],
    );
    // Territory: the region of emergence, a province, the territory of exploitation.
    assert_eq!(table(&mut u.op, &format!("region=Veneto&{y}")).await["total"], 4);
    assert_eq!(table(&mut u.op, &format!("province=PA&{y}")).await["total"], 1);
    assert_eq!(
        table(&mut u.op, &format!("region=19&territory=exploitation&{y}")).await["total"],
        1
    );
    // A cross-table of two indicators.
    let x = table(&mut u.op, &format!("rows=gender&cols=exploitation_type&{y}")).await;
    assert_eq!(cell(&x, "female", "sexual"), 3);
    assert_eq!(cell(&x, "female", "labour"), 2);
    assert_eq!(cell(&x, "male", "sexual"), 0);
    assert_eq!(row_total(&x, "female"), 3);
    // Cases and outcomes: one case for the two SL referrals (one person), with two outcomes.
    link(&u.admin, &["SL-0", "SL-1"]);
    exec(&u.admin, "INSERT INTO cases (reference, person_id, status, opened_at, version, created_at, updated_at) \
        VALUES ('C-1', (SELECT MAX(id) FROM persons), 'outcome_decided', '2020-02-12 10:00:00', 1, '2020-02-12 10:00:00', '2020-02-12 10:00:00')");
    exec(&u.admin, "INSERT INTO case_referrals (referral_id, case_id, joined_at) SELECT id, (SELECT MAX(id) FROM cases), '2020-02-12 10:00:00' FROM referrals WHERE reference LIKE 'SL-%'");
    for kind in ["interview", "emergency_reception"] {
        exec(&u.admin, &format!("INSERT INTO case_outcomes (case_id, kind, decided_at) VALUES ((SELECT MAX(id) FROM cases), '{kind}', '2020-03-01 10:00:00')"));
    }
    let cases = table(&mut u.op, &format!("measure=cases&rows=outcome&{y}")).await;
    expect(&cases, &[("interview", 1), ("emergency_reception", 1)]);
    assert_eq!(cases["total"], 1);
    let outcome = table(&mut u.op, &format!("rows=outcome&{y}")).await;
    expect(&outcome, &[("interview", 2), ("none", 3)]);
    let persons = table(&mut u.op, &format!("measure=persons&rows=gender&{y}")).await;
    expect(&persons, &[("female", 2)]);
    // Bad input names its field.
    for (q, field) in [
        ("rows=gender&from=2020-01-01&to=2019-01-01", "to"),
        ("rows=nonsense&from=2020-01-01&to=2020-12-31", "rows"),
        ("region=Atlantide&from=2020-01-01&to=2020-12-31", "region"),
        ("region=05&province=VE&from=2020-01-01&to=2020-12-31", "province"),
        ("rows=gender&cols=gender&from=2020-01-01&to=2020-12-31", "cols"),
        ("rows=month&from=1950-01-01&to=2000-01-01", "to"),
        ("from=1800-01-01&to=2000-01-01", "from"),
    ] {
        let r = u.op.get(&format!("/api/v1/observatory/table?{q}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.body);
        assert!(r.problem_fields().contains(&field.to_owned()), "{q}: {}", r.body);
    }
}
both!(each_indicator_table_has_its_known_answer);

/// Every cross-table agrees with its one-way tables and with its transpose, in every measure: a
/// margin is the one-way table of the same selection (the disclosure control relies on it), and a
/// unit reaching two cells of a row counts once in the row. One person reported twice, as a woman
/// in the first quarter and as a man in the second, with two types of exploitation.
async fn every_cross_table_agrees_with_its_one_way_tables(b: Backend) {
    let mut u = unit(b).await;
    seed(
        &u.admin,
        &[
            Batch::new(1, "PA", "2021-02-10").citizenship("NG"),
            Batch::new(1, "PB", "2021-05-10")
                .gender("male")
                .citizenship("NG")
                .source("cas_operator"),
            Batch::new(3, "F", "2021-03-01").province("028").source("prefecture"),
            Batch::new(2, "M", "2021-08-01").gender("male").citizenship("PK"),
        ],
    );
    fact(&u.admin, "referral_exploitation", "exploitation", "PA", "sexual");
    fact(&u.admin, "referral_exploitation", "exploitation", "PB", "labour");
    fact(&u.admin, "referral_exploitation", "exploitation", "PB", "begging");
    fact(&u.admin, "referral_exploitation", "exploitation", "F-", "sexual");
    fact(
        &u.admin,
        "referral_indicators",
        "indicator",
        "F-",
        "threats_or_intimidation",
    );
    fact(
        &u.admin,
        "referral_indicators",
        "indicator",
        "F-",
        "fear_of_retaliation_on_family",
    );
    link(&u.admin, &["PA-0", "PB-0"]);
    let y = "from=2021-01-01&to=2021-12-31";
    let p = table(&mut u.op, &format!("measure=persons&rows=gender&cols=quarter&{y}")).await;
    assert_eq!(cell(&p, "female", "2021-Q1"), 4);
    assert_eq!(cell(&p, "male", "2021-Q2"), 1);
    assert_eq!(row_total(&p, "male"), 3, "the person and the two men of August");
    assert_eq!(col_total(&p, "2021-Q1"), 4);
    assert_eq!(p["total"], 6, "7 referrals, 6 persons");
    assert_eq!(p["linked_persons"], 1);
    let x = table(&mut u.op, &format!("rows=exploitation_type&cols=gender&{y}")).await;
    assert_eq!(cell(&x, "sexual", "female"), 4);
    assert_eq!(cell(&x, "labour", "male"), 1);
    assert_eq!(
        col_total(&x, "male"),
        3,
        "a referral of two types counts once in its column"
    );
    let m = table(&mut u.op, &format!("rows=means_of_control&{y}")).await;
    assert_eq!(cell(&m, "threats", "all"), 3, "two indicators of one means count once");
    let inds = [
        "gender",
        "citizenship",
        "emergence_region",
        "international_protection",
        "exploitation_type",
        "means_of_control",
        "quarter",
    ];
    for measure in ["referrals", "persons", "cases"] {
        let mut one_way = std::collections::HashMap::new();
        let mut total = None;
        for a in inds {
            let t = table(&mut u.op, &format!("measure={measure}&rows={a}&{y}")).await;
            total.get_or_insert(t["total"].clone());
            assert_eq!(t["total"], total.clone().unwrap_or_default(), "{measure} {a}");
            one_way.insert(a, t);
        }
        for a in inds {
            for b in inds.iter().filter(|b| **b != a) {
                let t = table(&mut u.op, &format!("measure={measure}&rows={a}&cols={b}&{y}")).await;
                let tr = table(&mut u.op, &format!("measure={measure}&rows={b}&cols={a}&{y}")).await;
                assert_eq!(t["total"], total.clone().unwrap_or_default(), "{measure} {a}×{b}");
                for (i, key) in t["rows"].as_array().expect("rows").iter().enumerate() {
                    let code = key["code"].as_str().expect("code");
                    assert_eq!(
                        t["row_totals"][i],
                        cell(&one_way[a], code, "all"),
                        "{measure} {a}×{b} row {code}"
                    );
                    assert_eq!(tr["col_totals"][idx(&tr["cols"], code)], t["row_totals"][i]);
                    for (j, col) in t["cols"].as_array().expect("cols").iter().enumerate() {
                        let other = col["code"].as_str().expect("code");
                        assert_eq!(t["cells"][i][j], cell(&tr, other, code), "{measure} {a}×{b} transposed");
                    }
                }
                for (j, key) in t["cols"].as_array().expect("cols").iter().enumerate() {
                    let code = key["code"].as_str().expect("code");
                    assert_eq!(
                        t["col_totals"][j],
                        cell(&one_way[*b], code, "all"),
                        "{measure} {a}×{b} col {code}"
                    );
                }
            }
        }
    }
    // Provinces added up into regions, sources into membership of the protection system, equal
    // a read by the coarser indicator (margins are sums).
    {
        use varco::observatory::model::{Indicator, Measure, Period, Spec, Territory, TerritoryBasis};
        let mut conn = u.admin.state.db.conn().expect("conn");
        let day = |m, d| chrono::NaiveDate::from_ymd_opt(2021, m, d).expect("day");
        for (rows, cols) in [
            (Some(Indicator::EmergenceProvince), Some(Indicator::Gender)),
            (Some(Indicator::Citizenship), Some(Indicator::EmergenceProvince)),
            (Some(Indicator::EmergenceProvince), None),
            (Some(Indicator::Gender), Some(Indicator::SourceKind)),
        ] {
            let spec = Spec {
                measure: Measure::Referrals,
                rows,
                cols,
                period: Period::new(day(1, 1), day(12, 31)).expect("year"),
                territory: Territory::National,
                basis: TerritoryBasis::Emergence,
            };
            let up = |i: Option<Indicator>| match i {
                Some(Indicator::EmergenceProvince) => Some(Indicator::EmergenceRegion),
                Some(Indicator::SourceKind) => Some(Indicator::InternationalProtection),
                other => other,
            };
            let by_province = varco::observatory::store::table(&mut conn, &spec).expect("table");
            let by_region = varco::observatory::store::table(
                &mut conn,
                &Spec {
                    rows: up(rows),
                    cols: up(cols),
                    ..spec.clone()
                },
            )
            .expect("table");
            assert_eq!(
                varco::observatory::store::coarser(&by_province).expect("lift"),
                Some(by_region)
            );
        }
    }
    // A year's seventeen blocks read together equal each block read alone, in every measure.
    use varco::observatory::model::{Indicator, Measure, Period, Spec, Territory, TerritoryBasis};
    use varco::observatory::store;
    let mut conn = u.admin.state.db.conn().expect("conn");
    let day = |m, d| chrono::NaiveDate::from_ymd_opt(2021, m, d).expect("day");
    let year = Period::new(day(1, 1), day(12, 31)).expect("year");
    for measure in [Measure::Referrals, Measure::Persons, Measure::Cases] {
        for (rows, cols) in [
            (Some(Indicator::Gender), Some(Indicator::ExploitationType)),
            (Some(Indicator::EmergenceRegion), None),
            (None, None),
        ] {
            let spec = Spec {
                measure,
                rows,
                cols,
                period: year,
                territory: Territory::National,
                basis: TerritoryBasis::Emergence,
            };
            let (whole, blocks) = store::year_blocks(&mut conn, &spec).expect("blocks");
            assert_eq!(whole, store::table(&mut conn, &spec).expect("table"));
            assert_eq!(blocks.len(), 17);
            for t in &blocks {
                let alone = store::table(&mut conn, &t.spec).expect("table");
                assert_eq!(*t, alone, "{measure:?} {rows:?}×{cols:?} {:?}", t.spec.period);
            }
            // A table by quarter (rows) or month (columns) made of the blocks is the one read.
            let one_way = store::table(&mut conn, &spec).expect("one way");
            for (by, parts, first) in [(Indicator::Quarter, 1..5, true), (Indicator::Month, 5..17, false)] {
                let trend = Spec {
                    rows: if first { Some(by) } else { rows },
                    cols: if first { rows } else { Some(by) },
                    ..spec.clone()
                };
                if trend.rows.is_none() && trend.cols.is_some() && !first {
                    continue;
                }
                let parts: Vec<&varco::observatory::model::Table> = blocks[parts].iter().collect();
                if cols.is_none() {
                    assert_eq!(
                        store::by_period(&trend, &one_way, &parts).expect("by period"),
                        store::table(&mut conn, &trend).expect("trend"),
                        "{measure:?} {trend:?}"
                    );
                }
            }
            assert_eq!(blocks[2].spec.period.from, day(4, 1));
            assert_eq!(blocks[16].spec.period.to, day(12, 31));
            // A period of whole months over two years: its own table and both years' blocks.
            let span = Spec {
                period: Period::new(day(3, 1), chrono::NaiveDate::from_ymd_opt(2022, 4, 30).expect("day"))
                    .expect("span"),
                ..spec.clone()
            };
            let (whole, blocks) = store::year_blocks(&mut conn, &span).expect("blocks");
            assert_eq!(whole, store::table(&mut conn, &span).expect("table"));
            assert_eq!(blocks.len(), 34);
            assert_eq!(
                blocks[17].spec.period.from,
                chrono::NaiveDate::from_ymd_opt(2022, 1, 1).expect("day")
            );
            for t in &blocks {
                assert_eq!(*t, store::table(&mut conn, &t.spec).expect("table"));
            }
        }
    }
}
both!(every_cross_table_agrees_with_its_one_way_tables);

/// The attacker: knows the published values, that rows and columns add up to their totals, and
/// that a withheld count under the threshold is at least 1. Solves every row and column with one
/// unknown, substitutes, and narrows intervals, until nothing moves. Returns what it pinned down.
fn attack(t: &Value, threshold: i64) -> Vec<(usize, usize)> {
    let rows = t["cells"].as_array().expect("cells").len();
    let cols = t["cols"].as_array().expect("cols").len();
    // Variables: cells, row totals, col totals, grand total.
    let n = rows * cols + rows + cols + 1;
    let mut lo = vec![0i64; n];
    let mut hi = vec![i64::MAX / 4; n];
    let get = |v: &Value| v.as_i64();
    let mut known = vec![None; n];
    for r in 0..rows {
        for c in 0..cols {
            known[r * cols + c] = get(&t["cells"][r][c]);
        }
        known[rows * cols + r] = get(&t["row_totals"][r]);
    }
    for c in 0..cols {
        known[rows * cols + rows + c] = get(&t["col_totals"][c]);
    }
    known[n - 1] = get(&t["total"]);
    for i in 0..n {
        if let Some(v) = known[i] {
            lo[i] = v;
            hi[i] = v;
        }
    }
    let mut eqs: Vec<(Vec<usize>, usize)> = Vec::new();
    for r in 0..rows {
        eqs.push(((0..cols).map(|c| r * cols + c).collect(), rows * cols + r));
    }
    for c in 0..cols {
        eqs.push(((0..rows).map(|r| r * cols + c).collect(), rows * cols + rows + c));
    }
    eqs.push(((0..rows).map(|r| rows * cols + r).collect(), n - 1));
    eqs.push(((0..cols).map(|c| rows * cols + rows + c).collect(), n - 1));
    // What an attacker may assume of a withheld count: any value, or (for the primary ones,
    // which it cannot tell apart) at least 1. Try the strong assumption on every withheld cell.
    for i in 0..n {
        if known[i].is_none() {
            lo[i] = 0;
        }
    }
    let _ = threshold;
    for _ in 0..100 {
        let mut moved = false;
        for (parts, total) in &eqs {
            // total = sum(parts)
            let sum_lo: i64 = parts.iter().map(|p| lo[*p]).sum();
            let sum_hi: i64 = parts.iter().map(|p| hi[*p]).fold(0i64, |a, b| a.saturating_add(b));
            if lo[*total] < sum_lo {
                lo[*total] = sum_lo;
                moved = true;
            }
            if hi[*total] > sum_hi {
                hi[*total] = sum_hi;
                moved = true;
            }
            for p in parts {
                let others_lo: i64 = sum_lo - lo[*p];
                let others_hi: i64 = sum_hi.saturating_sub(hi[*p]);
                let new_hi = hi[*total].saturating_sub(others_lo);
                let new_lo = lo[*total].saturating_sub(others_hi);
                if new_hi < hi[*p] {
                    hi[*p] = new_hi;
                    moved = true;
                }
                if new_lo > lo[*p] {
                    lo[*p] = new_lo;
                    moved = true;
                }
            }
        }
        if !moved {
            break;
        }
    }
    let mut pinned = Vec::new();
    for r in 0..rows {
        for c in 0..cols {
            let i = r * cols + c;
            if known[i].is_none() && lo[i] == hi[i] {
                pinned.push((r, c));
            }
        }
    }
    pinned
}

async fn suppressed_cells_cannot_be_recovered_from_the_margins(b: Backend) {
    let mut u = unit(b).await;
    // A table with small cells scattered: gender by source.
    seed(
        &u.admin,
        &[
            Batch::new(40, "A", "2021-01-10").source("cas_operator"),
            Batch::new(2, "B", "2021-01-10").source("prefecture"),
            Batch::new(25, "C", "2021-01-10").source("police"),
            Batch::new(12, "D", "2021-01-10").source("street_unit"),
            Batch::new(1, "E", "2021-01-10").source("cas_operator").gender("male"),
            Batch::new(30, "F", "2021-01-10").source("police").gender("male"),
            Batch::new(9, "G", "2021-01-10").source("street_unit").gender("male"),
            Batch::new(3, "H", "2021-01-10").source("police").gender("trans"),
            Batch::new(7, "I", "2021-01-10").source("labour").gender("male"),
            Batch::new(20, "J", "2021-01-10").source("prefecture").gender("male"),
        ],
    );
    let mut analyst = login_as(&mut u, "osservatorio", "analyst").await;
    let q = "rows=gender&cols=source_kind&from=2021-01-01&to=2021-12-31";
    let exact = table(&mut u.coord, q).await;
    assert_eq!(exact["threshold"], Value::Null);
    assert_eq!(cell(&exact, "male", "cas_operator"), 1, "the unit sees every count");
    let seen = table(&mut analyst, q).await;
    assert_eq!(seen["threshold"], 5);
    // Every count from 1 to 4 is withheld, with its complements.
    let (rows, cols) = (
        seen["rows"].as_array().expect("rows").len(),
        seen["cols"].as_array().expect("cols").len(),
    );
    let mut withheld = 0;
    for r in 0..rows {
        for c in 0..cols {
            let n = exact["cells"][r][c].as_i64().expect("exact");
            if (1..5).contains(&n) {
                assert_eq!(seen["cells"][r][c], Value::Null, "cell {r},{c} = {n} must be withheld");
            }
            if seen["cells"][r][c].is_null() {
                withheld += 1;
            } else {
                assert_eq!(seen["cells"][r][c], exact["cells"][r][c]);
            }
        }
    }
    assert!(withheld >= 4, "primary and secondary: {seen}");
    assert!(seen["withheld_secondary"].as_u64().expect("n") > 0);
    // The attacker recovers nothing.
    assert_eq!(attack(&seen, 5), Vec::<(usize, usize)>::new(), "{seen}");
    // The same cell is withheld the same way in the same release asked again, and as a margin
    // of another table of the release.
    assert_eq!(table(&mut analyst, q).await, seen);
    let by_gender = table(&mut analyst, "rows=gender&from=2021-01-01&to=2021-12-31").await;
    assert_eq!(cell(&by_gender, "trans", "all"), Value::Null);
    assert_eq!(row_total(&seen, "trans"), Value::Null);
    assert_eq!(attack(&by_gender, 5), Vec::<(usize, usize)>::new(), "{by_gender}");
    // The CSV export says what was withheld; audited with its parameters.
    let r = analyst
        .get(&format!("/api/v1/observatory/table/file?{q}&format=csv-it"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.starts_with('\u{feff}'), "a byte-order mark for Excel");
    assert!(r.body.contains(';') && r.body.contains(";x;"), "{}", r.body);
    assert!(r.body.contains("soglia 5"), "{}", r.body);
    let entries = u.admin.audit("action=observatory.export").await;
    assert!(
        entries.iter().any(|e| e["detail"]
            .as_str()
            .is_some_and(|d| d.contains("rows=gender") && d.contains("format=csv-it") && d.contains("threshold=5"))),
        "{entries:?}"
    );
}
both!(suppressed_cells_cannot_be_recovered_from_the_margins);

async fn random_tables_resist_the_attacker(b: Backend) {
    // Many shapes, on the library directly (the same code the API runs).
    let _ = b;
    use varco::observatory::disclosure::publish;
    use varco::observatory::model::{Measure, Period, Spec, Table, Territory, TerritoryBasis};
    let mut seed = 7u64;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) as i64
    };
    let d = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).expect("day");
    for round in 0..300 {
        let (nr, nc) = (1 + (next() % 5) as usize, 1 + (next() % 5) as usize);
        let cells: Vec<Vec<i64>> = (0..nr)
            .map(|_| {
                (0..nc)
                    .map(|_| match next() % 4 {
                        0 => 0,
                        1 => 1 + next() % 4,
                        _ => next() % 60,
                    })
                    .collect()
            })
            .collect();
        let row_totals: Vec<i64> = cells.iter().map(|r| r.iter().sum()).collect();
        let col_totals: Vec<i64> = (0..nc).map(|c| cells.iter().map(|r| r[c]).sum()).collect();
        let t = Table {
            spec: Spec {
                measure: Measure::Referrals,
                rows: None,
                cols: None,
                period: Period::new(d, d).expect("period"),
                territory: Territory::National,
                basis: TerritoryBasis::Emergence,
            },
            rows: (0..nr).map(|r| format!("r{r}")).collect(),
            cols: (0..nc).map(|c| format!("c{c}")).collect(),
            total: row_totals.iter().sum(),
            cells: cells.clone(),
            row_totals,
            col_totals,
            linked_referrals: 0,
            linked_persons: 0,
        };
        let p = publish(&t, Some(5));
        let v = json!({"cells": p.cells, "row_totals": p.row_totals, "col_totals": p.col_totals, "total": p.total,
            "cols": vec![json!({}); nc]});
        for r in 0..nr {
            for c in 0..nc {
                if (1..5).contains(&cells[r][c]) {
                    assert_eq!(p.cells[r][c], None, "round {round}: {cells:?}");
                }
            }
        }
        let pinned = attack(&v, 5);
        // A cell pinned by the attacker must have been published or be a zero it can only
        // bound, never a withheld non-zero count.
        for (r, c) in pinned {
            assert_eq!(
                cells[r][c], 0,
                "round {round}: cell {r},{c} of {cells:?} recovered from {v}"
            );
        }
    }
}
both!(random_tables_resist_the_attacker);

const MARKER: &str = "MARCATORE-9931";

async fn the_record_file_is_k_anonymous_and_never_holds_a_personal_marker(b: Backend) {
    let mut u = unit_with(b, |s| {
        s.k_anonymity = 3;
        // The clock moves to December below (an analyst's tables are of months that have ended).
        s.session_idle_minutes = 60 * 24 * 30;
        s.session_absolute_hours = 24 * 30;
    })
    .await;
    // Three referrals through the API with the marker in every personal field.
    for _ in 0..3 {
        let mut body = cas_report(u.cas);
        body["person"]["alias"] = json!(format!("Alias {MARKER}"));
        body["referrer_contact"] = json!(format!("tel {MARKER}"));
        body["notes"] = json!(format!("=HYPERLINK(\"{MARKER}\")"));
        file(&mut u.op, body).await;
    }
    // And a hand-built population: 6 alike (safe as they are), 3 that are safe once their age
    // band is removed, 1 (a minor) that cannot be made safe.
    seed(
        &u.admin,
        &[
            Batch::new(6, "K", "2026-11-02")
                .citizenship("NG")
                .age("18-24", "18--20", false),
            Batch::new(1, "L", "2026-11-03")
                .citizenship("NG")
                .age("18-24", "21--23", false),
            Batch::new(1, "M", "2026-11-03")
                .citizenship("NG")
                .age("25-34", "27--29", false),
            Batch::new(1, "N", "2026-11-03")
                .citizenship("NG")
                .age("18-24", "24--26", false),
            Batch::new(1, "Z", "2026-11-03")
                .citizenship("PK")
                .gender("male")
                .age("14-17", "9--17", true),
        ],
    );
    let mut analyst = login_as(&mut u, "osservatorio", "analyst").await;
    let r = analyst
        .get("/api/v1/observatory/records?from=2026-11-01&to=2026-11-30")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let statement: Value = serde_json::from_str(&r.header("varco-statement").expect("statement")).expect("json");
    assert_eq!(statement["k"], 3);
    assert_eq!(statement["records"], 13);
    // Streamed as the second pass writes it: no length known beforehand.
    assert_eq!(r.header("transfer-encoding").as_deref(), Some("chunked"), "streamed");
    let mut lines = r.body.lines();
    let head: Vec<&str> = lines.next().expect("header").split(',').collect();
    assert_eq!(
        &head[..4],
        &["yearOfRegistration", "gender", "ageBroad", "majorityStatus"]
    );
    let records: Vec<Vec<String>> = lines.map(|l| l.split(',').map(str::to_owned).collect()).collect();
    assert_eq!(
        records.len() as i64,
        13 - statement["dropped"].as_i64().expect("dropped")
    );
    assert_eq!(statement["dropped"], 1, "{statement}");
    assert_eq!(statement["age_generalised"], 3, "{statement}");
    assert_eq!(statement["kept"], 9, "{statement}");
    // Every combination of the quasi-identifiers occurs at least k times.
    let mut classes = std::collections::HashMap::new();
    for rec in &records {
        *classes.entry(rec[..6].to_vec()).or_insert(0) += 1;
    }
    for (class, n) in &classes {
        assert!(*n >= 3, "{class:?} occurs {n} times");
    }
    let ages: Vec<&str> = records.iter().map(|r| r[2].as_str()).collect();
    assert!(ages.contains(&"18--20") && ages.contains(&"-99"));
    assert!(records.iter().all(|r| r.iter().all(|f| !f.is_empty())));
    // Nothing personal in any export, in any format (tables of November once it has ended).
    u.admin
        .clock
        .set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 1, 6, 0, 0).unwrap());
    let mut files = vec![r.body.clone()];
    for q in [
        "rows=citizenship&from=2026-11-01&to=2026-11-30&format=csv",
        "rows=gender&cols=source_kind&from=2026-11-01&to=2026-11-30&format=csv-it",
        "rows=gender&from=2026-11-01&to=2026-11-30&format=json",
    ] {
        for who in [&mut analyst, &mut u.coord] {
            let r = who.get(&format!("/api/v1/observatory/table/file?{q}")).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            files.push(r.body);
        }
    }
    // XLSX: real number cells, a withheld count as the text x.
    let (status, ct, bytes) = crate::feedback::get_bytes(
        &u.coord,
        "/api/v1/observatory/table/file?rows=citizenship&cols=gender&from=2026-11-01&to=2026-11-30&format=xlsx",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        ct.as_deref(),
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    let sheet = xlsx_sheet(&bytes);
    assert!(sheet.contains("<v>12</v>"), "a number cell: {sheet}");
    assert!(sheet.contains("Nigeria"), "{sheet}");
    files.push(sheet);
    let r = u
        .coord
        .get("/api/v1/observatory/records?from=2026-11-01&to=2026-11-30&format=ctdc-it")
        .await;
    assert!(r.body.starts_with('\u{feff}') && r.body.contains(';'));
    files.push(r.body);
    for f in &files {
        for bad in [MARKER, "Blessing", "HYPERLINK", "operatrice", "2026-11-25", "19"] {
            if bad == "19" {
                continue;
            }
            assert!(!f.contains(bad), "{bad} leaked into an export: {f}");
        }
    }
    assert_eq!(
        u.admin
            .count_where("audit_log", "action = 'observatory.records' AND detail LIKE '%k=3%'"),
        2
    );
}
both!(the_record_file_is_k_anonymous_and_never_holds_a_personal_marker);

/// The first sheet and the shared strings of an XLSX file, as XML text.
fn xlsx_sheet(bytes: &[u8]) -> String {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("an XLSX is a zip");
    let mut out = String::new();
    for name in ["xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"] {
        if let Ok(mut f) = zip.by_name(name) {
            f.read_to_string(&mut out).expect("xml");
        }
    }
    out
}

#[test]
fn formulas_are_neutralised() {
    use varco::observatory::export::neutralise;
    for f in ["=1+1", "+39 041", "-2", "@SUM(A1)", "\tx", "\rx"] {
        assert!(neutralise(f).starts_with('\''), "{f:?}");
    }
    assert_eq!(neutralise("Nigeria"), "Nigeria");
}

async fn the_analyst_sees_aggregates_only_and_outsiders_nothing(b: Backend) {
    let mut u = unit(b).await;
    let r = file(&mut u.op, cas_report(u.cas)).await;
    let id = r["id"].as_i64().expect("id");
    let mut analyst = login_as(&mut u, "osservatorio", "analyst").await;
    // Every personal endpoint of the route table that reads: refused.
    for (method, path, access) in varco::web::routes::declarations() {
        if method != Method::GET || !path.starts_with("/api/v1/") {
            continue;
        }
        let allowed = match access {
            varco::auth::Access::Roles(roles) => roles.contains(&varco::domain::Role::Analyst),
            _ => false,
        };
        let concrete = path.replace("{id}", &id.to_string()).replace("{sub}", "1");
        let r = analyst.get(&concrete).await;
        if allowed {
            assert!(
                path.starts_with("/api/v1/observatory/")
                    || path == "/api/v1/escape-points/occupancy"
                    // The 1522's protocols (institutional texts) and its published call counts.
                    || path == "/api/v1/1522/protocols"
                    || path == "/api/v1/1522/report"
                    || path == "/api/v1/me",
                "the analyst may read {path}: is it an aggregate?"
            );
        } else {
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
        }
    }
    let mut referrer = login_as_org(&mut u, "ref.cas").await;
    let r = referrer
        .get("/api/v1/observatory/table?from=2026-01-01&to=2026-12-31")
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = referrer
        .get("/api/v1/observatory/records?from=2026-01-01&to=2026-12-31")
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
both!(the_analyst_sees_aggregates_only_and_outsiders_nothing);

async fn login_as_org(u: &mut Unit, username: &str) -> TestApp {
    u.admin.user(username).role("referrer").org(u.cas).create().await;
    let mut app = TestApp::sibling(&u.admin);
    assert_eq!(app.login(username, PASSWORD).await.status, StatusCode::SEE_OTHER);
    app
}

async fn the_report_page_draws_its_chart_in_italian_and_english(b: Backend) {
    let mut u = unit(b).await;
    seed(
        &u.admin,
        &[
            Batch::new(40, "A", "2021-01-10").source("cas_operator"),
            Batch::new(2, "B", "2021-01-10").source("prefecture"),
            Batch::new(30, "F", "2021-01-10").source("police").gender("male"),
            Batch::new(20, "J", "2021-01-10").source("prefecture").gender("male"),
        ],
    );
    // The unit reaches its statistics from below every page, not from the full navigation bar.
    for who in [&mut u.coord, &mut u.op] {
        let home = who.get("/referrals").await;
        let (bar, rest) = home.body.split_once("</nav>").expect("navigation");
        assert!(!bar.contains("href=\"/observatory\""), "{bar}");
        assert!(rest.contains("href=\"/observatory\"") && rest.contains("href=\"/escape-points/occupancy\""));
        assert_eq!(who.get("/observatory").await.status, StatusCode::OK);
    }
    // An unknown territory basis is refused by name, not read as the default.
    let r = u.coord.get("/observatory?territory=altrove").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("emersione o sfruttamento"), "{}", r.body);
    let q = "rows=gender&cols=source_kind&from=2021-01-01&to=2021-12-31";
    let r = u.coord.get(&format!("/observatory?{q}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for needle in [
        "<svg",
        "<pattern id=\"p1\"",
        "Genere",
        "Donna",
        "Prefettura",
        ">40<",
        "Totale",
        "format=csv-it",
    ] {
        assert!(r.body.contains(needle), "{needle} missing from the Italian page");
    }
    for english in ["Gender", "Woman", "Referrals (", "Total<", "Prefecture"] {
        assert!(!r.body.contains(english), "English {english:?} on the Italian page");
    }
    assert!(
        !r.body.contains("http://")
            || r.body
                .matches("http://")
                .all(|_| r.body.contains("xmlns=\"http://www.w3.org/2000/svg\""))
    );
    // The analyst sees the small count withheld, in the chart and in the table.
    let mut analyst = login_as(&mut u, "osservatorio", "analyst").await;
    let seen = analyst.get(&format!("/observatory?{q}")).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(
        seen.body.contains(">x</td>") && seen.body.contains("x (soppresso)"),
        "{}",
        seen.body
    );
    assert!(!seen.body.contains(">2<"), "the count of 2 never reaches the analyst");
    assert!(
        seen.body
            .contains("Regola: margini come nelle tabelle con meno dimensioni; periodo per blocchi (2021)"),
        "the rule, stated: {}",
        seen.body
    );
    // English.
    analyst
        .jar
        .insert(varco::web::i18n::LANG_COOKIE.to_owned(), "en".to_owned());
    let en = analyst.get(&format!("/observatory?{q}")).await;
    for needle in ["Gender", "Woman", "x (withheld)", "Observatory"] {
        assert!(en.body.contains(needle), "{needle} missing from the English page");
    }
    // Bad input is named, never a 500.
    let bad = analyst.get("/observatory?from=2021-13-01").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("from"));
    // The PDF, with the chart's labels and the table; audited as an export.
    let (status, ct, bytes) = crate::feedback::get_bytes(&u.coord, &format!("/observatory/pdf?{q}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct.as_deref(), Some("application/pdf"));
    let text = crate::feedback::pdf_text(&bytes);
    for needle in ["Genere", "Prefettura", "40", "Totale", "pagina 1 di"] {
        assert!(text.contains(needle), "{needle} missing from the PDF: {text}");
    }
    let (_, _, bytes) = crate::feedback::get_bytes(&analyst, &format!("/observatory/pdf?{q}")).await;
    let text = crate::feedback::pdf_text(&bytes);
    assert!(text.contains("threshold 5") && !text.contains(" 2 "), "{text}");
    assert!(text.contains("Rule: margins as in the tables"), "{text}");
    assert_eq!(
        u.admin.count_where(
            "audit_log",
            "action = 'observatory.export' AND detail LIKE '%format=pdf%'"
        ),
        2
    );
    // Outsiders are refused the page.
    let mut referrer = login_as_org(&mut u, "ref.cas").await;
    assert_eq!(referrer.get("/observatory").await.status, StatusCode::FORBIDDEN);
}
both!(the_report_page_draws_its_chart_in_italian_and_english);

async fn the_command_line_writes_every_format(b: Backend) {
    let u = unit(b).await;
    seed(
        &u.admin,
        &[
            Batch::new(60, "A15", "2015-02-01")
                .source("cas_operator")
                .citizenship("NG"),
            Batch::new(2, "B15", "2015-03-01")
                .source("prefecture")
                .gender("male")
                .citizenship("NG"),
            Batch::new(40, "C15", "2015-05-05").source("police"),
        ],
    );
    let dir = tempfile::tempdir().expect("dir");
    for format in ["json", "csv", "csv-it", "xlsx", "pdf", "ctdc", "ctdc-it"] {
        let out = dir.path().join(format!("report.{format}"));
        let mut args = vec![
            "report",
            "observatory",
            "--from",
            "2015-01-01",
            "--to",
            "2015-12-31",
            "--format",
            format,
            "--out",
            out.to_str().expect("path"),
        ];
        // An analyst's cross-table covers Italy; the record file may be of a region.
        if format.starts_with("ctdc") {
            args.extend(["--region", "Veneto"]);
        }
        let o = crate::cli::varco(&u.admin, &args, None);
        assert_eq!(o.code, 0, "{format}: {}", o.stderr);
        let bytes = std::fs::read(&out).expect("the file");
        assert!(!bytes.is_empty(), "{format}");
        let text = String::from_utf8_lossy(&bytes);
        match format {
            "csv" => {
                assert!(text.contains("2015,62,40,102"), "{text}");
                assert!(text.contains("soglia 5"), "{text}");
            }
            "pdf" => assert!(bytes.starts_with(b"%PDF")),
            "xlsx" => assert!(bytes.starts_with(b"PK")),
            "ctdc" => {
                assert!(text.starts_with("yearOfRegistration,gender"), "{text}");
                assert_eq!(
                    text.lines().count(),
                    1 + 60 + 40,
                    "the two men cannot be made safe: {text}"
                );
                assert!(o.stdout.contains("k = 11"), "{}", o.stdout);
            }
            _ => {}
        }
    }
    assert_eq!(
        u.admin
            .count_where("audit_log", "action = 'observatory.records' AND actor_label = 'cli'"),
        2
    );
    let o = crate::cli::varco(
        &u.admin,
        &[
            "report",
            "observatory",
            "--from",
            "2015-01-01",
            "--to",
            "2015-12-31",
            "--format",
            "odt",
            "--out",
            "x",
        ],
        None,
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
}
both!(the_command_line_writes_every_format);

/// The report page in a real browser: an analyst chooses the indicators, sees the chart drawn and
/// the small count withheld, and the page fits a phone's width.
#[actix_web::test]
async fn chromium_shows_the_observatory_report_to_an_analyst() {
    use fantoccini::Locator;
    let mut u = unit(Backend::Sqlite).await;
    seed(
        &u.admin,
        &[
            Batch::new(40, "A", "2021-01-10").source("cas_operator"),
            Batch::new(2, "B", "2021-01-10").source("prefecture"),
            Batch::new(30, "F", "2021-01-10").source("police").gender("male"),
            Batch::new(20, "J", "2021-01-10").source("prefecture").gender("male"),
        ],
    );
    u.admin.user("osservatorio").role("analyst").create().await;
    let Some(browser) = crate::browser::start_phone("observatory report", 390).await else {
        return;
    };
    browser.login(&u.admin, "osservatorio").await;
    browser
        .client
        .goto(&u.admin.url("/observatory?from=2021-01-01&to=2021-12-31"))
        .await
        .expect("observatory");
    browser.wait_text("h1", "Osservatorio").await;
    for (css, value) in [("#rows", "gender"), ("#cols", "source_kind")] {
        browser
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
    }
    browser.click("#show").await;
    for _ in 0..50 {
        if browser
            .client
            .current_url()
            .await
            .expect("url")
            .query()
            .is_some_and(|q| q.contains("cols=source_kind"))
        {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    browser.wait_text("#table", "Donna").await;
    let table = browser.text("#table").await;
    assert!(table.contains('x'), "{table}");
    browser.wait_text("#chart", "Prefettura").await;
    assert!(!table.contains(" 2 "), "{table}");
    // The chart is drawn, with its patterns and labels, and fits the screen.
    let bars = browser
        .client
        .find_all(Locator::Css("#chart svg rect"))
        .await
        .expect("bars");
    assert!(bars.len() >= 4, "bars drawn: {}", bars.len());
    let chart_fits: bool = browser
        .client
        .execute(
            "const r = document.querySelector('#chart svg').getBoundingClientRect(); return r.width > 0 && r.right <= window.innerWidth + 1;",
            vec![],
        )
        .await
        .expect("script")
        .as_bool()
        .unwrap_or(false);
    assert!(chart_fits, "the chart fits a 390 px screen");
    browser.wait_text("#downloads", "CSV").await;
    browser.close().await;
}

/// Everything an analyst took away, as one system: a variable per value (the same value in two
/// releases is one variable: the margin "women, 2015" of every table that shows it, a region's
/// frequency table and that region's column of the national table), every table's equations,
/// and the periods' sums (a year is its quarters, January–June is two quarters, a quarter its
/// months).
#[derive(Default)]
struct Joint {
    ids: std::collections::HashMap<String, usize>,
    names: Vec<String>,
    published: Vec<Option<i64>>,
    exact: Vec<i64>,
    equations: Vec<Vec<(usize, i64)>>,
}

impl Joint {
    fn var(&mut self, key: String, published: Option<i64>, exact: i64) -> usize {
        if let Some(&i) = self.ids.get(&key) {
            assert_eq!(
                self.published[i], published,
                "{key} is published differently in two releases (shown in both with the same number or withheld in both)"
            );
            assert_eq!(self.exact[i], exact, "{key}");
            return i;
        }
        self.ids.insert(key.clone(), self.names.len());
        self.names.push(key);
        self.published.push(published);
        self.exact.push(exact);
        self.names.len() - 1
    }

    /// A table as the analyst saw it (`seen`) and as it is (`exact`, the unit's), of a period and
    /// perhaps a region or province of emergence (`emergence_region=05`).
    fn add(&mut self, period: &str, seen: &Value, exact: &Value, territory: Option<&str>) {
        let ind = |k: &str| seen[k].as_str().map(str::to_owned);
        let (ri, ci) = (ind("rows_indicator"), ind("cols_indicator"));
        let codes = |k: &str| -> Vec<String> {
            exact[k]
                .as_array()
                .expect("keys")
                .iter()
                .map(|v| v["code"].as_str().expect("code").to_owned())
                .collect()
        };
        let (rows, cols) = (codes("rows"), codes("cols"));
        assert_eq!(seen["rows"], exact["rows"], "the same keys");
        let key = |r: Option<usize>, c: Option<usize>| {
            let mut dims: Vec<String> = Vec::new();
            if let (Some(i), Some(r)) = (&ri, r) {
                dims.push(format!("{i}={}", rows[r]));
            }
            if let (Some(i), Some(c)) = (&ci, c) {
                dims.push(format!("{i}={}", cols[c]));
            }
            if let Some(t) = territory {
                dims.push(t.to_owned());
            }
            dims.sort();
            format!("{period}|{}", dims.join(","))
        };
        let mut cell = vec![vec![0usize; cols.len()]; rows.len()];
        for r in 0..rows.len() {
            for c in 0..cols.len() {
                cell[r][c] = self.var(
                    key(Some(r), Some(c)),
                    seen["cells"][r][c].as_i64(),
                    exact["cells"][r][c].as_i64().expect("exact"),
                );
            }
        }
        let rt: Vec<usize> = (0..rows.len())
            .map(|r| {
                self.var(
                    key(Some(r), None),
                    seen["row_totals"][r].as_i64(),
                    exact["row_totals"][r].as_i64().expect("exact"),
                )
            })
            .collect();
        let ct: Vec<usize> = (0..cols.len())
            .map(|c| {
                self.var(
                    key(None, Some(c)),
                    seen["col_totals"][c].as_i64(),
                    exact["col_totals"][c].as_i64().expect("exact"),
                )
            })
            .collect();
        let total = self.var(
            key(None, None),
            seen["total"].as_i64(),
            exact["total"].as_i64().expect("exact"),
        );
        let sum = |parts: Vec<usize>, whole: usize| {
            let mut e: Vec<(usize, i64)> = parts.into_iter().map(|p| (p, 1)).collect();
            e.push((whole, -1));
            e
        };
        for r in 0..rows.len() {
            self.equations.push(sum(cell[r].clone(), rt[r]));
        }
        for c in 0..cols.len() {
            self.equations
                .push(sum((0..rows.len()).map(|r| cell[r][c]).collect(), ct[c]));
        }
        self.equations.push(sum(rt, total));
        self.equations.push(sum(ct, total));
    }

    /// Every coarser value adds up from its finer ones (a region from its provinces), in every
    /// period and for every value of the other indicators.
    fn adds_up(&mut self, coarse: &str, fine: &str, regions: &[(&str, &[&str])]) {
        let names: Vec<String> = self.names.clone();
        // The tables fetched: period and indicators (a key they do not hold is a zero).
        let shape = |n: &str| -> String {
            let (period, dims) = n.split_once('|').unwrap_or((n, ""));
            let inds: Vec<&str> = dims.split(',').map(|d| d.split('=').next().unwrap_or("")).collect();
            format!("{period}|{}", inds.join(","))
        };
        let shapes: std::collections::HashSet<String> = names.iter().map(|n| shape(n)).collect();
        for n in names {
            let Some((period, dims)) = n.split_once('|') else {
                continue;
            };
            for (region, provinces) in regions {
                let tag = format!("{coarse}={region}");
                if !dims.split(',').any(|d| d == tag) {
                    continue;
                }
                let whole = self.ids[&n];
                let mut e = vec![(whole, -1)];
                let mut fetched = true;
                for p in *provinces {
                    let mut parts: Vec<String> = dims
                        .split(',')
                        .map(|d| if d == tag { format!("{fine}={p}") } else { d.to_owned() })
                        .collect();
                    parts.sort();
                    let key = format!("{period}|{}", parts.join(","));
                    if !shapes.contains(&shape(&key)) {
                        fetched = false;
                        break;
                    }
                    let id = match self.ids.get(&key) {
                        Some(i) => *i,
                        None => self.var(key, Some(0), 0),
                    };
                    e.push((id, 1));
                }
                if fetched {
                    self.equations.push(e);
                }
            }
        }
    }

    /// `whole` = the sum of `parts`, for every value of the tables (a value a period's tables do
    /// not hold is a zero, which the attacker knows).
    fn periods(&mut self, whole: &str, parts: &[&str]) {
        let dims: std::collections::BTreeSet<String> = self
            .names
            .iter()
            .filter_map(|n| n.split_once('|').map(|(_, d)| d.to_owned()))
            .collect();
        for d in dims {
            let mut get = |p: &str| match self.ids.get(&format!("{p}|{d}")) {
                Some(i) => *i,
                None => self.var(format!("{p}|{d}"), Some(0), 0),
            };
            let w = get(whole);
            let mut e: Vec<(usize, i64)> = parts.iter().map(|p| (get(p), 1)).collect();
            e.push((w, -1));
            self.equations.push(e);
        }
    }
}

/// Small counts spread over the months of 2015, genders, citizenships, sources and provinces.
fn spread_2015() -> Vec<Batch> {
    let mut seed = 11u64;
    let mut next = move |n: u64| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let genders = ["female", "male", "trans"];
    let citizenships = ["NG", "MA", "PK", "RO"];
    let sources = ["police", "cas_operator", "street_unit"];
    let provinces = ["027", "028", "001", "058"];
    let mut out = Vec::new();
    for m in 1..=12u32 {
        let day = leak(format!("2015-{m:02}-10"));
        // A large base every month, and small groups scattered.
        out.push(Batch::new(8 + next(8) as usize, leak(format!("P{m}")), day).citizenship("NG"));
        out.push(
            Batch::new(5 + next(6) as usize, leak(format!("Q{m}")), day)
                .gender("male")
                .citizenship("MA")
                .source("cas_operator")
                .province("001"),
        );
        for i in 0..6 {
            let n = match next(5) {
                0 => 0,
                1 | 2 => 1,
                3 => 2,
                _ => 3 + next(4) as usize,
            };
            if n == 0 {
                continue;
            }
            out.push(
                Batch::new(n, leak(format!("S{m}x{i}")), day)
                    .gender(genders[next(3) as usize])
                    .citizenship(citizenships[next(4) as usize])
                    .source(sources[next(3) as usize])
                    .province(provinces[next(4) as usize]),
            );
        }
    }
    out
}

async fn releases_of_several_tables_and_periods_cannot_be_played_against_each_other(b: Backend) {
    let mut u = unit(b).await;
    seed(&u.admin, &spread_2015());
    let mut analyst = login_as(&mut u, "osservatorio", "analyst").await;
    let year = ("2015-01-01", "2015-12-31");
    let q = [
        ("2015-01-01", "2015-03-31"),
        ("2015-04-01", "2015-06-30"),
        ("2015-07-01", "2015-09-30"),
        ("2015-10-01", "2015-12-31"),
    ];
    let h1 = ("2015-01-01", "2015-06-30");
    let months = [
        ("2015-01-01", "2015-01-31"),
        ("2015-02-01", "2015-02-28"),
        ("2015-03-01", "2015-03-31"),
    ];
    let tables: [(&str, Option<&str>); 13] = [
        ("", None),
        ("rows=gender", None),
        ("rows=citizenship", None),
        ("rows=gender&cols=citizenship", None),
        ("rows=citizenship&cols=gender", None),
        ("rows=gender&cols=source_kind", None),
        ("rows=gender&cols=emergence_region", None),
        ("rows=gender&region=05", Some("emergence_region=05")),
        ("region=05", Some("emergence_region=05")),
        ("rows=emergence_province&cols=gender", None),
        ("rows=gender&province=VE", Some("emergence_province=027")),
        ("province=PD", Some("emergence_province=028")),
        ("rows=citizenship&region=12", Some("emergence_region=12")),
    ];
    let mut joint = Joint::default();
    let mut periods = vec![year, h1];
    periods.extend(q);
    periods.extend(months);
    let name = |(f, t): (&str, &str)| format!("{f}..{t}");
    let mut withheld_primary = 0;
    for p in &periods {
        for (query, region) in tables {
            let query = format!("{query}&from={}&to={}", p.0, p.1);
            let seen = table(&mut analyst, &query).await;
            let exact = table(&mut u.coord, &query).await;
            assert_eq!(seen["threshold"], 5);
            assert_eq!(exact["disclosure"], Value::Null, "the unit's table is exact");
            withheld_primary += seen["withheld_primary"].as_u64().expect("n");
            if let Some(t) = region {
                assert_eq!(
                    seen["disclosure"]["territory_from"],
                    t.split('=').next().expect("indicator"),
                    "{seen}"
                );
            }
            joint.add(&name(*p), &seen, &exact, region);
        }
    }
    assert!(withheld_primary > 20, "the data has small counts: {withheld_primary}");
    // The statement of a release of two quarters names them.
    let h = table(&mut analyst, "rows=gender&from=2015-01-01&to=2015-06-30").await;
    assert_eq!(h["disclosure"]["blocks"], json!(["2015-Q1", "2015-Q2"]));
    assert!(
        h["statement"]
            .as_array()
            .expect("lines")
            .iter()
            .any(|l| l.as_str().is_some_and(|l| l.contains("per blocchi (2015 T1, 2015 T2)"))),
        "{h}"
    );
    // Periods add up.
    let quarters: Vec<String> = q.iter().map(|p| name(*p)).collect();
    let qs: Vec<&str> = quarters.iter().map(String::as_str).collect();
    joint.periods(&name(year), &qs);
    joint.periods(&name(h1), &qs[..2]);
    let ms: Vec<String> = months.iter().map(|p| name(*p)).collect();
    let ms: Vec<&str> = ms.iter().map(String::as_str).collect();
    joint.periods(&name(q[0]), &ms);
    // Provinces add up to their region.
    joint.adds_up(
        "emergence_region",
        "emergence_province",
        &[("05", &["027", "028"]), ("01", &["001"]), ("12", &["058"])],
    );

    // The attacker: intervals over the whole system. It sees an `x`, not why: a withheld entry
    // may be a small count or a complement (a zero, or any count), so it only knows that counts
    // are not negative.
    let primary = vec![false; joint.published.len()];
    let ranges = varco::observatory::disclosure::intervals(&joint.published, &primary, &joint.equations, 5);
    let mut withheld = 0;
    for (i, (lo, hi)) in ranges.iter().enumerate() {
        if joint.published[i].is_some() {
            continue;
        }
        withheld += 1;
        assert!(
            lo < hi,
            "{} = {} is pinned down to [{lo}, {hi}] by the releases together",
            joint.names[i],
            joint.exact[i]
        );
        // Nor is a small count narrowed to between 1 and threshold − 1: it might be a zero, or
        // a count of at least the threshold.
        if (1..5).contains(&joint.exact[i]) {
            assert!(
                *lo == 0 || *hi >= 5,
                "{} = {} is known to be small: [{lo}, {hi}]",
                joint.names[i],
                joint.exact[i]
            );
        }
    }
    assert!(withheld > 40, "{withheld} values withheld");
}
both!(releases_of_several_tables_and_periods_cannot_be_played_against_each_other);

async fn an_analysts_period_is_whole_months_that_have_ended(b: Backend) {
    let mut u = unit(b).await;
    seed(
        &u.admin,
        &[
            Batch::new(30, "A", "2026-11-02"),
            Batch::new(2, "B", "2026-11-03").gender("male"),
            Batch::new(20, "C", "2015-01-05"),
        ],
    );
    let mut analyst = login_as(&mut u, "osservatorio", "analyst").await;
    let refused = |field: &'static str| {
        move |r: &crate::helpers::Reply| {
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
            let body: Value = r.json();
            assert_eq!(body["errors"][0]["field"], field, "{body}");
        }
    };
    for (query, field) in [
        ("rows=gender&from=2015-01-05&to=2015-12-31", "from"),
        ("rows=gender&from=2015-01-01&to=2015-12-30", "to"),
        ("rows=gender&from=2026-11-01&to=2026-11-30", "to"),
        ("rows=gender&from=2026-01-01&to=2026-12-31", "to"),
        (
            "rows=gender&cols=citizenship&from=2015-01-01&to=2015-12-31&region=05",
            "region",
        ),
        (
            "rows=gender&cols=citizenship&from=2015-01-01&to=2015-12-31&province=VE",
            "province",
        ),
        ("rows=year&cols=month&from=2015-01-01&to=2015-12-31", "cols"),
    ] {
        let r = analyst.get(&format!("/api/v1/observatory/table?{query}")).await;
        refused(field)(&r);
        let r = analyst
            .get(&format!("/api/v1/observatory/table/file?{query}&format=csv"))
            .await;
        refused(field)(&r);
        // The unit keeps any period, exact.
        let t = table(&mut u.coord, query).await;
        assert_eq!(t["threshold"], Value::Null);
    }
    let open = table(&mut u.coord, "rows=gender&from=2026-11-01&to=2026-11-24").await;
    assert_eq!(cell(&open, "male", "all"), 2, "exact for the unit");
    // The page says why, in Italian.
    let page = analyst
        .get("/observatory?rows=gender&from=2026-11-01&to=2026-11-30")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("deve essere concluso"), "{}", page.body);
    // The page's default period (January to the last month ended) is one an analyst may ask for.
    let page = analyst.get("/observatory").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // A closed month, quarter or year is answered, with the rule it followed.
    let t = table(&mut analyst, "rows=gender&from=2026-10-01&to=2026-10-31").await;
    assert_eq!(t["disclosure"]["blocks"], json!(["2026-10"]));
    let t = table(&mut analyst, "rows=month&cols=gender&from=2015-01-01&to=2015-12-31").await;
    assert_eq!(t["disclosure"]["blocks"], json!(["2015"]));
    assert_eq!(cell(&t, "2015-01", "female"), 20, "{t}");
    let r = analyst
        .get("/api/v1/observatory/table/file?rows=gender&from=2015-01-01&to=2015-12-31&format=csv")
        .await;
    assert!(
        r.body.contains("Rule: margins as in the tables") || r.body.contains("Regola: margini"),
        "{}",
        r.body
    );
}
both!(an_analysts_period_is_whole_months_that_have_ended);
