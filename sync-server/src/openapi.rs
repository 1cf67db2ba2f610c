//! `GET /openapi.json`: the whole HTTP API, generated from the handlers'
//! annotations and the Rust types, so it cannot drift from the code.

use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::state::AppState;
use crate::{accounts, error, health, storage, sync};

#[derive(OpenApi)]
#[openapi(
    info(title = "CRM sync server", description = "Accounts, the sync protocol and attachment files of the offline-first CRM."),
    paths(
        health::health,
        accounts::signup, accounts::login, accounts::refresh, accounts::logout, accounts::me, accounts::colleagues,
        sync::push::push, sync::pull::pull, sync::live::events,
        storage::http::upload, storage::http::download, storage::http::remove, storage::http::sign,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
}
