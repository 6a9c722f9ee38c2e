//! What an attacker tried (issue 7): each test fails on the code before its fix.

use awc::http::StatusCode;

use crate::both;
use crate::helpers::{spawn, Backend, ADMIN_PASSWORD};

/// Ways to write "another site" that a naive check of a leading `/` lets through: browsers drop
/// tabs and newlines from a `Location`, and read a backslash as a slash.
const SNEAKY_NEXT: &[&str] = &[
    "/%09/other.host/",
    "/%0A/other.host/",
    "/%0D%0A/other.host/",
    "%2F%2Fother.host",
    "/%5Cother.host",
    "/%5C%5Cother.host",
    "/%20/other.host",
    "/%00",
    "https:other.host",
];

async fn next_goes_only_to_a_path_of_this_site(b: Backend) {
    let mut app = spawn(b).await;
    app.setup_admin().await;
    for next in SNEAKY_NEXT {
        let r = app.get(&format!("/lang/en?next={next}")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next}: {}", r.body);
        assert_eq!(r.header("location").as_deref(), Some("/"), "{next}");
    }
    app.logout_local();
    for next in SNEAKY_NEXT {
        let page = app.get(&format!("/login?next={next}")).await;
        assert_eq!(page.status, StatusCode::OK, "{next}");
        assert!(!page.body.contains("other.host"), "{next} kept in the login form");
    }
    // The login form's own field, as a browser would send it.
    for next in ["/\t/other.host/", "/\n/other.host/", "//other.host", "/\\other.host"] {
        app.logout_local();
        let r = app
            .submit(
                "/login",
                "/login",
                &[("username", "admin"), ("password", ADMIN_PASSWORD), ("next", next)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next:?}: {}", r.body);
        assert_eq!(r.header("location").as_deref(), Some("/"), "{next:?}");
    }
    // A path of this site is kept.
    let r = app.get("/lang/it?next=/admin/users?page=2").await;
    assert_eq!(r.header("location").as_deref(), Some("/admin/users?page=2"));
}
both!(next_goes_only_to_a_path_of_this_site);
