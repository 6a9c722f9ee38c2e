//! The OpenAPI 3 document served at `/api/openapi.json` (a test checks it lists every API route).

use std::sync::OnceLock;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{accounts, audit, hotline, notify, pages, referrals, roster};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Varco API",
        version = "1",
        description = "Case manager of the anti-trafficking referral system (800 290 290). \
            Errors are application/problem+json (RFC 9457); updates need the version read \
            (If-Match or a `version` field) and a stale one is refused with 409. Times are \
            RFC 3339 in Europe/Rome."
    ),
    paths(
        pages::healthz,
        pages::me,
        accounts::api::list_orgs,
        accounts::api::create_org,
        accounts::api::get_org,
        accounts::api::update_org,
        accounts::api::list_users,
        accounts::api::create_user,
        accounts::api::get_user,
        accounts::api::update_user,
        accounts::api::list_tokens,
        accounts::api::create_token,
        accounts::api::revoke_token,
        audit::api::list,
        referrals::api::create,
        referrals::api::list,
        referrals::api::get,
        referrals::api::acknowledge,
        referrals::api::take_charge,
        referrals::api::decline,
        referrals::api::feedback,
        referrals::api::withdraw_consent,
        referrals::api::import_draft,
        referrals::api::confirm,
        referrals::api::answer_mediation,
        hotline::api::list_calls,
        hotline::api::create_call,
        roster::api::get_roster,
        roster::api::create_shift,
        roster::api::delete_shift,
        notify::api::list_outbox,
    ),
    modifiers(&Security),
    tags(
        (name = "service", description = "Health"),
        (name = "auth", description = "The caller"),
        (name = "organisations", description = "Referring and partner organisations"),
        (name = "users", description = "User accounts (administrators)"),
        (name = "tokens", description = "Bearer tokens for organisations' systems"),
        (name = "audit", description = "The append-only audit log"),
        (name = "referrals", description = "Referrals (segnalazioni): intake from every source, decisions, feedback, consent"),
        (name = "hotline", description = "The 800 290 290 central station's call log"),
        (name = "roster", description = "The crisis unit's 24/7 roster"),
        (name = "outbox", description = "Notifications and their delivery"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "varco_session",
                "browser session; state-changing calls also send X-CSRF-Token (see /api/v1/me)",
            ))),
        );
    }
}

/// The document as JSON, built once.
pub fn document_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".into()))
}
