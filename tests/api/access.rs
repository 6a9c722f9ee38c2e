//! The permission table, walked: every route refuses every role it does not name.

use awc::http::{Method, StatusCode};
use serde_json::json;
use varco::auth::Access;
use varco::domain::Role;
use varco::web::routes::declarations;

use crate::both;
use crate::helpers::{spawn, Backend, TestApp, PASSWORD};

fn concrete(path: &str) -> String {
    path.replace("{id}", "1")
        .replace("{file}", "varco.css")
        .replace("{code}", "en")
}

async fn every_route_refuses_the_roles_it_does_not_name(b: Backend) {
    let mut admin = spawn(b).await;
    admin.setup_admin().await;
    let cas = admin.org("CAS Cona").kind("cas").create().await;
    let ct = admin
        .org("Commissione Territoriale di Verona")
        .kind("territorial_commission")
        .create()
        .await;
    let mut clients: Vec<(Role, TestApp)> = Vec::new();
    for role in Role::ALL {
        if *role == Role::Admin {
            continue;
        }
        let org = match role {
            Role::Referrer => Some(cas),
            Role::Commission => Some(ct),
            _ => None,
        };
        let name = format!("u-{}", role.as_str());
        let mut user = admin.user(&name).role(role.as_str());
        if let Some(org) = org {
            user = user.org(org);
        }
        user.create().await;
        let mut c = TestApp::sibling(&admin);
        assert_eq!(c.login(&name, PASSWORD).await.status, StatusCode::SEE_OTHER);
        clients.push((*role, c));
    }
    let routes = declarations();
    assert!(routes.len() > 30, "the table lists every route");
    let mut denials = 0;
    for (method, path, access) in &routes {
        let url = concrete(path);
        let body = (*method != Method::GET).then(|| json!({}));
        for (role, client) in clients.iter_mut() {
            let allowed = access.allows(Some(*role));
            if allowed && *method != Method::GET {
                continue; // allowed writes are exercised by their own tests
            }
            let r = client.api(method.clone(), &url, body.clone()).await;
            if allowed {
                assert!(
                    r.status != StatusCode::FORBIDDEN && r.status != StatusCode::UNAUTHORIZED,
                    "{role} should reach {method} {path}, got {}",
                    r.status
                );
            } else {
                assert_eq!(
                    r.status,
                    StatusCode::FORBIDDEN,
                    "{role} must be refused {method} {path}: {}",
                    r.body
                );
                denials += 1;
            }
        }
        // Anonymous callers: 401 on the API, the login page for browsers.
        if *access != Access::Public {
            let mut anon = TestApp::sibling(&admin);
            let r = anon.api(method.clone(), &url, body.clone()).await;
            if path.starts_with("/api/") {
                assert_eq!(r.status, StatusCode::UNAUTHORIZED, "anonymous {method} {path}");
                assert_eq!(r.header("content-type").as_deref(), Some("application/problem+json"));
            } else if *method == Method::GET {
                assert_eq!(r.status, StatusCode::SEE_OTHER, "anonymous {method} {path}");
                assert!(r.header("location").is_some_and(|l| l.starts_with("/login?next=")));
            } else {
                assert_eq!(r.status, StatusCode::SEE_OTHER, "anonymous {method} {path}");
            }
        }
    }
    // Every refusal is in the audit log.
    // Counted in the table: there are more refusals than one page of the log (500).
    let logged = admin.count_where("audit_log", "action = 'access.denied'") as usize;
    assert_eq!(logged, denials, "one audit entry per refusal");
    assert!(denials > 50);
}
both!(every_route_refuses_the_roles_it_does_not_name);

async fn a_token_reaches_only_what_its_role_allows(b: Backend) {
    let mut admin = spawn(b).await;
    admin.setup_admin().await;
    let ct = admin
        .org("Commissione Territoriale di Verona – sezione di Padova")
        .kind("territorial_commission")
        .create()
        .await;
    let r = admin
        .api(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"org_id": ct, "role": "commission", "label": "CT"})),
        )
        .await;
    let secret = r.json()["secret"].as_str().expect("secret").to_owned();
    for (method, path, access) in declarations() {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        let r = admin
            .bearer(
                &secret,
                method.clone(),
                &concrete(path),
                (method != Method::GET).then(|| json!({})),
            )
            .await;
        if access.allows(Some(Role::Commission)) {
            assert_ne!(r.status, StatusCode::FORBIDDEN, "{method} {path}");
        } else {
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} {path}");
        }
    }
}
both!(a_token_reaches_only_what_its_role_allows);
