//! The call log's use cases, shared by the API and the page.

use super::model::{CallFilter, CallInput};
use super::store::{self, CallRow};
use crate::app::App;
use crate::audit::{self, Event};
use crate::domain::Caller;
use crate::error::AppError;

/// Checks and stores a call with its audit entry.
pub async fn record_call(app: &App, caller: &Caller, input: CallInput) -> Result<CallRow, AppError> {
    let call = input.check(&app.protocols, caller.now)?;
    let operator = caller.user_id();
    audit::write(app, caller, &[], move |tx| {
        let row = store::insert(tx.conn, &call, operator, tx.caller().now)?;
        tx.audit(Event::new("hotline.call").entity("hotline_call", row.id))?;
        Ok(row)
    })
    .await
}

/// The call log, newest first (no personal data: not an audited read).
pub async fn calls(app: &App, filter: CallFilter) -> Result<Vec<CallRow>, AppError> {
    app.db.read(move |c| store::list(c, &filter)).await
}
